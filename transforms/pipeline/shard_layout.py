"""The bill lines laid out by account bucket, so that a shard reads only its share
(shards.py runs the shards; docs/performance.md#scale-out).

Each delivered billing file is laid out once, by the workers (one task per file), as
SHARD_BUCKETS Parquet parts by the account's bucket (sql/macros/shards.sql,
sql/queries/shard_billing_layout.sql): OUT/shards/billing/<file key>/bucket=<b>/. Shard k of N reads the buckets b with
b % N == k, so it reads its accounts' lines and no other; the number of buckets does not
depend on N, so the same layout serves any number of workers. The file key is a digest
of the file's SHA-256, its path, the DuckDB version (whose hash places the lines) and the
number of buckets: a changed or moved file, or a DuckDB upgrade, is laid out again; an
unchanged file never is. A normal month lays out its own cycle only. The coordinator's
per-account tables (the referees, the incremental state of the cycles not scanned) are
written as Parquet partitioned by the same bucket, for the shard that owns them.
"""

import hashlib
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms import contracts
from transforms.pipeline import sql_runner, warehouse
from transforms.pipeline.inputs import BILLING_CYCLE_FILES

SHARD_BUCKETS = 96  # divisible by 1, 2, 3, 4, 6, 8, 12, 16, 24, 32 and 48 workers
# the bill-line columns the sharded models read, as the input contract marks them
LAID_OUT_COLUMNS = tuple(c.name for c in contracts.BILLING.columns if c.sharded)
LAYOUT = sql_runner.sql_file("queries/shard_billing_layout.sql")


@dataclass(frozen=True)
class LayoutTask:
    """Lay out one delivered billing file as bucket parts under `target`."""

    source_file: str  # the absolute path the worker reads
    recorded_as: str  # the name the coordinator's relations give the file (its source_file)
    target: str
    readable: tuple[str, ...]  # what the worker's DuckDB may read (the data directory)
    out_dir: str  # and write (OUT)
    memory_limit: str


def layout_dir(out_dir: Path) -> Path:
    return Path(out_dir) / "shards" / "billing"


def file_key(path: str, sha256: str) -> str:
    """Where a file's parts live: changes with its content, the name the run records it
    by (the parts carry it, and rejected rows are matched on it), the DuckDB version and
    the bucket count."""
    text = f"{sha256}\0{path}\0{duckdb.__version__}\0{SHARD_BUCKETS}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def worker_connection(out_dir: str, readable: tuple[str, ...], memory_limit: str, threads=None):
    """A worker's own in-memory DuckDB, set up and sandboxed like the coordinator's."""
    con = warehouse.session(memory_limit, threads)
    con.execute("set enable_progress_bar = false")
    sql_runner.run_macros(con)
    warehouse.sandbox(con, Path(out_dir), tuple(Path(p) for p in readable))
    return con


def lay_out_file(task: LayoutTask) -> float:
    """Worker: write one billing file's bucket parts; returns the seconds it took. The
    parts are written beside the target and renamed into place, so a killed task leaves
    no half layout (a later run writes it again)."""
    started = time.perf_counter()
    con = worker_connection(task.out_dir, task.readable, task.memory_limit)
    try:
        present = {
            d[0]
            for d in con.execute(
                "select * from read_parquet($f) limit 0", {"f": task.source_file}
            ).description
        }
        columns = [c if c in present else f"cast(null as varchar) as {c}" for c in LAID_OUT_COLUMNS]
        sql_runner.create_source(
            con, BILLING_CYCLE_FILES, "raw_billing_lines", [Path(task.source_file)], columns
        )
        target = Path(task.target)
        scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        con.execute(
            f"copy ({LAYOUT.body}) to $scratch (format parquet, partition_by (bucket))",
            {
                **sql_runner.bind(
                    LAYOUT, {"shard_buckets": SHARD_BUCKETS, "source_file": task.recorded_as}
                ),
                "scratch": str(scratch),
            },
        )
    finally:
        con.close()
    try:
        scratch.rename(target)
    except OSError:
        # another run laid the same file out first: the same bytes by construction
        shutil.rmtree(scratch, ignore_errors=True)
    return time.perf_counter() - started


def shard_parts(out_dir: Path, keys: list[str], shard: int, shards: int) -> tuple[str, ...]:
    """The bucket parts of one shard: buckets b with b % shards == shard, of every file."""
    root = layout_dir(out_dir)
    return tuple(
        str(part)
        for key in keys
        for bucket in range(shard, SHARD_BUCKETS, shards)
        for part in sorted((root / key / f"bucket={bucket}").glob("*.parquet"))
    )
