"""Rule 1, effective dates: a line naming its original counts on the original's date.
One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

from tests.rules import BONUS_WINDOW_LAST_DAY, R, bonus_payable_month, day

AFTER_THE_BONUS_WINDOW = BONUS_WINDOW_LAST_DAY + 10  # a day of the qualification window


def test_linked_refund_billed_after_the_bonus_window_lowers_its_spend(world):
    world.refer("friend", "referrer", R)
    bought = world.spend("friend", day(10), "120.00")
    world.spend("friend", day(AFTER_THE_BONUS_WINDOW), "-50.00", original=bought)
    month = bonus_payable_month()
    world.settle(month)
    status = world.status("friend", month)
    assert status["bonus_window_spend_usd"] == Decimal("70.00")
    assert status["linked_refunds_usd"] == Decimal("-50.00")
    assert world.credited("friend") == Decimal("25.00")  # 20.00 + 10 % of 50.00


def test_the_same_refund_unlinked_lowers_it_too(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "120.00")
    world.spend("friend", day(AFTER_THE_BONUS_WINDOW), "-50.00")
    month = bonus_payable_month()
    world.settle(month)
    status = world.status("friend", month)
    assert status["bonus_window_spend_usd"] == Decimal("70.00")
    assert status["unplaceable_refunds_usd"] == Decimal("-50.00")
    assert world.credited("friend") == Decimal("25.00")


def test_linked_refund_of_spend_after_the_bonus_window_does_not_lower_its_spend(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "120.00")
    later = world.spend("friend", day(AFTER_THE_BONUS_WINDOW - 5), "50.00")
    world.spend("friend", day(AFTER_THE_BONUS_WINDOW), "-50.00", original=later)
    month = bonus_payable_month()
    world.settle(month)
    status = world.status("friend", month)
    assert status["bonus_window_spend_usd"] == Decimal("120.00")
    assert status["eligible_spend_to_date_usd"] == Decimal("120.00")
    assert world.credited("friend") == Decimal("30.00")  # 20.00 + 10 % of 100.00


def test_linked_refund_of_a_purchase_before_registration_changes_nothing(world):
    world.refer("linked", "referrer", R)
    world.refer("unlinked", "referrer", R)
    for friend in ("linked", "unlinked"):
        before = world.spend(friend, date(2025, 2, 20), "50.00")
        world.spend(friend, day(2), "25.00")
        world.spend(friend, day(3), "-50.00", original=before if friend == "linked" else None)
    world.settle("2025-04")
    assert world.status("linked", "2025-04")["eligible_spend_to_date_usd"] == Decimal("25.00")
    assert world.credited("linked") == Decimal("20.00")
    # without the link the refund counts on its own date, against the friend
    assert world.status("unlinked", "2025-04")["eligible_spend_to_date_usd"] == Decimal("-25.00")
    assert world.credited("unlinked") == 0


def test_a_link_to_another_accounts_record_or_to_nothing_is_unlinked(world):
    world.refer("friend", "referrer", R)
    world.refer("stranger_link", "referrer", R)
    theirs = world.spend("stranger_link", day(2), "40.00")
    world.spend("friend", day(2), "40.00")
    world.spend("friend", day(5), "-10.00", original=theirs)
    world.spend("friend", day(6), "-5.00", original="never-delivered")
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["eligible_spend_to_date_usd"] == Decimal("25.00")
    assert status["linked_refunds_usd"] == 0


def test_a_linked_line_is_judged_on_its_own_product(world):
    world.refer("friend", "referrer", R)
    bought = world.spend("friend", day(2), "40.00")
    # an adjustment of an ECS purchase billed as CDN does not count (CDN is not eligible)
    world.spend("friend", day(5), "-30.00", product="cdn", original=bought)
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("40.00")
