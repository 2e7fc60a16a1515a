"""The settlement pipeline: its stages, declared once (PIPELINE) and run by the Prefect flow,
the tests, the benchmark and the profiler alike.

register inputs -> stage -> compute -> validate -> publish; a month already published takes
`republish` after register inputs. The rules live in sql/ and transforms/; a stage only
says which SQL runs when, and hands the next stage a value.
"""

import dataclasses
from pathlib import Path

from transforms.errors import ValidationFailure
from transforms.pipeline import (
    executors,
    gx_validation,
    preflight,
    report,
    settlement_publish,
    shards,
    sql_runner,
)
from transforms.pipeline.faults import crash_point
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import Pipeline, Stage, run_pipeline
from transforms.pipeline.settlement_inputs import register_inputs
from transforms.pipeline.settlement_publish import PUBLISHED_TABLES, publish, republish
from transforms.pipeline.settlement_run import (
    Outcome,
    RegisteredInputs,
    SettlementRun,
    ValidatedMonth,
    open_run,
)

__all__ = ["PIPELINE", "Outcome", "settle"]

# a relation no later step reads, dropped once its last reader has run. A full month's day
# rows (20M at 100M bill lines) otherwise stayed in the run's memory through validate and
# publish, half of them spilled to disk, and the publish read around them
# (docs/performance.md, target 3). tests/test_settlement_memory.py checks that nothing else
# reads them.
DROPPED_AFTER_LAST_READER = {"int_referee_daily_spend": "int_referee_windows"}


def open_checked(month: str, options: RunOptions) -> SettlementRun:
    """Open the run once OUT is known to take what it will write (exit 6 otherwise): a
    fault named after the commit would leave the month without its batch until a rerun."""
    preflight.settlement_month(OutputLayout(Path(options.out_dir)), month, options)
    return open_run(month, options)


def stage(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The staging models: rename and cast."""
    _run_layer(run, "staging")
    crash_point("after_staging")
    return registered


def compute(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The intermediate and mart models: entitlements, ledger deltas, balances, coupons.
    With a sharding executor the per-referee models (shards.SHARDED_MODELS, from the bill
    lines to the windows) run on the shards, and what the rest reads arrives here as the
    union of their rows."""
    map_tasks = _map_tasks(run)
    if map_tasks is None:
        _run_layer(run, "intermediate")
        carried = _count(run, "int_carried_referees")
    else:
        carried = _run_sharded_layer(run, registered, map_tasks)
    _run_layer(run, "marts")
    return dataclasses.replace(
        registered, carried_referees=carried, referee_count=_count(run, "int_referees")
    )


def _count(run: SettlementRun, relation: str) -> int:
    return run.con.execute(f"select count(*) from {relation}").fetchone()[0]


def _map_tasks(run: SettlementRun):
    options = run.options
    if options.executor == "dask":
        return executors.on_dask(options.dask_address)
    if options.executor == "in-process":
        return executors.in_process
    return None


def _run_layer(run: SettlementRun, layer: str) -> None:
    for model in sql_runner.models_for(PUBLISHED_TABLES):
        if model.path.parent.name == layer:
            _create(run, model)


def _create(run: SettlementRun, model) -> None:
    sql_runner.create(run.con, model, run.parameters, each=_per_scanned_cycle(run, model))
    for relation, last_reader in DROPPED_AFTER_LAST_READER.items():
        if model.name == last_reader:
            run.con.execute(f"drop table if exists {relation}")


def _per_scanned_cycle(run: SettlementRun, model) -> list[dict] | None:
    """A model that aggregates from one scanned cycle to another runs here once per scanned
    cycle (int_scanned_eligible_spend: its hash table then holds one cycle's rows). A shard
    runs it in one pass: its lines are in many small part files per cycle, which each
    extra pass would open again (shard_layout.py)."""
    if not set(sql_runner.EVERY_CYCLE) <= model.parameters:
        return None
    cycles = run.con.execute("select billing_cycle from scanned_cycles order by billing_cycle")
    return [{"from_cycle": cycle, "to_cycle": cycle} for (cycle,) in cycles.fetchall()]


def _run_sharded_layer(run: SettlementRun, registered: RegisteredInputs, map_tasks) -> int:
    """The intermediate models with the sharded ones left to the shards: they run just
    before the first model that reads them, when every model they read exists (model
    order puts a model's inputs before it). Returns the shards' count of carried referees."""
    sharded = set(shards.SHARDED_MODELS)
    carried = None
    for model in sql_runner.models_for(PUBLISHED_TABLES):
        if model.path.parent.name != "intermediate" or model.name in sharded:
            continue
        if carried is None and model.declared_inputs & sharded:
            carried = _shards(run, registered, map_tasks)
        _create(run, model)
    if carried is None:
        carried = _shards(run, registered, map_tasks)
    return carried


def _shards(run: SettlementRun, registered: RegisteredInputs, map_tasks) -> int:
    """The month's sharded work; a local cluster's workers are closed once it is done, so
    that the rest of the month (marts, validate, publish) has the machine's memory."""
    carried = shards.compute_sharded(
        run, registered.scanned_files, registered.record_files, map_tasks
    )
    if run.options.executor == "dask":
        executors.release_local_workers(run.options.dask_address)
    return carried


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
    rendered = settlement_publish.render_computed_files(run)
    coupons_csv = rendered[settlement_publish.COUPONS.name]
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
    return ValidatedMonth(registered, rendered, report_index)


PIPELINE = Pipeline(
    name="settlement",
    open=open_checked,
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
