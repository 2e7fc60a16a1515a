"""Hand mutants of the SQL models (issue 26, docs/testing.md#mutation-check): each one flips
a comparison or drops a clause that a rule depends on, in a copy of the repository, and runs
the tests; a mutant that no test kills is a rule no test pins.

    python -m tests.mutation.sql_mutants          # about 5 minutes when every mutant dies

The cheap tier (the model cases and the rule worlds) runs first; only a mutant it misses
runs the golden year and the random-world invariants.
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# (file, text, mutated text, what the mutant breaks)
MUTANTS = [
    ("sql/intermediate/int_referee_windows.sql",
     "spend_date > window_end_date as is_after_window",
     "spend_date >= window_end_date as is_after_window",
     "an unlinked refund on the window's last day counts twice"),
    ("sql/intermediate/int_referee_windows.sql",
     "spend_date > bonus_window_end_date as",
     "spend_date >= bonus_window_end_date as",
     "the 90-day bonus window loses its last day"),
    ("sql/intermediate/int_referee_windows.sql",
     "qualifying_spend_usd >= $base_threshold_usd\n",
     "qualifying_spend_usd > $base_threshold_usd\n",
     "spend of exactly the threshold no longer qualifies"),
    ("sql/intermediate/int_referee_entitlements.sql",
     "when windows.qualified_date + $hold_days > $cutoff_date then 'on_hold'",
     "when windows.qualified_date + $hold_days >= $cutoff_date then 'on_hold'",
     "the base's hold is a day longer"),
    ("sql/intermediate/int_referee_entitlements.sql",
     "when bonus_window_end_date + $hold_days > $cutoff_date then 'on_hold'",
     "when bonus_window_end_date + $hold_days >= $cutoff_date then 'on_hold'",
     "the bonus's hold is a day longer"),
    ("sql/intermediate/int_referee_entitlements.sql",
     "cast(least(earned_base_usd, cast($cap_per_referee_usd as decimal(18, 2))) as decimal(18, 2))",
     "cast(earned_base_usd as decimal(18, 2))",
     "the cap no longer bounds the base (equivalent: the rules refuse a cap below the base)"),
    ("sql/intermediate/int_referee_entitlements.sql",
     "least(earned_bonus_usd, cast($cap_per_referee_usd as decimal(18, 2)) - capped_base_usd)",
     "earned_bonus_usd",
     "the cap no longer bounds the bonus"),
    ("sql/intermediate/int_scanned_eligible_spend.sql",
     "            and accepted.billing_date >= referee_accounts.first_registered_date\n",
     "",
     "spend billed before the registration counts"),
    ("sql/macros/eligibility.sql",
     "and on_date >= listed_from_date",
     "and on_date > listed_from_date",
     "an eligible product loses its first effective day"),
    ("sql/macros/eligibility.sql",
     "or on_date <= listed_to_date",
     "or on_date < listed_to_date",
     "an eligible product loses its last effective day"),
    ("sql/macros/eligibility.sql",
     "and listed_subscription_type in ('*', line_subscription_type)",
     "and listed_subscription_type in ('*', listed_subscription_type)",
     "any subscription type of a listed product counts"),
    ("sql/marts/coupons.sql",
     "where coupon_amount_usd > 0",
     "where coupon_amount_usd >= 0",
     "zero-amount coupons are issued"),
    ("sql/marts/referrer_balances.sql",
     "cast(greatest(carry_in_usd + referee_deltas_usd, 0) as decimal(18, 2)) as coupon_amount_usd",
     "cast(carry_in_usd + referee_deltas_usd as decimal(18, 2)) as coupon_amount_usd",
     "a negative balance is paid as a negative coupon"),
    ("sql/macros/money.sql",
     "cast(round(amount_usd, 2) as decimal(18, 2))",
     "cast(round_even(amount_usd, 2) as decimal(18, 2))",
     "cents round half-even instead of half-up"),
]  # fmt: skip

CHEAP = ["tests/sql", "tests/rules"]
WIDE = ["tests/test_golden.py", "tests/test_invariants.py", "tests/test_liability.py"]


def _tests_pass(copy: Path, paths: list[str]) -> tuple[bool, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *paths],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    return done.returncode == 0, (failed[0].removeprefix("FAILED ") if failed else "")


def main() -> int:
    copy = Path(tempfile.mkdtemp(prefix="creditflow-sql-mutants-")) / "repo"
    ignored = shutil.ignore_patterns(".git", ".venv", "out", "__pycache__", ".hypothesis")
    shutil.copytree(REPO, copy, ignore=ignored)
    survivors = 0
    for path, text, mutated, what in MUTANTS:
        started, model = time.monotonic(), copy / path
        original = model.read_text()
        assert original.count(text) == 1, f"{path}: the mutated text is not there once: {text}"
        model.write_text(original.replace(text, mutated))
        try:
            passed, killer = _tests_pass(copy, CHEAP)
            if passed:
                passed, killer = _tests_pass(copy, WIDE)
        finally:
            model.write_text(original)
        survivors += passed
        verdict = "SURVIVED" if passed else f"killed by {killer}"
        print(f"{path}: {what}: {verdict} ({time.monotonic() - started:.0f} s)", flush=True)
    shutil.rmtree(copy.parent, ignore_errors=True)
    print(f"{len(MUTANTS)} mutants, {survivors} survived")
    return 0


if __name__ == "__main__":
    sys.exit(main())
