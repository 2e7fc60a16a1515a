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

from flows import stages
from transforms import sql_models

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--full-recompute", action="store_true")
    args = parser.parse_args()
    # every SQL model and output audit by name, and the other steps of the stages
    stages.run_model = timed(lambda con, model, parameters: f"model {model.name}", stages.run_model)
    stages.run_audit = timed(
        lambda con, path, parameters: f"audit {path.stem}", sql_models.run_audit
    )
    for module, names in (
        (stages, ("build_raw_relations", "run_input_audits", "cycles_to_scan")),
        (stages.io, ("cycle_fingerprints", "input_fingerprint", "write_quarantine")),
        (stages.output_validation, ("build_frames", "validate")),
        (stages, ("_staged_coupons_csv", "write_batch_files", "_outcome")),
        (stages.warehouse, ("publish",)),
    ):
        for name in names:
            setattr(module, name, timed(f"{module.__name__}.{name}", getattr(module, name)))
    request = stages.SettlementRequest(
        month=args.month,
        data_dir=args.data,
        out_dir=args.out,
        incremental=not args.full_recompute,
    )
    stage_names = ("register_inputs", "stage", "compute", "validate", "publish")
    for name in stage_names:
        setattr(stages, name, timed(f"stage {name}", getattr(stages, name)))
    stages.settle(request)  # the stages in order, as the flow runs them
    print("| stage | s |\n|---|---:|")
    print("\n".join(f"| {name} | {spent.pop(f'stage {name}'):.2f} |" for name in stage_names))
    print("\n| step | s |\n|---|---:|")
    print("\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in spent.most_common()))


if __name__ == "__main__":
    main()
