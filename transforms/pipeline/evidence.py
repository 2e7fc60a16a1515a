"""Published outputs are evidence (docs/operations.md#a-published-file-changed).

Every file a published month holds must still be what was published: before every run,
each one is checked against the SHA-256 its month recorded, and a changed file stops the
run (exit 4) before anything is computed. No run writes over a changed file, the month's
own rerun included; `creditflow restore` moves the changed files aside into
OUT/evidence/M/ (kept, never deleted) and renders the month again from the ledger.

A file that is missing is not a change: a rerun of its month writes it again, digest
checked. A month published before its files had digests has nothing to check against.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from transforms.errors import StateConflict
from transforms.pipeline.files import sha256_file
from transforms.pipeline.instruments_publish import INSTRUMENT_FILES
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.published_files import PublishedFile
from transforms.pipeline.settlement_publish import BATCH_FILES


@dataclass(frozen=True)
class Changed:
    path: Path
    month: str
    found_sha256: str
    recorded_sha256: str


def _ledgers(layout: OutputLayout):
    """(files, month record table, its month column, the folder of a month) per ledger."""
    return (
        (BATCH_FILES, "settlements", "settlement_month", layout.batch_dir),
        (INSTRUMENT_FILES, "instrument_months", "instrument_month", layout.instruments_dir),
    )


def changed_files(con, layout: OutputLayout, month: str | None = None) -> list[Changed]:
    """Every published file (of `month`, or of every month) whose bytes are not the ones
    its month recorded."""
    found = []
    for files, table, column, folder_of in _ledgers(layout):
        found += _changed(con, files, table, column, folder_of, month)
    return found


def _changed(con, files: tuple[PublishedFile, ...], table, column, folder_of, month) -> list:
    digests = ", ".join(file.digest_column for file in files)
    rows = con.execute(
        f"select {column}, {digests} from warehouse.{table} "
        f"where $month is null or {column} = $month order by 1",
        {"month": month},
    ).fetchall()
    found = []
    for published_month, *recorded in rows:
        for file, digest in zip(files, recorded, strict=True):
            path = folder_of(published_month) / file.name
            if digest is None or not path.is_file():
                continue
            on_disk = sha256_file(path)
            if on_disk != digest:
                found.append(Changed(path, published_month, on_disk, digest))
    return found


def guard(con, layout: OutputLayout) -> None:
    """Stop (exit 4) before anything is computed when a published file was changed; and
    clear the temp files a killed run left (the warehouse is this run's now)."""
    for stale in layout.stale_temp_files():
        stale.unlink(missing_ok=True)
    found = changed_files(con, layout)
    if found:
        first = found[0]
        more = f" (and {len(found) - 1} more file(s))" if len(found) > 1 else ""
        raise StateConflict(
            f"{first.path}: SHA-256 {first.found_sha256} is not the "
            f"{first.recorded_sha256} recorded when {first.month} was published{more}: a "
            "published file was changed. Nothing was changed and no run writes over it. "
            f"Keep the evidence and restore the month: creditflow restore --month {first.month} "
            f"--data DIR --out {layout.root} (docs/operations.md#a-published-file-changed)"
        )


def set_aside(con, layout: OutputLayout, month: str) -> list[Path]:
    """Move the month's changed files to OUT/evidence/M/, each named with the digest of
    what it holds (never overwritten, never deleted); returns where they went."""
    moved = []
    for changed in changed_files(con, layout, month):
        folder = layout.evidence_dir(month)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = folder / f"{changed.path.name}.{changed.found_sha256[:16]}"
        if not target.exists():
            shutil.move(changed.path, target)
        else:  # the same bytes were set aside before
            changed.path.unlink()
        moved.append(target)
    return moved
