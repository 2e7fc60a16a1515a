/* audit: every bill line has its keys, a date inside its billing_cycle folder, a known
   subscription_type and item, and is in USD.
   returns: source_file, row_key, broken_rule per offending line (zero rows = pass) */
with lines as (
    select
        source_file,
        record_id,
        account_id,
        billing_date,
        billing_cycle,
        subscription_type,
        item,
        cash_amount,
        currency
    from raw_billing_lines
),

checked as (
    select
        source_file,
        'record_id=' || coalesce(record_id, '(null)') as row_key,
        case
            when record_id is null then 'record_id is null'
            when account_id is null then 'account_id is null'
            when billing_date is null then 'billing_date is null'
            when cash_amount is null then 'cash_amount is null'
            when strftime(cast(billing_date as date), '%Y-%m') <> billing_cycle
                then 'billing_date outside its billing_cycle folder'
            when subscription_type not in ('Subscription', 'PayAsYouGo')
                then 'unknown subscription_type'
            when item not in ('SubscriptionOrder', 'PayAsYouGoBill', 'Refund', 'Adjustment')
                then 'unknown item'
            when coalesce(currency, '') <> 'USD' then 'currency is not USD'
        end as broken_rule
    from lines
)

select * from checked
where broken_rule is not null
