/* eligible_products_csv
   kind: source
   materialized: table
   purpose: the eligible-products reference file (config/eligible_products.csv or
            --eligible-products), read with the contract's column types. Created as the
            table raw_eligible_products (read once: a CSV error surfaces at registration).
   grain: one row per line of the file
   parameters: none (__files__ and __columns__ are rendered by sql_runner.create_source)
   inputs: the eligible-products CSV file */
select *
from read_csv(__files__, header = true, auto_detect = false, columns = __columns__)
