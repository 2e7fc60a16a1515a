"""The input contract, declared once: every input's location, columns, types, nullability and
allowed values. Everything else is derived from here: the readers' column checks
(transforms/pipeline/inputs.py), the raw relations' select lists, the allowed-value lists the
input audits bind (sql/audits/inputs/), the Arrow schemas the generators and test worlds
write, and the column tables of docs/data-contract.md (`python -m transforms.contracts`).
"""

from dataclasses import dataclass

import pyarrow as pa

MONEY = pa.decimal128(18, 4)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Kind:
    """A kind of column: what the contract names it, the Arrow type writers use, and the
    DuckDB types a reader accepts (amounts may arrive as numbers or text and are cast once,
    in staging; rows that do not cast are rejected by the row audits)."""

    label: str
    arrow: pa.DataType
    accepted: tuple[str, ...]
    empty: str  # the DuckDB type of the column when the input has no file at all


TEXT = Kind("text", pa.string(), ("VARCHAR",), "varchar")
AMOUNT = Kind(
    "an amount (DECIMAL, number or text)",
    MONEY,
    ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "SMALLINT", "HUGEINT", "VARCHAR"),
    "decimal(18, 4)",
)
DATE = Kind("a date", pa.date32(), ("DATE", "TIMESTAMP", "VARCHAR"), "date")
TIMESTAMP = Kind("a timestamp", UTC_TIMESTAMP, ("TIMESTAMP", "VARCHAR"), "timestamptz")
BOOLEAN = Kind("a boolean", pa.bool_(), ("BOOLEAN",), "boolean")
WHOLE_NUMBER = Kind(
    "a whole number", pa.int32(), ("INTEGER", "BIGINT", "SMALLINT", "TINYINT"), "integer"
)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    allowed: tuple[str, ...] = ()  # checked by a row audit, bound as $<input>_<column>_values
    optional: bool = False  # may be absent from a file: then it reads as null
    # read by the models a Dask shard runs: laid out for the shards (shard_layout.py); a
    # sharded model reading a column not marked fails loudly (shards._not_laid_out)
    sharded: bool = False


@dataclass(frozen=True)
class InputContract:
    name: str  # the raw relation is raw_<name>
    location: str  # under the data directory
    columns: tuple[Column, ...]

    @property
    def relation(self) -> str:
        return f"raw_{self.name}"

    def arrow_schema(self, *, with_optional: bool = False) -> pa.Schema:
        """The preferred physical schema: what generators and test worlds write."""
        return pa.schema(
            [(c.name, c.kind.arrow) for c in self.columns if with_optional or not c.optional]
        )

    def allowed_values(self) -> dict[str, list[str]]:
        """The allowed-value lists the input audits bind, by parameter name."""
        return {f"{self.name}_{c.name}_values": list(c.allowed) for c in self.columns if c.allowed}

    def markdown_table(self) -> str:
        rows = ["| column | type | meaning |", "|---|---|---|"]
        for column in self.columns:
            values = ", ".join(f"`{v}`" for v in column.allowed)
            meaning = f"{column.meaning} ({values})" if values else column.meaning
            optional = " (optional)" if column.optional else ""
            rows.append(f"| {column.name}{optional} | {column.kind.label} | {meaning} |")
        return "\n".join(rows)


RISK_STATUSES = ("ok", "fraud", "card_theft", "crypto_mining", "illegal_activity", "tos_violation")

BILLING = InputContract(
    "billing_lines",
    "billing/billing_cycle=YYYY-MM/*.parquet",
    (
        Column(
            "record_id",
            TEXT,
            "id of a bill line, unique within its billing cycle; the same record delivered "
            "twice (identical in every column) is one line, copies that differ are rejected",
            sharded=True,
        ),
        Column("account_id", TEXT, "the billed account", sharded=True),
        Column(
            "billing_date",
            DATE,
            "day the charge or refund applies; inside its cycle's month",
            sharded=True,
        ),
        Column("product_code", TEXT, "e.g. `ecs`, `oss`, `rds`, `cdn`, `swas`", sharded=True),
        Column("product_name", TEXT, "display name"),
        Column(
            "subscription_type",
            TEXT,
            "billing kind",
            ("Subscription", "PayAsYouGo"),
            sharded=True,
        ),
        Column(
            "item",
            TEXT,
            "kind of line",
            ("SubscriptionOrder", "PayAsYouGoBill", "Refund", "Adjustment"),
        ),
        Column("pretax_gross_amount", AMOUNT, "list amount"),
        Column("pretax_amount", AMOUNT, "pre-tax amount"),
        Column("deducted_by_coupons", AMOUNT, "paid by coupons: never counts"),
        Column("deducted_by_cash_coupons", AMOUNT, "paid by cash coupons: never counts"),
        Column("deducted_by_prepaid_card", AMOUNT, "paid by prepaid card: never counts"),
        Column(
            "cash_amount",
            AMOUNT,
            "cash actually paid; refunds and adjustments negative. **The measure of spend.**",
            sharded=True,
        ),
        Column("currency", TEXT, "the rules' currency (`currency` in config/rules.toml)"),
        Column(
            "original_record_id",
            TEXT,
            "on a refund or adjustment, the `record_id` of the line it reverses (a line of the "
            "same account, in any cycle); null on ordinary lines. A linked line counts on the "
            "original's `billing_date` (docs/rules.md, rule 1)",
            optional=True,
            sharded=True,
        ),
    ),
)
REFERRALS = InputContract(
    "referrals",
    "referrals/*.parquet",
    (
        Column("referee_account_id", TEXT, "the friend's account"),
        Column("referrer_account_id", TEXT, "the account that shared its code"),
        Column("referral_code", TEXT, "the code used"),
        Column("registered_at", TIMESTAMP, "when the friend registered (UTC); its date is day 1"),
    ),
)
ACCOUNTS = InputContract(
    "accounts",
    "accounts/*.parquet",
    (
        Column("account_id", TEXT, "the account"),
        Column(
            "identity_key",
            TEXT,
            "one value per verified real person; accounts sharing it belong to one person",
        ),
        Column(
            "verified_at",
            TIMESTAMP,
            "when the account added a payment method and completed verification (UTC); null: "
            "never verified. A referral counts only if its referrer was verified by then",
        ),
        Column("risk_status", TEXT, "risk review outcome", RISK_STATUSES),
    ),
)
VOUCHER_CATALOG = InputContract(
    "voucher_catalog",
    "vouchers/catalog/*.parquet",
    (
        Column("voucher_id", TEXT, "the voucher"),
        Column("product_config", TEXT, "the product configuration it activates"),
        Column("face_value", AMOUNT, "what the voucher is worth (USD)"),
        Column("purchased_by", TEXT, "the purchasing account (the only one ever invoiced)"),
        Column("purchase_channel", TEXT, "where it was bought", ("official", "tmall", "special")),
        Column("discounted", BOOLEAN, "bought at a discount (never transferable)"),
        Column("max_transfers", WHOLE_NUMBER, "how often it may be transferred (0..2)"),
        Column("valid_from", DATE, "first valid day"),
        Column("valid_to", DATE, "last valid day (inclusive)"),
        Column("purchased_at", TIMESTAMP, "purchase time (UTC): issued on its date"),
    ),
)
VOUCHER_EVENTS = InputContract(
    "voucher_events",
    "vouchers/events/*.parquet",
    (
        Column("event_id", TEXT, "the event"),
        Column("voucher_id", TEXT, "the voucher it applies to"),
        Column("event_type", TEXT, "what happened", ("transfer", "redeem", "refund_request")),
        Column("actor_account_id", TEXT, "the account acting"),
        Column("to_account_id", TEXT, "the recipient of a transfer"),
        Column("occurred_at", TIMESTAMP, "when it happened (UTC)"),
    ),
)
COUPON_USAGE = InputContract(
    "coupon_usage",
    "coupon_usage/*.parquet",
    (
        Column("usage_id", TEXT, "the usage event"),
        Column("account_id", TEXT, "the account using the coupon"),
        Column("coupon_month", TEXT, "settlement month of the coupon used (YYYY-MM)"),
        Column("used_amount", AMOUNT, "amount applied (USD)"),
        Column("used_at", TIMESTAMP, "when it was used (UTC)"),
        Column("product_code", TEXT, "product it paid for"),
        Column(
            "coupon_owner_account_id",
            TEXT,
            "the coupon's owner when it differs from the using account (then rejected: "
            "coupons do not transfer); null means the using account",
            optional=True,
        ),
        Column(
            "instrument_kind",
            TEXT,
            "what was used; null means `referral_coupon`. A welcome reward is named by its "
            "friend's account (`account_id`) and its kind, and leaves `coupon_month` null",
            ("referral_coupon", "welcome_credit", "welcome_discount"),
            optional=True,
        ),
        Column(
            "order_amount",
            AMOUNT,
            "the order's amount (USD) before the instrument; required by `welcome_discount` "
            "(at least its minimum order, USD 20.00)",
            optional=True,
        ),
    ),
)
ALL = (BILLING, REFERRALS, ACCOUNTS, VOUCHER_CATALOG, VOUCHER_EVENTS, COUPON_USAGE)

# a product code: a trimmed lower-case identifier (a code with spaces or capitals would
# silently match no bill line)
PRODUCT_CODE_PATTERN = r"[a-z0-9][a-z0-9_.-]*"
# the id contract (docs/data-contract.md#ids): account, record, voucher, event and usage ids
# are 1-64 letters, digits and . _ : - (no space, nothing a spreadsheet evaluates);
# configurable with the rules file's optional id_pattern
DEFAULT_ID_PATTERN = r"[A-Za-z0-9._:-]{1,64}"


def allowed_values() -> dict[str, list[str]]:
    """Every allowed-value list of every input, by the parameter name the audits bind."""
    return {name: values for c in ALL for name, values in c.allowed_values().items()}


def markdown() -> str:
    """The column tables of docs/data-contract.md, as the contract declares them."""
    return "\n\n".join(f"### `{c.location}`\n\n{c.markdown_table()}" for c in ALL) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
