/* referee_status_codes
   kind: audit
   purpose: every referral carries a reason code of docs/rules.md rule 5 and every referee
            a known base status: a code outside these lists would be summed and reported
            under a name nobody defined.
   grain: one row per offending referral
   parameters: none
   inputs: referee_status
   returns: offending referrals (zero rows = pass) */
select
    referee_account_id,
    referrer_account_id,
    reason_code,
    base_status
from referee_status
where
    reason_code not in (
        'ok', 'duplicate_referee', 'unknown_account', 'self_referral',
        'duplicate_referrer_account', 'duplicate_referee_identity', 'disqualified',
        'referrer_unverified'
    )
    or (
        is_winning_listing
        and base_status not in (
            'below_threshold', 'window_closed', 'on_hold', 'fell_below_threshold',
            'final_below_threshold', 'earned'
        )
    )
