/* int_referee_entitlements
   purpose: what the rules entitle each referee to at the cutoff, before freezing.
   grain: one row per referee_account_id (its winning listing)
   parameters: $cutoff_date, $base_credit_usd, $base_threshold_usd,
               $qualification_window_days, $hold_days, $bonus_window_days,
               $bonus_rate, $bonus_threshold_usd, $cap_per_referee_usd
   Rule 2 (base): earned when Q exists, Q + hold <= cutoff, and the eligible spend
     over the window to date is still >= the threshold.
   Rule 3 (bonus): once the base is earned and day 90 + hold <= cutoff,
     bonus_rate x max(0, S90 - threshold), rounded half-up to cents.
   Rule 4 (cap): base + bonus is capped per referee; the cap eats the bonus first. */
with referees as (
    select
        referee_account_id,
        registered_date
    from int_referral_reasons
    where referee_listing_rank = 1
),

windows as (
    select * from int_referee_windows
),

statuses as (
    select
        referees.referee_account_id,
        referees.registered_date,
        windows.qualified_on,
        windows.eligible_spend_to_date_usd,
        windows.spend_first_90_days_usd,
        referees.registered_date + ($qualification_window_days - 1) as window_ends_on,
        referees.registered_date + ($bonus_window_days - 1) as bonus_window_ends_on,
        case
            when
                windows.qualified_on is null
                and referees.registered_date + ($qualification_window_days - 1) < $cutoff_date
                then 'window_closed'
            when windows.qualified_on is null then 'below_threshold'
            when windows.qualified_on + $hold_days > $cutoff_date then 'on_hold'
            when windows.eligible_spend_to_date_usd < $base_threshold_usd then 'fell_below_threshold'
            else 'earned'
        end as base_status
    from referees
    inner join windows on referees.referee_account_id = windows.referee_account_id
),

with_bonus as (
    select
        *,
        case
            when base_status <> 'earned' then 'needs_base'
            when bonus_window_ends_on + $hold_days > $cutoff_date then 'on_hold'
            else 'earned'
        end as bonus_status
    from statuses
),

amounts as (
    select
        *,
        case when base_status = 'earned' then cast($base_credit_usd as decimal(18, 2)) else 0 end
            as base_usd,
        case
            when bonus_status = 'earned'
                then round_half_up_cents(
                    cast($bonus_rate as decimal(9, 4))
                    * greatest(spend_first_90_days_usd - cast($bonus_threshold_usd as decimal(18, 2)), 0)
                )
            else 0
        end as bonus_usd
    from with_bonus
),

capped as (
    select
        *,
        cast(least(base_usd, cast($cap_per_referee_usd as decimal(18, 2))) as decimal(18, 2))
            as entitled_base_usd
    from amounts
),

final as (
    select
        referee_account_id,
        registered_date,
        window_ends_on,
        qualified_on,
        eligible_spend_to_date_usd,
        spend_first_90_days_usd,
        base_status,
        bonus_status,
        cast(base_usd as decimal(18, 2)) as rule_base_usd,
        cast(bonus_usd as decimal(18, 2)) as rule_bonus_usd,
        entitled_base_usd,
        cast(
            least(bonus_usd, cast($cap_per_referee_usd as decimal(18, 2)) - entitled_base_usd)
            as decimal(18, 2)
        ) as entitled_bonus_usd,
        base_usd + bonus_usd > cast($cap_per_referee_usd as decimal(18, 2)) as is_capped
    from capped
)

select * from final
