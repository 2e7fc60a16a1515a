/* newest_largest_coupon
   kind: query
   purpose: the newest settled month and the referrer of its largest coupon (ties: the
            smallest account id), for the example `creditflow explain` command a run
            prints at its end; read from the analysts' catalog attached as `warehouse`.
   grain: one row (none before any month is settled); referrer_account_id is null when the
          month issued no coupon
   parameters: none
   inputs: warehouse.settlements, warehouse.coupons */
with newest as (
    select max(settlement_month) as settlement_month
    from warehouse.settlements
),

largest as (
    select issued.referrer_account_id
    from warehouse.coupons as issued
    inner join newest on issued.settlement_month = newest.settlement_month
    order by issued.amount_usd desc, issued.referrer_account_id asc
    limit 1
)

select
    newest.settlement_month,
    (select largest.referrer_account_id from largest) as referrer_account_id
from newest
where newest.settlement_month is not null
