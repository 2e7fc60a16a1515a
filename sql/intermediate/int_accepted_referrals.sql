/* int_accepted_referrals
   kind: model
   purpose: the referrals the settlement judges: visible at the cutoff, not rejected by the
            input audits (those rows are in the quarantine), identical rows delivered twice
            counted once.
   grain: one row per distinct referral
          (referee_account_id, referrer_account_id, registered_at, referral_code)
   parameters: none
   inputs: stg_referrals, rejected_rows (control) */
with referrals as (
    select * from stg_referrals
),

accepted as (
    select * from referrals
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = referrals.source_file
            and rejected_rows.file_row_number = referrals.file_row_number
    )
),

final as (
    select distinct
        referee_account_id,
        referrer_account_id,
        referral_code,
        registered_at,
        registered_date
    from accepted
)

select * from final
