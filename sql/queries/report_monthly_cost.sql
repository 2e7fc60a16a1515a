/* report_monthly_cost
   kind: query
   purpose: the program's cost in each settled month up to the report's, for the report's
            twelve-month trend: what the month credited referrers (its ledger deltas) and
            gave their friends (its welcome rewards).
   grain: one row per settled month up to $settlement_month
   parameters: $settlement_month
   inputs: warehouse.settlements */
select
    settlement_month,
    ledger_delta_total_usd + coalesce(welcome_total_usd, 0) as cost_usd
from warehouse.settlements
where settlement_month <= $settlement_month
order by settlement_month
