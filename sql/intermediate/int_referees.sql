/* int_referees
   kind: model
   purpose: one referral per referee, the listing that won rule 1 of int_referral_reasons,
            with the last day of each of its windows, computed here once.
   grain: one row per referee_account_id
   parameters: $qualification_window_days, $bonus_window_days
   inputs: int_referral_reasons
   Day 1 is the registration date R: the qualification window is R..R+364 and the bonus
   window R..R+89 (with the default 365 and 90 days). */
with winning_listings as (
    select
        referee_account_id,
        registered_date
    from int_referral_reasons
    where referee_listing_rank = 1
),

final as (
    select
        referee_account_id,
        registered_date,
        registered_date + ($qualification_window_days - 1) as window_end_date,
        registered_date + ($bonus_window_days - 1) as bonus_window_end_date
    from winning_listings
)

select * from final
