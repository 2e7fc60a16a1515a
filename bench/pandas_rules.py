"""What an analyst would write: rules 1-4 in pandas over the same files (exact: integer
ten-thousandths of a dollar, not floats). Run as a script; prints JSON with the timing."""

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
        columns=["account_id", "billing_date", "product_code", "subscription_type", "cash_amount"]
    )
    cash = pc.cast(pc.multiply(table["cash_amount"], 10000), "int64")  # exact 1/10000 dollars
    lines = table.drop_columns(["cash_amount"]).append_column("cash", cash).to_pandas()
    lines["billing_date"] = pd.to_datetime(lines["billing_date"])
    referrals = pd.read_parquet(data / "referrals")
    referrals["registered"] = (
        referrals["registered_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    )
    referrals = referrals[referrals["registered"] <= cutoff_day]
    eligible = [
        (p, k) in ELIGIBLE or p in ANY_KIND
        for p, k in zip(lines["product_code"], lines["subscription_type"], strict=True)
    ]
    lines = lines[pd.Series(eligible, index=lines.index) & (lines["billing_date"] <= cutoff_day)]
    joined = lines.merge(
        referrals[["referee_account_id", "registered"]],
        left_on="account_id",
        right_on="referee_account_id",
    )
    day = (joined["billing_date"] - joined["registered"]).dt.days
    joined = joined[(day >= 0) & (day <= 364)]
    daily = joined.groupby(["referee_account_id", "registered", "billing_date"], as_index=False)[
        "cash"
    ].sum()
    daily = daily.sort_values(["referee_account_id", "billing_date"])
    daily["running"] = daily.groupby("referee_account_id")["cash"].cumsum()
    threshold = 20 * 10000
    q = daily[daily["running"] >= threshold].groupby("referee_account_id")["billing_date"].min()
    total = daily.groupby("referee_account_id")["cash"].sum()
    in90 = daily[(daily["billing_date"] - daily["registered"]).dt.days <= 89]
    s90 = in90.groupby("referee_account_id")["cash"].sum()
    registered = daily.groupby("referee_account_id")["registered"].first()
    out = pd.DataFrame({"q": q, "total": total, "s90": s90, "registered": registered}).fillna(
        {"s90": 0}
    )
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
