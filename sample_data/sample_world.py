"""The sample's world (sample_data/generate.py writes it): its calendar, its products and
the people, referrals and bill lines it is made of, drawn from a seeded random stream."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

FIRST_DAY = date(2025, 11, 1)
LAST_DAY = date(2026, 10, 31)
VERIFIED_LONG_AGO = datetime(2025, 6, 1, 8, tzinfo=UTC)

ELIGIBLE = [
    ("ecs", "Elastic Compute Service", "PayAsYouGo"),
    ("oss", "Object Storage Service", "PayAsYouGo"),
    ("oss", "Object Storage Service", "Subscription"),
    ("rds", "ApsaraDB for RDS", "PayAsYouGo"),
    ("kvstore", "ApsaraDB for KVStore", "Subscription"),
    ("odps", "MaxCompute", "Subscription"),
    ("waf", "Web Application Firewall", "Subscription"),
    ("pai", "Machine Learning Platform For AI", "PayAsYouGo"),
]
INELIGIBLE = [
    ("cdn", "Alibaba Cloud CDN", "PayAsYouGo"),
    ("swas", "Simple Application Server", "Subscription"),
    ("domain", "Domains", "Subscription"),
    ("ecs", "Elastic Compute Service", "Subscription"),  # only PayAsYouGo ECS counts
    ("rds", "ApsaraDB for RDS", "Subscription"),  # only PayAsYouGo RDS counts
    ("marketplace", "Marketplace", "PayAsYouGo"),
]


class World:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        # the choices added with linked refunds and verification times draw from their own
        # stream, so the rest of the sample stays as it was
        self.links = random.Random(seed + 1)
        self.accounts: list[dict] = []
        self.referrals: list[dict] = []
        self.lines: list[dict] = []
        self.duplicate_records: list[dict] = []
        self._next_record = 0
        self._next_person = 0

    # --- accounts and referrals -------------------------------------------------
    def person(self) -> str:
        self._next_person += 1
        return f"P{self._next_person:06d}"

    def account(self, account_id, identity_key=None, verified=True, risk="ok") -> str:
        """verified: True (before the sample starts), False (never) or when (UTC)."""
        if verified is True:
            verified = VERIFIED_LONG_AGO
        self.accounts.append(
            {
                "account_id": account_id,
                "identity_key": identity_key or self.person(),
                "verified_at": verified or None,
                "risk_status": risk,
            }
        )
        return account_id

    def refer(self, referee, referrer, registered: datetime, code=None):
        self.referrals.append(
            {
                "referee_account_id": referee,
                "referrer_account_id": referrer,
                "referral_code": code or f"RC-{referrer}",
                "registered_at": registered,
            }
        )

    # --- bill lines ---------------------------------------------------------------
    def line(
        self,
        account,
        day: date,
        cash: Decimal,
        product=None,
        item=None,
        coupon=Decimal(0),
        original=None,
    ):
        if day < FIRST_DAY or day > LAST_DAY:
            return None
        code, name, kind = product or self.rng.choice(ELIGIBLE)
        if item is None:
            item = "SubscriptionOrder" if kind == "Subscription" else "PayAsYouGoBill"
        self._next_record += 1
        gross = cash + coupon
        row = {
            "record_id": f"R{self._next_record:09d}",
            "account_id": account,
            "billing_date": day,
            "product_code": code,
            "product_name": name,
            "subscription_type": kind,
            "item": item,
            "pretax_gross_amount": gross,
            "pretax_amount": gross,
            "deducted_by_coupons": coupon,
            "deducted_by_cash_coupons": Decimal(0),
            "deducted_by_prepaid_card": Decimal(0),
            "cash_amount": cash,
            "currency": "USD",
            "original_record_id": original,
        }
        self.lines.append(row)
        return row

    def refund(self, original: dict, day: date, share: Decimal, link=None):
        """A refund of a share of the original. link: the record id it names; by default
        most refunds name their purchase, some name nothing and a few a record that was
        never delivered (rule 1: those count as unlinked)."""
        if link is None:
            draw = self.links.random()
            if draw < 0.85:
                link = original["record_id"]
            elif draw < 0.97:
                link = ""
            else:
                link = f"X{self.links.randint(0, 10**8):09d}"  # no such record

        product = (
            original["product_code"],
            original["product_name"],
            original["subscription_type"],
        )
        amount = -(original["cash_amount"] * share).quantize(Decimal("0.0001"))
        return self.line(
            original["account_id"],
            day,
            amount,
            product=product,
            item="Refund",
            original=link or None,
        )

    def amount(self, low: float, high: float) -> Decimal:
        cents = self.rng.randint(int(low * 100), int(high * 100))
        return Decimal(cents) / 100

    def spend_profile(self, account, registered: date):
        """Random realistic spend for one referee from registration on."""
        kind = self.rng.random()
        if kind < 0.35:
            return  # registers and never pays
        if kind < 0.65:
            total_lines, low, high = self.rng.randint(1, 4), 0.5, 6.0  # tries the free tier
        elif kind < 0.90:
            total_lines, low, high = self.rng.randint(3, 20), 2.0, 40.0
        elif kind < 0.98:
            total_lines, low, high = self.rng.randint(10, 40), 20.0, 250.0
        else:
            total_lines, low, high = self.rng.randint(20, 60), 100.0, 900.0  # runs into the cap
        # some spend before registration (an existing account that was then referred)
        if self.rng.random() < 0.03:
            before = self.line(
                account, registered - timedelta(days=self.rng.randint(1, 20)), self.amount(5, 50)
            )
            if before and self.links.random() < 0.5:
                # refunded after registration: linked to a purchase before it, so it counts
                # nowhere (rule 1)
                self.refund(
                    before,
                    registered + timedelta(days=self.links.randint(0, 20)),
                    1,
                    link=before["record_id"],
                )
        span = max(1, (LAST_DAY - registered).days)
        for _ in range(total_lines):
            day = registered + timedelta(days=min(span, int(self.rng.expovariate(1 / 70))))
            product = self.rng.choice(INELIGIBLE) if self.rng.random() < 0.2 else None
            coupon = self.amount(0, 5) if self.rng.random() < 0.1 else Decimal(0)
            row = self.line(account, day, self.amount(low, high), product=product, coupon=coupon)
            if row and self.rng.random() < 0.06:
                self.refund(row, day + timedelta(days=self.rng.randint(0, 60)), Decimal("0.5"))
            if row and self.rng.random() < 0.01:
                self.duplicate_records.append(row)  # the export delivers it twice
