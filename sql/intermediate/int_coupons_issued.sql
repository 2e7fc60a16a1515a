/* int_coupons_issued
   kind: model
   purpose: the referral coupons issued on or before the cutoff, as instruments: a coupon
            of settlement month M is issued on the 5th of M+1 and enters the instrument
            ledger in the month of that date. Its id is referrer:month, defined here once.
   grain: one row per (settlement_month, referrer_account_id)
   parameters: $cutoff_date
   inputs: warehouse.coupons */
with issued_by_cutoff as (
    select * from warehouse.coupons
    where issued_on <= $cutoff_date
),

final as (
    select
        coupon_instrument_id(referrer_account_id, settlement_month) as instrument_id,
        settlement_month,
        referrer_account_id,
        amount_usd,
        issued_on,
        valid_from,
        valid_to,
        is_transferable,
        -- the terms travel with the coupon: what was issued, not today's config
        string_split(excluded_products, '|') as excluded_products
    from issued_by_cutoff
)

select * from final
