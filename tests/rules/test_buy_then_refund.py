"""The four buy-then-refund cases of issue 12, each with what the refund-safe rules pay
(docs/rules.md, "Buy then refund: four worked cases"). The first-crossing rules before
them paid the amount named "was" in each docstring."""

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.rules import BONUS_WINDOW_LAST_DAY, bonus_payable_month, day

R = date(2025, 1, 1)


def test_2920_bought_on_day_1_and_2900_refunded_the_day_after_the_bonus_window_pays_20_not_300(
    world,
):
    """Was 300.00 (the bonus window's spend summed only lines dated in the window). Now
    20.00: the linked refund counts on its purchase's day 1, and an unlinked one billed
    after the bonus window counts against it (rule 2), so the bonus window's spend is 20.00
    either way and the bonus is 0.00."""
    for friend in ("linked", "unlinked"):
        world.refer(friend, "referrer", R)
        bought = world.spend(friend, day(1, R), "2920.00")
        refunded_on = day(BONUS_WINDOW_LAST_DAY + 1, R)
        world.spend(
            friend, refunded_on, "-2900.00", original=bought if friend == "linked" else None
        )
    month = bonus_payable_month(R)  # the window's end + the hold: the bonus is decided
    world.settle(month)
    for friend in ("linked", "unlinked"):
        status = world.status(friend, month)
        assert status["bonus_window_spend_usd"] == Decimal("20.00"), friend
        assert status["bonus_status"] == "earned"
        assert world.credited(friend) == Decimal("20.00"), friend
    assert world.status("linked", month)["linked_refunds_usd"] == Decimal("-2900.00")
    assert world.status("unlinked", month)["unplaceable_refunds_usd"] == Decimal("-2900.00")


def test_500_bought_on_day_361_and_refunded_on_day_367_pays_0_not_20(world):
    """Was 20.00 (the refund fell after the 365-day window and was ignored). Now 0.00: an
    unlinked refund billed after the window counts against it up to the finality date."""
    world.refer("friend", "referrer", R)
    world.spend("friend", day(361, R), "500.00")  # 2025-12-27; Q + 30 = 2026-01-26
    world.spend("friend", day(367, R), "-500.00")  # 2026-01-02
    world.settle("2025-12", "2026-01")
    assert world.status("friend", "2025-12")["base_status"] == "on_hold"
    january = world.status("friend", "2026-01")  # F = 2026-01-30: final in January
    assert january["eligible_spend_to_date_usd"] == 0
    assert january["qualified_date"] is None
    assert january["base_status"] == "final_below_threshold"
    assert world.credited("friend") == 0


def test_20_bought_and_refunded_twice_pays_0_and_leaves_no_negative_carry(world):
    """Was 20.00 paid in July without any hold (Q fixed at day 1), clawed back in August
    as a carry of -20.00 that is never collected. Now 0.00 and no carry: the purchase on
    day 200 is a new crossing, so its hold starts again, and the refund comes first."""
    registered = date(2025, 1, 13)  # day 200 = 2025-07-31, day 202 = 2025-08-02
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(1, registered), "20.00")
    world.spend("friend", day(2, registered), "-20.00")
    world.spend("friend", day(200, registered), "20.00")
    world.spend("friend", day(202, registered), "-20.00")
    world.settle("2025-07", "2025-08")
    july = world.status("friend", "2025-07")
    assert july["qualified_date"] == date(2025, 7, 31)
    assert july["base_status"] == "on_hold"
    assert world.credited("friend") == 0
    assert world.query("select count(*) from ledger_entries") == [(0,)]
    assert world.query("select coalesce(min(carry_out_usd), 0) from referrer_balances") == [(0,)]


def test_referrer_verified_twelve_months_after_the_referral_gets_0_not_28(world):
    """Was 28.00 at once (20.00 + 10 % of 80.00) in the month of verification. Now 0.00:
    the program hands out referral links only after verification (FAQ 6), so the referral
    stays referrer_unverified."""
    world.account("referrer", verified=datetime(2026, 1, 1, 9, tzinfo=UTC))
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2, R), "100.00")
    world.settle("2026-01")
    status = world.status("friend", "2026-01")
    assert status["reason_code"] == "referrer_unverified"
    assert status["referrer_verified_at"] == datetime(2026, 1, 1, 9)
    assert world.credited("friend") == 0
