/* int_linked_lines
   kind: model
   purpose: every line that names an original record, resolved: the billing_date of the
            line it names, when that is a delivered line of the same account.
   grain: one row per (billing_cycle, record_id) of int_cycle_linked_lines
   parameters: none (window_state_month says whether last month's originals are kept)
   inputs: int_cycle_linked_lines, raw_billing_records, raw_billing_lines,
           warehouse.linked_original_dates, window_state_month (control)
   Rule 1 (effective date): a linked line counts on its original's billing_date, so a
   refund lowers exactly the windows its purchase counted in, whenever it arrives. The
   original is looked up among the delivered lines of the same account in every cycle up
   to the settled month, whether or not an input audit rejected it (a rejected purchase
   still says when the money was spent). A line whose original_record_id names no such
   line is unlinked (original_billing_date null) and counts like a line without one.
   Decisions: record ids are unique within a cycle only, so when an account was
   delivered the same id in several cycles, the earliest billing_date is the original's;
   a delivered original whose billing_date is not a date cannot be placed and leaves the
   line unlinked.
   Incremental (docs/performance.md#incremental): the earliest date over every cycle is
   the earlier of the earliest over the cycles kept and the earliest over the cycles
   scanned. When this month advances last month's state (window_state_month: only this
   month's cycle scanned, every earlier cycle unchanged since last month), a record last
   month looked up (warehouse.linked_original_dates, found or not) is looked up in this
   month's lines only; a record named for the first time is looked up in every cycle. */
with linked as (
    select * from int_cycle_linked_lines
),

named as (
    select distinct
        account_id,
        original_record_id as record_id
    from linked
),

kept as (
    select
        account_id,
        record_id,
        original_billing_date
    from warehouse.linked_original_dates
    where settlement_month in (select settlement_month from window_state_month)
),

named_kept as (
    select
        named.account_id,
        named.record_id,
        kept.original_billing_date as kept_billing_date,
        kept.record_id is not null as is_kept
    from named
    left join kept
        on
            named.account_id = kept.account_id
            and named.record_id = kept.record_id
),

known as (
    select
        account_id,
        record_id
    from named_kept
    where is_kept
),

unknown as (
    select
        account_id,
        record_id
    from named_kept
    where not is_kept
),

unknown_record_ids as (
    select distinct record_id
    from unknown
),

candidates as (
    -- the record id alone first: a one-column probe over every cycle's lines is about
    -- half the cost of probing (account, record) directly (docs/performance.md)
    select records.*
    from raw_billing_records as records
    semi join unknown_record_ids on records.record_id = unknown_record_ids.record_id
),

searched as (
    -- the records looked up before in the scanned cycles' lines, the rest in every cycle's
    select
        lines.account_id,
        lines.record_id,
        try_cast(lines.billing_date as date) as billing_date
    from raw_billing_lines as lines
    semi join known
        on
            lines.account_id = known.account_id
            and lines.record_id = known.record_id
    union all
    select
        candidates.account_id,
        candidates.record_id,
        try_cast(candidates.billing_date as date) as billing_date
    from candidates
    semi join unknown
        on
            candidates.account_id = unknown.account_id
            and candidates.record_id = unknown.record_id
),

found as (
    select
        account_id,
        record_id,
        min(billing_date) as found_billing_date
    from searched
    group by account_id, record_id
),

originals as (
    select
        named_kept.account_id,
        named_kept.record_id,
        -- least() passes over a null: a record not found before may be delivered now, and
        -- a record named for the first time has no kept date
        least(named_kept.kept_billing_date, found.found_billing_date) as original_billing_date
    from named_kept
    left join found
        on
            named_kept.account_id = found.account_id
            and named_kept.record_id = found.record_id
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
