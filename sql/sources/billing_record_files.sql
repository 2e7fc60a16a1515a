/* billing_record_files
   kind: source
   materialized: view
   purpose: which records each account was delivered, in every billing cycle up to the
            settled month (not only the cycles scanned this run): the index a linked line's
            original_record_id is looked up in (int_linked_lines). Created as the view
            raw_billing_records; only three columns are read, and only for the records
            that are named, so it costs a narrow scan (docs/performance.md).
   grain: one row per line of a billing file
   parameters: none (__files__ and __columns__ are rendered from the discovered files and
               the input contract by sql_runner.create_source: views cannot bind)
   inputs: the Parquet files under billing/billing_cycle=YYYY-MM/ of every cycle up to
           the settled month */
select __columns__
from read_parquet(__files__, union_by_name = true)
