/* stg_voucher_events
   kind: model
   materialized: view
   purpose: voucher events (transfer, redeem, refund request), renamed and cast.
   grain: one row per raw event row (source_file, file_row_number)
   parameters: none
   inputs: raw_voucher_events */
with source as (
    select * from raw_voucher_events
),

renamed as (
    select
        cast(event_id as varchar) as event_id,
        cast(voucher_id as varchar) as voucher_id,
        cast(event_type as varchar) as event_type,
        cast(actor_account_id as varchar) as actor_account_id,
        cast(to_account_id as varchar) as to_account_id,
        utc_timestamp(occurred_at) as occurred_at,
        source_file,
        file_row_number
    from source
)

select * from renamed
