/* shrunken_snapshots
   kind: query
   purpose: what the referral and account snapshots lost since the previous published
            month: its referrals no longer listed, and the accounts of its referees and
            referrers (those it found in the accounts snapshot) no longer listed. Snapshots
            only grow; a loss means a partial export, which would silently change who earns
            (issue 17). transforms/pipeline/settlement_inputs.py stops the run on any row
            here unless the operator accepts it (--accept-shrunk-inputs, recorded).
   grain: one row per snapshot that lost rows (referrals, accounts)
   parameters: $previous_month
   inputs: warehouse.referee_status, raw_referrals, raw_accounts */
with previous as (
    select
        referee_account_id,
        referrer_account_id,
        referee_risk_status,
        referrer_risk_status
    from warehouse.referee_status
    where settlement_month = $previous_month
),

lost_referrals as (
    select distinct
        referee_account_id,
        referrer_account_id
    from previous
    where not exists (
        select 1 from raw_referrals
        where
            raw_referrals.referee_account_id = previous.referee_account_id
            and raw_referrals.referrer_account_id = previous.referrer_account_id
    )
),

known_accounts as (
    select referee_account_id as account_id from previous
    where referee_risk_status is not null
    union
    select referrer_account_id as account_id from previous
    where referrer_risk_status is not null
),

lost_accounts as (
    select account_id from known_accounts
    where not exists (
        select 1 from raw_accounts
        where raw_accounts.account_id = known_accounts.account_id
    )
),

final as (
    select
        'referrals' as snapshot,
        count(*) as lost_count,
        min(referee_account_id || ' referred by ' || referrer_account_id) as example
    from lost_referrals
    having count(*) > 0
    union all
    select
        'accounts' as snapshot,
        count(*) as lost_count,
        min(account_id) as example
    from lost_accounts
    having count(*) > 0
)

select * from final
order by snapshot
