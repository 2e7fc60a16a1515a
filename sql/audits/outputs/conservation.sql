/* conservation
   kind: audit
   grain: one row per broken identity
   parameters: none
   inputs: ledger_entries, referrer_balances, coupons
   purpose: money is conserved within the month:
     sum(ledger deltas) = sum(coupons) + sum(carry out) - sum(carry in)
   and each referrer's balance splits exactly into its coupon and its carry.
   returns: the broken identities (zero rows = pass) */
with ledger as (
    select coalesce(sum(amount_usd), 0) as ledger_deltas_usd from ledger_entries
),

balances as (
    select
        coalesce(sum(coupon_amount_usd), 0) as balance_coupons_usd,
        coalesce(sum(carry_in_usd), 0) as carry_in_usd,
        coalesce(sum(carry_out_usd), 0) as carry_out_usd,
        coalesce(sum(referee_deltas_usd), 0) as referee_deltas_usd
    from referrer_balances
),

issued as (
    select coalesce(sum(amount_usd), 0) as coupons_usd from coupons
),

totals as (
    select
        'sum(ledger) = sum(coupons) + sum(carry_out) - sum(carry_in)' as identity,
        ledger.ledger_deltas_usd as left_usd,
        issued.coupons_usd + balances.carry_out_usd - balances.carry_in_usd as right_usd
    from ledger, balances, issued
    union all
    select
        'sum(coupons) = sum(referrer coupon amounts)' as identity,
        issued.coupons_usd as left_usd,
        balances.balance_coupons_usd as right_usd
    from issued, balances
    union all
    select
        'sum(ledger) = sum(referrer deltas)' as identity,
        ledger.ledger_deltas_usd as left_usd,
        balances.referee_deltas_usd as right_usd
    from ledger, balances
    union all
    select
        'carry_in + deltas = coupon + carry_out for referrer ' || referrer_account_id as identity,
        carry_in_usd + referee_deltas_usd as left_usd,
        coupon_amount_usd + carry_out_usd as right_usd
    from referrer_balances
)

select * from totals
where left_usd <> right_usd
