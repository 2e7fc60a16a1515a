/* voucher_catalog_rules
   kind: audit
   purpose: a voucher row the ledger cannot issue is rejected: a null key or term, a
            purchase_channel the contract does not know, max_transfers outside 0..2 (seed:
            "can be transferred up to two times"), valid_to before valid_from, a face_value
            that is not positive, a purchaser that is not a known account, or a voucher_id
            listed twice with different content (identical copies are one voucher).
   grain: one row per rejected catalog row
   parameters: $voucher_catalog_purchase_channel_values, $id_pattern
   inputs: raw_voucher_catalog, raw_accounts
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with catalog as (
    select
        *,
        count(distinct(
            product_config, face_value, purchased_by, purchase_channel, discounted,
            max_transfers, valid_from, valid_to, purchased_at
        )) over (partition by voucher_id) as versions
    from raw_voucher_catalog
),

accounts as (
    select distinct account_id from raw_accounts
),

checked as (
    select
        catalog.source_file,
        catalog.file_row_number,
        'voucher_id=' || coalesce(catalog.voucher_id, '(null)') as row_key,
        case
            when catalog.voucher_id is null then 'voucher_id is null'
            when not regexp_full_match(catalog.voucher_id, $id_pattern) then 'voucher_id does not match the id pattern'
            when catalog.purchased_by is null then 'purchased_by is null'
            when catalog.face_value is null then 'face_value is null'
            when catalog.valid_from is null or catalog.valid_to is null
                then 'valid_from or valid_to is null'
            when catalog.purchased_at is null then 'purchased_at is null'
            when utc_timestamp(catalog.purchased_at) is null then 'purchased_at is not a timestamp'
            when catalog.max_transfers is null then 'max_transfers is null'
            when
                catalog.purchase_channel is null
                or not list_contains(
                    $voucher_catalog_purchase_channel_values, catalog.purchase_channel
                )
                then 'purchase_channel is not one of official, tmall, special'
            when catalog.max_transfers not between 0 and 2 then 'max_transfers is not 0, 1 or 2'
            when catalog.valid_to < catalog.valid_from then 'valid_to is before valid_from'
            when catalog.face_value <= 0 then 'face_value is not positive'
            when accounts.account_id is null then 'purchased_by is not a known account'
            when catalog.versions > 1 then 'voucher_id listed twice with different content'
        end as broken_rule
    from catalog
    left join accounts on catalog.purchased_by = accounts.account_id
)

select * from checked
where broken_rule is not null
