"""Where everything lives under OUT: the one object that builds output paths."""

import re
from dataclasses import dataclass
from pathlib import Path

# the file written last into a published month's folder: its presence marks the month
# published (the last of settlement_publish.BATCH_FILES and instruments_publish.INSTRUMENT_FILES)
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
SETTLEMENT_MARKER = "manifest.json"
INSTRUMENT_MARKER = "rollforward.csv"
# the batch files people are pointed to (the run summary names them; declared with the
# others in settlement_publish.BATCH_FILES)
COUPONS_FILE, WELCOME_FILE = "coupons.csv", "welcome.csv"


@dataclass(frozen=True)
class OutputLayout:
    root: Path

    @property
    def warehouse(self) -> Path:
        """The ledger: private to runs (one writer); analysts read the catalog."""
        return self.root / "warehouse.duckdb"

    @property
    def duckdb_temp(self) -> Path:
        """DuckDB's spill space for a run larger than its memory limit."""
        return self.root / ".duckdb_tmp"

    @property
    def logs_dir(self) -> Path:
        """Tracebacks of internal errors (exit 7), one file per failure."""
        return self.root / "logs"

    @property
    def catalog(self) -> Path:
        """The analysts' catalog: views over catalog/, replaced whole after each publish.
        Open it read-only at any time (docs/outputs.md)."""
        return self.root / "catalog.duckdb"

    @property
    def catalog_dir(self) -> Path:
        """Parquet snapshots of the published tables, one immutable file per table and month."""
        return self.root / "catalog"

    def batch_dir(self, month: str) -> Path:
        """A published month's batch, owner-only: the files settlement_publish.BATCH_FILES declares."""
        return self.root / "batches" / month

    def preview_dir(self, month: str) -> Path:
        """What --dry-run would publish."""
        return self.root / "previews" / month

    def quarantine_file(self, month: str) -> Path:
        """The input rows a run rejected, with file, row and rule."""
        return self.root / "quarantine" / month / "rejected_rows.parquet"

    def instrument_quarantine_file(self, month: str) -> Path:
        """The instrument input rows (catalog, events, usage) a run rejected."""
        return self.root / "quarantine" / month / "instrument_rejected_rows.parquet"

    def report_dir(self, month: str) -> Path:
        """The month report (index.html, self-contained) and the validation record."""
        return self.root / "reports" / month

    def evidence_dir(self, month: str) -> Path:
        """Published files of the month found changed, moved aside by `creditflow restore`
        (kept, never deleted; each named with the digest of what it holds)."""
        return self.root / "evidence" / month

    def instruments_dir(self, month: str) -> Path:
        """An instrument month: the files instruments_publish.INSTRUMENT_FILES declares."""
        return self.root / "instruments" / month

    def whatif_dir(self, name: str) -> Path:
        """A what-if replay's sandbox (creditflow whatif): its own ledger, catalog and
        comparison; never the published ledger's."""
        return self.root / "whatif" / name

    def managed_path(self, path: Path) -> Path | None:
        """The path under OUT that the pipeline owns and `path` is (or lies inside), or None:
        a command that writes a file a person chose (export) refuses such a target."""
        owned = {self.root / name for name in (*_WORKING_PATHS, *_top_level_names())}
        target = Path(path).resolve()
        return next(
            (p for p in sorted(owned) if target == p.resolve() or p.resolve() in target.parents),
            None,
        )

    def stale_temp_files(self) -> list[Path]:
        """The temp files a killed run left in what the pipeline owns under OUT: every
        write goes to a hidden `.NAME.*.tmp` beside its target before a rename (files.py,
        catalog.py). Only runs write there, one at a time, so any found at the start of a
        run are a dead run's."""
        found = list(self.root.glob(".*.tmp"))
        # (not .recovery/ nor whatif/: a recover or a what-if may be writing there now)
        for name in sorted(_top_level_names() - {"whatif"} | {"shards"}):
            folder = self.root / name
            if folder.is_dir():
                found += folder.rglob(".*.tmp")
        return sorted(found)

    def published_settlement_months(self) -> list[str]:
        """The months whose batch was published (a manifest is written last)."""
        root = self.root / "batches"
        found = root.glob(f"*/{SETTLEMENT_MARKER}") if root.is_dir() else []
        return sorted(p.parent.name for p in found if _MONTH.fullmatch(p.parent.name))

    def published_instrument_months(self) -> list[str]:
        """The instrument months published (the roll-forward is written last)."""
        root = self.root / "instruments"
        found = root.glob(f"*/{INSTRUMENT_MARKER}") if root.is_dir() else []
        return sorted(p.parent.name for p in found if _MONTH.fullmatch(p.parent.name))

    def stray_month_folders(self) -> list[Path]:
        """Folders beside the published months, holding a month's marker, that are not
        named like a month (a copy such as batches/old-copy/): never read as a month."""
        found = []
        for folder, marker in (("batches", SETTLEMENT_MARKER), ("instruments", INSTRUMENT_MARKER)):
            root = self.root / folder
            if root.is_dir():
                found += [
                    p.parent
                    for p in root.glob(f"*/{marker}")
                    if not _MONTH.fullmatch(p.parent.name)
                ]
        return sorted(found)


# the working paths other modules make under OUT (the shards' layout, recover's scratch and
# its lock)
_WORKING_PATHS = ("shards", ".recovery", ".recovery.lock")


def _top_level_names() -> set[str]:
    """The first name under OUT of every path the layout builds."""
    probe = OutputLayout(Path("OUT"))
    names = set()
    for name, member in vars(OutputLayout).items():
        if isinstance(member, property):
            path = getattr(probe, name)
        elif callable(member) and name.endswith(("_dir", "_file")):
            path = member(probe, "YYYY-MM")
        else:
            continue
        names.add(path.relative_to(probe.root).parts[0])
    return names
