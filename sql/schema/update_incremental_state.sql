/* update_incremental_state
   kind: script
   purpose: run inside a month's publish transaction: keep what this run scanned as the
            incremental state for the next month (docs/performance.md#incremental). The
            cache is state, not the ledger: a re-scanned cycle replaces its rows.
   grain: per billing cycle scanned (cycle_eligible_spend, cycle_linked_lines,
          billing_cycle_scans) and per
          referee account (cached_referees)
   parameters: none
   inputs: int_scanned_eligible_spend, int_scanned_linked_lines, int_referee_accounts,
           scanned_cycles (control), warehouse.cycle_eligible_spend,
           warehouse.cycle_linked_lines, warehouse.billing_cycle_scans,
           warehouse.cached_referees */
delete from warehouse.cycle_eligible_spend
where billing_cycle in (select billing_cycle from scanned_cycles);

insert into warehouse.cycle_eligible_spend
select * from int_scanned_eligible_spend;

delete from warehouse.cycle_linked_lines
where billing_cycle in (select billing_cycle from scanned_cycles);

insert into warehouse.cycle_linked_lines
select * from int_scanned_linked_lines;

delete from warehouse.billing_cycle_scans
where billing_cycle in (select billing_cycle from scanned_cycles);

insert into warehouse.billing_cycle_scans
select
    billing_cycle,
    files_sha256,
    eligible_products_sha256
from scanned_cycles;

-- every cycle now holds each referee account's eligible spend from its first registration
-- on (int_scanned_eligible_spend); see docs/performance.md#incremental for why this holds
-- for the cycles taken from the cache too
insert or replace into warehouse.cached_referees
select
    first_registrations.account_id,
    first_registrations.first_registered_date as registered_date
from int_referee_accounts as first_registrations
where not exists (
    select 1 from warehouse.cached_referees as cached
    where
        cached.account_id = first_registrations.account_id
        and cached.registered_date = first_registrations.first_registered_date
);
