/* int_carried_referees
   kind: model
   purpose: the referees whose windows this month advances from the state the last month
            kept (warehouse.referee_window_state) by their new days only, with that state;
            every other referee's windows are summed from all its days.
   grain: one row per referee_account_id
   parameters: none (window_state_month says whether, and from which month, to carry)
   inputs: int_referees, int_cycle_linked_lines, warehouse.referee_window_state,
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
   - any line naming an original record: its day is its original's, which may lie in any
     earlier cycle, and an original delivered later turns an unlinked refund into a linked
     one. Few referees have one (refunds), so all of them are recomputed. */
with state as (
    select *
    from warehouse.referee_window_state
    where settlement_month in (select settlement_month from window_state_month)
),

linked_accounts as (
    select distinct account_id
    from int_cycle_linked_lines
),

final as (
    select
        state.referee_account_id,
        state.through_date,
        state.qualifying_spend_usd,
        state.latest_crossing_date,
        state.has_reached_threshold,
        state.bonus_window_spend_usd,
        state.unplaceable_refunds_usd,
        state.linked_refunds_usd
    from state
    inner join int_referees as referees
        on
            state.referee_account_id = referees.referee_account_id
            and state.registered_date = referees.registered_date
            and state.window_end_date = referees.window_end_date
            and state.bonus_window_end_date = referees.bonus_window_end_date
    where not exists (
        select 1
        from linked_accounts
        where linked_accounts.account_id = state.referee_account_id
    )
)

select * from final
