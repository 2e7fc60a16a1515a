/* welcome_rewards
   purpose: the referred friend's side of the program (seed: "What Your Friends Will
            Receive"): the welcome rewards the month issues, two per friend.
   kind: model
   grain: one row per (referee_account_id, instrument_kind)
   parameters: $settlement_month, $cutoff_date, $currency, $welcome_credit_usd,
               $welcome_discount_usd, $welcome_discount_min_order_usd,
               $welcome_validity_days, $welcome_products
   inputs: referee_status, stg_eligible_products, warehouse.welcome_rewards,
           warehouse.settlements
   Who: a friend registered in the month whose winning referral is 'ok' at the cutoff
   (waiting on spend or on the hold is still 'ok'; any other reason code gets nothing).
   Once in a lifetime: a friend rewarded by an earlier month, or listed again, gets no
   second pair. A friend whose referral is first seen 'ok' in a later month (delivered
   late, or cleared by risk review) is rewarded then, as long as the rewards can still be
   used in that month (R + validity - 1 on or after its first day) and the registration is
   not older than the first month this warehouse settled (the program's start here).
   What: welcome_credit (partial use allowed) and welcome_discount (off one order of at
   least the minimum, used once and whole), valid from the registration day R through
   R + validity - 1 (60 days in all), not transferable, usable on the select products:
   welcome_products, or when empty the eligible-products codes in effect at the cutoff. */
with rewarded_before as (
    select distinct referee_account_id from warehouse.welcome_rewards
),

program_start as (
    -- the first day of the first month this warehouse settled (this month when none)
    select
        cast(coalesce(min(settlement_month), $settlement_month) || '-01' as date)
            as first_day
    from warehouse.settlements
),

friends as (
    select
        status.referee_account_id,
        status.referrer_account_id,
        status.registered_date
    from referee_status as status
    cross join program_start
    where
        status.is_winning_listing
        and status.reason_code = 'ok'
        and status.registered_date between program_start.first_day and $cutoff_date
        and status.registered_date + ($welcome_validity_days - 1)
        >= cast($settlement_month || '-01' as date)
        and status.referee_account_id not in (select referee_account_id from rewarded_before)
),

products as (
    select
        case
            when len($welcome_products) > 0
                then array_to_string(list_sort(list_distinct($welcome_products)), '|')
            else (
                select string_agg(distinct product_code, '|' order by product_code)
                from stg_eligible_products
                where
                    effective_from_date <= $cutoff_date
                    and (effective_to_date is null or effective_to_date >= $cutoff_date)
            )
        end as allowed_products
),

kinds as (
    select
        'welcome_credit' as instrument_kind,
        to_cents($welcome_credit_usd) as amount_usd,
        to_cents(null) as min_order_usd
    union all
    select
        'welcome_discount' as instrument_kind,
        to_cents($welcome_discount_usd) as amount_usd,
        to_cents($welcome_discount_min_order_usd) as min_order_usd
),

final as (
    select
        cast($settlement_month as varchar) as settlement_month,
        friends.referee_account_id,
        friends.referrer_account_id,
        kinds.instrument_kind,
        kinds.amount_usd,
        cast($currency as varchar) as currency,
        friends.registered_date,
        friends.registered_date as valid_from,
        friends.registered_date + ($welcome_validity_days - 1) as valid_to,
        kinds.min_order_usd,
        false as is_transferable,
        coalesce(products.allowed_products, '') as allowed_products
    from friends
    cross join kinds
    cross join products
    where kinds.amount_usd > 0
)

select * from final
