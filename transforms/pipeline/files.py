"""Writing output files safely: atomically, privately where they hold secrets, reproducibly."""

import hashlib
import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parquet_bytes(table: pa.Table) -> bytes:
    """A Parquet file's bytes, written in memory (the same table gives the same bytes)."""
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    return buffer.getvalue().to_pybytes()


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


def write_traceback(folder: Path, error: BaseException) -> Path | None:
    """Keep an unexpected failure's traceback in folder (OUT/logs/); None when it cannot
    be written (the one-line error then says so)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"creditflow-{stamp}-{os.getpid()}.log"
        log.write_text("".join(traceback.format_exception(error)))
    except OSError:
        return None
    return log
