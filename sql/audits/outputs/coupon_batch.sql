/* audit: every coupon is positive, one per referrer, in whole cents.
   returns: offending coupons (zero rows = pass) */
select
    referrer_account_id,
    amount_usd,
    count(*) over (partition by referrer_account_id) as coupons_for_referrer
from coupons
qualify
    amount_usd <= 0
    or amount_usd <> round(amount_usd, 2)
    or count(*) over (partition by referrer_account_id) > 1
