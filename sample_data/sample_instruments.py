"""The instrument part of the committed sample (run through sample_data/generate.py): vouchers
bought through the store with their events, and usage of referral coupons. Deterministic:
it draws from the sample world's random generator, after the bill lines."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from transforms import contracts


def instruments(
    world, first_day: date, last_day: date
) -> tuple[list[dict], list[list[dict]], list[dict]]:
    """Vouchers bought through the store, their events (valid and invalid), and usage of
    referral coupons (by the planted referrer, whose coupons are certain, and by others)."""
    rng = world.rng
    owners = [a["account_id"] for a in world.accounts if a["account_id"].startswith(("A2", "A3"))]
    catalog, events, duplicates, usage = [], [], [], []
    for n in range(300):
        purchased = datetime.combine(first_day, datetime.min.time()) + timedelta(
            days=rng.randint(0, 330), seconds=rng.randint(0, 86399)
        )
        channel = rng.choice(["official", "tmall", "tmall", "special"])
        valid_from = purchased.date()
        valid_to = valid_from + timedelta(days=rng.choice([30, 90, 180, 365]))
        voucher = {
            "voucher_id": f"V{n:05d}",
            "product_config": rng.choice(
                ["ecs.g7.large/1 month", "rds.mysql.s2/3 months", "oss.100GB/1 year"]
            ),
            "face_value": Decimal(rng.choice(["9.90", "29.00", "59.00", "199.00"])),
            "purchased_by": rng.choice(owners),
            "purchase_channel": channel,
            "discounted": rng.random() < 0.15,
            "max_transfers": rng.choice([0, 1, 2, 2]),
            "valid_from": valid_from,
            "valid_to": valid_to,
            "purchased_at": purchased.replace(tzinfo=UTC),
        }
        catalog.append(voucher)
        owner, moment = voucher["purchased_by"], purchased
        for step in range(rng.randint(0, 4)):
            moment = moment + timedelta(days=rng.randint(1, 60), seconds=rng.randint(0, 3600))
            kind = rng.choices(["transfer", "redeem", "refund_request"], [5, 4, 1])[0]
            actor = owner if rng.random() < 0.9 else rng.choice(owners)  # some non-owners
            target = rng.choice(owners) if rng.random() < 0.9 else voucher["purchased_by"]
            event = {
                "event_id": f"E{n:05d}-{step}",
                "voucher_id": voucher["voucher_id"],
                "event_type": kind,
                "actor_account_id": actor,
                "to_account_id": target if kind == "transfer" else None,
                "occurred_at": moment.replace(tzinfo=UTC),
            }
            if moment.date() <= last_day:
                events.append(event)
                if rng.random() < 0.03:
                    duplicates.append(event)  # delivered again in another file
            if kind == "transfer" and actor == owner and target != owner:
                owner = target
    referrers = [a["account_id"] for a in world.accounts if a["account_id"].startswith("A1")]
    for n in range(400):
        month = rng.choice(["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"])
        # mostly the planted referrer, whose coupons are certain; sometimes an account
        # without a coupon that month (rejected as unknown_instrument)
        account = rng.choice(referrers) if n % 5 == 0 else "A9REFERRER"
        used_at = datetime(int(month[:4]), int(month[5:]), 1) + timedelta(
            days=rng.randint(35, 200), seconds=rng.randint(0, 86399)
        )
        if used_at.date() > last_day:
            continue
        usage.append(
            {
                "usage_id": f"U{n:05d}",
                "account_id": account,
                "coupon_month": month,
                "used_amount": world.amount(0.5, 15),
                "used_at": used_at.replace(tzinfo=UTC),
                "product_code": rng.choice(["ecs", "ecs", "oss", "rds", "swas", "domain"]),
            }
        )
    return catalog, [events, duplicates], usage


def write_instruments(world, out: Path, first_day: date, last_day: date) -> None:
    catalog, event_files, usage = instruments(world, first_day, last_day)
    for folder in ("vouchers/catalog", "vouchers/events", "coupon_usage"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for old in (out / folder).glob("*.parquet"):
            old.unlink()
    catalog_schema = contracts.VOUCHER_CATALOG.arrow_schema()
    event_schema = contracts.VOUCHER_EVENTS.arrow_schema()
    usage_schema = contracts.COUPON_USAGE.arrow_schema()
    pq.write_table(
        pa.Table.from_pylist(catalog, catalog_schema), out / "vouchers/catalog/catalog.parquet"
    )
    # the second file re-delivers a few events and lists them out of time order
    for number, events in enumerate(event_files):
        ordered = events if number == 0 else list(reversed(events))
        pq.write_table(
            pa.Table.from_pylist(ordered, event_schema),
            out / f"vouchers/events/events-{number}.parquet",
        )
    pq.write_table(pa.Table.from_pylist(usage, usage_schema), out / "coupon_usage/usage.parquet")
    pq.write_table(
        pa.Table.from_pylist(
            welcome_usage(world, last_day), contracts.COUPON_USAGE.arrow_schema(with_optional=True)
        ),
        out / "coupon_usage/welcome.parquet",
    )


def welcome_usage(world, last_day: date) -> list[dict]:
    """Friends using their welcome rewards (the optional columns instrument_kind and
    order_amount): mostly valid, some on a product outside the select list, a discount on
    too small an order or not used whole, some after the 60 days. Drawn from a generator of
    its own, so that the rest of the sample stays as it was."""
    rng = random.Random(13)
    known = {a["account_id"] for a in world.accounts}
    friends = sorted(
        (r for r in world.referrals if r["referee_account_id"] in known),
        key=lambda r: r["referee_account_id"],
    )
    rows = []
    for n, friend in enumerate(rng.sample(friends, 160)):
        registered = friend["registered_at"]
        kind = "welcome_credit" if n % 2 == 0 else "welcome_discount"
        used_at = registered + timedelta(days=rng.randint(0, 70), seconds=rng.randint(0, 3600))
        if used_at.date() > last_day:
            continue
        order = Decimal(rng.choice(["12.00", "20.00", "35.50", "80.00", "150.00"]))
        used = (
            Decimal("10.00")
            if kind == "welcome_discount"
            else Decimal(rng.randint(100, 1000)) / 100
        )
        if kind == "welcome_discount" and rng.random() < 0.1:
            used = Decimal("5.00")  # a discount taken in part: rejected
        rows.append(
            {
                "usage_id": f"W{n:05d}",
                "account_id": friend["referee_account_id"],
                "coupon_month": None,
                "used_amount": min(used, order),
                "used_at": used_at.replace(tzinfo=UTC),
                "product_code": rng.choice(["ecs", "ecs", "rds", "oss", "nas", "swas"]),
                "coupon_owner_account_id": None,
                "instrument_kind": kind,
                "order_amount": order,
            }
        )
    return rows
