/* int_referee_daily_spend
   kind: model
   purpose: each referee's eligible spend per day, placed on the day it counts on, and the
            unlinked refunds on the day they were billed: the two series the window
            measures (int_referee_windows) are summed from.
   grain: one row per (referee_account_id, spend_date); the referee's window_end_date and
          bonus_window_end_date ride along, so the window measures need no join. For a
          referee carried from the last month's state (int_carried_referees), only the
          days after its through_date: the earlier ones are in the state.
   parameters: $cutoff_date (its month's first day splits the days in two: ordinary_days)
   inputs: int_cycle_eligible_spend, int_linked_lines, stg_eligible_products, int_referees,
           int_carried_referees
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

counted_referees as materialized (
    -- counted_from_date: the first day not yet summed, R unless the state holds the
    -- referee's days through through_date. Materialized: both parts of ordinary_days read
    -- it, and DuckDB 2.0.0 can mix up the columns of an inlined CTE read twice when a join
    -- inside it is pruned (int_referee_windows); a materialized one is computed once
    select
        int_referees.*,
        coalesce(carried.through_date + 1, int_referees.registered_date) as counted_from_date
    from int_referees
    left join int_carried_referees as carried
        on int_referees.referee_account_id = carried.referee_account_id
),

eligible_products as (
    select * from stg_eligible_products
),

referee_days as (
    -- each referee's days of int_cycle_eligible_spend (per account and day already),
    -- joined in two parts split at the month's first day, each part to the referees that
    -- can have a counted day in it: the month's days to every referee, the earlier days
    -- only to referees still counting days before the month (not carried from the state,
    -- or carried with an older through_date). In a normal month that is a few referees,
    -- so the history's days probe a small table instead of every referee's
    -- (docs/performance.md#incremental). A partition of the rows and a necessary
    -- condition on the referee: the same rows as one join.
    select
        referees.referee_account_id,
        referees.window_end_date,
        referees.bonus_window_end_date,
        days.billing_date,
        days.eligible_cash_usd,
        days.unlinked_refund_cash_usd
    from int_cycle_eligible_spend as days
    inner join counted_referees as referees
        on
            days.account_id = referees.referee_account_id
            and days.billing_date >= referees.counted_from_date
            and days.billing_date <= referees.visible_to_date
    where days.billing_date >= cast(date_trunc('month', $cutoff_date) as date)
    union all
    select
        referees.referee_account_id,
        referees.window_end_date,
        referees.bonus_window_end_date,
        days.billing_date,
        days.eligible_cash_usd,
        days.unlinked_refund_cash_usd
    from int_cycle_eligible_spend as days
    inner join counted_referees as referees
        on
            days.account_id = referees.referee_account_id
            and days.billing_date >= referees.counted_from_date
            and days.billing_date <= referees.visible_to_date
    where
        days.billing_date < cast(date_trunc('month', $cutoff_date) as date)
        and referees.counted_from_date
        < least(referees.visible_to_date + 1, cast(date_trunc('month', $cutoff_date) as date))
),

ordinary_days as (
    -- one row per (referee, billing day): int_referees holds one listing per referee. An
    -- ordinary line counts on its billing date, so its placed and unlinked-refund parts
    -- land on the same day.
    select
        referee_account_id,
        billing_date as spend_date,
        window_end_date,
        bonus_window_end_date,
        -- placed: inside the window (the join keeps R..visible_to_date)
        case
            when billing_date <= window_end_date then eligible_cash_usd
            else 0
        end as placed_spend_usd,
        unlinked_refund_cash_usd as unlinked_refunds_usd
    from referee_days
    where billing_date <= window_end_date or unlinked_refund_cash_usd <> 0
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
    select *
    from linked_lines
    where exists (
        select 1
        from eligible_products
        where is_eligible_on(
            linked_lines.product_code,
            linked_lines.subscription_type,
            linked_lines.effective_date,
            eligible_products.product_code,
            eligible_products.subscription_type,
            eligible_products.effective_from_date,
            eligible_products.effective_to_date
        )
    )
),

visible_linked_lines as (
    select
        referees.referee_account_id,
        referees.window_end_date,
        referees.bonus_window_end_date,
        lines.effective_date,
        lines.cash_amount_usd,
        lines.is_linked,
        -- P(E) counts the spend placed on R..min(E, R+364): a line placed after E (a
        -- refund billed before the purchase it names) is not yet spend of the window
        lines.effective_date between referees.registered_date
        and least(referees.window_end_date, referees.visible_to_date) as is_placed
    from eligible_linked_lines as lines
    inner join referees
        on
            lines.account_id = referees.referee_account_id
            and lines.billing_date >= referees.registered_date
            and lines.billing_date <= referees.visible_to_date
    -- a carried referee's visible linked lines all sit on days its state holds
    -- (int_carried_referees)
    where not exists (
        select 1
        from int_carried_referees as carried
        where carried.referee_account_id = lines.account_id
    )
),

linked_days as (
    -- a line whose original was not found is unlinked: its effective date is its billing
    -- date, where its refund part also lands
    select
        referee_account_id,
        effective_date as spend_date,
        any_value(window_end_date) as window_end_date,
        any_value(bonus_window_end_date) as bonus_window_end_date,
        coalesce(sum(cash_amount_usd) filter (where is_placed), 0) as placed_spend_usd,
        coalesce(sum(cash_amount_usd) filter (where not is_linked and cash_amount_usd < 0), 0)
            as unlinked_refunds_usd,
        coalesce(sum(cash_amount_usd) filter (where is_placed and is_linked and cash_amount_usd < 0), 0)
            as linked_refunds_usd
    from visible_linked_lines
    where is_placed or (not is_linked and cash_amount_usd < 0)
    group by referee_account_id, effective_date
),

final as (
    -- the few linked days merged into the ordinary days by a join, not by grouping every
    -- day again (docs/performance.md)
    select
        coalesce(ordinary.referee_account_id, linked.referee_account_id) as referee_account_id,
        coalesce(ordinary.spend_date, linked.spend_date) as spend_date,
        coalesce(ordinary.window_end_date, linked.window_end_date) as window_end_date,
        coalesce(ordinary.bonus_window_end_date, linked.bonus_window_end_date)
            as bonus_window_end_date,
        cast(
            coalesce(ordinary.placed_spend_usd, 0) + coalesce(linked.placed_spend_usd, 0)
            as decimal(38, 4)
        ) as placed_spend_usd,
        cast(
            coalesce(ordinary.unlinked_refunds_usd, 0) + coalesce(linked.unlinked_refunds_usd, 0)
            as decimal(38, 4)
        ) as unlinked_refunds_usd,
        cast(coalesce(linked.linked_refunds_usd, 0) as decimal(38, 4)) as linked_refunds_usd
    from ordinary_days as ordinary
    full outer join linked_days as linked
        on
            ordinary.referee_account_id = linked.referee_account_id
            and ordinary.spend_date = linked.spend_date
)

select * from final
