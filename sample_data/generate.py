"""Deterministic generator of the committed sample dataset (python sample_data/generate.py).

About a year of bill lines (billing cycles 2025-11..2026-10) for a few hundred
referrers and a few thousand referees, in the input contract. Besides realistic random
behaviour (most friends spend little, a few spend a lot, refunds, ineligible products,
coupon-paid lines), it plants named cases for every rule: thresholds, holds, windows,
caps, refunds after payment, identity cases, fraud, unknown accounts, duplicated
records and listings, refunds linked to their purchase (most), unlinked or pointing at a
purchase before registration or at no record at all (a few), and referrers verified only
after their friends registered. Same seed, same bytes.
"""

import argparse
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sample_instruments import write_instruments
from sample_world import ELIGIBLE, FIRST_DAY, INELIGIBLE, LAST_DAY, World

from transforms import contracts


def random_world(world: World, referrers: int, referees: int, bystanders: int) -> None:
    rng = world.rng
    referrer_ids = []
    for n in range(referrers):
        verified = rng.random() > 0.05
        if verified and world.links.random() < 0.05:
            # verified only during the sample year: referrals registered before do not count
            verified = datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(
                days=world.links.randint(30, 300), seconds=world.links.randint(0, 86399)
            )
        risk = "ok" if rng.random() > 0.02 else rng.choice(["fraud", "card_theft", "crypto_mining"])
        referrer_ids.append(world.account(f"A1{n:05d}", verified=verified, risk=risk))
    # one person with two referrer accounts (duplicate_referrer_account)
    twin_person = world.accounts[0]["identity_key"]
    referrer_ids.append(world.account("A1TWIN0", identity_key=twin_person))
    span_days = (date(2026, 9, 30) - FIRST_DAY).days
    for n in range(referees):
        referee = f"A2{n:05d}"
        referrer = rng.choice(referrer_ids)
        registered = datetime.combine(FIRST_DAY, datetime.min.time()) + timedelta(
            days=rng.randint(0, span_days), seconds=rng.randint(0, 86399)
        )
        shape = rng.random()
        if shape < 0.01:
            # the friend is the referrer themselves (self_referral)
            owner = next(a for a in world.accounts if a["account_id"] == referrer)
            world.account(referee, identity_key=owner["identity_key"])
        elif shape < 0.02:
            # a second account of an existing referee person (duplicate_referee_identity)
            earlier = world.accounts[-1]["identity_key"]
            world.account(referee, identity_key=earlier)
        elif shape < 0.035:
            world.account(referee, risk=rng.choice(["fraud", "tos_violation", "illegal_activity"]))
        elif shape < 0.04:
            pass  # missing from accounts (unknown_account)
        else:
            world.account(referee)
        world.refer(referee, referrer, registered)
        if rng.random() < 0.01:
            # listed again under another referrer, later (duplicate_referee)
            world.refer(
                referee, rng.choice(referrer_ids), registered + timedelta(days=rng.randint(1, 30))
            )
        world.spend_profile(referee, registered.date())
    # the twin referrer account refers later than its sibling, so it is the duplicate
    for n in range(3):
        referee = world.account(f"A2TW{n:03d}")
        world.refer(referee, "A1TWIN0", datetime(2026, 3, 1 + n, 12))
        world.spend_profile(referee, date(2026, 3, 1 + n))
    # accounts that were never referred also have bills
    for n in range(bystanders):
        account = world.account(f"A3{n:05d}")
        for _ in range(rng.randint(1, 12)):
            world.line(
                account, FIRST_DAY + timedelta(days=rng.randint(0, 364)), world.amount(1, 300)
            )


def planted_cases(world: World) -> None:
    """Named referees that pin each rule's edge in the sample (see docs/rules.md)."""
    referrer = world.account("A9REFERRER")
    ecs = ELIGIBLE[0]

    def friend(name, registered: date):
        account = world.account(f"A9{name}")
        world.refer(
            account,
            referrer,
            datetime.combine(registered, datetime.min.time()) + timedelta(hours=9),
        )
        return account

    exact = friend("EXACT20", date(2025, 12, 1))
    world.line(exact, date(2025, 12, 3), Decimal("20.00"), product=ecs)
    short = friend("JUST1999", date(2025, 12, 1))
    world.line(short, date(2025, 12, 3), Decimal("19.99"), product=ecs)
    capped = friend("CAPPED", date(2025, 11, 5))
    for offset in range(0, 80, 10):
        world.line(
            capped, date(2025, 11, 5) + timedelta(days=offset), Decimal("900.00"), product=ecs
        )
    refunded = friend("REFUNDAFTERPAY", date(2025, 11, 10))
    paid = world.line(refunded, date(2025, 11, 12), Decimal("60.00"), product=ecs)
    world.refund(paid, date(2026, 2, 10), Decimal("1"))  # after the base was credited
    late = friend("DAY91", date(2025, 11, 1))
    world.line(late, date(2025, 11, 10), Decimal("25.00"), product=ecs)
    world.line(late, date(2025, 11, 1) + timedelta(days=90), Decimal("500.00"), product=ecs)
    coupon_paid = friend("COUPONPAID", date(2025, 12, 15))
    world.line(
        coupon_paid, date(2025, 12, 16), Decimal("5.00"), product=ecs, coupon=Decimal("40.00")
    )
    ineligible = friend("CDNONLY", date(2025, 12, 15))
    world.line(ineligible, date(2025, 12, 16), Decimal("80.00"), product=INELIGIBLE[0])
    # buy-then-refund (issue 12): a big purchase on day 1 refunded on day 91, linked: S90 is
    # 20.00, so the friend earns the base only (the first-crossing rules paid 300.00)
    big = friend("BUYREFUND91", date(2025, 11, 2))
    bought = world.line(big, date(2025, 11, 2), Decimal("2920.00"), product=ecs)
    world.refund(
        bought,
        date(2025, 11, 2) + timedelta(days=90),
        Decimal("2900") / 2920,
        link=bought["record_id"],
    )
    # bought and refunded twice, the second crossing over a month end: the hold restarts at
    # the re-crossing, so May pays nothing (the first-crossing rules paid 20.00 in May and
    # took it back in June)
    twice = friend("RECROSS", date(2025, 11, 12))
    first = world.line(twice, date(2025, 11, 12), Decimal("20.00"), product=ecs)
    world.refund(first, date(2025, 11, 13), Decimal("1"), link=first["record_id"])
    again = world.line(twice, date(2026, 5, 30), Decimal("20.00"), product=ecs)
    world.refund(again, date(2026, 6, 1), Decimal("1"), link=again["record_id"])
    # a referrer verified after one friend registered and before another: only the second
    # friend's referral counts (FAQ 6)
    late = world.account("A9LATEVERIFIED", verified=datetime(2026, 1, 15, 10, tzinfo=UTC))
    for name, registered in (
        ("BEFOREVERIFY", date(2025, 12, 1)),
        ("AFTERVERIFY", date(2026, 2, 1)),
    ):
        account = world.account(f"A9{name}")
        world.refer(
            account, late, datetime.combine(registered, datetime.min.time()) + timedelta(hours=9)
        )
        world.line(account, registered + timedelta(days=2), Decimal("100.00"), product=ecs)


def write(world: World, out: Path) -> None:
    for sub in ("billing", "referrals", "accounts"):
        for old in sorted((out / sub).rglob("*.parquet")) if (out / sub).exists() else []:
            old.unlink()
    billing_schema = contracts.BILLING.arrow_schema(with_optional=True)
    cycles: dict[str, list[dict]] = {}
    for row in world.lines:
        cycles.setdefault(row["billing_date"].strftime("%Y-%m"), []).append(row)
    redelivered: dict[str, list[dict]] = {}
    for row in world.duplicate_records:
        redelivered.setdefault(row["billing_date"].strftime("%Y-%m"), []).append(row)
    for cycle, rows in sorted(cycles.items()):
        folder = out / "billing" / f"billing_cycle={cycle}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = sorted(rows, key=lambda r: (r["billing_date"], r["record_id"]))
        pq.write_table(pa.Table.from_pylist(rows, billing_schema), folder / "part-0.parquet")
        if cycle in redelivered:
            again = pa.Table.from_pylist(redelivered[cycle], billing_schema)
            pq.write_table(again, folder / "part-1-redelivery.parquet")
    (out / "referrals").mkdir(parents=True, exist_ok=True)
    referral_schema = contracts.REFERRALS.arrow_schema()
    referrals = [
        dict(r, registered_at=r["registered_at"].replace(tzinfo=UTC)) for r in world.referrals
    ]
    pq.write_table(
        pa.Table.from_pylist(referrals, referral_schema), out / "referrals" / "referrals.parquet"
    )
    (out / "accounts").mkdir(parents=True, exist_ok=True)
    account_schema = contracts.ACCOUNTS.arrow_schema()
    pq.write_table(
        pa.Table.from_pylist(world.accounts, account_schema), out / "accounts" / "accounts.parquet"
    )
    write_instruments(world, out, FIRST_DAY, LAST_DAY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--seed", type=int, default=20251101)
    parser.add_argument("--referrers", type=int, default=400)
    parser.add_argument("--referees", type=int, default=4000)
    parser.add_argument("--bystanders", type=int, default=600)
    args = parser.parse_args()
    world = World(args.seed)
    random_world(world, args.referrers, args.referees, args.bystanders)
    planted_cases(world)
    write(world, args.out)
    print(
        f"wrote {len(world.lines)} bill lines, {len(world.referrals)} referrals, "
        f"{len(world.accounts)} accounts under {args.out}"
    )


if __name__ == "__main__":
    main()
