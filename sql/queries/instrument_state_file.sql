/* instrument_state_file
   kind: query
   purpose: the rows of OUT/instruments/M/state.parquet, from the committed month.
   grain: one row per (instrument_kind, instrument_id)
   parameters: $instrument_month
   inputs: warehouse.instrument_state */
select
    instrument_kind,
    instrument_id,
    owner_account_id,
    status,
    transfers_used,
    remaining_balance_usd,
    face_value_usd,
    invoice_account_id as invoice_account,
    valid_from,
    valid_to,
    expired_this_month_usd,
    allowed_products,
    min_order_usd
from warehouse.instrument_state
where instrument_month = $instrument_month
order by instrument_kind, instrument_id
