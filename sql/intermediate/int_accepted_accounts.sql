/* int_accepted_accounts
   kind: model
   purpose: the account snapshot the settlement judges: rows not rejected by the input
            audits, identical rows delivered twice counted once.
   grain: one row per account_id (an account listed twice with different content is
          rejected by the account_conflicts audit)
   parameters: none
   inputs: stg_accounts, rejected_rows (control) */
with accounts as (
    select * from stg_accounts
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
