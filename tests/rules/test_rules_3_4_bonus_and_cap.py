"""Rules 3 and 4: the bonus and the cap. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

import pytest

from tests.rules import BONUS_WINDOW_LAST_DAY, HOLD, R, bonus_payable_month, day, month_of
from transforms import months

# --- rule 3: bonus -----------------------------------------------------------------


def test_bonus_counts_spend_on_the_last_day_of_its_window_but_not_the_next(world):
    registered, last = date(2025, 1, 1), BONUS_WINDOW_LAST_DAY
    world.refer("on_the_last_day", "referrer", registered)
    world.refer("a_day_late", "referrer", registered)
    for friend in ("on_the_last_day", "a_day_late"):
        world.spend(friend, day(2, registered), "20.00")
    world.spend("on_the_last_day", day(last, registered), "100.00")
    world.spend("a_day_late", day(last + 1, registered), "100.00")
    month = bonus_payable_month(registered)  # the window's last day + the hold: the cutoff
    world.settle(month)
    on_time, late = world.status("on_the_last_day", month), world.status("a_day_late", month)
    assert on_time["bonus_window_spend_usd"] == Decimal("120.00")
    assert on_time["entitled_bonus_usd"] == Decimal("10.00")
    assert late["bonus_window_spend_usd"] == Decimal("20.00")
    assert late["entitled_bonus_usd"] == 0


def test_bonus_waits_for_the_end_of_its_window_plus_the_hold(world):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), "120.00")
    payable = bonus_payable_month(registered)
    on_hold = months.previous_month(payable)
    assert on_hold >= month_of(day(2, registered) + HOLD)  # the base is paid by then
    world.settle(on_hold, payable)
    before, after = world.status("friend", on_hold), world.status("friend", payable)
    assert (before["base_status"], before["bonus_status"]) == ("earned", "on_hold")
    assert (after["base_status"], after["bonus_status"]) == ("earned", "earned")
    assert world.query(
        "select settlement_month, component, entry_kind, amount_usd from ledger_entries order by 1"
    ) == [
        (on_hold, "base", "credit", Decimal("20.00")),
        (payable, "bonus", "credit", Decimal("10.00")),
    ]


@pytest.mark.parametrize(
    ("bonus_window_spend", "bonus"),
    [
        ("20.05", "0.01"),  # 0.005 rounds half-up
        ("20.04", "0.00"),  # 0.004 rounds down
        ("20.25", "0.03"),  # 0.025: half-up, not banker's (0.02)
        ("21.00", "0.10"),
    ],
)
def test_bonus_is_rounded_half_up_to_cents(world, bonus_window_spend, bonus):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), bonus_window_spend)
    month = bonus_payable_month(registered)
    world.settle(month)
    assert world.status("friend", month)["entitled_bonus_usd"] == Decimal(bonus)


# --- rule 4: cap ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "entitlement", "capped"),
    [("2820.00", "300.00", False), ("2830.00", "300.00", True), ("2810.00", "299.00", False)],
)
def test_cap_of_300_per_referee(world, spend, entitlement, capped):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), spend)
    month = bonus_payable_month(registered)
    world.settle(month)
    status = world.status("friend", month)
    assert status["entitlement_usd"] == Decimal(entitlement)
    assert status["is_capped"] is capped
    assert world.credited("friend") == Decimal(entitlement)


def test_no_limit_on_the_number_of_referees(world):
    for n in range(12):
        world.refer(f"friend{n:02d}", "referrer", R)
        world.spend(f"friend{n:02d}", day(2), "5000.00")
    world.settle("2025-04", bonus_payable_month())
    # each friend is capped at 300 on its own; the referrer collects all of them
    total = world.query(
        "select sum(amount_usd) from coupons where referrer_account_id = 'referrer'"
    )
    assert total == [(Decimal("3600.00"),)]
