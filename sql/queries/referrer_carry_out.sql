/* referrer_carry_out
   kind: query
   purpose: what a referrer carries out of the last month of a range it has a balance row
            in: where its statement's running balance must end (creditflow statement).
   grain: at most one row
   parameters: $referrer, $first_month, $last_month
   inputs: warehouse.referrer_balances */
select
    settlement_month,
    carry_out_usd
from warehouse.referrer_balances
where
    referrer_account_id = $referrer
    and settlement_month between $first_month and $last_month
order by settlement_month desc
limit 1
