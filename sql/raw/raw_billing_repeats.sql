/* raw_billing_repeats
   purpose: every copy of a bill record delivered more than once: the only lines the
            record rules (identical copies are one line; differing copies are rejected)
            have to look at. Built before the input audits, over the scanned cycles.
   grain: one row per bill line (source_file, file_row_number) whose (billing_cycle,
          record_id) occurs more than once
   kind: model
   parameters: none (reads raw_billing_repeated_hashes, usually empty: then no line is read)
   inputs: raw_billing_lines, raw_billing_repeated_hashes
   Copies of one record have one billing_date, and a line's date must fall inside its
   cycle folder, so a record's copies all sit in one cycle: records are matched within a
   cycle, which keeps the search to one cycle's ids at a time and makes a full and an
   incremental run judge the same copies. */
with candidates as (
    -- lines whose id hash repeats in their cycle: the repeated records, plus the rare
    -- lines that only share a hash with another id
    select lines.*
    from raw_billing_lines as lines
    semi join raw_billing_repeated_hashes as repeated
        on
            lines.billing_cycle = repeated.billing_cycle
            and hash(lines.record_id) = repeated.record_hash
),

repeated_ids as (
    select
        billing_cycle,
        record_id
    from candidates
    group by billing_cycle, record_id
    having count(*) > 1
)

select candidates.*
from candidates
semi join repeated_ids
    on
        candidates.billing_cycle = repeated_ids.billing_cycle
        and candidates.record_id = repeated_ids.record_id
