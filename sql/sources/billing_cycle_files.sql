/* billing_cycle_files
   kind: source
   materialized: view
   purpose: the bill lines of the billing cycles this run scans, as delivered: the
            contract's columns, the cycle folder they came from, and where each line came
            from. Created as the view raw_billing_lines.
   grain: one row per line of a billing file (source_file, file_row_number)
   parameters: none (__files__ and __columns__ are rendered from the discovered files and
               the input contract by sql_runner.create_source: views cannot bind)
   inputs: the Parquet files under billing/billing_cycle=YYYY-MM/ of the scanned cycles */
select
    __columns__,
    billing_cycle,
    filename as source_file,
    file_row_number
from read_parquet(
    __files__,
    filename = true,
    file_row_number = true,
    hive_partitioning = true,
    union_by_name = true,
    hive_types = { 'billing_cycle': varchar }
)
