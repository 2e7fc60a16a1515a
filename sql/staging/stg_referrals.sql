/* stg_referrals
   purpose: referral registrations visible at the cutoff, cast to exact types.
   grain: one row per distinct referral row
          (referee_account_id, referrer_account_id, registered_at, referral_code)
   parameters: $cutoff_date
   registered_at is UTC; its UTC date is day 1 of every window. A registration after
   the cutoff does not exist yet for this settlement. Identical rows delivered twice
   are one referral. */
with source as (
    select * from raw_referrals
    -- rows the input audits rejected are in the quarantine, not in the settlement
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = raw_referrals.source_file
            and rejected_rows.file_row_number = raw_referrals.file_row_number
    )
),

renamed as (
    select distinct
        cast(referee_account_id as varchar) as referee_account_id,
        cast(referrer_account_id as varchar) as referrer_account_id,
        cast(referral_code as varchar) as referral_code,
        cast(registered_at as timestamp) as registered_at,
        cast(cast(registered_at as timestamp) as date) as registered_date
    from source
)

select * from renamed
where registered_date <= $cutoff_date
