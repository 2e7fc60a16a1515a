/* audit: a record_id delivered more than once must carry the same content every time
   (identical copies are one line; see stg_billing_lines).
   returns: source_file, row_key, broken_rule per conflicting record_id (zero rows = pass) */
with copies as (
    select distinct
        record_id,
        account_id,
        billing_date,
        product_code,
        subscription_type,
        item,
        cash_amount,
        currency,
        source_file
    from raw_billing_lines
)

select
    string_agg(distinct source_file, ' + ' order by source_file) as source_file,
    'record_id=' || record_id as row_key,
    'record_id delivered twice with different content' as broken_rule
from copies
where record_id is not null
group by record_id
having count(distinct(account_id, billing_date, product_code, subscription_type, item, cash_amount, currency)) > 1
