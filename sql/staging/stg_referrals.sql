/* stg_referrals
   kind: model
   materialized: view
   purpose: referral rows visible at the cutoff, renamed and cast to exact types.
   grain: one row per raw referral row visible at the cutoff (source_file, file_row_number)
   parameters: none (visibility is decided once, in raw_visible_referrals)
   inputs: raw_visible_referrals
   registered_at is UTC; its UTC date is day 1 of every window. */
with source as (
    select * from raw_visible_referrals
),

renamed as (
    select
        cast(referee_account_id as varchar) as referee_account_id,
        cast(referrer_account_id as varchar) as referrer_account_id,
        cast(referral_code as varchar) as referral_code,
        utc_timestamp(registered_at) as registered_at,
        registered_date,
        source_file,
        file_row_number
    from source
)

select * from renamed
