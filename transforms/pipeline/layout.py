"""Where everything lives under OUT: the one object that builds output paths."""

from dataclasses import dataclass
from pathlib import Path

# the file written last into a published month's folder: its presence marks the month
# published (the last of settlement_publish.BATCH_FILES and instruments_publish.INSTRUMENT_FILES)
SETTLEMENT_MARKER = "manifest.json"
INSTRUMENT_MARKER = "rollforward.csv"


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

    def instruments_dir(self, month: str) -> Path:
        """An instrument month: the files instruments_publish.INSTRUMENT_FILES declares."""
        return self.root / "instruments" / month

    def published_settlement_months(self) -> list[str]:
        """The months whose batch was published (a manifest is written last)."""
        root = self.root / "batches"
        found = root.glob(f"*/{SETTLEMENT_MARKER}") if root.is_dir() else []
        return sorted(p.parent.name for p in found)

    def published_instrument_months(self) -> list[str]:
        """The instrument months published (the roll-forward is written last)."""
        root = self.root / "instruments"
        found = root.glob(f"*/{INSTRUMENT_MARKER}") if root.is_dir() else []
        return sorted(p.parent.name for p in found)
