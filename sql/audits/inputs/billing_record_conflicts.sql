/* audit: a record_id delivered more than once must carry the same content every time
   (identical copies are one line; see stg_billing_lines). Every copy of a conflicting
   record is rejected: we cannot know which one is right.
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with lines as (
    select
        source_file,
        file_row_number,
        record_id,
        count(
            distinct(account_id, billing_date, product_code, subscription_type, item, cash_amount, currency)
        ) over (partition by record_id) as versions
    from raw_billing_lines
    where record_id is not null
)

select
    source_file,
    file_row_number,
    'record_id=' || record_id as row_key,
    'record_id delivered twice with different content' as broken_rule
from lines
where versions > 1
