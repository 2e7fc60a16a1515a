"""The preferred physical (Arrow/Parquet) schema of each input file of the data contract
(docs/data-contract.md, docs/instruments.md). Readers accept more (see flows/io.py); the
sample generator, the test worlds and the bad-input corpus write exactly these."""

import pyarrow as pa

MONEY = pa.decimal128(18, 4)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

BILLING = pa.schema(
    [
        ("record_id", pa.string()),
        ("account_id", pa.string()),
        ("billing_date", pa.date32()),
        ("product_code", pa.string()),
        ("product_name", pa.string()),
        ("subscription_type", pa.string()),
        ("item", pa.string()),
        ("pretax_gross_amount", MONEY),
        ("pretax_amount", MONEY),
        ("deducted_by_coupons", MONEY),
        ("deducted_by_cash_coupons", MONEY),
        ("deducted_by_prepaid_card", MONEY),
        ("cash_amount", MONEY),
        ("currency", pa.string()),
    ]
)
REFERRALS = pa.schema(
    [
        ("referee_account_id", pa.string()),
        ("referrer_account_id", pa.string()),
        ("referral_code", pa.string()),
        ("registered_at", UTC_TIMESTAMP),
    ]
)
ACCOUNTS = pa.schema(
    [
        ("account_id", pa.string()),
        ("identity_key", pa.string()),
        ("payment_verified", pa.bool_()),
        ("risk_status", pa.string()),
    ]
)
VOUCHER_CATALOG = pa.schema(
    [
        ("voucher_id", pa.string()),
        ("product_config", pa.string()),
        ("face_value", MONEY),
        ("purchased_by", pa.string()),
        ("purchase_channel", pa.string()),
        ("discounted", pa.bool_()),
        ("max_transfers", pa.int32()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("purchased_at", UTC_TIMESTAMP),
    ]
)
VOUCHER_EVENTS = pa.schema(
    [
        ("event_id", pa.string()),
        ("voucher_id", pa.string()),
        ("event_type", pa.string()),
        ("actor_account_id", pa.string()),
        ("to_account_id", pa.string()),
        ("occurred_at", UTC_TIMESTAMP),
    ]
)
COUPON_USAGE = pa.schema(
    [
        ("usage_id", pa.string()),
        ("account_id", pa.string()),
        ("coupon_month", pa.string()),
        ("used_amount", MONEY),
        ("used_at", UTC_TIMESTAMP),
        ("product_code", pa.string()),
    ]
)
# usage may name the coupon's owner when it differs from the using account
COUPON_USAGE_WITH_OWNER = COUPON_USAGE.append(pa.field("coupon_owner_account_id", pa.string()))
