"""The instrument roll-forward, per kind and month, over the engine's month result
(transforms/instrument_lifecycle.py); audited again in SQL (sql/audits/instruments/):

    opening outstanding + issued - redeemed/used - expired = closing outstanding

`expired` is the month's breakage net of breakage reversed by late facts (a correction),
so the identity holds every month."""

from collections.abc import Iterable
from decimal import Decimal

from transforms.instrument_lifecycle import (
    ACTIVE,
    KINDS,
    PARTIALLY_USED,
    Instrument,
    MonthResult,
)


def breakage_usd(result: MonthResult, instrument_id: str) -> Decimal:
    """The breakage the month books for an instrument: what expired, less what a late fact
    reversed of an earlier expiry (negative when only a reversal)."""
    zero = Decimal("0.00")
    return result.expired_usd.get(instrument_id, zero) - result.reversed_usd.get(
        instrument_id, zero
    )


def outstanding_usd(instruments: Iterable[Instrument], kind: str) -> Decimal:
    """Face value still owed: the balance of every active or partially used instrument."""
    return sum(
        (
            i.remaining_balance_usd
            for i in instruments
            if i.kind == kind and i.status in (ACTIVE, PARTIALLY_USED)
        ),
        Decimal("0.00"),
    )


def rollforward(
    opening: dict[str, Instrument], issued: list[Instrument], result: MonthResult
) -> list[dict]:
    """Per kind: opening outstanding + issued - redeemed/used - expired = closing outstanding."""
    rows = []
    for kind in KINDS:
        opening_usd = outstanding_usd(opening.values(), kind)
        issued_usd = sum((i.face_value_usd for i in issued if i.kind == kind), Decimal("0.00"))
        used_usd = sum(
            (o.amount_applied_usd for o in result.outcomes if o.accepted and o.event.kind == kind),
            Decimal("0.00"),
        )
        expired_usd = sum(
            (
                breakage_usd(result, instrument_id)
                for instrument_id in result.expired_usd.keys() | result.reversed_usd.keys()
                if result.instruments[instrument_id].kind == kind
            ),
            Decimal("0.00"),
        )
        closing_usd = outstanding_usd(result.instruments.values(), kind)
        rows.append(
            {
                "instrument_kind": kind,
                "opening_outstanding_usd": opening_usd,
                "issued_usd": issued_usd,
                "redeemed_or_used_usd": used_usd,
                "expired_usd": expired_usd,
                "closing_outstanding_usd": closing_usd,
            }
        )
    return rows
