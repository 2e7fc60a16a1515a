/* eligibility
   kind: macro
   purpose: the one definition of rule 1's product test: a line counts on a day only when
            a row of the eligible products list names its product_code, names its
            subscription_type or '*', and is in effect that day (its first and its last
            effective day both count; no last day: still in effect). The caller reads the
            list (stg_eligible_products) and hands each row's columns in:
            int_scanned_eligible_spend (a line on its billing date), int_referee_daily_spend
            (a linked line on its effective date) and explain's bill lines
            (sql/queries/explain_bill_lines.sql) all test eligibility with it.
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none */
create or replace macro is_eligible_on(
    line_product_code,
    line_subscription_type,
    on_date,
    listed_product_code,
    listed_subscription_type,
    listed_from_date,
    listed_to_date
) as
listed_product_code = line_product_code
and listed_subscription_type in ('*', line_subscription_type)
and on_date >= listed_from_date
and (listed_to_date is null or on_date <= listed_to_date);
