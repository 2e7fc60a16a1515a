"""Prefect flows for the instrument ledger (vouchers and referral coupons), beside the
settlement flows. They only sequence; the rules live in transforms/instrument_lifecycle.py."""

from pathlib import Path

from prefect import flow, task

from flows import instrument_stages
from flows.settlement import TASK_OPTIONS, progress, run_stage
from transforms import months


@task(name="instrument month", **TASK_OPTIONS)
def run_month(
    request: instrument_stages.InstrumentsRequest,
) -> instrument_stages.InstrumentsOutcome:
    return run_stage(instrument_stages.run_month, request)


@flow(name="monthly-instruments", persist_result=False)
def monthly_instruments(
    month: str, data_dir: str, out_dir: str
) -> instrument_stages.InstrumentsOutcome:
    """Apply one month's voucher events and coupon usage, expire, roll forward, publish."""
    progress(f"{month}: instruments")
    return run_month(instrument_stages.InstrumentsRequest(month, Path(data_dir), Path(out_dir)))


@flow(name="instruments-range", persist_result=False)
def instruments_range(
    first_month: str, last_month: str, data_dir: str, out_dir: str
) -> list[instrument_stages.InstrumentsOutcome]:
    """Run instrument months in order; stop at the first failure."""
    return [
        monthly_instruments(month, data_dir, out_dir)
        for month in months.month_range(first_month, last_month)
    ]
