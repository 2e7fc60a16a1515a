/* export_instruments
   kind: query
   purpose: the Instruments sheet of `creditflow export`: the instrument roll-forward of
            the month per kind (opening + issued - used - expired = closing), so the
            workbook ties the liability's outstanding columns to their movements. Empty
            until the month's instrument ledger is published (creditflow instruments).
   grain: one row per instrument_kind of the month
   parameters: $settlement_month
   inputs: warehouse.instrument_rollforward */
select
    instrument_kind,
    opening_outstanding_usd,
    issued_usd,
    redeemed_or_used_usd,
    expired_usd,
    closing_outstanding_usd
from warehouse.instrument_rollforward
where instrument_month = $settlement_month
order by instrument_kind
