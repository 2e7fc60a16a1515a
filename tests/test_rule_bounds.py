"""The rules file's bounds at their edges (transforms/rules.py `load_rules`, `broken_promise`;
docs/rules.md): every bound accepts its last good value and refuses the first bad one, and
the recorded rules text is canonical. Written for the mutants that survived the first
mutation run (docs/testing.md#mutation-check); the one-line messages per key are pinned in
tests/test_units.py."""

import json
import re
from decimal import Decimal

import pytest

from transforms import contracts
from transforms.money import format_usd, format_usd_grouped
from transforms.rules import DEFAULT_RULES_PATH, RulesError, load_rules


def rules_file(tmp_path, *lines: str):
    """The shipped rules file with each `key = value` line put in place of that key's line
    (added when the file has none), written under tmp_path: the edges do not depend on the
    shipped values."""
    text = DEFAULT_RULES_PATH.read_text()
    for line in lines:
        key = line.split(" = ")[0]
        text, found = re.subn(rf"^{key} = .*$", lambda _, new=line: new, text, flags=re.MULTILINE)
        if not found:
            text += f"{line}\n"
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def rules_with(tmp_path, *lines: str):
    """rules_file, loaded."""
    return load_rules(rules_file(tmp_path, *lines))


GOOD_AT_THE_EDGE = [
    # zero is a valid amount (a programme may pay no base, or need no minimum order)
    'welcome_discount_min_order_usd = "0.00"',
    'cap_per_referee_usd = "20.00"',  # cap = base credit
    'cap_per_referee_usd = "1000000000.00"',  # the largest
    'bonus_rate = "1"',  # all of the spend
    'bonus_rate = "0.1234"',  # four places for the rate
    "bonus_window_days = 365",  # as long as the qualification
    "welcome_validity_days = 1",
    "coupon_validity_days = 1",
    "bonus_window_days = 1",
    "coupon_issue_day_of_month = 1",
    "coupon_issue_day_of_month = 7",
    "hold_days = 0",
    "hold_days = 3660",
]


@pytest.mark.parametrize("edit", GOOD_AT_THE_EDGE, ids=GOOD_AT_THE_EDGE)
def test_the_last_good_value_of_each_bound_is_accepted(tmp_path, edit):
    rules_with(tmp_path, edit)


BAD_AT_THE_EDGE = [
    ('base_credit_usd = "-0.50"', "must not be negative"),
    ('cap_per_referee_usd = "1000000000.01"', "larger"),
    ('bonus_rate = "1.0001"', "more than 1"),
    # two places for every amount but the rate, whichever way the third place would round
    ('bonus_threshold_usd = "20.001"', "whole cents"),
    ('base_threshold_usd = "0.015"', "whole cents"),
    ("welcome_validity_days = 0", "welcome_validity_days"),
    ("bonus_window_days = 0", "bonus_window_days must be at least"),
    ("bonus_window_days = 366", "not be longer"),
    ("coupon_issue_day_of_month = 8", "first week"),
    ("hold_days = 3661", "more than 3660 days"),
    ("hold_days = true", "whole number of days"),
    ('hold_days = "30"', "whole number of days"),
    # the first bad code is named
    ('welcome_products = ["ECS", "Oss "]', "'ECS' is not"),
]


@pytest.mark.parametrize(
    ("edit", "message"), BAD_AT_THE_EDGE, ids=[line for line, _ in BAD_AT_THE_EDGE]
)
def test_the_first_bad_value_of_each_bound_is_refused(tmp_path, edit, message):
    with pytest.raises(RulesError, match=message):
        rules_with(tmp_path, edit)


def test_a_missing_rules_file_is_a_rules_error_naming_it(tmp_path):
    with pytest.raises(RulesError, match=r"no-such-rules\.toml: cannot read rules"):
        load_rules(tmp_path / "no-such-rules.toml")


def test_the_recorded_rules_text_is_canonical_and_names_only_a_changed_id_pattern(tmp_path):
    shipped = load_rules()
    recorded = json.loads(shipped.canonical_json())
    assert list(recorded) == sorted(recorded) and "id_pattern" not in recorded
    # the default pattern written out in the file is the same rules, the same hash
    default = f"id_pattern = '{contracts.DEFAULT_ID_PATTERN}'"  # a TOML literal string
    spelled_out = rules_with(tmp_path, default)
    assert spelled_out.sha256() == shipped.sha256()
    changed = rules_with(tmp_path, 'id_pattern = "[a-z]+"')
    assert '"id_pattern":"[a-z]+"' in changed.canonical_json()
    with pytest.raises(AttributeError):
        shipped.hold_days = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("amount", "text"),
    [("-1560.00", "-1,560.00"), ("1560.5", "1,560.50"), ("0", "0.00"), ("999.99", "999.99")],
)
def test_grouped_amounts_keep_the_sign_and_the_cents(amount, text):
    assert format_usd_grouped(Decimal(amount)) == text


@pytest.mark.parametrize("amount", ["0.015", "-0.015", "12.305", "-12.301"])
def test_an_amount_that_is_not_whole_cents_is_never_formatted(amount):
    with pytest.raises(ValueError, match="not a whole number of cents"):
        format_usd(Decimal(amount))
