/* int_referee_daily_spend
   kind: model
   purpose: eligible cash spend of each referee per day inside its qualification window.
   grain: one row per (referee_account_id, spend_date); int_cycle_eligible_spend is
          already one row per account and day (a day lies in one billing cycle, and a
          cycle is either scanned or taken from the cache), so no aggregate is needed
   parameters: $cutoff_date
   inputs: int_cycle_eligible_spend, int_referees
   Rule 1, the part that needs the referral: spend before registration (day 1 =
   registration date) and after the window does not count. Eligibility by product is
   applied in int_cycle_eligible_spend. */
with daily as (
    select
        account_id,
        billing_date,
        eligible_cash_usd
    from int_cycle_eligible_spend
    -- a settlement sees only lines dated on or before its cutoff: data newer than the
    -- month being settled is normal in a backfill and simply not visible to it
    where billing_date <= $cutoff_date
),

referees as (
    select * from int_referees
),

final as (
    select
        referees.referee_account_id,
        referees.bonus_window_end_date,
        daily.billing_date as spend_date,
        daily.eligible_cash_usd as eligible_spend_usd
    from daily
    inner join referees
        on
            daily.account_id = referees.referee_account_id
            and daily.billing_date >= referees.registered_date
            and daily.billing_date <= referees.window_end_date
)

select * from final
