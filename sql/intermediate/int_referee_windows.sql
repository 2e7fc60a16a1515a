/* int_referee_windows
   kind: model
   purpose: the spend measures the rules read, per referee, as of the cutoff.
   grain: one row per referee_account_id (its winning listing)
   parameters: $base_threshold_usd
   inputs: int_referees, int_referee_daily_spend
   qualified_date (Q): the earliest day of the qualification window on which the running
     eligible spend from registration reaches the threshold (a later refund does not
     move Q; it can only make the base fall below the threshold again).
   spend_first_90_days_usd (S90): eligible spend over the bonus window (days 1..90).
   One window pass and one aggregate over the daily rows. */
with referees as (
    select referee_account_id from int_referees
),

running as (
    select
        referee_account_id,
        bonus_window_end_date,
        spend_date,
        eligible_spend_usd,
        sum(eligible_spend_usd) over (
            partition by referee_account_id
            order by spend_date
            rows between unbounded preceding and current row
        ) as running_spend_usd
    from int_referee_daily_spend
),

measures as (
    select
        referee_account_id,
        min(spend_date) filter (where running_spend_usd >= $base_threshold_usd) as qualified_date,
        sum(eligible_spend_usd) as eligible_spend_to_date_usd,
        sum(eligible_spend_usd) filter (where spend_date <= bonus_window_end_date)
            as spend_first_90_days_usd
    from running
    group by referee_account_id
),

final as (
    select
        referees.referee_account_id,
        measures.qualified_date,
        cast(coalesce(measures.eligible_spend_to_date_usd, 0) as decimal(18, 4))
            as eligible_spend_to_date_usd,
        cast(coalesce(measures.spend_first_90_days_usd, 0) as decimal(18, 4))
            as spend_first_90_days_usd
    from referees
    left join measures on referees.referee_account_id = measures.referee_account_id
)

select * from final
