/* int_billing_surplus_copies
   kind: model
   purpose: the extra copies of bill records delivered more than once with identical
            content. The record counts once: the first accepted copy (by file and row)
            stays, the others are left out of the settlement here. Not a rejection:
            nothing is wrong with a re-delivered record, so these are not quarantined.
   grain: one row per surplus bill line (source_file, file_row_number)
   parameters: none
   inputs: raw_billing_repeats, rejected_rows (control) */
with accepted_copies as (
    select
        billing_cycle,
        record_id,
        source_file,
        file_row_number
    from raw_billing_repeats
    where not exists (
        select 1 from rejected_rows
        where
            rejected_rows.source_file = raw_billing_repeats.source_file
            and rejected_rows.file_row_number = raw_billing_repeats.file_row_number
    )
),

ranked as (
    select
        source_file,
        file_row_number,
        row_number() over (
            partition by billing_cycle, record_id order by source_file, file_row_number
        ) as copy_number
    from accepted_copies
)

select
    source_file,
    file_row_number
from ranked
where copy_number > 1
