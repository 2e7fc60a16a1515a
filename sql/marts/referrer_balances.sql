/* referrer_balances
   purpose: each referrer's position for the month: what it carried in, what its
            referees' ledger lines add, the coupon issued and what it carries out (rule 7).
   kind: model
   grain: one row per (settlement_month, referrer_account_id) for every referrer with a
          ledger line this month or a non-zero carry from the previous month
   parameters: $settlement_month, $previous_month
   inputs: warehouse.referrer_balances, referee_status
   A positive balance becomes one coupon and carries 0; a zero or negative balance
   issues nothing and carries into the next month. Never a zero or negative coupon. */
with carried_in as (
    select
        referrer_account_id,
        carry_out_usd as carry_in_usd
    from warehouse.referrer_balances
    where settlement_month = $previous_month and carry_out_usd <> 0
),

referee_deltas as (
    select
        referrer_account_id,
        sum(delta_usd) as referee_deltas_usd,
        count(*) filter (where delta_usd <> 0) as referee_count
    from referee_status
    where is_winning_listing and delta_usd <> 0
    group by referrer_account_id
),

combined as (
    select
        coalesce(carried_in.referrer_account_id, referee_deltas.referrer_account_id)
            as referrer_account_id,
        coalesce(carried_in.carry_in_usd, 0) as carry_in_usd,
        coalesce(referee_deltas.referee_deltas_usd, 0) as referee_deltas_usd,
        coalesce(referee_deltas.referee_count, 0) as referee_count
    from carried_in
    full outer join referee_deltas on carried_in.referrer_account_id = referee_deltas.referrer_account_id
),

final as (
    select
        cast($settlement_month as varchar) as settlement_month,
        referrer_account_id,
        to_cents(carry_in_usd) as carry_in_usd,
        to_cents(referee_deltas_usd) as referee_deltas_usd,
        cast(referee_count as integer) as referee_count,
        to_cents(greatest(carry_in_usd + referee_deltas_usd, 0)) as coupon_amount_usd,
        to_cents(least(carry_in_usd + referee_deltas_usd, 0)) as carry_out_usd
    from combined
)

select * from final
