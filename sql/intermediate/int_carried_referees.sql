/* int_carried_referees
   kind: model
   purpose: the referees whose windows this month advances from the state the last month
            kept (warehouse.referee_window_state) by their new days only, with that state;
            every other referee's windows are summed from all its days.
   grain: one row per referee_account_id
   parameters: none (window_state_month says whether, and from which month, to carry)
   inputs: int_referees, int_linked_lines, warehouse.referee_window_state,
           window_state_month (control)
   A referee's measures (int_referee_windows) are running sums over its days in date
   order, so P, the latest crossing, S and the refund sums as of the last month's
   through_date, plus the days after it, give exactly the sums over all its days, as long
   as no day up to through_date changed. window_state_month has its row only when nothing
   before this month's cycle can have changed: an incremental run that scans this month's
   cycle alone (no corrected cycle, no changed eligible-products list, no referee
   registered before the cycles kept) right after the state's month, under the same rules
   (settlement_inputs.window_state_usable); bill lines are dated inside their own cycle
   (audit billing_required_values). Per referee, two more things move earlier days, so
   those referees are summed again from all their days:
   - a different winning listing (another registration date, so other windows);
   - a visible line naming an original record that is billed after through_date (it counts
     on its original's day, which may be any earlier day) or whose original is dated after
     it (an original delivered only now: the line moves from its billing day, where it
     counted as an unlinked refund, to its original's). A line naming an original is
     otherwise resolved as last month (the earliest delivery of the record id, and no
     earlier cycle changed), so it is in the state already.
   Read without CTEs: DuckDB 2.0.0 can mix up the columns of a CTE read twice when a join
   inside it is pruned (int_referee_windows). */
select
    state.referee_account_id,
    state.through_date,
    state.qualifying_spend_usd,
    state.latest_crossing_date,
    state.has_reached_threshold,
    state.bonus_window_spend_usd,
    state.unplaceable_refunds_usd,
    state.linked_refunds_usd
from warehouse.referee_window_state as state
inner join int_referees as referees
    on
        state.referee_account_id = referees.referee_account_id
        and state.registered_date = referees.registered_date
        and state.window_end_date = referees.window_end_date
        and state.bonus_window_end_date = referees.bonus_window_end_date
where
    state.settlement_month in (select settlement_month from window_state_month)
    and not exists (
        select 1
        from int_linked_lines as lines
        where
            lines.account_id = state.referee_account_id
            and lines.billing_date <= referees.visible_to_date
            and greatest(lines.billing_date, lines.original_billing_date) > state.through_date
    )
