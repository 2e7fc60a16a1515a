"""A lost or damaged warehouse never pays twice (issue 17,
docs/operations.md#a-lost-or-damaged-warehouse): runs refuse to start over the published
files, and `creditflow recover` rebuilds the ledger only when it reproduces them."""

import shutil
from datetime import date

import pytest

from tests.helpers import ledger_rows, run_cli
from transforms.errors import StateConflict
from transforms.pipeline import recovery, settlement
from transforms.pipeline.options import RunOptions


@pytest.fixture
def published(world):
    world.refer("friend-1", "referrer", date(2025, 3, 2))
    world.spend("friend-1", date(2025, 3, 3), "30.00")
    world.refer("friend-2", "referrer", date(2025, 4, 2))
    world.spend("friend-2", date(2025, 4, 3), "80.00")
    world.settle("2025-03", "2025-05")
    world.run_instruments("2025-03", "2025-05")
    return world


def test_a_lost_warehouse_stops_the_next_run_instead_of_paying_again(published):
    (published.out / "warehouse.duckdb").unlink()
    with pytest.raises(
        StateConflict, match=r"settlement month\(s\) 2025-03\.\.2025-05 are published"
    ):
        published.settle("2025-06")
    assert not (published.out / "batches" / "2025-06").exists()
    with pytest.raises(StateConflict, match="creditflow recover"):
        published.run_instruments("2025-06")


def test_recover_rebuilds_the_ledger_and_the_next_month_is_as_if_nothing_was_lost(
    published, tmp_path
):
    control = tmp_path / "control"
    shutil.copytree(published.out, control)
    (published.out / "warehouse.duckdb").unlink()
    done = recovery.recover(RunOptions(data_dir=published.data, out_dir=published.out))
    assert (done.settlement_months, done.instrument_months) == (
        ["2025-03", "2025-04", "2025-05"],
        ["2025-03", "2025-04", "2025-05"],
    )
    assert ledger_rows(published.out) == ledger_rows(control)
    assert not (published.out / recovery.SCRATCH).exists()
    published.settle("2025-06")
    options = RunOptions(data_dir=published.data, out_dir=control)
    settlement.settle("2025-06", options)
    june = [out / "batches" / "2025-06" / "coupons.csv" for out in (published.out, control)]
    assert june[0].read_bytes() == june[1].read_bytes()
    assert ledger_rows(published.out) == ledger_rows(control)


def test_a_missing_batch_file_is_proved_by_its_manifest_and_written_back(published):
    batch = published.out / "batches" / "2025-04"
    original = (batch / "coupons.csv").read_bytes()
    (batch / "coupons.csv").unlink()
    (published.out / "warehouse.duckdb").unlink()
    recovery.recover(RunOptions(data_dir=published.data, out_dir=published.out))
    assert (batch / "coupons.csv").read_bytes() == original


def test_a_missing_instrument_file_with_no_record_left_is_one_line_and_exit_4(published):
    (published.out / "instruments" / "2025-04" / "events.parquet").unlink()
    (published.out / "warehouse.duckdb").unlink()
    with pytest.raises(StateConflict, match=r"events\.parquet: missing, and nothing left"):
        recovery.recover(RunOptions(data_dir=published.data, out_dir=published.out))
    assert not (published.out / "warehouse.duckdb").exists()  # nothing swapped in


def test_a_stray_copy_of_a_month_is_named_by_every_run_and_by_recover(published):
    import shutil as copying

    stray = published.out / "batches" / "old-copy"
    copying.copytree(published.out / "batches" / "2025-04", stray)
    with pytest.raises(StateConflict, match=r"old-copy: a published month's files in a folder"):
        published.settle("2025-06")
    (published.out / "warehouse.duckdb").unlink()
    with pytest.raises(StateConflict, match=r"old-copy: a published month's files in a folder"):
        recovery.recover(RunOptions(data_dir=published.data, out_dir=published.out))


def test_recover_replaces_nothing_when_the_inputs_changed(published):
    before = (published.out / "warehouse.duckdb").read_bytes()
    published.spend("friend-1", date(2025, 3, 20), "500.00")  # a bonus March never paid
    published.write()
    with pytest.raises(StateConflict, match=r"2025-03: the rebuilt manifest\.json differs"):
        recovery.recover(RunOptions(data_dir=published.data, out_dir=published.out))
    assert (published.out / "warehouse.duckdb").read_bytes() == before
    assert not (published.out / recovery.SCRATCH).exists()


def test_a_damaged_warehouse_is_one_line_with_the_way_back(prefect_harness, published, capsys):
    (published.out / "warehouse.duckdb").write_bytes(b"not a database" * 100)
    args = ["--data", str(published.data), "--out", str(published.out)]
    code, out, err = run_cli(["settle", "--month", "2025-06", *args], capsys)
    assert code == 4
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot be opened as the warehouse" in err
    code, out, err = run_cli(["recover", *args], capsys)
    assert code == 0, err
    assert "3 settlement month(s) (2025-03..2025-05) and 3 instrument month(s)" in out
    kept = list(published.out.glob("warehouse.replaced-*.duckdb"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"not a database" * 100
