/* export_coupons
   kind: query
   purpose: the Coupons sheet of `creditflow export`: the month's coupons without codes.
   grain: one row per coupon (referrer_account_id)
   parameters: $settlement_month
   inputs: warehouse.coupons */
select
    referrer_account_id,
    amount_usd,
    currency,
    issued_on,
    valid_from,
    valid_to,
    excluded_products,
    referee_count
from warehouse.coupons
where settlement_month = $settlement_month
order by referrer_account_id
