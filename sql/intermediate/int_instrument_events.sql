/* int_instrument_events
   kind: model
   purpose: the events the instrument month lists: every delivered voucher event and coupon
            usage dated on or before this month's cutoff that no earlier month listed.
            Nothing is dropped and nothing is applied twice (docs/instruments.md):
            - an event dated in a month already published arrives late: it is listed and
              applied in this month, the first unpublished one (late = true), against the
              state at this point; published months are never reopened;
            - ids are unique for all time, per source (voucher events; coupon usage, which
              names referral coupons and welcome rewards): a row an earlier month listed (the same
              id and the same content) is the same event and is not listed again; a row
              whose id an earlier month listed with other content, or that repeats an id of
              this month with other content, is a duplicate (is_duplicate): listed and
              rejected. Within the month the first copy in (occurred_at, then every other
              column) order applies.
   grain: one row per distinct event row not listed before
   parameters: $cutoff_date, $previous_instrument_cutoff_date (null for the first month)
   inputs: stg_voucher_events, stg_coupon_usage, warehouse.instrument_events,
           rejected_rows (control)
   Rows an input audit rejected (sql/audits/instrument_inputs/) are left out: they are
   kept in the quarantine with the rule, and only ever get here when the operator accepted
   them with --max-rejected. */
with voucher_events as (
    select distinct
        event_id,
        'voucher' as instrument_kind,
        voucher_id as instrument_id,
        event_type,
        actor_account_id,
        to_account_id,
        occurred_at,
        to_cents(null) as amount_usd,
        cast(null as varchar) as product_code,
        to_cents(null) as order_amount_usd
    from stg_voucher_events as events
    anti join rejected_rows
        on
            events.source_file = rejected_rows.source_file
            and events.file_row_number = rejected_rows.file_row_number
),

coupon_usage as (
    select distinct
        usage_id as event_id,
        instrument_kind,
        -- the owner (null means the using account): a referral coupon is the owner's coupon
        -- of coupon_month, a welcome reward is the friend's own (one per kind, ever)
        case
            when instrument_kind = 'referral_coupon'
                then
                    coupon_instrument_id(
                        coalesce(coupon_owner_account_id, account_id), coupon_month
                    )
            else welcome_instrument_id(coalesce(coupon_owner_account_id, account_id), instrument_kind)
        end as instrument_id,
        'use' as event_type,
        account_id as actor_account_id,
        cast(null as varchar) as to_account_id,
        used_at as occurred_at,
        used_amount_usd as amount_usd,
        product_code,
        order_amount_usd
    from stg_coupon_usage as usage
    anti join rejected_rows
        on
            usage.source_file = rejected_rows.source_file
            and usage.file_row_number = rejected_rows.file_row_number
),

delivered as (
    select * from (
        select * from voucher_events
        union all
        select * from coupon_usage
    ) as events
    where cast(occurred_at as date) <= $cutoff_date
),

listed_before as (
    select
        instrument_kind,
        event_id,
        instrument_id,
        event_type,
        actor_account_id,
        to_account_id,
        occurred_at,
        amount_usd,
        product_code,
        order_amount_usd
    from warehouse.instrument_events
),

not_listed as (
    -- the same row listed by an earlier month is the same event: never listed again
    select delivered.*
    from delivered
    anti join listed_before as listed
        on
            delivered.instrument_kind = listed.instrument_kind
            and delivered.event_id = listed.event_id
            and delivered.instrument_id is not distinct from listed.instrument_id
            and delivered.event_type is not distinct from listed.event_type
            and delivered.actor_account_id is not distinct from listed.actor_account_id
            and delivered.to_account_id is not distinct from listed.to_account_id
            and delivered.occurred_at = listed.occurred_at
            and delivered.amount_usd is not distinct from listed.amount_usd
            and delivered.product_code is not distinct from listed.product_code
            and delivered.order_amount_usd is not distinct from listed.order_amount_usd
),

final as (
    select
        *,
        $previous_instrument_cutoff_date is not null
        and cast(occurred_at as date) <= $previous_instrument_cutoff_date as late,
        row_number() over (
            partition by event_source(instrument_kind), event_id
            order by
                occurred_at, instrument_kind, instrument_id, event_type, actor_account_id,
                to_account_id, amount_usd, product_code, order_amount_usd
        ) > 1
        or exists (
            select 1 from listed_before as listed
            where
                event_source(listed.instrument_kind) = event_source(not_listed.instrument_kind)
                and listed.event_id = not_listed.event_id
        ) as is_duplicate
    from not_listed
)

select * from final
