import atexit
import os
import shutil
import sys
import tempfile

import pytest

# Never touch the user's Prefect home or phone home, and use a fixed coupon key so that
# golden files are stable (the development key has its own test).
_PREFECT_HOME = tempfile.mkdtemp(prefix="creditflow-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
_OWNER_PID = os.getpid()
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["CREDITFLOW_COUPON_KEY"] = "test-key-for-creditflow-golden-files"
# two xdist workers share two cores: a DuckDB session per worker that took every core spent
# part of its time switching threads (one thread each: test_whatif and test_golden 18 % less
# wall; docs/testing.md). The golden files are written with DuckDB's default threads, so
# every golden comparison also checks that the thread count changes no byte.
os.environ["CREDITFLOW_DUCKDB_THREADS"] = "1"


@atexit.register
def _remove_prefect_home() -> None:
    # only the process that made it (a forked child inherits this hook, and the folder)
    if os.getpid() == _OWNER_PID:
        shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


from tests.world import World  # noqa: E402


@pytest.fixture
def world(tmp_path) -> World:
    return World(tmp_path)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it takes several seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# The files that take longest, longest first (sums of their durations on a 2-core machine:
# docs/testing.md). With --dist loadfile a free worker takes the next file in collection
# order, so starting the long files first keeps both workers busy to the end; the rest keep
# pytest's order. (The Makefile turns off xdist's own order, which is by test count.)
LONGEST_FIRST = (
    "tests/test_cli.py",
    "tests/test_operations.py",
    "tests/test_shards.py",
    "tests/test_bad_inputs.py",
    "tests/test_invariants.py",
    "tests/test_golden.py",
    "tests/test_instruments.py",
    "tests/test_crash_safety.py",
)


def pytest_collection_modifyitems(items):
    # a test that talks to a real Prefect API server (the session's test harness, which every
    # flow test uses) is an integration test (docs/testing.md, "Tiers and markers")
    for item in items:
        uses_a_server = "prefect_harness" in getattr(item, "fixturenames", ())
        if (uses_a_server or item.get_closest_marker("flow")) and not item.get_closest_marker(
            "integration"
        ):
            item.add_marker(pytest.mark.integration)

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order is pytest's


def _prefect_servers() -> set[int]:
    """Prefect's own ephemeral servers (a flow without a test server) and the API the CLI
    starts itself (flows/ephemeral_api.py)."""
    server = sys.modules.get("prefect.server.api.server")  # never imported here: slow
    own = sys.modules.get("flows.ephemeral_api")
    found = {id(s) for s in server.SubprocessASGIServer._instances.values()} if server else set()
    return found | ({id(api) for api in own.STARTED} if own else set())


@pytest.fixture(autouse=True)
def _only_integration_tests_start_a_prefect_server(request):
    """The tiers hold by construction: a test that is not marked integration and makes the
    process start Prefect's API server (a flow, or the CLI through a flow, with no test
    server) fails, and says so. make check stays quick only if this holds."""
    before = _prefect_servers()
    yield
    if request.node.get_closest_marker("integration") is None and _prefect_servers() - before:
        pytest.fail(
            "this test started Prefect's API server: mark it integration, use the "
            "prefect_harness fixture, or test the function below the flow"
        )
