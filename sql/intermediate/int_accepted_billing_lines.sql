/* int_accepted_billing_lines
   kind: model
   materialized: view
   purpose: the bill lines the settlement counts: not rejected by the input audits (they
            are in the quarantine) and not a surplus copy of a record delivered twice
            (int_billing_surplus_copies).
   grain: one row per (billing_cycle, record_id)
   parameters: none (a view, read with only the columns a model needs)
   inputs: stg_billing_lines, rejected_rows (control), int_billing_surplus_copies
   Both left-out sets are small, so they are anti-joins on (file, row) rather than a
   DISTINCT over every line. */
with lines as (
    select * from stg_billing_lines
),

final as (
    select * from lines
    where
        not exists (
            select 1 from rejected_rows
            where
                rejected_rows.source_file = lines.source_file
                and rejected_rows.file_row_number = lines.file_row_number
        )
        and not exists (
            select 1 from int_billing_surplus_copies as surplus
            where
                surplus.source_file = lines.source_file
                and surplus.file_row_number = lines.file_row_number
        )
)

select * from final
