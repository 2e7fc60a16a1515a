/* stg_accounts
   kind: model
   materialized: view
   purpose: the account snapshot, renamed and cast: who is one real person, verification
            and risk status.
   grain: one row per raw account row (source_file, file_row_number)
   parameters: none
   inputs: raw_accounts
   The snapshot is the current state; a backfill of an old month judges accounts by the
   snapshot it is given (verified_at says when, so verification is judged at the time of
   each referral, int_referral_reasons). try_cast: a verified_at that does not cast is a
   row the account_conflicts audit rejects. */
with source as (
    select * from raw_accounts
),

renamed as (
    select
        cast(account_id as varchar) as account_id,
        cast(identity_key as varchar) as identity_key,
        utc_timestamp(verified_at) as verified_at,
        cast(risk_status as varchar) as risk_status,
        source_file,
        file_row_number
    from source
)

select * from renamed
