"""Write-audit-publish, the rendered-file half: the coupon batch file a month is about to
publish is validated with Great Expectations before anything is committed.

The suite is a reviewable JSON file in expectations/ (versioned with the code); the
currency, validity and transferability come in as run-time parameters, never hard-coded.
GX checks the rendered file; the invariants of the large relations are SQL audits
(sql/audits/), each checked in exactly one place. Every check's outcome is recorded in
OUT/reports/YYYY-MM/validation.json, which the month report (index.html) shows.
"""

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.pipeline.deferred_imports import deferred
from transforms.pipeline.files import atomic_write
from transforms.rules import REPO_ROOT, Rules

EXPECTATIONS_ROOT = REPO_ROOT / "expectations"
SUITE = "coupon_batch"
EXAMPLES = 3

if TYPE_CHECKING:  # pandas is imported only when there is a coupon to validate
    import pandas as pd


@dataclass(frozen=True)
class Failure:
    suite: str
    expectation: str
    column: str
    unexpected_count: int
    examples: list

    def describe(self) -> str:
        return (
            f"expectation {self.expectation}({self.column}) of suite {self.suite} failed for "
            f"{self.unexpected_count} row(s), e.g. {self.examples}"
        )


def _coupon_rows(coupons_csv: bytes) -> list[dict]:
    # the csv module, not split(","): the writer quotes ids that contain a comma
    return list(csv.DictReader(io.StringIO(coupons_csv.decode())))


def coupon_frame(coupons_csv: bytes) -> "pd.DataFrame":
    """The rendered coupons.csv as the suite reads it. The code itself never enters the
    frame (reports show offending values): only a digest of it does."""
    return _frame(_coupon_rows(coupons_csv))


def _frame(rows: list[dict]) -> "pd.DataFrame":
    import pandas as pd

    frame = pd.DataFrame.from_records(
        [
            {
                "coupon_code_digest": hashlib.sha256(row["coupon_code"].encode()).hexdigest()[:16],
                "referrer_account_id": row["referrer_account_id"],
                "amount_usd": Decimal(row["amount"]),
                "amount_text": row["amount"],
                "currency": row["currency"],
                "issued_on": date.fromisoformat(row["issued_on"]),
                "valid_from": date.fromisoformat(row["valid_from"]),
                "valid_to": date.fromisoformat(row["valid_to"]),
                "is_transferable": row["transferable"] == "true",
            }
            for row in rows
        ],
        columns=[
            "coupon_code_digest",
            "referrer_account_id",
            "amount_usd",
            "amount_text",
            "currency",
            "issued_on",
            "valid_from",
            "valid_to",
            "is_transferable",
        ],
    )
    frame["validity_days"] = [
        (to - since).days + 1
        for since, to in zip(frame["valid_from"], frame["valid_to"], strict=True)
    ]
    return frame


def suite_parameters(rules: Rules) -> dict:
    return {
        "currencies": [rules.currency],
        "coupon_validity_days": rules.coupon_validity_days,
        "transferable_values": [rules.coupon_transferable],
    }


def load_suite_definition() -> dict:
    return json.loads((EXPECTATIONS_ROOT / f"{SUITE}.json").read_text())


@cache
def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # scipy.stats and altair come with GX's KL-divergence expectation, which the suite
    # does not use: loaded on first use, if ever (transforms/pipeline/deferred_imports.py)
    with deferred("scipy.stats", "altair"):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.registry import get_expectation_impl

    # GX announces every ephemeral context at INFO ("Created temporary directory ... for
    # ephemeral docs site"): noise in an operator's log, once per month. That module sets
    # its own logger to INFO on import, so it is quieted by name, after the import.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)

    return gx, ProgressBarsConfig, get_expectation_impl


_BUILDING = threading.Lock()  # one build, whether a warm-up thread or the month asks first


def _validation():
    with _BUILDING:
        return _built_validation()


def build_in_background() -> threading.Thread:
    """Import GX and build the suite's validation on a thread, for a run that has seconds of
    SQL ahead of it: DuckDB releases the GIL while a query runs, so the import overlaps the
    month's SQL, and the month's validation takes the result (or waits for it). A failure
    here is left for the month's own call to raise."""

    def build() -> None:
        # nothing is cached of a failed build: the month's own call builds again and raises
        with contextlib.suppress(Exception):
            _validation()

    thread = threading.Thread(target=build, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


@cache
def _built_validation():
    """The coupon suite's validation in an ephemeral GX context, built once per process
    (a backfill validates every month with it: the frame and the rules' values are passed
    to each run, nothing of a month stays in it). No Data Docs: they load their styles from
    CDNs and copy megabytes per month; the month report (transforms/month_report.py)
    summarises the checks itself."""
    gx, progress_bars_config, get_expectation_impl = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = progress_bars_config(globally=False)  # no bars in logs
    definition = load_suite_definition()
    suite = context.suites.add(
        gx.ExpectationSuite(
            name=SUITE,
            expectations=[
                get_expectation_impl(e["type"])(**e["kwargs"]) for e in definition["expectations"]
            ],
        )
    )
    source = context.data_sources.add_pandas("creditflow_outputs")
    batch = source.add_dataframe_asset(name=SUITE).add_batch_definition_whole_dataframe(SUITE)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=SUITE, data=batch, suite=suite)
    )
    return validation


# A coupon that passes the suite, with the parameters it passes under: what prepare() runs.
_SAMPLE_COUPON = {
    "coupon_code": "SAMPLE",
    "referrer_account_id": "sample-referrer",
    "amount": "1.00",
    "currency": "USD",
    "issued_on": "2025-01-01",
    "valid_from": "2025-01-01",
    "valid_to": "2025-01-31",
    "transferable": "false",
}
_SAMPLE_PARAMETERS = {
    "currencies": ["USD"],
    "coupon_validity_days": 31,
    "transferable_values": [False],
}


def prepare() -> bool:
    """Import pandas and GX, build the suite's validation and run it once on a sample
    coupon: a long-lived process (`creditflow serve`) pays all of this once at its start
    instead of in its first month with coupons. GX's first run of a suite is the slow one,
    about 0.2 s more than the next inside serve (docs/performance.md#the-tiny-month-in-serve).
    Nothing is recorded; returns whether the sample passed (a test pins that it does)."""
    return bool(_run(_frame([_SAMPLE_COUPON]), _SAMPLE_PARAMETERS).success)


def _run(frame: "pd.DataFrame", parameters: dict):
    return _validation().run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters,
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
    )


def _column(kwargs: dict) -> str:
    return kwargs.get("column") or f"{kwargs.get('column_A')},{kwargs.get('column_B')}"


def _held_on_no_rows(report_dir: Path) -> list[Failure]:
    """A month without coupons: every expectation of the suite is about the values of a
    column (or a pair), so on no rows each holds with nothing unexpected. That is recorded
    as such, without importing pandas and GX and running the suite (seconds in a fresh
    process; tests/test_validation.py checks that GX itself says the same about an empty
    file)."""
    checks = [
        [e["type"], _column(e["kwargs"]), True, 0] for e in load_suite_definition()["expectations"]
    ]
    _record(report_dir, 0, checks)
    return []


def validate(frame: "pd.DataFrame", parameters: dict, report_dir: Path) -> list[Failure]:
    """Validate the coupon file's frame; record every check's outcome in
    report_dir/validation.json (the month report shows it); return the failures."""
    failures, checks = [], []
    if frame.empty:
        return _held_on_no_rows(report_dir)
    result = _run(frame, parameters)
    for outcome in result.results:
        column = _column(outcome.expectation_config.kwargs)
        expectation = outcome.expectation_config.type
        unexpected = outcome.result.get("unexpected_count", 0) or 0
        checks.append([expectation, column, bool(outcome.success), unexpected])
        if outcome.success:
            continue
        failures.append(
            Failure(
                suite=SUITE,
                expectation=expectation,
                column=column,
                unexpected_count=unexpected,
                examples=outcome.result.get("partial_unexpected_list", [])[:EXAMPLES],
            )
        )
    _record(report_dir, len(frame), checks)
    return failures


def _record(report_dir: Path, rows: int, checks: list) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    record = {"suite": SUITE, "rows": rows, "checks": sorted(checks)}
    atomic_write(
        report_dir / "validation.json",
        (json.dumps(record, indent=1, sort_keys=True) + "\n").encode(),
        mode=0o644,
    )


def validate_coupon_file(coupons_csv: bytes, rules: Rules, report_dir: Path) -> list[Failure]:
    rows = _coupon_rows(coupons_csv)  # parsed once: an empty file needs neither pandas nor GX
    if not rows:
        return _held_on_no_rows(report_dir)
    return validate(_frame(rows), suite_parameters(rules), report_dir)
