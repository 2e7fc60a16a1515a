-- The floor: the least work DuckDB can do for the per-referee rule entitlement (rules 1-4,
-- the refund-safe version of issue 12) over the same files: one pass over the bill lines
-- joined to the referees, one narrow pass to find the originals that linked lines name,
-- windows as FILTER aggregates. No dedup, no audits, no identity rules, no ledger: a lower
-- bound, written independently of sql/ (it is compared with creditflow's entitlements).
-- The rule numbers come from config/rules.toml (bench/contenders.py FLOOR binds them); the
-- eligible list below is the shipped config/eligible_products.csv, written out.
-- parameters: $billing_files, $referral_files, $cutoff_date, $qualification_window_days,
--   $bonus_window_days, $hold_days, $base_credit_usd, $base_threshold_usd, $bonus_rate,
--   $bonus_threshold_usd, $cap_per_referee_usd
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
    -- R, the window ends and E = min(cutoff, finality date: the window's last day + hold)
    select
        referee_account_id,
        cast(cast(registered_at as timestamp) as date) as r,
        least(
            $cutoff_date,
            cast(cast(registered_at as timestamp) as date) + $qualification_window_days - 1 + $hold_days
        ) as e
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
    -- per day: spend placed in the window R..min(its last day, E), plus unlinked refunds
    -- billed after it; the same for the bonus window
    select
        referee_account_id, any_value(r) as r, day,
        sum(p) as p_change, sum(bonus_spend) as bonus_spend_change
    from (
        select referee_account_id, r, effective_date as day,
            case when effective_date between r and least(r + $qualification_window_days - 1, e)
                 then cash_amount else 0 end
            + case when not is_linked and cash_amount < 0
                        and billing_date > r + $qualification_window_days - 1
                   then cash_amount else 0 end as p,
            case when effective_date between r and least(r + $bonus_window_days - 1, e)
                 then cash_amount else 0 end
            + case when not is_linked and cash_amount < 0 and billing_date > r + $bonus_window_days - 1
                   then cash_amount else 0 end as bonus_spend
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
        max(day) filter (
            where p_usd >= $base_threshold_usd and p_usd - p_change < $base_threshold_usd
        ) as q,
        sum(p_change) as p_e,
        sum(bonus_spend_change) as bonus_spend_usd
    from running
    group by referee_account_id
)
select
    referee_account_id,
    cast(least($cap_per_referee_usd,
        case when p_e >= $base_threshold_usd and q + $hold_days <= $cutoff_date then
            $base_credit_usd
            + case when r + $bonus_window_days - 1 + $hold_days <= $cutoff_date
                   then round($bonus_rate * greatest(bonus_spend_usd - $bonus_threshold_usd, 0), 2)
                   else 0 end
        else 0 end) as decimal(18, 2)) as entitlement_usd
from measures
