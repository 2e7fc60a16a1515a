/* welcome_once
   kind: audit
   purpose: a referred friend gets each welcome reward once in a lifetime: never twice in
            one month, never again after an earlier month issued it.
   grain: one row per offending (referee_account_id, instrument_kind)
   parameters: none
   inputs: welcome_rewards, warehouse.welcome_rewards
   returns: offending keys (zero rows = pass) */
with issued as (
    select
        referee_account_id,
        instrument_kind
    from welcome_rewards
    union all
    select
        referee_account_id,
        instrument_kind
    from warehouse.welcome_rewards
)

select
    referee_account_id,
    instrument_kind,
    count(*) as times_issued
from issued
group by referee_account_id, instrument_kind
having count(*) > 1
