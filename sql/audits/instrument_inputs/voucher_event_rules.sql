/* voucher_event_rules
   kind: audit
   purpose: a voucher event the ledger cannot judge is rejected: a null key, an event_type
            the contract does not know, or an actor that is not a known account. (A
            transfer to an unknown account is a rule of the lifecycle, not of the input: it
            is listed as rejected unknown_recipient.)
   grain: one row per rejected event row
   parameters: $voucher_events_event_type_values, $id_pattern
   inputs: raw_voucher_events, raw_accounts
   returns: source_file, file_row_number, row_key, broken_rule (zero rows = pass) */
with accounts as (
    select distinct account_id from raw_accounts
),

checked as (
    select
        events.source_file,
        events.file_row_number,
        'event_id=' || coalesce(events.event_id, '(null)') as row_key,
        case
            when events.event_id is null then 'event_id is null'
            when not regexp_full_match(events.event_id, $id_pattern) then 'event_id does not match the id pattern'
            when events.voucher_id is null then 'voucher_id is null'
            when events.actor_account_id is null then 'actor_account_id is null'
            when events.occurred_at is null then 'occurred_at is null'
            when utc_timestamp(events.occurred_at) is null then 'occurred_at is not a timestamp'
            when
                events.event_type is null
                or not list_contains($voucher_events_event_type_values, events.event_type)
                then 'event_type is not one of transfer, redeem, refund_request'
            when accounts.account_id is null then 'actor_account_id is not a known account'
        end as broken_rule
    from raw_voucher_events as events
    left join accounts on events.actor_account_id = accounts.account_id
)

select * from checked
where broken_rule is not null
