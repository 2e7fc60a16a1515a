/* window_state_month
   kind: script
   purpose: the control relation window_state_month: the month whose per-referee window
            state (warehouse.referee_window_state) this run may advance, or no row when it
            must compute every referee's windows from all their days
            (transforms/pipeline/settlement_inputs.py window_state_usable).
   grain: at most one row
   parameters: $state_month, $usable
   inputs: none */
create or replace temp table window_state_month as
select cast($state_month as varchar) as settlement_month
where $usable
