/* stg_billing_lines
   purpose: bill lines a settlement may see, renamed and cast to exact types.
   grain: one row per record_id
   parameters: none (a view; the cutoff is applied where the lines are read, in
               int_referee_daily_spend)
   materialized: view */
with source as (
    select * from raw_billing_lines
    -- rows the input audits rejected are in the quarantine, not in the settlement
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = raw_billing_lines.source_file
            and rejected_rows.file_row_number = raw_billing_lines.file_row_number
    )
),

renamed as (
    select
        cast(record_id as varchar) as record_id,
        cast(account_id as varchar) as account_id,
        cast(billing_date as date) as billing_date,
        cast(product_code as varchar) as product_code,
        cast(product_name as varchar) as product_name,
        cast(subscription_type as varchar) as subscription_type,
        cast(item as varchar) as item,
        cast(pretax_gross_amount as decimal(18, 4)) as pretax_gross_amount_usd,
        cast(pretax_amount as decimal(18, 4)) as pretax_amount_usd,
        cast(deducted_by_coupons as decimal(18, 4)) as deducted_by_coupons_usd,
        cast(deducted_by_cash_coupons as decimal(18, 4)) as deducted_by_cash_coupons_usd,
        cast(deducted_by_prepaid_card as decimal(18, 4)) as deducted_by_prepaid_card_usd,
        -- cash actually paid (refunds and adjustments negative): the measure of spend
        cast(cash_amount as decimal(18, 4)) as cash_amount_usd,
        cast(currency as varchar) as currency,
        cast(billing_cycle as varchar) as billing_cycle
    from source
),

deduplicated as (
    -- A re-exported cycle delivers the same record again; identical copies are one line.
    -- Copies that differ are rejected before this runs (billing_record_conflicts), so a
    -- DISTINCT (a hash aggregate, no sort) leaves one row per record_id.
    select distinct * from renamed
)

select * from deduplicated
