/* export_statements
   kind: query
   purpose: the Statements sheet of `creditflow export`: per referrer and referee, what
            the month changed and what is credited, for every friend with money at stake.
   grain: one row per (referrer_account_id, referee_account_id): the winning listings
   parameters: $settlement_month
   inputs: warehouse.referee_status */
select
    referrer_account_id,
    referee_account_id,
    reason_code,
    base_status,
    bonus_status,
    qualified_date,
    eligible_spend_to_date_usd,
    bonus_window_spend_usd,
    credited_before_usd,
    delta_base_usd,
    delta_bonus_usd,
    delta_usd,
    credited_to_date_usd
from warehouse.referee_status
where
    settlement_month = $settlement_month
    and is_winning_listing
    and (
        delta_usd <> 0
        or credited_to_date_usd <> 0
        or coalesce(pending_base_usd + pending_bonus_usd, 0) <> 0
    )
order by referrer_account_id, referee_account_id
