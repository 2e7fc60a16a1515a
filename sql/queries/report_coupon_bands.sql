/* report_coupon_bands
   kind: query
   purpose: the month report's coupons by amount band: how many coupons and how much.
   grain: one row per band with coupons, in band order
   parameters: $settlement_month
   inputs: warehouse.coupons */
with banded as (
    select
        amount_usd,
        case
            when amount_usd <= 20 then 1
            when amount_usd <= 50 then 2
            when amount_usd <= 100 then 3
            when amount_usd <= 300 then 4
            else 5
        end as band_order
    from warehouse.coupons
    where settlement_month = $settlement_month
)

select
    case band_order
        when 1 then 'up to 20'
        when 2 then '20 to 50'
        when 3 then '50 to 100'
        when 4 then '100 to 300'
        else 'over 300'
    end as band,
    count(*) as coupon_count,
    sum(amount_usd) as total_usd
from banded
group by band_order
order by band_order
