"""The settlement pipeline: its stages, declared once (PIPELINE) and run by the Prefect flow,
the tests, the benchmark and the profiler alike.

register inputs -> stage -> compute -> validate -> publish; a month already published takes
`republish` after register inputs. The rules live in sql/ and transforms/; a stage only
says which SQL runs when, and hands the next stage a value.
"""

from transforms.batch_file import render_coupons_csv
from transforms.errors import ValidationFailure
from transforms.pipeline import executors, gx_validation, report, shards, sql_runner
from transforms.pipeline.faults import crash_point
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import Pipeline, Stage, run_pipeline
from transforms.pipeline.settlement_inputs import register_inputs
from transforms.pipeline.settlement_publish import (
    PUBLISHED_TABLES,
    coupon_rows,
    publish,
    republish,
)
from transforms.pipeline.settlement_run import (
    Outcome,
    RegisteredInputs,
    SettlementRun,
    ValidatedMonth,
    open_run,
)

__all__ = ["PIPELINE", "Outcome", "settle"]


def stage(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The staging models: rename and cast."""
    _run_layer(run, "staging")
    crash_point("after_staging")
    return registered


def compute(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The intermediate and mart models: entitlements, ledger deltas, balances, coupons.
    With a sharding executor the bill-line scans (shards.SHARDED_MODELS) run on the shards
    and arrive here as the union of their rows."""
    sharded = _map_tasks(run)
    _run_layer(run, "intermediate", registered if sharded else None, sharded)
    _run_layer(run, "marts")
    return registered


def _map_tasks(run: SettlementRun):
    options = run.options
    if options.executor == "dask":
        return executors.on_dask(options.dask_address)
    if options.executor == "in-process":
        return executors.in_process
    return None


def _run_layer(run: SettlementRun, layer: str, registered=None, map_tasks=None) -> None:
    sharded_done = False
    for model in sql_runner.models_for(PUBLISHED_TABLES):
        if model.path.parent.name != layer:
            continue
        if map_tasks and model.name in shards.SHARDED_MODELS:
            # the sharded models read the same inputs, which exist by now (model order)
            if not sharded_done:
                shards.compute_scanned(run, registered.scanned_files, map_tasks)
                sharded_done = True
            continue
        sql_runner.create(run.con, model, run.parameters)


def validate(run: SettlementRun, registered: RegisteredInputs) -> ValidatedMonth:
    """Audit the computed month before publishing: the SQL invariants over the relations
    (sql/audits/outputs/) and the Great Expectations suite over the rendered coupon file
    (expectations/). Any failure blocks publishing."""
    failures = []
    for audit in sql_runner.folder("audits/outputs"):
        found = sql_runner.rows(run.con, audit, run.parameters)
        if found:
            examples = "; ".join(str(row) for row in found[:3])
            failures.append(f"invariant {audit.name} broken by {len(found)} row(s): {examples}")
    coupons_csv = render_coupons_csv(coupon_rows(run, "coupons"), run.key)
    report_dir = run.layout.report_dir(run.month)
    failures += [
        failure.describe()
        for failure in gx_validation.validate_coupon_file(coupons_csv, run.rules, report_dir)
    ]
    report_index = report_dir / "index.html"
    if failures:
        report.write(run.con, run.layout, run.month, run.dates.cutoff_date, failures)
        raise ValidationFailure(
            f"{run.month}: nothing published; "
            + " | ".join(failures)
            + f" (report: {report_index})"
        )
    return ValidatedMonth(registered, coupons_csv, report_index)


PIPELINE = Pipeline(
    name="settlement",
    open=open_run,
    stages=(
        Stage("register inputs", register_inputs, "checking and fingerprinting the input files"),
        Stage("stage", stage, "reading the inputs"),
        Stage("compute", compute, "windows, entitlements, ledger deltas, coupons"),
        Stage("validate invariants", validate, "SQL invariants and the coupon file's checks"),
        Stage("publish", publish, "one ledger transaction, then the batch files"),
    ),
    republish=Stage("republish", republish, "rendering the published files again"),
)


def settle(month: str, options: RunOptions) -> Outcome:
    """Every stage in order without Prefect (tests, benchmarks); the flow runs the same list."""
    return run_pipeline(PIPELINE, month, options)
