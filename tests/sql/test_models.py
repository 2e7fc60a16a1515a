"""Every model's cases (tests/sql/<model>/<case>.yaml), run through the pipeline's SQL runner."""

import pytest

from tests.sql.harness import cases, run_case
from transforms.pipeline import sql_runner

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.model}/{c.name}" for c in CASES])
def test_model_case(case):
    actual, expected = run_case(case)
    assert actual == expected, case.spec.get("description", "")


def test_every_intermediate_and_mart_model_has_cases():
    covered = {c.model for c in CASES}
    models = {
        m.name for m in sql_runner.models() if m.path.parent.name in ("intermediate", "marts")
    }
    assert models - covered == set()


# input audits judge delivered files: tests/bad_inputs/ holds a bad delivery per rule of
# each (the failing side, end to end: the exit-3 line, the quarantine) and base/ a clean one
INPUT_AUDITS = {
    "account_conflicts",
    "billing_record_conflicts",
    "billing_required_values",
    "referral_required_values",
    "coupon_usage_rules",
    "voucher_catalog_rules",
    "voucher_event_rules",
}


def test_every_output_audit_has_a_passing_and_a_failing_case():
    from tests.sql.harness import audits

    passing = {c.model for c in CASES if c.spec.get("expected") == []}
    failing = {c.model for c in CASES if c.spec.get("expected")}
    names = {a.name for a in audits()}
    assert names >= INPUT_AUDITS
    assert {
        name: (name in passing, name in failing)
        for name in names - INPUT_AUDITS
        if not (name in passing and name in failing)
    } == {}


def test_the_harness_compares_ids_as_text_and_amounts_by_value():
    from decimal import Decimal

    from tests.sql.harness import _text

    assert _text("001") != _text("1")  # an id column: "001" is not "1"
    assert _text("20.00", is_number=True) == _text(Decimal("20.0000"), is_number=True)
    assert _text(20, is_number=True) == _text("20.0", is_number=True)


def test_every_model_states_a_grain_the_harness_checks_or_says_why_not():
    from tests.sql.harness import GRAIN_NOT_A_KEY, grain_key

    # grains in words that name no column: checked by the audits and the models' own SQL
    in_words = {"int_instrument_events", "int_referral_reasons", "referee_status"}
    unchecked = {
        m.name
        for m in sql_runner.models()
        if grain_key(m.header.get("grain", "")) is None or m.name in GRAIN_NOT_A_KEY
    }
    assert unchecked == in_words | set(GRAIN_NOT_A_KEY)


def test_the_grain_check_finds_a_repeated_key():
    import duckdb

    from tests.sql.harness import grain_duplicates, grain_key

    assert grain_key("one row per (billing_cycle, record_id)") == ("billing_cycle", "record_id")
    assert grain_key("one row per referee_account_id (its winning listing)") == (
        "referee_account_id",
    )
    assert grain_key("one row per referral per settlement_month") is None
    with duckdb.connect() as con:
        con.execute("create table t as select * from (values ('a', 1), ('a', 1), ('b', 1)) v(k, n)")
        assert grain_duplicates(con, "t", ("k",)) == [("a", 2)]
        assert grain_duplicates(con, "t", ("k", "n")) == [("a", 1, 2)]
