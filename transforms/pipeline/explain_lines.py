"""The bill lines behind an explanation: read again from the data directory recorded with
the month, through the settlement's own input checks and staging models (a full recompute
into a private scratch directory, never into OUT), once the directory is known to hold
exactly what the month saw: its input fingerprint must equal the published one. Which line
counts where is sql/queries/explain_bill_lines.sql.
"""

import tempfile
from datetime import date, timedelta
from pathlib import Path

from transforms.coupon_codes import key_from_environment
from transforms.errors import InputError, UsageError
from transforms.pipeline import sql_runner, warehouse
from transforms.pipeline.explanation import BillLine, RefereeExplanation
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.settlement_inputs import register_inputs
from transforms.pipeline.settlement_run import SettlementRun
from transforms.rules import Rules

BILL_LINES = sql_runner.sql_file("queries/explain_bill_lines.sql")
# the models the bill-line query reads, and what they need (staging, the accepted lines)
LINE_MODELS = ("int_accepted_billing_lines", "stg_eligible_products")
# every input row is shown as the settlement saw it: rejected rows are left out, as they
# were when the month was settled, whatever --max-rejected that run was given
ACCEPT_ANY_REJECTED = 10**12


def bill_lines(
    record: dict, rules: Rules, month: str, referees: list, data_dir: Path | None
) -> dict[str, list[BillLine]]:
    """The bill lines of the referees' winning listings up to the month, per referee: those
    the settlement of the month counted, and those it did not (`excluded_by` set)."""
    data = Path(data_dir) if data_dir else _recorded(record, "data_dir", "--data")
    products = Path(record.get("eligible_products_file") or "")
    if not products.is_file():
        raise InputError(
            f"{products}: the eligible products file {month} was settled with is not there"
        )
    dates = rules.month_dates(month)
    with tempfile.TemporaryDirectory(prefix="creditflow-explain-") as scratch:
        options = RunOptions(
            data_dir=data,
            out_dir=Path(scratch),
            eligible_products=products,
            incremental=False,
            max_rejected=ACCEPT_ANY_REJECTED,
            accept_shrunk_inputs=True,  # the month was settled on them as they are
        )
        layout = OutputLayout(Path(scratch))
        con = warehouse.connect(layout, read_only=False, readable=(data, products))
        run = SettlementRun(
            month=month,
            options=options,
            layout=layout,
            parameters=rules.sql_parameters(dates),
            con=con,
            dates=dates,
            rules=rules,
            key=key_from_environment(),
        )
        try:
            registered = register_inputs(run)
            # what the lines are read from must be what the month saw: its billing files
            # and eligible products (lines_fingerprint); the snapshots may have moved on,
            # the decisions taken on them are stored. A month published before that digest
            # was recorded is held to its whole input fingerprint.
            seen, published = (
                (registered.lines_fingerprint, record["lines_fingerprint"])
                if record.get("lines_fingerprint")
                else (registered.fingerprint, record["input_fingerprint"])
            )
            if seen != published:
                raise InputError(
                    f"{data}: no longer holds the billing files {month} was settled on "
                    f"(fingerprint {seen[:12]}, published {published[:12]}); pass --data "
                    "with the month's inputs"
                )
            for model in sql_runner.models_for(LINE_MODELS):
                sql_runner.create(con, model, run.parameters)
            sql_runner.script(con, sql_runner.sql_file("control/explain_referees.sql"))
            con.executemany(
                "insert into explain_referees values (?, ?, ?, ?, ?)",
                [_windows(r, rules, dates.cutoff_date) for r in referees],
            )
            found = sql_runner.rows(con, BILL_LINES)
        finally:
            run.close()
    lines: dict[str, list[BillLine]] = {}
    for row in found:
        lines.setdefault(row["referee_account_id"], []).append(
            BillLine(
                record_id=row["record_id"],
                billing_date=row["billing_date"],
                effective_date=row["effective_date"],
                product_code=row["product_code"],
                subscription_type=row["subscription_type"],
                cash_usd=row["cash_amount_usd"],
                original_record_id=row["original_record_id"],
                counts_in=tuple(
                    w for w in ("bonus_window", "qualification_window") if row[f"counts_in_{w}"]
                ),
                excluded_by=row["excluded_by"],
            )
        )
    return lines


def _windows(referee: RefereeExplanation, rules: Rules, cutoff: date) -> tuple:
    """The winning listing's windows, as int_referees derives them."""
    registered = referee.registered_date
    window_end = registered + timedelta(days=rules.qualification_window_days - 1)
    finality = window_end + timedelta(days=rules.hold_days)
    return (
        referee.referee_account_id,
        registered,
        window_end,
        registered + timedelta(days=rules.bonus_window_days - 1),
        min(finality, cutoff),
    )


def _recorded(record: dict, column: str, option: str) -> Path:
    value = record.get(column)
    if not value:
        raise UsageError(
            f"usage: {record['settlement_month']} was published before its data directory "
            f"was recorded: pass {option}"
        )
    path = Path(value)
    if not path.is_dir():
        raise InputError(
            f"{path}: the data directory {record['settlement_month']} was settled on is not "
            f"there; pass {option} with the month's inputs"
        )
    return path
