/* int_referee_windows
   kind: model
   purpose: the spend measures the rules read, per referee, as of the cutoff.
   grain: one row per referee_account_id (its winning listing)
   parameters: $base_threshold_usd
   inputs: int_referees, int_referee_daily_spend
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
   linked_refunds_usd: negative linked lines placed in the window. */
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
        *,
        placed_spend_usd + case when is_after_window then unlinked_refunds_usd else 0 end
            as qualifying_change_usd,
        sum(qualifying_change_usd) over (
            partition by referee_account_id
            order by spend_date
            rows between unbounded preceding and current row
        ) as qualifying_spend_usd
    from daily
),

measures as (
    -- a crossing is a day on which P reaches the threshold from below (P the day before
    -- is P minus the day's change; before the first row-day P is 0): when P(E) is at or
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

final as (
    select
        referees.referee_account_id,
        case
            when measures.eligible_spend_to_date_usd >= $base_threshold_usd
                then measures.latest_crossing_date
        end as qualified_date,
        coalesce(measures.has_reached_threshold, false) as has_reached_threshold,
        cast(coalesce(measures.eligible_spend_to_date_usd, 0) as decimal(18, 4))
            as eligible_spend_to_date_usd,
        cast(coalesce(measures.bonus_window_spend_usd, 0) as decimal(18, 4))
            as bonus_window_spend_usd,
        cast(coalesce(measures.unplaceable_refunds_usd, 0) as decimal(18, 4))
            as unplaceable_refunds_usd,
        cast(coalesce(measures.linked_refunds_usd, 0) as decimal(18, 4)) as linked_refunds_usd
    from referees
    left join measures on referees.referee_account_id = measures.referee_account_id
)

select * from final
