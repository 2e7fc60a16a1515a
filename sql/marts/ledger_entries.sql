/* ledger_entries
   purpose: the lines this settlement appends to the credit ledger (rule 6).
   kind: model
   grain: one row per (settlement_month, referee_account_id, component)
   parameters: $settlement_month
   inputs: referee_status, warehouse.ledger_entries
   delta = entitlement at the cutoff - credited to date, per component (base, bonus),
   appended only when it is not zero. entry_kind 'credit' is the first positive amount
   ever booked on a component; 'correction' is any later change: a refund after payment,
   and the base earned again after such a refund took it back (the ledger already holds
   that friend's base twice, once paid and once reversed). */
with status as (
    select * from referee_status
    where is_winning_listing
),

booked_before as (
    select distinct
        referee_account_id,
        component
    from warehouse.ledger_entries
    where settlement_month < $settlement_month
),

components as (
    select
        settlement_month,
        referee_account_id,
        referrer_account_id,
        'base' as component,
        delta_base_usd as amount_usd
    from status
    union all
    select
        settlement_month,
        referee_account_id,
        referrer_account_id,
        'bonus' as component,
        delta_bonus_usd as amount_usd
    from status
),

final as (
    select
        components.settlement_month,
        components.referee_account_id,
        components.referrer_account_id,
        components.component,
        case
            when booked_before.component is null and components.amount_usd > 0 then 'credit'
            else 'correction'
        end as entry_kind,
        to_cents(components.amount_usd) as amount_usd
    from components
    left join booked_before
        on
            components.referee_account_id = booked_before.referee_account_id
            and components.component = booked_before.component
    where components.amount_usd <> 0
)

select * from final
