"""The month report's edge: gather the month's facts from the warehouse, the validation
record and the quarantine, and write OUT/reports/M/index.html (transforms/month_report.py
renders it). Written when the validation fails (the checks only) and after each publish of
the month (settlement or instruments), so it always shows what is published."""

import json
from pathlib import Path

from transforms.month_report import render
from transforms.pipeline import sql_runner, warehouse
from transforms.pipeline.files import atomic_write
from transforms.pipeline.layout import OutputLayout


def write(con, layout: OutputLayout, month: str, cutoff_date, invariant_failures=()) -> Path:
    folder = layout.report_dir(month)
    folder.mkdir(parents=True, exist_ok=True)
    facts = gather(con, layout, month, cutoff_date, list(invariant_failures))
    index = folder / "index.html"
    atomic_write(index, render(facts).encode(), mode=0o644)
    return index


def refresh_if_settled(con, layout: OutputLayout, month: str, cutoff_date) -> None:
    """After an instrument month: the month report gains its instrument bridge (only for a
    month this OUT settled)."""
    if month in warehouse.published_months(con):
        write(con, layout, month, cutoff_date)


def gather(con, layout: OutputLayout, month: str, cutoff_date, invariant_failures) -> dict:
    parameters = {"settlement_month": month, "cutoff_date": cutoff_date}
    facts: dict = {"month": month, "invariant_failures": invariant_failures}
    validation = layout.report_dir(month) / "validation.json"
    facts["validation"] = json.loads(validation.read_text()) if validation.is_file() else None
    facts["quarantine"] = []
    for quarantine in (layout.quarantine_file(month), layout.instrument_quarantine_file(month)):
        if quarantine.is_file():
            file = sql_runner.sql_file("queries/export_quarantine_counts.sql")
            facts["quarantine"] += sql_runner.query(
                con, file, {"quarantine_file": str(quarantine)}
            ).fetchall()
    facts["settlement"] = warehouse.month_record(con, "settlements", "settlement_month", month)
    if facts["settlement"] is None:
        return facts
    # every month's liability, read once: the month's row, and the trend's cutoffs
    liability = sql_runner.sql_file("queries/liability_by_month.sql").body
    by_month = {
        row["settlement_month"]: row
        for row in warehouse.fetch_dicts(con, f"select * from ({liability})")
    }
    facts["liability"] = by_month.get(month)
    # the last twelve months: the liability at each cutoff and the month's cost
    owed = {settled: row["program_liability_usd"] for settled, row in by_month.items()}
    cost = sql_runner.rows(con, sql_runner.sql_file("queries/report_monthly_cost.sql"), parameters)
    facts["trend"] = [
        (row["settlement_month"], owed.get(row["settlement_month"]), row["cost_usd"])
        for row in cost[-12:]
    ]
    facts["rollforward"] = warehouse.fetch_dicts(
        con,
        "select * from warehouse.instrument_rollforward where instrument_month = $m "
        "order by instrument_kind",
        {"m": month},
    )
    bands = sql_runner.sql_file("queries/report_coupon_bands.sql")
    facts["coupon_bands"] = sql_runner.query(con, bands, parameters).fetchall()
    hold = sql_runner.sql_file("queries/report_hold_pipeline.sql")
    facts["hold_pipeline"] = sql_runner.query(con, hold, parameters).fetchall()
    reasons = sql_runner.sql_file("queries/reason_counts.sql")
    facts["reasons"] = sorted(
        sql_runner.query(con, reasons, parameters).fetchall(), key=lambda r: (-r[1], r[0])
    )
    return facts
