"""Where the sharded work runs (transforms/pipeline/shards.py): `map_tasks(function, tasks)`
returns the function's results in task order.

- in_process: one after the other in this process (the shards' logic without a cluster;
  the tests use it to compare any number of shards quickly);
- on_dask: on a Dask cluster at an address (a LocalCluster the CLI started for
  `--workers N`, or an existing scheduler given by `--dask-address`; flows/dask_cluster.py).
  The shards are plain Dask tasks inside the compute stage's Prefect task, not Prefect
  tasks of their own (flows/dask_cluster.py says why).
"""

import re
from collections.abc import Callable

from transforms.errors import OrchestratorUnavailable, UsageError

CONNECT_TIMEOUT_S = 30


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
            return connected.gather(connected.map(function, tasks, pure=False))

    return map_tasks
