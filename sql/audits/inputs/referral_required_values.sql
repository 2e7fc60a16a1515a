/* referral_required_values
   kind: audit
   purpose: every referral names both accounts (ids matching the id pattern), two different ones, and a registration time.
   grain: one row per rejected referral row
   parameters: $id_pattern
   inputs: raw_referrals
   returns: source_file, file_row_number, row_key, broken_rule per offending referral row
            (zero rows = pass) */
with referrals as (
    select
        source_file,
        file_row_number,
        referee_account_id,
        referrer_account_id,
        registered_at
    from raw_referrals
),

checked as (
    select
        source_file,
        file_row_number,
        'referee_account_id=' || coalesce(referee_account_id, '(null)')
        || ' referrer_account_id=' || coalesce(referrer_account_id, '(null)') as row_key,
        case
            when referee_account_id is null then 'referee_account_id is null'
            when referrer_account_id is null then 'referrer_account_id is null'
            when not regexp_full_match(referee_account_id, $id_pattern)
                then 'referee_account_id does not match the id pattern'
            when not regexp_full_match(referrer_account_id, $id_pattern)
                then 'referrer_account_id does not match the id pattern'
            when registered_at is null then 'registered_at is null'
            when utc_timestamp(registered_at) is null then 'registered_at is not a timestamp'
            when referee_account_id = referrer_account_id then 'referee and referrer are the same account'
        end as broken_rule
    from referrals
)

select * from checked
where broken_rule is not null
