/* int_instruments_issued
   kind: model
   purpose: the instruments that enter the instrument ledger this month, not yet in it:
            vouchers purchased on or before the cutoff, referral coupons issued on or
            before it, and the friends' welcome rewards issued by the settlement of this
            month or an earlier one (valid from the registration day). A voucher is transferable only when it was bought at full price
            outside the special channel with max_transfers > 0 (seed: "pickup vouchers
            purchased through special channels or at a discounted price cannot be
            transferred"); coupons and welcome rewards never transfer. A welcome reward
            pays only for its select products (allowed_products) and the discount only for
            an order of at least its minimum (min_order_usd); the others leave both null.
   grain: one row per (instrument_kind, instrument_id) per distinct catalog row
   parameters: $cutoff_date
   inputs: stg_voucher_catalog, int_coupons_issued, warehouse.instrument_state,
           warehouse.welcome_rewards, rejected_rows (control) */
with in_ledger as (
    select distinct
        instrument_kind,
        instrument_id
    from warehouse.instrument_state
),

vouchers as (
    select distinct
        voucher_id,
        face_value_usd,
        purchased_by_account_id,
        purchase_channel,
        is_discounted,
        max_transfers,
        valid_from,
        valid_to,
        cast(purchased_at as date) as purchased_date
    from stg_voucher_catalog as catalog
    -- rows an input audit rejected stay in the quarantine (sql/audits/instrument_inputs/)
    anti join rejected_rows
        on
            catalog.source_file = rejected_rows.source_file
            and catalog.file_row_number = rejected_rows.file_row_number
),

issued_vouchers as (
    select
        'voucher' as instrument_kind,
        voucher_id as instrument_id,
        purchased_by_account_id as owner_account_id,
        purchased_by_account_id as invoice_account_id,
        face_value_usd,
        valid_from,
        valid_to,
        purchased_date as issued_on,
        max_transfers,
        not is_discounted and purchase_channel <> 'special' and max_transfers > 0
            as is_transferable,
        cast([] as varchar[]) as excluded_products,
        cast(null as varchar[]) as allowed_products,
        to_cents(null) as min_order_usd
    from vouchers
    where purchased_date <= $cutoff_date
),

issued_coupons as (
    select
        'referral_coupon' as instrument_kind,
        instrument_id,
        referrer_account_id as owner_account_id,
        referrer_account_id as invoice_account_id,
        amount_usd as face_value_usd,
        valid_from,
        valid_to,
        issued_on,
        0 as max_transfers,
        is_transferable,
        excluded_products,
        cast(null as varchar[]) as allowed_products,
        to_cents(null) as min_order_usd
    from int_coupons_issued
),

issued_welcome as (
    -- named by the friend and the kind: one of each per friend, ever (welcome_rewards.sql)
    select
        instrument_kind,
        welcome_instrument_id(referee_account_id, instrument_kind) as instrument_id,
        referee_account_id as owner_account_id,
        referee_account_id as invoice_account_id,
        amount_usd as face_value_usd,
        valid_from,
        valid_to,
        valid_from as issued_on,
        0 as max_transfers,
        is_transferable,
        cast([] as varchar[]) as excluded_products,
        -- the terms travel with the reward: the products recorded when it was issued
        case
            when allowed_products = '' then cast([] as varchar[])
            else string_split(allowed_products, '|')
        end as allowed_products,
        min_order_usd
    from warehouse.welcome_rewards
    -- by the month that issued them, not by valid_from: a friend rewarded late (valid from
    -- an earlier month) enters in the issuing month whatever order the ledgers ran in
    where settlement_month <= strftime($cutoff_date, '%Y-%m')
),

final as (
    select * from issued_vouchers
    union all
    select * from issued_coupons
    union all
    select * from issued_welcome
)

select final.*
from final
anti join in_ledger
    on
        final.instrument_kind = in_ledger.instrument_kind
        and final.instrument_id = in_ledger.instrument_id
