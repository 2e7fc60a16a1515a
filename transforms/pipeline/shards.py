"""The per-referee work on Dask workers (`--executor dask`, docs/performance.md#scale-out).

The bill lines are the only large input, and every rule that reads them, up to each
referee's windows, is per referee account: the models SHARDED_MODELS, from the scans of
the bill lines (int_scanned_eligible_spend, int_scanned_linked_lines) through the linked
lines' originals and the daily spend to the windows (int_referee_windows). With the Dask
executor those models run on the workers, one shard of accounts each, with the same SQL,
and the coordinator takes the union of what it needs back (RETURNED_MODELS: the scans for
the incremental state, the windows for the entitlements). The rest stays on the
coordinator: the input audits, the identity rules that pick each referee's listing
(small tables), entitlements, the ledger transaction and the files.

**The layout that lets a shard read only its share** is shard_layout.py's.

**Why the outputs are the same for any N.** A shard holds every line, every cached day
and every listing of its accounts (same bucket everywhere), and the models group by
account (or referee) and day or keep lines one by one, so the union of the shards' rows
is the same set of rows as one run over everything; everything downstream is ordered by
its keys.
"""

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transforms import contracts
from transforms.pipeline import sql_runner
from transforms.pipeline.inputs import EMPTY_INPUT
from transforms.pipeline.shard_layout import (
    LAID_OUT_COLUMNS,
    SHARD_BUCKETS,
    LayoutTask,
    file_key,
    lay_out_file,
    layout_dir,
    shard_parts,
    worker_connection,
)
from transforms.summary import progress

SHARDED_MODELS = (
    "int_scanned_eligible_spend",
    "int_scanned_linked_lines",
    "int_cycle_eligible_spend",
    "int_cycle_linked_lines",
    "int_carried_referees",
    "int_linked_lines",
    "int_referee_daily_spend",
    "int_referee_windows",
)
# what the coordinator takes back: the scans and the originals found (the incremental state
# the publish keeps) and the windows (what int_referee_entitlements reads)
RETURNED_MODELS = (
    "int_scanned_eligible_spend",
    "int_scanned_linked_lines",
    "int_linked_lines",
    "int_referee_windows",
)
# the coordinator's relations a shard reads: the whole relation (small), or the slice of
# the shard's accounts (keyed by the named account column)
WHOLE_INPUTS = {
    "rejected_rows": "source_file, file_row_number",
    "int_billing_surplus_copies": "source_file, file_row_number",
    "stg_eligible_products": "*",
    "cached_cycles": "*",
    "window_state_month": "*",
}
SLICED_INPUTS = {
    "int_referee_accounts": "account_id",
    "int_referees": "referee_account_id",
    "warehouse.cycle_eligible_spend": "account_id",
    "warehouse.cycle_linked_lines": "account_id",
    "warehouse.referee_window_state": "referee_account_id",
    "warehouse.linked_original_dates": "account_id",
}
# the incremental state a shard needs: the cycles taken from the cache only, and the
# window state and the originals found only when this month advances them
CACHED_ONLY = "billing_cycle in (select billing_cycle from cached_cycles)"
ADVANCED_ONLY = "settlement_month in (select settlement_month from window_state_month)"
STATE_FILTERS = {
    "warehouse.cycle_eligible_spend": CACHED_ONLY,
    "warehouse.cycle_linked_lines": CACHED_ONLY,
    "warehouse.referee_window_state": ADVANCED_ONLY,
    "warehouse.linked_original_dates": ADVANCED_ONLY,
}
SHARD_FILES = sql_runner.sql_file("sources/billing_shard_files.sql")
RECORD_FILES = sql_runner.sql_file("sources/billing_record_files.sql")


@dataclass(frozen=True)
class ShardTask:
    """Compute one shard's rows of RETURNED_MODELS from its bucket parts."""

    shard: int
    shards: int
    parts: tuple[str, ...]  # its buckets of the scanned cycles' files
    record_parts: tuple[str, ...]  # its buckets of every cycle's files up to the month
    inputs: dict  # relation name -> its Parquet files (whole, or this shard's slice)
    results_dir: str  # where the shard writes its RETURNED_MODELS rows
    parameters: dict  # the run's SQL parameters
    out_dir: str
    memory_limit: str
    threads: int | None


@dataclass(frozen=True)
class ShardResult:
    shard: int
    rows: dict  # model name -> the Parquet file of the shard's rows
    lines_read: int
    seconds: float
    carried_referees: int  # referees whose windows the shard advanced from the state


def _not_laid_out(column: str) -> str:
    """A bill-line column the layout does not carry: never evaluated while no sharded model
    reads it (DuckDB reads a view's columns only when they are used), and a loud error
    the moment one does, instead of a silent null on every shard."""
    message = (
        f"bill-line column {column} is read by a sharded model but not laid out for the "
        "shards: mark it sharded=True in transforms/contracts.py (BILLING)"
    )
    return f"cast(error('{message}') as varchar) as {column}"


def compute_shard(task: ShardTask) -> ShardResult:
    """Worker: run the shard's models over its lines and write its RETURNED_MODELS rows
    as Parquet beside the layout (the results travel by the shared storage, not through
    the scheduler: at 100M lines they are gigabytes)."""
    started = time.perf_counter()
    con = worker_connection(task.out_dir, (), task.memory_limit, task.threads)
    try:
        columns = [
            c.name if c.name in LAID_OUT_COLUMNS else _not_laid_out(c.name)
            for c in contracts.BILLING.columns
        ]
        _create_source(con, SHARD_FILES, "raw_billing_lines", task.parts, columns)
        record_columns = ["account_id", "record_id", "billing_date"]
        _create_source(con, RECORD_FILES, "raw_billing_records", task.record_parts, record_columns)
        con.execute("attach ':memory:' as warehouse")
        for name, files in task.inputs.items():
            con.execute(
                f"create table {name} as select * from "
                "read_parquet($files, union_by_name = true, hive_partitioning = false)",
                {"files": list(files)},
            )
        for model in shard_models():
            sql_runner.create(con, model, task.parameters)
        ((lines_read,),) = con.execute("select count(*) from raw_billing_lines").fetchall()
        ((carried,),) = con.execute("select count(*) from int_carried_referees").fetchall()
        rows = {}
        for name in RETURNED_MODELS:
            rows[name] = str(Path(task.results_dir) / f"{name}-{task.shard}.parquet")
            con.execute(f"copy {name} to $path (format parquet)", {"path": rows[name]})
    finally:
        con.close()
    return ShardResult(task.shard, rows, lines_read, time.perf_counter() - started, carried)


def _create_source(con, template, relation: str, parts: tuple[str, ...], columns: list[str]):
    """A raw relation over a shard's parts; a shard with no part of these files (few
    lines, many shards) gets the same relation typed and empty."""
    if parts:
        sql_runner.create_source(con, template, relation, [Path(p) for p in parts], columns)
        return
    typed = [
        column if column.startswith("cast(") else f"cast(null as varchar) as {column}"
        for column in columns
    ]
    sql_runner.create_source(
        con, EMPTY_INPUT, relation, [], [*typed, "cast(null as varchar) as billing_cycle"]
    )


def shard_models() -> list:
    """What a shard runs, in model order: the staging view of its lines, the accepted
    lines, then SHARDED_MODELS."""
    names = {"stg_billing_lines", "int_accepted_billing_lines", *SHARDED_MODELS}
    return [m for m in sql_runner.models() if m.name in names]


def compute_sharded(
    run,
    scanned_files: tuple[tuple[str, str], ...],
    record_files: tuple[tuple[str, str], ...],
    map_tasks: Callable,
) -> int:
    """Coordinator: lay out the files not laid out yet, run the shards, and create
    RETURNED_MODELS in the run's connection as the union of the shards' rows. Returns how
    many referees the shards advanced from the window state.

    `map_tasks(function, tasks)` runs a worker function over tasks on the cluster and
    returns the results in task order (transforms/pipeline/executors.py)."""
    options = run.options
    out_dir = Path(options.out_dir).resolve()
    shards = options.shards
    keys = {path: file_key(path, sha256) for path, sha256 in record_files}
    missing = [
        LayoutTask(
            str(Path(path).resolve()),
            path,
            str(layout_dir(out_dir) / key),
            (str(options.data_dir),),  # resolved (RunOptions)
            str(out_dir),
            options.shard_memory_limit or options.memory_limit,
        )
        for path, key in keys.items()
        if not (layout_dir(out_dir) / key).is_dir()
    ]
    if missing:
        layout_dir(out_dir).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        seconds = map_tasks(lay_out_file, missing)
        progress(
            f"{run.month}: shards: laid out {len(missing)} billing file(s) in {SHARD_BUCKETS} "
            f"buckets ({time.perf_counter() - started:.1f} s, longest file {max(seconds):.1f} s)"
        )
    scratch = layout_dir(out_dir).parent / "runs" / f"{run.month}-{uuid.uuid4().hex[:12]}"
    (scratch / "results").mkdir(parents=True)
    try:
        started = time.perf_counter()
        inputs = _write_inputs(run.con, scratch / "inputs", shards)
        inputs_s = time.perf_counter() - started
        scanned_keys = [keys[path] for path, _ in scanned_files]
        tasks = [
            ShardTask(
                shard,
                shards,
                shard_parts(out_dir, scanned_keys, shard, shards),
                shard_parts(out_dir, list(keys.values()), shard, shards),
                {name: files(shard) for name, files in inputs.items()},
                str(scratch / "results"),
                run.parameters,
                str(out_dir),
                options.shard_memory_limit or options.memory_limit,
                options.threads,
            )
            for shard in range(shards)
        ]
        started = time.perf_counter()
        results = map_tasks(compute_shard, tasks)
        progress(
            f"{run.month}: shards: {len(results)} shard(s) read "
            f"{sum(r.lines_read for r in results):,} bill lines "
            f"({time.perf_counter() - started:.1f} s; per shard "
            + ", ".join(f"{r.seconds:.1f}" for r in results)
            + f" s; writing the shards' inputs {inputs_s:.1f} s)"
        )
        for name in RETURNED_MODELS:
            run.con.execute(
                f"create or replace temp table {name} as select * from read_parquet($files)",
                {"files": [r.rows[name] for r in results]},
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sum(r.carried_referees for r in results)


def _write_inputs(con, folder: Path, shards: int) -> dict:
    """Write what the shards read of the coordinator's relations as Parquet (one pass per
    relation; the per-account ones partitioned by shard) and return, per relation, a
    function from a shard's number to its files. An empty file with the relation's columns
    comes first, so a shard without rows still gets a typed, empty relation."""
    found = {}
    for name, columns in WHOLE_INPUTS.items():
        path = folder / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select {columns} from {name}) to $path (format parquet)", {"path": str(path)}
        )
        found[name] = lambda shard, path=path: (str(path),)
    for name, column in SLICED_INPUTS.items():
        where = f"where {STATE_FILTERS[name]}" if name in STATE_FILTERS else ""
        target = folder / name.replace(".", "__")
        target.mkdir(parents=True)
        schema = target / "columns.parquet"
        con.execute(
            f"copy (select * from {name} limit 0) to $path (format parquet)", {"path": str(schema)}
        )
        con.execute(
            f"copy (select *, shard_bucket({column}, {SHARD_BUCKETS}) % {shards} as shard_number "
            f"from {name} {where}) to $path (format parquet, partition_by (shard_number))",
            {"path": str(target / "slices")},
        )
        found[name] = lambda shard, target=target, schema=schema: (
            str(schema),
            *(
                str(p)
                for p in sorted((target / "slices" / f"shard_number={shard}").glob("*.parquet"))
            ),
        )
    return found
