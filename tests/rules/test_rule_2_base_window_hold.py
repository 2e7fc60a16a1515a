"""Rule 2: the base credit, its window and its hold. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

from tests.rules import HOLD, QUALIFICATION_WINDOW_LAST_DAY, R, day, month_of

# --- rule 2: base credit, window and hold -------------------------------------------


def test_threshold_reached_on_the_last_day_of_the_window_counts_and_a_day_later_does_not(world):
    registered, last = date(2025, 1, 1), QUALIFICATION_WINDOW_LAST_DAY
    world.refer("on_the_last_day", "referrer", registered)
    world.refer("a_day_late", "referrer", registered)
    world.spend("on_the_last_day", day(last, registered), "20.00")
    world.spend("a_day_late", day(last + 1, registered), "20.00")
    month = month_of(day(last, registered) + HOLD)  # the hold of a crossing on the last day
    world.settle(month)
    assert world.status("on_the_last_day", month)["qualified_date"] == day(last, registered)
    assert world.credited("on_the_last_day") == Decimal("20.00")
    # the window and its hold are over at F: final without a payment
    assert world.status("a_day_late", month)["base_status"] == "final_below_threshold"
    assert world.credited("a_day_late") == 0


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
    assert status["qualified_date"] is None  # P ends below the threshold: no crossing stands
    assert status["base_status"] == "fell_below_threshold"
    assert world.credited("friend") == 0


def test_a_re_crossing_restarts_the_hold(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "20.00")
    world.spend("friend", day(3), "-20.00")
    world.spend("friend", day(40), "20.00")  # 2025-04-09: Q, the latest crossing
    world.settle("2025-03", "2025-05")
    assert world.status("friend", "2025-04")["qualified_date"] == day(40)
    assert world.status("friend", "2025-04")["base_status"] == "on_hold"
    assert world.status("friend", "2025-05")["base_status"] == "earned"  # 05-09 <= 05-31


def test_a_re_crossing_waits_exactly_30_days(world):
    """Day 29 of the new hold is unpaid, day 30 is paid (cutoff 2025-04-30)."""
    for friend, crossed in (("day29", date(2025, 4, 1)), ("day30", date(2025, 3, 31))):
        world.refer(friend, "referrer", R)
        world.spend(friend, day(2), "20.00")
        world.spend(friend, day(3), "-20.00")
        world.spend(friend, crossed, "20.00")  # the re-crossing: Q
    world.settle("2025-04")
    assert world.status("day29", "2025-04")["qualified_date"] == date(2025, 4, 1)
    assert world.status("day29", "2025-04")["base_status"] == "on_hold"
    assert world.status("day30", "2025-04")["qualified_date"] == date(2025, 3, 31)
    assert world.credited("day30") == Decimal("20.00")
    assert world.credited("day29") == 0


def test_a_refund_billed_on_the_finality_date_counts_and_one_day_later_does_not(world):
    """F = R + 394 (day 365 + the 30-day hold): after it a friend's entitlement is final."""
    registered = date(2025, 1, 1)  # F = 2026-01-30
    for friend, refunded in (("on_f", date(2026, 1, 30)), ("after_f", date(2026, 1, 31))):
        world.refer(friend, "referrer", registered)
        world.spend(friend, day(2, registered), "20.00")
        world.spend(friend, refunded, "-5.00")
    world.settle("2026-01")
    on_f, after_f = world.status("on_f", "2026-01"), world.status("after_f", "2026-01")
    assert on_f["finality_date"] == date(2026, 1, 30) and on_f["is_final"]
    assert on_f["eligible_spend_to_date_usd"] == Decimal("15.00")
    assert on_f["base_status"] == "final_below_threshold"
    assert world.credited("on_f") == 0
    assert after_f["eligible_spend_to_date_usd"] == Decimal("20.00")
    assert world.credited("after_f") == Decimal("20.00")
