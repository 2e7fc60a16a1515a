"""One tiny world per rule and edge of docs/rules.md, settled by the real pipeline.

Day numbering: the UTC registration date R is day 1, so day 90 is R+89 and day 365 is R+364.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from transforms.errors import InputError

R = date(2025, 3, 1)


def day(n: int, registered: date = R) -> date:
    """Day n of a referee's windows (day 1 is the registration date)."""
    return registered + timedelta(days=n - 1)


# --- rule 1: eligible spend -----------------------------------------------------------


def test_spend_of_exactly_20_00_earns_the_base(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(5), "20.00")
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["base_status"] == "earned"
    assert world.credited("friend") == Decimal("20.00")


def test_spend_of_19_99_earns_nothing(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(5), "19.99")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["base_status"] == "below_threshold"
    assert world.credited("friend") == 0


def test_spend_before_registration_does_not_count(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", R - timedelta(days=1), "100.00")
    world.spend("friend", day(1), "10.00")
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["eligible_spend_to_date_usd"] == Decimal("10.00")
    assert world.credited("friend") == 0


@pytest.mark.parametrize(
    ("product", "kind", "counts"),
    [
        ("ecs", "PayAsYouGo", True),
        ("ecs", "Subscription", False),  # ECS counts only pay-as-you-go
        ("oss", "Subscription", True),  # '*' matches both kinds
        ("cdn", "PayAsYouGo", False),  # CDN never counts
        ("swas", "Subscription", False),  # Simple Application Server never counts
        ("unlisted", "PayAsYouGo", False),  # a product not listed does not count
    ],
)
def test_only_eligible_product_and_subscription_type_count(world, product, kind, counts):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "50.00", product=product, kind=kind)
    world.settle("2025-04")
    spend = world.status("friend", "2025-04")["eligible_spend_to_date_usd"]
    assert spend == (Decimal("50.00") if counts else 0)


def test_eligibility_follows_the_effective_dates_of_the_line(world, tmp_path):
    products = tmp_path / "eligible.csv"
    products.write_text(
        "product_code,subscription_type,product_name,effective_from,effective_to\n"
        "ecs,PayAsYouGo,ECS,2020-01-01,2025-03-10\n"
    )
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "15.00")  # 2025-03-10: last effective day
    world.spend("friend", day(11), "15.00")  # 2025-03-11: no longer eligible
    world.settle("2025-04", eligible_products=products)
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("15.00")


def test_coupon_paid_part_of_a_line_does_not_count(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "5.00", coupon="40.00")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("5.00")


def test_a_record_delivered_twice_counts_once(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("15.00")
    assert world.credited("friend") == 0


def test_a_record_delivered_twice_with_different_content_is_rejected(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "16.00", record_id="same-record")
    with pytest.raises(
        InputError,
        match=r"part-0.parquet: record_id delivered twice with different content.*record_id=same-record",
    ):
        world.settle("2025-04")


def test_copies_of_a_record_that_differ_in_any_column_are_rejected(world):
    # identical means identical: a copy that differs only in a column the rules do not
    # read is still a different record, and counting either copy would be a guess
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "15.00", record_id="same-record")["product_name"] = "Renamed"
    with pytest.raises(InputError, match=r"record_id delivered twice with different content"):
        world.settle("2025-04")


def test_record_ids_are_matched_within_their_billing_cycle(world):
    # a record's copies share its billing_date, hence its cycle: the same id in two
    # cycles names two lines (docs/data-contract.md)
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="monthly-line-1")  # 2025-03
    world.spend("friend", day(40), "15.00", record_id="monthly-line-1")  # 2025-04
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("30.00")


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


def test_unverified_referrer_qualifies_once_verified(world):
    world.account("referrer", verified=False)
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "50.00")
    world.settle("2025-04")
    assert _reason(world, "friend") == "referrer_unverified"
    assert world.credited("friend") == 0
    world.account("referrer", verified=True)
    world.settle("2025-05")
    assert _reason(world, "friend", month="2025-05") == "ok"
    assert world.credited("friend") == Decimal("20.00")


def test_frozen_referee_earns_nothing_more_and_keeps_what_was_credited(world):
    registered = date(2025, 1, 1)
    world.refer("friend", "referrer", registered)
    world.spend("friend", day(2, registered), "500.00")
    world.settle("2025-03")  # base credited; bonus still on hold
    assert world.credited("friend") == Decimal("20.00")
    world.account("friend", risk="fraud")
    world.spend("friend", day(80, registered), "-500.00")  # a refund would otherwise claw back
    world.settle("2025-04", "2025-05")
    status = world.status("friend", "2025-05")
    assert (status["reason_code"], status["is_frozen"]) == ("disqualified", True)
    assert status["entitlement_usd"] == Decimal("20.00")
    assert world.credited("friend") == Decimal("20.00")


# --- rules 6 and 7: ledger and coupons ----------------------------------------------


def test_refund_after_payment_is_netted_against_another_referee(world):
    world.refer("paid-then-refunded", "referrer", date(2025, 1, 1))
    first = world.spend("paid-then-refunded", date(2025, 1, 5), "30.00")
    world.spend("paid-then-refunded", date(2025, 3, 10), "-" + str(first["cash_amount"]))
    world.refer("newcomer", "referrer", date(2025, 2, 1))
    world.spend("newcomer", date(2025, 2, 2), "60.00")
    world.settle("2025-02", "2025-05")
    assert world.coupon_amount("referrer", "2025-02") == Decimal("20.00")
    # March: -20.00 correction for the refund nets the newcomer's +20.00 base: no coupon
    assert world.query(
        "select referee_account_id, component, entry_kind, amount_usd from ledger_entries "
        "where settlement_month = '2025-03' order by 1"
    ) == [
        ("newcomer", "base", "credit", Decimal("20.00")),
        ("paid-then-refunded", "base", "correction", Decimal("-20.00")),
    ]
    assert world.coupon_amount("referrer", "2025-03") is None
    # May: the newcomer's bonus (10% of 40.00) is paid on its own
    assert world.coupon_amount("referrer", "2025-05") == Decimal("4.00")


def test_negative_balance_carries_forward_until_absorbed(world):
    world.refer("refunded", "referrer", date(2025, 1, 1))
    world.spend("refunded", date(2025, 1, 5), "30.00")
    world.spend("refunded", date(2025, 3, 10), "-30.00")
    world.refer("later", "referrer", date(2025, 3, 1))
    world.spend("later", date(2025, 3, 2), "25.00")
    world.settle("2025-02", "2025-07")
    balances = world.query(
        "select settlement_month, carry_in_usd, referee_deltas_usd, coupon_amount_usd, carry_out_usd "
        "from referrer_balances order by 1"
    )
    assert balances == [
        ("2025-02", 0, Decimal("20.00"), Decimal("20.00"), 0),
        ("2025-03", 0, Decimal("-20.00"), 0, Decimal("-20.00")),
        ("2025-04", Decimal("-20.00"), Decimal("20.00"), 0, 0),
        ("2025-06", 0, Decimal("0.50"), Decimal("0.50"), 0),
    ]
    assert world.query("select count(*) from coupons where amount_usd <= 0") == [(0,)]


def test_coupon_terms(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "20.00")
    world.settle("2025-04")
    row = world.query(
        "select amount_usd, currency, issued_on, valid_from, valid_to, is_transferable, "
        "excluded_products, referee_count from coupons"
    )
    assert row == [
        (
            Decimal("20.00"),
            "USD",
            date(2025, 5, 5),
            date(2025, 5, 5),
            date(2026, 5, 4),  # 365 days including the day of issue
            False,
            "swas|webhosting|domain|alidns|marketplace",
            1,
        )
    ]


def test_registration_after_the_cutoff_is_not_yet_visible(world):
    world.refer("friend", "referrer", date(2025, 5, 1))
    world.refer("other", "referrer", R)
    world.spend("friend", date(2025, 5, 2), "50.00")
    world.settle("2025-04")
    assert world.query("select referee_account_id from referee_status") == [("other",)]
