/* scanned_cycles
   kind: script
   purpose: the control relation scanned_cycles: the billing cycles this run reads from
            their files, with the fingerprints they are scanned with (kept as the
            incremental state by update_incremental_state).
   grain: one row per scanned billing_cycle
   parameters: $cycles, $files_sha256, $eligible_products_sha256
   inputs: none */
create or replace temp table scanned_cycles as
select
    unnest($cycles) as billing_cycle,
    unnest($files_sha256) as files_sha256,
    $eligible_products_sha256 as eligible_products_sha256
