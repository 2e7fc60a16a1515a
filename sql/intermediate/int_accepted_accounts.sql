/* int_accepted_accounts
   kind: model
   purpose: the accounts the settlement judges: those an accepted referral names (as
            referee or referrer), from rows not rejected by the input audits, identical
            rows delivered twice counted once.
   grain: one row per account_id (of an account int_accepted_referrals names; one listed
          twice with different content is rejected by the account_conflicts audit)
   parameters: none
   inputs: stg_accounts, int_accepted_referrals, rejected_rows (control)
   Every reason of int_referral_reasons reads only the two accounts of a referral, so an
   account no referral names decides nothing. It is still read and audited (the
   account_conflicts audit sees every row); it is only not carried into the settlement.
   In a years-old program most accounts are named by no visible referral (docs/performance.md). */
with named_accounts as (
    select referee_account_id as account_id from int_accepted_referrals
    union
    select referrer_account_id from int_accepted_referrals
),

accounts as (
    select * from stg_accounts
    semi join named_accounts on stg_accounts.account_id = named_accounts.account_id
),

accepted as (
    select * from accounts
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = accounts.source_file
            and rejected_rows.file_row_number = accounts.file_row_number
    )
),

final as (
    select distinct
        account_id,
        identity_key,
        verified_at,
        risk_status
    from accepted
)

select * from final
