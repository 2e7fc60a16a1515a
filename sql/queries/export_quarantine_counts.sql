/* export_quarantine_counts
   kind: query
   purpose: the second half of the Rejections sheet of `creditflow export`: the month's
            quarantined input rows by audit and rule.
   grain: one row per (audit, broken_rule)
   parameters: $quarantine_file
   inputs: none (the month's quarantine Parquet file) */
select
    audit as what,
    broken_rule as reason,
    count(*) as row_count
from read_parquet($quarantine_file)
group by audit, broken_rule
order by audit, broken_rule
