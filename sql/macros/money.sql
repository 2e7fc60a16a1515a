/* money
   kind: macro
   purpose: the single place where an amount is rounded (half-up to whole cents), and the
            one way an amount becomes the ledger's cents without rounding (to_cents).
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none
   DuckDB's round() on a DECIMAL rounds half away from zero, which is half-up for
   the non-negative amounts the rules round (the bonus); the cast pins the scale. */
create or replace macro round_half_up_cents(amount_usd) as
cast(round(amount_usd, 2) as decimal(18, 2));

-- An amount that must already be whole cents (a sum or difference of cents, a rule's amount),
-- typed as the ledger's DECIMAL(18, 2). Anything finer is an error, never a silent second
-- rounding: round_half_up_cents above is the only place an amount is rounded.
create or replace macro to_cents(amount_usd) as
case
    when amount_usd <> round(amount_usd, 2)
        then error('to_cents: ' || amount_usd || ' is not a whole number of cents')
    else cast(amount_usd as decimal(18, 2))
end;
