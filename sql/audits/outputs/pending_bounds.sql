/* pending_bounds
   kind: audit
   purpose: the accrual stays inside the rules: pending amounts are never negative, only
            'ok' winning listings accrue, the pending base is 0 or the base credit, and what
            is credited plus what is pending stays within the cap; a pending amount has
            the cutoff at which it becomes payable, after this one.
   grain: one row per offending referral row
   parameters: $cap_per_referee_usd, $base_credit_usd, $cutoff_date
   inputs: referee_status
   returns: offending rows (zero rows = pass) */
select
    referee_account_id,
    referrer_account_id,
    reason_code,
    credited_to_date_usd,
    pending_base_usd,
    pending_bonus_usd,
    payable_on
from referee_status
where
    pending_base_usd < 0
    or pending_bonus_usd < 0
    or pending_base_usd > to_cents($base_credit_usd)
    or (
        (reason_code <> 'ok' or not is_winning_listing)
        and pending_base_usd + pending_bonus_usd <> 0
    )
    or credited_to_date_usd + pending_base_usd + pending_bonus_usd
    > to_cents($cap_per_referee_usd)
    or (pending_base_usd + pending_bonus_usd > 0 and not coalesce(payable_on > $cutoff_date, false))
