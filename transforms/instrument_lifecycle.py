"""One lifecycle engine for every prepaid instrument: redemption vouchers, referral coupons and
the referred friends' welcome rewards (a credit and a discount).

An instrument has an owner, a remaining balance, a validity period and transfer rules. Events
apply in (occurred_at, event_id) order; each is accepted or rejected with a reason code, and
nothing is dropped. At month end, an instrument past its valid_to with a balance left
expires and the balance is breakage. Pure functions; the pipeline feeds them from SQL models
(transforms/pipeline/instruments.py) and audits the roll-forward in SQL.

The roll-forward over a month's result is transforms/instrument_rollforward.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

VOUCHER = "voucher"
REFERRAL_COUPON = "referral_coupon"
WELCOME_CREDIT = "welcome_credit"  # USD 10 off select products, partial use allowed
WELCOME_DISCOUNT = "welcome_discount"  # USD 10 off one order of at least USD 20, used whole
KINDS = (VOUCHER, REFERRAL_COUPON, WELCOME_CREDIT, WELCOME_DISCOUNT)

# statuses
ACTIVE, PARTIALLY_USED, REDEEMED, EXPIRED = "active", "partially_used", "redeemed", "expired"

# reason codes (docs/instruments.md)
UNKNOWN_INSTRUMENT = "unknown_instrument"
DUPLICATE_EVENT_ID = "duplicate_event_id"
ALREADY_REDEEMED = "already_redeemed"
ALREADY_EXPIRED = "already_expired"
NOT_REFUNDABLE = "not_refundable"
NOT_OWNER = "not_owner"
NOT_YET_VALID = "not_yet_valid"
EXPIRED_AT_EVENT = "outside_validity"
NOT_TRANSFERABLE = "not_transferable"
TRANSFER_LIMIT_REACHED = "transfer_limit_reached"
UNKNOWN_RECIPIENT = "unknown_recipient"
TRANSFER_TO_CURRENT_OWNER = "transfer_to_current_owner"
TRANSFER_BACK = "transfer_back_to_earlier_owner"
EXCLUDED_PRODUCT = "excluded_product"
EXCEEDS_BALANCE = "exceeds_balance"
INVALID_AMOUNT = "invalid_amount"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
PRODUCT_NOT_ELIGIBLE = "product_not_eligible"
BELOW_MINIMUM_ORDER = "below_minimum_order"
PARTIAL_DISCOUNT = "partial_discount"


@dataclass(frozen=True)
class Instrument:
    kind: str
    instrument_id: str
    owner_account_id: str
    invoice_account_id: str  # only the purchaser can be invoiced, even after transfers
    face_value_usd: Decimal
    remaining_balance_usd: Decimal
    valid_from: date
    valid_to: date
    issued_on: date
    max_transfers: int
    is_transferable: bool
    status: str = ACTIVE
    transfers_used: int = 0
    earlier_owners: tuple[str, ...] = ()
    excluded_products: tuple[str, ...] = ()
    # the only products it may pay for (welcome rewards); None: any but the excluded ones
    allowed_products: tuple[str, ...] | None = None
    # the smallest order it applies to (the welcome discount); None: no minimum
    min_order_usd: Decimal | None = None


@dataclass(frozen=True)
class Event:
    event_id: str
    kind: str
    instrument_id: str
    event_type: str  # transfer, redeem, refund_request (vouchers); use (coupons)
    actor_account_id: str | None
    occurred_at: datetime
    to_account_id: str | None = None
    amount_usd: Decimal | None = None
    product_code: str | None = None
    # the order the instrument paid towards (a usage's optional order_amount)
    order_amount_usd: Decimal | None = None
    # dated in a month already published: applied in the first unpublished one, against
    # the state there (docs/instruments.md); the engine judges it like any other event
    late: bool = False


@dataclass(frozen=True)
class Outcome:
    event: Event
    accepted: bool
    reason: str | None
    amount_applied_usd: Decimal = Decimal("0.00")
    # a late fact on an instrument expired since: the breakage its expiry booked, reversed
    breakage_reversed_usd: Decimal = Decimal("0.00")


@dataclass
class MonthResult:
    instruments: dict[str, Instrument]
    outcomes: list[Outcome] = field(default_factory=list)
    expired_usd: dict[str, Decimal] = field(default_factory=dict)  # instrument_id -> breakage
    # instrument_id -> breakage of an earlier month reversed by a late fact (a correction)
    reversed_usd: dict[str, Decimal] = field(default_factory=dict)


def _reject(event: Event, reason: str) -> Outcome:
    return Outcome(event, False, reason)


def apply_event(
    instrument: Instrument | None, event: Event, known_accounts: frozenset[str]
) -> tuple[Instrument | None, Outcome]:
    """Apply one event to one instrument: the new state and the event's outcome."""
    if instrument is None:
        return instrument, _reject(event, UNKNOWN_INSTRUMENT)
    if instrument.status == REDEEMED:
        return instrument, _reject(event, ALREADY_REDEEMED)
    if instrument.status == EXPIRED:
        return _late_after_expiry(instrument, event, known_accounts)
    on = event.occurred_at.date()
    if event.event_type == "refund_request":
        return instrument, _reject(event, NOT_REFUNDABLE)
    if event.event_type not in ("transfer", "redeem", "use"):
        return instrument, _reject(event, UNKNOWN_EVENT_TYPE)
    if event.actor_account_id != instrument.owner_account_id:
        return instrument, _reject(event, NOT_OWNER)
    if event.event_type == "transfer":
        return _transfer(instrument, event, on, known_accounts)
    if on < instrument.valid_from:
        return instrument, _reject(event, NOT_YET_VALID)
    if on > instrument.valid_to:
        return instrument, _reject(event, EXPIRED_AT_EVENT)
    if event.event_type == "redeem":
        if instrument.kind != VOUCHER:
            return instrument, _reject(event, UNKNOWN_EVENT_TYPE)
        redeemed = replace(instrument, status=REDEEMED, remaining_balance_usd=Decimal("0.00"))
        return redeemed, Outcome(event, True, None, instrument.remaining_balance_usd)
    return _use(instrument, event)


def _late_after_expiry(
    instrument: Instrument, event: Event, known_accounts: frozenset[str]
) -> tuple[Instrument, Outcome]:
    """An event on an expired instrument. A ledger records what happened: a late fact
    (delivered after its month was published) dated while the instrument was valid is
    applied as it would have been then, and the breakage the expiry booked is reversed in
    this month (a correction). Anything else finds the instrument expired."""
    on = event.occurred_at.date()
    if not (event.late and instrument.valid_from <= on <= instrument.valid_to):
        return instrument, _reject(event, ALREADY_EXPIRED)
    whole = instrument.remaining_balance_usd == instrument.face_value_usd
    reinstated = replace(instrument, status=ACTIVE if whole else PARTIALLY_USED)
    updated, outcome = apply_event(reinstated, event, known_accounts)
    if not outcome.accepted:
        return instrument, outcome  # refused on its own terms: the expiry stands
    return updated, replace(outcome, breakage_reversed_usd=instrument.remaining_balance_usd)


def _transfer(instrument, event, on, known_accounts):
    recipient = event.to_account_id
    if on > instrument.valid_to:
        return instrument, _reject(event, EXPIRED_AT_EVENT)
    if not instrument.is_transferable:
        return instrument, _reject(event, NOT_TRANSFERABLE)
    if instrument.transfers_used >= instrument.max_transfers:
        return instrument, _reject(event, TRANSFER_LIMIT_REACHED)
    if recipient is None or recipient not in known_accounts:
        return instrument, _reject(event, UNKNOWN_RECIPIENT)
    if recipient == instrument.owner_account_id:
        return instrument, _reject(event, TRANSFER_TO_CURRENT_OWNER)
    if recipient in instrument.earlier_owners:
        # transfers are irreversible: never back to the purchaser or any earlier owner
        return instrument, _reject(event, TRANSFER_BACK)
    moved = replace(
        instrument,
        owner_account_id=recipient,
        transfers_used=instrument.transfers_used + 1,
        earlier_owners=(*instrument.earlier_owners, instrument.owner_account_id),
    )
    return moved, Outcome(event, True, None)


def _use(instrument, event):
    amount = event.amount_usd
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return instrument, _reject(event, INVALID_AMOUNT)
    order = event.order_amount_usd
    if order is not None and amount > order:
        return instrument, _reject(event, INVALID_AMOUNT)  # pays more than the order cost
    if event.product_code in instrument.excluded_products:
        return instrument, _reject(event, EXCLUDED_PRODUCT)
    allowed = instrument.allowed_products
    if allowed is not None and event.product_code not in allowed:
        return instrument, _reject(event, PRODUCT_NOT_ELIGIBLE)
    minimum = instrument.min_order_usd
    if minimum is not None and (order is None or order < minimum):
        return instrument, _reject(event, BELOW_MINIMUM_ORDER)
    if amount > instrument.remaining_balance_usd:
        return instrument, _reject(event, EXCEEDS_BALANCE)
    if instrument.kind == WELCOME_DISCOUNT and amount != instrument.remaining_balance_usd:
        # "$10 OFF $20": one order takes the whole discount, nothing is left for another
        return instrument, _reject(event, PARTIAL_DISCOUNT)
    balance = instrument.remaining_balance_usd - amount
    used = replace(
        instrument,
        remaining_balance_usd=balance,
        status=REDEEMED if balance == 0 else PARTIALLY_USED,
    )
    return used, Outcome(event, True, None, amount)


def order_events(events: Iterable[Event]) -> list[Event]:
    """Events apply in occurred_at order, ties by event_id."""
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


def run_month(
    opening: dict[str, Instrument],
    issued: Iterable[Instrument],
    events: Iterable[Event],
    known_accounts: frozenset[str],
    cutoff: date,
) -> MonthResult:
    """Apply a month's events to the opening states plus the month's new instruments, then
    expire what is past its validity at the cutoff (the last day of the month)."""
    instruments = dict(opening)
    for instrument in issued:
        instruments[instrument.instrument_id] = instrument
    result = MonthResult(instruments)
    for event in order_events(events):
        current = instruments.get(event.instrument_id)
        if current is not None and current.kind != event.kind:
            current = None
        updated, outcome = apply_event(current, event, known_accounts)
        if updated is not None:
            instruments[event.instrument_id] = updated
        if outcome.breakage_reversed_usd:  # (once a month at most: it is then not expired)
            result.reversed_usd[event.instrument_id] = outcome.breakage_reversed_usd
        result.outcomes.append(outcome)
    for instrument_id, instrument in sorted(instruments.items()):
        # (a reinstated instrument past its validity expires again with what is left)
        if instrument.status in (ACTIVE, PARTIALLY_USED) and instrument.valid_to < cutoff:
            result.expired_usd[instrument_id] = instrument.remaining_balance_usd
            instruments[instrument_id] = replace(instrument, status=EXPIRED)
    return result
