/* parquet_files
   kind: source
   materialized: view
   purpose: an input snapshot as delivered (referrals, accounts, the voucher catalog, voucher
            events, coupon usage): the contract's columns of every file, and where each row
            came from. Created as the view raw_<input> (transforms/contracts.py names it).
   grain: one row per row of an input file (source_file, file_row_number)
   parameters: none (__files__ and __columns__ are rendered from the discovered files and
               the input contract by sql_runner.create_source: views cannot bind)
   inputs: the input's Parquet files */
select
    __columns__,
    filename as source_file,
    file_row_number
from read_parquet(__files__, filename = true, file_row_number = true, union_by_name = true)
