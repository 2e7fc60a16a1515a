/* export_pending
   kind: query
   purpose: the Pending sheet of `creditflow export`: the accrual, what is earned but on
            hold and when it becomes payable if nothing changes.
   grain: one row per referral with a pending amount
   parameters: $settlement_month
   inputs: warehouse.referee_status */
select
    referrer_account_id,
    referee_account_id,
    base_status,
    bonus_status,
    pending_base_usd,
    pending_bonus_usd,
    payable_on,
    pending_bonus_payable_on
from warehouse.referee_status
where settlement_month = $settlement_month and pending_base_usd + pending_bonus_usd > 0
order by payable_on, referrer_account_id, referee_account_id
