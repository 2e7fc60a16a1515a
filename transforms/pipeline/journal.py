"""`creditflow journal`: one month's general-ledger entries, read from the analysts'
catalog (so it never waits for a run). The amounts come from sql/queries/journal_entries.sql,
the double entry and the account names from transforms/journal.py."""

from pathlib import Path

from transforms import journal, months
from transforms.errors import UsageError
from transforms.pipeline import catalog, sql_runner, warehouse
from transforms.pipeline.export import Sheet
from transforms.pipeline.layout import OutputLayout


def month_journal(out: Path, month: str, config: Path | None = None) -> Sheet:
    """The month's journal lines; the month must be settled and its instrument month
    published (the coupons issued, used and expired are the instrument ledger's)."""
    accounts = journal.load_accounts(config)
    layout = OutputLayout(Path(out))
    with catalog.reader(layout) as con:
        for table, column, command in (
            ("settlements", "settlement_month", "settle"),
            ("instrument_months", "instrument_month", "instruments"),
        ):
            if month not in warehouse.published_months(con, table, column):
                raise UsageError(
                    f"usage: {month} has no published {table.replace('_', ' ')} row in "
                    f"{layout.root}: run `creditflow {command}` for it first (the journal "
                    "needs both ledgers of the month)"
                )
        entries = sql_runner.rows(
            con,
            sql_runner.sql_file("queries/journal_entries.sql"),
            {"month": month, "previous_month": months.previous_month(month)},
        )
    return Sheet("Journal", journal.COLUMNS, journal.double_entry(entries, accounts))
