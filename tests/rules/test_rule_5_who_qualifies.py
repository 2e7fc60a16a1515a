"""Rule 5: who qualifies (reason codes). One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.rules import BONUS_WINDOW_LAST_DAY, R, bonus_payable_month, day
from transforms import months

# --- rule 5: who qualifies --------------------------------------------------------


def _reason(world, referee, month="2025-04", referrer=None):
    rows = world.query(
        "select referrer_account_id, reason_code from referee_status "
        "where referee_account_id = $r and settlement_month = $m order by referee_listing_rank",
        {"r": referee, "m": month},
    )
    return dict(rows)[referrer] if referrer else rows[0][1]


def test_duplicate_referee_earliest_registration_wins(world):
    world.refer("friend", "late", R + timedelta(days=3))
    world.refer("friend", "early", R)
    world.spend("friend", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "friend", referrer="early") == "ok"
    assert _reason(world, "friend", referrer="late") == "duplicate_referee"
    assert world.query("select referrer_account_id from ledger_entries") == [("early",)]


def test_duplicate_referee_tie_goes_to_the_smallest_referrer_id(world):
    world.refer("friend", "referrer-b", R)
    world.refer("friend", "referrer-a", R)
    world.settle("2025-04")
    assert _reason(world, "friend", referrer="referrer-a") == "ok"
    assert _reason(world, "friend", referrer="referrer-b") == "duplicate_referee"


def test_unknown_account(world):
    world.account("referrer")
    world.refer("ghost", "referrer", R, known=False)
    world.spend("ghost", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "ghost") == "unknown_account"
    assert world.credited("ghost") == 0


def test_self_referral(world):
    world.account("referrer", identity_key="alice")
    world.account("alice-second", identity_key="alice")
    world.refer("alice-second", "referrer", R)
    world.spend("alice-second", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "alice-second") == "self_referral"
    assert world.credited("alice-second") == 0


def test_duplicate_referrer_account_keeps_the_account_that_referred_first(world):
    world.account("bob-1", identity_key="bob")
    world.account("bob-2", identity_key="bob")
    world.refer("friend-of-1", "bob-1", R + timedelta(days=5))
    world.refer("friend-of-2", "bob-2", R)
    world.refer("second-friend-of-1", "bob-1", R - timedelta(days=1))
    world.settle("2025-04")
    # bob-1's first referral registered earliest (the day before bob-2's)
    assert _reason(world, "second-friend-of-1") == "ok"
    assert _reason(world, "friend-of-1") == "ok"
    assert _reason(world, "friend-of-2") == "duplicate_referrer_account"


def test_duplicate_referee_identity_keeps_the_earliest_registered_account(world):
    world.account("carol-1", identity_key="carol")
    world.account("carol-2", identity_key="carol")
    world.refer("carol-1", "referrer", R + timedelta(days=1))
    world.refer("carol-2", "referrer", R)
    for friend in ("carol-1", "carol-2"):
        world.spend(friend, day(3), "50.00")
    world.settle("2025-04")
    assert _reason(world, "carol-2") == "ok"
    assert _reason(world, "carol-1") == "duplicate_referee_identity"
    assert world.credited("carol-1") == 0


@pytest.mark.parametrize("side", ["referee", "referrer"])
@pytest.mark.parametrize(
    "risk", ["fraud", "card_theft", "crypto_mining", "illegal_activity", "tos_violation"]
)
def test_disqualifying_risk_status_on_either_side(world, side, risk):
    world.account("friend", risk=risk if side == "referee" else "ok")
    world.account("referrer", risk=risk if side == "referrer" else "ok")
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "friend") == "disqualified"
    assert world.credited("friend") == 0


def test_a_referral_before_the_referrer_was_verified_never_qualifies(world):
    world.account("referrer", verified=False)
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "friend") == "referrer_unverified"
    assert world.credited("friend") == 0
    world.account("referrer", verified=datetime(2025, 4, 20, tzinfo=UTC))  # verified later
    world.settle("2025-05")
    assert _reason(world, "friend", month="2025-05") == "referrer_unverified"
    assert world.credited("friend") == 0


def test_verified_on_the_registration_instant_counts_one_second_later_does_not(world):
    registered = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    world.account("on_time", verified=registered)
    world.account("late", verified=registered + timedelta(seconds=1))
    world.refer("friend_on_time", "on_time", registered)
    world.refer("friend_late", "late", registered)
    for friend in ("friend_on_time", "friend_late"):
        world.spend(friend, day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "friend_on_time") == "ok"
    assert _reason(world, "friend_late") == "referrer_unverified"
    assert world.credited("friend_on_time") == Decimal("20.00")
    assert world.credited("friend_late") == 0


def test_frozen_referee_earns_nothing_more_and_keeps_what_was_credited(world):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), "500.00")
    bonus_month = bonus_payable_month(registered)
    world.settle(months.previous_month(bonus_month))  # base credited; bonus still on hold
    assert world.credited("friend") == Decimal("20.00")
    world.account("friend", risk="fraud")
    # a refund in the bonus window would otherwise claw the base back
    world.spend("friend", day(BONUS_WINDOW_LAST_DAY, registered), "-500.00")
    last = months.next_month(bonus_month)
    world.settle(bonus_month, last)
    status = world.status("friend", last)
    assert (status["reason_code"], status["is_frozen"]) == ("disqualified", True)
    assert status["entitlement_usd"] == Decimal("20.00")
    assert world.credited("friend") == Decimal("20.00")
