/* billing_record_conflicts
   kind: audit
   purpose: a record_id delivered more than once within a billing cycle must carry the same
            content every time (identical copies are one line; see int_billing_surplus_copies).
            Every copy of a conflicting record is rejected: we cannot know which one is right.
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
        billing_cycle, record_id, account_id, billing_date, product_code, product_name,
        subscription_type, item, pretax_gross_amount, pretax_amount, deducted_by_coupons,
        deducted_by_cash_coupons, deducted_by_prepaid_card, cash_amount, currency
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
