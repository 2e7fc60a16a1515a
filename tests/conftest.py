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
