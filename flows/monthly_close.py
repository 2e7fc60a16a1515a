"""The scheduled monthly job: the deployment `creditflow-monthly` that `creditflow serve`
registers (docs/operations.md#production-setup).

On the 4th at 06:00 UTC, after the provider's final bills of the 3rd, it settles the
previous month and then runs the instrument ledger for it, with the data, out and config
directories given to `serve`. A failed month alerts the `notify_url` webhook and fails the
Prefect run; the next month's run stops at the gap until the failed month is rerun.
"""

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow

from flows.alerts import alert_message, notify
from flows.dask_cluster import on_scheduler
from flows.instruments import run_instruments
from flows.settlement import settle
from transforms import months
from transforms.coupon_codes import key_for_run
from transforms.errors import CreditflowError, StageFailed, UsageError
from transforms.pipeline.options import RunOptions
from transforms.summary import DEVELOPMENT_KEY_WARNING, progress

DEPLOYMENT_NAME = "creditflow-monthly"
# the 4th at 06:00 UTC: the provider's final bills arrive on the 3rd
SCHEDULE_CRON = "0 6 4 * *"
SCHEDULE_TIMEZONE = "UTC"


def month_of_run(month: str) -> str:
    """The month a run settles. "previous" is the month before the run's *scheduled* day
    (UTC), so a scheduled run that starts late still settles the month it was meant for."""
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    day = scheduled.astimezone(UTC).date() if scheduled else datetime.now(UTC).date()
    return months.resolve_month(month, day)


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"monthly-{month_of_run(flow_run.parameters.get('month', 'previous'))}"


@flow(name=DEPLOYMENT_NAME, flow_run_name=_run_name, persist_result=False)
def monthly_close(
    data_dir: str,
    out_dir: str,
    month: str = "previous",
    config: str | None = None,
    eligible_products: str | None = None,
    max_rejected: int = 0,
    notify_url: str | None = None,
    dask_address: str | None = None,
    dask_shards: int | None = None,
) -> dict:
    """Settle the month (default: the previous one), then run its instrument ledger."""
    settled_month = month
    try:
        settled_month = month_of_run(month)
        options = _options(data_dir, out_dir, config, eligible_products, max_rejected)
        # the settlement's per-referee work on the cluster (the ledger is small)
        on_cluster = on_scheduler(options, dask_address, dask_shards) if dask_address else options
        settled = settle(settled_month, on_cluster)
        ledger = run_instruments(settled_month, options)
    except (CreditflowError, StageFailed, ValueError) as raised:
        error = raised.error if isinstance(raised, StageFailed) else raised
        progress(f"error: {error}")
        if notify_url:
            code = getattr(error, "exit_code", UsageError.exit_code)
            notify(notify_url, alert_message("monthly", settled_month, code, str(error), out_dir))
        if isinstance(raised, StageFailed):
            raise
        raise StageFailed(
            error if isinstance(error, CreditflowError) else UsageError(str(error)), settled_month
        ) from None
    return {
        "month": settled_month,
        "settlement": settled.action,
        "coupons": settled.coupon_count,
        "coupon_total_usd": str(settled.coupon_total_usd),
        "instruments": ledger.action,
        "instrument_events": ledger.event_count,
    }


def _options(data_dir, out_dir, config, eligible_products, max_rejected) -> RunOptions:
    key = key_for_run()
    if key.is_development:
        progress(DEVELOPMENT_KEY_WARNING)
    given = {
        "data_dir": Path(data_dir),
        "out_dir": Path(out_dir),
        "config": Path(config) if config else None,
        "eligible_products": Path(eligible_products) if eligible_products else None,
        "max_rejected": max_rejected,
    }
    return RunOptions(**{name: value for name, value in given.items() if value is not None})


def deployment(parameters: dict):
    """The deployment `serve` registers: this flow, the monthly schedule, the parameters."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    return monthly_close.to_deployment(
        name=DEPLOYMENT_NAME,
        schedule=Cron(SCHEDULE_CRON, timezone=SCHEDULE_TIMEZONE),
        parameters=parameters,
        description=__doc__.splitlines()[0],
        tags=["creditflow"],
        # loaded by module name in the run's process: works from any working directory
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
