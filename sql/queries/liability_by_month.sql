/* liability_by_month
   kind: query
   purpose: the program's liability at each settled month's cutoff, for finance to book
            (docs/outputs.md#booking-the-liability). Every run (re)creates the view
            warehouse.liability_by_month from this query, so it is always what the ledgers
            say; runs and the catalog read the query itself, not the view: DuckDB stores a
            view's tables without their catalog, and a run's own relations of the same
            names (referee_status, ...) would shadow the warehouse's.
   grain: one row per settled month (settlement_month)
   parameters: none
   inputs: warehouse.settlements, warehouse.referee_status, warehouse.referrer_balances,
           warehouse.instrument_rollforward
   on_hold_base_usd + accrued_bonus_usd: earned, not yet payable (accrual);
   settled_not_issued_usd: the month's coupon batch, issued on the 5th of the next month;
   outstanding_*: the instrument ledger's closing balances at the same cutoff (referral
   coupons issued so far, welcome rewards, vouchers), null until that instrument month is
   published; negative_carries_usd: what referrers owe back, recovered from later credits
   (a positive amount, subtracted); total_liability_usd = the first six - the carries,
   null until every part is known; program_liability_usd = the same without the vouchers,
   which are customer prepayments, not program cost (outstanding_vouchers_usd apart). */
with accrual as (
    select
        settlement_month,
        coalesce(sum(pending_base_usd), 0) as on_hold_base_usd,
        coalesce(sum(pending_bonus_usd), 0) as accrued_bonus_usd
    from warehouse.referee_status
    group by settlement_month
),

carries as (
    select
        settlement_month,
        -coalesce(sum(carry_out_usd) filter (where carry_out_usd < 0), 0) as negative_carries_usd
    from warehouse.referrer_balances
    group by settlement_month
),

outstanding as (
    select
        instrument_month,
        sum(closing_outstanding_usd) filter (where instrument_kind = 'referral_coupon')
            as outstanding_referral_coupons_usd,
        coalesce(
            sum(closing_outstanding_usd)
            filter (where instrument_kind in ('welcome_credit', 'welcome_discount')),
            0
        ) as outstanding_welcome_usd,
        sum(closing_outstanding_usd) filter (where instrument_kind = 'voucher')
            as outstanding_vouchers_usd
    from warehouse.instrument_rollforward
    group by instrument_month
),

joined as (
    select
        settlements.settlement_month,
        settlements.cutoff_date,
        cast(coalesce(accrual.on_hold_base_usd, 0) as decimal(18, 2)) as on_hold_base_usd,
        cast(coalesce(accrual.accrued_bonus_usd, 0) as decimal(18, 2)) as accrued_bonus_usd,
        settlements.coupon_total_usd as settled_not_issued_usd,
        cast(outstanding.outstanding_referral_coupons_usd as decimal(18, 2))
            as outstanding_referral_coupons_usd,
        cast(outstanding.outstanding_welcome_usd as decimal(18, 2)) as outstanding_welcome_usd,
        cast(outstanding.outstanding_vouchers_usd as decimal(18, 2)) as outstanding_vouchers_usd,
        cast(coalesce(carries.negative_carries_usd, 0) as decimal(18, 2)) as negative_carries_usd,
        outstanding.instrument_month is not null as is_instrument_month_published
    from warehouse.settlements as settlements
    left join accrual on settlements.settlement_month = accrual.settlement_month
    left join carries on settlements.settlement_month = carries.settlement_month
    left join outstanding on settlements.settlement_month = outstanding.instrument_month
)

select
    *,
    cast(
        on_hold_base_usd + accrued_bonus_usd + settled_not_issued_usd
        + outstanding_referral_coupons_usd + outstanding_welcome_usd + outstanding_vouchers_usd
        - negative_carries_usd
        as decimal(18, 2)
    ) as total_liability_usd,
    -- the program's own liability (what the program costs until it is used or expires),
    -- without the customer-prepaid vouchers the instrument ledger also owes
    cast(
        on_hold_base_usd + accrued_bonus_usd + settled_not_issued_usd
        + outstanding_referral_coupons_usd + outstanding_welcome_usd
        - negative_carries_usd
        as decimal(18, 2)
    ) as program_liability_usd
from joined
