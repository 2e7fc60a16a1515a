/* int_cycle_linked_lines
   kind: model
   purpose: the referee accounts' lines that name an original record, per billing cycle:
            the cycles scanned this run (int_scanned_linked_lines) and, for cycles
            unchanged since they were scanned, the incremental cache
            (warehouse.cycle_linked_lines).
   grain: one row per (billing_cycle, record_id)
   parameters: none (cached_cycles lists the cycles to take from the cache)
   inputs: int_scanned_linked_lines, warehouse.cycle_linked_lines, cached_cycles (control) */
with scanned as (
    select
        billing_cycle,
        record_id,
        account_id,
        billing_date,
        original_record_id,
        product_code,
        subscription_type,
        cash_amount_usd
    from int_scanned_linked_lines
),

cached as (
    select
        billing_cycle,
        record_id,
        account_id,
        billing_date,
        original_record_id,
        product_code,
        subscription_type,
        cash_amount_usd
    from warehouse.cycle_linked_lines
    where billing_cycle in (select billing_cycle from cached_cycles)
),

final as (
    select * from scanned
    union all
    select * from cached
)

select * from final
