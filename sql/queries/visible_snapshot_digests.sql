/* visible_snapshot_digests
   kind: query
   purpose: digests of exactly what a month sees of the growing snapshots: the referrals
            visible at its cutoff, and the accounts they name. New referrals arriving
            later do not make an old month look changed. Part of the input fingerprint.
   grain: one row
   parameters: none
   inputs: raw_visible_referrals, raw_accounts */
with visible as (
    select distinct
        concat_ws(
            '|', referee_account_id, referrer_account_id, referral_code,
            utc_timestamp(registered_at)
        ) as line,
        referee_account_id,
        referrer_account_id
    from raw_visible_referrals
),

named as (
    select referee_account_id as account_id from visible
    union
    select referrer_account_id from visible
),

named_accounts as (
    select
        a.account_id,
        a.identity_key,
        utc_timestamp(a.verified_at) as verified_at,
        a.risk_status
    from raw_accounts as a
    semi join named on a.account_id = named.account_id
),

account_lines as (
    select distinct concat_ws('|', account_id, identity_key, verified_at, risk_status) as line
    from named_accounts
)

select
    (select md5(coalesce(string_agg(line, chr(10) order by line), '')) from visible)
        as visible_referrals_md5,
    (select md5(coalesce(string_agg(line, chr(10) order by line), '')) from account_lines)
        as named_accounts_md5
