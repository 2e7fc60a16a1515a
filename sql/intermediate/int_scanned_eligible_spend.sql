/* int_scanned_eligible_spend
   kind: model
   purpose: eligible cash of the ordinary lines (no original_record_id) per referee account
            and day, and the part of it that is refunds, aggregated from the bill lines of
            the cycles scanned this run. Lines that name an original record are kept one
            by one instead (int_scanned_linked_lines): where they count depends on the
            line they name. With --executor dask this model runs on the workers, one shard
            of referee accounts each (transforms/pipeline/shards.py), and the coordinator
            takes the union of their rows: every account's lines are in one shard, so the
            rows are the same for any number of shards.
   grain: one row per (billing_cycle, account_id, billing_date)
   parameters: $from_cycle, $to_cycle (the scanned cycles it aggregates). A local run creates
               it once per scanned cycle (from = to) and gathers the rows: a cycle's
               account-days are its own (the cycle is the month of billing_date), and one
               cycle's hash table fits in memory where all of them did not (at 100M lines,
               37M lines grouped into 28M rows in one pass spilled 3 GB to disk:
               docs/performance.md). A shard runs it once over all of its scanned cycles.
   inputs: int_referee_accounts, stg_eligible_products, int_accepted_billing_lines
   Rule 1 (eligible spend), the part that needs no referral: only lines of an eligible
   (product_code, subscription_type) on the line's billing_date count, measured by
   cash_amount (an ordinary refund on its own date; coupons, vouchers and prepaid cards
   never count). unlinked_refund_cash_usd keeps the negative lines apart: rule 2 also
   counts them against a window that ended before they were billed. Days before the
   account's first registration never count for any of its listings, so they are not
   kept; the exact window of the winning listing is applied in int_referee_daily_spend.
   (A listing delivered late with an earlier registration makes the next run rescan from
   its month: sql/queries/earliest_uncached_referee.sql.) */
with referee_accounts as (
    select * from int_referee_accounts
),

eligible_products as (
    select * from stg_eligible_products
),

lines as (
    -- only the columns the rule reads: the view is scanned once, joined first
    select
        account_id,
        billing_date,
        product_code,
        subscription_type,
        cash_amount_usd
    from int_accepted_billing_lines as accepted
    semi join referee_accounts
        on
            accepted.account_id = referee_accounts.account_id
            and accepted.billing_date >= referee_accounts.first_registered_date
    -- ordinary lines only: a line naming an original is a row of int_scanned_linked_lines
    where
        accepted.original_record_id is null
        and accepted.billing_cycle between $from_cycle and $to_cycle
),

eligible_lines as (
    select lines.*
    from lines
    where exists (
        select 1
        from eligible_products
        where is_eligible_on(
            lines.product_code,
            lines.subscription_type,
            lines.billing_date,
            eligible_products.product_code,
            eligible_products.subscription_type,
            eligible_products.effective_from_date,
            eligible_products.effective_to_date
        )
    )
),

final as (
    -- the cycle is the month of billing_date (billing_required_values rejects a line
    -- dated outside its cycle folder), so it is derived after the aggregate rather than
    -- carried as a third group key: one key fewer over every referee line (~10 % of
    -- this model's time at 100M lines, docs/performance.md)
    select
        strftime(billing_date, '%Y-%m') as billing_cycle,
        account_id,
        billing_date,
        cast(sum(cash_amount_usd) as decimal(38, 4)) as eligible_cash_usd,
        cast(coalesce(sum(cash_amount_usd) filter (where cash_amount_usd < 0), 0) as decimal(38, 4))
            as unlinked_refund_cash_usd
    from eligible_lines
    group by account_id, billing_date
)

select * from final
