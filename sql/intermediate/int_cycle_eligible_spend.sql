/* int_cycle_eligible_spend
   kind: model
   materialized: view
   purpose: eligible cash of the ordinary lines per referee account and day, per billing
            cycle: the cycles scanned this run (int_scanned_eligible_spend) and, for
            cycles unchanged since they were scanned, the incremental cache
            (warehouse.cycle_eligible_spend). See docs/performance.md#incremental.
   grain: one row per (billing_cycle, account_id, billing_date)
   parameters: none (cached_cycles lists the cycles to take from the cache)
   inputs: int_scanned_eligible_spend, warehouse.cycle_eligible_spend,
           cached_cycles (control)
   A view: the scanned rows are not copied again; int_referee_daily_spend reads it once. */
with scanned as (
    select
        billing_cycle,
        account_id,
        billing_date,
        eligible_cash_usd,
        unlinked_refund_cash_usd
    from int_scanned_eligible_spend
),

cached as (
    select
        billing_cycle,
        account_id,
        billing_date,
        eligible_cash_usd,
        unlinked_refund_cash_usd
    from warehouse.cycle_eligible_spend
    where billing_cycle in (select billing_cycle from cached_cycles)
),

final as (
    select * from scanned
    union all
    select * from cached
)

select * from final
