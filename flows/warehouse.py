"""The warehouse: one DuckDB file per OUT directory, the ledger's single source of truth.

Invariant: a month is published by exactly one transaction that appends its ledger
lines, balances, coupons, referee statuses and settlement record; nothing published is
ever updated or deleted. DuckDB's file lock makes a second concurrent writer fail fast.
"""

from pathlib import Path

import duckdb

from flows.errors import StateConflict
from flows.faults import crash_point
from transforms import months
from transforms.sql_models import SQL_ROOT, run_macros

WAREHOUSE_FILE = "warehouse.duckdb"
PUBLISHED_TABLES = ("ledger_entries", "referrer_balances", "coupons", "referee_status")


def connect(
    out_dir: Path,
    *,
    read_only: bool,
    readable: tuple[Path, ...] = (),
    threads: int | None = None,
    memory_limit: str = "2GB",
) -> duckdb.DuckDBPyConnection:
    """An in-memory working database with the warehouse attached as `warehouse`.

    Models build their relations in memory; only publishing writes to the warehouse.
    A read-only session on an OUT with no warehouse yet gets an empty in-memory one.
    The session is sandboxed: it can reach only OUT and the `readable` paths (the data
    directory and the eligible-products file), installs no extension, and its
    configuration is locked once set.
    """
    out_dir = Path(out_dir)
    tmp_dir = out_dir / ".duckdb_tmp"
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = false")
    con.execute("set memory_limit = $limit", {"limit": memory_limit})
    if threads:
        con.execute("set threads = $threads", {"threads": threads})
    path = out_dir / WAREHOUSE_FILE
    if read_only and not path.exists():
        con.execute("attach ':memory:' as warehouse")
        read_only = False
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir.mkdir(exist_ok=True)
        con.execute("set temp_directory = $dir", {"dir": str(tmp_dir)})
        try:
            mode = " (read_only)" if read_only else ""
            con.execute(f"attach $path as warehouse{mode}", {"path": str(path)})
        except duckdb.IOException as error:
            con.close()
            if "lock" in str(error).lower():
                raise StateConflict(
                    f"{path}: another creditflow run is using this OUT directory; wait for it "
                    "to finish (nothing was changed)"
                ) from error
            raise
    if not read_only:
        con.execute((SQL_ROOT / "schema" / "warehouse.sql").read_text())
    run_macros(con)
    _sandbox(con, out_dir, readable)
    return con


def _sandbox(con, out_dir: Path, readable: tuple[Path, ...]) -> None:
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


def published_months(con) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select settlement_month from warehouse.settlements order by settlement_month"
        ).fetchall()
    ]


def check_month_order(con, month: str) -> bool:
    """True when the month is already published; raise when settling it would leave a gap."""
    published = published_months(con)
    if month in published:
        return True
    if not published:
        return False
    last = published[-1]
    if month < published[0]:
        raise StateConflict(
            f"{month}: the ledger starts at {published[0]}; months before it cannot be settled"
        )
    if month != months.next_month(last):
        missing = months.month_range(months.next_month(last), months.previous_month(month))
        raise StateConflict(
            f"{month}: months are settled in order with no gaps; settle {missing[0]}"
            f"{'..' + missing[-1] if len(missing) > 1 else ''} first (last published: {last})"
        )
    return False


def fetch_dicts(con, sql: str, parameters: dict | None = None) -> list[dict]:
    cursor = con.execute(sql, parameters or {})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def settlement_record(con, month: str) -> dict | None:
    rows = fetch_dicts(
        con, "select * from warehouse.settlements where settlement_month = $m", {"m": month}
    )
    return rows[0] if rows else None


def coupon_rows(con, month: str, *, source: str = "warehouse.coupons") -> list[dict]:
    return fetch_dicts(
        con,
        f"select * from {source} where settlement_month = $m order by referrer_account_id",
        {"m": month},
    )


def publish(con, settlement: dict) -> None:
    """Append the month's marts and its settlement record in one transaction."""
    con.execute("begin transaction")
    try:
        for table in PUBLISHED_TABLES:
            con.execute(f"insert into warehouse.{table} by name select * from {table}")
            crash_point("during_ledger_transaction")
        columns = ", ".join(settlement)
        values = ", ".join(f"${name}" for name in settlement)
        con.execute(f"insert into warehouse.settlements ({columns}) values ({values})", settlement)
        con.execute((SQL_ROOT / "schema" / "update_incremental_state.sql").read_text())
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def known_file_digests(con) -> dict[tuple, str]:
    """SHA-256 of billing files hashed by earlier runs, keyed by (path, *io.file_stamp)."""
    try:
        rows = con.execute(
            """select file_path, size_bytes, inode, modified_ns, changed_ns, sha256
               from warehouse.input_file_digests"""
        ).fetchall()
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
