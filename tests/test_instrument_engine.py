"""The instrument lifecycle engine's rules at their edges (transforms/instrument_lifecycle.py,
docs/instruments.md): the first and last valid day, an order exactly at the minimum, a use of
exactly the balance, the transfer count, one kind's events apart from another's.

Pure functions, so each rule is one call. The texts the engine compares (kinds, statuses,
event types, account ids) are built at run time here, as they are when read from the
warehouse: equality must decide, never identity. (These cases were written for the
mutants that survived the first mutation run: docs/testing.md#mutation-check.)
"""

import dataclasses
from datetime import date, datetime
from decimal import Decimal

import pytest

from transforms import instrument_lifecycle as engine
from transforms import instrument_rollforward

ACCOUNTS = frozenset({"alice", "bob", "carol"})
APRIL_FIRST, APRIL_LAST = date(2025, 4, 1), date(2025, 4, 30)


def text(value: str | None) -> str | None:
    """The same text as a new object, like a value fetched from DuckDB (never interned)."""
    return None if value is None else "".join(list(value))


def instrument(kind=engine.VOUCHER, **changes) -> engine.Instrument:
    made = engine.Instrument(
        kind=text(kind),
        instrument_id=text("i-1"),
        owner_account_id=text("alice"),
        invoice_account_id=text("alice"),
        face_value_usd=Decimal("100.00"),
        remaining_balance_usd=Decimal("100.00"),
        valid_from=APRIL_FIRST,
        valid_to=APRIL_LAST,
        issued_on=date(2025, 3, 20),
        max_transfers=2,
        is_transferable=True,
        status=text(engine.ACTIVE),
    )
    changes = {k: text(v) if isinstance(v, str) else v for k, v in changes.items()}
    return dataclasses.replace(made, **changes)


def event(event_type, kind=engine.VOUCHER, actor="alice", on=date(2025, 4, 10), **changes):
    changes = {k: text(v) if isinstance(v, str) else v for k, v in changes.items()}
    return engine.Event(
        event_id=changes.pop("event_id", "e-1"),
        kind=text(kind),
        instrument_id=changes.pop("instrument_id", "i-1"),
        event_type=text(event_type),
        actor_account_id=text(actor),
        occurred_at=datetime.combine(on, datetime.min.time()),
        **changes,
    )


def use(amount: str | None, kind=engine.REFERRAL_COUPON, **changes) -> engine.Event:
    return event(
        "use",
        kind=kind,
        amount_usd=None if amount is None else Decimal(amount),
        product_code=changes.pop("product_code", "ecs"),
        **changes,
    )


def outcome_of(state, happened) -> engine.Outcome:
    return engine.apply_event(state, happened, ACCOUNTS)[1]


# --- states and event types --------------------------------------------------------------


def test_a_partly_used_instrument_can_still_be_used_and_transferred():
    partly = instrument(engine.REFERRAL_COUPON, status=engine.PARTIALLY_USED)
    assert outcome_of(partly, use("10.00")).accepted
    assert outcome_of(partly, event("transfer", engine.REFERRAL_COUPON, to_account_id="bob"))


@pytest.mark.parametrize(
    ("status", "reason"),
    [(engine.REDEEMED, engine.ALREADY_REDEEMED), (engine.EXPIRED, engine.ALREADY_EXPIRED)],
)
def test_a_used_up_or_expired_instrument_takes_no_event(status, reason):
    assert outcome_of(instrument(status=status), event("redeem")).reason == reason


@pytest.mark.parametrize(
    "kind", [engine.REFERRAL_COUPON, engine.WELCOME_CREDIT, engine.WELCOME_DISCOUNT]
)
def test_a_refund_request_is_refused_and_only_a_voucher_is_redeemed(kind):
    assert outcome_of(instrument(), event("refund_request")).reason == engine.NOT_REFUNDABLE
    redeem = event("redeem", kind)
    assert outcome_of(instrument(kind), redeem).reason == engine.UNKNOWN_EVENT_TYPE


def test_redeeming_a_voucher_takes_its_whole_balance_at_once():
    redeemed, outcome = engine.apply_event(instrument(), event("redeem"), ACCOUNTS)
    assert (outcome.accepted, outcome.reason, outcome.amount_applied_usd) == (
        True,
        None,
        Decimal("100.00"),
    )
    assert (redeemed.status, redeemed.remaining_balance_usd) == (engine.REDEEMED, Decimal("0.00"))


@pytest.mark.parametrize("actor", ["aaron", "zoe"])  # before and after the owner's id
def test_only_the_owner_acts_on_an_instrument(actor):
    assert outcome_of(instrument(), event("redeem", actor=actor)).reason == engine.NOT_OWNER


# --- validity: the first and the last day count ------------------------------------------


@pytest.mark.parametrize("on", [APRIL_FIRST, APRIL_LAST])
def test_the_first_and_last_valid_day_are_inside_the_validity(on):
    assert outcome_of(instrument(), event("redeem", on=on)).accepted
    coupon = instrument(engine.REFERRAL_COUPON)
    assert outcome_of(coupon, use("5.00", on=on)).accepted


def test_a_transfer_is_allowed_up_to_the_last_valid_day():
    on_the_day = event("transfer", on=APRIL_LAST, to_account_id="bob")
    assert outcome_of(instrument(), on_the_day).accepted
    after = event("transfer", on=date(2025, 5, 1), to_account_id="bob")
    assert outcome_of(instrument(), after).reason == engine.EXPIRED_AT_EVENT


# --- transfers ---------------------------------------------------------------------------


def test_each_transfer_counts_once_up_to_the_limit():
    moved, first = engine.apply_event(
        instrument(max_transfers=3), event("transfer", to_account_id="bob"), ACCOUNTS
    )
    moved, second = engine.apply_event(
        moved, event("transfer", actor="bob", to_account_id="carol"), ACCOUNTS
    )
    assert first.accepted and second.accepted
    assert moved.transfers_used == 2 and moved.earlier_owners == ("alice", "bob")
    assert moved.owner_account_id == "carol" and moved.invoice_account_id == "alice"


def test_an_instrument_already_past_its_transfer_limit_is_not_transferred():
    # an opening state recorded under an earlier, higher limit
    past = instrument(transfers_used=3, max_transfers=2)
    transfer = event("transfer", to_account_id="bob")
    assert outcome_of(past, transfer).reason == engine.TRANSFER_LIMIT_REACHED


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [
        (None, engine.UNKNOWN_RECIPIENT),
        ("mallory", engine.UNKNOWN_RECIPIENT),
        ("alice", engine.TRANSFER_TO_CURRENT_OWNER),
    ],
)
def test_a_transfer_goes_to_a_known_other_account(recipient, reason):
    transfer = event("transfer", to_account_id=recipient)
    assert outcome_of(instrument(), transfer).reason == reason


# --- using a balance ---------------------------------------------------------------------


@pytest.mark.parametrize("amount", [None, "0.00", "-0.50", "-5.00", "0.015", "0.005"])
def test_a_use_is_a_positive_whole_number_of_cents(amount):
    coupon = instrument(engine.REFERRAL_COUPON)
    assert outcome_of(coupon, use(amount)).reason == engine.INVALID_AMOUNT


@pytest.mark.parametrize(
    ("amount", "order", "accepted"),
    [("20.00", "30.00", True), ("30.00", "30.00", True), ("30.01", "30.00", False)],
)
def test_a_use_pays_at_most_the_order(amount, order, accepted):
    coupon = instrument(engine.REFERRAL_COUPON)
    outcome = outcome_of(coupon, use(amount, order_amount_usd=Decimal(order)))
    assert outcome.accepted is accepted
    assert outcome.reason == (None if accepted else engine.INVALID_AMOUNT)


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (None, engine.BELOW_MINIMUM_ORDER),
        ("19.99", engine.BELOW_MINIMUM_ORDER),
        ("20.00", None),
        ("25.00", None),
    ],
)
def test_the_discount_needs_an_order_of_at_least_its_minimum(order, reason):
    discount = instrument(
        engine.WELCOME_DISCOUNT,
        face_value_usd=Decimal("10.00"),
        remaining_balance_usd=Decimal("10.00"),
        min_order_usd=Decimal("20.00"),
    )
    order_usd = None if order is None else Decimal(order)
    happened = use("10.00", engine.WELCOME_DISCOUNT, order_amount_usd=order_usd)
    assert outcome_of(discount, happened).reason == reason


@pytest.mark.parametrize(("amount", "accepted"), [("9.99", False), ("10.00", True)])
def test_the_discount_is_taken_whole_by_one_order(amount, accepted):
    discount = instrument(
        engine.WELCOME_DISCOUNT, remaining_balance_usd=Decimal("10.00"), min_order_usd=None
    )
    outcome = outcome_of(discount, use(amount, engine.WELCOME_DISCOUNT))
    assert outcome.accepted is accepted
    assert outcome.reason == (None if accepted else engine.PARTIAL_DISCOUNT)


@pytest.mark.parametrize(
    ("amount", "balance_left", "status"),
    [
        ("100.00", "0.00", engine.REDEEMED),
        ("99.00", "1.00", engine.PARTIALLY_USED),
        ("37.45", "62.55", engine.PARTIALLY_USED),
    ],
)
def test_a_use_takes_exactly_its_amount_and_only_the_whole_balance_redeems(
    amount, balance_left, status
):
    used, outcome = engine.apply_event(instrument(engine.REFERRAL_COUPON), use(amount), ACCOUNTS)
    assert (outcome.accepted, outcome.amount_applied_usd) == (True, Decimal(amount))
    assert (used.remaining_balance_usd, used.status) == (Decimal(balance_left), status)


# --- a month -----------------------------------------------------------------------------


def test_a_month_applies_its_events_in_order_and_keeps_unknown_ones_as_rejections():
    coupon = instrument(engine.REFERRAL_COUPON)
    events = [
        use("30.00", event_id="e-2", on=date(2025, 4, 12)),
        use("30.00", event_id="e-1", on=date(2025, 4, 11)),
        use("5.00", event_id="e-3", instrument_id="no-such-coupon"),
        # an id of another kind's instrument is not this instrument (either way round)
        use("5.00", engine.WELCOME_CREDIT, event_id="e-4"),
        use("5.00", event_id="e-5", instrument_id="i-9"),
    ]
    voucher = instrument(instrument_id="i-9")
    opening = {"i-1": coupon, "i-9": voucher}
    result = engine.run_month(opening, [], events, ACCOUNTS, APRIL_LAST)
    assert [(o.event.event_id, o.accepted, o.reason) for o in result.outcomes] == [
        ("e-3", False, engine.UNKNOWN_INSTRUMENT),
        ("e-4", False, engine.UNKNOWN_INSTRUMENT),
        ("e-5", False, engine.UNKNOWN_INSTRUMENT),
        ("e-1", True, None),
        ("e-2", True, None),
    ]
    assert set(result.instruments) == {"i-1", "i-9"}
    assert result.instruments["i-9"] == voucher
    assert result.instruments["i-1"].remaining_balance_usd == Decimal("40.00")


def test_the_roll_forward_keeps_each_kind_to_itself():
    coupon = instrument(engine.REFERRAL_COUPON)
    credit = instrument(
        engine.WELCOME_CREDIT,
        instrument_id="i-2",
        face_value_usd=Decimal("10.00"),
        remaining_balance_usd=Decimal("10.00"),
        valid_to=date(2025, 3, 31),  # expires at this month's end
        status=engine.PARTIALLY_USED,
    )
    voucher = instrument(instrument_id="i-3", valid_to=date(2025, 6, 30))
    new_credit = instrument(
        engine.WELCOME_CREDIT,
        instrument_id="i-4",
        face_value_usd=Decimal("10.00"),
        remaining_balance_usd=Decimal("10.00"),
    )
    events = [
        use("25.00"),
        use("1.00", engine.WELCOME_CREDIT, instrument_id="i-2", event_id="e-2"),
        use("3.00", engine.WELCOME_CREDIT, instrument_id="i-4", event_id="e-3"),
    ]
    opening = {"i-1": coupon, "i-2": credit}
    issued = [voucher, new_credit]
    result = engine.run_month(opening, issued, events, ACCOUNTS, APRIL_LAST)
    rows = {
        row["instrument_kind"]: row
        for row in instrument_rollforward.rollforward(opening, issued, result)
    }
    assert rows[engine.VOUCHER] == {
        "instrument_kind": engine.VOUCHER,
        "opening_outstanding_usd": Decimal("0.00"),
        "issued_usd": Decimal("100.00"),
        "redeemed_or_used_usd": Decimal("0.00"),
        "expired_usd": Decimal("0.00"),
        "closing_outstanding_usd": Decimal("100.00"),
    }
    assert rows[engine.REFERRAL_COUPON]["redeemed_or_used_usd"] == Decimal("25.00")
    assert rows[engine.REFERRAL_COUPON]["closing_outstanding_usd"] == Decimal("75.00")
    # the old credit was already past its validity: its use is refused, its balance expires
    assert rows[engine.WELCOME_CREDIT]["expired_usd"] == Decimal("10.00")
    assert rows[engine.WELCOME_CREDIT]["issued_usd"] == Decimal("10.00")
    assert rows[engine.WELCOME_CREDIT]["redeemed_or_used_usd"] == Decimal("3.00")
    discount = rows[engine.WELCOME_DISCOUNT]
    assert discount["opening_outstanding_usd"] == discount["issued_usd"] == Decimal("0.00")
    assert discount["expired_usd"] == discount["closing_outstanding_usd"] == Decimal("0.00")
    assert instrument_rollforward.outstanding_usd(
        opening.values(), engine.WELCOME_CREDIT
    ) == Decimal("10.00")
    assert instrument_rollforward.outstanding_usd(opening.values(), engine.VOUCHER) == Decimal(
        "0.00"
    )


def test_states_and_events_cannot_be_changed_in_place_and_an_event_is_on_time_by_default():
    happened = event("redeem")
    assert happened.late is False
    for value in (instrument(), happened, engine.Outcome(happened, True, None)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.kind = "changed"  # type: ignore[misc]
