/* shard_billing_layout
   kind: query
   purpose: one billing file's lines as the shard layout stores them (--executor dask,
            transforms/pipeline/shard_layout.py): the columns the sharded models read, where
            each line came from, and its bucket (sql/macros/shards.sql). Every
            line of an account lands in the same bucket in every file, so a shard that
            reads some buckets holds all the lines of its accounts and none of the others.
   grain: one row per line of the file (source_file, file_row_number)
   parameters: $shard_buckets, $source_file (the file's name as the coordinator's own
               relations record it: rejected rows and surplus copies are matched on it,
               while the worker may reach the file by another path)
   inputs: raw_billing_lines
   The values stay as delivered: the shard stages them with the same models as the
   coordinator. */
select
    -- the contract's columns marked sharded (raw_billing_lines is created with just those),
    -- the cycle and the row number
    * exclude (source_file),
    $source_file as source_file,
    shard_bucket(account_id, $shard_buckets) as bucket
from raw_billing_lines
