/* whatif_referrer_coupons
   kind: query
   purpose: each referrer's coupons over a what-if's range, read the same way from the
            published catalog and from the replay's (the largest gains and losses).
   grain: one row per referrer with a coupon in $first_month..$last_month
   parameters: $first_month, $last_month
   inputs: warehouse.coupons */
select
    referrer_account_id,
    sum(amount_usd) as coupons_usd
from warehouse.coupons
where settlement_month between $first_month and $last_month
group by referrer_account_id
