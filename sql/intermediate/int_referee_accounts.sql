/* int_referee_accounts
   kind: model
   purpose: the accounts that are referees, with their first registration: the date from
            which their bill lines are kept (int_cycle_eligible_spend,
            int_cycle_linked_lines) and which the incremental state records as covered
            (update_incremental_state).
   grain: one row per referee account_id
   parameters: none
   inputs: int_accepted_referrals
   A line billed before an account's first registration never counts for any of its
   listings (rule 1), so nothing before it is kept; the window of the listing that wins
   is applied later (int_referee_daily_spend). */
select
    referee_account_id as account_id,
    min(registered_date) as first_registered_date
from int_accepted_referrals
group by referee_account_id
