/* stg_billing_lines
   kind: model
   materialized: view
   purpose: the bill lines of the scanned cycles, renamed and cast to exact types.
   grain: one row per raw bill line (source_file, file_row_number)
   parameters: none (a view; the cutoff is applied where the lines are read, in
               int_referee_daily_spend)
   inputs: raw_billing_lines
   try_cast: a value that does not cast belongs to a row the input audits reject, and a
   rejected row is left out downstream (int_accepted_billing_lines); the view is read
   with only the columns a model needs. */
with source as (
    select * from raw_billing_lines
),

renamed as (
    select
        cast(record_id as varchar) as record_id,
        cast(account_id as varchar) as account_id,
        try_cast(billing_date as date) as billing_date,
        cast(product_code as varchar) as product_code,
        cast(product_name as varchar) as product_name,
        cast(subscription_type as varchar) as subscription_type,
        cast(item as varchar) as item,
        try_cast(pretax_gross_amount as decimal(18, 4)) as pretax_gross_amount_usd,
        try_cast(pretax_amount as decimal(18, 4)) as pretax_amount_usd,
        try_cast(deducted_by_coupons as decimal(18, 4)) as deducted_by_coupons_usd,
        try_cast(deducted_by_cash_coupons as decimal(18, 4)) as deducted_by_cash_coupons_usd,
        try_cast(deducted_by_prepaid_card as decimal(18, 4)) as deducted_by_prepaid_card_usd,
        -- cash actually paid (refunds and adjustments negative): the measure of spend
        try_cast(cash_amount as decimal(18, 4)) as cash_amount_usd,
        cast(currency as varchar) as currency,
        -- on a refund or adjustment: the record it reverses (null on ordinary lines and
        -- when the file has no such column)
        cast(original_record_id as varchar) as original_record_id,
        cast(billing_cycle as varchar) as billing_cycle,
        source_file,
        file_row_number
    from source
)

select * from renamed
