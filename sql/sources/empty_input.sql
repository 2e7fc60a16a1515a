/* empty_input
   kind: source
   materialized: view
   purpose: an optional input delivered with no file at all this month (voucher events,
            coupon usage, the voucher catalog): the relation raw_<input> with the contract's
            columns, typed, and no rows, so that the models read it like any snapshot.
   grain: none (no rows)
   parameters: none (__columns__ is rendered from the input contract by
               sql_runner.create_source: views cannot bind)
   inputs: none */
select
    __columns__,
    cast(null as varchar) as source_file,
    cast(null as bigint) as file_row_number
where false
