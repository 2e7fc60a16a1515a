/* referee_status_grain
   kind: audit
   purpose: referee_status has one row per referral and one winning listing per referee.
   grain: one row per offending referee
   parameters: none
   inputs: referee_status
   returns: offending keys (zero rows = pass) */
select
    referee_account_id,
    count(*) filter (where is_winning_listing) as winning_listings,
    count(*) - count(distinct(referrer_account_id, registered_at, referral_code)) as repeated_rows
from referee_status
group by referee_account_id
having
    count(*) filter (where is_winning_listing) <> 1
    or count(*) <> count(distinct(referrer_account_id, registered_at, referral_code))
