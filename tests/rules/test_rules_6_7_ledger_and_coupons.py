"""Rules 6 and 7: the ledger and the coupons. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

from datetime import date
from decimal import Decimal

from tests.rules import R, bonus_payable_month, day

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
        # the later friend's bonus, 10% of 5.00, once its window and hold are over
        (bonus_payable_month(date(2025, 3, 1)), 0, Decimal("0.50"), Decimal("0.50"), 0),
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


def test_a_base_earned_again_after_a_refund_is_a_correction_not_a_second_credit(world):
    world.refer("friend", "referrer", date(2025, 1, 1))
    world.spend("friend", date(2025, 1, 5), "30.00")
    world.spend("friend", date(2025, 3, 10), "-30.00")  # back below the threshold: -20.00
    world.spend("friend", date(2025, 4, 2), "25.00")  # over it again: +20.00 after the hold
    world.settle("2025-02", "2025-06")
    assert world.query(
        "select settlement_month, entry_kind, amount_usd from ledger_entries "
        "where component = 'base' order by 1"
    ) == [
        ("2025-02", "credit", Decimal("20.00")),
        ("2025-03", "correction", Decimal("-20.00")),
        ("2025-05", "correction", Decimal("20.00")),
    ]
