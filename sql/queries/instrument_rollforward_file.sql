/* instrument_rollforward_file
   kind: query
   purpose: the rows of OUT/instruments/M/rollforward.csv (and of the run summary), from
            the committed month; the Instruments sheet of `creditflow export` too.
   grain: one row per instrument_kind
   parameters: $instrument_month
   inputs: warehouse.instrument_rollforward */
select
    instrument_kind,
    opening_outstanding_usd,
    issued_usd,
    redeemed_or_used_usd,
    expired_usd,
    closing_outstanding_usd
from warehouse.instrument_rollforward
where instrument_month = $instrument_month
order by instrument_kind
