/* audit: a record_id delivered more than once must carry the same content every time
   (identical copies are one line; see stg_billing_lines). Every copy of a conflicting
   record is rejected: we cannot know which one is right.
   The conflicting ids are found with a grouped aggregate first (cheap, and they are
   rare), then only their copies are listed.
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with versions as (
    select
        record_id,
        account_id,
        billing_date,
        product_code,
        subscription_type,
        item,
        cash_amount,
        currency
    from raw_billing_lines
    where record_id is not null
    group by all
),

conflicting as (
    select record_id
    from versions
    group by record_id
    having count(*) > 1
)

select
    lines.source_file,
    lines.file_row_number,
    'record_id=' || lines.record_id as row_key,
    'record_id delivered twice with different content' as broken_rule
from raw_billing_lines as lines
inner join conflicting on lines.record_id = conflicting.record_id
