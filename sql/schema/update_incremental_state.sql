/* Run inside a month's publish transaction: keep what this run scanned as the incremental
   state for the next month (docs/performance.md#incremental). The cache is state, not the
   ledger: a re-scanned cycle replaces its rows. */
delete from warehouse.cycle_daily_spend
where billing_cycle in (select billing_cycle from scanned_cycles);

insert into warehouse.cycle_daily_spend
select * from int_cycle_daily_spend
where billing_cycle in (select billing_cycle from scanned_cycles);

delete from warehouse.billing_cycle_state
where billing_cycle in (select billing_cycle from scanned_cycles);

insert into warehouse.billing_cycle_state
select
    billing_cycle,
    files_sha256
from scanned_cycles;

insert into warehouse.cached_referees
select
    referee_account_id as account_id,
    min(registered_date) as registered_date
from stg_referrals
where referee_account_id not in (select account_id from warehouse.cached_referees)
group by referee_account_id;
