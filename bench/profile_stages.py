"""Where a settlement's time goes: settle one month through the stages (no Prefect) and
print the wall seconds of every SQL model, raw relation and audit, slowest first.
A profiling aid for the benchmark, not a test.

    .venv/bin/python bench/profile_stages.py --month 2026-01 \\
        --data bench/data/100_000_000 --out /tmp/profile-out

Settle the previous month into the same --out first to profile an incremental month.
"""

import argparse
import time
from collections import Counter
from pathlib import Path

from transforms import summary
from transforms.pipeline import (
    catalog,
    gx_validation,
    input_fingerprints,
    inputs,
    report,
    settlement,
    settlement_inputs,
    settlement_publish,
    sql_runner,
    warehouse,
)
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline

spent = Counter()


def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            label = name(*args) if callable(name) else name
            spent[label] += time.perf_counter() - started

    return wrapper


def timed_stage(stage, run, previous):
    """Run one stage of settlement.PIPELINE (the list the flow runs), timing it."""
    return timed(f"stage {stage.name}", stage)(run, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--full-recompute", action="store_true")
    args = parser.parse_args()
    # every SQL file by name (models, audits, queries), and the other steps of the stages
    sql_runner.create = timed(lambda con, model, *_, **__: f"model {model.name}", sql_runner.create)
    sql_runner.rows = timed(lambda con, file, *_: f"{file.kind} {file.name}", sql_runner.rows)
    sql_runner.script = timed(lambda con, file, *_: f"script {file.name}", sql_runner.script)
    sql_runner.insert_into = timed(
        lambda con, table, file, *_, **__: f"{file.kind} {file.name} (into {table})",
        sql_runner.insert_into,
    )
    for module, names in (
        (settlement_inputs, ("cycles_to_scan",)),
        (settlement_publish, ("write_batch_files", "_published_outcome")),
        (catalog, ("refresh_after_publishing",)),
        (report, ("write",)),
        (input_fingerprints, ("cycle_fingerprints", "month_fingerprint")),
        (inputs, ("run_audits", "register")),
        (gx_validation, ("validate_coupon_file",)),
        (warehouse, ("append", "connect")),
    ):
        for name in names:
            setattr(module, name, timed(f"{module.__name__}.{name}", getattr(module, name)))
    options = RunOptions(data_dir=args.data, out_dir=args.out, incremental=not args.full_recompute)
    outcome = run_pipeline(settlement.PIPELINE, args.month, options, call=timed_stage)
    print(summary.format_outcome(outcome), end="\n\n")  # what it scanned and carried
    stage_names = [s.name for s in settlement.PIPELINE.stages]
    print("| stage | s |\n|---|---:|")
    print("\n".join(f"| {name} | {spent.pop(f'stage {name}', 0):.2f} |" for name in stage_names))
    print("\n| step | s |\n|---|---:|")
    print("\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in spent.most_common()))


if __name__ == "__main__":
    main()
