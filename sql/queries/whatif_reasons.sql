/* whatif_reasons
   kind: query
   purpose: the referrals by reason code over a what-if's range, read the same way from
            the published catalog and from the replay's.
   grain: one row per (settlement_month, reason_code)
   parameters: $first_month, $last_month
   inputs: warehouse.referee_status */
select
    settlement_month,
    reason_code,
    count(*) as referral_count
from warehouse.referee_status
where settlement_month between $first_month and $last_month
group by settlement_month, reason_code
order by settlement_month, reason_code
