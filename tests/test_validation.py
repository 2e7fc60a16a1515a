"""Write-audit-publish: a broken invariant (SQL audit over the relations) or a failed
expectation (Great Expectations over the rendered coupon file) stops the run before anything
is published."""

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest

from transforms.errors import ValidationFailure
from transforms.pipeline import gx_validation, settlement
from transforms.pipeline.runner import Stage
from transforms.rules import load_rules

HEADER = (
    "coupon_code,referrer_account_id,amount,currency,issued_on,valid_from,valid_to,"
    "transferable,excluded_products,referee_count,settlement_month\n"
)


def _world(world):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "150.00")
    return world


def _corrupt_after_compute(monkeypatch, statement: str) -> None:
    """Settle with a compute stage that corrupts its result the way a bug in a model would."""

    def corrupting_compute(run, registered):
        result = settlement.compute(run, registered)
        run.con.execute(statement)
        return result

    stages = tuple(
        Stage(s.name, corrupting_compute) if s.name == "compute" else s
        for s in settlement.PIPELINE.stages
    )
    monkeypatch.setattr(
        settlement, "PIPELINE", dataclasses.replace(settlement.PIPELINE, stages=stages)
    )


def test_the_suite_takes_currency_and_validity_as_parameters_not_literals():
    text = json.dumps(gx_validation.load_suite_definition())
    assert "365" not in text and "USD" not in text
    assert '"$PARAMETER": "coupon_validity_days"' in text


def test_a_bad_coupon_file_names_each_expectation_and_offending_rows(tmp_path):
    rendered = (
        HEADER
        + "C1,r1,-1.00,USD,2025-05-05,2025-05-05,2026-05-04,false,swas,1,2025-04\n"
        + "C1,r1,2.5,EUR,2025-05-05,2025-05-06,2026-05-04,true,swas,1,2025-04\n"
    ).encode()
    failures = gx_validation.validate_coupon_file(rendered, load_rules(), tmp_path / "report")
    described = {(f.expectation, f.column) for f in failures}
    assert described == {
        ("expect_column_values_to_be_unique", "coupon_code_digest"),
        ("expect_column_values_to_be_unique", "referrer_account_id"),
        ("expect_column_values_to_be_between", "amount_usd"),
        ("expect_column_values_to_match_regex", "amount_text"),
        ("expect_column_values_to_be_in_set", "currency"),
        ("expect_column_values_to_be_between", "validity_days"),
        ("expect_column_pair_values_to_be_equal", "valid_from,issued_on"),
        ("expect_column_values_to_be_in_set", "is_transferable"),
    }
    currency = next(f for f in failures if f.column == "currency")
    assert currency.examples == ["EUR"]
    # every check's outcome is recorded for the month report
    recorded = json.loads((tmp_path / "report" / "validation.json").read_text())
    assert recorded["rows"] == 2 and len(recorded["checks"]) == 8
    assert not any(passed for _, _, passed, _ in recorded["checks"])


def test_a_failed_expectation_publishes_nothing_and_leaves_the_ledger_unchanged(world, monkeypatch):
    _world(world).settle("2025-03")
    ledger_before = world.query("select * from ledger_entries order by all")
    _corrupt_after_compute(monkeypatch, "update coupons set valid_to = valid_to + 1")
    with pytest.raises(ValidationFailure) as failure:
        world.settle("2025-04")
    message = str(failure.value)
    assert "expect_column_values_to_be_between(validity_days) of suite coupon_batch" in message
    assert "e.g. [366]" in message
    assert "reports/2025-04/index.html" in message
    assert not (world.out / "batches" / "2025-04").exists()
    assert world.query("select max(settlement_month) from settlements") == [("2025-03",)]
    assert world.query("select * from ledger_entries order by all") == ledger_before
    assert (world.out / "reports" / "2025-04" / "index.html").is_file()


def test_a_broken_sql_invariant_publishes_nothing(world, monkeypatch):
    _world(world).settle("2025-03")
    _corrupt_after_compute(monkeypatch, "update referee_status set entitlement_usd = 301.00")
    with pytest.raises(ValidationFailure, match=r"invariant credit_bounds broken by 1 row\(s\)"):
        world.settle("2025-04")
    assert not (world.out / "batches" / "2025-04").exists()
    assert world.query("select max(settlement_month) from settlements") == [("2025-03",)]


def test_report_of_a_good_month_is_linked_and_holds_no_coupon_code(world):
    (outcome,) = _world(world).settle("2025-04")
    assert outcome.report_index == world.out / "reports" / "2025-04" / "index.html"
    code = (
        (world.out / "batches" / "2025-04" / "coupons.csv")
        .read_text()
        .splitlines()[1]
        .split(",")[0]
    )
    for page in Path(world.out / "reports").rglob("*.html"):
        assert code not in page.read_text()


def test_a_month_without_coupons_records_what_great_expectations_says_of_an_empty_file(
    tmp_path,
):
    """An empty file is recorded without running GX (gx_validation.validate); the record must
    be the one GX itself gives for the same empty frame, check by check."""
    rules = load_rules()
    failures = gx_validation.validate_coupon_file(HEADER.encode(), rules, tmp_path / "short")
    by_gx = gx_validation._validation().run(
        batch_parameters={"dataframe": gx_validation.coupon_frame(HEADER.encode())},
        expectation_parameters=gx_validation.suite_parameters(rules),
        result_format={"result_format": "SUMMARY"},
    )
    assert failures == []
    recorded = json.loads((tmp_path / "short" / "validation.json").read_text())
    assert recorded["rows"] == 0
    assert recorded["checks"] == sorted(
        [
            outcome.expectation_config.type,
            gx_validation._column(outcome.expectation_config.kwargs),
            bool(outcome.success),
            outcome.result.get("unexpected_count", 0) or 0,
        ]
        for outcome in by_gx.results
    )
    assert len(recorded["checks"]) == len(gx_validation.load_suite_definition()["expectations"])


def test_serves_warm_up_runs_the_whole_suite_on_a_coupon_that_passes(tmp_path, monkeypatch):
    """`creditflow serve` runs the suite once at its start (GX's first run is the slow one):
    on a sample that passes every check, as a month's coupons do, and recording nothing."""
    monkeypatch.chdir(tmp_path)
    assert gx_validation.prepare() is True
    assert list(tmp_path.iterdir()) == []
    # the sample passes only under its own parameters: the run really checks its values
    strict = dict(gx_validation._SAMPLE_PARAMETERS, currencies=["EUR"])
    sample = gx_validation._frame([gx_validation._SAMPLE_COUPON])
    assert not gx_validation._run(sample, strict).success


def test_a_build_on_the_warm_up_thread_is_the_one_the_month_uses(monkeypatch):
    """gx_validation.build_in_background: the month's validation waits for the thread's
    build instead of building a second one beside it."""
    import functools
    import time

    builds = []

    @functools.cache
    def slow_build():
        builds.append(1)
        time.sleep(0.3)
        return object()

    monkeypatch.setattr(gx_validation, "_built_validation", slow_build)
    thread = gx_validation.build_in_background()
    time.sleep(0.05)  # the thread is inside its build
    assert gx_validation._validation() is slow_build()
    thread.join()
    assert builds == [1]


def test_a_failed_build_on_the_warm_up_thread_is_raised_by_the_months_own_call(monkeypatch):
    def broken_build():
        raise RuntimeError("GX cannot be imported")

    monkeypatch.setattr(gx_validation, "_built_validation", broken_build)
    gx_validation.build_in_background().join()  # says nothing on its thread
    with pytest.raises(RuntimeError, match="GX cannot be imported"):
        gx_validation._validation()
