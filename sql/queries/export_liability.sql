/* export_liability
   kind: query
   purpose: the Liability sheet of `creditflow export`: the liability at every settled
            month up to this one (docs/outputs.md#booking-the-liability).
   grain: one row per settled month up to $settlement_month
   parameters: $settlement_month
   inputs: warehouse.liability_by_month */
select
    settlement_month,
    on_hold_base_usd,
    accrued_bonus_usd,
    settled_not_issued_usd,
    outstanding_referral_coupons_usd,
    outstanding_welcome_usd,
    outstanding_vouchers_usd,
    negative_carries_usd,
    program_liability_usd,
    total_liability_usd
from warehouse.liability_by_month
where settlement_month <= $settlement_month
order by settlement_month
