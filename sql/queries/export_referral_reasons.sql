/* export_referral_reasons
   kind: query
   purpose: the first half of the Rejections sheet of `creditflow export`: the month's
            referrals that earn nothing, by reason code (ok, the referrals that earn, is not
            a rejection and is left out).
   grain: one row per reason_code
   parameters: $settlement_month
   inputs: warehouse.referee_status */
select
    'referral' as what,
    reason_code as reason,
    count(*) as row_count
from warehouse.referee_status
where settlement_month = $settlement_month and reason_code <> 'ok'
group by reason_code
order by reason_code
