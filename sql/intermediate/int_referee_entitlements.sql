/* int_referee_entitlements
   kind: model
   purpose: what the rules entitle each referee to at the cutoff, before freezing.
   grain: one row per referee_account_id (its winning listing)
   parameters: $cutoff_date, $base_credit_usd, $base_threshold_usd, $hold_days,
               $bonus_rate, $bonus_threshold_usd, $cap_per_referee_usd
   inputs: int_referees, int_referee_windows
   Rule 2 (base): earned when P(E) >= the threshold and
     Q + hold <= cutoff, Q being the latest crossing (int_referee_windows). Statuses:
     on_hold / earned when P(E) is at or above the threshold; otherwise
     final_below_threshold once the finality date has passed (the window and its hold
     are over without a payment), fell_below_threshold when P had reached the threshold
     before, window_closed when the window is over, below_threshold while it is open.
   Rule 3 (bonus): once the base is earned and the bonus window's end + hold <= cutoff,
     bonus_rate x max(0, S - threshold), rounded half-up to cents.
   Rule 4 (cap): base + bonus is capped per referee; the cap eats the bonus first.
   earned_*: by rules 2 and 3; capped_*: after rule 4.
   Accrual (issue 14): what is earned but not yet payable, if nothing changes. The base is
     pending while on hold (payable at the first cutoff on or after Q + hold); the bonus
     is pending while the base is on hold or earned and the bonus is not yet payable:
     bonus_rate x max(0, S so far - threshold), half-up (payable at the first cutoff on
     or after the bonus window's end + hold). Before the cap and the freeze, which
     referee_status applies. */
with referees as (
    select * from int_referees
),

windows as (
    select * from int_referee_windows
),

statuses as (
    select
        referees.referee_account_id,
        referees.registered_date,
        referees.window_end_date,
        referees.bonus_window_end_date,
        referees.finality_date,
        referees.is_final,
        windows.qualified_date,
        windows.eligible_spend_to_date_usd,
        windows.bonus_window_spend_usd,
        windows.unplaceable_refunds_usd,
        windows.linked_refunds_usd,
        case
            when windows.eligible_spend_to_date_usd >= $base_threshold_usd
                then
                    case
                        when windows.qualified_date + $hold_days > $cutoff_date then 'on_hold'
                        else 'earned'
                    end
            when referees.is_final then 'final_below_threshold'
            when windows.has_reached_threshold then 'fell_below_threshold'
            when referees.window_end_date < $cutoff_date then 'window_closed'
            else 'below_threshold'
        end as base_status
    from referees
    inner join windows on referees.referee_account_id = windows.referee_account_id
),

with_bonus as (
    select
        *,
        case
            when base_status <> 'earned' then 'needs_base'
            when bonus_window_end_date + $hold_days > $cutoff_date then 'on_hold'
            else 'earned'
        end as bonus_status
    from statuses
),

earned as (
    select
        *,
        case when base_status = 'earned' then to_cents($base_credit_usd) else 0 end
            as earned_base_usd,
        case
            when bonus_status = 'earned'
                then round_half_up_cents(
                    cast($bonus_rate as decimal(9, 4))
                    * greatest(bonus_window_spend_usd - to_cents($bonus_threshold_usd), 0)
                )
            else 0
        end as earned_bonus_usd,
        case
            when base_status = 'on_hold' then to_cents($base_credit_usd) else 0
        end as accruing_base_usd,
        case
            when base_status in ('on_hold', 'earned') and bonus_status <> 'earned'
                then round_half_up_cents(
                    cast($bonus_rate as decimal(9, 4))
                    * greatest(bonus_window_spend_usd - to_cents($bonus_threshold_usd), 0)
                )
            else 0
        end as accruing_bonus_usd
    from with_bonus
),

capped as (
    select
        *,
        to_cents(least(earned_base_usd, to_cents($cap_per_referee_usd)))
            as capped_base_usd
    from earned
),

final as (
    select
        referee_account_id,
        registered_date,
        window_end_date,
        finality_date,
        is_final,
        qualified_date,
        eligible_spend_to_date_usd,
        bonus_window_spend_usd,
        unplaceable_refunds_usd,
        linked_refunds_usd,
        base_status,
        bonus_status,
        to_cents(earned_base_usd) as earned_base_usd,
        to_cents(earned_bonus_usd) as earned_bonus_usd,
        capped_base_usd,
        to_cents(
            least(earned_bonus_usd, to_cents($cap_per_referee_usd) - capped_base_usd)
        ) as capped_bonus_usd,
        earned_base_usd + earned_bonus_usd > to_cents($cap_per_referee_usd) as is_capped,
        to_cents(accruing_base_usd) as accruing_base_usd,
        to_cents(accruing_bonus_usd) as accruing_bonus_usd,
        -- cutoffs are month ends: the first one on or after the day the hold ends
        case
            when accruing_base_usd > 0 then last_day(qualified_date + $hold_days)
        end as base_payable_on,
        case
            when accruing_bonus_usd > 0 then last_day(bonus_window_end_date + $hold_days)
        end as bonus_payable_on
    from capped
)

select * from final
