/* referrer_statement
   kind: query
   purpose: one referrer's statement across months (creditflow statement,
            docs/outputs.md#a-referrers-statement): the balance carried in, every ledger
            entry for every friend, every coupon, with a running balance (Stripe's customer
            balance is the model). Each month the balance moves by the friends' entries and
            drops by the coupon, ending at the month's carry out; so the balance after the
            last row is the last month's carry_out_usd, and the entries less the coupons
            over the range are the carries' change.
   grain: one row per (month, line): the opening balance of the range (its first month's
          carry in), each ledger entry of the referrer, each coupon of the referrer
   parameters: $referrer, $first_month, $last_month
   inputs: warehouse.referrer_balances, warehouse.ledger_entries, warehouse.coupons,
           warehouse.settlements */
with balances as (
    select *
    from warehouse.referrer_balances
    where
        referrer_account_id = $referrer
        and settlement_month between $first_month and $last_month
),

opening as (
    select
        settlement_month,
        0 as line_order,
        'carried in' as line_kind,
        null as referee_account_id,
        null as component,
        carry_in_usd as amount_usd
    from balances
    where settlement_month = (select min(b.settlement_month) from balances as b)
),

entries as (
    select
        settlement_month,
        1 as line_order,
        entry_kind as line_kind,
        referee_account_id,
        component,
        amount_usd
    from warehouse.ledger_entries
    where
        referrer_account_id = $referrer
        and settlement_month between $first_month and $last_month
),

coupon_lines as (
    select
        settlement_month,
        2 as line_order,
        'coupon' as line_kind,
        null as referee_account_id,
        null as component,
        -amount_usd as amount_usd
    from warehouse.coupons
    where
        referrer_account_id = $referrer
        and settlement_month between $first_month and $last_month
),

lines as (
    select * from opening
    union all
    select * from entries
    union all
    select * from coupon_lines
)

select
    lines.settlement_month,
    case when lines.line_kind = 'coupon' then settlements.issued_on else settlements.cutoff_date end
        as line_date,
    lines.line_kind,
    lines.referee_account_id,
    lines.component,
    lines.amount_usd,
    sum(lines.amount_usd) over (
        order by
            lines.settlement_month,
            lines.line_order,
            lines.referee_account_id,
            lines.component
        rows unbounded preceding
    ) as balance_usd
from lines
inner join warehouse.settlements as settlements
    on lines.settlement_month = settlements.settlement_month
order by lines.settlement_month, lines.line_order, lines.referee_account_id, lines.component
