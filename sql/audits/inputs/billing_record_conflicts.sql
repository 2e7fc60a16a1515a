/* billing_record_conflicts
   kind: audit
   purpose: a record_id delivered more than once within a billing cycle must carry the same
            content every time (identical copies are one line; see int_billing_surplus_copies).
            Every copy of a conflicting record is rejected: we cannot know which one is right.
            Copies are compared by value, not by physical type: 12.3 as DOUBLE and 12.3000 as
            DECIMAL are one amount, '2025-03-04' as text and as DATE one date.
   grain: one row per rejected copy
   parameters: none
   inputs: raw_billing_repeats (the copies of repeated records only)
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with versions as (
    select
        billing_cycle,
        record_id
    from raw_billing_repeats
    group by
        billing_cycle, record_id, account_id, try_cast(billing_date as date), product_code,
        product_name, subscription_type, item,
        try_cast(pretax_gross_amount as decimal(38, 10)), try_cast(pretax_amount as decimal(38, 10)),
        try_cast(deducted_by_coupons as decimal(38, 10)),
        try_cast(deducted_by_cash_coupons as decimal(38, 10)),
        try_cast(deducted_by_prepaid_card as decimal(38, 10)),
        try_cast(cash_amount as decimal(38, 10)), currency
),

conflicting as (
    select
        billing_cycle,
        record_id
    from versions
    group by billing_cycle, record_id
    having count(*) > 1
)

select
    copies.source_file,
    copies.file_row_number,
    'record_id=' || copies.record_id as row_key,
    'record_id delivered twice with different content' as broken_rule
from raw_billing_repeats as copies
semi join conflicting
    on
        copies.billing_cycle = conflicting.billing_cycle
        and copies.record_id = conflicting.record_id
