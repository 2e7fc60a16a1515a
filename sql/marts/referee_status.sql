/* referee_status
   purpose: every referral's standing at the cutoff: why it qualifies or not, the
            spend measures, what the rules entitle it to, and what is credited.
   kind: model
   grain: one row per referral per settlement_month
   parameters: $settlement_month, $cap_per_referee_usd
   inputs: int_referral_reasons, int_referee_entitlements, warehouse.ledger_entries
   Freeze (rule 5): a referral whose reason_code is not 'ok' earns nothing more and
   loses nothing already credited, so its entitlement is held at what it was credited.
   Money columns are zero on duplicate listings (referee_listing_rank > 1) so that
   summing a column never counts a referee twice.
   Accrual (issue 14, docs/outputs.md#booking-the-liability): pending_base_usd and
   pending_bonus_usd are earned but not yet payable (on hold), for 'ok' referrals only,
   limited so that credited + pending stays within the cap (the base first);
   payable_on is the first cutoff at which any of it becomes payable if nothing changes,
   pending_bonus_payable_on the bonus's. */
with referrals as (
    select * from int_referral_reasons
),

entitlements as (
    select * from int_referee_entitlements
),

credited_before as (
    select
        referee_account_id,
        coalesce(sum(amount_usd) filter (where component = 'base'), 0) as credited_base_before_usd,
        coalesce(sum(amount_usd) filter (where component = 'bonus'), 0) as credited_bonus_before_usd
    from warehouse.ledger_entries
    where settlement_month < $settlement_month
    group by referee_account_id
),

joined as (
    select
        referrals.*,
        entitlements.window_end_date,
        entitlements.finality_date,
        entitlements.is_final,
        entitlements.qualified_date,
        entitlements.eligible_spend_to_date_usd,
        entitlements.bonus_window_spend_usd,
        entitlements.unplaceable_refunds_usd,
        entitlements.linked_refunds_usd,
        entitlements.base_status,
        entitlements.bonus_status,
        entitlements.is_capped,
        coalesce(entitlements.accruing_base_usd, 0) as accruing_base_usd,
        coalesce(entitlements.accruing_bonus_usd, 0) as accruing_bonus_usd,
        entitlements.base_payable_on,
        entitlements.bonus_payable_on,
        referrals.referee_listing_rank = 1 as is_winning_listing,
        referrals.reason_code <> 'ok' as is_frozen,
        coalesce(entitlements.capped_base_usd, 0) as capped_base_usd,
        coalesce(entitlements.capped_bonus_usd, 0) as capped_bonus_usd,
        coalesce(credited_before.credited_base_before_usd, 0) as credited_base_before_usd,
        coalesce(credited_before.credited_bonus_before_usd, 0) as credited_bonus_before_usd
    from referrals
    left join entitlements
        on
            referrals.referee_account_id = entitlements.referee_account_id
            and referrals.referee_listing_rank = 1
    left join credited_before
        on
            referrals.referee_account_id = credited_before.referee_account_id
            and referrals.referee_listing_rank = 1
),

applied as (
    select
        *,
        case when is_frozen then credited_base_before_usd else capped_base_usd end as entitled_base_usd,
        case when is_frozen then credited_bonus_before_usd else capped_bonus_usd end as entitled_bonus_usd
    from joined
),

pending as (
    select
        *,
        case
            when is_frozen or not is_winning_listing then 0
            else greatest(
                0,
                least(
                    accruing_base_usd,
                    to_cents($cap_per_referee_usd) - entitled_base_usd - entitled_bonus_usd
                )
            )
        end as pending_base_usd
    from applied
),

accrued as (
    select
        *,
        case
            when is_frozen or not is_winning_listing then 0
            else greatest(
                0,
                least(
                    accruing_bonus_usd,
                    to_cents($cap_per_referee_usd)
                    - entitled_base_usd - entitled_bonus_usd - pending_base_usd
                )
            )
        end as pending_bonus_usd
    from pending
),

final as (
    select
        cast($settlement_month as varchar) as settlement_month,
        referee_account_id,
        referrer_account_id,
        referral_code,
        registered_at,
        registered_date,
        window_end_date,
        referee_listing_rank,
        is_winning_listing,
        reason_code,
        is_frozen,
        referee_risk_status,
        referrer_risk_status,
        -- verified in this month's snapshot (whenever); reason_code says whether it was
        -- by the referral (rule 5)
        referrer_verified_at is not null as is_referrer_payment_verified,
        eligible_spend_to_date_usd,
        qualified_date,
        bonus_window_spend_usd,
        base_status,
        bonus_status,
        is_capped,
        to_cents(entitled_base_usd) as entitled_base_usd,
        to_cents(entitled_bonus_usd) as entitled_bonus_usd,
        to_cents(entitled_base_usd + entitled_bonus_usd) as entitlement_usd,
        to_cents(credited_base_before_usd + credited_bonus_before_usd)
            as credited_before_usd,
        to_cents(entitled_base_usd - credited_base_before_usd) as delta_base_usd,
        to_cents(entitled_bonus_usd - credited_bonus_before_usd) as delta_bonus_usd,
        to_cents(
            entitled_base_usd + entitled_bonus_usd - credited_base_before_usd - credited_bonus_before_usd
        ) as delta_usd,
        -- after this month's ledger lines: equals the entitlement (frozen or not)
        to_cents(entitled_base_usd + entitled_bonus_usd) as credited_to_date_usd,
        -- the refund-safe rules (issue 12), appended so that earlier warehouses only gain columns
        finality_date,
        is_final,
        unplaceable_refunds_usd,
        linked_refunds_usd,
        referrer_verified_at,
        -- accrual (issue 14), appended likewise
        to_cents(pending_base_usd) as pending_base_usd,
        to_cents(pending_bonus_usd) as pending_bonus_usd,
        case
            when pending_base_usd > 0 then base_payable_on
            when pending_bonus_usd > 0 then bonus_payable_on
        end as payable_on,
        -- a bonus waits for its own hold and for the base it needs
        case
            when pending_bonus_usd > 0
                then greatest(
                    bonus_payable_on, case when pending_base_usd > 0 then base_payable_on end
                )
        end as pending_bonus_payable_on
    from accrued
)

select * from final
