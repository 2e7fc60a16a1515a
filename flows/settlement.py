"""Prefect flows of the settlement: one month, and a backfill of several. They only sequence:
the stages are declared once in transforms/pipeline/settlement.py."""

from prefect import flow

from flows.tasks import as_task, redacted
from transforms import months
from transforms.pipeline import settlement
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline
from transforms.summary import progress


@flow(name="monthly-settlement", persist_result=False)
def monthly_settlement(month: str, options: RunOptions) -> settlement.Outcome:
    """Settle one month: register inputs, stage, compute, validate invariants, publish."""
    logs = OutputLayout(options.out_dir).logs_dir
    return redacted(logs, run_pipeline, settlement.PIPELINE, month, options, as_task)


@flow(name="backfill", persist_result=False)
def backfill(first_month: str, last_month: str, options: RunOptions) -> list[settlement.Outcome]:
    """Settle every month from first to last in order; stop at the first failure."""
    selected = months.month_range(first_month, last_month)
    outcomes = []
    for number, month in enumerate(selected, start=1):
        progress(f"backfill month {number}/{len(selected)}")
        outcomes.append(monthly_settlement(month, options))
    return outcomes
