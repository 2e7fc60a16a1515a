/* instruments
   kind: macro
   purpose: the id of a referral coupon in the instrument ledger: its owner and its
            settlement month (one coupon per referrer per month, rule 7). Defined once;
            issuance (int_coupons_issued) and usage (int_instrument_events) both name
            coupons by it. Likewise the id of a welcome reward (its friend and its kind:
            one of each per friend, ever), and the input an event came from (event ids are
            unique per source).
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none */
create or replace macro coupon_instrument_id(owner_account_id, settlement_month) as
owner_account_id || ':' || settlement_month;

-- the input an event came from, by the kind it names: voucher events name vouchers, coupon
-- usage names referral coupons and welcome rewards; event ids are unique per source
create or replace macro event_source(instrument_kind) as
case when instrument_kind = 'voucher' then 'voucher_events' else 'coupon_usage' end;

create or replace macro welcome_instrument_id(referee_account_id, instrument_kind) as
referee_account_id || ':' || instrument_kind;
