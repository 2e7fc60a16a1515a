"""Publishing: order, reruns, changed inputs, dry runs, the batch file's exact format."""

import csv
import json
import os
import stat
from datetime import date
from decimal import Decimal

import pytest

from tests.world import start_ledger
from transforms import months
from transforms.batch_file import COUPON_COLUMNS
from transforms.errors import InputError, StateConflict
from transforms.pipeline import published_files
from transforms.pipeline.options import RunOptions
from transforms.pipeline.settlement_publish import BATCH_FILES
from transforms.rules import DEFAULT_RULES_PATH


def _earning_world(world):
    world.refer("friend-b", "referrer-2", date(2025, 3, 1))
    world.refer("friend-a", "referrer-1", date(2025, 3, 1))
    world.spend("friend-a", date(2025, 3, 2), "150.00")
    world.spend("friend-b", date(2025, 3, 3), "20.00")
    return world


def _batch(world, month):
    return world.out / "batches" / month


def test_coupon_file_has_the_contract_header_and_sorted_two_decimal_rows(world):
    _earning_world(world).settle("2025-04")
    text = (_batch(world, "2025-04") / "coupons.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    assert text.splitlines()[0] == ",".join(COUPON_COLUMNS)
    assert [r["referrer_account_id"] for r in rows] == ["referrer-1", "referrer-2"]
    assert [r["amount"] for r in rows] == ["20.00", "20.00"]
    assert {r["transferable"] for r in rows} == {"false"}
    assert {r["settlement_month"] for r in rows} == {"2025-04"}
    assert all(r["coupon_code"].startswith("RAF-") for r in rows)


def test_month_without_coupons_writes_a_header_only_file(world):
    _earning_world(world).settle("2025-03")
    assert (_batch(world, "2025-03") / "coupons.csv").read_text() == ",".join(COUPON_COLUMNS) + "\n"


def test_manifest_records_totals_hash_rules_and_inputs(world):
    _earning_world(world).settle("2025-04")
    folder = _batch(world, "2025-04")
    manifest = json.loads((folder / "manifest.json").read_text())
    import hashlib

    assert (
        manifest["coupons_csv_sha256"]
        == hashlib.sha256((folder / "coupons.csv").read_bytes()).hexdigest()
    )
    assert manifest["coupon_count"] == 2
    assert manifest["coupon_total_usd"] == "40.00"
    assert manifest["cutoff_date"] == "2025-04-30"
    assert manifest["issued_on"] == "2025-05-05"
    assert manifest["rules"]["cap_per_referee_usd"] == "300.00"
    assert len(manifest["input_fingerprint"]) == 64
    assert manifest["coupon_key"] == "configured"


def test_batch_directory_and_files_are_private(world):
    _earning_world(world).settle("2025-04")
    folder = _batch(world, "2025-04")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    # exactly the declared files, each owner-only
    assert sorted(p.name for p in folder.iterdir()) == sorted(published_files.names(BATCH_FILES))
    for name in published_files.names(BATCH_FILES):
        assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600


def test_rerun_of_a_published_month_is_byte_identical_and_issues_nothing(world):
    _earning_world(world).settle("2025-03", "2025-05")
    before = {p.name: p.read_bytes() for p in _batch(world, "2025-04").iterdir()}
    ledger_rows = world.query("select count(*) from ledger_entries")
    (outcome,) = world.settle("2025-04")
    assert outcome.action == "already published"
    assert {p.name: p.read_bytes() for p in _batch(world, "2025-04").iterdir()} == before
    assert world.query("select count(*) from ledger_entries") == ledger_rows


def test_rerun_restores_a_lost_batch_file_identically(world):
    _earning_world(world).settle("2025-04")
    coupons = _batch(world, "2025-04") / "coupons.csv"
    original = coupons.read_bytes()
    coupons.unlink()
    world.settle("2025-04")
    assert coupons.read_bytes() == original


def test_changed_inputs_of_a_published_month_change_nothing_and_conflict(world):
    _earning_world(world).settle("2025-04")
    before = (_batch(world, "2025-04") / "coupons.csv").read_bytes()
    world.spend("friend-b", date(2025, 4, 3), "-20.00")  # a late refund inside April
    with pytest.raises(
        StateConflict, match=r"already published.*inputs changed.*next unsettled month"
    ):
        world.settle("2025-04")
    assert (_batch(world, "2025-04") / "coupons.csv").read_bytes() == before
    # ... and the correction flows into the next month as a negative delta (friend-a's bonus
    # may be paid that month too, depending on the bonus window)
    world.settle("2025-05")
    assert world.query(
        "select component, amount_usd from ledger_entries "
        "where settlement_month = '2025-05' and referee_account_id = 'friend-b'"
    ) == [("base", Decimal("-20.00"))]


def test_new_referrals_after_the_cutoff_do_not_make_a_published_month_look_changed(world):
    _earning_world(world).settle("2025-04")
    world.refer("newcomer", "referrer-1", date(2025, 6, 1))
    (outcome,) = world.settle("2025-04")
    assert outcome.action == "already published"


def test_changed_coupon_key_is_refused_for_a_published_month(world, monkeypatch):
    _earning_world(world).settle("2025-04")
    monkeypatch.setenv("CREDITFLOW_COUPON_KEY", "a-different-key-for-this-test")
    with pytest.raises(StateConflict, match="coupon key changed"):
        world.settle("2025-04")


def test_months_are_settled_in_order_without_gaps(world):
    _earning_world(world).settle("2025-03")
    with pytest.raises(StateConflict, match="no gaps; settle 2025-04 first"):
        world.settle("2025-05")
    with pytest.raises(StateConflict, match="ledger starts at 2025-03"):
        world.settle("2025-02")


def test_missing_billing_cycle_for_the_month_is_an_input_error(world):
    _earning_world(world)
    world.last_cycle = "2025-03"
    with pytest.raises(InputError, match="no billing export for 2025-04"):
        world.settle("2025-04")
    assert not (world.out / "batches").exists()


def test_dry_run_writes_a_preview_and_leaves_the_ledger_alone(world):
    _earning_world(world).settle("2025-03")
    (outcome,) = world.settle("2025-04", dry_run=True)
    assert outcome.action == "dry run"
    assert (world.out / "previews" / "2025-04" / "coupons.csv").is_file()
    assert not _batch(world, "2025-04").exists()
    assert world.query("select max(settlement_month) from settlements") == [("2025-03",)]
    world.settle("2025-04")
    assert (world.out / "previews" / "2025-04" / "coupons.csv").read_bytes() == (
        _batch(world, "2025-04") / "coupons.csv"
    ).read_bytes()


def test_development_key_is_named_in_codes_and_manifest(world, monkeypatch):
    monkeypatch.delenv("CREDITFLOW_COUPON_KEY")
    _earning_world(world).settle("2025-04")
    manifest = json.loads((_batch(world, "2025-04") / "manifest.json").read_text())
    assert manifest["coupon_key"] == "development"
    assert "DEVELOPMENT" in manifest["warning"]
    rows = list(csv.DictReader((_batch(world, "2025-04") / "coupons.csv").read_text().splitlines()))
    assert all(r["coupon_code"].startswith("DEV-") for r in rows)


@pytest.mark.flow
def test_the_backfill_flow_equals_settling_month_by_month(prefect_harness, world, tmp_path):
    """`creditflow backfill` (the Prefect flow over the range) and one `settle` per month
    publish the same bytes: same coupons, manifests and welcome files, month after month,
    with a refund after payment, a bonus, a carry and a friend who arrives later."""
    from flows.settlement import backfill

    _earning_world(world)
    world.spend("friend-a", date(2025, 5, 3), "-140.00")  # a refund after the base was paid
    world.refer("friend-c", "referrer-1", date(2025, 4, 20))
    world.spend("friend-c", date(2025, 4, 21), "90.00")
    world.settle("2025-03", "2025-08")
    options = RunOptions(data_dir=world.data, out_dir=tmp_path / "backfill")
    start_ledger(options.out_dir, world.data, "2025-03")
    outcomes = backfill("2025-03", "2025-08", options)
    assert [o.action for o in outcomes] == ["published"] * 6
    assert sum(o.coupon_count for o in outcomes) > 0
    for month in months.month_range("2025-03", "2025-08"):
        for name in published_files.names(BATCH_FILES):
            flowed = (tmp_path / "backfill" / "batches" / month / name).read_bytes()
            assert flowed == (_batch(world, month) / name).read_bytes(), (month, name)


def test_account_ids_with_commas_are_quoted_and_validated(world, tmp_path):
    # the default id pattern refuses commas and spaces; an operator's pattern may allow them
    # (inner spaces only: surrounding ones are always refused)
    rules = tmp_path / "rules.toml"
    edge = "[A-Za-z0-9._:-]"
    rules.write_text(
        DEFAULT_RULES_PATH.read_text()
        + f'id_pattern = "{edge}([A-Za-z0-9._:, -]{{0,62}}{edge})?"\n'
    )
    world.refer("friend", "referrer, Ltd", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "20.00")
    world.settle("2025-04", config=rules)
    rows = list(csv.DictReader((_batch(world, "2025-04") / "coupons.csv").read_text().splitlines()))
    assert [(r["referrer_account_id"], r["amount"]) for r in rows] == [("referrer, Ltd", "20.00")]


def test_rows_changed_on_their_way_into_the_ledger_are_rendered_again_and_refused(
    world, monkeypatch
):
    """The files a month was validated with are written as they are only when the committed
    rows are the computed ones; a row changed on its way into the ledger makes the batch be
    rendered again from the ledger, where it no longer matches the recorded digest: refused,
    with nothing written."""
    from transforms.pipeline import warehouse

    append = warehouse.append

    def append_then_change_a_cent(con, *args, **kwargs):
        append(con, *args, **kwargs)
        con.execute("update warehouse.coupons set amount_usd = amount_usd + 0.01")

    monkeypatch.setattr(warehouse, "append", append_then_change_a_cent)
    _earning_world(world)
    with pytest.raises(StateConflict, match=r"2025-04: re-rendered coupons\.csv does not match"):
        world.settle("2025-04")
    assert not (_batch(world, "2025-04") / "coupons.csv").exists()


_COMPUTED_COUPONS = (
    "create table coupons as select * from (values "
    "('2025-04', 'r-1', 20.00::decimal(18, 2), date '2025-05-05', null), "
    "('2025-04', 'r-1', 20.00::decimal(18, 2), date '2025-05-05', null), "
    "('2025-04', 'r-2', 35.10::decimal(18, 2), date '2025-05-05', 'x')) "
    "as t(settlement_month, referrer_account_id, amount_usd, issued_on, note)"
)


@pytest.mark.parametrize(
    ("committed", "same"),
    [
        ("select * from coupons", True),
        ("select * from coupons union all select '2025-03', 'r-9', 1, date '2025-04-05', ''", True),
        ("select * replace (amount_usd + 0.01 as amount_usd) from coupons", False),
        ("select * from coupons union all (select * from coupons limit 1)", False),
        ("select distinct * from coupons", False),
        ("select * replace (issued_on::timestamp as issued_on) from coupons", False),
        ("select * exclude (note) from coupons", False),
    ],
    ids=[
        "the same rows",
        "another month differs",
        "a cent changed",
        "a row committed twice",
        "a repeated row committed once",
        "a column retyped",
        "a column missing",
    ],
)
def test_same_rows_committed_holds_only_for_the_months_rows_column_for_column(committed, same):
    import duckdb

    con = duckdb.connect()
    con.execute("attach ':memory:' as warehouse")
    con.execute(_COMPUTED_COUPONS)
    con.execute(f"create table warehouse.coupons as {committed}")
    assert published_files.same_rows_committed(con, "coupons", "2025-04") is same
