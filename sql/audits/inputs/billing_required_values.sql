/* billing_required_values
   kind: audit
   purpose: every bill line has its keys (matching the id pattern), a date inside its billing_cycle folder, a
            subscription_type and item the contract knows, the rules' currency, and amounts
            that are numbers within the bound.
   grain: one row per rejected bill line
   parameters: $max_abs_line_amount_usd, $currency, $billing_lines_subscription_type_values,
               $billing_lines_item_values, $id_pattern
   inputs: raw_billing_lines
   returns: source_file, file_row_number, row_key, broken_rule per offending line
            (zero rows = pass); rejected lines go to the quarantine */
with lines as (
    select
        source_file,
        file_row_number,
        record_id,
        account_id,
        original_record_id,
        billing_date,
        billing_cycle,
        subscription_type,
        item,
        cash_amount,
        pretax_gross_amount,
        pretax_amount,
        deducted_by_coupons,
        deducted_by_cash_coupons,
        deducted_by_prepaid_card,
        currency
    from raw_billing_lines
),

checked as (
    select
        source_file,
        file_row_number,
        'record_id=' || coalesce(record_id, '(null)') as row_key,
        case
            when record_id is null then 'record_id is null'
            when account_id is null then 'account_id is null'
            -- the id contract (docs/data-contract.md#ids): no stray spaces, no empty or
            -- huge ids, nothing a spreadsheet would evaluate
            when not regexp_full_match(record_id, $id_pattern) then 'record_id does not match the id pattern'
            when not regexp_full_match(account_id, $id_pattern) then 'account_id does not match the id pattern'
            when not regexp_full_match(original_record_id, $id_pattern)
                then 'original_record_id does not match the id pattern'
            when billing_date is null then 'billing_date is null'
            when try_cast(billing_date as date) is null then 'billing_date is not a date'
            -- (a date comparison: formatting every date as text costs more than the scan)
            when date_trunc('month', try_cast(billing_date as date)) <> cast(billing_cycle || '-01' as date)
                then 'billing_date outside its billing_cycle folder'
            when
                subscription_type is null
                or not list_contains($billing_lines_subscription_type_values, subscription_type)
                then 'unknown subscription_type'
            when item is null or not list_contains($billing_lines_item_values, item)
                then 'unknown item'
            when coalesce(currency, '') <> $currency then 'currency is not ' || $currency
            when cash_amount is null then 'cash_amount is null'
            when try_cast(cash_amount as decimal(18, 4)) is null then 'cash_amount is not a number'
            -- amounts are kept to four places and summed exactly: a finer amount would be
            -- rounded per line before the sum (two lines of 9.99995 would earn the base)
            when try_cast(cash_amount as decimal(38, 10)) <> try_cast(cash_amount as decimal(18, 4))
                then 'cash_amount has more than 4 decimal places'
            when abs(try_cast(cash_amount as decimal(18, 4))) > cast($max_abs_line_amount_usd as decimal(18, 4))
                then 'cash_amount beyond the configured bound (max_abs_line_amount_usd)'
            when
                (pretax_gross_amount is not null and try_cast(pretax_gross_amount as decimal(18, 4)) is null)
                or (pretax_amount is not null and try_cast(pretax_amount as decimal(18, 4)) is null)
                or (deducted_by_coupons is not null and try_cast(deducted_by_coupons as decimal(18, 4)) is null)
                or (
                    deducted_by_cash_coupons is not null
                    and try_cast(deducted_by_cash_coupons as decimal(18, 4)) is null
                )
                or (
                    deducted_by_prepaid_card is not null
                    and try_cast(deducted_by_prepaid_card as decimal(18, 4)) is null
                )
                then 'a pretax or deducted amount is not a number'
        end as broken_rule
    from lines
)

select * from checked
where broken_rule is not null
