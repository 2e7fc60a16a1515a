"""The monthly instrument run as plain functions: vouchers and referral coupons through one
lifecycle engine (transforms/instrument_lifecycle.py); the Prefect flow sequences them.

register inputs -> compute -> validate (roll-forward identity) -> publish (one transaction,
then files rendered from the committed rows). Months run in order with no gaps; a published
month reruns byte-identically; changed inputs of a published month are a conflict.
"""

import csv
import hashlib
import io as text_io
import json
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flows import io, warehouse
from flows.errors import InputError, StateConflict, ValidationFailure
from transforms import instrument_lifecycle as engine
from transforms import months
from transforms.rules import load_rules

CATALOG_COLUMNS = {
    "voucher_id": io.TEXT,
    "product_config": io.TEXT,
    "face_value": io.AMOUNT,
    "purchased_by": io.TEXT,
    "purchase_channel": io.TEXT,
    "discounted": io.BOOLEAN,
    "max_transfers": io.WHOLE_NUMBER,
    "valid_from": io.DATE,
    "valid_to": io.DATE,
    "purchased_at": io.TIMESTAMP,
}
EVENT_COLUMNS = {
    "event_id": io.TEXT,
    "voucher_id": io.TEXT,
    "event_type": io.TEXT,
    "actor_account_id": io.TEXT,
    "to_account_id": io.TEXT,
    "occurred_at": io.TIMESTAMP,
}
USAGE_COLUMNS = {
    "usage_id": io.TEXT,
    "account_id": io.TEXT,
    "coupon_month": io.TEXT,
    "used_amount": io.AMOUNT,
    "used_at": io.TIMESTAMP,
    "product_code": io.TEXT,
}

MONEY = pa.decimal128(18, 2)
STATE_SCHEMA = pa.schema(
    [
        ("instrument_kind", pa.string()),
        ("instrument_id", pa.string()),
        ("owner_account_id", pa.string()),
        ("status", pa.string()),
        ("transfers_used", pa.int32()),
        ("remaining_balance_usd", MONEY),
        ("face_value_usd", MONEY),
        ("invoice_account", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("expired_this_month_usd", MONEY),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("instrument_kind", pa.string()),
        ("instrument_id", pa.string()),
        ("event_type", pa.string()),
        ("actor_account_id", pa.string()),
        ("to_account_id", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("amount_usd", MONEY),
        ("product_code", pa.string()),
        ("accepted", pa.bool_()),
        ("reason", pa.string()),
    ]
)
ROLLFORWARD_COLUMNS = (
    "instrument_kind",
    "opening_outstanding_usd",
    "issued_usd",
    "redeemed_or_used_usd",
    "expired_usd",
    "closing_outstanding_usd",
)


@dataclass(frozen=True)
class InstrumentsRequest:
    month: str
    data_dir: Path
    out_dir: Path


@dataclass(frozen=True)
class InstrumentsOutcome:
    month: str
    action: str
    event_count: int
    rejected_event_count: int
    breakage_usd: Decimal
    rollforward: list[dict]
    folder: Path
    seconds: float


def _files(folder: Path, what: str) -> tuple[Path, ...]:
    if not folder.is_dir():
        raise InputError(f"{folder}: missing {what} folder")
    return tuple(sorted(folder.glob("*.parquet")))


def _read(con, paths, columns: dict, sql: str) -> list[dict]:
    """Rows of the given files (checked for columns and types) shaped by sql over `source`."""
    for path in paths:
        io.check_columns(con, path, columns)
    if not paths:
        return []
    con.execute(
        "create or replace temp view source as select * from read_parquet("
        + io.sql_list(paths)
        + ", union_by_name = true)"
    )
    return warehouse.fetch_dicts(con, sql)


def _has_column(con, paths, column: str) -> bool:
    if not paths:
        return False
    description = con.execute(
        f"select * from read_parquet({io.sql_list(paths)}, union_by_name = true) limit 0"
    ).description
    return any(name == column for name, *_ in description)


def _fingerprint(paths: list[Path], data_dir: Path, coupons: list[dict]) -> str:
    document = {
        "files": [[str(p.relative_to(data_dir)), io.sha256_file(p)] for p in paths],
        "coupons": [
            [c["referrer_account_id"], c["settlement_month"], str(c["amount_usd"])] for c in coupons
        ],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _check_order(con, month: str) -> bool:
    published = [
        r[0]
        for r in con.execute(
            "select instrument_month from warehouse.instrument_months order by 1"
        ).fetchall()
    ]
    if month in published:
        return True
    if published and month < published[0]:
        raise StateConflict(f"{month}: the instrument ledger starts at {published[0]}")
    if published and month != months.next_month(published[-1]):
        raise StateConflict(
            f"{month}: instrument months run in order with no gaps; run "
            f"{months.next_month(published[-1])} first (last published: {published[-1]})"
        )
    settled = warehouse.published_months(con)
    previous = months.previous_month(month)
    if settled and settled[0] <= previous and previous not in settled:
        raise StateConflict(
            f"{month}: settle {previous} first: its coupons are issued in {month} and enter "
            "this month's instrument ledger"
        )
    return False


def _opening(con, month: str) -> dict[str, engine.Instrument]:
    rows = warehouse.fetch_dicts(
        con,
        "select * from warehouse.instrument_state where instrument_month = $m",
        {"m": months.previous_month(month)},
    )
    return {
        row["instrument_id"]: engine.Instrument(
            kind=row["instrument_kind"],
            instrument_id=row["instrument_id"],
            owner_account_id=row["owner_account_id"],
            invoice_account_id=row["invoice_account_id"],
            face_value_usd=row["face_value_usd"],
            remaining_balance_usd=row["remaining_balance_usd"],
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            issued_on=row["issued_on"],
            max_transfers=row["max_transfers"],
            is_transferable=row["is_transferable"],
            status=row["status"],
            transfers_used=row["transfers_used"],
            earlier_owners=tuple(row["earlier_owners"]),
            excluded_products=tuple(row["excluded_products"]),
        )
        for row in rows
    }


def _already_in_ledger(con) -> set[tuple[str, str]]:
    return {
        (kind, instrument_id)
        for kind, instrument_id in con.execute(
            "select distinct instrument_kind, instrument_id from warehouse.instrument_state"
        ).fetchall()
    }


def run_month(request: InstrumentsRequest) -> InstrumentsOutcome:
    """Run (or rerun) one instrument month end to end."""
    started = time.perf_counter()
    month, data_dir, out_dir = request.month, Path(request.data_dir), Path(request.out_dir)
    cutoff = months.cutoff_date(month)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data directory does not exist")
    con = warehouse.connect(out_dir, read_only=False, readable=(data_dir,))
    try:
        already_published = _check_order(con, month)
        catalog_files = _files(data_dir / "vouchers" / "catalog", "voucher catalog")
        event_files = _files(data_dir / "vouchers" / "events", "voucher events")
        usage_files = _files(data_dir / "coupon_usage", "coupon usage")
        account_files = _files(data_dir / "accounts", "accounts")
        catalog = _read(
            con,
            catalog_files,
            CATALOG_COLUMNS,
            """select distinct voucher_id, product_config, cast(face_value as decimal(18, 2)) as face_value,
                      purchased_by, purchase_channel, discounted, cast(max_transfers as integer) as max_transfers,
                      cast(valid_from as date) as valid_from, cast(valid_to as date) as valid_to,
                      cast(purchased_at as timestamp) as purchased_at
               from source order by voucher_id""",
        )
        voucher_events = _read(
            con,
            event_files,
            EVENT_COLUMNS,
            """select distinct event_id, voucher_id, event_type, actor_account_id, to_account_id,
                      cast(occurred_at as timestamp) as occurred_at
               from source order by all""",
        )
        # coupon_owner_account_id is optional: usage names the coupon's owner when it
        # differs from the using account (which is then rejected: coupons do not transfer)
        owner = (
            "coalesce(coupon_owner_account_id, account_id)"
            if _has_column(con, usage_files, "coupon_owner_account_id")
            else "account_id"
        )
        usage = _read(
            con,
            usage_files,
            USAGE_COLUMNS,
            f"""select distinct usage_id, account_id, coupon_month,
                      cast(used_amount as decimal(18, 2)) as used_amount,
                      cast(used_at as timestamp) as used_at, product_code,
                      {owner} as coupon_owner_account_id
               from source order by all""",
        )
        accounts = frozenset(
            r["account_id"]
            for r in _read(
                con, account_files, io.ACCOUNT_COLUMNS, "select distinct account_id from source"
            )
        )
        coupons = warehouse.fetch_dicts(
            con,
            "select * from warehouse.coupons where issued_on <= $cutoff order by settlement_month, referrer_account_id",
            {"cutoff": cutoff},
        )
        fingerprint = _fingerprint(
            [*catalog_files, *event_files, *usage_files, *account_files], data_dir, coupons
        )
        if already_published:
            recorded = con.execute(
                "select input_fingerprint from warehouse.instrument_months where instrument_month = $m",
                {"m": month},
            ).fetchone()[0]
            if recorded != fingerprint:
                raise StateConflict(
                    f"{month}: instrument month already published and its inputs changed since; "
                    "nothing was changed"
                )
            folder = _write_files(con, out_dir, month)
            return _outcome(con, month, "already published", folder, started)

        in_ledger = _already_in_ledger(con)
        previous_cutoff = None
        last = con.execute(
            "select max(instrument_month) from warehouse.instrument_months"
        ).fetchone()[0]
        if last is not None:
            previous_cutoff = months.cutoff_date(last)
        rules = load_rules()
        issued = [
            engine.Instrument(
                kind=engine.VOUCHER,
                instrument_id=v["voucher_id"],
                owner_account_id=v["purchased_by"],
                invoice_account_id=v["purchased_by"],
                face_value_usd=v["face_value"],
                remaining_balance_usd=v["face_value"],
                valid_from=v["valid_from"],
                valid_to=v["valid_to"],
                issued_on=v["purchased_at"].date(),
                max_transfers=v["max_transfers"],
                is_transferable=engine.voucher_is_transferable(
                    v["purchase_channel"], v["discounted"], v["max_transfers"]
                ),
            )
            for v in catalog
            if v["purchased_at"].date() <= cutoff
            and (engine.VOUCHER, v["voucher_id"]) not in in_ledger
        ] + [
            engine.Instrument(
                kind=engine.REFERRAL_COUPON,
                instrument_id=f"{c['referrer_account_id']}:{c['settlement_month']}",
                owner_account_id=c["referrer_account_id"],
                invoice_account_id=c["referrer_account_id"],
                face_value_usd=c["amount_usd"],
                remaining_balance_usd=c["amount_usd"],
                valid_from=c["valid_from"],
                valid_to=c["valid_to"],
                issued_on=c["issued_on"],
                max_transfers=0,
                is_transferable=c["is_transferable"],
                excluded_products=tuple(rules.coupon_excluded_products),
            )
            for c in coupons
            if (engine.REFERRAL_COUPON, f"{c['referrer_account_id']}:{c['settlement_month']}")
            not in in_ledger
        ]

        def in_month(moment: datetime) -> bool:
            day = moment.date()
            return day <= cutoff and (previous_cutoff is None or day > previous_cutoff)

        events, rejected_copies = _events(voucher_events, usage, in_month)
        opening = _opening(con, month)
        result = engine.run_month(opening, issued, events, accounts, cutoff)
        result.outcomes.extend(rejected_copies)
        rollforward = engine.rollforward(opening, issued, result)
        unbalanced = [row["instrument_kind"] for row in rollforward if not row["is_balanced"]]
        if unbalanced:
            raise ValidationFailure(
                f"{month}: roll-forward does not balance for {', '.join(unbalanced)}; nothing published"
            )
        _publish(con, month, fingerprint, result, rollforward)
        folder = _write_files(con, out_dir, month)
        return _outcome(con, month, "published", folder, started)
    finally:
        con.close()


def _events(voucher_events, usage, in_month):
    """The month's events; an event_id seen again with the same content is the same event,
    with other content it is rejected as duplicate_event_id (the first copy applies)."""
    candidates = [
        engine.Event(
            event_id=e["event_id"],
            kind=engine.VOUCHER,
            instrument_id=e["voucher_id"],
            event_type=e["event_type"],
            actor_account_id=e["actor_account_id"],
            to_account_id=e["to_account_id"],
            occurred_at=e["occurred_at"],
        )
        for e in voucher_events
        if in_month(e["occurred_at"])
    ] + [
        engine.Event(
            event_id=u["usage_id"],
            kind=engine.REFERRAL_COUPON,
            instrument_id=f"{u['coupon_owner_account_id']}:{u['coupon_month']}",
            event_type="use",
            actor_account_id=u["account_id"],
            occurred_at=u["used_at"],
            amount_usd=u["used_amount"],
            product_code=u["product_code"],
        )
        for u in usage
        if in_month(u["used_at"])
    ]
    seen: set[tuple[str, str]] = set()
    events, rejected = [], []
    for event in engine.order_events(candidates):
        key = (event.kind, event.event_id)
        if key in seen:
            rejected.append(engine.Outcome(event, False, engine.DUPLICATE_EVENT_ID))
        else:
            seen.add(key)
            events.append(event)
    return events, rejected


def _publish(con, month, fingerprint, result, rollforward) -> None:
    state_rows = [
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
            "issued_on": i.issued_on,
            "valid_from": i.valid_from,
            "valid_to": i.valid_to,
            "expired_this_month_usd": result.expired_usd.get(i.instrument_id, Decimal("0.00")),
        }
        for i in result.instruments.values()
    ]
    event_rows = [
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
            "accepted": o.accepted,
            "reason": o.reason,
            "amount_applied_usd": o.amount_applied_usd,
        }
        for o in result.outcomes
    ]
    con.execute("begin transaction")
    try:
        for table, rows in (("instrument_state", state_rows), ("instrument_events", event_rows)):
            if rows:
                columns = list(rows[0])
                con.executemany(
                    f"insert into warehouse.{table} ({', '.join(columns)}) values "
                    f"({', '.join('?' for _ in columns)})",
                    [[row[c] for c in columns] for row in rows],
                )
        con.executemany(
            "insert into warehouse.instrument_rollforward values (?, ?, ?, ?, ?, ?, ?)",
            [[month, *(row[c] for c in ROLLFORWARD_COLUMNS)] for row in rollforward],
        )
        con.execute(
            "insert into warehouse.instrument_months values (?, ?, ?, ?, ?)",
            [
                month,
                fingerprint,
                len(event_rows),
                sum(1 for r in event_rows if not r["accepted"]),
                sum(result.expired_usd.values(), Decimal("0.00")),
            ],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _write_files(con, out_dir: Path, month: str) -> Path:
    """state.parquet, events.parquet and rollforward.csv, rendered from the committed month."""
    folder = out_dir / "instruments" / month
    folder.mkdir(parents=True, exist_ok=True)
    state = warehouse.fetch_dicts(
        con,
        """select instrument_kind, instrument_id, owner_account_id, status, transfers_used,
                  remaining_balance_usd, face_value_usd, invoice_account_id as invoice_account,
                  valid_from, valid_to, expired_this_month_usd
           from warehouse.instrument_state where instrument_month = $m order by 1, 2""",
        {"m": month},
    )
    events = warehouse.fetch_dicts(
        con,
        """select event_id, instrument_kind, instrument_id, event_type, actor_account_id,
                  to_account_id, occurred_at, amount_usd, product_code, accepted, reason
           from warehouse.instrument_events where instrument_month = $m
           order by occurred_at, event_id, accepted desc, reason""",
        {"m": month},
    )
    rollforward = warehouse.fetch_dicts(
        con,
        f"select {', '.join(ROLLFORWARD_COLUMNS)} from warehouse.instrument_rollforward "
        "where instrument_month = $m order by instrument_kind",
        {"m": month},
    )
    for name, rows, schema in (("state", state, STATE_SCHEMA), ("events", events, EVENTS_SCHEMA)):
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows, schema), buffer)
        io.atomic_write(folder / f"{name}.parquet", buffer.getvalue().to_pybytes(), mode=0o644)
    text = text_io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ROLLFORWARD_COLUMNS)
    for row in rollforward:
        writer.writerow(
            [row["instrument_kind"], *(f"{row[c]:.2f}" for c in ROLLFORWARD_COLUMNS[1:])]
        )
    io.atomic_write(folder / "rollforward.csv", text.getvalue().encode(), mode=0o644)
    return folder


def _outcome(con, month, action, folder, started) -> InstrumentsOutcome:
    count, rejected, breakage = con.execute(
        "select event_count, rejected_event_count, breakage_usd from warehouse.instrument_months "
        "where instrument_month = $m",
        {"m": month},
    ).fetchone()
    rollforward = warehouse.fetch_dicts(
        con,
        "select * from warehouse.instrument_rollforward where instrument_month = $m order by 2",
        {"m": month},
    )
    return InstrumentsOutcome(
        month, action, count, rejected, breakage, rollforward, folder, time.perf_counter() - started
    )
