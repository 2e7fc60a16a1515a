/* whatif_month_measures
   kind: query
   purpose: what a what-if compares month by month (creditflow whatif,
            docs/outputs.md#what-if), read the same way from the published catalog and from
            the replay's: the batch, the welcome rewards, base and bonus booked, the carries,
            the breakage of the program's instruments and the program's liability.
   grain: one row per settled month in $first_month..$last_month
   parameters: $first_month, $last_month
   inputs: warehouse.settlements, warehouse.ledger_entries, warehouse.instrument_rollforward,
           warehouse.liability_by_month */
with booked as (
    select
        settlement_month,
        coalesce(sum(amount_usd) filter (where component = 'base'), 0) as base_usd,
        coalesce(sum(amount_usd) filter (where component = 'bonus'), 0) as bonus_usd
    from warehouse.ledger_entries
    group by settlement_month
),

breakage as (
    select
        instrument_month,
        sum(expired_usd) as breakage_usd
    from warehouse.instrument_rollforward
    where instrument_kind <> 'voucher'
    group by instrument_month
)

select
    settlements.settlement_month,
    settlements.coupon_count,
    settlements.coupon_total_usd,
    coalesce(settlements.welcome_count, 0) as welcome_count,
    coalesce(settlements.welcome_total_usd, 0) as welcome_total_usd,
    coalesce(booked.base_usd, 0) as base_usd,
    coalesce(booked.bonus_usd, 0) as bonus_usd,
    settlements.carry_out_total_usd,
    breakage.breakage_usd,
    liability.program_liability_usd
from warehouse.settlements as settlements
left join booked on settlements.settlement_month = booked.settlement_month
left join breakage on settlements.settlement_month = breakage.instrument_month
left join warehouse.liability_by_month as liability
    on settlements.settlement_month = liability.settlement_month
where settlements.settlement_month between $first_month and $last_month
order by settlements.settlement_month
