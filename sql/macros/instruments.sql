/* instruments
   kind: macro
   purpose: the id of a referral coupon in the instrument ledger: its owner and its
            settlement month (one coupon per referrer per month, rule 7). Defined once;
            issuance (int_coupons_issued) and usage (int_instrument_events) both name
            coupons by it.
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none */
create or replace macro coupon_instrument_id(owner_account_id, settlement_month) as
owner_account_id || ':' || settlement_month;
