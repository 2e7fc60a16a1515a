"""The one typed options object of a run, from the command line through the flow to the stages.

A run is defined by one parameter, the month; every other value here says where to read and
write and how carefully. Dates are derived from the month once, in `transforms.months.MonthDates`.
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from transforms.errors import UsageError
from transforms.rules import DEFAULT_ELIGIBLE_PRODUCTS_PATH

# DuckDB's threads per session when a run does not set them (docs/operations.md#threads):
# unset, DuckDB takes one per core; several runs or test workers sharing a machine's cores
# each do better with fewer
THREADS_VARIABLE = "CREDITFLOW_DUCKDB_THREADS"


def threads_from_environment() -> int | None:
    """CREDITFLOW_DUCKDB_THREADS as a positive whole number, or None when it is unset."""
    value = os.environ.get(THREADS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise UsageError(
            f"usage: {THREADS_VARIABLE}={value!r}: DuckDB's threads must be a whole number of "
            "at least 1 (or leave it unset for one per core)"
        )
    return int(value)


class RunOptions(BaseModel):
    """Where a run reads and writes, and the operator's switches (the same for every month)."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path
    out_dir: Path
    eligible_products: Path = DEFAULT_ELIGIBLE_PRODUCTS_PATH
    config: Path | None = Field(default=None, description="rules TOML; None: config/rules.toml")
    dry_run: bool = False
    max_rejected: int = Field(default=0, ge=0)
    incremental: bool = True
    # the operator's recorded acceptance of smaller inputs: a snapshot that lost referrals or
    # accounts known to the previous month, or a billing cycle far smaller than the one
    # before it (docs/data-contract.md#snapshots-only-grow)
    accept_shrunk_inputs: bool = False
    # the operator's word that the ledger's data directory moved to data_dir (recorded with
    # the month); without it, another directory than the ledger's stops the run
    data_moved: bool = False
    threads: int | None = None
    # a replay under other rules into a sandbox (creditflow whatif, docs/outputs.md#what-if):
    # the ledger commits as usual there, but no coupon file is written and no coupon key is
    # read; amounts only
    what_if: bool = False
    # where the per-referee work runs (docs/performance.md#scale-out): "local" is this
    # process's DuckDB over every line; "dask" runs `shards` shards on the Dask scheduler
    # at dask_address; "in-process" runs the same shards one after the other here (tests)
    executor: Literal["local", "dask", "in-process"] = "local"
    dask_address: str | None = None
    shards: int = Field(default=1, ge=1)
    # DuckDB's share of the 3 GB budget; Python (GX frames, batch rendering) needs the rest
    memory_limit: str = "2GB"
    # each shard's DuckDB memory_limit (None: memory_limit). A local cluster's workers
    # share one machine, so they share memory_limit (flows/dask_cluster.py); a worker of
    # an existing cluster has a machine of its own and gets memory_limit whole
    shard_memory_limit: str | None = None
    # the run's DuckDB returns the memory it freed to the machine in the background
    # (jemalloc's background threads) instead of keeping it for its next query. Set for a
    # local cluster (flows/dask_cluster.py), where the coordinator waits beside its workers
    # holding what its audits freed; off otherwise, since it slows a month on one process
    # (docs/performance.md, a local cluster's memory). DuckDB's setting is process-wide:
    # every session warehouse.connect opens sets it to its run's choice
    allocator_background_threads: bool = False

    @field_validator("data_dir")
    @classmethod
    def _data_dir_resolved(cls, data_dir: Path) -> Path:
        """One name per input file however --data was spelled, and from any working
        directory: the names are recorded (the quarantine's source_file) and keyed on (the
        Dask layout, shard_layout.file_key). The ledger's data directory is the resolved
        one too (ledger_start.check_data_dir)."""
        return Path(data_dir).resolve()
