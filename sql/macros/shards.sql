/* shards
   kind: macro
   purpose: the one definition of an account's shard bucket (--executor dask,
            transforms/pipeline/shard_layout.py): DuckDB's hash of the account id, modulo the
            number of buckets. The layout of the bill lines
            (sql/queries/shard_billing_layout.sql) and the coordinator's slices of the
            per-referee tables use it alike, so a shard's lines, state and referees are
            always the same accounts.
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none
   The hash is stable for one DuckDB version, which is part of the layout's key
   (shards.file_key): after an upgrade the files are laid out again. */
create or replace macro shard_bucket(account_id, buckets) as
hash(cast(account_id as varchar)) % buckets;
