"""What an analyst would write: rules 1-4 (the refund-safe version of issue 12) in pandas
over the same files (exact: integer ten-thousandths of a dollar, not floats). Run as a
script; prints JSON with the timing. The rule numbers come from config/rules.toml; the
eligible list below is the shipped config/eligible_products.csv, written out."""

import json
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds

ELIGIBLE = {
    ("ecs", "PayAsYouGo"),
    ("rds", "PayAsYouGo"),
    ("gpdb", "PayAsYouGo"),
    ("drds", "Subscription"),
    ("dts", "Subscription"),
    ("odps", "Subscription"),
}
ANY_KIND = {
    "oss",
    "nas",
    "mariadb",
    "dds",
    "kvstore",
    "ots",
    "emr",
    "pai",
    "quickbi",
    "datav",
    "imagesearch",
    "green",
    "sas",
    "waf",
    "cas",
    "ddoscoo",
    "mss",
}


RULES = tomllib.loads((Path(__file__).resolve().parents[1] / "config" / "rules.toml").read_text())
WINDOW_LAST = RULES["qualification_window_days"] - 1  # day offsets from R
BONUS_WINDOW_LAST = RULES["bonus_window_days"] - 1
HOLD = pd.Timedelta(days=RULES["hold_days"])
TEN_THOUSANDTHS = 10000  # amounts are integer ten-thousandths of a dollar


def _ten_thousandths(key: str) -> int:
    return int(Decimal(RULES[key]) * TEN_THOUSANDTHS)


def main(data: Path, cutoff: str, result: Path) -> None:
    started = time.perf_counter()
    cutoff_day = pd.Timestamp(cutoff)
    table = ds.dataset(data / "billing", format="parquet", partitioning="hive").to_table(
        columns=[
            "record_id",
            "account_id",
            "billing_date",
            "product_code",
            "subscription_type",
            "cash_amount",
            "original_record_id",
        ]
    )
    cash = pc.cast(pc.multiply(table["cash_amount"], 10000), "int64")  # exact 1/10000 dollars
    every_line = table.drop_columns(["cash_amount"]).append_column("cash", cash).to_pandas()
    every_line["billing_date"] = pd.to_datetime(every_line["billing_date"])
    referrals = pd.read_parquet(data / "referrals")
    referrals["registered"] = (
        referrals["registered_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    )
    referrals = referrals[referrals["registered"] <= cutoff_day]
    # E: the last day seen, min(cutoff, finality date: the window's last day + the hold)
    referrals["seen_to"] = (referrals["registered"] + pd.Timedelta(days=WINDOW_LAST) + HOLD).clip(
        upper=cutoff_day
    )
    eligible = [
        (p, k) in ELIGIBLE or p in ANY_KIND
        for p, k in zip(every_line["product_code"], every_line["subscription_type"], strict=True)
    ]
    lines = every_line[pd.Series(eligible, index=every_line.index)]
    joined = lines.merge(
        referrals[["referee_account_id", "registered", "seen_to"]],
        left_on="account_id",
        right_on="referee_account_id",
    )
    joined = joined[
        (joined["billing_date"] >= joined["registered"])
        & (joined["billing_date"] <= joined["seen_to"])
    ]
    # rule 1: a line naming a delivered line of its account counts on that line's date
    named = every_line[every_line["record_id"].isin(set(joined["original_record_id"].dropna()))]
    originals = (
        named.groupby(["account_id", "record_id"], as_index=False)["billing_date"]
        .min()
        .rename(columns={"record_id": "original_record_id", "billing_date": "original_date"})
    )
    joined = joined.merge(originals, on=["account_id", "original_record_id"], how="left")
    linked = joined["original_date"].notna()
    joined["effective"] = joined["original_date"].where(linked, joined["billing_date"])
    day = (joined["effective"] - joined["registered"]).dt.days
    seen = joined["effective"] <= joined["seen_to"]
    billed_day = (joined["billing_date"] - joined["registered"]).dt.days
    unplaceable = ~linked & (joined["cash"] < 0)
    cash = joined["cash"]
    # rule 2: an unlinked refund billed after a window's end counts against it
    joined["p"] = cash.where((day >= 0) & (day <= WINDOW_LAST) & seen, 0) + cash.where(
        unplaceable & (billed_day > WINDOW_LAST), 0
    )
    joined["bonus_spend"] = cash.where(
        (day >= 0) & (day <= BONUS_WINDOW_LAST) & seen, 0
    ) + cash.where(unplaceable & (billed_day > BONUS_WINDOW_LAST), 0)
    daily = joined.groupby(["referee_account_id", "registered", "effective"], as_index=False)[
        ["p", "bonus_spend"]
    ].sum()
    daily = daily.sort_values(["referee_account_id", "effective"])
    daily["running"] = daily.groupby("referee_account_id")["p"].cumsum()
    threshold = _ten_thousandths("base_threshold_usd")
    # rule 3: Q is the latest crossing (P reaches the threshold from below)
    crossing = (daily["running"] >= threshold) & (daily["running"] - daily["p"] < threshold)
    q = daily[crossing].groupby("referee_account_id")["effective"].max()
    total = daily.groupby("referee_account_id")["p"].sum()
    bonus_spend = daily.groupby("referee_account_id")["bonus_spend"].sum()
    registered = daily.groupby("referee_account_id")["registered"].first()
    out = pd.DataFrame(
        {"q": q, "total": total, "bonus_spend": bonus_spend, "registered": registered}
    )
    base = (out["q"].notna()) & (out["q"] + HOLD <= cutoff_day) & (out["total"] >= threshold)
    bonus_due = base & (
        out["registered"] + pd.Timedelta(days=BONUS_WINDOW_LAST) + HOLD <= cutoff_day
    )
    excess = (out["bonus_spend"] - _ten_thousandths("bonus_threshold_usd")).clip(lower=0)
    # rate (num/den) x excess in 1/10000 dollars, to cents half-up:
    # cents = floor(excess x num / den / 100 + 0.5) = (excess x num + 50 den) // (100 den)
    num, den = Decimal(RULES["bonus_rate"]).as_integer_ratio()
    bonus_cents = ((excess * num + 50 * den) // (100 * den)).where(bonus_due, 0)
    base_cents = _ten_thousandths("base_credit_usd") // 100
    cap_cents = _ten_thousandths("cap_per_referee_usd") // 100
    cents = (base.astype("int64") * base_cents + bonus_cents).clip(upper=cap_cents)
    out["entitlement_cents"] = cents.astype("int64")
    out[["entitlement_cents"]].reset_index(names="referee_account_id").to_parquet(result)
    print(json.dumps({"seconds": time.perf_counter() - started, "referees": len(out)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
