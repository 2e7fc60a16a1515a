/* account_conflicts
   kind: audit
   purpose: an account_id listed twice with different content, a null or malformed id, a
            null or empty identity_key, a
            verified_at that is not a timestamp or lies after the newest delivered billing
            cycle (the data cannot know the future), or a risk_status the contract does not
            know is rejected (identical copies are one row). A null verified_at is valid:
            never verified.
   grain: one row per rejected account row
   parameters: $accounts_risk_status_values, $data_end_date, $id_pattern
   inputs: raw_accounts
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with repeated_ids as (
    -- only an id listed more than once can be listed with different content: a plain
    -- count finds them, so the versions are counted for those few ids, not partitioned
    -- over every account (2.1 s of a normal month at 100M lines: docs/performance.md)
    select account_id
    from raw_accounts
    group by account_id
    having count(*) > 1
),

conflicting_ids as (
    select account_id
    from raw_accounts
    semi join repeated_ids on raw_accounts.account_id = repeated_ids.account_id
    group by account_id
    having count(distinct(identity_key, utc_timestamp(verified_at), risk_status)) > 1
),

accounts as (
    select
        source_file,
        file_row_number,
        account_id,
        identity_key,
        verified_at,
        utc_timestamp(verified_at) as verified_at_utc,
        risk_status
    from raw_accounts
),

checked as (
    select
        source_file,
        file_row_number,
        'account_id=' || coalesce(account_id, '(null)') as row_key,
        case
            when account_id is null then 'account_id is null'
            when not regexp_full_match(account_id, $id_pattern) then 'account_id does not match the id pattern'
            when account_id in (select account_id from conflicting_ids)
                then 'account listed twice with different content'
            when identity_key is null then 'identity_key is null'
            -- an empty key would make strangers one person (rule 1's identity)
            when trim(identity_key) = '' then 'identity_key is empty'
            when verified_at is not null and verified_at_utc is null
                then 'verified_at is not a timestamp'
            when verified_at_utc >= cast($data_end_date + 1 as timestamp)
                then 'verified_at after the newest delivered billing cycle'
            when
                risk_status is null or not list_contains($accounts_risk_status_values, risk_status)
                then 'unknown risk_status'
        end as broken_rule
    from accounts
)

select * from checked
where broken_rule is not null
