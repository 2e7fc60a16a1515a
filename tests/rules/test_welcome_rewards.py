"""Welcome rewards for the referred friend (docs/instruments.md#welcome-rewards): issued by the
settlement of the friend's registration month, used and expired in the instrument ledger.
One tiny world per rule, run through the real pipelines."""

from datetime import date
from decimal import Decimal

import pytest

from tests.world import month_events as _events
from tests.world import month_state as _state

WELCOME_HEADER = (
    "referee_account_id,referrer_account_id,instrument_kind,amount,currency,valid_from,"
    "valid_to,min_order_usd,settlement_month"
)


def _welcome_csv(world, month) -> list[str]:
    return (world.out / "batches" / month / "welcome.csv").read_text().splitlines()


def test_each_ok_friend_of_the_month_gets_one_pair_once_in_a_lifetime(world):
    world.refer("waiting", "referrer", date(2025, 4, 10))  # no spend yet: still 'ok'
    world.refer("twice", "referrer", date(2025, 4, 12))
    world.refer("twice", "other-referrer", date(2025, 4, 20))  # listed again: one pair
    world.account("risky", risk="fraud")
    world.refer("risky", "referrer", date(2025, 4, 15))  # disqualified at the cutoff
    world.refer("before-start", "referrer", date(2025, 3, 30))  # before the first month
    world.refer("may-friend", "referrer", date(2025, 5, 2))
    world.settle("2025-04", "2025-05")
    assert _welcome_csv(world, "2025-04") == [
        WELCOME_HEADER,
        "twice,referrer,welcome_credit,10.00,USD,2025-04-12,2025-06-10,,2025-04",
        "twice,referrer,welcome_discount,10.00,USD,2025-04-12,2025-06-10,20.00,2025-04",
        "waiting,referrer,welcome_credit,10.00,USD,2025-04-10,2025-06-08,,2025-04",
        "waiting,referrer,welcome_discount,10.00,USD,2025-04-10,2025-06-08,20.00,2025-04",
    ]
    # May issues only May's friend: nobody gets a second pair
    assert [line.split(",")[:3] for line in _welcome_csv(world, "2025-05")[1:]] == [
        ["may-friend", "referrer", "welcome_credit"],
        ["may-friend", "referrer", "welcome_discount"],
    ]
    assert world.query(
        "select count(*), count(distinct (referee_account_id, instrument_kind)) "
        "from welcome_rewards"
    ) == [(6, 6)]


def test_the_manifest_records_the_welcome_file_and_reruns_are_identical(world):
    world.refer("friend", "referrer", date(2025, 4, 10))
    world.settle("2025-04")
    folder = world.out / "batches" / "2025-04"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    manifest = (folder / "manifest.json").read_text()
    assert '"welcome_count": 2' in manifest and '"welcome_total_usd": "20.00"' in manifest
    (outcome,) = world.settle("2025-04")
    assert outcome.action == "already published"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_friend_cleared_by_risk_review_later_gets_the_pair_while_it_can_be_used(world):
    world.account("reviewed", risk="fraud")
    world.refer("reviewed", "referrer", date(2025, 4, 25))
    world.settle("2025-04")
    assert _welcome_csv(world, "2025-04") == [WELCOME_HEADER]
    world.accounts["reviewed"]["risk_status"] = "ok"
    world.settle("2025-05")
    # still valid R..R+59 (2025-04-25..2025-06-23), issued by the first month it is ok
    assert [line.split(",")[5:] for line in _welcome_csv(world, "2025-05")[1:]] == [
        ["2025-04-25", "2025-06-23", "", "2025-05"],
        ["2025-04-25", "2025-06-23", "20.00", "2025-05"],
    ]


def _instrument_world(world):
    """A friend registered 2025-04-10: both rewards valid 2025-04-10..2025-06-08."""
    world.refer("friend", "referrer", date(2025, 4, 10))
    world.settle("2025-04", "2025-06")
    return world


def test_welcome_rewards_enter_the_ledger_in_their_registration_month(world):
    _instrument_world(world).run_instruments("2025-04")
    credit = _state(world, "2025-04", "friend:welcome_credit")
    discount = _state(world, "2025-04", "friend:welcome_discount")
    assert (credit["status"], credit["remaining_balance_usd"], credit["min_order_usd"]) == (
        "active",
        Decimal("10.00"),
        None,
    )
    assert discount["min_order_usd"] == Decimal("20.00")
    # the select products travel with the reward: the eligible products at the cutoff
    assert "ecs" in credit["allowed_products"] and "swas" not in credit["allowed_products"]


def test_the_credit_may_be_used_in_part_and_the_rest_expires_after_60_days(world):
    _instrument_world(world)
    for usage_id, amount, when in (("w1", "3.00", date(2025, 4, 11)), ("w2", "4.50", "day 60")):
        world.use_coupon(
            usage_id,
            "friend",
            None,
            amount,
            date(2025, 6, 8) if when == "day 60" else when,
            kind="welcome_credit",
        )
    world.use_coupon("w3", "friend", None, "1.00", date(2025, 6, 9), kind="welcome_credit")
    world.run_instruments("2025-04", "2025-06")
    assert _events(world, "2025-04") == {"w1": (True, None)}
    assert _events(world, "2025-06") == {"w2": (True, None), "w3": (False, "outside_validity")}
    final = _state(world, "2025-06", "friend:welcome_credit")
    assert (final["status"], final["expired_this_month_usd"]) == ("expired", Decimal("2.50"))


@pytest.mark.parametrize(
    ("usage", "reason"),
    [
        ({"order": "19.99"}, "below_minimum_order"),
        ({"order": None}, "below_minimum_order"),
        ({"amount": "5.00", "order": "30.00"}, "partial_discount"),
        ({"product": "swas"}, "product_not_eligible"),
        ({"amount": "10.00", "order": "8.00"}, "invalid_amount"),
        ({"when": date(2025, 6, 9)}, "outside_validity"),
        (None, None),
    ],
)
def test_the_discount_takes_10_off_one_order_of_at_least_20(world, usage, reason):
    _instrument_world(world)
    options = {"amount": "10.00", "order": "20.00", "product": "ecs", "when": date(2025, 4, 20)}
    options |= usage or {}
    world.use_coupon(
        "w1",
        "friend",
        None,
        options["amount"],
        options["when"],
        product=options["product"],
        kind="welcome_discount",
        order=options["order"],
    )
    world.run_instruments("2025-04", "2025-06")
    month = options["when"].strftime("%Y-%m")
    assert _events(world, month) == {"w1": (reason is None, reason)}
    final = _state(world, "2025-06", "friend:welcome_discount")
    assert final["status"] == ("redeemed" if reason is None else "expired")


def test_rollforward_has_a_row_per_kind_and_balances(world):
    _instrument_world(world)
    world.use_coupon("w1", "friend", None, "4.00", date(2025, 4, 11), kind="welcome_credit")
    world.run_instruments("2025-04", "2025-06")
    rows = world.query(
        "select instrument_month, instrument_kind, opening_outstanding_usd, issued_usd, "
        "redeemed_or_used_usd, expired_usd, closing_outstanding_usd "
        "from instrument_rollforward where instrument_kind like 'welcome%' order by 1, 2"
    )
    d = Decimal
    assert rows == [
        ("2025-04", "welcome_credit", d("0.00"), d("10.00"), d("4.00"), d("0.00"), d("6.00")),
        ("2025-04", "welcome_discount", d("0.00"), d("10.00"), d("0.00"), d("0.00"), d("10.00")),
        ("2025-05", "welcome_credit", d("6.00"), d("0.00"), d("0.00"), d("0.00"), d("6.00")),
        ("2025-05", "welcome_discount", d("10.00"), d("0.00"), d("0.00"), d("0.00"), d("10.00")),
        ("2025-06", "welcome_credit", d("6.00"), d("0.00"), d("0.00"), d("6.00"), d("0.00")),
        ("2025-06", "welcome_discount", d("10.00"), d("0.00"), d("0.00"), d("10.00"), d("0.00")),
    ]
