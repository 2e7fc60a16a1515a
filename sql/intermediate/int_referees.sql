/* int_referees
   kind: model
   purpose: one referral per referee, the listing that won rule 1 of int_referral_reasons,
            with the last day of each of its windows and its finality date, computed here
            once.
   grain: one row per referee_account_id
   parameters: $qualification_window_days, $bonus_window_days, $hold_days, $cutoff_date
   inputs: int_referral_reasons
   Day 1 is the registration date R: a window of n days is R..R+n-1 (the qualification
   window R..R+364 and the bonus window R..R+89 with the shipped 365 and 90 days). The
   finality date F (R+394 with the shipped numbers) is the
   end of the qualification window plus the hold: a settlement sees the referee's lines
   billed up to min(cutoff, F) (visible_to_date), so a line billed after F never changes
   what the friend earned, which is final from then on. */
with winning_listings as (
    select
        referee_account_id,
        registered_date
    from int_referral_reasons
    where referee_listing_rank = 1
),

windows as (
    select
        referee_account_id,
        registered_date,
        registered_date + ($qualification_window_days - 1) as window_end_date,
        registered_date + ($bonus_window_days - 1) as bonus_window_end_date,
        registered_date + ($qualification_window_days - 1 + $hold_days) as finality_date
    from winning_listings
),

final as (
    select
        *,
        least(finality_date, $cutoff_date) as visible_to_date,
        finality_date <= $cutoff_date as is_final
    from windows
)

select * from final
