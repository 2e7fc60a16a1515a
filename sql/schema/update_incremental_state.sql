/* update_incremental_state
   kind: script
   purpose: run inside a month's publish transaction: keep what this run scanned as the
            incremental state for the next month (docs/performance.md#incremental). The
            cache is state, not the ledger: a re-scanned cycle replaces its rows.
   grain: per billing cycle scanned (cycle_eligible_spend, cycle_linked_lines,
          billing_cycle_scans), per referee account (cached_referees) and per referee
          (referee_window_state, as of the month being published) and per original record
          named (linked_original_dates, likewise)
   parameters: none
   inputs: int_scanned_eligible_spend, int_scanned_linked_lines, int_referee_accounts,
           int_referees, int_referee_windows, int_linked_lines,
           scanned_cycles (control), warehouse.cycle_eligible_spend,
           warehouse.cycle_linked_lines, warehouse.billing_cycle_scans,
           warehouse.cached_referees, warehouse.referee_window_state,
           warehouse.linked_original_dates,
           warehouse.settlements */
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

-- every referee's window measures as of this month (int_carried_referees reads them next
-- month); the settlements row of this month is already in the transaction
delete from warehouse.referee_window_state;

insert into warehouse.referee_window_state
select
    (select max(settlement_month) from warehouse.settlements) as settlement_month,
    referees.referee_account_id,
    referees.registered_date,
    referees.window_end_date,
    referees.bonus_window_end_date,
    referees.visible_to_date as through_date,
    windows.eligible_spend_to_date_usd as qualifying_spend_usd,
    windows.latest_crossing_date,
    windows.has_reached_threshold,
    windows.bonus_window_spend_usd,
    windows.unplaceable_refunds_usd,
    windows.linked_refunds_usd
from int_referees as referees
inner join int_referee_windows as windows
    on referees.referee_account_id = windows.referee_account_id;

-- where each named original record was found, as of this month (int_linked_lines looks
-- up next month only its own cycle for them): one row per (account, record) named
delete from warehouse.linked_original_dates;

insert into warehouse.linked_original_dates
select distinct
    (select max(settlement_month) from warehouse.settlements) as settlement_month,
    account_id,
    original_record_id as record_id,
    original_billing_date
from int_linked_lines;
