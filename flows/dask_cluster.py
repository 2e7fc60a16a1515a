"""The Dask cluster a settlement's shards run on (`--executor dask`, docs/performance.md#scale-out).

`--dask-address tcp://host:8786` uses an existing scheduler (a real deployment: workers on
other machines that see the same data directory and OUT); `--workers N` alone starts a
local cluster of N worker processes for this command, whose workers run each month's
sharded work and are closed once its shards are done (executors.release_local_workers),
and closes it at the end. The shards are plain Dask tasks
(transforms/pipeline/executors.py), not Prefect tasks: a Prefect task on a Dask worker
needs a Prefect API there, and with the ephemeral API each worker process started a
server of its own (docs/performance.md#scale-out).
"""

import contextlib
import logging
import re

from transforms.errors import OrchestratorUnavailable, UsageError
from transforms.pipeline import executors
from transforms.pipeline.options import RunOptions
from transforms.summary import progress

DEFAULT_LOCAL_WORKERS = 2


def check_arguments(args) -> None:
    """The executor options' usage rules (exit 2), checked before a run starts anything."""
    workers, address = getattr(args, "workers", None), getattr(args, "dask_address", None)
    if getattr(args, "executor", "local") != "dask":
        if workers is not None or address is not None:
            raise UsageError("usage: --workers and --dask-address need --executor dask")
    elif workers is not None and workers < 1:
        raise UsageError(f"usage: --workers: {workers} is not a number of workers (1 or more)")


@contextlib.contextmanager
def executor_options(args, options: RunOptions):
    """The run's options with the executor, the scheduler address and the shard count."""
    check_arguments(args)
    workers, address = getattr(args, "workers", None), getattr(args, "dask_address", None)
    if getattr(args, "executor", "local") != "dask":
        yield options
        return
    if address:
        shards = workers or _worker_count(address)
        progress(f"dask: {shards} shard(s) on the scheduler at {address}")
        yield options.model_copy(
            update={"executor": "dask", "dask_address": address, "shards": shards}
        )
        return
    from distributed import LocalCluster

    shards = workers or DEFAULT_LOCAL_WORKERS
    # one Dask thread per worker process: a shard is one DuckDB session, which uses the
    # cores by itself
    # the workers are started from an environment without secrets, and everything listens
    # on the loopback only: no other machine reaches the scheduler, and a process that does
    # (client.run) finds no key on a worker (docs/operations.md#dask)
    with executors.without_secrets():
        cluster = LocalCluster(
            n_workers=shards,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
    with cluster, executors.local_cluster(cluster, shards):
        progress(
            f"dask: local cluster of {shards} worker process(es) at {cluster.scheduler_address}"
        )
        yield options.model_copy(
            update={
                "executor": "dask",
                "dask_address": cluster.scheduler_address,
                "shards": shards,
                # the coordinator counts as one more sharer: it waits beside the workers
                # holding what its audits used (docs/performance.md, a local cluster's memory)
                "shard_memory_limit": shared_memory_limit(options.memory_limit, shards + 1),
                "allocator_background_threads": True,
            }
        )


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB)\s*", re.IGNORECASE)
_BYTES = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def shared_memory_limit(memory_limit: str, sharers: int) -> str:
    """One sharer's part of the run's DuckDB memory_limit, in whole MB (DuckDB's units:
    1 GB = 1000 MB). A local cluster's workers run side by side on the run's machine, beside
    the coordinator: with the whole limit each, a full month at 100M lines peaked at 5.7 GB
    in a 2-worker tree (docs/performance.md, a local cluster's memory)."""
    size = _SIZE.fullmatch(memory_limit)
    if size is None:
        raise ValueError(f"memory_limit {memory_limit!r} is not a size such as 2GB")
    share = float(size[1]) * _BYTES[size[2].upper()] / sharers
    return f"{max(1, int(share // 10**6))}MB"


def on_scheduler(options: RunOptions, address: str, shards: int | None = None) -> RunOptions:
    """The options of a run on an existing scheduler: one shard per worker unless said."""
    shards = shards or _worker_count(address)
    progress(f"dask: {shards} shard(s) on the scheduler at {address}")
    return options.model_copy(
        update={"executor": "dask", "dask_address": address, "shards": shards}
    )


def _worker_count(address: str) -> int:
    with executors.client(address) as connected:
        count = len(connected.scheduler_info()["workers"])
    if count == 0:
        raise OrchestratorUnavailable(f"the Dask scheduler at {address} has no workers")
    return count
