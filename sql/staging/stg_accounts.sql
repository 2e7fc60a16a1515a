/* stg_accounts
   purpose: account snapshot: who is one real person, verification and risk status.
   grain: one row per account_id (conflicting duplicates are rejected by
          audit_account_conflicts before this runs)
   The snapshot is the current state; a backfill of an old month judges accounts
   by the snapshot it is given. */
with source as (
    select * from raw_accounts
    -- rows the input audits rejected are in the quarantine, not in the settlement
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = raw_accounts.source_file
            and rejected_rows.file_row_number = raw_accounts.file_row_number
    )
),

renamed as (
    select distinct
        cast(account_id as varchar) as account_id,
        cast(identity_key as varchar) as identity_key,
        cast(payment_verified as boolean) as is_payment_verified,
        cast(risk_status as varchar) as risk_status
    from source
)

select * from renamed
