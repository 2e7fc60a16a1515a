/* int_instrument_events
   kind: model
   purpose: the events the instrument month applies: voucher events and coupon usage that
            occurred after the last published instrument month's cutoff and on or before
            this one's. Identical copies are one event; an event_id delivered again within
            the month with other content is a duplicate (is_duplicate): the first copy in
            (occurred_at, then every other column) order applies, later ones are rejected.
   grain: one row per distinct event row
   parameters: $cutoff_date, $previous_instrument_cutoff_date (null for the first month)
   inputs: stg_voucher_events, stg_coupon_usage */
with voucher_events as (
    select distinct
        event_id,
        'voucher' as instrument_kind,
        voucher_id as instrument_id,
        event_type,
        actor_account_id,
        to_account_id,
        occurred_at,
        cast(null as decimal(18, 2)) as amount_usd,
        cast(null as varchar) as product_code
    from stg_voucher_events
),

coupon_usage as (
    select distinct
        usage_id as event_id,
        'referral_coupon' as instrument_kind,
        -- the coupon's owner; null means the using account
        coupon_instrument_id(coalesce(coupon_owner_account_id, account_id), coupon_month)
            as instrument_id,
        'use' as event_type,
        account_id as actor_account_id,
        cast(null as varchar) as to_account_id,
        used_at as occurred_at,
        used_amount_usd as amount_usd,
        product_code
    from stg_coupon_usage
),

in_month as (
    select * from (
        select * from voucher_events
        union all
        select * from coupon_usage
    ) as events
    where
        cast(occurred_at as date) <= $cutoff_date
        and (
            $previous_instrument_cutoff_date is null
            or cast(occurred_at as date) > $previous_instrument_cutoff_date
        )
),

final as (
    select
        *,
        row_number() over (
            partition by instrument_kind, event_id
            order by
                occurred_at, instrument_id, event_type, actor_account_id, to_account_id,
                amount_usd, product_code
        ) > 1 as is_duplicate
    from in_month
)

select * from final
