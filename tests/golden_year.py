"""The sample year as the golden files pin it: where they live, how they are made, and how
to compare them. `make golden` runs this module to write them again, and the README's
sample figures with them (then review the diff).
"""

import json
import re
import shutil
import tempfile
from pathlib import Path

from transforms import months, summary
from transforms.pipeline import instruments, published_files, settlement, settlement_publish
from transforms.pipeline.layout import SETTLEMENT_MARKER
from transforms.pipeline.options import RunOptions

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"
GOLDEN = REPO / "tests" / "golden" / "batches"
FIRST, LAST = "2025-11", "2026-10"
# the batch files compared byte for byte; the manifest is compared without its code version
DATA_FILES = published_files.names(settlement_publish.DATA_FILES)
MANIFEST = SETTLEMENT_MARKER
SAMPLE_MONTHS = months.month_range(FIRST, LAST)


README = REPO / "README.md"
README_MONTH = "2026-03"  # the month whose summary the README shows
_FIGURES = re.compile(
    r"(<!-- sample figures: make golden writes them -->\n```\n)(.*?)(```\n)", re.DOTALL
)


def backfill(out: Path) -> list[settlement.Outcome]:
    """Settle every sample month into `out`, in order, as `make run` does."""
    options = RunOptions(data_dir=SAMPLE, out_dir=out)
    return [settlement.settle(month, options) for month in SAMPLE_MONTHS]


def instrument_year(out: Path) -> list:
    """Run the instrument ledger for every sample month (after the backfill)."""
    options = RunOptions(data_dir=SAMPLE, out_dir=out)
    return [instruments.run_month(month, options) for month in SAMPLE_MONTHS]


def readme_figures(out: Path, settled: list, instrument_months: list) -> str:
    """README_MONTH's lines of `make run`'s summary, as run into `out/` (the lines that vary
    from run to run, its time and the scan, left out)."""
    (settled_month,) = [o for o in settled if o.month == README_MONTH]
    (instrument_month,) = [o for o in instrument_months if o.month == README_MONTH]
    settlement_lines = summary.format_outcome(settled_month).splitlines()[:4]
    instrument_lines = summary.format_instruments([instrument_month], 0).splitlines()[:-1]
    text = "\n".join([*settlement_lines, "...", *instrument_lines]) + "\n"
    return text.replace(f"{out}/", "out/")


def with_readme_figures(readme: str, figures: str) -> str:
    """The README text with its sample-figures block replaced."""
    replaced, found = _FIGURES.subn(lambda m: m[1] + figures + m[3], readme)
    if found != 1:
        raise ValueError(f"{README}: no sample-figures block (its marker comment) to replace")
    return replaced


def comparable_manifest(data: bytes) -> dict:
    # code_version digests the SQL text itself, so it changes with any edit, even a comment
    manifest = json.loads(data)
    manifest.pop("code_version")
    return manifest


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="creditflow-golden-"))
    figures = readme_figures(out, backfill(out), instrument_year(out))
    shutil.rmtree(GOLDEN, ignore_errors=True)
    shutil.copytree(out / "batches", GOLDEN)
    README.write_text(with_readme_figures(README.read_text(), figures))
    shutil.rmtree(out)
    print(f"golden batches rewritten under {GOLDEN}, and the sample figures in {README}")


if __name__ == "__main__":
    main()
