/* report_hold_pipeline
   kind: query
   purpose: the month report's hold pipeline: what is earned but not yet payable, split by
            whether it becomes payable at the next cutoff or later (if nothing changes).
   grain: one row per horizon (next month, later)
   parameters: $settlement_month, $cutoff_date
   inputs: warehouse.referee_status */
with pending as (
    -- a base and its bonus can become payable at different cutoffs
    select
        pending_base_usd as pending_usd,
        payable_on <= last_day(cast($cutoff_date as date) + 1) as is_next_month
    from warehouse.referee_status
    where settlement_month = $settlement_month and pending_base_usd > 0
    union all
    select
        pending_bonus_usd as pending_usd,
        pending_bonus_payable_on <= last_day(cast($cutoff_date as date) + 1) as is_next_month
    from warehouse.referee_status
    where settlement_month = $settlement_month and pending_bonus_usd > 0
)

select
    horizon,
    coalesce(sum(pending.pending_usd), 0) as pending_usd
from (values (1, 'payable next month', true), (2, 'payable later', false))
    as horizons (horizon_order, horizon, is_next_month)
left join pending on horizons.is_next_month = pending.is_next_month
group by horizon_order, horizon
order by horizon_order
