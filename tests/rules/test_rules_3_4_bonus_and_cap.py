"""Rules 3 and 4: the bonus and the cap. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

import pytest

from tests.rules import R, day

# --- rule 3: bonus -----------------------------------------------------------------


def test_bonus_counts_spend_on_day_90_but_not_day_91(world):
    registered = date(2025, 1, 1)
    world.refer("day90", "referrer", registered)
    world.refer("day91", "referrer", registered)
    for friend in ("day90", "day91"):
        world.spend(friend, day(2, registered), "20.00")
    world.spend("day90", day(90, registered), "100.00")
    world.spend("day91", day(91, registered), "100.00")
    world.settle("2025-04")  # day 90 + 30 days = 2025-04-30 = cutoff
    day90, day91 = world.status("day90", "2025-04"), world.status("day91", "2025-04")
    assert day90["spend_first_90_days_usd"] == Decimal("120.00")
    assert day90["entitled_bonus_usd"] == Decimal("10.00")
    assert day91["spend_first_90_days_usd"] == Decimal("20.00")
    assert day91["entitled_bonus_usd"] == 0


def test_bonus_waits_for_day_90_plus_the_hold(world):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), "120.00")
    world.settle("2025-03", "2025-04")
    march, april = world.status("friend", "2025-03"), world.status("friend", "2025-04")
    assert (march["base_status"], march["bonus_status"]) == ("earned", "on_hold")
    assert (april["base_status"], april["bonus_status"]) == ("earned", "earned")
    assert world.query(
        "select settlement_month, component, entry_kind, amount_usd from ledger_entries order by 1"
    ) == [
        ("2025-03", "base", "credit", Decimal("20.00")),
        ("2025-04", "bonus", "credit", Decimal("10.00")),
    ]


@pytest.mark.parametrize(
    ("spend_first_90_days", "bonus"),
    [
        ("20.05", "0.01"),  # 0.005 rounds half-up
        ("20.04", "0.00"),  # 0.004 rounds down
        ("20.25", "0.03"),  # 0.025: half-up, not banker's (0.02)
        ("21.00", "0.10"),
    ],
)
def test_bonus_is_rounded_half_up_to_cents(world, spend_first_90_days, bonus):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), spend_first_90_days)
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["entitled_bonus_usd"] == Decimal(bonus)


# --- rule 4: cap ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "entitlement", "capped"),
    [("2820.00", "300.00", False), ("2830.00", "300.00", True), ("2810.00", "299.00", False)],
)
def test_cap_of_300_per_referee(world, spend, entitlement, capped):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), spend)
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["entitlement_usd"] == Decimal(entitlement)
    assert status["is_capped"] is capped
    assert world.credited("friend") == Decimal(entitlement)


def test_no_limit_on_the_number_of_referees(world):
    for n in range(12):
        world.refer(f"friend{n:02d}", "referrer", R)
        world.spend(f"friend{n:02d}", day(2), "5000.00")
    world.settle("2025-04", "2025-06")
    # each friend is capped at 300 on its own; the referrer collects all of them
    total = world.query(
        "select sum(amount_usd) from coupons where referrer_account_id = 'referrer'"
    )
    assert total == [(Decimal("3600.00"),)]
