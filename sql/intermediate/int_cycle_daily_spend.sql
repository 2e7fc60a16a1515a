/* int_cycle_daily_spend
   purpose: cash per referee account, day, product and subscription type, per billing
            cycle: freshly aggregated for the cycles scanned this run, and taken from the
            incremental cache (warehouse.cycle_daily_spend) for cycles unchanged since they
            were scanned. See docs/performance.md#incremental.
   grain: one row per (billing_cycle, account_id, billing_date, product_code, subscription_type)
   parameters: none (cached_cycles lists the cycles to take from the cache) */
with lines as (
    select * from stg_billing_lines
),

referee_accounts as (
    select distinct referee_account_id as account_id from stg_referrals
),

scanned as (
    select
        lines.billing_cycle,
        lines.account_id,
        lines.billing_date,
        lines.product_code,
        lines.subscription_type,
        cast(sum(lines.cash_amount_usd) as decimal(38, 4)) as cash_amount_usd
    from lines
    inner join referee_accounts on lines.account_id = referee_accounts.account_id
    group by
        lines.billing_cycle, lines.account_id, lines.billing_date, lines.product_code, lines.subscription_type
),

cached as (
    select
        billing_cycle,
        account_id,
        billing_date,
        product_code,
        subscription_type,
        cash_amount_usd
    from warehouse.cycle_daily_spend
    where billing_cycle in (select billing_cycle from cached_cycles)
),

final as (
    select * from scanned
    union all
    select * from cached
)

select * from final
