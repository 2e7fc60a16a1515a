/* int_referee_daily_spend
   purpose: eligible cash spend of each referee per day inside its 365-day window.
   grain: one row per (referee_account_id, spend_date)
   parameters: $cutoff_date, $qualification_window_days
   Rule 1: only lines of an eligible (product_code, subscription_type) on the line's
   billing_date count, measured by cash_amount (refunds with their own dates;
   coupons, vouchers and prepaid cards never count). Spend before registration
   (day 1 = registration date) and after the window does not count. */
with lines as (
    select
        account_id,
        billing_date,
        product_code,
        subscription_type,
        cash_amount_usd
    from int_cycle_daily_spend
    -- a settlement sees only lines dated on or before its cutoff: data newer than the
    -- month being settled is normal in a backfill and simply not visible to it
    where billing_date <= $cutoff_date
),

eligible_products as (
    select * from stg_eligible_products
),

referees as (
    -- one referral per referee: the listing that won rule 1 of int_referral_reasons
    select
        referee_account_id,
        registered_date
    from int_referral_reasons
    where referee_listing_rank = 1
),

window_lines as (
    select
        referees.referee_account_id,
        lines.billing_date,
        lines.product_code,
        lines.subscription_type,
        lines.cash_amount_usd
    from lines
    inner join referees
        on
            lines.account_id = referees.referee_account_id
            and lines.billing_date >= referees.registered_date
            and lines.billing_date <= referees.registered_date + ($qualification_window_days - 1)
),

eligible_lines as (
    select window_lines.*
    from window_lines
    where exists (
        select 1
        from eligible_products
        where
            eligible_products.product_code = window_lines.product_code
            and eligible_products.subscription_type in ('*', window_lines.subscription_type)
            and window_lines.billing_date >= eligible_products.effective_from_date
            and (
                eligible_products.effective_to_date is null
                or window_lines.billing_date <= eligible_products.effective_to_date
            )
    )
),

final as (
    select
        referee_account_id,
        billing_date as spend_date,
        sum(cash_amount_usd) as eligible_spend_usd
    from eligible_lines
    group by referee_account_id, billing_date
)

select * from final
