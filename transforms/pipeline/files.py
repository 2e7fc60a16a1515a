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
        _publish(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return True


def atomic_parquet_copy(con, query: str, parameters: dict, path: Path, mode: int = 0o644) -> str:
    """Publish a query's rows at path as Parquet all at once, written by DuckDB as it reads
    them (a table of a million rows never becomes a Python copy), then fsync and rename as
    atomic_write does. The query must order its rows: the same rows give the same bytes.
    Returns the file's sha256."""
    path = Path(path)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    try:
        con.execute(
            f"copy ({query}) to $temp_path (format parquet)", {**parameters, "temp_path": temp_name}
        )
        os.chmod(temp_name, mode)
        with open(temp_name, "rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_file(Path(temp_name))
        _publish(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return digest


def _publish(temp_name: str, path: Path) -> None:
    """Rename a synced temp file over path, then sync the folder so the rename survives."""
    os.replace(temp_name, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


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
