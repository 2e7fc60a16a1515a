"""How rows of the instrument models and the warehouse become lifecycle-engine objects, and
the engine's results become warehouse rows. Pure functions: no IO, no SQL."""

from collections.abc import Mapping

from transforms import instrument_lifecycle as engine
from transforms import instrument_rollforward


def instrument(row: Mapping) -> engine.Instrument:
    """An instrument from a row of int_instruments_issued (new: full balance, active) or of
    warehouse.instrument_state (the state a month closed it in)."""
    return engine.Instrument(
        kind=row["instrument_kind"],
        instrument_id=row["instrument_id"],
        owner_account_id=row["owner_account_id"],
        invoice_account_id=row["invoice_account_id"],
        face_value_usd=row["face_value_usd"],
        remaining_balance_usd=row.get("remaining_balance_usd", row["face_value_usd"]),
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        issued_on=row["issued_on"],
        max_transfers=row["max_transfers"],
        is_transferable=row["is_transferable"],
        status=row.get("status", engine.ACTIVE),
        transfers_used=row.get("transfers_used", 0),
        earlier_owners=tuple(row.get("earlier_owners", ())),
        excluded_products=tuple(row["excluded_products"]),
        allowed_products=_optional_tuple(row.get("allowed_products")),
        min_order_usd=row.get("min_order_usd"),
    )


def _optional_tuple(values) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def event(row: Mapping) -> engine.Event:
    """An event from a row of int_instrument_events."""
    return engine.Event(
        event_id=row["event_id"],
        kind=row["instrument_kind"],
        instrument_id=row["instrument_id"],
        event_type=row["event_type"],
        actor_account_id=row["actor_account_id"],
        occurred_at=row["occurred_at"],
        to_account_id=row["to_account_id"],
        amount_usd=row["amount_usd"],
        product_code=row["product_code"],
        order_amount_usd=row.get("order_amount_usd"),
        late=row["late"],
    )


def state_rows(month: str, result: engine.MonthResult) -> list[dict]:
    """warehouse.instrument_state rows: every instrument as the month closes it."""
    return [
        {
            "instrument_month": month,
            "instrument_kind": i.kind,
            "instrument_id": i.instrument_id,
            "owner_account_id": i.owner_account_id,
            "invoice_account_id": i.invoice_account_id,
            "status": i.status,
            "face_value_usd": i.face_value_usd,
            "remaining_balance_usd": i.remaining_balance_usd,
            "transfers_used": i.transfers_used,
            "max_transfers": i.max_transfers,
            "is_transferable": i.is_transferable,
            "earlier_owners": list(i.earlier_owners),
            "excluded_products": list(i.excluded_products),
            "allowed_products": None if i.allowed_products is None else list(i.allowed_products),
            "min_order_usd": i.min_order_usd,
            "issued_on": i.issued_on,
            "valid_from": i.valid_from,
            "valid_to": i.valid_to,
            "expired_this_month_usd": instrument_rollforward.breakage_usd(result, i.instrument_id),
        }
        for i in result.instruments.values()
    ]


def event_rows(month: str, outcomes: list[engine.Outcome]) -> list[dict]:
    """warehouse.instrument_events rows: every event of the month with its outcome."""
    return [
        {
            "instrument_month": month,
            "event_id": o.event.event_id,
            "instrument_kind": o.event.kind,
            "instrument_id": o.event.instrument_id,
            "event_type": o.event.event_type,
            "actor_account_id": o.event.actor_account_id,
            "to_account_id": o.event.to_account_id,
            "occurred_at": o.event.occurred_at,
            "amount_usd": o.event.amount_usd,
            "product_code": o.event.product_code,
            "order_amount_usd": o.event.order_amount_usd,
            "accepted": o.accepted,
            "reason": o.reason,
            "amount_applied_usd": o.amount_applied_usd,
            "late": o.event.late,
        }
        for o in outcomes
    ]


def rollforward_rows(month: str, rollforward: list[dict]) -> list[dict]:
    """warehouse.instrument_rollforward rows (sql/audits/instruments/ checks the identity)."""
    return [{"instrument_month": month, **row} for row in rollforward]
