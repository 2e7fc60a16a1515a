/* int_linked_lines
   kind: model
   purpose: every line that names an original record, resolved: the billing_date of the
            line it names, when that is a delivered line of the same account.
   grain: one row per (billing_cycle, record_id) of int_cycle_linked_lines
   parameters: none
   inputs: int_cycle_linked_lines, raw_billing_records
   Rule 1 (effective date): a linked line counts on its original's billing_date, so a
   refund lowers exactly the windows its purchase counted in, whenever it arrives. The
   original is looked up among the delivered lines of the same account in every cycle up
   to the settled month, whether or not an input audit rejected it (a rejected purchase
   still says when the money was spent). A line whose original_record_id names no such
   line is unlinked (original_billing_date null) and counts like a line without one.
   Decisions: record ids are unique within a cycle only, so when an account was
   delivered the same id in several cycles, the earliest billing_date is the original's;
   a delivered original whose billing_date is not a date cannot be placed and leaves the
   line unlinked. */
with linked as (
    select * from int_cycle_linked_lines
),

named_record_ids as (
    select distinct original_record_id as record_id
    from linked
),

candidates as (
    -- the record id alone first: a one-column probe over every cycle's lines is about
    -- half the cost of probing (account, record) directly (docs/performance.md)
    select records.*
    from raw_billing_records as records
    semi join named_record_ids on records.record_id = named_record_ids.record_id
),

originals as (
    select
        candidates.account_id,
        candidates.record_id,
        min(try_cast(candidates.billing_date as date)) as original_billing_date
    from candidates
    semi join linked
        on
            candidates.account_id = linked.account_id
            and candidates.record_id = linked.original_record_id
    group by candidates.account_id, candidates.record_id
),

final as (
    select
        linked.billing_cycle,
        linked.record_id,
        linked.account_id,
        linked.billing_date,
        linked.original_record_id,
        originals.original_billing_date,
        linked.product_code,
        linked.subscription_type,
        linked.cash_amount_usd
    from linked
    left join originals
        on
            linked.account_id = originals.account_id
            and linked.original_record_id = originals.record_id
)

select * from final
