/* identity
   kind: macro
   purpose: identity_skeleton(key), the form of an identity key that two lookalike keys
            share (rules 3-5 compare people by it, int_referral_reasons).
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none
   The rule is the Python function transforms/identity.py identity_skeleton, registered on
   every connection as identity_skeleton_python (sql_runner.run_macros). Its first step
   takes a key of printable ASCII only (' '..'~', the empty key too) to its lower case;
   that step is taken here in SQL, so the common key does not cross into Python once per
   row: 0.4 s a month at 1M referrals, two keys each
   (docs/performance.md#the-identity-skeleton-in-sql-for-the-common-key-2026-12-06-afternoon).
   Every other key goes to the Python function whole. tests/test_units.py checks, for
   any keys, that this macro gives each key what the Python function gives it. */
create or replace macro identity_skeleton(key) as
case
    when regexp_full_match(key, '[ -~]*') then lower(key)
    else identity_skeleton_python(key)
end;
