"""The scheduled monthly job: the deployment `creditflow-monthly` that `creditflow serve`
registers (docs/operations.md#production-setup).

On the 4th at 06:00 UTC, after the provider's final bills of the 3rd, it settles the
previous month and then runs the instrument ledger for it, with the data, out and config
directories given to `serve`. A failed month alerts the `notify_url` webhook and fails the
Prefect run; the next month's run stops at the gap until the failed month is rerun.
"""

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow

from flows.alerts import alert_message, notify
from flows.dask_cluster import on_scheduler
from flows.instruments import run_instruments
from flows.prefect_home import without_heartbeats
from flows.run_record import tag_this_run
from flows.schedule import (
    DEPLOYMENT_NAME,
    EXPORT_GIVE_UP_AFTER_HOURS,
    EXPORT_RETRY_EVERY_HOURS,
    SCHEDULE_CRON,
    SCHEDULE_TIMEZONE,
)
from flows.settlement import settle
from transforms import months
from transforms.coupon_codes import key_for_run
from transforms.errors import (
    CreditflowError,
    ExportNeverDelivered,
    ExportNotDelivered,
    StageFailed,
    UsageError,
)
from transforms.pipeline import inputs
from transforms.pipeline.options import RunOptions
from transforms.summary import DEVELOPMENT_KEY_WARNING, progress


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


def wait_for_billing_export(
    data_dir: Path,
    month: str,
    retry_every_hours: float,
    give_up_after_hours: float,
    on_wait: Callable[[ExportNotDelivered, int, int, datetime], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Wait until the month's billing cycle is delivered; return the try that found it.

    Tried now and then every `retry_every_hours` until `give_up_after_hours` have passed;
    before each wait, `on_wait(missing, try, tries, next try at)` tells the operator. The
    last miss raises ExportNeverDelivered (exit 3)."""
    tries = 1 + (int(give_up_after_hours / retry_every_hours) if retry_every_hours > 0 else 0)
    for attempt in range(1, tries + 1):
        try:
            inputs.billing_cycles(inputs.require_data_dir(data_dir), month)
            return attempt
        except ExportNotDelivered as missing:
            if attempt == tries:
                raise ExportNeverDelivered(
                    f"{missing}; gave up waiting for it after {give_up_after_hours:g} h "
                    f"({tries} tries, every {retry_every_hours:g} h): settle {month} by hand "
                    "once it is delivered (docs/operations.md#a-late-billing-export)",
                    where=missing.where,
                ) from None
            next_try = datetime.now(UTC) + timedelta(hours=retry_every_hours)
            on_wait(missing, attempt, tries, next_try)
            sleep(retry_every_hours * 3600)
    raise AssertionError("unreachable")


@flow(name=DEPLOYMENT_NAME, flow_run_name=_run_name, persist_result=False)
def monthly_close(
    data_dir: str,
    out_dir: str,
    month: str = "previous",
    config: str | None = None,
    eligible_products: str | None = None,
    max_rejected: int = 0,
    notify_env: str | None = None,
    dask_address: str | None = None,
    dask_shards: int | None = None,
    export_retry_every_hours: float = EXPORT_RETRY_EVERY_HOURS,
    export_give_up_after_hours: float = EXPORT_GIVE_UP_AFTER_HOURS,
) -> dict:
    """Settle the month (default: the previous one), then run its instrument ledger.

    notify_env names the environment variable of `creditflow serve` that holds the alert
    webhook's URL (never the URL itself: parameters are shown in the UI and the API)."""
    settled_month = month
    webhook = os.environ.get(notify_env) if notify_env else None

    def alert(exit_code, reason, **details):
        if webhook:
            notify(
                webhook,
                alert_message("monthly", settled_month, exit_code, reason, out_dir, **details),
            )

    def waiting(missing, attempt, tries, next_try):
        reason = (
            f"{missing}; waiting for the export: try {attempt} of {tries}, the next at "
            f"{next_try:%Y-%m-%d %H:%M} UTC"
        )
        progress(f"{settled_month}: {reason}", logging.WARNING)
        alert(
            None,
            reason,
            outcome="waiting for the billing export",
            severity="warning",
            where=missing.where,
        )

    try:
        settled_month = month_of_run(month)
        tag_this_run("monthly", settled_month)
        options = _options(data_dir, out_dir, config, eligible_products, max_rejected)
        wait_for_billing_export(
            options.data_dir,
            settled_month,
            export_retry_every_hours,
            export_give_up_after_hours,
            waiting,
        )
        # the settlement's per-referee work on the cluster (the ledger is small)
        on_cluster = on_scheduler(options, dask_address, dask_shards) if dask_address else options
        with without_heartbeats():  # the subflows': this run keeps its own
            settled = settle(settled_month, on_cluster)
            ledger = run_instruments(settled_month, options)
    except (CreditflowError, StageFailed, ValueError) as raised:
        error = raised.error if isinstance(raised, StageFailed) else raised
        progress(f"error: {error}", logging.ERROR)
        code = getattr(error, "exit_code", UsageError.exit_code)
        gave_up = isinstance(error, ExportNeverDelivered)
        alert(
            code,
            str(error),
            where=getattr(error, "where", None),
            severity="critical" if gave_up else "error",
        )
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
        progress(DEVELOPMENT_KEY_WARNING, logging.WARNING)
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
