"""Prefect flows of the instrument ledger (vouchers and referral coupons). They only
sequence: the stages are declared once in transforms/pipeline/instruments.py."""

from prefect import flow

from flows.prefect_home import share_tls_context
from flows.run_record import month_tags, record_instruments, send_progress_to_runs
from flows.tasks import as_task, month_by_month, redacted
from transforms.pipeline import instruments
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline

send_progress_to_runs()
share_tls_context()


@flow(name="monthly-instruments", flow_run_name="instruments-{month}", persist_result=False)
def monthly_instruments(month: str, options: RunOptions) -> instruments.InstrumentsOutcome:
    """Apply one month's voucher events and coupon usage, expire, roll forward, publish."""
    logs = OutputLayout(options.out_dir).logs_dir
    outcome = redacted(logs, month, run_pipeline, instruments.PIPELINE, month, options, as_task)
    record_instruments(outcome, options.out_dir)
    return outcome


def run_instruments(month: str, options: RunOptions) -> instruments.InstrumentsOutcome:
    """One instrument month's run, tagged with its month."""
    with month_tags("instruments", month):
        return monthly_instruments(month, options)


@flow(
    name="instruments-range",
    flow_run_name="instruments-{first_month}..{last_month}",
    persist_result=False,
)
def instruments_range(
    first_month: str, last_month: str, options: RunOptions
) -> list[instruments.InstrumentsOutcome]:
    """Run instrument months in order; stop at the first failure."""
    return month_by_month(
        "instruments", first_month, last_month, lambda m: run_instruments(m, options)
    )
