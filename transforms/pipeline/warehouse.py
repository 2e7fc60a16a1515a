"""The warehouse edge both pipelines share: one DuckDB file per OUT directory, the ledger's
single source of truth.

Invariant: a month is published by exactly one transaction that appends its relations and
its month record; nothing published is ever updated or deleted. DuckDB's file lock makes a
second concurrent writer fail fast.
"""

import re
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa

from transforms import months
from transforms.errors import StateConflict
from transforms.pipeline import sql_runner, warehouse_schema
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import threads_from_environment


def connect(
    layout: OutputLayout,
    *,
    read_only: bool,
    readable: tuple[Path, ...] = (),
    threads: int | None = None,
    memory_limit: str = "2GB",
    allocator_background_threads: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory working database with the warehouse attached as `warehouse`. Models
    build their relations in memory; only publishing writes to the warehouse. A read-only
    session on an OUT with no warehouse yet gets an empty in-memory one. The session is
    sandboxed: it can reach only OUT and the `readable` paths (the data directory and the
    eligible-products file), installs no extension, and its configuration is locked once set.
    """
    con = session(memory_limit, threads)
    con.execute("set allocator_background_threads = $on", {"on": allocator_background_threads})
    path = layout.warehouse
    if read_only and not path.exists():
        con.execute("attach ':memory:' as warehouse")
        read_only = False
    else:
        layout.root.mkdir(parents=True, exist_ok=True)
        layout.duckdb_temp.mkdir(exist_ok=True)
        con.execute("set temp_directory = $dir", {"dir": str(layout.duckdb_temp)})
        try:
            mode = " (read_only)" if read_only else ""
            con.execute(f"attach $path as warehouse{mode}", {"path": str(path)})
        except duckdb.Error as error:
            con.close()
            if "lock" in str(error).lower():
                raise StateConflict(lock_message(path, str(error))) from error
            # a damaged file ends in one line, with the way back
            raise StateConflict(
                f"{path}: cannot be opened as the warehouse ({str(error).splitlines()[0][:200]});"
                " nothing was changed. If it is damaged, rebuild it from the published months: "
                f"creditflow recover --data DIR --out {layout.root} "
                "(docs/operations.md#a-lost-or-damaged-warehouse)"
            ) from None
    if not read_only:
        warehouse_schema.bring_up_to_date(con)
    sql_runner.run_macros(con)
    sandbox(con, layout.root, readable)
    return con


def session(memory_limit: str, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the settings every run uses (a month's connection,
    and each Dask shard's on its worker): UTC, no insertion order to keep, the memory
    limit, and the threads: the run's, else CREDITFLOW_DUCKDB_THREADS, else one per core."""
    threads = threads or threads_from_environment()
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = false")
    con.execute("set memory_limit = $limit", {"limit": memory_limit})
    if threads:
        con.execute("set threads = $threads", {"threads": threads})
    return con


def lock_message(path: Path, error: str) -> str:
    """Who holds the warehouse, from DuckDB's lock error: a run, or an analyst's session."""
    holder = re.search(r"held in (.+?) \(PID (\d+)\)", error)
    who = f"process {holder.group(2)} ({holder.group(1)})" if holder else "another process"
    return (
        f"{path}: locked by {who}: another creditflow run, or an interactive session (DuckDB "
        "CLI, notebook) holding the warehouse open; analysts read OUT/catalog.duckdb instead. "
        "Nothing was changed: rerun once it is released"
    )


def sandbox(con, out_dir: Path, readable: tuple[Path, ...]) -> None:
    directories = [str(Path(out_dir).resolve())]
    paths = []
    for path in readable:
        (directories if Path(path).is_dir() else paths).append(str(Path(path).resolve()))
    con.execute("set allowed_directories = $directories", {"directories": directories})
    if paths:
        con.execute("set allowed_paths = $paths", {"paths": paths})
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


def published_months(
    con, table: str = "settlements", column: str = "settlement_month"
) -> list[str]:
    return [
        row[0]
        for row in con.execute(f"select {column} from warehouse.{table} order by 1").fetchall()
    ]


def refuse_stray_month_folders(layout: OutputLayout) -> None:
    """Stop (exit 4) when a folder holds a published month's files under a name that is not
    a month (batches/old-copy/): it is never read as a month, and never silently ignored."""
    strays = layout.stray_month_folders()
    if strays:
        raise StateConflict(
            f"{strays[0]}: a published month's files in a folder not named YYYY-MM (a copy?); "
            f"nothing under {layout.root} may look like a month it is not. Move it out of OUT "
            "and run again; nothing was changed"
        )


def guard_published_months(con, layout: OutputLayout) -> None:
    """Stop (exit 4) when published files name months the warehouse does not hold: a
    warehouse that is missing, empty or behind them would pay those months again. Every
    run calls it before anything is computed (docs/operations.md#a-lost-or-damaged-warehouse)."""
    refuse_stray_month_folders(layout)
    for ledger, on_disk, table, column in (
        ("settlement", layout.published_settlement_months(), "settlements", "settlement_month"),
        (
            "instrument",
            layout.published_instrument_months(),
            "instrument_months",
            "instrument_month",
        ),
    ):
        missing = sorted(set(on_disk) - set(published_months(con, table, column)))
        if missing:
            span = missing[0] if len(missing) == 1 else f"{missing[0]}..{missing[-1]}"
            raise StateConflict(
                f"{layout.warehouse}: missing, empty or behind the published files: {ledger} "
                f"month(s) {span} are published under {layout.root} but not in the warehouse, "
                "and running now would pay them again. Nothing was changed. Recover it: "
                f"creditflow recover --data DIR --out {layout.root} (with the inputs, rules and "
                "coupon key those months were published with; docs/operations.md"
                "#a-lost-or-damaged-warehouse)"
            )


def check_month_order(
    month: str,
    published: list[str],
    *,
    ledger: str = "ledger",
    verb: str = "settle",
    first: str | None = None,
) -> bool:
    """True when the month is already published; raise when running it would leave a gap.
    `first`: the month an empty ledger was started at on purpose (creditflow init)."""
    if month in published:
        return True
    starts_at = published[0] if published else first
    if starts_at is None:
        return False
    if month < starts_at:
        raise StateConflict(
            f"{month}: the {ledger} starts at {starts_at}; months before it cannot be run"
        )
    if not published:
        if month == starts_at:
            return False
        published = [months.previous_month(starts_at)]  # the gap runs from the start
    last = published[-1]
    if month != months.next_month(last):
        missing = months.month_range(months.next_month(last), months.previous_month(month))
        raise StateConflict(
            f"{month}: the {ledger} runs months in order with no gaps; {verb} {missing[0]}"
            f"{'..' + missing[-1] if len(missing) > 1 else ''} first (last published: {last})"
        )
    return False


def fetch_dicts(con, sql: str, parameters: dict | None = None) -> list[dict]:
    """The rows of a one-line query as dicts (files under sql/ go through sql_runner.rows)."""
    return sql_runner.as_dicts(con.execute(sql, parameters or {}))


def month_record(con, table: str, column: str, month: str) -> dict | None:
    rows = fetch_dicts(con, f"select * from warehouse.{table} where {column} = $m", {"m": month})
    return rows[0] if rows else None


@contextmanager
def transaction(con):
    """One transaction: everything inside commits together or not at all."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        # when DuckDB already aborted it, the error being raised is the one to report
        with suppress(duckdb.Error):
            con.execute("rollback")
        raise
    # a failed commit (the disk full, say) is rolled back by DuckDB and says why; a rollback
    # after it would only report "no transaction is active" and hide that reason
    con.execute("commit")


def append(con, tables: tuple[str, ...], record_table: str, record: dict) -> None:
    """Append each computed relation to the warehouse table of the same name, then the
    month's record (inside a transaction)."""
    for table in tables:
        con.execute(f"insert into warehouse.{table} by name select * from {table}")
    columns = ", ".join(record)
    values = ", ".join(f"${name}" for name in record)
    con.execute(f"insert into warehouse.{record_table} ({columns}) values ({values})", record)


def stage_rows(con, table: str, rows: list[dict]) -> None:
    """A temp relation shaped like warehouse.<table> holding computed rows (the month's
    results of the instrument engine), ready for `append`."""
    con.execute(f"create or replace temp table {table} as select * from warehouse.{table} limit 0")
    if rows:
        # one columnar insert: executemany goes row by row and grew to ~10 s a month as the
        # instrument state grew. Arrow keeps Decimals exact (decimal128); the insert casts
        # each column to the warehouse table's type by name.
        staged = pa.Table.from_pylist(rows)
        con.register("_staged_rows", staged)
        try:
            con.execute(f"insert into {table} by name select * from _staged_rows")
        finally:
            con.unregister("_staged_rows")


def known_file_digests(con) -> dict[tuple, str]:
    """SHA-256 of billing files hashed by earlier runs, keyed by (path, *input_fingerprints.file_stamp)."""
    columns = "file_path, size_bytes, inode, modified_ns, changed_ns, sha256"
    try:
        rows = con.execute(f"select {columns} from warehouse.input_file_digests").fetchall()
    except duckdb.CatalogException:  # a read-only warehouse written before this table existed
        return {}
    return {tuple(row[:-1]): row[-1] for row in rows}


def remember_file_digests(con, keys, digests: dict[tuple, str]) -> None:
    """Keep the digests of newly hashed files for later runs (a cache outside the ledger:
    losing it costs a re-hash, nothing else)."""
    if keys:
        con.executemany(
            "insert or ignore into warehouse.input_file_digests values (?, ?, ?, ?, ?, ?)",
            [(*key, digests[key]) for key in sorted(keys)],
        )
