/* instrument_month_totals
   kind: query
   purpose: the totals recorded in warehouse.instrument_months, from the computed (not yet
            published) month.
   grain: one row
   parameters: none
   inputs: instrument_events, instrument_state */
select
    (select count(*) from instrument_events) as event_count,
    (select count(*) filter (where not accepted) from instrument_events) as rejected_event_count,
    (select coalesce(sum(expired_this_month_usd), 0) from instrument_state) as breakage_usd
