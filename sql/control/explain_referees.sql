/* explain_referees
   kind: script
   purpose: the control relation explain_referees: the referees `creditflow explain` shows
            the bill lines of, with the windows of their winning listing as published
            (transforms/pipeline/explain.py derives them as int_referees does).
   grain: one row per referee_account_id
   parameters: none
   inputs: none */
create or replace temp table explain_referees (
    referee_account_id varchar primary key,
    registered_date date not null,
    window_end_date date not null,
    bonus_window_end_date date not null,
    visible_to_date date not null
)
