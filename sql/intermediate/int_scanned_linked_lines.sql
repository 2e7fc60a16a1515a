/* int_scanned_linked_lines
   kind: model
   purpose: the referee accounts' lines that name an original record (original_record_id),
            one by one, from the bill lines of the cycles scanned this run. Where such a
            line counts, and whether its product is eligible there, depends on the line
            it names, which may lie in any cycle, so they are resolved on every run
            (int_linked_lines). With --executor dask this model runs on the workers, one
            shard of referee accounts each (transforms/pipeline/shards.py).
   grain: one row per (billing_cycle, record_id)
   parameters: none
   inputs: int_referee_accounts, int_accepted_billing_lines
   A line billed before the account's first registration never counts (rule 1), whatever
   it names, so it is not kept. About 3 % of the lines are refunds or adjustments, so
   this is a small relation next to int_scanned_eligible_spend. */
with referee_accounts as (
    select * from int_referee_accounts
),

final as (
    select
        strftime(accepted.billing_date, '%Y-%m') as billing_cycle,
        accepted.record_id,
        accepted.account_id,
        accepted.billing_date,
        accepted.original_record_id,
        accepted.product_code,
        accepted.subscription_type,
        accepted.cash_amount_usd
    from int_accepted_billing_lines as accepted
    semi join referee_accounts
        on
            accepted.account_id = referee_accounts.account_id
            and accepted.billing_date >= referee_accounts.first_registered_date
    where accepted.original_record_id is not null
)

select * from final
