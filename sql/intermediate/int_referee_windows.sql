/* int_referee_windows
   purpose: the spend measures the rules read, per referee, as of the cutoff.
   grain: one row per referee_account_id (its winning listing)
   parameters: $base_threshold_usd, $bonus_window_days
   qualified_on (Q): the earliest day of the 365-day window on which the running
     eligible spend from registration reaches the threshold (a later refund does not
     move Q; it can only make the base fall below the threshold again).
   spend_first_90_days_usd (S90): eligible spend over days 1..90. */
with referees as (
    select
        referee_account_id,
        registered_date
    from int_referral_reasons
    where referee_listing_rank = 1
),

daily as (
    select * from int_referee_daily_spend
),

running as (
    select
        referee_account_id,
        spend_date,
        sum(eligible_spend_usd) over (
            partition by referee_account_id
            order by spend_date
            rows between unbounded preceding and current row
        ) as running_spend_usd
    from daily
),

threshold_reached as (
    select
        referee_account_id,
        min(spend_date) as qualified_on
    from running
    where running_spend_usd >= $base_threshold_usd
    group by referee_account_id
),

totals as (
    select
        daily.referee_account_id,
        sum(daily.eligible_spend_usd) as eligible_spend_to_date_usd,
        coalesce(sum(daily.eligible_spend_usd) filter (
            where daily.spend_date <= referees.registered_date + ($bonus_window_days - 1)
        ), 0) as spend_first_90_days_usd
    from daily
    inner join referees on daily.referee_account_id = referees.referee_account_id
    group by daily.referee_account_id
),

final as (
    select
        referees.referee_account_id,
        threshold_reached.qualified_on,
        cast(coalesce(totals.eligible_spend_to_date_usd, 0) as decimal(18, 4))
            as eligible_spend_to_date_usd,
        cast(coalesce(totals.spend_first_90_days_usd, 0) as decimal(18, 4))
            as spend_first_90_days_usd
    from referees
    left join totals on referees.referee_account_id = totals.referee_account_id
    left join threshold_reached on referees.referee_account_id = threshold_reached.referee_account_id
)

select * from final
