/* money
   kind: macro
   purpose: the single place where an amount is rounded: half-up to whole cents.
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none
   DuckDB's round() on a DECIMAL rounds half away from zero, which is half-up for
   the non-negative amounts the rules round (the bonus); the cast pins the scale. */
create or replace macro round_half_up_cents(amount_usd) as
cast(round(amount_usd, 2) as decimal(18, 2));
