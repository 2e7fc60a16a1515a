"""Where Prefect keeps a run's state, made safe to share, and how to tell that Prefect
itself failed (docs/operations.md#where-prefect-keeps-its-state).

Without PREFECT_API_URL, every creditflow process starts its own ephemeral Prefect API over
one SQLite database in PREFECT_HOME. On a fresh home, several first runs at once race to
create its tables (alembic: "Online migration expected to match one row") and to register
Prefect's block types (sqlite3.IntegrityError: "UNIQUE constraint failed:
block_schema.checksum, block_schema.version"), and the losers' servers print tracebacks. So
the first run does both here, under a file lock; the others wait for it, then find the
tables and the block types there (Prefect's memo of the registration lets their servers
skip it).
"""

import asyncio
import fcntl
import threading
from contextlib import contextmanager
from pathlib import Path

SQLITE_PREFIX = "sqlite+aiosqlite:///"


def create_database_once() -> None:
    """Create the ephemeral API's database before any server starts, one process at a time.
    Nothing to do with a real server (PREFECT_API_URL) or a database that is not SQLite."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    url = settings.server.database.connection_url.get_secret_value()
    if settings.api.url or not url.startswith(SQLITE_PREFIX):
        return
    database = Path(url.removeprefix(SQLITE_PREFIX))
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.parent / "creditflow-database.lock", "w") as lock:
        # uncontended, this costs nothing; contended, a later run waits for the first
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            asyncio.run(_create_and_register())


async def _create_and_register() -> None:
    """What an ephemeral server's start-up does first (prefect/server/api/server.py's
    lifespan): the tables, then the block types, with Prefect's own memo of the latter."""
    from prefect.server.api.server import _memoize_block_auto_registration
    from prefect.server.database import provide_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration

    database = provide_database_interface()
    await database.create_db()

    @_memoize_block_auto_registration
    async def register_block_types() -> None:
        session = await database.session()
        async with session:
            await run_block_auto_registration(session=session)

    await register_block_types()


# the settings without heartbeats, kept beside the settings they were derived from: the
# last pair only (a process's runs share one settings object, so this is the one a warm
# serve or a backfill meets every month)
_QUIET_SETTINGS: list = []


@contextmanager
def without_heartbeats():
    """Prefect settings under which the flow runs started inside send no heartbeat.

    A heartbeat tells a server that a run's process is alive. As a flow run ends, Prefect
    joins its heartbeat thread, which sleeps in 1 s steps: up to 1 s per flow run
    (docs/performance.md#fixed-costs-taken-out-this-issue). So no heartbeat is sent where
    nobody can read one: by subflows, whose parent run is in the same process and keeps its
    heartbeat, and by any run on an ephemeral API, which ends with the process.

    Prefect's own `temporary_settings` validates a fresh copy of every setting each time
    (22 ms here); a month in a warm serve process entered it once per month, so the copy
    is made once per settings object and entered the way `temporary_settings` enters it."""
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    current = prefect.context.get_settings_context()
    if not _QUIET_SETTINGS or _QUIET_SETTINGS[0] is not current.settings:
        quiet = current.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
        _QUIET_SETTINGS[:] = [current.settings, quiet]
    with prefect.context.SettingsContext(profile=current.profile, settings=_QUIET_SETTINGS[1]):
        yield _QUIET_SETTINGS[1]


def is_orchestrator_failure(error: BaseException) -> bool:
    """Prefect's API did not start or answer: not a failure of the run's own work."""
    import httpx

    # Prefect's own words: "Timed out while attempting to connect to ephemeral Prefect API
    # server." (the ephemeral API did not start), "Failed to reach API at URL" (a server)
    said = str(error)
    if isinstance(error, RuntimeError) and (
        "Prefect API server" in said or "Failed to reach API at" in said
    ):
        return True
    return isinstance(error, httpx.TransportError)


class _SharedVerifiedContexts:
    """Stands in for the `ssl` module inside Prefect's client module only: a verified
    context for a given CA file is built once and shared; every other call (the insecure
    context, which Prefect changes after building it) is the ssl module's own."""

    def __init__(self, ssl_module) -> None:
        self._ssl = ssl_module
        self._by_cafile: dict[str, object] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self._ssl, name)

    def create_default_context(self, *args, cafile=None, **kwargs):
        if args or kwargs or cafile is None:
            return self._ssl.create_default_context(*args, cafile=cafile, **kwargs)
        with self._lock:
            if cafile not in self._by_cafile:
                self._by_cafile[cafile] = self._ssl.create_default_context(cafile=cafile)
            return self._by_cafile[cafile]


def share_tls_context() -> None:
    """One verified TLS context for all of Prefect's API clients in this process.

    Prefect 3.8 builds a new SSL context for every API client it creates, loading the whole
    CA bundle each time: 25-40 ms on this project's machines. A month inside `serve` creates
    four: one per subflow's parent task run, the flow engine's own, and a run observer's.
    The context is the same for every client: the same CA file and settings, and Prefect
    changes nothing on it once built (the HTTP layer sets the same ALPN protocols on it for
    each connection). So it is built once per process, as Prefect's own
    proposal for reusing contexts does (PrefectHQ/prefect pull request 19106). With
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY, Prefect still builds its own context each time.
    A CA file changed on disk is read again by the next process.
    docs/performance.md#fixed-costs-taken-out-this-issue."""
    import prefect.client.orchestration as orchestration

    if not isinstance(orchestration.ssl, _SharedVerifiedContexts):
        orchestration.ssl = _SharedVerifiedContexts(orchestration.ssl)
