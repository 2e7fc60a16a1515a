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
    -- an example short enough for one line, whatever the row holds (a 1 MB id)
    left(min(row_key), 120) as example_row_key
from rejected_rows
group by all
order by all
