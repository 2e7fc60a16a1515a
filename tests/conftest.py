import os
import tempfile

import pytest

# Never touch the user's Prefect home or phone home, and use a fixed coupon key so that
# golden files are stable (the development key has its own test).
_PREFECT_HOME = tempfile.mkdtemp(prefix="creditflow-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["CREDITFLOW_COUPON_KEY"] = "test-key-for-creditflow-golden-files"

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
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order is pytest's
