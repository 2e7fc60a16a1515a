/* stg_billing_lines
   purpose: bill lines a settlement may see, renamed and cast to exact types.
   grain: one row per (billing_cycle, record_id)
   parameters: none (a view; the cutoff is applied where the lines are read, in
               int_referee_daily_spend)
   materialized: view
   Left out: rows the input audits rejected (they are in the quarantine) and the surplus
   copies of records delivered twice (stg_billing_surplus_copies). Both sets are small,
   so they are anti-joins on (file, row) rather than a DISTINCT over every line; the
   view is read with only the columns a model needs. */
with source as (
    select * from raw_billing_lines
    where
        not exists (
            select 1 from rejected_rows
            where
                rejected_rows.source_file = raw_billing_lines.source_file
                and rejected_rows.file_row_number = raw_billing_lines.file_row_number
        )
        and not exists (
            select 1 from stg_billing_surplus_copies as surplus
            where
                surplus.source_file = raw_billing_lines.source_file
                and surplus.file_row_number = raw_billing_lines.file_row_number
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
)

select * from renamed
