/* stg_coupon_usage
   kind: model
   materialized: view
   purpose: referral-coupon usage, renamed and cast.
   grain: one row per raw usage row (source_file, file_row_number)
   parameters: none
   inputs: raw_coupon_usage */
with source as (
    select * from raw_coupon_usage
),

renamed as (
    select
        cast(usage_id as varchar) as usage_id,
        cast(account_id as varchar) as account_id,
        cast(coupon_month as varchar) as coupon_month,
        cast(used_amount as decimal(18, 2)) as used_amount_usd,
        utc_timestamp(used_at) as used_at,
        cast(product_code as varchar) as product_code,
        cast(coupon_owner_account_id as varchar) as coupon_owner_account_id,
        -- optional columns: a file without them uses referral coupons and names no order
        cast(coalesce(instrument_kind, 'referral_coupon') as varchar) as instrument_kind,
        cast(order_amount as decimal(18, 2)) as order_amount_usd,
        source_file,
        file_row_number
    from source
)

select * from renamed
