/* int_referee_daily_spend
   kind: model
   purpose: each referee's eligible spend per day, placed on the day it counts on, and the
            unlinked refunds on the day they were billed: the two series the window
            measures (int_referee_windows) are summed from.
   grain: one row per (referee_account_id, spend_date)
   parameters: none
   inputs: int_cycle_eligible_spend, int_linked_lines, stg_eligible_products, int_referees
   Rule 1, the part that needs the referral. A settlement sees the lines billed from the
   registration date R to visible_to_date = min(cutoff, finality date); a line billed
   before R never counts, linked or not.
   placed_spend_usd: eligible cash on its effective date, inside the qualification window
     and seen (R..min(R+364, visible_to_date)). The effective date is the line's own billing_date, except for a linked
     line (int_linked_lines): its original's billing_date, so a linked refund lowers the
     windows its purchase counted in and one whose purchase was before R or after the
     window counts nowhere. A linked line's product is judged on its own product and
     subscription type at its effective date.
   unlinked_refunds_usd: eligible negative lines that name no delivered original, on
     their billing date, inside or after the window: rule 2 counts those billed after a
     window's end against that window (int_referee_windows).
   linked_refunds_usd: the negative linked lines among placed_spend_usd (shown in
     referee_status). */
with referees as (
    select * from int_referees
),

eligible_products as (
    select * from stg_eligible_products
),

ordinary_days as (
    select
        account_id,
        billing_date,
        billing_date as effective_date,
        eligible_cash_usd as cash_usd,
        unlinked_refund_cash_usd,
        cast(0 as decimal(38, 4)) as linked_refund_cash_usd
    from int_cycle_eligible_spend
),

linked_lines as (
    select
        account_id,
        billing_date,
        coalesce(original_billing_date, billing_date) as effective_date,
        product_code,
        subscription_type,
        cash_amount_usd,
        original_billing_date is not null as is_linked
    from int_linked_lines
),

eligible_linked_lines as (
    select
        account_id,
        billing_date,
        effective_date,
        cash_amount_usd as cash_usd,
        case when not is_linked and cash_amount_usd < 0 then cash_amount_usd else 0 end
            as unlinked_refund_cash_usd,
        case when is_linked and cash_amount_usd < 0 then cash_amount_usd else 0 end
            as linked_refund_cash_usd
    from linked_lines
    where exists (
        select 1
        from eligible_products
        where
            eligible_products.product_code = linked_lines.product_code
            and eligible_products.subscription_type in ('*', linked_lines.subscription_type)
            and linked_lines.effective_date >= eligible_products.effective_from_date
            and (
                eligible_products.effective_to_date is null
                or linked_lines.effective_date <= eligible_products.effective_to_date
            )
    )
),

visible as (
    select
        referees.referee_account_id,
        lines.effective_date,
        -- P(E) counts the spend placed on R..min(E, R+364): a line placed after E (a
        -- refund billed before the purchase it names) is not yet spend of the window
        lines.effective_date between referees.registered_date
        and least(referees.window_end_date, referees.visible_to_date) as is_placed,
        lines.cash_usd,
        lines.unlinked_refund_cash_usd,
        lines.linked_refund_cash_usd
    from (
        select * from ordinary_days
        union all
        select * from eligible_linked_lines
    ) as lines
    inner join referees
        on
            lines.account_id = referees.referee_account_id
            and lines.billing_date >= referees.registered_date
            and lines.billing_date <= referees.visible_to_date
),

placed as (
    -- one pass: a line with an unlinked refund names no delivered original, so its
    -- effective date is its billing date and both series land on the same spend_date
    select
        referee_account_id,
        effective_date as spend_date,
        case when is_placed then cash_usd else 0 end as placed_spend_usd,
        unlinked_refund_cash_usd as unlinked_refunds_usd,
        case when is_placed then linked_refund_cash_usd else 0 end as linked_refunds_usd
    from visible
    where is_placed or unlinked_refund_cash_usd <> 0
),

final as (
    select
        referee_account_id,
        spend_date,
        cast(sum(placed_spend_usd) as decimal(38, 4)) as placed_spend_usd,
        cast(sum(unlinked_refunds_usd) as decimal(38, 4)) as unlinked_refunds_usd,
        cast(sum(linked_refunds_usd) as decimal(38, 4)) as linked_refunds_usd
    from placed
    group by referee_account_id, spend_date
)

select * from final
