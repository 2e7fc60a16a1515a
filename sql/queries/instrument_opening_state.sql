/* instrument_opening_state
   kind: query
   purpose: every instrument as the previous instrument month closed it: the opening state
            the lifecycle engine applies this month's events to.
   grain: one row per (instrument_kind, instrument_id)
   parameters: $previous_month
   inputs: warehouse.instrument_state */
select *
from warehouse.instrument_state
where instrument_month = $previous_month
order by instrument_kind, instrument_id
