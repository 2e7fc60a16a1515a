/* ledger_data_dir
   kind: query
   purpose: the data directory a ledger reads its months from: the one its newest month
            was settled from, or, before any month, the one its deliberate start recorded
            (transforms/pipeline/ledger_start.py; docs/operations.md#starting-a-ledger).
   grain: one row (data_dir null for a new, unstarted ledger)
   parameters: none
   inputs: warehouse.settlements, warehouse.ledger_start */
select
    coalesce(
        (
            select data_dir from warehouse.settlements
            where data_dir is not null
            order by settlement_month desc
            limit 1
        ),
        (select min(data_dir) from warehouse.ledger_start)  -- at most one row
    ) as data_dir
