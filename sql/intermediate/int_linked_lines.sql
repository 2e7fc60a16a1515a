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

originals as (
    select
        records.account_id,
        records.record_id,
        min(try_cast(records.billing_date as date)) as original_billing_date
    from raw_billing_records as records
    semi join linked
        on
            records.account_id = linked.account_id
            and records.record_id = linked.original_record_id
    group by records.account_id, records.record_id
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
