"""The ledger can be lost without paying twice (issue 17; docs/operations.md#a-lost-or-damaged-warehouse).

The warehouse is the ledger's single source of truth, but what was paid is also on disk:
every published settlement month has OUT/batches/M/manifest.json, every instrument month
OUT/instruments/M/. Before anything is computed, `warehouse.guard_published_months`
stops a run (exit 4) whose warehouse is missing, empty or behind those files, and says to
recover: it would settle their months again and pay them again.

`recover` rebuilds the warehouse from the published months' inputs into a scratch folder
under OUT, by the same pipelines, and swaps it in only once every published file is
reproduced byte for byte (the manifests but for their code version); the damaged file is
kept aside, never deleted.
"""

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from transforms import months
from transforms.batch_file import sha256_hex
from transforms.errors import CreditflowError, StateConflict, UsageError
from transforms.pipeline import (
    catalog,
    instruments,
    instruments_publish,
    ledger_start,
    preflight,
    published_files,
    settlement,
    settlement_publish,
    warehouse,
)
from transforms.pipeline.files import atomic_write
from transforms.pipeline.layout import SETTLEMENT_MARKER, OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.summary import progress

# the manifest is compared apart: it records the code version
SETTLEMENT_FILES = published_files.names(settlement_publish.DATA_FILES)
INSTRUMENT_FILES = published_files.names(instruments_publish.INSTRUMENT_FILES)
SCRATCH = ".recovery"
LOCK = ".recovery.lock"  # held by the recover that owns SCRATCH


@dataclass(frozen=True)
class Recovered:
    settlement_months: list[str]
    instrument_months: list[str]
    kept_aside: Path | None


def recover(options: RunOptions) -> Recovered:
    """Rebuild OUT/warehouse.duckdb from the published months' inputs and swap it in once
    it reproduces every published file; raise (exit 4) at the first difference."""
    layout = OutputLayout(Path(options.out_dir))
    warehouse.refuse_stray_month_folders(layout)
    settled = layout.published_settlement_months()
    instrument_months = layout.published_instrument_months()
    if not settled:
        raise UsageError(f"usage: nothing is published under {layout.root}: nothing to recover")
    _check_contiguous("settlement", settled)
    if instrument_months:
        _check_contiguous("instrument", instrument_months)
    scratch = OutputLayout(layout.root / SCRATCH)
    preflight.recover(layout, scratch)
    with _one_recover_at_a_time(layout), _named_for_the_live_out(layout, scratch):
        return _rebuild(options, layout, scratch, settled, instrument_months)


def _rebuild(
    options: RunOptions,
    layout: OutputLayout,
    scratch: OutputLayout,
    settled: list[str],
    instrument_months: list[str],
) -> Recovered:
    shutil.rmtree(scratch.root, ignore_errors=True)
    base = options.model_copy(update={"out_dir": scratch.root, "dry_run": False})
    try:
        # the rebuilt ledger starts where the published one did (which may be later than
        # the data's first billing cycle, when it was started with `creditflow init`)
        ledger_start.start(scratch, options.data_dir, settled[0], started_by="recover")
        for month in settled:
            manifest = json.loads((layout.batch_dir(month) / SETTLEMENT_MARKER).read_text())
            settlement.settle(
                month,
                base.model_copy(
                    update={
                        "max_rejected": manifest["rejected_rows_accepted"],
                        "accept_shrunk_inputs": bool(manifest.get("accepted_shrinkage")),
                    }
                ),
            )
            recorded = {
                f.name: manifest.get(f.digest_column) for f in settlement_publish.DATA_FILES
            }
            _same_files(
                month, layout.batch_dir(month), scratch.batch_dir(month), SETTLEMENT_FILES, recorded
            )
            _same_manifest(month, layout.batch_dir(month), scratch.batch_dir(month))
            progress(f"{month}: settlement reproduced byte for byte")
        for month in instrument_months:
            accepted = _quarantined_rows(layout.instrument_quarantine_file(month))
            instruments.run_month(month, base.model_copy(update={"max_rejected": accepted}))
            _same_files(
                month,
                layout.instruments_dir(month),
                scratch.instruments_dir(month),
                INSTRUMENT_FILES,
            )
            progress(f"{month}: instrument month reproduced byte for byte")
        kept_aside = _swap_in(layout, scratch)
    finally:
        shutil.rmtree(scratch.root, ignore_errors=True)
    return Recovered(settled, instrument_months, kept_aside)


@contextmanager
def _one_recover_at_a_time(layout: OutputLayout):
    """Recover owns its scratch folder: a second recover on the same OUT would delete the
    ledger the first is rebuilding there. The lock (OUT/.recovery.lock, flock) is the
    system's: it is released when the process ends, however it ends."""
    with open(layout.root / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise StateConflict(
                f"{layout.root}: another recover is running on this OUT (process {holder}); "
                "wait for it to end, then run recover again if it failed; nothing was changed"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


@contextmanager
def _named_for_the_live_out(layout: OutputLayout, scratch: OutputLayout):
    """A stop while rebuilding says first which OUT recover was rebuilding and what became
    of it: the reason that follows may name a file of the rebuild, under the scratch
    folder, which is removed (its advice is for the live OUT, never for the scratch)."""
    try:
        yield
    except CreditflowError as error:
        raise type(error)(
            f"recover of {layout.root} stopped; its warehouse was not replaced and the "
            f"rebuild under {scratch.root} was removed: {error}",
            where=error.where,
        ) from None


def _check_contiguous(ledger: str, found: list[str]) -> None:
    expected = months.month_range(found[0], found[-1])
    if found != expected:
        gap = sorted(set(expected) - set(found))[0]
        raise StateConflict(
            f"the published {ledger} months {found[0]}..{found[-1]} have a gap at {gap}: "
            "recover cannot tell what was paid; nothing was changed"
        )


def _same_files(
    month: str, published: Path, rebuilt: Path, names: tuple[str, ...], recorded=None
) -> None:
    """Every published file equals its rebuilt copy. A file missing from the published
    folder is proved by the digest its manifest recorded, and written back; with no digest
    to prove it by, recover stops (exit 4)."""
    for name in names:
        made = (rebuilt / name).read_bytes()
        if not (published / name).is_file():
            digest = (recorded or {}).get(name)
            if digest is None:
                raise StateConflict(
                    f"{published / name}: missing, and nothing left under {published.parent.parent} "
                    "records what it held, so recover cannot prove the rebuilt ledger pays what was "
                    "published. Put the file back (from a backup) and run recover again; the "
                    "warehouse was not replaced"
                )
            if sha256_hex(made) != digest:
                raise StateConflict(
                    f"{month}: the rebuilt {name} is not the one the manifest records (were the "
                    "inputs, the rules or the coupon key changed since?); the warehouse was not "
                    "replaced"
                )
            atomic_write(published / name, made)  # proved identical: the batch is whole again
            progress(
                f"{month}: {name} was missing; written back, identical to its manifest's digest"
            )
            continue
        if (published / name).read_bytes() != made:
            raise StateConflict(
                f"{month}: the rebuilt {name} differs from the published {published / name} "
                "(were the inputs, the rules or the coupon key changed since?); the "
                "warehouse was not replaced"
            )


def _same_manifest(month: str, published: Path, rebuilt: Path) -> None:
    def comparable(folder: Path) -> dict:
        manifest = json.loads((folder / SETTLEMENT_MARKER).read_text())
        manifest.pop("code_version")  # digests the SQL text: changes with any upgrade
        return manifest

    if comparable(published) != comparable(rebuilt):
        raise StateConflict(
            f"{month}: the rebuilt {SETTLEMENT_MARKER} differs from {published / SETTLEMENT_MARKER} "
            "(inputs fingerprint, rules or totals); the warehouse was not replaced"
        )


def _quarantined_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet($p)", {"p": str(path)}).fetchone()[0]


def _swap_in(layout: OutputLayout, scratch: OutputLayout) -> Path | None:
    """The rebuilt warehouse replaces the old one in one rename; the old one is kept aside."""
    kept_aside = None
    if layout.warehouse.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kept_aside = layout.root / f"warehouse.replaced-{stamp}.duckdb"
        os.replace(layout.warehouse, kept_aside)
        wal = layout.warehouse.with_name(layout.warehouse.name + ".wal")
        if wal.exists():
            os.replace(wal, kept_aside.with_name(kept_aside.name + ".wal"))
    os.replace(scratch.warehouse, layout.warehouse)
    con = warehouse.connect(layout, read_only=False)
    try:
        catalog.refresh(con, layout)
    finally:
        con.close()
    return kept_aside
