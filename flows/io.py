"""Everything that touches files: finding and checking inputs, registering them with
DuckDB, fingerprinting them, and publishing files atomically."""

import hashlib
import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.errors import InputError

# Accepted DuckDB types per kind of column. Amounts may arrive as DECIMAL, numbers or
# text and are cast once, in staging, to DECIMAL(18,4); rows that do not cast are rejected
# by the row audits (sql/audits/inputs/).
TEXT = ("VARCHAR",)
AMOUNT = (
    "DECIMAL",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "HUGEINT",
    "VARCHAR",
)
DATE = ("DATE", "TIMESTAMP", "VARCHAR")
TIMESTAMP = ("TIMESTAMP", "VARCHAR")
BOOLEAN = ("BOOLEAN",)
WHOLE_NUMBER = ("INTEGER", "BIGINT", "SMALLINT", "TINYINT")
KIND_NAMES = {
    WHOLE_NUMBER: "a whole number",
    TEXT: "text",
    AMOUNT: "an amount (DECIMAL, number or text)",
    DATE: "a date",
    TIMESTAMP: "a timestamp",
    BOOLEAN: "a boolean",
}

BILLING_COLUMNS = {
    "record_id": TEXT,
    "account_id": TEXT,
    "billing_date": DATE,
    "product_code": TEXT,
    "product_name": TEXT,
    "subscription_type": TEXT,
    "item": TEXT,
    "pretax_gross_amount": AMOUNT,
    "pretax_amount": AMOUNT,
    "deducted_by_coupons": AMOUNT,
    "deducted_by_cash_coupons": AMOUNT,
    "deducted_by_prepaid_card": AMOUNT,
    "cash_amount": AMOUNT,
    "currency": TEXT,
}
REFERRAL_COLUMNS = {
    "referee_account_id": TEXT,
    "referrer_account_id": TEXT,
    "referral_code": TEXT,
    "registered_at": TIMESTAMP,
}
ACCOUNT_COLUMNS = {
    "account_id": TEXT,
    "identity_key": TEXT,
    "payment_verified": BOOLEAN,
    "risk_status": TEXT,
}
_CYCLE_FOLDER = re.compile(r"^billing_cycle=(\d{4}-(0[1-9]|1[0-2]))$")


@dataclass(frozen=True)
class InputFiles:
    data_dir: Path
    billing: dict[str, tuple[Path, ...]]  # billing cycle -> its files, cycles <= the month
    referrals: tuple[Path, ...]
    accounts: tuple[Path, ...]
    eligible_products: Path

    def billing_files(self) -> list[Path]:
        return [path for cycle in sorted(self.billing) for path in self.billing[cycle]]


def _parquet_files(folder: Path, what: str) -> tuple[Path, ...]:
    if not folder.is_dir():
        raise InputError(f"{folder}: missing {what} folder")
    files = tuple(sorted(folder.glob("*.parquet")))
    if not files:
        raise InputError(f"{folder}: no {what} Parquet files")
    return files


def discover_inputs(data_dir: Path, month: str, eligible_products: Path) -> InputFiles:
    """The input files a settlement of `month` reads (billing cycles up to the month)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data directory does not exist")
    billing_root = data_dir / "billing"
    if not billing_root.is_dir():
        raise InputError(f"{billing_root}: missing billing folder")
    billing: dict[str, tuple[Path, ...]] = {}
    for folder in sorted(billing_root.iterdir()):
        found = _CYCLE_FOLDER.match(folder.name)
        if not found or not folder.is_dir():
            raise InputError(
                f"{folder}: unknown billing folder name (expected billing_cycle=YYYY-MM)"
            )
        cycle = found.group(1)
        if cycle <= month:
            billing[cycle] = tuple(sorted(folder.glob("*.parquet")))
    if not billing.get(month):
        raise InputError(
            f"{billing_root / f'billing_cycle={month}'}: no billing export for {month} (rule: the "
            "settled month's cycle must be delivered)"
        )
    if not Path(eligible_products).is_file():
        raise InputError(f"{eligible_products}: eligible products file does not exist")
    return InputFiles(
        data_dir=data_dir,
        billing=billing,
        referrals=_parquet_files(data_dir / "referrals", "referrals"),
        accounts=_parquet_files(data_dir / "accounts", "accounts"),
        eligible_products=Path(eligible_products),
    )


def sql_list(paths) -> str:
    # file paths are the one thing put into view text: views cannot bind parameters
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


def check_columns(con, path: Path, required: dict[str, tuple[str, ...]]) -> None:
    """Fail with one line if a Parquet file is unreadable or a required column is missing
    or of the wrong type (expected vs found)."""
    try:
        description = con.execute(
            "select * from read_parquet($path) limit 0", {"path": str(path)}
        ).description
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0]
        raise InputError(f"{path}: unreadable Parquet file ({first_line})") from error
    found = {name: str(kind) for name, kind, *_ in description}
    missing = [column for column in required if column not in found]
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(missing)}")
    for column, accepted in required.items():
        if not found[column].startswith(accepted):
            raise InputError(
                f"{path}: column {column}: expected {KIND_NAMES[accepted]}, found {found[column]}"
            )


def register_snapshots(con, files: InputFiles) -> None:
    """Create raw_referrals, raw_accounts and raw_eligible_products after checking the files."""
    for path in files.referrals:
        check_columns(con, path, REFERRAL_COLUMNS)
    for path in files.accounts:
        check_columns(con, path, ACCOUNT_COLUMNS)
    for name, paths in (("raw_referrals", files.referrals), ("raw_accounts", files.accounts)):
        con.execute(
            f"""
            create or replace temp view {name} as
            select * exclude (filename), filename as source_file
            from read_parquet(
                {sql_list(paths)}, filename = true, file_row_number = true, union_by_name = true
            )"""
        )
    try:
        con.execute(
            f"""
            create or replace temp table raw_eligible_products as
            select * from read_csv(
                {sql_list([files.eligible_products])}, header = true, auto_detect = false,
                columns = {{
                    'product_code': 'varchar', 'subscription_type': 'varchar',
                    'product_name': 'varchar', 'effective_from': 'date', 'effective_to': 'date'
                }}
            )"""
        )
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0]
        raise InputError(
            f"{files.eligible_products}: unreadable eligible products CSV ({first_line})"
        ) from error


def register_billing(con, files: InputFiles, cycles: list[str], month: str) -> None:
    """Create raw_billing_lines over the given billing cycles (the ones this run scans),
    after checking their files; the settled month's own cycle must not be empty."""
    paths = [path for cycle in sorted(cycles) for path in files.billing[cycle]]
    for path in paths:
        check_columns(con, path, BILLING_COLUMNS)
    con.execute(
        f"""
        create or replace temp view raw_billing_lines as
        select * exclude (filename), filename as source_file
        from read_parquet(
            {sql_list(paths)},
            filename = true, file_row_number = true, hive_partitioning = true, union_by_name = true,
            hive_types = {{'billing_cycle': varchar}}
        )"""
    )
    month_rows = con.execute(
        "select count(*) from raw_billing_lines where billing_cycle = $cycle", {"cycle": month}
    ).fetchone()[0]
    if month_rows == 0:
        folder = files.data_dir / "billing" / f"billing_cycle={month}"
        raise InputError(f"{folder}: the billing export for {month} is empty (no bill lines)")


def file_stamp(path: Path) -> tuple[int, int, int, int]:
    """What the file system says about a file's content: size, inode, mtime and ctime (ns).

    The ctime cannot be set by a user; any write of the content moves it. A file whose
    stamp is unchanged since it was hashed has the same content (the rule git's index,
    make and rsync rely on), so its SHA-256 is not read again."""
    status = path.stat()
    return status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns


def cycle_fingerprints(
    files: InputFiles, known: dict[tuple, str] | None = None
) -> tuple[dict[Path, str], dict[str, str], dict[tuple, str]]:
    """SHA-256 of every billing file, per cycle a digest of its files, and the digests
    keyed by (resolved path, *file_stamp) for the next run.

    `known` holds such keyed digests from earlier runs; only files it does not cover
    are read."""
    known = known or {}
    keys = {path: (str(path.resolve()), *file_stamp(path)) for path in files.billing_files()}
    unknown = [path for path, key in keys.items() if key not in known]
    # hashlib releases the GIL: a thread per core reads and hashes files side by side
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        fresh = dict(zip(unknown, pool.map(sha256_file, unknown), strict=True))
    file_hashes = {path: fresh.get(path) or known[key] for path, key in keys.items()}
    stamped = {keys[path]: digest for path, digest in file_hashes.items()}
    cycles = {
        cycle: hashlib.sha256(
            json.dumps([[p.name, file_hashes[p]] for p in paths]).encode()
        ).hexdigest()
        for cycle, paths in files.billing.items()
    }
    return file_hashes, cycles, stamped


def write_quarantine(con, path: Path) -> str:
    """Write rejected_rows (file, row number, row key, rule) to Parquet; return its SHA-256."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = con.sql(
        "select * from rejected_rows order by source_file, file_row_number, broken_rule"
    ).to_arrow_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    data = buffer.getvalue().to_pybytes()
    atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_fingerprint(con, files: InputFiles, cutoff_date, file_hashes: dict[Path, str]) -> str:
    """A digest of exactly what the month can see.

    Billing cycles are immutable per delivery, so their files are hashed whole. The
    referral and account files are growing snapshots, so only the referrals visible at
    the cutoff, and the accounts they name, are digested: new referrals arriving later
    do not make an old month look changed.
    """
    billing = [
        [str(path.relative_to(files.data_dir)), file_hashes[path]] for path in files.billing_files()
    ]
    referrals, accounts = con.execute(
        """
        with visible as (
            select distinct
                concat_ws('|', referee_account_id, referrer_account_id, referral_code,
                          try_cast(registered_at as timestamp)) as line,
                referee_account_id,
                referrer_account_id
            from raw_referrals
            where cast(try_cast(registered_at as timestamp) as date) <= $cutoff_date
        ),
        named as (
            select referee_account_id as account_id from visible
            union
            select referrer_account_id from visible
        ),
        account_lines as (
            select distinct concat_ws('|', a.account_id, a.identity_key, a.payment_verified,
                                      a.risk_status) as line
            from raw_accounts a semi join named on a.account_id = named.account_id
        )
        select
            (select md5(coalesce(string_agg(line, chr(10) order by line), '')) from visible),
            (select md5(coalesce(string_agg(line, chr(10) order by line), '')) from account_lines)
        """,
        {"cutoff_date": cutoff_date},
    ).fetchone()
    document = {
        "billing_files": billing,
        "visible_referrals_md5": referrals,
        "named_accounts_md5": accounts,
        "eligible_products_sha256": sha256_file(files.eligible_products),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def make_private_dir(path: Path) -> Path:
    """A directory only the owner can read (batch files hold secret coupon codes)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Publish bytes at path all at once: temp file, fsync, rename, fsync the folder.

    Returns False (and touches nothing) when the file already holds exactly these bytes.
    """
    path = Path(path)
    if path.is_file() and path.read_bytes() == data:
        return False
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return True
