/* export_statements
   kind: query
   purpose: the Statements sheet of `creditflow export`: per referrer and friend, what the
            month changed and what that referrer was actually paid for that friend, for
            every friend with money at stake. A friend taken over by another referrer's
            earlier listing is on both statements: the old referrer keeps what it was paid
            (its row, duplicate_referee, no delta), the new winner's row starts from 0
            (docs/rules.md#5-who-qualifies).
   grain: one row per (referrer_account_id, referee_account_id): the winning listings, and
          any other listing whose referrer was paid for the friend
   parameters: $settlement_month
   inputs: warehouse.referee_status, warehouse.ledger_entries */
with paid as (
    select
        referrer_account_id,
        referee_account_id,
        coalesce(sum(amount_usd) filter (where settlement_month < $settlement_month), 0)
            as paid_before_usd,
        sum(amount_usd) as paid_to_date_usd
    from warehouse.ledger_entries
    where settlement_month <= $settlement_month
    group by referrer_account_id, referee_account_id
),

listings as (
    select
        status.*,
        coalesce(paid.paid_before_usd, 0) as paid_before_usd,
        coalesce(paid.paid_to_date_usd, 0) as paid_to_date_usd
    from warehouse.referee_status as status
    left join paid
        on
            status.referrer_account_id = paid.referrer_account_id
            and status.referee_account_id = paid.referee_account_id
    where status.settlement_month = $settlement_month
)

select
    referrer_account_id,
    referee_account_id,
    reason_code,
    base_status,
    bonus_status,
    qualified_date,
    eligible_spend_to_date_usd,
    bonus_window_spend_usd,
    paid_before_usd as credited_before_usd,
    delta_base_usd,
    delta_bonus_usd,
    delta_usd,
    paid_to_date_usd as credited_to_date_usd,
    -- all referrers: differs from credited_to_date_usd only for a friend taken over
    case when is_winning_listing then credited_to_date_usd end as friend_credited_to_date_usd
from listings
where
    (
        is_winning_listing
        and (
            delta_usd <> 0
            or credited_to_date_usd <> 0
            or coalesce(pending_base_usd + pending_bonus_usd, 0) <> 0
        )
    )
    or (not is_winning_listing and paid_to_date_usd <> 0)
order by referrer_account_id, referee_account_id
