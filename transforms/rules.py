"""The rule configuration: one TOML file holds every number a settlement uses.

The parsed rules are recorded with each published month (canonical JSON and its
SHA-256), and bound into the SQL models as named parameters, never formatted in.
"""

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from transforms import contracts, months
from transforms.money import parse_usd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RULES_PATH = REPO_ROOT / "config" / "rules.toml"
JOURNAL_TABLE = "journal"  # the journal.* keys: account names (transforms/journal.py)
DEFAULT_ELIGIBLE_PRODUCTS_PATH = REPO_ROOT / "config" / "eligible_products.csv"

_AMOUNT_KEYS = (
    "base_credit_usd",
    "base_threshold_usd",
    "bonus_rate",
    "bonus_threshold_usd",
    "cap_per_referee_usd",
    "max_abs_line_amount_usd",
    "welcome_credit_usd",
    "welcome_discount_usd",
    "welcome_discount_min_order_usd",
)
_OPTIONAL_KEYS = {"id_pattern"}
_DAY_KEYS = (
    "qualification_window_days",
    "hold_days",
    "bonus_window_days",
    "coupon_issue_day_of_month",
    "coupon_validity_days",
    "welcome_validity_days",
)


@dataclass(frozen=True)
class Rules:
    currency: str
    base_credit_usd: Decimal
    base_threshold_usd: Decimal
    qualification_window_days: int
    hold_days: int
    bonus_window_days: int
    bonus_rate: Decimal
    bonus_threshold_usd: Decimal
    cap_per_referee_usd: Decimal
    max_abs_line_amount_usd: Decimal
    coupon_issue_day_of_month: int
    coupon_validity_days: int
    coupon_transferable: bool
    coupon_excluded_products: tuple[str, ...]
    welcome_credit_usd: Decimal
    welcome_discount_usd: Decimal
    welcome_discount_min_order_usd: Decimal
    welcome_validity_days: int
    welcome_products: tuple[str, ...]  # empty: the eligible products in effect at the cutoff
    # optional in the file: the id contract's pattern (an RE2 full match)
    id_pattern: str = contracts.DEFAULT_ID_PATTERN

    def canonical_json(self) -> str:
        """Stable text of the rules (sorted keys, amounts as strings) for recording and hashing."""
        data = {
            key: (str(value) if isinstance(value, Decimal) else value)
            for key, value in asdict(self).items()
        }
        data["coupon_excluded_products"] = list(self.coupon_excluded_products)
        data["welcome_products"] = list(self.welcome_products)
        if self.id_pattern == contracts.DEFAULT_ID_PATTERN:
            # recorded only when set: the rules hash of every month published with the
            # default stays what it was before the key existed
            del data["id_pattern"]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def month_dates(self, month: str) -> months.MonthDates:
        return months.MonthDates.of(month, self.coupon_issue_day_of_month)

    def sql_parameters(self, dates: months.MonthDates) -> dict[str, object]:
        """Everything the SQL may bind: the month's dates, every rule number and the input
        contract's allowed values, gathered in one place."""
        return {
            "settlement_month": dates.month,
            "previous_month": dates.previous_month,
            "cutoff_date": dates.cutoff_date,
            "issued_on": dates.issued_on,
            "currency": self.currency,
            "base_credit_usd": self.base_credit_usd,
            "base_threshold_usd": self.base_threshold_usd,
            "qualification_window_days": self.qualification_window_days,
            "hold_days": self.hold_days,
            "bonus_window_days": self.bonus_window_days,
            "bonus_rate": self.bonus_rate,
            "bonus_threshold_usd": self.bonus_threshold_usd,
            "cap_per_referee_usd": self.cap_per_referee_usd,
            "max_abs_line_amount_usd": self.max_abs_line_amount_usd,
            "coupon_validity_days": self.coupon_validity_days,
            "coupon_transferable": self.coupon_transferable,
            "coupon_excluded_products": list(self.coupon_excluded_products),
            "welcome_credit_usd": self.welcome_credit_usd,
            "welcome_discount_usd": self.welcome_discount_usd,
            "welcome_discount_min_order_usd": self.welcome_discount_min_order_usd,
            "welcome_validity_days": self.welcome_validity_days,
            "welcome_products": list(self.welcome_products),
            "id_pattern": self.id_pattern,
            **contracts.allowed_values(),
        }


class RulesError(ValueError):
    """The rules file is missing a key or holds a value of the wrong kind."""


def load_rules(path: Path | None = None) -> Rules:
    """Parse and check a rules TOML file (the shipped default when path is None)."""
    path = Path(path) if path else DEFAULT_RULES_PATH
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RulesError(f"{path}: cannot read rules: {error}") from error
    # the journal's chart of accounts is presentation, read by transforms/journal.py: it is
    # not a settlement rule, so it is not in the rules' digest (renaming an account changes
    # no published month)
    raw.pop(JOURNAL_TABLE, None)
    expected = {field for field in Rules.__dataclass_fields__}
    missing, unknown = expected - raw.keys() - _OPTIONAL_KEYS, raw.keys() - expected
    if missing or unknown:
        raise RulesError(f"{path}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
    values: dict[str, object] = dict(raw)
    for key in _AMOUNT_KEYS:
        if not isinstance(raw[key], str):
            raise RulesError(f"{path}: {key} must be a quoted decimal string, got {raw[key]!r}")
        values[key] = parse_usd(raw[key])
        if values[key] < 0:
            raise RulesError(f"{path}: {key} must not be negative")
    for key in _DAY_KEYS:
        if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 0:
            raise RulesError(f"{path}: {key} must be a whole number of days >= 0")
    if not isinstance(raw["coupon_transferable"], bool):
        raise RulesError(f"{path}: coupon_transferable must be true or false")
    for key in ("coupon_excluded_products", "welcome_products"):
        if not isinstance(raw[key], list) or not all(isinstance(v, str) for v in raw[key]):
            raise RulesError(f"{path}: {key} must be a list of product codes")
        values[key] = tuple(raw[key])
    if "id_pattern" in raw and not isinstance(raw["id_pattern"], str):
        raise RulesError(f"{path}: id_pattern must be a quoted regular expression")
    rules = Rules(**values)
    problem = broken_promise(rules)
    if problem:
        raise RulesError(f"{path}: {problem}")
    return rules


def rules_from_json(text: str) -> Rules:
    """The rules a month was published with, from its recorded canonical JSON
    (Rules.canonical_json): amounts back to Decimal, lists back to tuples."""
    data = json.loads(text)
    for key in _AMOUNT_KEYS:
        data[key] = Decimal(data[key])
    for key in ("coupon_excluded_products", "welcome_products"):
        data[key] = tuple(data[key])
    return Rules(**data)


# the largest amount a rule may name: the ledger's columns are DECIMAL(18, 2)
MAX_RULE_AMOUNT_USD = Decimal("1000000000.00")
BONUS_RATE_PLACES = 4  # the rate is applied as DECIMAL(9, 4) (int_referee_entitlements)
MAX_DAYS = 3660  # ten years: any longer period is a typo, and dates must stay in range


def broken_promise(rules: Rules) -> str | None:
    """The first rule value that would break what the program promises (seed bounds, exact
    money, dates in range), as a sentence naming the key; None when every value keeps them."""
    for key in _AMOUNT_KEYS:
        amount = getattr(rules, key)
        if amount > MAX_RULE_AMOUNT_USD:
            return f"{key} = {amount} is larger than {MAX_RULE_AMOUNT_USD}"
        places = 2 if key != "bonus_rate" else BONUS_RATE_PLACES
        if amount != amount.quantize(Decimal(1).scaleb(-places)):
            unit = "whole cents" if places == 2 else f"at most {places} decimal places"
            return f"{key} = {amount} must be {unit} (it is applied at that precision)"
    if rules.bonus_rate > 1:
        return f"bonus_rate = {rules.bonus_rate} is more than 1 (100 % of the spend)"
    if rules.cap_per_referee_usd < rules.base_credit_usd:
        return "cap_per_referee_usd must be at least base_credit_usd"
    for key in _DAY_KEYS:
        if getattr(rules, key) > MAX_DAYS:
            return f"{key} = {getattr(rules, key)} is more than {MAX_DAYS} days"
    for key in ("qualification_window_days", "bonus_window_days", "coupon_validity_days"):
        if getattr(rules, key) < 1:
            return f"{key} must be at least 1 day"
    if rules.welcome_validity_days < 1:
        return "welcome_validity_days must be at least 1 day"
    if rules.bonus_window_days > rules.qualification_window_days:
        return "bonus_window_days must not be longer than qualification_window_days"
    if not 1 <= rules.coupon_issue_day_of_month <= 7:
        return "coupon_issue_day_of_month must be in the first week (1 to 7)"
    if rules.currency != "USD":
        # the seed's program and every amount column (*_usd) are in US dollars; the data's
        # currency is checked per line against this value
        return f"currency = {rules.currency!r}: the program pays in USD (every amount is *_usd)"
    for key in ("coupon_excluded_products", "welcome_products"):
        codes = getattr(rules, key)
        odd = [c for c in codes if not re.fullmatch(contracts.PRODUCT_CODE_PATTERN, c)]
        if odd:
            return f"{key}: {odd[0]!r} is not a product code (trimmed, lower case)"
        if len(set(codes)) != len(codes):
            return f"{key} lists a product twice"
    return _id_pattern_problem(rules.id_pattern)


def _id_pattern_problem(pattern: str) -> str | None:
    """The id pattern must compile and must refuse what the id contract always refuses: an
    empty id and surrounding spaces. (It may accept a leading = + - @: every file the
    project writes neutralises such cells, transforms/batch_file.safe_cell.)"""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        return f"id_pattern {pattern!r} is not a regular expression ({error})"
    for refused in ("", " a", "a "):
        if compiled.fullmatch(refused):
            return f"id_pattern {pattern!r} accepts {refused!r} (ids must be non-empty and trimmed)"
    return None
