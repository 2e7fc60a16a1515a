"""The analysts' catalog (OUT/catalog.duckdb): never blocks a run and is never blocked by one.

The working warehouse is private to runs (DuckDB lets one writer hold a file, and refuses
readers meanwhile). After each publish, the published tables are snapshotted as Parquet,
one immutable file per table and month (the ledger is append-only, so a month's rows never
change), and a small DuckDB file of views over exactly those files replaces
OUT/catalog.duckdb in one rename. An analyst's read-only session keeps the catalog it
opened; the next session sees the next one; a run never waits for either.
"""

import hashlib
import logging
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import duckdb

from transforms.errors import UsageError
from transforms.pipeline import sql_runner, warehouse
from transforms.pipeline.files import (
    atomic_parquet_copy,
    atomic_write,
    parquet_bytes,
    sha256_file,
)
from transforms.pipeline.input_fingerprints import file_stamp
from transforms.pipeline.layout import OutputLayout
from transforms.summary import progress

# the two ledgers: the table that records each published month, and its month column
SETTLEMENT_LEDGER = ("settlements", "settlement_month")
INSTRUMENT_LEDGER = ("instrument_months", "instrument_month")
# table -> its ledger; every table is snapshotted once per month its ledger published (a
# month with no rows in a table gets an empty file of the table's shape)
MONTHLY_TABLES = {
    "settlements": SETTLEMENT_LEDGER,
    "ledger_entries": SETTLEMENT_LEDGER,
    "referrer_balances": SETTLEMENT_LEDGER,
    "coupons": SETTLEMENT_LEDGER,  # no codes: they are never stored
    "referee_status": SETTLEMENT_LEDGER,
    "welcome_rewards": SETTLEMENT_LEDGER,
    "instrument_months": INSTRUMENT_LEDGER,
    "instrument_state": INSTRUMENT_LEDGER,
    "instrument_events": INSTRUMENT_LEDGER,
    "instrument_rollforward": INSTRUMENT_LEDGER,
}
# small relations that change after their month (the liability's instrument columns fill
# in when the instrument month is published): snapshotted whole, named by their content
WHOLE_RELATIONS = ("liability_by_month",)
QUARANTINES = {
    "quarantine_rows": "rejected_rows.parquet",
    "instrument_quarantine_rows": "instrument_rejected_rows.parquet",
}
KEEP_WHOLE_SNAPSHOTS = 20  # older content-named snapshots are removed (a reader that old
# reopens the catalog)


@contextmanager
def reader(layout: OutputLayout):
    """A session over OUT/catalog.duckdb, attached read-only as `warehouse` (so the queries
    under sql/queries/ read it as they read the warehouse): what export, explain and a
    run's closing lines read; it never waits for a run, and no run waits for it."""
    if not layout.catalog.is_file():
        raise UsageError(
            f"usage: {layout.catalog} does not exist: settle a month into this OUT first"
        )
    con = duckdb.connect(":memory:")
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("attach $path as warehouse (read_only)", {"path": str(layout.catalog)})
        yield con
    finally:
        con.close()


def refresh_after_publishing(con: duckdb.DuckDBPyConnection, layout: OutputLayout) -> None:
    """Refresh the catalog once a month is published. The month stands whatever happens
    here: a catalog that cannot be refreshed (a full disk, a file where a folder belongs) is
    one WARNING line, the run keeps its exit code, and the next run refreshes it."""
    try:
        refresh(con, layout)
    except (OSError, duckdb.Error) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        progress(
            f"WARNING: {layout.catalog} was not refreshed ({first_line}); the month is "
            "published, and the next run refreshes the catalog",
            logging.WARNING,
        )


def refresh(con: duckdb.DuckDBPyConnection, layout: OutputLayout) -> Path:
    """Snapshot what is published and not yet in the catalog, then replace the catalog."""
    views: dict[str, list[Path]] = {}
    # the month lists come from the ledgers' month records, not from scanning every table
    published = {
        ledger: warehouse.published_months(con, *ledger) for ledger in set(MONTHLY_TABLES.values())
    }
    vouched, written = _vouched_snapshots(con), []
    for table, ledger in MONTHLY_TABLES.items():
        month_column = ledger[1]
        folder = layout.catalog_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for month in published[ledger]:
            path = folder / f"{month}.parquet"
            stamp, digest = vouched.get((table, month), (None, None))
            current = _stamp(path) if path.exists() else None
            if current is not None and current == stamp:
                pass  # written once per month
            elif current is not None and digest is not None and sha256_file(path) == digest:
                # the bytes this warehouse wrote, under a new stamp: OUT was copied or
                # restored (cp -a, rsync). Vouched again by content: rewriting every month
                # of every table would make a moved OUT's next run cost its whole history.
                written.append((table, month, current, digest))
            else:
                # not written by this warehouse as it stands (a catalog/ that outlived its
                # warehouse would show another ledger's money), so written from the ledger
                # by DuckDB as it reads: a month of referee_status (a row per referral)
                # held as a Python table and its bytes put the run's peak 0.9 GB higher at
                # 1M referrals, over the 3 GB budget (docs/performance.md#memory)
                digest = atomic_parquet_copy(
                    con,
                    f"select * from warehouse.{table} where {month_column} = $m order by all",
                    {"m": month},
                    path,
                )
                written.append((table, month, _stamp(path), digest))
            files.append(path)
        views[table] = files
    if written:  # one statement, one commit: a commit per snapshot cost seconds a month
        con.execute(
            "insert or replace into warehouse.catalog_snapshots values "
            + ", ".join("(?, ?, ?, ?)" for _ in written),
            [value for row in written for value in row],
        )
    for relation in WHOLE_RELATIONS:
        # the query, not the warehouse's view: a run's relations would shadow its tables
        query = sql_runner.sql_file(f"queries/{relation}.sql")
        data = parquet_bytes(con.sql(f"select * from ({query.body}) order by all").to_arrow_table())
        folder = layout.catalog_dir / relation
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.parquet"
        atomic_write(path, data, mode=0o644)
        os.utime(path)  # the newest snapshots are kept by time
        views[relation] = [path]
        _prune(folder)
    for view, name in QUARANTINES.items():
        views[view] = sorted((layout.root / "quarantine").glob(f"*/{name}"))
    # the column lists are asked for only for relations with no snapshot yet (a describe
    # per relation, twice a month, cost more than the views)
    empty = [name for name in (*MONTHLY_TABLES, *WHOLE_RELATIONS) if not views.get(name)]
    _replace(con, layout, views, _schemas(con, empty))
    return layout.catalog


def _vouched_snapshots(con) -> dict[tuple[str, str], tuple[str, str]]:
    """(relation, month) -> the stamp and sha256 of the snapshot file this warehouse wrote."""
    return {
        (relation, month): (stamp, digest)
        for relation, month, stamp, digest in con.execute(
            "select relation_name, month, file_stamp, sha256 from warehouse.catalog_snapshots"
        ).fetchall()
    }


def _stamp(path: Path) -> str:
    """A snapshot file as the file system describes it: any write moves the ctime."""
    return ":".join(str(part) for part in file_stamp(path))


def _schemas(con, relations: list[str]) -> dict[str, str]:
    """Each relation's column list, to type an empty view (a table nothing published yet)."""
    schemas = {}
    for relation in relations:
        columns = con.execute(f"describe warehouse.{relation}").fetchall()
        schemas[relation] = ", ".join(
            f'cast(null as {kind}) as "{name}"' for name, kind, *_ in columns
        )
    return schemas


def _replace(
    con, layout: OutputLayout, views: dict[str, list[Path]], schemas: dict[str, str]
) -> None:
    """Write the new catalog file beside the old one and rename it into place. It is
    written through the run's own session (attached, then detached, which checkpoints it
    whole): a DuckDB instance of its own for a file of views cost three times as much,
    about 20 ms of every refresh, twice a month (docs/performance.md#fixed-costs-taken-out-this-issue)."""
    descriptor, temp_name = tempfile.mkstemp(
        dir=layout.root, prefix=".catalog.", suffix=".duckdb.tmp"
    )
    os.close(descriptor)
    os.unlink(temp_name)  # DuckDB creates the file itself
    alias = f"catalog_{uuid.uuid4().hex}"  # a failed refresh leaves no name taken
    try:
        con.execute(f"attach $path as {alias}", {"path": temp_name})
        try:
            for view, files in views.items():
                if files:
                    listed = ", ".join(_quoted(str(p.resolve())) for p in files)
                    # by name: a month snapshotted before a column was appended to its
                    # table reads that column as null instead of failing the view
                    body = f"select * from read_parquet([{listed}], union_by_name = true)"
                elif view in schemas:
                    body = f"select {schemas[view]} where false"
                else:  # no quarantine yet: the quarantine's columns, no rows
                    body = (
                        "select cast(null as varchar) as audit, cast(null as varchar) as "
                        "source_file, cast(null as bigint) as file_row_number, cast(null as "
                        "varchar) as row_key, cast(null as varchar) as broken_rule where false"
                    )
                con.execute(f'create view {alias}."{view}" as {body}')
        finally:
            con.execute(f"detach {alias}")
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, layout.catalog)
        # a write-ahead log beside the catalog is an analyst session's (runs only ever write
        # the new file whole): it belongs to the replaced file, and DuckDB refuses to open
        # the new one next to it ("WAL does not match database file")
        Path(f"{layout.catalog}.wal").unlink(missing_ok=True)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        Path(f"{temp_name}.wal").unlink(missing_ok=True)
        raise


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _prune(folder: Path) -> None:
    snapshots = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in snapshots[KEEP_WHOLE_SNAPSHOTS:]:
        old.unlink(missing_ok=True)
