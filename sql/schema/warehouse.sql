/* warehouse
   kind: script
   purpose: the analysts' warehouse (OUT/warehouse.duckdb), attached as `warehouse`.
   grain: stated per table below
   parameters: none
   inputs: none
   Append-only: a settlement only ever inserts, in one transaction per month; no
   statement in this project updates or deletes a published row. The SQL for each
   table's rows is the model of the same name under sql/marts/. */

-- one row per published settlement month: what was run, on what, and its totals
create table if not exists warehouse.settlements (
    settlement_month varchar primary key,
    cutoff_date date not null,
    previous_month varchar not null,
    issued_on date not null,
    coupon_count integer not null,
    coupon_total_usd decimal(18, 2) not null,
    ledger_delta_total_usd decimal(18, 2) not null,
    carry_in_total_usd decimal(18, 2) not null,
    carry_out_total_usd decimal(18, 2) not null,
    coupons_csv_sha256 varchar not null,
    input_fingerprint varchar not null,
    rules_sha256 varchar not null,
    rules_json varchar not null,
    code_version varchar not null,
    coupon_key_kind varchar not null,
    coupon_key_id varchar not null,
    rejected_rows_accepted bigint not null,
    quarantine_sha256 varchar not null
);

-- the credit ledger: one row per (month, referee, component) with a non-zero delta
create table if not exists warehouse.ledger_entries (
    settlement_month varchar not null,
    referee_account_id varchar not null,
    referrer_account_id varchar not null,
    component varchar not null,
    entry_kind varchar not null,
    amount_usd decimal(18, 2) not null,
    primary key (settlement_month, referee_account_id, component)
);

-- one row per (month, referrer) with activity or a carried balance
create table if not exists warehouse.referrer_balances (
    settlement_month varchar not null,
    referrer_account_id varchar not null,
    carry_in_usd decimal(18, 2) not null,
    referee_deltas_usd decimal(18, 2) not null,
    referee_count integer not null,
    coupon_amount_usd decimal(18, 2) not null,
    carry_out_usd decimal(18, 2) not null,
    primary key (settlement_month, referrer_account_id)
);

-- one row per issued coupon; the secret code is not stored (see docs/outputs.md)
create table if not exists warehouse.coupons (
    settlement_month varchar not null,
    referrer_account_id varchar not null,
    amount_usd decimal(18, 2) not null,
    currency varchar not null,
    issued_on date not null,
    valid_from date not null,
    valid_to date not null,
    is_transferable boolean not null,
    excluded_products varchar not null,
    referee_count integer not null,
    primary key (settlement_month, referrer_account_id)
);

-- one row per referral row per month (grain checked by audit_referee_status_grain)
create table if not exists warehouse.referee_status (
    settlement_month varchar not null,
    referee_account_id varchar not null,
    referrer_account_id varchar not null,
    referral_code varchar,
    registered_at timestamp not null,
    registered_date date not null,
    window_end_date date,
    referee_listing_rank bigint not null,
    is_winning_listing boolean not null,
    reason_code varchar not null,
    is_frozen boolean not null,
    referee_risk_status varchar,
    referrer_risk_status varchar,
    is_referrer_payment_verified boolean,
    eligible_spend_to_date_usd decimal(18, 4),
    qualified_date date,
    bonus_window_spend_usd decimal(18, 4),
    base_status varchar,
    bonus_status varchar,
    is_capped boolean,
    entitled_base_usd decimal(18, 2) not null,
    entitled_bonus_usd decimal(18, 2) not null,
    entitlement_usd decimal(18, 2) not null,
    credited_before_usd decimal(18, 2) not null,
    delta_base_usd decimal(18, 2) not null,
    delta_bonus_usd decimal(18, 2) not null,
    delta_usd decimal(18, 2) not null,
    credited_to_date_usd decimal(18, 2) not null
);

-- the refund-safe rules (issue 12): added after the table's first columns, so a warehouse
-- written before gains them in place (null on the months it published before)
alter table warehouse.referee_status add column if not exists finality_date date;
alter table warehouse.referee_status add column if not exists is_final boolean;
alter table warehouse.referee_status add column if not exists unplaceable_refunds_usd decimal(18, 4);
alter table warehouse.referee_status add column if not exists linked_refunds_usd decimal(18, 4);
alter table warehouse.referee_status add column if not exists referrer_verified_at timestamp;
-- accrual (issue 14): earned but not yet payable; null on months published before
alter table warehouse.referee_status add column if not exists pending_base_usd decimal(18, 2);
alter table warehouse.referee_status add column if not exists pending_bonus_usd decimal(18, 2);
alter table warehouse.referee_status add column if not exists payable_on date;
alter table warehouse.referee_status add column if not exists pending_bonus_payable_on date;

-- one row per welcome reward issued to a referred friend (issue 13): two per friend, once
alter table warehouse.settlements add column if not exists welcome_count integer;
alter table warehouse.settlements add column if not exists welcome_total_usd decimal(18, 2);
alter table warehouse.settlements add column if not exists welcome_csv_sha256 varchar;
-- the SHA-256 of manifest.json as published (issue 29: published files are evidence, and
-- every run checks them); null on months published before, whose manifest is not checked
alter table warehouse.settlements add column if not exists manifest_json_sha256 varchar;
-- where the month's inputs were read, as the run was given them resolved (issue 14:
-- `creditflow explain` reads the month's bill lines from there again, after checking the
-- input fingerprint); null for months published before it was recorded
alter table warehouse.settlements add column if not exists data_dir varchar;
alter table warehouse.settlements add column if not exists eligible_products_file varchar;
-- what the operator accepted with --accept-shrunk-inputs (issue 17), '' when nothing
alter table warehouse.settlements add column if not exists accepted_shrinkage varchar;
-- the digest of what explain reads again, billing files and eligible products (issue 28:
-- a month stays explainable after its snapshots move on); null for months published before
alter table warehouse.settlements add column if not exists lines_fingerprint varchar;

create table if not exists warehouse.welcome_rewards (
    settlement_month varchar not null,
    referee_account_id varchar not null,
    referrer_account_id varchar not null,
    instrument_kind varchar not null,
    amount_usd decimal(18, 2) not null,
    currency varchar not null,
    registered_date date not null,
    valid_from date not null,
    valid_to date not null,
    min_order_usd decimal(18, 2),
    is_transferable boolean not null,
    allowed_products varchar not null,
    primary key (referee_account_id, instrument_kind)
);

-- instruments (vouchers and referral coupons): one row per instrument per month, at month end
create table if not exists warehouse.instrument_state (
    instrument_month varchar not null,
    instrument_kind varchar not null,
    instrument_id varchar not null,
    owner_account_id varchar not null,
    invoice_account_id varchar not null,
    status varchar not null,
    face_value_usd decimal(18, 2) not null,
    remaining_balance_usd decimal(18, 2) not null,
    transfers_used integer not null,
    max_transfers integer not null,
    is_transferable boolean not null,
    earlier_owners varchar[] not null,
    excluded_products varchar[] not null,
    issued_on date not null,
    valid_from date not null,
    valid_to date not null,
    expired_this_month_usd decimal(18, 2) not null,
    primary key (instrument_month, instrument_kind, instrument_id)
);

-- every input event of the month (voucher events and coupon usage), accepted or not
create table if not exists warehouse.instrument_events (
    instrument_month varchar not null,
    event_id varchar not null,
    instrument_kind varchar not null,
    instrument_id varchar not null,
    event_type varchar not null,
    actor_account_id varchar,
    to_account_id varchar,
    occurred_at timestamp not null,
    amount_usd decimal(18, 2),
    product_code varchar,
    accepted boolean not null,
    reason varchar,
    amount_applied_usd decimal(18, 2) not null,
    -- dated in a month already published: applied in the first unpublished month
    late boolean not null default false
);

-- welcome rewards in the instrument ledger (issue 13): the products an instrument may pay
-- for (null: any but its excluded ones), a discount's minimum order, a usage's order amount
alter table warehouse.instrument_state add column if not exists allowed_products varchar[];
alter table warehouse.instrument_state add column if not exists min_order_usd decimal(18, 2);
alter table warehouse.instrument_events add column if not exists order_amount_usd decimal(18, 2);
-- late (issue 13) came after the table's first columns: a warehouse written before gains it
alter table warehouse.instrument_events add column if not exists late boolean default false;

-- per kind and month: opening + issued - redeemed/used - expired = closing
create table if not exists warehouse.instrument_rollforward (
    instrument_month varchar not null,
    instrument_kind varchar not null,
    opening_outstanding_usd decimal(18, 2) not null,
    issued_usd decimal(18, 2) not null,
    redeemed_or_used_usd decimal(18, 2) not null,
    expired_usd decimal(18, 2) not null,
    closing_outstanding_usd decimal(18, 2) not null,
    primary key (instrument_month, instrument_kind)
);

-- at most one row: a ledger started on purpose (creditflow init) at a month later than the
-- data's first billing cycle, and the data directory it settles from; written once, never
-- updated (docs/operations.md#starting-a-ledger)
create table if not exists warehouse.ledger_start (
    first_month varchar primary key,
    data_dir varchar not null,
    started_at timestamp not null,
    started_by varchar not null
);

-- one row per published instrument month
create table if not exists warehouse.instrument_months (
    instrument_month varchar primary key,
    input_fingerprint varchar not null,
    event_count integer not null,
    rejected_event_count integer not null,
    breakage_usd decimal(18, 2) not null
);
-- the instrument input audits (issue 13): input rows the operator accepted to leave out
-- (--max-rejected) and the digest of the quarantine that lists them; added in place
alter table warehouse.instrument_months
add column if not exists rejected_input_rows_accepted integer default 0;
alter table warehouse.instrument_months add column if not exists quarantine_sha256 varchar;
-- the SHA-256 of each file of the month as rendered when it was published (issue 27): a
-- republish renders the files again and refuses a difference; null on months published
-- before, which are not checked (recover still compares them byte for byte)
alter table warehouse.instrument_months add column if not exists state_parquet_sha256 varchar;
alter table warehouse.instrument_months add column if not exists events_parquet_sha256 varchar;
alter table warehouse.instrument_months add column if not exists rollforward_csv_sha256 varchar;

-- Incremental state (not part of the ledger; rewritten per cycle when a cycle changes):
-- per billing cycle, the fingerprints it was last scanned with: its files, and the
-- eligible-products list the cached spend was filtered with ...
create table if not exists warehouse.billing_cycle_scans (
    billing_cycle varchar primary key,
    files_sha256 varchar not null,
    eligible_products_sha256 varchar not null
);

-- ... its eligible cash per referee account and day (sql/intermediate/int_cycle_eligible_spend.sql) ...
-- account_id is stored uncompressed: a full month writes a row per referee account and
-- day of every cycle (20-28M rows at 100M lines), and DuckDB's default string compression
-- (dictionary and FSST) of those nearly unique keys was 40 % of the insert; the file is
-- larger by about 8 bytes a row (docs/performance.md#incremental; sqlfluff cannot parse
-- USING COMPRESSION, hence the noqa)
create table if not exists warehouse.cycle_eligible_spend (  -- noqa: PRS
    billing_cycle varchar not null,
    account_id varchar using compression uncompressed not null,
    billing_date date not null,
    eligible_cash_usd decimal(38, 4) not null,
    unlinked_refund_cash_usd decimal(38, 4) not null
);

-- ... the referee accounts' lines that name an original record, one by one
-- (sql/intermediate/int_cycle_linked_lines.sql) ...
create table if not exists warehouse.cycle_linked_lines (
    billing_cycle varchar not null,
    record_id varchar not null,
    account_id varchar not null,
    billing_date date not null,
    original_record_id varchar not null,
    product_code varchar,
    subscription_type varchar,
    cash_amount_usd decimal(18, 4) not null
);

-- (the cache of earlier versions kept cash per product, before eligibility; dropping it
-- and its state makes the first run after an upgrade scan every cycle once)
drop table if exists warehouse.cycle_daily_spend;
drop table if exists warehouse.billing_cycle_state;

-- ... and the referee accounts the cache covers, with their registration dates
create table if not exists warehouse.cached_referees (
    account_id varchar primary key,
    registered_date date not null
);

-- ... and each referee's window measures as of the last published month, for the next
-- month to advance by its new days instead of summing every day again
-- (sql/intermediate/int_carried_referees.sql). One row per referee of int_referees, all of
-- them rewritten by each month's publish: the state of settlement_month only.
create table if not exists warehouse.referee_window_state (
    settlement_month varchar not null,
    referee_account_id varchar not null,
    registered_date date not null,
    window_end_date date not null,
    bonus_window_end_date date not null,
    -- the last day the measures include: that month's visible_to_date, min(cutoff, F)
    through_date date not null,
    -- P(through_date), and the latest day P crossed the threshold from below (kept even
    -- when P is below it now: a later crossing replaces it, none keeps it)
    qualifying_spend_usd decimal(18, 4) not null,
    latest_crossing_date date,
    has_reached_threshold boolean not null,
    bonus_window_spend_usd decimal(18, 4) not null,
    unplaceable_refunds_usd decimal(18, 4) not null,
    linked_refunds_usd decimal(18, 4) not null
);

-- ... and, for each original record a linked line names, the earliest billing_date of the
-- account's delivered lines with that record id over every cycle up to the last published
-- month (null: none delivered, or none dated), for the next month to look it up in its own
-- cycle only instead of every cycle again (sql/intermediate/int_linked_lines.sql). One row
-- per (account_id, record_id) named, all rewritten by each month's publish: the lookups of
-- settlement_month only.
create table if not exists warehouse.linked_original_dates (
    settlement_month varchar not null,
    account_id varchar not null,
    record_id varchar not null,
    original_billing_date date
);

-- SHA-256 of each billing file by its file-system stamp, so a run re-reads only files that
-- are new or were written since they were hashed (flows/io.py file_stamp). A cache, not the
-- ledger: --full-recompute ignores it and hashes every file again.
create table if not exists warehouse.input_file_digests (
    file_path varchar not null,
    size_bytes bigint not null,
    inode ubigint not null,
    modified_ns bigint not null,
    changed_ns bigint not null,
    sha256 varchar not null,
    primary key (file_path, size_bytes, inode, modified_ns, changed_ns)
);

-- The catalog's monthly snapshots as this warehouse wrote them (issue 29), by the snapshot
-- file's stamp and digest: at each refresh a snapshot this table does not vouch for (left
-- by another warehouse, or changed since) is written again from the ledger. A cache of
-- what was written, not the ledger.
create table if not exists warehouse.catalog_snapshots (
    relation_name varchar not null,
    month varchar not null,
    file_stamp varchar not null,
    sha256 varchar not null,
    primary key (relation_name, month)
);

-- The SHA-256 of the schema this warehouse was last brought to (this file, the liability
-- view and the upgrades of transforms/pipeline/warehouse_schema.py): a connection to a
-- warehouse at the code's digest skips this script, ~10 ms of every connection. One row.
create table if not exists warehouse.schema_applied (
    sha256 varchar not null
);
