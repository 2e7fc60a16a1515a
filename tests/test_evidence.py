"""Published outputs are evidence (docs/operations.md#a-published-file-changed): a changed
published file stops every run before anything is computed, is never written over, and
`creditflow restore` keeps it under OUT/evidence/ before rendering the month again."""

import hashlib
from datetime import date

import pytest

from tests.helpers import run_cli
from transforms.errors import StateConflict


def _published(world):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "150.00")
    world.settle("2025-03", "2025-04")  # April pays the base: a coupon of 20.00
    return world.out / "batches" / "2025-04"


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["coupons.csv", "welcome.csv", "manifest.json"])
def test_an_edited_batch_file_stops_every_run_and_is_never_written_over(world, name):
    batch = _published(world)
    recorded = _sha256(batch / name)
    edited = (batch / name).read_text().replace("20.00", "2000.00") + "\n"
    (batch / name).write_text(edited)
    for month in ("2025-05", "2025-04"):  # the next month, and the month's own rerun
        with pytest.raises(StateConflict) as refused:
            world.settle(month)
        message = str(refused.value)
        assert f"{batch / name}: SHA-256 {_sha256(batch / name)} is not the {recorded}" in message
        assert "creditflow restore --month 2025-04" in message
        assert (batch / name).read_text() == edited
    assert not (world.out / "batches" / "2025-05").exists()


def test_restore_keeps_the_edited_file_as_evidence_and_renders_the_month_again(world, capsys):
    batch = _published(world)
    original = (batch / "coupons.csv").read_bytes()
    (batch / "coupons.csv").write_text("referrer,2000.00\n")
    edited_sha = _sha256(batch / "coupons.csv")
    code, out, err = run_cli(
        ["restore", "--month", "2025-04", "--data", str(world.data), "--out", str(world.out)],
        capsys,
    )
    assert code == 0, err
    kept = world.out / "evidence" / "2025-04" / f"coupons.csv.{edited_sha[:16]}"
    assert kept.read_text() == "referrer,2000.00\n"
    assert (batch / "coupons.csv").read_bytes() == original
    assert f"kept: {kept}" in out
    (outcome,) = world.settle("2025-05")  # the ledger moves on
    assert outcome.action == "published"


def test_an_edited_instrument_file_stops_the_next_instrument_month(world):
    _published(world)
    world.settle("2025-05")
    world.run_instruments("2025-04")
    rollforward = world.out / "instruments" / "2025-04" / "rollforward.csv"
    rollforward.write_text(rollforward.read_text() + "voucher,0.00,0.00,0.00,0.00,0.00\n")
    with pytest.raises(StateConflict, match=r"rollforward\.csv: SHA-256 .* recorded when 2025-04"):
        world.run_instruments("2025-05")
    with pytest.raises(StateConflict, match=r"rollforward\.csv"):
        world.settle("2025-06")  # the settlement checks the instrument ledger's files too


def test_a_missing_published_file_is_not_a_change_its_rerun_writes_it_again(world):
    batch = _published(world)
    original = (batch / "welcome.csv").read_bytes()
    (batch / "welcome.csv").unlink()
    (outcome,) = world.settle("2025-04")
    assert outcome.action == "already published"
    assert (batch / "welcome.csv").read_bytes() == original


@pytest.mark.parametrize(
    "target", ["batches/2025-04/coupons.csv", "catalog.duckdb", "warehouse.duckdb", "reports"]
)
def test_export_refuses_to_write_over_what_the_pipeline_owns(world, capsys, target):
    batch = _published(world)
    before = {p.name: p.read_bytes() for p in batch.iterdir()}
    code, _, err = run_cli(
        ["export", "--out", str(world.out), "--month", "2025-04", "--to", str(world.out / target)],
        capsys,
    )
    assert code == 2
    assert "which the pipeline owns" in err
    assert {p.name: p.read_bytes() for p in batch.iterdir()} == before


def test_temp_files_a_killed_run_left_are_cleared_by_the_next_run(world):
    batch = _published(world)
    left = [
        batch / ".welcome.csv.k1ll3d.tmp",  # inside the batch handed to issuance
        world.out / ".catalog.k1ll3d.duckdb.tmp",
        world.out / "catalog" / "settlements" / ".2025-04.parquet.k1ll3d.tmp",
    ]
    for path in left:
        path.write_bytes(b"half a file")
    kept = world.out / "my-notes" / ".draft.tmp"  # not the pipeline's: left alone
    kept.parent.mkdir()
    kept.write_text("mine")
    world.settle("2025-05")
    assert [path for path in left if path.exists()] == []
    assert kept.read_text() == "mine"
