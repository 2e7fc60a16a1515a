/* rejected_rows_by_rule
   kind: query
   purpose: the one-line-per-rule summary of a run's rejected rows (the exit 3 message).
   grain: one row per (audit, source_file, broken_rule)
   parameters: none
   inputs: rejected_rows (control) */
select
    audit,
    source_file,
    broken_rule,
    count(*) as rejected_count,
    min(row_key) as example_row_key
from rejected_rows
group by all
order by all
