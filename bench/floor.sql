-- The floor: the least work DuckDB can do for the per-referee rule entitlement (rules 1-4,
-- the refund-safe version of issue 12) over the same files: one pass over the bill lines
-- joined to the referees, one narrow pass to find the originals that linked lines name,
-- windows as FILTER aggregates. No dedup, no audits, no identity rules, no ledger: a lower
-- bound, written independently of sql/ (it is compared with creditflow's entitlements).
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
    -- R, the window ends and E = min(cutoff, finality date R+394)
    select
        referee_account_id,
        cast(cast(registered_at as timestamp) as date) as r,
        least($cutoff_date, cast(cast(registered_at as timestamp) as date) + 394) as e
    from read_parquet($referral_files)
    where cast(cast(registered_at as timestamp) as date) <= $cutoff_date
),
lines as (
    select rf.referee_account_id, rf.r, rf.e, l.billing_date, l.cash_amount, l.original_record_id
    from read_parquet($billing_files, union_by_name = true) as l
    join referees as rf on l.account_id = rf.referee_account_id
    where l.billing_date between rf.r and rf.e
      and exists (
          select 1 from eligible as el
          where el.product_code = l.product_code and el.subscription_type in ('*', l.subscription_type)
      )
),
originals as (
    select o.account_id, o.record_id, min(o.billing_date) as original_date
    from read_parquet($billing_files, union_by_name = true) as o
    where o.record_id in (select original_record_id from lines)
    group by all
),
placed as (
    -- effective date: the original's billing date for a linked line, else its own
    select
        lines.*,
        originals.original_date is not null as is_linked,
        coalesce(originals.original_date, lines.billing_date) as effective_date
    from lines
    left join originals
        on originals.account_id = lines.referee_account_id
        and originals.record_id = lines.original_record_id
),
changes as (
    -- per day: spend placed in R..min(R+364, E), plus unlinked refunds billed after R+364
    select
        referee_account_id, any_value(r) as r, day,
        sum(p) as p_change, sum(s90) as s90_change
    from (
        select referee_account_id, r, effective_date as day,
            case when effective_date between r and least(r + 364, e) then cash_amount else 0 end
            + case when not is_linked and cash_amount < 0 and billing_date > r + 364
                   then cash_amount else 0 end as p,
            case when effective_date between r and least(r + 89, e) then cash_amount else 0 end
            + case when not is_linked and cash_amount < 0 and billing_date > r + 89
                   then cash_amount else 0 end as s90
        from placed
    )
    group by referee_account_id, day
),
running as (
    select *, sum(p_change) over (partition by referee_account_id order by day) as p_usd
    from changes
),
measures as (
    select
        referee_account_id,
        any_value(r) as r,
        max(day) filter (where p_usd >= 20 and p_usd - p_change < 20) as q,
        sum(p_change) as p_e,
        sum(s90_change) as s90_usd
    from running
    group by referee_account_id
)
select
    referee_account_id,
    cast(least(300.00,
        case when p_e >= 20 and q + 30 <= $cutoff_date then
            20.00 + case when r + 119 <= $cutoff_date
                         then round(0.10 * greatest(s90_usd - 20, 0), 2) else 0 end
        else 0 end) as decimal(18, 2)) as entitlement_usd
from measures
