/* stg_voucher_catalog
   kind: model
   materialized: view
   purpose: the redemption-voucher catalog, renamed and cast to exact types.
   grain: one row per raw catalog row (source_file, file_row_number)
   parameters: none
   inputs: raw_voucher_catalog */
with source as (
    select * from raw_voucher_catalog
),

renamed as (
    select
        cast(voucher_id as varchar) as voucher_id,
        cast(product_config as varchar) as product_config,
        cast(face_value as decimal(18, 2)) as face_value_usd,
        cast(purchased_by as varchar) as purchased_by_account_id,
        cast(purchase_channel as varchar) as purchase_channel,
        cast(discounted as boolean) as is_discounted,
        cast(max_transfers as integer) as max_transfers,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        utc_timestamp(purchased_at) as purchased_at,
        source_file,
        file_row_number
    from source
)

select * from renamed
