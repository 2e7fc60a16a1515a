/* ledger_entries
   purpose: the lines this settlement appends to the credit ledger (rule 6).
   kind: model
   grain: one row per (settlement_month, referee_account_id, component)
   parameters: none
   inputs: referee_status
   delta = entitlement at the cutoff - credited to date, per component (base, bonus),
   appended only when it is not zero. entry_kind 'credit' is a first positive amount
   on a component; 'correction' is any later change (e.g. a refund after payment). */
with status as (
    select * from referee_status
    where is_winning_listing
),

components as (
    select
        settlement_month,
        referee_account_id,
        referrer_account_id,
        'base' as component,
        delta_base_usd as amount_usd,
        entitled_base_usd - delta_base_usd as credited_component_before_usd
    from status
    union all
    select
        settlement_month,
        referee_account_id,
        referrer_account_id,
        'bonus' as component,
        delta_bonus_usd as amount_usd,
        entitled_bonus_usd - delta_bonus_usd as credited_component_before_usd
    from status
),

final as (
    select
        settlement_month,
        referee_account_id,
        referrer_account_id,
        component,
        case
            when credited_component_before_usd = 0 and amount_usd > 0 then 'credit'
            else 'correction'
        end as entry_kind,
        to_cents(amount_usd) as amount_usd
    from components
    where amount_usd <> 0
)

select * from final
