/* int_referral_reasons
   kind: model
   purpose: decide which referrals may earn, with one reason code per referral.
   grain: one row per referral of int_accepted_referrals
   parameters: none
   inputs: int_accepted_referrals, int_accepted_accounts
   Rules apply in this precedence; a referral gets the first that matches, and each
   identity rule is judged only among the referrals that passed the rules before it:
     1 duplicate_referee           the referee is listed more than once: the earliest
                                   registration wins (ties: smallest referrer id)
     2 unknown_account             referee or referrer missing from accounts
     3 self_referral               the same person on both sides (identity keys compared
                                   by their skeleton, identity_skeleton: a lookalike or
                                   invisible character does not make another person)
     4 duplicate_referrer_account  one person refers from several accounts: only the
                                   account whose first referral registered earliest
                                   qualifies (ties: smallest account id)
     5 duplicate_referee_identity  one person registered several referee accounts:
                                   only the earliest-registered one qualifies
                                   (ties: smallest account id)
     6 disqualified                risk_status other than 'ok' on either side
     7 referrer_unverified         the referrer was not verified (payment method added
                                   and verification completed, verified_at) on or before
                                   the referral's registered_at; a later verification
                                   does not bring the referral in: the program hands out
                                   referral links only after verification (FAQ 6)
     8 ok */
with referrals as (
    select * from int_accepted_referrals
),

accounts as (
    select * from int_accepted_accounts
),

listed as (
    select
        *,
        row_number() over (
            partition by referee_account_id
            order by registered_at, referrer_account_id, referral_code
        ) as referee_listing_rank
    from referrals
),

with_accounts as (
    select
        listed.*,
        referee.identity_key as referee_identity_key,
        referee.risk_status as referee_risk_status,
        referrer.identity_key as referrer_identity_key,
        -- who is one person: the keys' skeletons (transforms/identity.py), never the bytes
        identity_skeleton(referee.identity_key) as referee_person,
        identity_skeleton(referrer.identity_key) as referrer_person,
        referrer.risk_status as referrer_risk_status,
        referrer.verified_at as referrer_verified_at,
        coalesce(referrer.verified_at <= listed.registered_at, false)
            as is_referrer_verified_at_referral,
        referee.account_id is not null and referrer.account_id is not null as has_known_accounts
    from listed
    left join accounts as referee on listed.referee_account_id = referee.account_id
    left join accounts as referrer on listed.referrer_account_id = referrer.account_id
),

early_reasons as (
    select
        *,
        case
            when referee_listing_rank > 1 then 'duplicate_referee'
            when not has_known_accounts then 'unknown_account'
            when referee_person = referrer_person then 'self_referral'
        end as early_reason_code
    from with_accounts
),

referrer_account_first_referral as (
    select
        referrer_person,
        referrer_account_id,
        min(registered_at) as first_registered_at
    from early_reasons
    where early_reason_code is null
    group by referrer_person, referrer_account_id
),

chosen_referrer_account as (
    select
        referrer_person,
        referrer_account_id
    from referrer_account_first_referral
    qualify row_number() over (
        partition by referrer_person
        order by first_registered_at, referrer_account_id
    ) = 1
),

with_referrer_choice as (
    select
        early_reasons.*,
        case
            when early_reasons.early_reason_code is not null then early_reasons.early_reason_code
            when chosen.referrer_account_id is null then 'duplicate_referrer_account'
        end as reason_after_referrer_identity
    from early_reasons
    left join chosen_referrer_account as chosen
        on early_reasons.referrer_account_id = chosen.referrer_account_id
),

chosen_referee_account as (
    select
        referee_person,
        referee_account_id
    from with_referrer_choice
    where reason_after_referrer_identity is null
    qualify row_number() over (
        partition by referee_person
        order by registered_at, referee_account_id
    ) = 1
),

final as (
    select
        referrals.referee_account_id,
        referrals.referrer_account_id,
        referrals.referral_code,
        referrals.registered_at,
        referrals.registered_date,
        referrals.referee_listing_rank,
        referrals.referee_identity_key,
        referrals.referrer_identity_key,
        referrals.referee_risk_status,
        referrals.referrer_risk_status,
        referrals.referrer_verified_at,
        referrals.is_referrer_verified_at_referral,
        case
            when referrals.reason_after_referrer_identity is not null
                then referrals.reason_after_referrer_identity
            when chosen.referee_account_id is null then 'duplicate_referee_identity'
            when referrals.referee_risk_status <> 'ok' or referrals.referrer_risk_status <> 'ok'
                then 'disqualified'
            when not referrals.is_referrer_verified_at_referral then 'referrer_unverified'
            else 'ok'
        end as reason_code
    from with_referrer_choice as referrals
    left join chosen_referee_account as chosen
        on referrals.referee_account_id = chosen.referee_account_id
)

select * from final
