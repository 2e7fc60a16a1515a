"""What an analyst would write: rules 1-4 (the refund-safe version of issue 12) in pandas
over the same files (exact: integer ten-thousandths of a dollar, not floats). Run as a
script; prints JSON with the timing."""

import json
import sys
import time
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
    # E: the last day seen, min(cutoff, finality date R + 394)
    referrals["seen_to"] = (referrals["registered"] + pd.Timedelta(days=394)).clip(upper=cutoff_day)
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
    joined["p"] = cash.where((day >= 0) & (day <= 364) & seen, 0) + cash.where(
        unplaceable & (billed_day > 364), 0
    )
    joined["s90"] = cash.where((day >= 0) & (day <= 89) & seen, 0) + cash.where(
        unplaceable & (billed_day > 89), 0
    )
    daily = joined.groupby(["referee_account_id", "registered", "effective"], as_index=False)[
        ["p", "s90"]
    ].sum()
    daily = daily.sort_values(["referee_account_id", "effective"])
    daily["running"] = daily.groupby("referee_account_id")["p"].cumsum()
    threshold = 20 * 10000
    # rule 3: Q is the latest crossing (P reaches the threshold from below)
    crossing = (daily["running"] >= threshold) & (daily["running"] - daily["p"] < threshold)
    q = daily[crossing].groupby("referee_account_id")["effective"].max()
    total = daily.groupby("referee_account_id")["p"].sum()
    s90 = daily.groupby("referee_account_id")["s90"].sum()
    registered = daily.groupby("referee_account_id")["registered"].first()
    out = pd.DataFrame({"q": q, "total": total, "s90": s90, "registered": registered})
    base = (
        (out["q"].notna())
        & (out["q"] + pd.Timedelta(days=30) <= cutoff_day)
        & (out["total"] >= threshold)
    )
    bonus_due = base & (out["registered"] + pd.Timedelta(days=119) <= cutoff_day)
    excess = (out["s90"] - threshold).clip(lower=0)
    # 10 % of excess in 1/10000 dollars, to cents half-up: cents = floor(excess / 1000 + 0.5)
    bonus_cents = ((excess + 500) // 1000).where(bonus_due, 0)
    cents = (base.astype("int64") * 2000 + bonus_cents).clip(upper=30000)
    out["entitlement_cents"] = cents.astype("int64")
    out[["entitlement_cents"]].reset_index(names="referee_account_id").to_parquet(result)
    print(json.dumps({"seconds": time.perf_counter() - started, "referees": len(out)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
