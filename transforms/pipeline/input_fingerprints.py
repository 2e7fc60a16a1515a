"""What a month sees, as digests: every billing file's SHA-256 (read again only when the
file system says its content changed), a digest per billing cycle, and the month's input
fingerprint, which a published month records and every later run compares."""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from transforms.pipeline import sql_runner
from transforms.pipeline.files import sha256_file


def file_stamp(path: Path) -> tuple[int, int, int, int]:
    """What the file system says about a file's content: size, inode, mtime and ctime (ns).

    The ctime cannot be set by a user; any write of the content moves it. A file whose
    stamp is unchanged since it was hashed has the same content (the rule git's index,
    make and rsync rely on), so its SHA-256 is not read again."""
    status = path.stat()
    return status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns


def cycle_fingerprints(
    billing: dict[str, tuple[Path, ...]], known: dict[tuple, str] | None = None
) -> tuple[dict[Path, str], dict[str, str], dict[tuple, str]]:
    """SHA-256 of every billing file, per cycle a digest of its files, and the digests
    keyed by (resolved path, *file_stamp) for the next run.

    `known` holds such keyed digests from earlier runs; only files it does not cover
    are read."""
    known = known or {}
    paths = [path for cycle in sorted(billing) for path in billing[cycle]]
    keys = {path: (str(path.resolve()), *file_stamp(path)) for path in paths}
    unknown = [path for path, key in keys.items() if key not in known]
    # hashlib releases the GIL: a thread per core reads and hashes files side by side
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        fresh = dict(zip(unknown, pool.map(sha256_file, unknown), strict=True))
    file_hashes = {path: fresh.get(path) or known[key] for path, key in keys.items()}
    stamped = {keys[path]: digest for path, digest in file_hashes.items()}
    cycles = {
        cycle: hashlib.sha256(
            json.dumps([[p.name, file_hashes[p]] for p in cycle_paths]).encode()
        ).hexdigest()
        for cycle, cycle_paths in billing.items()
    }
    return file_hashes, cycles, stamped


def _billing_files(data_dir: Path, file_hashes: dict[Path, str]) -> list[list[str]]:
    return [[str(path.relative_to(data_dir)), digest] for path, digest in file_hashes.items()]


def lines_fingerprint(
    data_dir: Path, file_hashes: dict[Path, str], eligible_products_sha256: str
) -> str:
    """A digest of what `creditflow explain` reads again for a published month: its billing
    files and the eligible products. The decisions (statuses, windows, amounts) are stored
    in the ledger, so the snapshots may move on without making the month unexplainable."""
    document = {
        "billing_files": _billing_files(data_dir, file_hashes),
        "eligible_products_sha256": eligible_products_sha256,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def month_fingerprint(
    con, data_dir: Path, file_hashes: dict[Path, str], eligible_products_sha256: str
) -> str:
    """A digest of exactly what the month can see.

    Billing cycles are immutable per delivery, so their files are hashed whole. The
    referral and account files are growing snapshots, so only what the month sees of
    them is digested (sql/queries/visible_snapshot_digests.sql)."""
    (snapshots,) = sql_runner.rows(con, sql_runner.sql_file("queries/visible_snapshot_digests.sql"))
    document = {
        "billing_files": _billing_files(data_dir, file_hashes),
        **snapshots,
        "eligible_products_sha256": eligible_products_sha256,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
