/* cached_cycles
   kind: script
   purpose: the control relation cached_cycles: the visible billing cycles whose eligible
            spend this run takes from the incremental state instead of their files.
   grain: one row per cached billing_cycle
   parameters: $cycles
   inputs: none */
create or replace temp table cached_cycles as
select unnest($cycles) as billing_cycle
