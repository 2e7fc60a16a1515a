"""Where the sharded work runs (transforms/pipeline/shards.py): `map_tasks(function, tasks)`
returns the function's results in task order.

- in_process: one after the other in this process (the shards' logic without a cluster;
  the tests use it to compare any number of shards quickly);
- on_dask: on a Dask cluster at an address (a LocalCluster the CLI started for
  `--workers N`, or an existing scheduler given by `--dask-address`; flows/dask_cluster.py).
  The shards are plain Dask tasks inside the compute stage's Prefect task, not Prefect
  tasks of their own (flows/dask_cluster.py says why).

A local cluster's workers run only while a month has sharded work: `release_local_workers`
closes them once the month's shards are done, and the next map starts them again. The
coordinator's publish then has the machine's memory to itself (docs/performance.md, the
local cluster's memory). Workers of an existing scheduler are never touched.
"""

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping

from transforms.errors import OrchestratorUnavailable, UsageError

CONNECT_TIMEOUT_S = 30
WORKERS_TIMEOUT_S = 120

# the local clusters this process started (flows/dask_cluster.py), by scheduler address,
# with how many workers each runs while a month has sharded work
_LOCAL_CLUSTERS: dict[str, tuple[object, int]] = {}


def in_process(function: Callable, tasks: list) -> list:
    return [function(task) for task in tasks]


def client(address: str):
    """A Dask client of the scheduler at `address`; one line and exit 6 when it does not
    answer (the caller closes it: `with client(address) as c`)."""
    from distributed import Client  # imported only when a run uses Dask

    if not re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d{1,5}", address):
        raise UsageError(
            f"usage: --dask-address {address!r} is not a Dask scheduler address "
            "(tcp://HOST:PORT or tls://HOST:PORT)"
        )
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, MemoryError, ValueError) as error:
        # MemoryError: something else answers on that port (Dask reads its first bytes as
        # the length of a message); ValueError: an address Dask cannot parse
        raise OrchestratorUnavailable(
            f"cannot reach a Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s "
            f"({type(error).__name__}: {str(error)[:200]}); nothing was changed "
            "(docs/operations.md#dask)"
        ) from None


def on_dask(address: str) -> Callable:
    def map_tasks(function: Callable, tasks: list) -> list:
        with client(address) as connected:
            _start_local_workers(address, connected)
            return connected.gather(connected.map(function, tasks, pure=False))

    return map_tasks


@contextlib.contextmanager
def local_cluster(cluster, workers: int):
    """Register a LocalCluster this process started, for as long as it runs."""
    _LOCAL_CLUSTERS[cluster.scheduler_address] = (cluster, workers)
    try:
        yield cluster
    finally:
        del _LOCAL_CLUSTERS[cluster.scheduler_address]


def release_local_workers(address: str | None) -> None:
    """Close a local cluster's workers until the next month's sharded work, and wait until
    they are gone (their memory back to the machine); the scheduler stays. A no-op for any
    other scheduler: its workers have machines of their own."""
    if address not in _LOCAL_CLUSTERS:
        return
    cluster, _ = _LOCAL_CLUSTERS[address]
    cluster.scale(0)
    _wait_until(lambda: not cluster.workers, "closed")


def _start_local_workers(address: str, connected) -> None:
    if address not in _LOCAL_CLUSTERS:
        return
    cluster, workers = _LOCAL_CLUSTERS[address]
    if len(cluster.worker_spec) >= workers:
        return
    # the new worker processes copy this environment while they start
    with without_secrets():
        cluster.scale(workers)
        try:
            connected.wait_for_workers(workers, timeout=WORKERS_TIMEOUT_S)
        except TimeoutError:
            raise OrchestratorUnavailable(
                f"the local Dask cluster's {workers} worker(s) did not start within "
                f"{WORKERS_TIMEOUT_S} s; nothing of this month was published"
            ) from None


# an environment variable whose name says it holds a secret never reaches a worker (nor the
# run's own Prefect API, flows/ephemeral_api.py)
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|NOTIFY_URL", re.IGNORECASE)


def environment_without_secrets(environment: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environment.items() if not _SECRET_NAME.search(name)}


@contextlib.contextmanager
def without_secrets():
    """os.environ without secrets for as long as worker processes are being started (they
    copy the environment they are started from); put back afterwards."""
    kept = {name: os.environ.pop(name) for name in list(os.environ) if _SECRET_NAME.search(name)}
    try:
        yield
    finally:
        os.environ.update(kept)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WORKERS_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise OrchestratorUnavailable(
                f"the local Dask cluster's workers were not {what} within {WORKERS_TIMEOUT_S} s"
            )
        time.sleep(0.05)
