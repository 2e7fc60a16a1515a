/* rollforward_balance
   kind: audit
   purpose: the roll-forward identity of the instrument ledger, per kind, before anything
            is published: opening + issued - redeemed or used - expired = closing.
   grain: one row per unbalanced instrument_kind
   parameters: none
   inputs: instrument_rollforward
   returns: the unbalanced kinds (zero rows = pass) */
select
    instrument_kind,
    opening_outstanding_usd + issued_usd - redeemed_or_used_usd - expired_usd
        as expected_closing_usd,
    closing_outstanding_usd
from instrument_rollforward
where
    opening_outstanding_usd + issued_usd - redeemed_or_used_usd - expired_usd
    <> closing_outstanding_usd
