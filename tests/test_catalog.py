"""The analysts' catalog (docs/outputs.md#the-analysts-catalog): readable at any time, also
while a run publishes, and equal to the warehouse it snapshots."""

import subprocess
import sys
import textwrap
from datetime import date

import duckdb
import pytest

from transforms.pipeline import catalog

READER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, last, stop = sys.argv[1], int(sys.argv[2]), time.monotonic() + 300
    seen = set()
    while last not in seen and time.monotonic() < stop:  # until the run's last month shows
        with duckdb.connect(path, read_only=True) as con:  # a fresh session each time
            seen.add(con.execute("select count(*) from settlements").fetchone()[0])
            con.execute("select sum(delta_usd) from referee_status").fetchone()
        time.sleep(0.05)
    print(sorted(seen))
    """
)


def _earning_world(world):
    for number, month in enumerate((3, 4, 5), start=1):
        world.refer(f"friend-{number}", "referrer", date(2025, month, 2))
        world.spend(f"friend-{number}", date(2025, month, 3), "25.00")
    return world


@pytest.mark.integration  # a second process
def test_an_analyst_reads_the_catalog_while_a_run_publishes_and_neither_waits(world):
    _earning_world(world).settle("2025-03")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(world.out / "catalog.duckdb"), "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outcomes = world.settle("2025-04", "2025-06")
    out, err = reader.communicate(timeout=320)
    assert reader.returncode == 0, err
    assert [o.action for o in outcomes] == ["published"] * 3
    # the reader saw whole catalogs only: one, then more published months, never an error
    seen = [int(n) for n in out.strip().strip("[]").split(",")]
    assert seen[0] >= 1 and seen[-1] == 4


def test_the_catalog_holds_exactly_the_published_rows(world):
    _earning_world(world).settle("2025-03", "2025-06")
    world.run_instruments("2025-03", "2025-06")
    with (
        duckdb.connect(str(world.out / "warehouse.duckdb"), read_only=True) as ledger,
        duckdb.connect(str(world.out / "catalog.duckdb"), read_only=True) as analysts,
    ):
        for table in (*catalog.MONTHLY_TABLES, *catalog.WHOLE_RELATIONS):
            query = f"select * from {table} order by all"
            assert analysts.execute(query).fetchall() == ledger.execute(query).fetchall(), table
        # the coupons have no codes: they are never stored
        columns = {row[0] for row in analysts.execute("describe coupons").fetchall()}
        assert "coupon_code" not in columns
        assert analysts.execute("select count(*) from quarantine_rows").fetchone() == (0,)


def test_a_table_nothing_was_published_to_yet_reads_as_its_columns_with_no_rows(world):
    """Settled, no instrument month yet: the instrument tables are views with the ledger's
    columns and types, so an analyst's query of them works and finds nothing."""
    _earning_world(world).settle("2025-03")
    with (
        duckdb.connect(str(world.out / "warehouse.duckdb"), read_only=True) as ledger,
        duckdb.connect(str(world.out / "catalog.duckdb"), read_only=True) as analysts,
    ):
        for table in ("instrument_state", "instrument_rollforward"):
            shape = f"select column_name, column_type from (describe {table})"
            assert analysts.execute(shape).fetchall() == ledger.execute(shape).fetchall()
            assert analysts.execute(f"select count(*) from {table}").fetchone() == (0,)
        assert analysts.execute("select count(*) from referee_status").fetchone()[0] > 0


def test_a_rerun_rewrites_no_catalog_file(world):
    _earning_world(world).settle("2025-03", "2025-04")
    files = {p: p.read_bytes() for p in (world.out / "catalog").rglob("*.parquet")}
    assert files
    world.settle("2025-03", "2025-04")
    assert {p: p.read_bytes() for p in (world.out / "catalog").rglob("*.parquet")} == files


ANALYST = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write: the default of most notebooks
    con.execute("create table my_notes as select 42 as answer")  # and it writes
    print("ready", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.integration  # a second process
def test_an_analysts_read_write_session_and_its_leftover_wal_never_break_a_run(world):
    _earning_world(world).settle("2025-03")
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(world.out / "catalog.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == "ready"
        (april,) = world.settle("2025-04")  # while the session holds the old catalog
    finally:
        analyst.kill()  # killed mid-session: whatever it left beside the catalog stays
        analyst.wait()
    (may,) = world.settle("2025-05")
    assert (april.action, may.action) == ("published", "published")
    with duckdb.connect(str(world.out / "catalog.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from settlements").fetchone()[0] == 3


def test_a_catalog_that_cannot_be_refreshed_never_unpublishes_the_month(world, caplog):
    _earning_world(world).settle("2025-03")
    snapshots = world.out / "catalog" / "settlements"
    for old in snapshots.iterdir():
        old.unlink()
    snapshots.rmdir()
    snapshots.write_text("a file where the catalog keeps a folder")
    (april,) = world.settle("2025-04")
    assert april.action == "published"
    assert (world.out / "batches" / "2025-04" / "manifest.json").is_file()
    assert "catalog.duckdb was not refreshed" in caplog.text
    snapshots.unlink()  # the operator clears the way; the next run repairs the catalog
    (may,) = world.settle("2025-05")
    with duckdb.connect(str(world.out / "catalog.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from settlements").fetchone()[0] == 3
    assert may.action == "published"


def test_snapshots_left_by_another_warehouse_are_written_again_from_this_ledger(world):
    """An operator removed the warehouse and the batches but left catalog/: the next ledger
    must not show the old one's money for the months it settles again."""
    import shutil

    from tests.world import start_ledger

    _earning_world(world).settle("2025-03", "2025-04")
    snapshot = world.out / "catalog" / "settlements" / "2025-04.parquet"
    old = snapshot.read_bytes()
    (world.out / "warehouse.duckdb").unlink()
    shutil.rmtree(world.out / "batches")
    world.spend("friend-2", date(2025, 4, 4), "40.00")  # the data differ for April
    world.write()
    start_ledger(world.out, world.data, "2025-03")
    world.settle("2025-03", "2025-04")
    assert snapshot.read_bytes() != old
    with duckdb.connect(str(world.out / "catalog.duckdb"), read_only=True) as con:
        catalog_rows = con.execute(
            "select settlement_month, coupon_total_usd from settlements order by 1"
        ).fetchall()
    assert catalog_rows == world.query(
        "select settlement_month, coupon_total_usd from settlements order by 1"
    )


def test_an_out_copied_elsewhere_keeps_its_snapshots_and_a_changed_one_is_written_again(world):
    """An operator moves OUT to another disk (cp -a, rsync): every snapshot has a new stamp
    but the bytes this warehouse wrote, so the next run vouches for them again by digest
    instead of rewriting the whole history; a snapshot whose bytes changed is rewritten."""
    import shutil

    _earning_world(world).settle("2025-03", "2025-04")
    moved = world.out.with_name(f"{world.out.name}-moved")
    shutil.copytree(world.out, moved, symlinks=True)  # new inodes and ctimes, same bytes
    shutil.rmtree(world.out)
    moved.rename(world.out)
    folder = world.out / "catalog"
    tampered, other = (
        folder / "settlements" / "2025-03.parquet",
        folder / "coupons" / "2025-04.parquet",
    )
    march = tampered.read_bytes()
    tampered.write_bytes((folder / "settlements" / "2025-04.parquet").read_bytes())
    kept = {p: (p.stat().st_ino, p.stat().st_ctime_ns) for p in folder.glob("*/2025-0[34].parquet")}
    del kept[tampered]
    assert other in kept

    world.settle("2025-05")
    assert {p: (p.stat().st_ino, p.stat().st_ctime_ns) for p in kept} == kept
    assert tampered.read_bytes() == march
    # and vouched under the new stamps: the run after that does not even re-read them
    stamps = dict(
        ((relation, month), stamp)
        for relation, month, stamp in world.query(
            "select relation_name, month, file_stamp from catalog_snapshots"
        )
    )
    assert stamps[("coupons", "2025-04")] == catalog._stamp(other)
    assert stamps[("settlements", "2025-03")] == catalog._stamp(tampered)


def test_a_snapshot_is_written_whole_in_its_order_and_again_to_the_same_bytes(tmp_path):
    """The catalog's monthly snapshots are written by DuckDB as it reads (no Python copy of
    a month): each is the query's rows in the query's order, the same rows give the same
    bytes, and a write that fails leaves neither a file nor a temp file behind."""
    import pyarrow.parquet as pq

    from transforms.pipeline.files import atomic_parquet_copy, sha256_file

    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")  # as every run's session
    con.execute("create table rows as select (i * 7919) % 10007 as n, i from range(300000) t(i)")
    query = "select * from rows where n >= $low order by all"
    path = tmp_path / "2025-04.parquet"
    digest = atomic_parquet_copy(con, query, {"low": 3}, path)
    first = path.read_bytes()
    assert digest == sha256_file(path)
    assert atomic_parquet_copy(con, query, {"low": 3}, path) == digest
    assert path.read_bytes() == first
    written = pq.read_table(path)  # the file's own row order
    expected = con.execute("select n, i from rows where n >= 3 order by all").fetchall()
    assert list(zip(written["n"].to_pylist(), written["i"].to_pylist(), strict=True)) == expected
    with pytest.raises(duckdb.Error):
        atomic_parquet_copy(con, "select * from no_such_table", {}, tmp_path / "x.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-04.parquet"]
