"""Prefect flows of the settlement: one month, and a backfill of several. They only sequence:
the stages are declared once in transforms/pipeline/settlement.py."""

from prefect import flow

from flows.prefect_home import share_tls_context
from flows.run_record import month_tags, record_settlement, send_progress_to_runs
from flows.tasks import as_task, month_by_month, redacted
from transforms.pipeline import settlement
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline

send_progress_to_runs()
share_tls_context()


@flow(name="monthly-settlement", flow_run_name="settle-{month}", persist_result=False)
def monthly_settlement(month: str, options: RunOptions) -> settlement.Outcome:
    """Settle one month: register inputs, stage, compute, validate invariants, publish."""
    logs = OutputLayout(options.out_dir).logs_dir
    outcome = redacted(logs, month, run_pipeline, settlement.PIPELINE, month, options, as_task)
    record_settlement(outcome, options.out_dir)
    return outcome


def settle(month: str, options: RunOptions) -> settlement.Outcome:
    """One month's settlement run, tagged with its month."""
    with month_tags("settlement", month):
        return monthly_settlement(month, options)


@flow(name="backfill", flow_run_name="backfill-{first_month}..{last_month}", persist_result=False)
def backfill(first_month: str, last_month: str, options: RunOptions) -> list[settlement.Outcome]:
    """Settle every month from first to last in order; stop at the first failure."""
    return month_by_month("backfill", first_month, last_month, lambda m: settle(m, options))
