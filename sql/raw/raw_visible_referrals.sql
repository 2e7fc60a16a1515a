/* raw_visible_referrals
   kind: model
   purpose: the referral rows that exist for this settlement: registered on or before the
            cutoff. The one place the visibility rule lives; the fingerprint, the choice of
            cycles to scan (both before the input audits) and staging all read it. A
            registration after the cutoff does not exist yet for this settlement; a
            registered_at that is not a timestamp is left out here (the audits reject it).
   grain: one row per raw referral row (source_file, file_row_number)
   parameters: $cutoff_date
   inputs: raw_referrals */
with referrals as (
    select
        *,
        cast(utc_timestamp(registered_at) as date) as registered_date
    from raw_referrals
),

final as (
    select * from referrals
    where registered_date <= $cutoff_date
)

select * from final
