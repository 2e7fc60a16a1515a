/* reason_counts
   kind: query
   purpose: referrals by reason code for a month's summary, from the published month.
   grain: one row per reason_code
   parameters: $settlement_month
   inputs: warehouse.referee_status */
select
    reason_code,
    count(*) as referral_count
from warehouse.referee_status
where settlement_month = $settlement_month
group by reason_code
order by reason_code
