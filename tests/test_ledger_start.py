"""Starting a ledger is deliberate (docs/operations.md#starting-a-ledger): an empty OUT
settles only the data's first billing cycle unless `creditflow init` chose a later first
month, and a ledger settled from one data directory does not silently read another."""

import shutil
from datetime import date

import pytest

from tests.world import World
from transforms.errors import ExportNotDelivered, StateConflict
from transforms.pipeline import ledger_start, recovery, settlement
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions


@pytest.fixture
def paying_world(tmp_path) -> World:
    """Cycles 2025-01..2025-04; two friends qualify in January (USD 20.00 each, paid from
    the month their 30-day hold ends)."""
    world = World(tmp_path, first_cycle="2025-01", last_cycle="2025-04")
    for number in (1, 2):
        world.refer(f"friend-{number}", f"referrer-{number}", date(2025, 1, 2))
        world.spend(f"friend-{number}", date(2025, 1, 3), "20.00")
    world.write()
    return world


def _settle(world: World, month: str, **options):
    return settlement.settle(month, RunOptions(data_dir=world.data, out_dir=world.out, **options))


def _settled_months(world: World) -> list[str]:
    if not (world.out / "warehouse.duckdb").exists():
        return []
    return [row[0] for row in world.query("select settlement_month from settlements order by 1")]


def test_an_empty_out_refuses_a_later_month_and_says_what_it_would_have_paid(paying_world):
    with pytest.raises(StateConflict) as refused:
        _settle(paying_world, "2025-03")
    message = str(refused.value)
    assert "holds no ledger yet" in message and "first billing cycle" in message
    assert "would pay 2 coupon(s), USD 40.00" in message
    assert f"creditflow init --out {paying_world.out}" in message
    assert "--first-month 2025-03" in message
    assert _settled_months(paying_world) == []
    assert not (paying_world.out / "batches").exists()


def test_the_data_first_cycle_needs_no_init(paying_world):
    (outcome,) = [_settle(paying_world, "2025-01")]
    assert outcome.action == "published" and _settled_months(paying_world) == ["2025-01"]


def test_a_ledger_started_on_purpose_settles_from_its_first_month(paying_world):
    layout = OutputLayout(paying_world.out)
    assert ledger_start.start(layout, paying_world.data, "2025-03", "init") == "started"
    with pytest.raises(StateConflict, match="the ledger starts at 2025-03"):
        _settle(paying_world, "2025-02")
    with pytest.raises(StateConflict, match=r"settle 2025-03 first"):
        _settle(paying_world, "2025-04")
    outcome = _settle(paying_world, "2025-03")
    assert (outcome.action, outcome.coupon_count, str(outcome.coupon_total_usd)) == (
        "published",
        2,
        "40.00",
    )
    assert _settle(paying_world, "2025-04").action == "published"


def test_a_start_is_recorded_once(paying_world):
    layout = OutputLayout(paying_world.out)
    assert ledger_start.start(layout, paying_world.data, "2025-03", "init") == "started"
    assert ledger_start.start(layout, paying_world.data, "2025-03", "init") == "already started"
    with pytest.raises(StateConflict, match="already holds a ledger that starts at 2025-03"):
        ledger_start.start(layout, paying_world.data, "2025-02", "init")


def test_a_ledger_with_settled_months_cannot_be_started_again(paying_world):
    _settle(paying_world, "2025-01")
    with pytest.raises(StateConflict, match="already holds a ledger that starts at 2025-01"):
        ledger_start.start(OutputLayout(paying_world.out), paying_world.data, "2025-03", "init")


def test_a_start_needs_the_first_month_delivered(paying_world):
    with pytest.raises(ExportNotDelivered, match="no billing export for 2025-06"):
        ledger_start.start(OutputLayout(paying_world.out), paying_world.data, "2025-06", "init")
    assert not (paying_world.out / "warehouse.duckdb").exists()


def test_another_data_directory_stops_the_run_unless_the_data_moved(paying_world):
    _settle(paying_world, "2025-01")
    moved = paying_world.root / "moved-data"
    shutil.copytree(paying_world.data, moved)
    options = RunOptions(data_dir=moved, out_dir=paying_world.out)
    with pytest.raises(StateConflict) as refused:
        settlement.settle("2025-02", options)
    assert f"settled from {paying_world.data.resolve()}" in str(refused.value)
    assert "--data-moved" in str(refused.value)
    assert _settled_months(paying_world) == ["2025-01"]
    settlement.settle("2025-02", options.model_copy(update={"data_moved": True}))
    # the move is recorded with the month: the next month reads the new place without a word
    assert settlement.settle("2025-03", options).action == "published"
    (recorded,) = paying_world.query(
        "select data_dir from settlements where settlement_month = '2025-03'"
    )
    assert recorded == (str(moved.resolve()),)
    with pytest.raises(StateConflict, match="not from this data directory"):
        _settle(paying_world, "2025-04")


def test_a_dry_run_may_preview_any_month(paying_world):
    outcome = _settle(paying_world, "2025-03", dry_run=True)
    assert outcome.action == "dry run" and _settled_months(paying_world) == []


def test_recover_rebuilds_a_ledger_that_was_started_on_purpose(paying_world):
    ledger_start.start(OutputLayout(paying_world.out), paying_world.data, "2025-02", "init")
    for month in ("2025-02", "2025-03"):
        _settle(paying_world, month)
    (paying_world.out / "warehouse.duckdb").unlink()
    done = recovery.recover(RunOptions(data_dir=paying_world.data, out_dir=paying_world.out))
    assert done.settlement_months == ["2025-02", "2025-03"]
    assert _settled_months(paying_world) == ["2025-02", "2025-03"]
