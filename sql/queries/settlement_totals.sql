/* settlement_totals
   kind: query
   purpose: the month's totals recorded in warehouse.settlements and the manifest, from
            the computed (not yet published) marts.
   grain: one row
   parameters: none
   inputs: coupons, ledger_entries, referrer_balances, welcome_rewards */
select
    (select count(*) from coupons) as coupon_count,
    (select coalesce(sum(amount_usd), 0) from coupons) as coupon_total_usd,
    (select coalesce(sum(amount_usd), 0) from ledger_entries) as ledger_delta_total_usd,
    (select coalesce(sum(carry_in_usd), 0) from referrer_balances) as carry_in_total_usd,
    (select coalesce(sum(carry_out_usd), 0) from referrer_balances) as carry_out_total_usd,
    (select count(*) from welcome_rewards) as welcome_count,
    (select coalesce(sum(amount_usd), 0) from welcome_rewards) as welcome_total_usd
