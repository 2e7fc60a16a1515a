-- The floor: the least work DuckDB can do for the per-referee rule entitlement (rules 1-4)
-- over the same files: one pass over the bill lines, one hash join on account id, windows
-- as FILTER aggregates. No dedup, no audits, no identity rules, no ledger: a lower bound.
-- parameters: $billing_files, $referral_files, $cutoff_date
with eligible(product_code, subscription_type) as (
    select * from (values
        ('ecs', 'PayAsYouGo'), ('oss', '*'), ('nas', '*'), ('rds', 'PayAsYouGo'), ('mariadb', '*'),
        ('dds', '*'), ('kvstore', '*'), ('gpdb', 'PayAsYouGo'), ('drds', 'Subscription'),
        ('dts', 'Subscription'), ('ots', '*'), ('emr', '*'), ('odps', 'Subscription'), ('pai', '*'),
        ('quickbi', '*'), ('datav', '*'), ('imagesearch', '*'), ('green', '*'), ('sas', '*'),
        ('waf', '*'), ('cas', '*'), ('ddoscoo', '*'), ('mss', '*')
    )
),
referees as (
    select referee_account_id, cast(cast(registered_at as timestamp) as date) as registered_date
    from read_parquet($referral_files)
    where cast(cast(registered_at as timestamp) as date) <= $cutoff_date
),
daily as (
    select r.referee_account_id, r.registered_date, l.billing_date, sum(l.cash_amount) as spend_usd
    from read_parquet($billing_files) as l
    join referees as r on l.account_id = r.referee_account_id
    where l.billing_date <= $cutoff_date
      and l.billing_date between r.registered_date and r.registered_date + 364
      and exists (
          select 1 from eligible as e
          where e.product_code = l.product_code and e.subscription_type in ('*', l.subscription_type)
      )
    group by all
),
running as (
    select *, sum(spend_usd) over (partition by referee_account_id order by billing_date) as running_usd
    from daily
),
measures as (
    select
        referee_account_id,
        any_value(registered_date) as registered_date,
        min(billing_date) filter (where running_usd >= 20) as qualified_date,
        sum(spend_usd) as spend_usd,
        coalesce(sum(spend_usd) filter (where billing_date <= registered_date + 89), 0) as s90_usd
    from running
    group by referee_account_id
)
select
    referee_account_id,
    cast(least(300.00,
        case when qualified_date + 30 <= $cutoff_date and spend_usd >= 20 then
            20.00 + case when registered_date + 119 <= $cutoff_date
                         then round(0.10 * greatest(s90_usd - 20, 0), 2) else 0 end
        else 0 end) as decimal(18, 2)) as entitlement_usd
from measures
