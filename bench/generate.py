"""Synthetic data at scale, generated inside DuckDB (no Python loops), in the input contract.

Deterministic for a seed: every value is derived from hash(seed, row number, purpose), so
the same arguments give the same rows. Shapes: most accounts are not referees; referees'
spend is heavy-tailed (most little, a few a lot); about 3 % of lines are unlinked refunds,
and from the second cycle on, 1 % of the previous cycle's lines are refunded by half in a
linked refund (`original_record_id`; one in twenty names a record never delivered); about
a fifth of lines are on ineligible products; a few identity cases and risky accounts; 5 %
of accounts never verified. The accounts file also keeps the `payment_verified` column of
the contract before issue 12 (a column the contract does not read), so that the commit
before can be benchmarked on the same files.

Two shapes (SHAPES): `today`, the benchmark's shape since issue 3, where any referee may
spend in any cycle (most referees have new spend every month); and `program`, a referral
program years old, where referees register month after month, spend for about a year
after registering, mostly in their first months, and then are final and quiet.
"""

import time
from pathlib import Path

import duckdb

from transforms import months

FIRST_CYCLE = "2025-01"
# the program shape ends where the today shape's 13 cycles end, so both settle 2026-01
PROGRAM_LAST_CYCLE = "2026-01"
SHAPES = ("today", "program")
ROW_GROUP_ROWS = 500_000

# (product_code, subscription_type): eligible ones first, then ineligible ones
PRODUCTS = [
    ("ecs", "PayAsYouGo"),
    ("oss", "PayAsYouGo"),
    ("oss", "Subscription"),
    ("rds", "PayAsYouGo"),
    ("kvstore", "Subscription"),
    ("odps", "Subscription"),
    ("pai", "PayAsYouGo"),
    ("waf", "Subscription"),
    ("cdn", "PayAsYouGo"),
    ("swas", "Subscription"),
    ("ecs", "Subscription"),
]


def _uniform(seed: int, purpose: int) -> str:
    """SQL for a value in [0, 1) from the row number `i`, the seed and a purpose number."""
    return f"((hash(i, {seed}, {purpose}) % 1000000007) / 1000000007.0)"


def generate(
    out: Path,
    referees: int,
    cycles: int,
    lines_per_month: int,
    seed: int = 1,
    progress=print,
    shape: str = "today",
):
    """Write billing cycles, referrals and accounts under `out`. `shape`: see SHAPES."""
    out = Path(out)
    accounts = referees * 5  # most accounts are never referred
    referrers = max(1, referees // 10)
    first_cycle = first_cycle_of(shape, cycles)
    month_list = months.month_range(first_cycle, _add_months(first_cycle, cycles - 1))

    def referee_line(cycle_index: int) -> str:
        """SQL for the referee a referee's bill line of this cycle belongs to."""
        if shape == "today":
            # any referee, registered or not yet, skewed so a few spend a lot
            return f"floor({referees} * pow({_uniform(seed, 2)}, 3))"
        # program: referees are numbered in the order they registered, one cohort per
        # cycle; a line goes to a cohort 0-12 months old, mostly a young one, and within
        # it skewed to a few heavy spenders. Referees older than 13 months spend nothing
        # new; a line whose cohort would predate the program goes to another account.
        cohort = f"({cycle_index} - floor(13 * pow({_uniform(seed, 16)}, 2)))"
        per_cohort = referees / cycles
        return (
            f"case when {cohort} >= 0 then floor({cohort} * {per_cohort}) "
            f"+ floor({per_cohort} * pow({_uniform(seed, 2)}, 3)) "
            f"else {referees} + floor(({accounts} - {referees}) * {_uniform(seed, 17)}) end"
        )

    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    products = ", ".join(f"('{code}', '{kind}')" for code, kind in PRODUCTS)
    con.execute(
        f"create table products as select row_number() over () - 1 as product_index, * "
        f"from (values {products}) as p(product_code, subscription_type)"
    )
    started = time.perf_counter()
    for number, cycle in enumerate(month_list, start=1):
        folder = out / "billing" / f"billing_cycle={cycle}"
        folder.mkdir(parents=True, exist_ok=True)
        first = months.first_day(cycle)
        days = months.cutoff_date(cycle).day
        # accounts: half the lines go to referee accounts (ids below `referees`), skewed so a
        # few referees spend a lot; the rest to the other accounts
        con.execute(
            f"""
            copy (
                select
                    'R{cycle.replace("-", "")}-' || i as record_id,
                    'A' || lpad(cast(cast(
                        case when {_uniform(seed, 1)} < 0.5
                             then {referee_line(number - 1)}
                             else {referees} + floor(({accounts} - {referees}) * {_uniform(seed, 3)})
                        end as bigint) as varchar), 9, '0') as account_id,
                    date '{first}' + cast(floor({days} * {_uniform(seed, 4)}) as integer) as billing_date,
                    p.product_code,
                    upper(p.product_code) as product_name,
                    p.subscription_type,
                    case when refund then 'Refund'
                         when p.subscription_type = 'Subscription' then 'SubscriptionOrder'
                         else 'PayAsYouGoBill' end as item,
                    cash as pretax_gross_amount,
                    cash as pretax_amount,
                    cast(0 as decimal(18, 4)) as deducted_by_coupons,
                    cast(0 as decimal(18, 4)) as deducted_by_cash_coupons,
                    cast(0 as decimal(18, 4)) as deducted_by_prepaid_card,
                    cash as cash_amount,
                    'USD' as currency,
                    cast(null as varchar) as original_record_id
                from (
                    select
                        i,
                        {_uniform(seed, 5)} < 0.03 as refund,
                        cast(floor(
                            case when {_uniform(seed, 6)} < 0.8 then 8 * {_uniform(seed, 7)}
                                 else 11 * {_uniform(seed, 7)} end
                        ) as integer) as product_index,
                        -- cents, heavy tailed: most lines are small
                        cast(
                            cast(1 + floor(5000 * pow({_uniform(seed, 8)}, 4)) as bigint) * 0.01
                            * case when {_uniform(seed, 5)} < 0.03 then -1 else 1 end
                            as decimal(18, 4)
                        ) as cash
                    from range({lines_per_month}) as r(i)
                ) as lines
                join products as p using (product_index)
            ) to '{folder / "part-0.parquet"}' (format parquet, row_group_size {ROW_GROUP_ROWS})
            """
        )
        if number > 1:
            previous = (
                out / "billing" / f"billing_cycle={month_list[number - 2]}" / "part-0.parquet"
            )
            con.execute(
                f"""
                copy (
                    select
                        'F{cycle.replace("-", "")}-' || i as record_id,
                        account_id,
                        date '{first}' + cast(floor({days} * {_uniform(seed, 21)}) as integer)
                            as billing_date,
                        product_code,
                        product_name,
                        subscription_type,
                        'Refund' as item,
                        -half as pretax_gross_amount,
                        -half as pretax_amount,
                        cast(0 as decimal(18, 4)) as deducted_by_coupons,
                        cast(0 as decimal(18, 4)) as deducted_by_cash_coupons,
                        cast(0 as decimal(18, 4)) as deducted_by_prepaid_card,
                        -half as cash_amount,
                        'USD' as currency,
                        case when {_uniform(seed, 22)} < 0.05 then 'X' || record_id
                             else record_id end as original_record_id
                    from (
                        select
                            row_number() over (order by record_id) as i,
                            *,
                            cast(cash_amount / 2 as decimal(18, 4)) as half
                        from read_parquet('{previous}')
                        where cash_amount > 0
                          and (hash(record_id, {seed}, 23) % 1000000007) / 1000000007.0 < 0.01
                    )
                ) to '{folder / "part-1-refunds.parquet"}' (format parquet)
                """
            )
        progress(f"generate: billing cycle {number}/{len(month_list)} ({cycle}) written")
    last_day = months.cutoff_date(month_list[-1])
    days_span = (last_day - months.first_day(first_cycle)).days - 30
    if shape == "today":
        # registered at any time of the span, in no order
        registered_at = (
            f"timestamptz '{first_cycle}-01 00:00:00+00' + to_seconds(cast(floor("
            f"{days_span} * 86400 * {_uniform(seed, 12)}) as bigint))"
        )
    else:
        # numbered in the order they registered: cohort k registered in the k-th cycle
        registered_at = (
            f"timestamptz '{first_cycle}-01 00:00:00+00' + to_months(cast(floor(i * "
            f"{cycles} / {referees}) as integer)) + to_seconds(cast(floor(27 * 86400 * "
            f"{_uniform(seed, 12)}) as bigint))"
        )
    (out / "referrals").mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        copy (
            select
                'A' || lpad(cast(i as varchar), 9, '0') as referee_account_id,
                'A' || lpad(cast({referees} + floor({referrers} * {_uniform(seed, 11)}) as bigint)::varchar, 9, '0')
                    as referrer_account_id,
                'RC-' || i as referral_code,
                {registered_at} as registered_at
            from range({referees}) as r(i)
        ) to '{out / "referrals" / "referrals.parquet"}' (format parquet)
        """
    )
    (out / "accounts").mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        copy (
            select
                'A' || lpad(cast(i as varchar), 9, '0') as account_id,
                -- about 1 % of accounts belong to a person who has another account
                'P' || cast(case when {_uniform(seed, 13)} < 0.01 then i - 1 else i end as varchar)
                    as identity_key,
                case when {_uniform(seed, 14)} > 0.05
                     then timestamptz '2024-06-01 00:00:00+00' end as verified_at,
                {_uniform(seed, 14)} > 0.05 as payment_verified,
                case when {_uniform(seed, 15)} < 0.005 then 'fraud' else 'ok' end as risk_status
            from range({accounts}) as r(i)
        ) to '{out / "accounts" / "accounts.parquet"}' (format parquet)
        """
    )
    con.close()
    total = cycles * lines_per_month
    progress(
        f"generate: {total:,} bill lines in {cycles} cycles, {referees:,} referees, "
        f"{accounts:,} accounts in {time.perf_counter() - started:.1f} s under {out}"
    )
    return month_list


def first_cycle_of(shape: str, cycles: int) -> str:
    if shape not in SHAPES:
        raise ValueError(f"shape {shape!r} is not one of {SHAPES}")
    if shape == "today":
        return FIRST_CYCLE
    first = PROGRAM_LAST_CYCLE
    for _ in range(cycles - 1):
        first = months.previous_month(first)
    return first


def _add_months(month: str, count: int) -> str:
    for _ in range(count):
        month = months.next_month(month)
    return month


def main() -> None:
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--referees", required=True, type=int)
    parser.add_argument("--months", required=True, type=int, help="billing cycles")
    parser.add_argument("--lines-per-month", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--shape",
        choices=SHAPES,
        default="today",
        help="today: cycles from 2025-01, any referee spends any month; program: cycles "
        "ending 2026-01, referees register month by month and spend for about a year",
    )
    args = parser.parse_args()
    generate(
        args.out,
        args.referees,
        args.months,
        args.lines_per_month,
        args.seed,
        progress=lambda message: print(f"creditflow: {message}", file=sys.stderr, flush=True),
        shape=args.shape,
    )


if __name__ == "__main__":
    main()
