"""The files each pipeline publishes per month, declared once as data, and the one edge that
writes them.

A declaration names the file, how it is rendered from the month's rows, and the ledger
column holding the SHA-256 recorded when the month was published. The file declared last
is written last, and its presence marks the month published (manifest.json,
rollforward.csv).
Publish, republish, the dry-run preview, recover, the benchmark and the tests iterate the
declarations; nothing else spells a published file's name.

Rendering is pure with respect to OUT (it only reads the month's rows); `write` is the only
place that touches the month's folder: it refuses, before writing anything, a file whose
bytes differ from its recorded digest (a changed coupon key, tampered rows), then writes
every file atomically, the marker last.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.batch_file import sha256_hex
from transforms.errors import StateConflict
from transforms.pipeline.faults import crash_point
from transforms.pipeline.files import atomic_write, make_private_dir


@dataclass(frozen=True)
class PublishedFile:
    name: str
    # (run, rows, record, rendered so far) -> bytes; rows: where the month's rows are read
    # (the computed relations before the commit, the warehouse after it); record: the
    # month's record, with the digests of the files rendered so far
    render: Callable[..., bytes]
    digest_column: str  # in the pipeline's month record: checked by every run
    about: str  # what it holds, for docs/outputs.md (generated_docs.py)
    crash_point: str | None = None  # a test's crash point after the file is written
    # the published tables its rows come from: a file rendered from the computed month is
    # written as rendered when the committed rows are those rows (same_rows_committed)
    tables: tuple[str, ...] = ()


def render(
    files: tuple[PublishedFile, ...], run, rows: str, record: dict, done: dict | None = None
) -> dict[str, bytes]:
    """Every file of the month, in writing order (a later file, the manifest, may state the
    digests of the earlier ones); `done`: files already rendered, not rendered again."""
    rendered: dict[str, bytes] = {}
    for file in files:
        if done and file.name in done:
            rendered[file.name] = done[file.name]
            continue
        pinned = {**record, **digests(files[: len(rendered)], rendered)}
        rendered[file.name] = file.render(run, rows, pinned, rendered)
    return rendered


def same_rows_committed(con, table: str, month: str) -> bool:
    """Whether the month's rows committed to warehouse.<table> are the computed relation's
    rows: the same columns with the same types, and the same rows as a multiset. Rendering is
    a pure function of those rows (and the record and key), so then it gives the same bytes
    from either side; a column missing or retyped, or any row changed, says no."""
    described = con.execute(f"describe select * from {table}").fetchall()
    columns = ", ".join(f'"{name}"' for name, *_ in described)
    try:
        committed = con.execute(f"describe select {columns} from warehouse.{table}").fetchall()
    except duckdb.BinderException:
        return False
    if [row[:2] for row in committed] != [row[:2] for row in described]:
        return False
    computed_rows = f"select {columns} from {table} where settlement_month = $m"
    committed_rows = f"select {columns} from warehouse.{table} where settlement_month = $m"
    (differing,) = con.execute(
        f"select count(*) from (({computed_rows} except all {committed_rows}) "
        f"union all ({committed_rows} except all {computed_rows}))",
        {"m": month},
    ).fetchone()
    return differing == 0


def digests(files: tuple[PublishedFile, ...], rendered: dict[str, bytes]) -> dict[str, str]:
    """The record columns that pin the rendered files: digest column -> SHA-256."""
    return {file.digest_column: sha256_hex(rendered[file.name]) for file in files}


def check(
    month: str, files: tuple[PublishedFile, ...], rendered: dict[str, bytes], record: dict
) -> None:
    """Refuse rendered files that differ from the digests recorded at publication. A digest
    not recorded (a month published before its file had one) is not checked."""
    for column, digest in digests(files, rendered).items():
        recorded = record.get(column)
        if recorded is not None and recorded != digest:
            name = next(f.name for f in files if f.digest_column == column)
            raise StateConflict(
                f"{month}: re-rendered {name} does not match the SHA-256 recorded when the "
                "month was published (was the coupon key changed, or the ledger edited?); "
                "nothing was written"
            )


def write(
    folder: Path, files: tuple[PublishedFile, ...], rendered: dict[str, bytes], *, private: bool
) -> Path:
    """Write the month's files atomically in declaration order (the marker last); identical
    bytes are not rewritten. A private folder is owner-only (the batch files hold codes)."""
    if private:
        make_private_dir(folder)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        atomic_write(folder / file.name, rendered[file.name], mode=0o600 if private else 0o644)
        if file.crash_point:
            crash_point(file.crash_point)
    return folder


def names(files: tuple[PublishedFile, ...]) -> tuple[str, ...]:
    return tuple(file.name for file in files)
