"""The journal's double entry (creditflow journal, docs/outputs.md#the-journal): pure
functions from the month's entries (sql/queries/journal_entries.sql) and the chart of
accounts (the rules file's journal.* keys) to balanced debit and credit lines."""

import tomllib
from decimal import Decimal
from pathlib import Path

from transforms.rules import DEFAULT_RULES_PATH, JOURNAL_TABLE, RulesError

# every account role an entry can post to: the rules file names each one
ROLES = (
    "program_expense",
    "accrued_credits",
    "credits_payable",
    "carries_recoverable",
    "referral_coupons",
    "welcome_expense",
    "welcome_rewards",
    "credits_used",
    "breakage",
    "voucher_clearing",
    "vouchers",
    "voucher_revenue",
    "voucher_breakage",
)
COLUMNS = [
    "journal_month",
    "entry_number",
    "line",
    "account",
    "debit_usd",
    "credit_usd",
    "entry_kind",
    "description",
    "source",
]
ZERO = Decimal("0.00")


def load_accounts(path: Path | None = None) -> dict[str, str]:
    """The account name of every role, from the rules file's journal.* keys: each role
    named once, by a non-empty name, and nothing else there."""
    path = Path(path) if path else DEFAULT_RULES_PATH
    try:
        table = tomllib.loads(path.read_text()).get(JOURNAL_TABLE)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RulesError(f"{path}: cannot read rules: {error}") from error
    if not isinstance(table, dict):
        raise RulesError(f"{path}: no {JOURNAL_TABLE}.* keys naming the journal's accounts")
    missing, unknown = set(ROLES) - table.keys(), table.keys() - set(ROLES)
    if missing or unknown:
        raise RulesError(
            f"{path}: {JOURNAL_TABLE}.* missing accounts {sorted(missing)}, "
            f"unknown accounts {sorted(unknown)}"
        )
    blank = sorted(role for role, name in table.items() if not str(name).strip())
    if blank or not all(isinstance(name, str) for name in table.values()):
        raise RulesError(f"{path}: {JOURNAL_TABLE}.* every account needs a name ({blank})")
    return dict(table)


def double_entry(entries: list[dict], accounts: dict[str, str]) -> list[tuple]:
    """Each entry as a debit line and a credit line of the same amount, in entry order."""
    lines = []
    for entry in entries:
        amount = entry["amount_usd"]
        if amount <= 0:
            raise ValueError(f"a journal entry moves a positive amount, not {amount}: {entry}")
        for line, role, debit, credit in (
            (1, entry["debit_role"], amount, ZERO),
            (2, entry["credit_role"], ZERO, amount),
        ):
            lines.append(
                (
                    entry["journal_month"],
                    entry["entry_number"],
                    line,
                    accounts[role],
                    debit,
                    credit,
                    entry["entry_kind"],
                    entry["description"],
                    entry["source"],
                )
            )
    return lines


def balances(lines: list[tuple]) -> dict[str, Decimal]:
    """Each account's debit minus credit over the lines."""
    found: dict[str, Decimal] = {}
    for line in lines:
        account, debit, credit = line[3], line[4], line[5]
        found[account] = found.get(account, ZERO) + debit - credit
    return found
