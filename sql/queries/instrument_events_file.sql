/* instrument_events_file
   kind: query
   purpose: the rows of OUT/instruments/M/events.parquet, from the committed month: every
            event of the month, accepted or rejected with its reason.
   grain: one row per event outcome
   parameters: $instrument_month
   inputs: warehouse.instrument_events */
select
    event_id,
    instrument_kind,
    instrument_id,
    event_type,
    actor_account_id,
    to_account_id,
    occurred_at,
    amount_usd,
    product_code,
    order_amount_usd,
    accepted,
    reason,
    late
from warehouse.instrument_events
where instrument_month = $instrument_month
order by occurred_at asc, event_id asc, accepted desc, reason asc
