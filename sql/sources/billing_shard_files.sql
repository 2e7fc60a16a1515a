/* billing_shard_files
   kind: source
   materialized: view
   purpose: one shard's bill lines (--executor dask): the layout parts of its buckets
            (sql/queries/shard_billing_layout.sql), with the columns the layout does not
            keep as typed nulls. Created as the view raw_billing_lines on a worker, so the
            staging and intermediate models read it as they read the delivered files.
   grain: one row per bill line (source_file, file_row_number)
   parameters: none (__files__ and __columns__ are rendered by sql_runner.create_source:
               views cannot bind)
   inputs: the Parquet parts under OUT/shards/billing/<file key>/bucket=<b>/ */
select
    __columns__,
    billing_cycle,
    source_file,
    file_row_number
from read_parquet(__files__, union_by_name = true)
