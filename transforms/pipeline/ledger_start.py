"""Where a ledger starts, and which data directory it settles from
(docs/operations.md#starting-a-ledger).

The first month settled into an empty OUT pays everything the rules entitle up to it, as if
nothing had been paid before. That is right only for the program's first month: the data's
first billing cycle, or a month an operator chose on purpose with `creditflow init`. A
mistyped `--out` would otherwise pay the whole program again into a new, empty ledger, so a
later first month is refused with what it would have paid.

The same goes for the data: a ledger settled from one data directory and pointed at another
(a typo, a test copy, last year's export) stops unless the operator says the data moved.
"""

from datetime import UTC, datetime
from pathlib import Path

from transforms.errors import StateConflict
from transforms.money import format_usd_grouped
from transforms.pipeline import inputs, sql_runner, warehouse
from transforms.pipeline.layout import OutputLayout


def recorded_start(con) -> dict | None:
    """The ledger's deliberate start (creditflow init), if any."""
    rows = warehouse.fetch_dicts(con, "select * from warehouse.ledger_start")
    return rows[0] if rows else None


def start(layout: OutputLayout, data_dir: Path, first_month: str, started_by: str) -> str:
    """Record that the ledger under `layout` starts at `first_month`, settled from
    `data_dir`. Idempotent for the same start; anything else that is already there is a
    conflict (exit 4). Returns what was done, for the one line the command prints."""
    data_dir = Path(data_dir).resolve()
    inputs.billing_cycles(inputs.require_data_dir(data_dir), first_month)  # exit 3 if missing
    con = warehouse.connect(layout, read_only=False)
    try:
        settled = warehouse.published_months(con)
        existing = recorded_start(con)
        if existing and (existing["first_month"], existing["data_dir"]) == (
            first_month,
            str(data_dir),
        ):
            return "already started"
        if settled or existing:
            first = settled[0] if settled else existing["first_month"]
            raise StateConflict(
                f"{layout.root}: already holds a ledger that starts at {first}; nothing was "
                "changed (a ledger is started once)"
            )
        record = {
            "first_month": first_month,
            "data_dir": str(data_dir),
            "started_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            "started_by": started_by,
        }
        with warehouse.transaction(con):
            warehouse.append(con, (), "ledger_start", record)
        return "started"
    finally:
        con.close()


def first_month(con) -> str | None:
    """The month the ledger must start with, when one was chosen on purpose."""
    found = recorded_start(con)
    return found["first_month"] if found else None


def check_data_dir(con, data_dir: Path, moved: bool) -> None:
    """A ledger reads its months from one data directory: the one its newest month was
    settled from (or its recorded start). Another one stops the run unless `moved`."""
    (row,) = sql_runner.rows(con, sql_runner.sql_file("queries/ledger_data_dir.sql"))
    newest = row["data_dir"]
    given = str(Path(data_dir).resolve())
    if newest is None or newest == given or moved:
        return
    raise StateConflict(
        f"{given}: this ledger is settled from {newest}, not from this data directory; nothing "
        "was changed. If the data moved there, rerun with --data-moved (recorded with the "
        "month); otherwise check --data and --out"
    )


def check_first_month(con, month: str, first_cycle: str, out_dir: Path, data_dir: Path, record):
    """Before the first month of an empty ledger commits: it must be the data's first
    billing cycle or the start chosen with `creditflow init`. Refused (exit 4) with what it
    would have paid and the two ways to go on."""
    if warehouse.published_months(con) or month == first_cycle:
        return
    chosen = first_month(con)
    if chosen == month:
        return
    raise StateConflict(
        f"{month}: {out_dir} holds no ledger yet, and {month} is not the first billing cycle "
        f"in {data_dir} ({first_cycle}): settling it would pay {record['coupon_count']} "
        f"coupon(s), USD {format_usd_grouped(record['coupon_total_usd'])}, as if nothing "
        f"before {month} had been paid; nothing was published. Check --out, settle from "
        f"{first_cycle} (creditflow backfill --from {first_cycle} --to {month} ...), or start "
        f"a ledger at {month} on purpose: creditflow init --out {out_dir} --data {data_dir} "
        f"--first-month {month}"
    )
