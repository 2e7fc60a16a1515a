"""Prefect flows of the instrument ledger (vouchers and referral coupons). They only
sequence: the stages are declared once in transforms/pipeline/instruments.py."""

from prefect import flow

from flows.tasks import as_task, redacted
from transforms import months
from transforms.pipeline import instruments
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline


@flow(name="monthly-instruments", persist_result=False)
def monthly_instruments(month: str, options: RunOptions) -> instruments.InstrumentsOutcome:
    """Apply one month's voucher events and coupon usage, expire, roll forward, publish."""
    logs = OutputLayout(options.out_dir).logs_dir
    return redacted(logs, run_pipeline, instruments.PIPELINE, month, options, as_task)


@flow(name="instruments-range", persist_result=False)
def instruments_range(
    first_month: str, last_month: str, options: RunOptions
) -> list[instruments.InstrumentsOutcome]:
    """Run instrument months in order; stop at the first failure."""
    return [
        monthly_instruments(month, options) for month in months.month_range(first_month, last_month)
    ]
