"""What a run will write under OUT is checked before it computes anything (issue 29).

A month commits in one transaction and its files are written after it; a file the system
then refuses leaves a committed month without its batch until a rerun (safe, but a month
should never be left so by a fault that could be seen coming). So before a run opens the
ledger it checks, for every path it will write:

- each existing component is a folder (not a file where a folder belongs) and the file
  itself, where it exists, is not a folder;
- the deepest existing folder is writable by this process;
- the path, with the temp name it is first written under, fits the file system's limits;
- the disk holds at least the space the run is known to need (below).

Each is one line, exit 6 (EnvironmentFault). What no check can foresee (the disk filling
during the run) is reported by errors.environment_fault as the same exit 6 with the path
and the system's reason, never as an internal error.
"""

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from transforms.errors import EnvironmentFault
from transforms.pipeline.layout import OutputLayout

# headroom for what cannot be sized before the run: the ledger's WAL and checkpoint, the
# month report, the quarantine file, DuckDB's spill files start here (docs/operations.md)
HEADROOM_BYTES = 64 * 2**20
# a file is first written as `.NAME.<8 random>.tmp` beside its target (files.atomic_write)
_TEMP_NAME_EXTRA = len("..12345678.tmp")
_FIX = "fix it and run the same command again; nothing was computed or committed"


def check(
    layout: OutputLayout, files: Iterable[Path], folders: Iterable[Path], need: Callable[[], int]
) -> None:
    """Stop (exit 6) before anything is computed if OUT cannot take what the run writes:
    `files` and `folders` under OUT, and `need()` bytes beyond the headroom (asked once
    the paths are known to be usable)."""
    targets = [(Path(f), True) for f in folders] + [(Path(f), False) for f in files]
    for target, _ in targets:
        _check_length(target)
    for target, is_folder in targets:
        _check_path(layout.root, target, is_folder)
    _check_space(layout.root, need() + HEADROOM_BYTES)


def size_of(path: Path) -> int:
    """Bytes a file or a folder's files hold (0 when missing): what a copy of it needs."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def _check_path(root: Path, target: Path, is_folder: bool) -> None:
    deepest = None
    for component in (*reversed(target.parents), target):
        if not component.exists():
            break
        if component != target or is_folder:
            if not component.is_dir():
                raise EnvironmentFault(f"{component}: a file is where a folder belongs; {_FIX}")
        elif component.is_dir():
            raise EnvironmentFault(f"{component}: a folder is where a file belongs; {_FIX}")
        deepest = component if component.is_dir() else component.parent
    deepest = deepest or Path(".")
    if root in (deepest, *deepest.parents) and not os.access(deepest, os.W_OK | os.X_OK):
        raise EnvironmentFault(
            f"{deepest}: permission denied (this process cannot write there); {_FIX}"
        )


def _check_length(target: Path) -> None:
    """Names and the whole path within the file system's limits (asked of the nearest
    folder that exists), counting the temp name the file is first written under."""
    existing = _nearest_existing(target.absolute())
    name_max = os.pathconf(existing, "PC_NAME_MAX")
    path_max = os.pathconf(existing, "PC_PATH_MAX")
    for number, part in enumerate(target.parts, start=1):
        # the last name is first written under its temp name, a few bytes longer
        size = len(os.fsencode(part)) + (_TEMP_NAME_EXTRA if number == len(target.parts) else 0)
        if size > name_max:
            raise EnvironmentFault(
                f"{str(target)[:80]}...: a name in the path is longer than the file system "
                f"allows ({size} bytes, limit {name_max}); {_FIX}"
            )
    full = len(os.fsencode(str(target.absolute()))) + _TEMP_NAME_EXTRA
    if full > path_max:
        raise EnvironmentFault(
            f"{str(target)[:80]}...: the path is longer than the file system allows ({full} "
            f"bytes with the temp name, limit {path_max}); {_FIX}"
        )


def _nearest_existing(path: Path) -> Path:
    found = Path(path.anchor)
    for component in reversed(path.parents):
        try:
            if not component.is_dir():
                break
        except OSError:  # too long to ask about: its parent answers for the file system
            break
        found = component
    return found


def _check_space(root: Path, need_bytes: int) -> None:
    existing = next(p for p in (root, *root.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise EnvironmentFault(
            f"{root}: no space left on the device for this run ({_mib(free)} free, "
            f"{_mib(need_bytes)} needed: {_mib(HEADROOM_BYTES)} of headroom for the ledger and "
            f"the report, plus a copy of the catalog and what the month delivers); {_FIX}"
        )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def settlement_month(layout: OutputLayout, month: str, options) -> None:
    """What a settlement run of `month` writes: the batch (or the preview of a dry run),
    the ledger, the catalog beside the old one, the report, the quarantine and the logs."""
    from transforms.pipeline import published_files, settlement_publish

    batch = layout.preview_dir(month) if options.dry_run else layout.batch_dir(month)
    names = published_files.names(settlement_publish.BATCH_FILES)
    cycle = Path(options.data_dir) / "billing" / f"billing_cycle={month}"
    check(
        layout,
        files=[
            *(batch / name for name in names),
            *_shared(layout, month),
            layout.quarantine_file(month),
        ],
        folders=[layout.catalog_dir, layout.logs_dir, layout.duckdb_temp],
        # the new catalog beside the old one; the ledger keeps about what the cycle delivers
        need=lambda: size_of(layout.catalog) + size_of(cycle),
    )


def instrument_month(layout: OutputLayout, month: str) -> None:
    """What an instrument run of `month` writes: its files, the ledger, the catalog beside
    the old one, the report, the quarantine and the logs."""
    from transforms.pipeline import instruments_publish, published_files

    names = published_files.names(instruments_publish.INSTRUMENT_FILES)
    check(
        layout,
        files=[
            *(layout.instruments_dir(month) / name for name in names),
            *_shared(layout, month),
            layout.instrument_quarantine_file(month),
        ],
        folders=[layout.catalog_dir, layout.logs_dir],
        need=lambda: size_of(layout.catalog),
    )


def _shared(layout: OutputLayout, month: str) -> list[Path]:
    """What every month run writes besides its own folder: the ledger, the catalog, the report."""
    return [layout.warehouse, layout.catalog, layout.report_dir(month) / "index.html"]


def recover(layout: OutputLayout, scratch: OutputLayout) -> None:
    """Recover rebuilds a whole ledger and its catalog in the scratch folder under OUT."""
    check(
        layout,
        files=[scratch.warehouse, scratch.catalog, layout.warehouse, layout.catalog],
        folders=[scratch.root, layout.catalog_dir, layout.logs_dir],
        need=lambda: size_of(layout.warehouse) + 2 * size_of(layout.catalog),
    )
