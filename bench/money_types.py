"""What the exact money type costs: the hot aggregate of a settlement (eligible cash per
referee account and day) summed as DECIMAL(18,4), as BIGINT ten-thousandths of a dollar and
as DOUBLE, over the same generated bill lines. A benchmark, not a test.

    .venv/bin/python bench/money_types.py --lines 100000000     # data from bench/run.py

Prints a markdown table: best of three wall seconds per representation, read from the
Parquet files and from an in-memory table, and the grand total each one gives.
"""

import argparse
import time
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent

# the same shape as int_cycle_eligible_spend: lines of referee accounts, summed per day
AGGREGATE = """
select account_id, billing_date, sum({amount}) as spend
from {lines}
semi join (select distinct referee_account_id as account_id from read_parquet($referrals))
    using (account_id)
group by account_id, billing_date
"""

# name: (the amount as summed, what its total is in)
REPRESENTATIONS = {
    "DECIMAL(18,4) (chosen)": ("cash_amount", ""),
    "BIGINT ten-thousandths": ("cast(cash_amount * 10000 as bigint)", " (÷ 10,000)"),
    "DOUBLE (inexact)": ("cast(cash_amount as double)", ""),
}


def best_of_three(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict) -> tuple[float, str]:
    """Best wall seconds of three runs of sql (aggregated to one row, so the result set is
    not what is timed) and the grand total it gives, as text."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        total = con.execute(f"select sum(spend) from ({sql})", parameters).fetchone()[0]
        timings.append(time.perf_counter() - started)
    return min(timings), str(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, required=True, help="a size bench/run.py generated")
    args = parser.parse_args()
    data = BENCH / "data" / f"{args.lines:_}"
    if not (data / "billing").exists():
        raise SystemExit(f"{data}: no generated data; run bench/run.py --lines {args.lines} first")
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    con.execute("set memory_limit = '8GB'")
    parameters = {"referrals": str(data / "referrals" / "*.parquet")}
    files = f"read_parquet('{data / 'billing' / '*' / '*.parquet'}')"
    con.execute(f"create table lines as select account_id, billing_date, cash_amount from {files}")
    rows = [
        "| representation | from Parquet s | in memory s | grand total |",
        "|---|---:|---:|---:|",
    ]
    for name, (amount, unit) in REPRESENTATIONS.items():
        parquet_s, total = best_of_three(
            con, AGGREGATE.format(amount=amount, lines=files), parameters
        )
        memory_s, _ = best_of_three(con, AGGREGATE.format(amount=amount, lines="lines"), parameters)
        rows.append(f"| {name} | {parquet_s:.2f} | {memory_s:.2f} | {total}{unit} |")
    print(f"{args.lines:,} bill lines, DuckDB {duckdb.__version__}\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
