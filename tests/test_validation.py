"""Write-audit-publish: a failed expectation stops the run before anything is published."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from flows import output_validation, stages
from flows.errors import ValidationFailure
from transforms.rules import load_rules


def _world(world):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "150.00")
    return world


def test_suites_take_caps_and_dates_as_parameters_not_literals():
    for name, suite in output_validation.load_suite_definitions().items():
        text = json.dumps(suite)
        assert "300" not in text and "365" not in text and "USD" not in text, name
    assert '"$PARAMETER": "cap_per_referee_cents"' in json.dumps(
        output_validation.load_suite_definitions()["referee_credits"]
    )


def test_bad_coupon_frame_names_the_expectation_and_offending_rows(tmp_path):
    frames = {
        "referee_credits": pd.DataFrame(
            [
                {
                    "referee_account_id": "f1",
                    "referrer_account_id": "r1",
                    "reason_code": "ok",
                    "base_status": "earned",
                    "entitlement_cents": 30100,
                    "credited_to_date_cents": 2000,
                },
            ]
        ),
        "coupon_batch": pd.DataFrame(
            [
                {
                    "referrer_account_id": "r1",
                    "amount_usd": Decimal("-1.00"),
                    "currency": "USD",
                    "issued_on": date(2025, 5, 5),
                    "valid_from": date(2025, 5, 5),
                    "valid_to": date(2026, 5, 4),
                    "is_transferable": False,
                    "validity_days": 365,
                    "coupon_code_digest": "a",
                    "amount_text": "-1.00",
                },
                {
                    "referrer_account_id": "r1",
                    "amount_usd": Decimal("2.50"),
                    "currency": "EUR",
                    "issued_on": date(2025, 5, 5),
                    "valid_from": date(2025, 5, 6),
                    "valid_to": date(2026, 5, 4),
                    "is_transferable": True,
                    "validity_days": 364,
                    "coupon_code_digest": "a",
                    "amount_text": "2.5",
                },
            ]
        ),
        "ledger_conservation": pd.DataFrame(
            [
                {
                    "ledger_deltas_usd": Decimal(1),
                    "coupons_usd": Decimal(0),
                    "carry_change_usd": Decimal(0),
                    "imbalance_usd": Decimal(-1),
                    "max_credited_to_date_usd": Decimal(20),
                    "min_credited_to_date_usd": Decimal(0),
                }
            ]
        ),
    }
    failures = output_validation.validate(
        frames, output_validation.suite_parameters(load_rules()), tmp_path / "report"
    )
    described = {(f.suite, f.expectation, f.column) for f in failures}
    assert described == {
        ("referee_credits", "expect_column_values_to_be_between", "entitlement_cents"),
        ("coupon_batch", "expect_column_values_to_be_unique", "coupon_code_digest"),
        ("coupon_batch", "expect_column_values_to_be_unique", "referrer_account_id"),
        ("coupon_batch", "expect_column_values_to_be_between", "amount_usd"),
        ("coupon_batch", "expect_column_values_to_match_regex", "amount_text"),
        ("coupon_batch", "expect_column_values_to_be_in_set", "currency"),
        ("coupon_batch", "expect_column_values_to_be_between", "validity_days"),
        ("coupon_batch", "expect_column_pair_values_to_be_equal", "valid_from,issued_on"),
        ("coupon_batch", "expect_column_values_to_be_in_set", "is_transferable"),
        ("ledger_conservation", "expect_column_values_to_be_between", "imbalance_usd"),
    }
    entitlement = next(f for f in failures if f.column == "entitlement_cents")
    assert entitlement.examples == [30100]
    assert (tmp_path / "report" / "index.html").is_file()


def test_failed_expectation_publishes_nothing_and_leaves_the_ledger_unchanged(world, monkeypatch):
    _world(world).settle("2025-03")
    ledger_before = world.query("select * from ledger_entries order by all")
    real_compute = stages.compute

    def corrupting_compute(session):
        real_compute(session)
        session.con.execute("update referee_status set entitlement_usd = 301.00")

    monkeypatch.setattr(stages, "compute", corrupting_compute)
    with pytest.raises(ValidationFailure) as failure:
        world.settle("2025-04")
    message = str(failure.value)
    assert (
        "expect_column_values_to_be_between(entitlement_cents) of suite referee_credits" in message
    )
    assert "e.g. [30100]" in message
    assert "reports/2025-04/index.html" in message
    assert not (world.out / "batches" / "2025-04").exists()
    assert world.query("select max(settlement_month) from settlements") == [("2025-03",)]
    assert world.query("select * from ledger_entries order by all") == ledger_before
    assert (world.out / "reports" / "2025-04" / "index.html").is_file()


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
