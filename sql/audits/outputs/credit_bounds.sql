/* credit_bounds
   kind: audit
   purpose: the entitlement and credited to date stay within 0..cap for every referee, and
            the ledger after this month sums to what referee_status says is credited.
   grain: one row per offending referee
   parameters: $cap_per_referee_usd, $settlement_month
   inputs: referee_status, ledger_entries, warehouse.ledger_entries
   returns: offending referees (zero rows = pass) */
with status as (
    select
        referee_account_id,
        entitlement_usd,
        credited_to_date_usd
    from referee_status
    where is_winning_listing
),

ledger_to_date as (
    select
        referee_account_id,
        sum(amount_usd) as ledger_total_usd
    from (
        select
            referee_account_id,
            amount_usd
        from warehouse.ledger_entries
        where settlement_month < $settlement_month
        union all
        select
            referee_account_id,
            amount_usd
        from ledger_entries
    ) as published_and_new
    group by referee_account_id
),

checked as (
    select
        coalesce(status.referee_account_id, ledger_to_date.referee_account_id) as referee_account_id,
        status.entitlement_usd,
        status.credited_to_date_usd,
        ledger_to_date.ledger_total_usd
    from status
    full outer join ledger_to_date on status.referee_account_id = ledger_to_date.referee_account_id
)

select * from checked
where
    coalesce(credited_to_date_usd, 0) <> coalesce(ledger_total_usd, 0)
    or credited_to_date_usd < 0
    or credited_to_date_usd > to_cents($cap_per_referee_usd)
    or entitlement_usd < 0
    or entitlement_usd > to_cents($cap_per_referee_usd)
