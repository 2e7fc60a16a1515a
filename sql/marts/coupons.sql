/* coupons
   purpose: the month's coupon batch (rules 7 and 8), without codes: codes are
            secrets derived at render time and never stored in the warehouse.
   kind: model
   grain: one row per (settlement_month, referrer_account_id) with a positive balance
   parameters: $issued_on, $coupon_validity_days, $currency, $coupon_transferable,
               $coupon_excluded_products
   inputs: referrer_balances
   Valid from issued_on through issued_on + validity - 1 days (365 days in all),
   not transferable, usable on everything but the excluded products. */
with balances as (
    select * from referrer_balances
    where coupon_amount_usd > 0
),

final as (
    select
        settlement_month,
        referrer_account_id,
        coupon_amount_usd as amount_usd,
        cast($currency as varchar) as currency,
        cast($issued_on as date) as issued_on,
        cast($issued_on as date) as valid_from,
        cast($issued_on as date) + ($coupon_validity_days - 1) as valid_to,
        cast($coupon_transferable as boolean) as is_transferable,
        array_to_string($coupon_excluded_products, '|') as excluded_products,
        referee_count
    from balances
)

select * from final
