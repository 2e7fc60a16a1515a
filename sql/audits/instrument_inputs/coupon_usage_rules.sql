/* coupon_usage_rules
   kind: audit
   purpose: a coupon usage the ledger cannot judge is rejected: a null key, an unknown
            instrument_kind, a referral coupon's coupon_month that is not YYYY-MM, a
            used_amount or order_amount that is not positive or not whole cents, or a using
            account that is not known. A welcome reward's usage names no coupon_month.
   grain: one row per rejected usage row
   parameters: $coupon_usage_instrument_kind_values, $id_pattern
   inputs: raw_coupon_usage, raw_accounts
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with accounts as (
    select distinct account_id from raw_accounts
),

checked as (
    select
        usage.source_file,
        usage.file_row_number,
        'usage_id=' || coalesce(usage.usage_id, '(null)') as row_key,
        case
            when usage.usage_id is null then 'usage_id is null'
            when not regexp_full_match(usage.usage_id, $id_pattern) then 'usage_id does not match the id pattern'
            when usage.account_id is null then 'account_id is null'
            when usage.used_at is null then 'used_at is null'
            when utc_timestamp(usage.used_at) is null then 'used_at is not a timestamp'
            when usage.used_amount is null then 'used_amount is null'
            when
                usage.instrument_kind is not null
                and not list_contains($coupon_usage_instrument_kind_values, usage.instrument_kind)
                then
                    'instrument_kind is not one of '
                    || array_to_string($coupon_usage_instrument_kind_values, ', ')
            when
                coalesce(usage.instrument_kind, 'referral_coupon') = 'referral_coupon'
                and (
                    usage.coupon_month is null
                    or not regexp_full_match(usage.coupon_month, '[0-9]{4}-(0[1-9]|1[0-2])')
                )
                then 'coupon_month is not YYYY-MM'
            when usage.used_amount <= 0 then 'used_amount is not positive'
            -- checked on the delivered value, before staging types it to cents
            when usage.used_amount <> round(usage.used_amount, 2)
                then 'used_amount is not a whole number of cents'
            -- optional: read as text when no file holds it, so compared through one type
            when cast(usage.order_amount as decimal(38, 6)) <= 0
                then 'order_amount is not positive'
            when
                cast(usage.order_amount as decimal(38, 6))
                <> round(cast(usage.order_amount as decimal(38, 6)), 2)
                then 'order_amount is not a whole number of cents'
            when accounts.account_id is null then 'account_id is not a known account'
        end as broken_rule
    from raw_coupon_usage as usage
    left join accounts on usage.account_id = accounts.account_id
)

select * from checked
where broken_rule is not null
