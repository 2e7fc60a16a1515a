"""`creditflow statement`: one referrer's history across months, read from the analysts'
catalog (never waits for a run): every friend's entries, every coupon and a running
balance (sql/queries/referrer_statement.sql). The balance it ends at is checked against
the ledger's carry out before anything is shown."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from transforms.errors import UsageError, ValidationFailure
from transforms.money import format_usd
from transforms.pipeline import catalog, sql_runner, warehouse
from transforms.pipeline.export import Sheet
from transforms.pipeline.layout import OutputLayout

COLUMNS = [
    "settlement_month",
    "line_date",
    "line_kind",
    "referee_account_id",
    "component",
    "amount_usd",
    "balance_usd",
]


@dataclass(frozen=True)
class Statement:
    referrer_account_id: str
    first_month: str
    last_month: str
    lines: list[dict]
    coupons_usd: Decimal  # paid out in the range
    entries_usd: Decimal  # earned (less taken back) in the range
    closing_balance_usd: Decimal  # the last month's carry out

    def sheet(self) -> Sheet:
        return Sheet("Statement", COLUMNS, [tuple(line[c] for c in COLUMNS) for line in self.lines])


def statement(out: Path, referrer: str, first: str | None, last: str | None) -> Statement:
    layout = OutputLayout(Path(out))
    with catalog.reader(layout) as con:
        return read_statement(con, layout, referrer, first, last)


def read_statement(
    con, layout: OutputLayout, referrer: str, first: str | None, last: str | None
) -> Statement:
    """One referrer's statement from an open catalog reader (many statements, one reader)."""
    settled = warehouse.published_months(con)
    if not settled:
        raise UsageError(f"usage: nothing is settled in {layout.root}")
    first, last = first or settled[0], last or settled[-1]
    if first > last:
        raise UsageError(f"usage: --from {first} is after --to {last}")
    lines = sql_runner.rows(
        con,
        sql_runner.sql_file("queries/referrer_statement.sql"),
        {"referrer": referrer, "first_month": first, "last_month": last},
    )
    carries = sql_runner.rows(
        con,
        sql_runner.sql_file("queries/referrer_carry_out.sql"),
        {"referrer": referrer, "first_month": first, "last_month": last},
    )
    if not lines:
        raise UsageError(
            f"usage: referrer {referrer!r} has no entry, coupon or carry in {first}..{last} "
            f"in {layout.root}"
        )
    zero = Decimal("0.00")
    coupons = -sum((x["amount_usd"] for x in lines if x["line_kind"] == "coupon"), zero)
    entries = sum((x["amount_usd"] for x in lines if x["referee_account_id"]), zero)
    closing = carries[0]["carry_out_usd"] if carries else zero
    if lines[-1]["balance_usd"] != closing:
        raise ValidationFailure(
            f"{referrer}: the statement ends at {format_usd(lines[-1]['balance_usd'])}, the "
            f"ledger's carry out is {format_usd(closing)}"
        )
    return Statement(referrer, first, last, lines, coupons, entries, closing)


def format_text(found: Statement) -> str:
    out = [
        f"{found.referrer_account_id}: statement {found.first_month}..{found.last_month}",
        f"  entries USD {format_usd(found.entries_usd)}, coupons USD "
        f"{format_usd(found.coupons_usd)}, balance carried out USD "
        f"{format_usd(found.closing_balance_usd)}",
        "",
        f"  {'month':<8} {'date':<10} {'line':<11} {'friend':<16} {'part':<6} "
        f"{'amount':>10} {'balance':>10}",
    ]
    for line in found.lines:
        out.append(
            f"  {line['settlement_month']:<8} {line['line_date']!s:<10} "
            f"{line['line_kind']:<11} {line['referee_account_id'] or '':<16} "
            f"{line['component'] or '':<6} {format_usd(line['amount_usd']):>10} "
            f"{format_usd(line['balance_usd']):>10}"
        )
    return "\n".join(out)


def as_json(found: Statement) -> dict:
    def text(value):
        return format_usd(value) if isinstance(value, Decimal) else value

    return {
        "referrer_account_id": found.referrer_account_id,
        "from": found.first_month,
        "to": found.last_month,
        "entries_usd": format_usd(found.entries_usd),
        "coupons_usd": format_usd(found.coupons_usd),
        "closing_balance_usd": format_usd(found.closing_balance_usd),
        "lines": [
            {k: (str(v) if k == "line_date" else text(v)) for k, v in line.items()}
            for line in found.lines
        ],
    }
