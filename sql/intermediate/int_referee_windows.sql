/* int_referee_windows
   kind: model
   purpose: the spend measures the rules read, per referee, as of the cutoff.
   grain: one row per referee_account_id (its winning listing)
   parameters: $base_threshold_usd
   inputs: int_referees, int_referee_daily_spend, int_carried_referees
   P(d), the spend that qualifies for the base on day d: the eligible spend placed on
     R..min(d, R+364), plus, once d is past the window, the unlinked refunds billed
     R+365..d (rule 2: an unplaceable refund counts against the window it follows).
     eligible_spend_to_date_usd = P at the last visible day E = min(cutoff, finality).
   qualified_date (Q): the first day of the last unbroken run of days, ending at E, on
     which P >= the threshold: the latest crossing, so every re-crossing restarts the
     hold. Null when P(E) is below the threshold. P only changes on days with a row, so
     the run starts at the first row-day after the last row-day on which P was below.
   has_reached_threshold: P was at or above the threshold on some day (a friend whose
     refunds took it back below is told apart from one who never got there).
   bonus_window_spend_usd (S): the eligible spend placed on R..bonus_window_end_date, plus
     the unlinked refunds billed after it, by E.
   unplaceable_refunds_usd: those unlinked refunds billed after the bonus window (all of
     them count against S; the ones billed after window_end_date also against P).
   linked_refunds_usd: negative linked lines placed in the window.
   latest_crossing_date: the latest crossing whatever P(E) is (kept in the state, so a
     later month knows the crossing a refund and a new purchase straddle).
   A referee carried from the last month's state (int_carried_referees) has only its days
   after the state's through_date here: each running sum starts from the state's value
   (qualifying_spend_usd for P) and the state's measures are added to the new days'. For any
   other referee the state is empty and the same SQL sums all its days. */
with referees as (
    select * from int_referees
),


daily as (
    -- the window ends ride along with the days (no join of every day to int_referees)
    select
        referee_account_id,
        spend_date,
        placed_spend_usd,
        unlinked_refunds_usd,
        linked_refunds_usd,
        spend_date > window_end_date as is_after_window,
        spend_date > bonus_window_end_date as is_after_bonus_window
    from int_referee_daily_spend
),

running as (
    select
        daily.*,
        daily.placed_spend_usd
        + case when daily.is_after_window then daily.unlinked_refunds_usd else 0 end
            as qualifying_change_usd,
        coalesce(carried.qualifying_spend_usd, 0) + sum(qualifying_change_usd) over (
            partition by daily.referee_account_id
            order by daily.spend_date
            rows between unbounded preceding and current row
        ) as qualifying_spend_usd
    from daily
    left join int_carried_referees as carried
        on daily.referee_account_id = carried.referee_account_id
),

measures as (
    -- a crossing is a day on which P reaches the threshold from below (P the day before
    -- is P minus the day's change; before the first row-day P is 0, or the state's P for
    -- a carried referee's first new day): when P(E) is at or
    -- above the threshold, the last unbroken run ending at E starts on the latest crossing
    select
        referee_account_id,
        max(spend_date) filter (
            where
            qualifying_spend_usd >= $base_threshold_usd
            and qualifying_spend_usd - qualifying_change_usd < $base_threshold_usd
        ) as latest_crossing_date,
        max(qualifying_spend_usd) >= $base_threshold_usd as has_reached_threshold,
        sum(qualifying_change_usd) as eligible_spend_to_date_usd,
        coalesce(sum(placed_spend_usd) filter (where not is_after_bonus_window), 0)
        + coalesce(sum(unlinked_refunds_usd) filter (where is_after_bonus_window), 0)
            as bonus_window_spend_usd,
        coalesce(sum(unlinked_refunds_usd) filter (where is_after_bonus_window), 0)
            as unplaceable_refunds_usd,
        sum(linked_refunds_usd) as linked_refunds_usd
    from running
    group by referee_account_id
),

combined as (
    -- the state's measures (none for a referee not carried) plus the new days'
    select
        referees.referee_account_id,
        coalesce(measures.latest_crossing_date, carried.latest_crossing_date)
            as latest_crossing_date,
        coalesce(carried.has_reached_threshold, false)
        or coalesce(measures.has_reached_threshold, false) as has_reached_threshold,
        coalesce(carried.qualifying_spend_usd, 0)
        + coalesce(measures.eligible_spend_to_date_usd, 0) as eligible_spend_to_date_usd,
        coalesce(carried.bonus_window_spend_usd, 0)
        + coalesce(measures.bonus_window_spend_usd, 0) as bonus_window_spend_usd,
        coalesce(carried.unplaceable_refunds_usd, 0)
        + coalesce(measures.unplaceable_refunds_usd, 0) as unplaceable_refunds_usd,
        coalesce(carried.linked_refunds_usd, 0)
        + coalesce(measures.linked_refunds_usd, 0) as linked_refunds_usd
    from referees
    -- int_carried_referees itself, not a CTE over it: DuckDB 2.0.0 gives two uses of a CTE
    -- whose rows were pruned to none the same column ids (fixed upstream in PR 25947),
    -- and with no referee carried that compared P to the threshold wrongly
    left join int_carried_referees as carried
        on referees.referee_account_id = carried.referee_account_id
    left join measures on referees.referee_account_id = measures.referee_account_id
),

final as (
    select
        referee_account_id,
        case
            when eligible_spend_to_date_usd >= $base_threshold_usd then latest_crossing_date
        end as qualified_date,
        has_reached_threshold,
        cast(eligible_spend_to_date_usd as decimal(18, 4)) as eligible_spend_to_date_usd,
        cast(bonus_window_spend_usd as decimal(18, 4)) as bonus_window_spend_usd,
        cast(unplaceable_refunds_usd as decimal(18, 4)) as unplaceable_refunds_usd,
        cast(linked_refunds_usd as decimal(18, 4)) as linked_refunds_usd,
        latest_crossing_date
    from combined
)

select * from final
