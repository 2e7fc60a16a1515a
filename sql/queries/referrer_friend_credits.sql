/* referrer_friend_credits
   kind: query
   purpose: what each referrer was actually paid for each friend: before the month, in it,
            and to its end (docs/rules.md#5-who-qualifies, "a late, earlier listing"). A
            friend taken over by another referrer's earlier listing keeps, on the old
            referrer's side, what that referrer was paid; the new winner's side starts at 0.
            referee_status.credited_*_usd are the friend's totals (the rules' inputs); this
            is what a statement shows each referrer.
   grain: one row per (referrer_account_id, referee_account_id) with a ledger line by the month
   parameters: $settlement_month
   inputs: warehouse.ledger_entries */
select
    referrer_account_id,
    referee_account_id,
    coalesce(sum(amount_usd) filter (where settlement_month < $settlement_month), 0)
        as paid_before_usd,
    coalesce(sum(amount_usd) filter (where settlement_month = $settlement_month), 0)
        as paid_in_month_usd,
    sum(amount_usd) as paid_to_date_usd
from warehouse.ledger_entries
where settlement_month <= $settlement_month
group by referrer_account_id, referee_account_id
