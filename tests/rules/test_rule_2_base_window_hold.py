"""Rule 2: the base credit, its window and its hold. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

from tests.rules import R, day

# --- rule 2: base credit, window and hold -------------------------------------------


def test_threshold_reached_on_day_365_counts_and_day_366_does_not(world):
    registered = date(2025, 1, 1)
    world.refer("day365", "referrer", registered)
    world.refer("day366", "referrer", registered)
    world.spend("day365", day(365, registered), "20.00")
    world.spend("day366", day(366, registered), "20.00")
    world.settle("2026-01")  # cutoff 2026-01-31 = day 365 + 31
    assert world.status("day365", "2026-01")["qualified_date"] == date(2025, 12, 31)
    assert world.credited("day365") == Decimal("20.00")
    assert world.status("day366", "2026-01")["base_status"] == "window_closed"
    assert world.credited("day366") == 0


def test_hold_ending_exactly_on_the_cutoff_pays(world):
    world.refer("ends_on_cutoff", "referrer", R)
    world.refer("ends_after_cutoff", "referrer", R)
    world.spend("ends_on_cutoff", date(2025, 3, 31), "20.00")  # 03-31 + 30 days = 04-30
    world.spend("ends_after_cutoff", date(2025, 4, 1), "20.00")  # 04-01 + 30 days = 05-01
    world.settle("2025-04", "2025-05")
    assert world.status("ends_on_cutoff", "2025-04")["base_status"] == "earned"
    assert world.status("ends_after_cutoff", "2025-04")["base_status"] == "on_hold"
    assert world.query(
        "select settlement_month, referee_account_id, amount_usd from ledger_entries order by 1, 2"
    ) == [
        ("2025-04", "ends_on_cutoff", Decimal("20.00")),
        ("2025-05", "ends_after_cutoff", Decimal("20.00")),
    ]


def test_refund_inside_the_hold_cancels_the_base(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "25.00")  # Q = day 2
    world.spend("friend", day(10), "-10.00")  # refund during the hold
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["qualified_date"] == day(2)
    assert status["base_status"] == "fell_below_threshold"
    assert world.credited("friend") == 0


def test_refunds_count_on_their_own_date_so_q_is_the_first_crossing(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "20.00")
    world.spend("friend", day(3), "-20.00")
    world.spend("friend", day(40), "20.00")
    world.settle("2025-03", "2025-05")
    assert world.status("friend", "2025-04")["qualified_date"] == day(2)
    assert world.status("friend", "2025-03")["base_status"] == "on_hold"
    # at the April cutoff the hold from Q is over and the spend is back at 20.00
    assert world.status("friend", "2025-04")["base_status"] == "earned"
