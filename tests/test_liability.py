"""The liability on the books (docs/outputs.md#booking-the-liability): the accrual in
referee_status and the view liability_by_month, against a hand-computed world."""

from datetime import date
from decimal import Decimal

from tests.rules import bonus_payable_month
from transforms import months

D = Decimal
COLUMNS = (
    "settlement_month, on_hold_base_usd, accrued_bonus_usd, settled_not_issued_usd, "
    "outstanding_referral_coupons_usd, outstanding_welcome_usd, outstanding_vouchers_usd, "
    "negative_carries_usd, total_liability_usd"
)


def _april(world):
    """The friend registers April 20 and crosses 20.00 on April 25 (Q): base on hold to May
    25; the bonus window's spend so far, 55.00, accrues a bonus of 3.50, payable after the
    bonus window's hold. A customer buys a voucher of 50.00."""
    world.refer("friend", "referrer", date(2025, 4, 20))
    world.spend("friend", date(2025, 4, 25), "55.00")
    world.voucher("V1", "buyer", date(2025, 4, 10), date(2025, 4, 10), date(2025, 12, 31), "50.00")
    world.settle("2025-04")
    world.run_instruments("2025-04")
    return world


def test_liability_by_month_adds_accrual_batch_and_outstanding_instruments(world):
    _april(world)
    world.settle("2025-05")
    world.run_instruments("2025-05")
    world.settle("2025-06")
    bonus_due = months.cutoff_date(bonus_payable_month(date(2025, 4, 20)))  # after June
    assert world.query(
        "select settlement_month, pending_base_usd, pending_bonus_usd, payable_on, "
        "pending_bonus_payable_on from referee_status order by 1"
    ) == [
        ("2025-04", D("20.00"), D("3.50"), date(2025, 5, 31), bonus_due),
        ("2025-05", D("0.00"), D("3.50"), bonus_due, bonus_due),
        ("2025-06", D("0.00"), D("3.50"), bonus_due, bonus_due),
    ]
    rows = world.query(f"select {COLUMNS} from liability_by_month order by 1")
    zero = D("0.00")
    assert rows == [
        # on hold 20.00 + bonus 3.50 + the friend's welcome pair 20.00 + the voucher 50.00
        ("2025-04", D("20.00"), D("3.50"), zero, zero, D("20.00"), D("50.00"), zero, D("93.50")),
        # the base is earned: May's batch of 20.00 is settled, issued on June 5
        ("2025-05", zero, D("3.50"), D("20.00"), zero, D("20.00"), D("50.00"), zero, D("93.50")),
        # June's instrument month is not published: the outstanding parts are not known
        ("2025-06", zero, D("3.50"), zero, None, None, None, zero, None),
    ]
    world.run_instruments("2025-06")
    # June: the coupon is issued and outstanding; the welcome pair (to June 18) expired
    assert world.query(
        f"select {COLUMNS} from liability_by_month where settlement_month = '2025-06'"
    ) == [("2025-06", zero, D("3.50"), zero, D("20.00"), zero, D("50.00"), zero, D("73.50"))]


def test_the_programs_liability_is_apart_from_the_customer_prepaid_vouchers(world):
    _april(world)
    # on hold 20.00 + bonus 3.50 + the welcome pair 20.00; the voucher 50.00 is the customer's
    assert world.query(
        "select program_liability_usd, outstanding_vouchers_usd, total_liability_usd "
        "from liability_by_month"
    ) == [(D("43.50"), D("50.00"), D("93.50"))]
