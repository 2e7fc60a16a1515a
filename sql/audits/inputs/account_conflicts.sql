/* account_conflicts
   kind: audit
   purpose: an account_id listed twice with different content, a null key, or a
            risk_status the contract does not know is rejected (identical copies are one row).
   grain: one row per rejected account row
   parameters: $accounts_risk_status_values
   inputs: raw_accounts
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with accounts as (
    select
        source_file,
        file_row_number,
        account_id,
        identity_key,
        payment_verified,
        risk_status,
        count(distinct(identity_key, payment_verified, risk_status)) over (partition by account_id)
            as versions
    from raw_accounts
),

checked as (
    select
        source_file,
        file_row_number,
        'account_id=' || coalesce(account_id, '(null)') as row_key,
        case
            when account_id is null then 'account_id is null'
            when versions > 1 then 'account listed twice with different content'
            when identity_key is null then 'identity_key is null'
            when payment_verified is null then 'payment_verified is null'
            when
                risk_status is null or not list_contains($accounts_risk_status_values, risk_status)
                then 'unknown risk_status'
        end as broken_rule
    from accounts
)

select * from checked
where broken_rule is not null
