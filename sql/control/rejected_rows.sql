/* rejected_rows
   kind: script
   purpose: the control relation rejected_rows: every input row an audit rejected, with the
            audit, the file and row, the row's key and the rule it broke. The input edge
            fills it from sql/audits/inputs/; it is written to the quarantine, and the
            accepted-row models leave its rows out.
   grain: one row per (audit, source_file, file_row_number)
   parameters: none
   inputs: none */
create or replace temp table rejected_rows (
    audit varchar,
    source_file varchar,
    file_row_number bigint,
    row_key varchar,
    broken_rule varchar
)
