/* export_summary
   kind: query
   purpose: the Summary sheet of `creditflow export`: the month's totals, its liability and
            its provenance, from the analysts' catalog (attached as `warehouse`).
   grain: one row (the settlement month)
   parameters: $settlement_month
   inputs: warehouse.settlements, warehouse.liability_by_month */
select
    settlements.settlement_month,
    settlements.cutoff_date,
    settlements.issued_on,
    settlements.coupon_count,
    settlements.coupon_total_usd,
    settlements.welcome_count,
    settlements.welcome_total_usd,
    settlements.ledger_delta_total_usd,
    settlements.carry_in_total_usd,
    settlements.carry_out_total_usd,
    liability.program_liability_usd,
    liability.outstanding_vouchers_usd as customer_vouchers_outstanding_usd,
    liability.total_liability_usd,
    settlements.rejected_rows_accepted,
    settlements.input_fingerprint,
    settlements.rules_sha256,
    settlements.code_version,
    -- loud in the workbook as in the CLI: a development key's coupons must not be issued
    case
        when settlements.coupon_key_kind = 'development'
            then 'DEVELOPMENT: these coupons are not real and must not be issued'
        else settlements.coupon_key_kind
    end as coupon_key
from warehouse.settlements as settlements
left join warehouse.liability_by_month as liability
    on settlements.settlement_month = liability.settlement_month
where settlements.settlement_month = $settlement_month
