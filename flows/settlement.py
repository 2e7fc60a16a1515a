"""Prefect flows: the monthly settlement and the backfill. They only sequence tasks;
the rules live in sql/ and transforms/, the stage bodies in flows/stages.py.

Flow parameters are plain strings (month, paths, switches). Task results are never
persisted (they hold account data), inputs are not cached, and no coupon code passes
through a parameter, a result or a log.
"""

import sys
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import stages
from flows.errors import CreditflowError, StageFailed
from transforms import months
from transforms.rules import DEFAULT_ELIGIBLE_PRODUCTS_PATH

TASK_OPTIONS = {"cache_policy": NO_CACHE, "persist_result": False}


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the summary)."""
    print(f"creditflow: {message}", file=sys.stderr, flush=True)


def run_stage(stage_function, argument):
    try:
        return stage_function(argument)
    except CreditflowError as error:
        # An expected failure needs no traceback: dropping it (and its cause) releases the
        # DuckDB connection its frames hold, since Prefect keeps failed states until exit.
        # It leaves Prefect redacted (StageFailed), because Prefect persists the exception.
        raise StageFailed(error.with_traceback(None)) from None


@task(name="register inputs", **TASK_OPTIONS)
def register_inputs(session: stages.Session) -> None:
    run_stage(stages.register_inputs, session)


@task(name="stage", **TASK_OPTIONS)
def stage(session: stages.Session) -> None:
    run_stage(stages.stage, session)


@task(name="compute", **TASK_OPTIONS)
def compute(session: stages.Session) -> None:
    run_stage(stages.compute, session)


@task(name="validate invariants", **TASK_OPTIONS)
def validate(session: stages.Session) -> None:
    run_stage(stages.validate, session)


@task(name="publish", **TASK_OPTIONS)
def publish(session: stages.Session) -> stages.Outcome:
    return run_stage(stages.publish, session)


def _request(
    month, data_dir, out_dir, eligible_products, config, dry_run, max_rejected, incremental
) -> stages.SettlementRequest:
    return stages.SettlementRequest(
        month=month,
        data_dir=Path(data_dir),
        out_dir=Path(out_dir),
        eligible_products=Path(eligible_products)
        if eligible_products
        else DEFAULT_ELIGIBLE_PRODUCTS_PATH,
        rules_path=Path(config) if config else None,
        dry_run=dry_run,
        max_rejected=max_rejected,
        incremental=incremental,
    )


@flow(name="monthly-settlement", persist_result=False)
def monthly_settlement(
    month: str,
    data_dir: str,
    out_dir: str,
    eligible_products: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    max_rejected: int = 0,
    incremental: bool = True,
) -> stages.Outcome:
    """Settle one month: register inputs, stage, compute, validate invariants, publish."""
    request = _request(
        month, data_dir, out_dir, eligible_products, config, dry_run, max_rejected, incremental
    )
    session = run_stage(stages.open_session, request)
    try:
        for name, step in (
            ("register inputs", register_inputs),
            ("stage", stage),
            ("compute", compute),
            ("validate invariants", validate),
            ("publish", publish),
        ):
            progress(f"{month}: {name}")
            result = step(session)
        return result
    finally:
        session.close()


@flow(name="backfill", persist_result=False)
def backfill(
    first_month: str,
    last_month: str,
    data_dir: str,
    out_dir: str,
    eligible_products: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    max_rejected: int = 0,
    incremental: bool = True,
) -> list[stages.Outcome]:
    """Settle every month from first to last in order; stop at the first failure."""
    selected = months.month_range(first_month, last_month)
    outcomes = []
    for number, month in enumerate(selected, start=1):
        progress(f"backfill month {number}/{len(selected)}")
        outcomes.append(
            monthly_settlement(
                month,
                data_dir,
                out_dir,
                eligible_products,
                config,
                dry_run,
                max_rejected,
                incremental,
            )
        )
    return outcomes
