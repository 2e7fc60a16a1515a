/* journal_entries
   kind: query
   purpose: the month's general-ledger entries (creditflow journal, docs/outputs.md#the-journal):
            each an amount moved from one account role to another, with the ledger rows
            behind it. transforms/journal.py names the accounts (the rules file's [journal])
            and writes each entry as a debit line and a credit line.
   grain: one row per entry kind of the month ($month), only where the amount is not zero
   parameters: $month, $previous_month
   inputs: warehouse.ledger_entries, warehouse.referee_status, warehouse.referrer_balances,
           warehouse.instrument_rollforward
   Accruals and negative carries are month-end balances booked by the reversing method:
   last month's is reversed on the first of the month (its holds released) and this
   month's booked at the cutoff, so each account ends the month at the balance
   liability_by_month states. Credits payable then ends each month at the settled, not yet
   issued batch: the month's ledger deltas go in, the coupons issued on the 5th (the batch
   of the month before) go out to the instrument ledger. Every amount is positive: a
   negative delta is its own entry (credits taken back), and a negative breakage (a late
   fact reversed an expiry) is its entry with the sides swapped. */
with deltas as (
    select
        coalesce(sum(amount_usd) filter (where amount_usd > 0), 0) as earned_usd,
        count(*) filter (where amount_usd > 0) as earned_rows,
        coalesce(-sum(amount_usd) filter (where amount_usd < 0), 0) as taken_back_usd,
        count(*) filter (where amount_usd < 0) as taken_back_rows
    from warehouse.ledger_entries
    where settlement_month = $month
),

accruals as (
    select
        settlement_month,
        sum(pending_base_usd + pending_bonus_usd) as accrued_usd,
        count(*) filter (where pending_base_usd + pending_bonus_usd > 0) as accrued_rows
    from warehouse.referee_status
    where settlement_month in ($month, $previous_month)
    group by settlement_month
),

carries as (
    select
        settlement_month,
        -sum(carry_out_usd) as negative_carries_usd,
        count(*) as carry_rows
    from warehouse.referrer_balances
    where settlement_month in ($month, $previous_month) and carry_out_usd < 0
    group by settlement_month
),

rollforward as (
    select
        case when instrument_kind like 'welcome_%' then 'welcome' else instrument_kind end
            as kind,
        sum(issued_usd) as issued_usd,
        sum(redeemed_or_used_usd) as used_usd,
        sum(expired_usd) as expired_usd
    from warehouse.instrument_rollforward
    where instrument_month = $month
    group by all
),

entries (entry_number, entry_kind, description, debit_role, credit_role, amount_usd, source) as (
    select
        1,
        'holds_released',
        'last month''s accrual of credits on hold, reversed',
        'accrued_credits',
        'program_expense',
        accrued_usd,
        'referee_status ' || $previous_month || ': pending_base_usd + pending_bonus_usd, '
        || accrued_rows || ' row(s)'
    from accruals
    where settlement_month = $previous_month
    union all
    select
        2,
        'credits_earned',
        'credits earned by referrers (positive ledger deltas)',
        'program_expense',
        'credits_payable',
        earned_usd,
        'ledger_entries ' || $month || ': amount_usd > 0, ' || earned_rows || ' row(s)'
    from deltas
    union all
    select
        3,
        'credits_taken_back',
        'credits taken back (negative ledger deltas: refunds, rule 6)',
        'credits_payable',
        'program_expense',
        taken_back_usd,
        'ledger_entries ' || $month || ': amount_usd < 0, ' || taken_back_rows || ' row(s)'
    from deltas
    union all
    select
        4,
        'accrual',
        'credits earned but on hold at the cutoff (accrued)',
        'program_expense',
        'accrued_credits',
        accrued_usd,
        'referee_status ' || $month || ': pending_base_usd + pending_bonus_usd, '
        || accrued_rows || ' row(s)'
    from accruals
    where settlement_month = $month
    union all
    select
        5,
        'carries_reversed',
        'last month''s negative carries, reversed',
        'credits_payable',
        'carries_recoverable',
        negative_carries_usd,
        'referrer_balances ' || $previous_month || ': carry_out_usd < 0, ' || carry_rows
        || ' row(s)'
    from carries
    where settlement_month = $previous_month
    union all
    select
        6,
        'carries',
        'negative carries: owed back by referrers, recovered from later credits',
        'carries_recoverable',
        'credits_payable',
        negative_carries_usd,
        'referrer_balances ' || $month || ': carry_out_usd < 0, ' || carry_rows || ' row(s)'
    from carries
    where settlement_month = $month
    union all
    select
        7,
        'coupons_issued',
        'referral coupons issued on the 5th (the batch of the month before)',
        'credits_payable',
        'referral_coupons',
        issued_usd,
        'instrument_rollforward ' || $month || ': referral_coupon issued_usd'
    from rollforward
    where kind = 'referral_coupon'
    union all
    select
        8,
        'coupons_used',
        'referral coupons used',
        'referral_coupons',
        'credits_used',
        used_usd,
        'instrument_rollforward ' || $month || ': referral_coupon redeemed_or_used_usd'
    from rollforward
    where kind = 'referral_coupon'
    union all
    select
        9,
        'coupons_expired',
        'referral coupons expired unused (breakage)',
        'referral_coupons',
        'breakage',
        expired_usd,
        'instrument_rollforward ' || $month || ': referral_coupon expired_usd'
    from rollforward
    where kind = 'referral_coupon'
    union all
    select
        10,
        'welcome_issued',
        'welcome rewards issued to referred friends',
        'welcome_expense',
        'welcome_rewards',
        issued_usd,
        'instrument_rollforward ' || $month || ': welcome_credit + welcome_discount issued_usd'
    from rollforward
    where kind = 'welcome'
    union all
    select
        11,
        'welcome_used',
        'welcome rewards used',
        'welcome_rewards',
        'credits_used',
        used_usd,
        'instrument_rollforward ' || $month || ': welcome_* redeemed_or_used_usd'
    from rollforward
    where kind = 'welcome'
    union all
    select
        12,
        'welcome_expired',
        'welcome rewards expired unused (breakage)',
        'welcome_rewards',
        'breakage',
        expired_usd,
        'instrument_rollforward ' || $month || ': welcome_* expired_usd'
    from rollforward
    where kind = 'welcome'
    union all
    select
        13,
        'vouchers_sold',
        'redemption vouchers sold (customer-prepaid)',
        'voucher_clearing',
        'vouchers',
        issued_usd,
        'instrument_rollforward ' || $month || ': voucher issued_usd'
    from rollforward
    where kind = 'voucher'
    union all
    select
        14,
        'vouchers_redeemed',
        'redemption vouchers redeemed',
        'vouchers',
        'voucher_revenue',
        used_usd,
        'instrument_rollforward ' || $month || ': voucher redeemed_or_used_usd'
    from rollforward
    where kind = 'voucher'
    union all
    select
        15,
        'vouchers_expired',
        'redemption vouchers expired unredeemed (breakage)',
        'vouchers',
        'voucher_breakage',
        expired_usd,
        'instrument_rollforward ' || $month || ': voucher expired_usd'
    from rollforward
    where kind = 'voucher'
)

-- a negative amount (breakage reversed by a late fact, docs/instruments.md) is the entry
-- with its sides swapped
select
    $month as journal_month,
    entry_number,
    case when amount_usd < 0 then entry_kind || '_reversed' else entry_kind end as entry_kind,
    case when amount_usd < 0 then description || ', reversed' else description end
        as description,
    case when amount_usd < 0 then credit_role else debit_role end as debit_role,
    case when amount_usd < 0 then debit_role else credit_role end as credit_role,
    abs(amount_usd) as amount_usd,
    source
from entries
where amount_usd <> 0
order by entry_number
