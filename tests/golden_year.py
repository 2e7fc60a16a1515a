"""The sample year as the golden files pin it: where they live, how they are made, and how
to compare them. `make golden` runs this module to write them again (then review the diff).
"""

import json
import shutil
import tempfile
from pathlib import Path

from transforms import months
from transforms.pipeline import instruments, settlement
from transforms.pipeline.options import RunOptions

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
GOLDEN = REPO / "tests" / "golden" / "batches"
FIRST, LAST = "2025-11", "2026-10"
SAMPLE_MONTHS = months.month_range(FIRST, LAST)


def backfill(out: Path) -> None:
    """Settle every sample month into `out`, in order, as `make run` does."""
    options = RunOptions(data_dir=SAMPLE, out_dir=out)
    for month in SAMPLE_MONTHS:
        settlement.settle(month, options)


def instrument_year(out: Path) -> None:
    """Run the instrument ledger for every sample month (after the backfill)."""
    options = RunOptions(data_dir=SAMPLE, out_dir=out)
    for month in SAMPLE_MONTHS:
        instruments.run_month(month, options)


def comparable_manifest(data: bytes) -> dict:
    # code_version digests the SQL text itself, so it changes with any edit, even a comment
    manifest = json.loads(data)
    manifest.pop("code_version")
    return manifest


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="creditflow-golden-"))
    backfill(out)
    shutil.rmtree(GOLDEN, ignore_errors=True)
    shutil.copytree(out / "batches", GOLDEN)
    print(f"golden batches rewritten under {GOLDEN}")


if __name__ == "__main__":
    main()
