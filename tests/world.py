"""Tiny input worlds for rule tests: a few accounts, referrals and bill lines, written in
the input contract, settled with the real pipeline, and read back from the warehouse."""

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from transforms import contracts, months
from transforms.pipeline import instruments, ledger_start, settlement
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions


def _utc(moment: date | datetime) -> datetime:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time()) + timedelta(hours=12)
    return moment.replace(tzinfo=UTC)


# the instrument inputs' folders: each holds what the world lists now, and nothing else
INSTRUMENT_FOLDERS = ("vouchers/catalog", "vouchers/events", "coupon_usage")


@dataclass
class World:
    root: Path
    accounts: dict[str, dict] = field(default_factory=dict)
    referrals: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    vouchers: list[dict] = field(default_factory=list)
    voucher_events: list[list[dict]] = field(default_factory=lambda: [[]])
    usage: list[dict] = field(default_factory=list)
    first_cycle: str = "2025-01"
    last_cycle: str = "2026-12"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def account(self, account_id, identity_key=None, verified=True, risk="ok"):
        """verified: True (long before any referral), False (never) or the moment."""
        if verified is True:
            verified_at = datetime(2020, 1, 1, tzinfo=UTC)
        elif verified is False:
            verified_at = None
        else:
            verified_at = _utc(verified)
        self.accounts[account_id] = {
            "account_id": account_id,
            "identity_key": identity_key or f"person-{account_id}",
            "verified_at": verified_at,
            "risk_status": risk,
        }
        return account_id

    def refer(self, referee, referrer, registered: date | datetime, code="CODE", known=True):
        if known:
            for account in (referee, referrer):
                if account not in self.accounts:
                    self.account(account)
        if isinstance(registered, date) and not isinstance(registered, datetime):
            registered = datetime.combine(registered, datetime.min.time()) + timedelta(hours=12)
        self.referrals.append(
            {
                "referee_account_id": referee,
                "referrer_account_id": referrer,
                "referral_code": code,
                "registered_at": registered.replace(tzinfo=UTC),
            }
        )

    def spend(
        self,
        account,
        day: date,
        cash,
        product="ecs",
        kind="PayAsYouGo",
        item=None,
        record_id=None,
        coupon="0",
        currency="USD",
        original=None,
    ):
        """original: the record id (or the row returned for it) this line reverses."""
        cash = Decimal(str(cash))
        row = {
            "record_id": record_id or f"rec-{len(self.lines) + 1}",
            "account_id": account,
            "billing_date": day,
            "product_code": product,
            "product_name": product.upper(),
            "subscription_type": kind,
            "item": item or ("Refund" if cash < 0 else "PayAsYouGoBill"),
            "pretax_gross_amount": cash + Decimal(coupon),
            "pretax_amount": cash + Decimal(coupon),
            "deducted_by_coupons": Decimal(coupon),
            "deducted_by_cash_coupons": Decimal(0),
            "deducted_by_prepaid_card": Decimal(0),
            "cash_amount": cash,
            "currency": currency,
            "original_record_id": original["record_id"] if isinstance(original, dict) else original,
        }
        self.lines.append(row)
        return row

    def voucher(
        self,
        voucher_id,
        purchaser,
        purchased: date,
        valid_from: date,
        valid_to: date,
        face_value="100.00",
        channel="tmall",
        discounted=False,
        max_transfers=2,
    ):
        if purchaser not in self.accounts:
            self.account(purchaser)
        self.vouchers.append(
            {
                "voucher_id": voucher_id,
                "product_config": "ecs.g7.large/1 month",
                "face_value": Decimal(face_value),
                "purchased_by": purchaser,
                "purchase_channel": channel,
                "discounted": discounted,
                "max_transfers": max_transfers,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "purchased_at": _utc(purchased),
            }
        )

    def voucher_event(self, event_id, voucher_id, event_type, actor, when, to=None, file=0):
        while len(self.voucher_events) <= file:
            self.voucher_events.append([])
        self.voucher_events[file].append(
            {
                "event_id": event_id,
                "voucher_id": voucher_id,
                "event_type": event_type,
                "actor_account_id": actor,
                "to_account_id": to,
                "occurred_at": _utc(when),
            }
        )

    def use_coupon(
        self,
        usage_id,
        account,
        coupon_month,
        amount,
        when,
        product="ecs",
        owner=None,
        kind=None,
        order=None,
    ):
        """A usage row; `kind` names a welcome reward (then coupon_month is None) and
        `order` the order's amount (optional columns instrument_kind, order_amount)."""
        self.usage.append(
            {
                "usage_id": usage_id,
                "account_id": account,
                "coupon_month": coupon_month,
                "used_amount": Decimal(amount),
                "used_at": _utc(when),
                "product_code": product,
                "coupon_owner_account_id": owner,
                "instrument_kind": kind,
                "order_amount": None if order is None else Decimal(order),
            }
        )

    def run_instruments(self, first: str, last: str | None = None):
        self.write()
        options = RunOptions(data_dir=self.data, out_dir=self.out)
        return [instruments.run_month(m, options) for m in months.month_range(first, last or first)]

    def _bystander_line(self, month: str) -> dict:
        day = months.first_day(month).replace(day=15)
        return {
            "record_id": f"bystander-{month}",
            "account_id": "bystander",
            "billing_date": day,
            "product_code": "ecs",
            "product_name": "ECS",
            "subscription_type": "PayAsYouGo",
            "item": "PayAsYouGoBill",
            "pretax_gross_amount": Decimal("100"),
            "pretax_amount": Decimal("100"),
            "deducted_by_coupons": Decimal(0),
            "deducted_by_cash_coupons": Decimal(0),
            "deducted_by_prepaid_card": Decimal(0),
            "cash_amount": Decimal("100"),
            "currency": "USD",
        }

    def write(self) -> Path:
        """Write the world in the input contract. Every cycle also bills an account that was
        never referred, as real exports do (an empty cycle is rejected as missing data)."""
        for month in months.month_range(self.first_cycle, self.last_cycle):
            folder = self.data / "billing" / f"billing_cycle={month}"
            folder.mkdir(parents=True, exist_ok=True)
            rows = [r for r in self.lines if r["billing_date"].strftime("%Y-%m") == month]
            rows.append(self._bystander_line(month))
            self._write_parquet(
                pa.Table.from_pylist(rows, contracts.BILLING.arrow_schema(with_optional=True)),
                folder / "part-0.parquet",
            )
        for name, rows, schema in (
            ("referrals", self.referrals, contracts.REFERRALS.arrow_schema()),
            ("accounts", list(self.accounts.values()), contracts.ACCOUNTS.arrow_schema()),
        ):
            (self.data / name).mkdir(parents=True, exist_ok=True)
            self._write_parquet(
                pa.Table.from_pylist(rows, schema), self.data / name / f"{name}.parquet"
            )
        for folder in INSTRUMENT_FOLDERS:
            (self.data / folder).mkdir(parents=True, exist_ok=True)  # even with no file
        written = [
            self._write_parquet(
                pa.Table.from_pylist(self.vouchers, contracts.VOUCHER_CATALOG.arrow_schema()),
                self.data / "vouchers" / "catalog" / "catalog.parquet",
            ),
            self._write_parquet(
                pa.Table.from_pylist(
                    self.usage, contracts.COUPON_USAGE.arrow_schema(with_optional=True)
                ),
                self.data / "coupon_usage" / "usage.parquet",
            ),
        ]
        for number, events in enumerate(self.voucher_events):
            written.append(
                self._write_parquet(
                    pa.Table.from_pylist(events, contracts.VOUCHER_EVENTS.arrow_schema()),
                    self.data / "vouchers" / "events" / f"events-{number}.parquet",
                )
            )
        for folder in INSTRUMENT_FOLDERS:
            for old in set((self.data / folder).glob("*.parquet")) - set(written):
                old.unlink()  # a file the world no longer holds (fewer event batches)
        return self.data

    def _write_parquet(self, table: pa.Table, path: Path) -> Path:
        """Write a file whole beside the data folder, then rename it into place: a world is
        written again before each of its months, and a run in another process (a what-if
        replay) may read the same folders meanwhile; it must see the old file or the new
        one, never half of one, and never a stray file in a delivery folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.data.parent / f".partial-{path.name}"
        pq.write_table(table, partial)
        os.replace(partial, path)
        return path

    def settle(self, first: str, last: str | None = None, **options) -> list[settlement.Outcome]:
        self.write()
        run_options = RunOptions(data_dir=self.data, out_dir=self.out, **options)
        if first > self.first_cycle and not (self.out / "warehouse.duckdb").exists():
            # a world's rules are tested from the month it first settles
            start_ledger(self.out, self.data, first)
        return [settlement.settle(m, run_options) for m in months.month_range(first, last or first)]

    def query(self, sql: str, parameters=None) -> list[tuple]:
        with duckdb.connect(str(self.out / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql, parameters or {}).fetchall()

    def status(self, referee: str, month: str) -> dict:
        with duckdb.connect(str(self.out / "warehouse.duckdb"), read_only=True) as con:
            cursor = con.execute(
                "select * from referee_status where referee_account_id = $r and settlement_month = $m"
                " order by referee_listing_rank",
                {"r": referee, "m": month},
            )
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        assert rows, f"no status for {referee} in {month}"
        return rows[0]

    def credited(self, referee: str) -> Decimal:
        (total,) = self.query(
            "select coalesce(sum(amount_usd), 0) from ledger_entries where referee_account_id = $r",
            {"r": referee},
        )[0]
        return Decimal(total)

    def coupon_amount(self, referrer: str, month: str) -> Decimal | None:
        rows = self.query(
            "select amount_usd from coupons where referrer_account_id = $r and settlement_month = $m",
            {"r": referrer, "m": month},
        )
        return Decimal(rows[0][0]) if rows else None


def start_ledger(out: Path, data: Path, first_month: str) -> None:
    """A test's ledger starts at `first_month` on purpose, as `creditflow init` starts one
    (docs/operations.md#starting-a-ledger)."""
    ledger_start.start(OutputLayout(out), data, first_month, "test")


def month_events(world, month) -> dict:
    """An instrument month's events.parquet: event id -> (accepted, reason)."""
    with duckdb.connect() as con:
        rows = con.execute(
            "select event_id, accepted, reason from read_parquet($p) order by occurred_at, event_id",
            {"p": str(world.out / "instruments" / month / "events.parquet")},
        ).fetchall()
    return {event_id: (accepted, reason) for event_id, accepted, reason in rows}


def month_state(world, month, instrument_id) -> dict:
    """One instrument's row of an instrument month's state.parquet."""
    with duckdb.connect() as con:
        cursor = con.execute(
            "select * from read_parquet($p) where instrument_id = $i",
            {"p": str(world.out / "instruments" / month / "state.parquet"), "i": instrument_id},
        )
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))
