/* earliest_uncached_referee
   kind: query
   purpose: from which registration date the cache of eligible spend does not yet cover
            a visible referee: an account it does not know, or one now listed with an
            earlier registration (a late listing; its spend before was not kept). The
            cycles from that month on are rescanned (docs/performance.md#incremental).
            Raw rows, read before the audits: a rejected row can only make this rescan
            more, never less.
   grain: one row (null when the cache covers every visible referee)
   parameters: none
   inputs: raw_visible_referrals, warehouse.cached_referees */
with visible as (
    select
        referee_account_id as account_id,
        min(registered_date) as first_registered_date
    from raw_visible_referrals
    group by referee_account_id
)

select min(visible.first_registered_date) as earliest_uncached_registered_date
from visible
left join warehouse.cached_referees as cached on visible.account_id = cached.account_id
where
    cached.account_id is null
    or visible.first_registered_date < cached.registered_date
