"""The warehouse's schema: created, upgraded from earlier versions, and recorded by digest,
so that a connection to a warehouse already at today's schema runs none of it."""

import hashlib
import inspect
from functools import cache

from transforms.pipeline import sql_runner

# columns renamed since the first warehouses were written, old name -> new (dates end in
# _date; names say what a column means, not the number a rule has today)
_RENAMED_COLUMNS = {
    "referee_status": {
        "qualified_on": "qualified_date",
        "window_ends_on": "window_end_date",
        # named after the default 90 days until the names stopped carrying rule numbers
        "spend_first_90_days_usd": "bonus_window_spend_usd",
    }
}


# what a warehouse's schema is made of, with the upgrades below: a change to any of them
# changes its digest, so the schema runs once more on each warehouse
_SCHEMA = ("schema/warehouse.sql", "queries/liability_by_month.sql")


@cache  # the code's schema: fixed for the life of the process
def _schema_sha256() -> str:
    parts = [sql_runner.sql_file(name).text for name in _SCHEMA]
    # the upgrades' own code: a step added to _upgrade is a new schema, with nothing to
    # remember to bump
    parts += [repr(sorted(_RENAMED_COLUMNS.items())), inspect.getsource(_upgrade)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def bring_up_to_date(con) -> None:
    """Upgrade, create what is missing and record the schema's digest, unless the
    warehouse already records today's digest (each statement is a no-op then)."""
    digest = _schema_sha256()
    if "sha256" in _columns(con, "schema_applied"):
        recorded = con.execute("select sha256 from warehouse.schema_applied").fetchall()
        if recorded == [(digest,)]:
            return
    _upgrade(con)
    sql_runner.script(con, sql_runner.sql_file("schema/warehouse.sql"))
    liability = sql_runner.sql_file("queries/liability_by_month.sql").body
    con.execute(f"create or replace view warehouse.liability_by_month as {liability}")
    con.execute("delete from warehouse.schema_applied")
    con.execute("insert into warehouse.schema_applied values ($digest)", {"digest": digest})


def _upgrade(con) -> None:
    """Bring a warehouse written by an earlier version to today's column names, and drop an
    incremental cache kept in an earlier shape (the next run scans every cycle once)."""
    cache_columns = _columns(con, "cycle_eligible_spend")
    if cache_columns and "unlinked_refund_cash_usd" not in cache_columns:
        # kept before linked refunds: linked lines were summed into the days, so the cache
        # cannot be split; it is state, not the ledger
        con.execute("drop table warehouse.cycle_eligible_spend")
        con.execute("delete from warehouse.billing_cycle_scans")
    for table, renames in _RENAMED_COLUMNS.items():
        present = _columns(con, table)
        for old, new in renames.items():
            if old in present:
                con.execute(f"alter table warehouse.{table} rename column {old} to {new}")


def _columns(con, table: str) -> set[str]:
    """The column names of a warehouse table (empty when it does not exist)."""
    return {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = 'warehouse' and table_name = $table",
            {"table": table},
        ).fetchall()
    }
