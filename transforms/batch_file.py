"""Render the monthly coupon batch file and its manifest, byte for byte reproducibly.

Both are pure functions of committed warehouse rows, the rules and the coupon key,
so a rerun (or a rerun after a crash) renders identical bytes.
"""

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from operator import itemgetter

from transforms.coupon_codes import CouponKey, coupon_code
from transforms.money import format_usd

# a leading character a spreadsheet evaluates (formula injection, OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text as a spreadsheet shows it and never evaluates: a cell that would start a formula
    gets a leading apostrophe (amounts are written by format_usd and never pass here)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


COUPON_COLUMNS = (
    "coupon_code",
    "referrer_account_id",
    "amount",
    "currency",
    "issued_on",
    "valid_from",
    "valid_to",
    "transferable",
    "excluded_products",
    "referee_count",
    "settlement_month",
)


# the fields of a coupon row that render_coupons_csv reads (the query selects only these)
COUPON_ROW_FIELDS = (
    "settlement_month",
    "referrer_account_id",
    "amount_usd",
    "currency",
    "issued_on",
    "valid_from",
    "valid_to",
    "is_transferable",
    "excluded_products",
    "referee_count",
)


def _iso_dates() -> Callable[[date], str]:
    """date.isoformat, computed once per distinct date: a month's rows share a few dates,
    and the files are rendered once per row of tens of thousands."""
    texts: dict[date, str] = {}

    def iso(day: date) -> str:
        text = texts.get(day)
        if text is None:
            text = texts[day] = day.isoformat()
        return text

    return iso


def render_coupons_csv(rows: Iterable[Mapping], key: CouponKey) -> bytes:
    """coupons.csv: the fixed header and one row per coupon, sorted by referrer_account_id."""
    iso = _iso_dates()

    def line(row: Mapping) -> tuple:
        amount = row["amount_usd"]
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"coupon for {row['referrer_account_id']} has amount {amount!r}")
        return (
            coupon_code(key, row["settlement_month"], row["referrer_account_id"]),
            safe_cell(row["referrer_account_id"]),
            format_usd(amount),
            row["currency"],
            iso(row["issued_on"]),
            iso(row["valid_from"]),
            iso(row["valid_to"]),
            "true" if row["is_transferable"] else "false",
            safe_cell(row["excluded_products"]),
            row["referee_count"],
            row["settlement_month"],
        )

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COUPON_COLUMNS)
    writer.writerows(map(line, sorted(rows, key=itemgetter("referrer_account_id"))))
    return buffer.getvalue().encode()


WELCOME_COLUMNS = (
    "referee_account_id",
    "referrer_account_id",
    "instrument_kind",
    "amount",
    "currency",
    "valid_from",
    "valid_to",
    "min_order_usd",
    "settlement_month",
)


# the fields of a welcome-reward row that render_welcome_csv reads
WELCOME_ROW_FIELDS = (
    "referee_account_id",
    "referrer_account_id",
    "instrument_kind",
    "amount_usd",
    "currency",
    "valid_from",
    "valid_to",
    "min_order_usd",
    "settlement_month",
)


def render_welcome_csv(rows: Iterable[Mapping]) -> bytes:
    """welcome.csv: the friends' welcome rewards of the month, sorted by referee and kind.
    No secret: a welcome reward is named by its friend's account and its kind."""
    iso = _iso_dates()

    def line(row: Mapping) -> tuple:
        amount, minimum = row["amount_usd"], row["min_order_usd"]
        if not isinstance(amount, Decimal) or amount <= 0:
            raise ValueError(f"welcome reward for {row['referee_account_id']} has {amount!r}")
        return (
            safe_cell(row["referee_account_id"]),
            safe_cell(row["referrer_account_id"]),
            row["instrument_kind"],
            format_usd(amount),
            row["currency"],
            iso(row["valid_from"]),
            iso(row["valid_to"]),
            "" if minimum is None else format_usd(minimum),
            row["settlement_month"],
        )

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(WELCOME_COLUMNS)
    writer.writerows(
        map(line, sorted(rows, key=itemgetter("referee_account_id", "instrument_kind")))
    )
    return buffer.getvalue().encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_manifest(
    settlement: Mapping, coupons_csv: bytes, rules_json: str, welcome: Mapping | None = None
) -> bytes:
    """manifest.json: what was published, on which inputs and rules, by which code; with
    `welcome` (count, total, csv bytes, products), the month's welcome.csv as well."""
    manifest = {
        "settlement_month": settlement["settlement_month"],
        "cutoff_date": settlement["cutoff_date"].isoformat(),
        "issued_on": settlement["issued_on"].isoformat(),
        "coupon_count": settlement["coupon_count"],
        "coupon_total_usd": format_usd(settlement["coupon_total_usd"]),
        "currency": json.loads(rules_json)["currency"],
        "coupons_csv_sha256": sha256_hex(coupons_csv),
        "rules": json.loads(rules_json),
        "rules_sha256": settlement["rules_sha256"],
        "input_fingerprint": settlement["input_fingerprint"],
        "code_version": settlement["code_version"],
        "coupon_key": settlement["coupon_key_kind"],
        "rejected_rows_accepted": settlement["rejected_rows_accepted"],
        "quarantine_sha256": settlement["quarantine_sha256"],
    }
    if settlement.get("accepted_shrinkage"):
        # only when the operator accepted smaller inputs (--accept-shrunk-inputs)
        manifest["accepted_shrinkage"] = settlement["accepted_shrinkage"]
    if welcome is not None:
        manifest["welcome_count"] = welcome["count"]
        manifest["welcome_total_usd"] = format_usd(welcome["total_usd"])
        manifest["welcome_csv_sha256"] = sha256_hex(welcome["csv"])
        manifest["welcome_products"] = welcome["products"]
    if settlement["coupon_key_kind"] == "development":
        manifest["warning"] = (
            "DEVELOPMENT coupon key: these coupons are not real and must not be issued"
        )
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
