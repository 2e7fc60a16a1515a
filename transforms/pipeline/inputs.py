"""The input edge both pipelines share: find the files of each input, check them against the
contract (transforms/contracts.py), register them as raw relations, run the row audits and
keep what they reject in the quarantine, and fingerprint what a month can see."""

import csv
import hashlib
import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from transforms import contracts, eligible_products, months
from transforms.errors import ExportNotDelivered, InputError
from transforms.pipeline import sql_runner
from transforms.pipeline.files import atomic_write, parquet_bytes

# names the pipeline gives every input row (source_file, file_row_number) and DuckDB's own
# virtual columns: an input column so named would forge a row's provenance
RESERVED_COLUMNS = frozenset({"source_file", "file_row_number", "filename", "file_index"})
_CYCLE_FOLDER = re.compile(r"^billing_cycle=(\d{4}-(0[1-9]|1[0-2]))$")
PARQUET_FILES = sql_runner.sql_file("sources/parquet_files.sql")
BILLING_CYCLE_FILES = sql_runner.sql_file("sources/billing_cycle_files.sql")
BILLING_RECORD_FILES = sql_runner.sql_file("sources/billing_record_files.sql")
EMPTY_INPUT = sql_runner.sql_file("sources/empty_input.sql")
ELIGIBLE_PRODUCTS_CSV = sql_runner.sql_file("sources/eligible_products_csv.sql")


def require_data_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data directory does not exist")
    return data_dir


def snapshot_files(
    data_dir: Path, contract: contracts.InputContract, *, allow_none: bool = False
) -> tuple[Path, ...]:
    """The Parquet files of a snapshot input (its folder must exist)."""
    folder = Path(data_dir) / contract.location.rsplit("/", 1)[0]
    what = contract.name.replace("_", " ")
    if not folder.is_dir():
        raise InputError(f"{folder}: missing {what} folder")
    files = parquet_files(folder)
    if not files and not allow_none:
        raise InputError(f"{folder}: no {what} Parquet files")
    return files


def billing_cycles(data_dir: Path, month: str) -> dict[str, tuple[Path, ...]]:
    """The billing files per cycle up to the month; the month's own cycle must be delivered."""
    billing_root = Path(data_dir) / "billing"
    if not billing_root.is_dir():
        raise InputError(f"{billing_root}: missing billing folder")
    billing: dict[str, tuple[Path, ...]] = {}
    for folder in entries(billing_root):
        found = _CYCLE_FOLDER.match(folder.name)
        if not found or not folder.is_dir():
            raise InputError(
                f"{folder}: unknown billing folder name (expected billing_cycle=YYYY-MM)"
            )
        if found.group(1) <= month:
            billing[found.group(1)] = parquet_files(folder)
    if not billing.get(month):
        folder = billing_root / f"billing_cycle={month}"
        raise ExportNotDelivered(
            f"{folder}: no billing export for {month} (rule: the settled month's cycle must be "
            "delivered)",
            where=str(folder),
        )
    # a cycle missing in the middle would silently drop its spend (and claw back what it
    # paid): the delivered cycles run without a gap from the first to the settled month
    gaps = [c for c in months.month_range(min(billing), month) if not billing.get(c)]
    if gaps:
        raise InputError(
            f"{billing_root / f'billing_cycle={gaps[0]}'}: no billing export for {gaps[0]}"
            f"{f' (and {len(gaps) - 1} more cycle(s))' if len(gaps) > 1 else ''} between "
            f"{min(billing)} and {month} (rule: billing cycles are contiguous up to the settled "
            "month)"
        )
    return billing


def parquet_files(folder: Path) -> tuple[Path, ...]:
    """The Parquet files of a delivery folder, whatever the case of their extension. Every
    entry is accounted for: anything else there (a folder, even one named like a part
    file, a symlink that leads nowhere, a stray file, an unreadable file) stops the run,
    because a skipped entry is spend silently dropped."""
    found = entries(folder)
    for entry in found:
        problem = _entry_problem(entry)
        if problem:
            raise InputError(
                f"{entry}: {problem} (rule: a delivery folder holds readable Parquet files and "
                "nothing else; every entry is read or refused, never skipped)"
            )
    return found


def entries(folder: Path) -> tuple[Path, ...]:
    """A data folder's entries, sorted; a folder the system will not list (permission
    denied) is an input error naming it, not a crash."""
    try:
        return tuple(sorted(Path(folder).iterdir()))
    except OSError as error:
        raise InputError(
            f"{folder}: cannot be listed ({error.strerror}) (rule: every delivery folder is "
            "readable by the run; nothing in it is skipped)"
        ) from None


def _entry_problem(entry: Path) -> str | None:
    if entry.is_symlink() and not entry.exists():
        return "a symlink that leads nowhere (dangling or looping)"
    if entry.is_dir():
        return "a folder inside a delivery folder (a writer's part folder is not read)"
    if not entry.is_file():
        return "not a regular file"
    if entry.suffix.lower() != ".parquet":
        return "not a Parquet file (name ending .parquet)"
    if not os.access(entry, os.R_OK):
        return "not readable (permission denied)"
    return None


def check_columns(con, path: Path, contract: contracts.InputContract) -> set[str]:
    """Fail with one line if a Parquet file is unreadable or a required column is missing
    or of the wrong type (expected vs found); return the contract columns it holds."""
    try:
        description = con.execute(
            "select * from read_parquet($path) limit 0", {"path": str(path)}
        ).description
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0]
        raise InputError(f"{path}: unreadable Parquet file ({first_line})") from error
    # DuckDB renames a repeated column (cash_amount, cash_amount_1): ask the file's footer
    names = pq.read_schema(path).names
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(
            f"{path}: column {twice[0]} appears more than once (rule: one column per name; "
            "which copy counts would be a guess)"
        )
    found = {name: str(kind) for name, kind, *_ in description}
    reserved = sorted(found.keys() & RESERVED_COLUMNS)
    if reserved:
        raise InputError(
            f"{path}: column {reserved[0]} is reserved (the pipeline's own name for where a row "
            "came from); rename it in the export"
        )
    missing = [c.name for c in contract.columns if c.name not in found and not c.optional]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}")
    for column in contract.columns:
        if column.name in found and not found[column.name].startswith(column.kind.accepted):
            raise InputError(
                f"{path}: column {column.name}: expected {column.kind.label}, "
                f"found {found[column.name]}"
            )
    return {c.name for c in contract.columns if c.name in found}


def register(con, contract: contracts.InputContract, paths: list[Path]) -> None:
    """Check every file, then create the raw relation raw_<input> over them: the contract's
    columns (an optional column no file holds reads as null) and each row's provenance."""
    if not paths:  # an optional input delivered with no file: typed, no rows
        columns = [f"cast(null as {c.kind.empty}) as {c.name}" for c in contract.columns]
        sql_runner.create_source(con, EMPTY_INPUT, contract.relation, [], columns)
        return
    present: set[str] = set()
    for path in paths:
        present |= check_columns(con, path, contract)
    columns = [
        c.name if c.name in present else f"cast(null as varchar) as {c.name}"
        for c in contract.columns
    ]
    template = BILLING_CYCLE_FILES if contract is contracts.BILLING else PARQUET_FILES
    sql_runner.create_source(con, template, contract.relation, paths, columns)


def register_billing_records(con, paths: list[Path]) -> None:
    """The view raw_billing_records: account, record id and billing date of every line of
    the given billing files (every cycle up to the month; linked lines name records in any
    of them). The files of cached cycles were checked against the contract when scanned."""
    columns = ["account_id", "record_id", "billing_date"]
    sql_runner.create_source(con, BILLING_RECORD_FILES, "raw_billing_records", paths, columns)


def newest_cycle_end(data_dir: Path) -> date:
    """The last day of the newest billing cycle delivered (whatever month is settled): no
    input fact can be dated after it."""
    cycles = [
        found.group(1)
        for folder in entries(Path(data_dir) / "billing")
        if (found := _CYCLE_FOLDER.match(folder.name))
    ]
    return months.cutoff_date(max(cycles))


def register_eligible_products(con, path: Path) -> None:
    if not Path(path).is_file():
        raise InputError(f"{path}: eligible products file does not exist")
    try:
        lines = list(csv.reader(Path(path).read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: unreadable eligible products CSV ({error})") from error
    problem = eligible_products.first_problem(lines)
    if problem:
        raise InputError(f"{path}: {problem} (docs/data-contract.md#reference-data)")
    types = ", ".join(f"'{name}': '{kind}'" for name, kind in eligible_products.COLUMNS.items())
    columns = ["{" + types + "}"]  # read_csv takes the columns as one struct
    try:
        sql_runner.create_source(
            con, ELIGIBLE_PRODUCTS_CSV, "raw_eligible_products", [path], columns
        )
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0]
        raise InputError(f"{path}: unreadable eligible products CSV ({first_line})") from error


def run_audits(con, audits: list, parameters: dict, quarantine: Path, max_rejected: int):
    """Every row rule in `audits`; rejected rows go to rejected_rows and the quarantine.

    Any rejected row blocks the run (exit 3, one line per rule and file with counts and a
    pointer to the quarantine) unless the operator accepts up to max_rejected of them;
    accepted rows are left out downstream and recorded with the month.
    Returns (rejected count, SHA-256 of the quarantine file)."""
    sql_runner.script(con, sql_runner.sql_file("control/rejected_rows.sql"))
    for audit in audits:
        sql_runner.insert_into(con, "rejected_rows", audit, parameters, audit=audit.name)
    quarantine_sha256 = write_quarantine(con, quarantine)
    summary = sql_runner.rows(con, sql_runner.sql_file("queries/rejected_rows_by_rule.sql"))
    rejected = sum(row["rejected_count"] for row in summary)
    if rejected <= max_rejected:
        return rejected, quarantine_sha256
    lines = [
        f"{r['source_file']}: {r['broken_rule']} ({r['rejected_count']} row(s), "
        f"e.g. {r['example_row_key']}) [audit {r['audit']}]"
        for r in summary
    ]
    lines.append(
        f"{rejected} rejected row(s) kept in {quarantine}; fix the inputs, or accept "
        f"them with --max-rejected {rejected}"
    )
    raise InputError("\n".join(lines), where=f"{quarantine} (rejected rows with their rule)")


def write_quarantine(con, path: Path) -> str:
    """Write rejected_rows (file, row number, row key, rule) to Parquet; return its SHA-256."""
    table = con.sql(
        "select * from rejected_rows order by source_file, file_row_number, broken_rule"
    ).to_arrow_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = parquet_bytes(table)
    atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()
