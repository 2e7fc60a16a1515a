/* explain_bill_lines
   kind: query
   purpose: the bill lines behind each explained referee's two spend measures, one by one:
            the line-grain twin of int_cycle_eligible_spend, int_cycle_linked_lines,
            int_linked_lines, int_referee_daily_spend and int_referee_windows, for
            `creditflow explain` (transforms/pipeline/explain.py). Summing cash_amount_usd
            over the lines that count in the bonus window gives bonus_window_spend_usd (S),
            over the qualification window eligible_spend_to_date_usd (P at E); explain checks both against the published
            referee_status and refuses to print lines that do not reconcile.
   grain: one row per (referee_account_id, billing_cycle, record_id) of the referee's
          accepted lines up to the month: those that count in a window, and those that do
          not with the first rule that left each out (excluded_by): before_registration
          (billed before R), after_finality (billed after min(C, F), seen by no window),
          not_cash (cash_amount 0: paid by cash coupons or free), ineligible_product (not
          eligible on its effective date), outside_the_window (its effective date outside
          the window, and not an unlinked refund after it)
   parameters: none
   inputs: explain_referees (control), int_accepted_billing_lines, raw_billing_records,
           stg_eligible_products
   explain_referees holds each referee's winning listing as published: registered_date R,
   window_end_date (the qualification window's last day), bonus_window_end_date (the bonus
   window's last day), visible_to_date min(cutoff, F).
   Rule 1: a line billed R..visible_to_date counts on its effective date (its own
   billing_date, or its original's for a line naming a delivered line of the same account;
   the earliest when the id was delivered more than once), when its product and
   subscription type are eligible on that date. It is placed when the effective date lies
   in R..min(window_end_date, visible_to_date).
   Rule 2: an unlinked negative line (no original, or one not delivered) billed after the
   window's end counts against it; counts_in_qualification_window holds the placed lines and
   those refunds.
   Rule 3: counts_in_bonus_window holds the lines placed in R..bonus_window_end_date and the
   unlinked refunds billed after it (S). */
with referees as (
    select * from explain_referees
),

lines as (
    select
        referees.referee_account_id,
        referees.registered_date,
        referees.window_end_date,
        referees.bonus_window_end_date,
        referees.visible_to_date,
        accepted.billing_cycle,
        accepted.record_id,
        accepted.billing_date,
        accepted.original_record_id,
        accepted.product_code,
        accepted.subscription_type,
        accepted.cash_amount_usd
    from int_accepted_billing_lines as accepted
    inner join referees
        on accepted.account_id = referees.referee_account_id
),

originals as (
    select
        records.account_id,
        records.record_id,
        min(try_cast(records.billing_date as date)) as original_billing_date
    from raw_billing_records as records
    semi join lines
        on
            records.account_id = lines.referee_account_id
            and records.record_id = lines.original_record_id
    group by records.account_id, records.record_id
),

resolved as (
    select
        lines.*,
        originals.original_billing_date,
        coalesce(originals.original_billing_date, lines.billing_date) as effective_date,
        originals.original_billing_date is not null as is_linked
    from lines
    left join originals
        on
            lines.referee_account_id = originals.account_id
            and lines.original_record_id = originals.record_id
),

eligible as (
    select
        resolved.*,
        resolved.billing_date between resolved.registered_date and resolved.visible_to_date
            as is_visible,
        exists(
            select 1
            from stg_eligible_products as products
            where is_eligible_on(
                resolved.product_code,
                resolved.subscription_type,
                resolved.effective_date,
                products.product_code,
                products.subscription_type,
                products.effective_from_date,
                products.effective_to_date
            )
        ) as is_eligible
    from resolved
),

classified as (
    select
        *,
        is_visible
        and is_eligible
        -- a line paid by cash coupons (or free) adds nothing: shown as not_cash
        and cash_amount_usd <> 0
        and effective_date between registered_date and least(window_end_date, visible_to_date)
            as is_placed,
        is_visible and is_eligible and not is_linked and cash_amount_usd < 0
            as is_unlinked_refund
    from eligible
),

final as (
    select
        referee_account_id,
        billing_cycle,
        record_id,
        billing_date,
        effective_date,
        product_code,
        subscription_type,
        cash_amount_usd,
        original_record_id,
        original_billing_date,
        (is_placed and effective_date <= bonus_window_end_date)
        or (is_unlinked_refund and billing_date > bonus_window_end_date) as counts_in_bonus_window,
        is_placed or (is_unlinked_refund and billing_date > window_end_date) as counts_in_qualification_window,
        case
            when billing_date < registered_date then 'before_registration'
            when billing_date > visible_to_date then 'after_finality'
            when cash_amount_usd = 0 then 'not_cash'
            when not is_eligible then 'ineligible_product'
        end as excluded_before_windows
    from classified
)

select
    * exclude (excluded_before_windows),
    case
        when counts_in_bonus_window or counts_in_qualification_window then null
        else coalesce(excluded_before_windows, 'outside_the_window')
    end as excluded_by
from final
order by referee_account_id, effective_date, billing_date, record_id
