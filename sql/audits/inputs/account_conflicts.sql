/* audit: one row per account: an account_id listed twice with different content, a
   null key, or an unknown risk_status is rejected.
   returns: source_file, row_key, broken_rule per offending account (zero rows = pass) */
with accounts as (
    select distinct
        account_id,
        identity_key,
        payment_verified,
        risk_status,
        source_file
    from raw_accounts
),

checked as (
    select
        source_file,
        'account_id=' || coalesce(account_id, '(null)') as row_key,
        case
            when account_id is null then 'account_id is null'
            when count(distinct(identity_key, payment_verified, risk_status)) over (partition by account_id) > 1
                then 'account listed twice with different content'
            when identity_key is null then 'identity_key is null'
            when payment_verified is null then 'payment_verified is null'
            when risk_status not in ('ok', 'fraud', 'card_theft', 'crypto_mining', 'illegal_activity', 'tos_violation')
                then 'unknown risk_status'
        end as broken_rule
    from accounts
)

select distinct * from checked
where broken_rule is not null
