"""Write-audit-publish: the month's staged outputs are validated with Great Expectations
before anything is published.

Suites are reviewable JSON files in expectations/ (versioned with the code); caps, dates
and the currency come in as run-time parameters, never hard-coded in a suite. GX checks
the small output frames; the large inputs are checked in DuckDB SQL (sql/audits/).
Results are written as Data Docs (HTML) under OUT/reports/YYYY-MM/.
"""

import csv
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import pandas as pd

from transforms.rules import REPO_ROOT, Rules

EXPECTATIONS_ROOT = REPO_ROOT / "expectations"
SUITES = ("referee_credits", "coupon_batch", "ledger_conservation")
EXAMPLES = 3


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


def _frame(con, sql: str) -> pd.DataFrame:
    # fetch rows, not .df(): DECIMAL must stay Decimal, never become float64
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def _arrow_frame(con, sql: str) -> pd.DataFrame:
    """A frame for the large per-referee output (a row per referee: 1M at scale): fetched
    as Arrow, text kept in Arrow strings, money as integer cents (exact, and int64 for
    pandas instead of a Python Decimal object per value)."""
    import pyarrow as pa

    def arrow_text(kind):
        return pd.ArrowDtype(kind) if pa.types.is_string(kind) else None

    return con.sql(sql).to_arrow_table().to_pandas(types_mapper=arrow_text)


def build_frames(con, coupons_csv: bytes) -> dict[str, pd.DataFrame]:
    """The frames each suite validates, from the month's staged (not yet published) rows."""
    credits = _arrow_frame(
        con,
        """select referee_account_id, referrer_account_id, reason_code, base_status,
                  cast(entitlement_usd * 100 as bigint) as entitlement_cents,
                  cast(credited_to_date_usd * 100 as bigint) as credited_to_date_cents
           from referee_status where is_winning_listing""",
    )
    # the csv module, not split(","): the writer quotes ids that contain a comma
    rendered = list(csv.DictReader(io.StringIO(coupons_csv.decode())))
    coupons = _frame(
        con,
        """select referrer_account_id, amount_usd, currency, issued_on, valid_from, valid_to,
                  is_transferable, (valid_to - valid_from) + 1 as validity_days
           from coupons order by referrer_account_id""",
    )
    by_referrer = {row["referrer_account_id"]: row for row in rendered}
    # the code itself never enters a frame (reports show offending values)
    coupons["coupon_code_digest"] = [
        hashlib.sha256(by_referrer[r]["coupon_code"].encode()).hexdigest()[:16]
        for r in coupons["referrer_account_id"]
    ]
    coupons["amount_text"] = [by_referrer[r]["amount"] for r in coupons["referrer_account_id"]]
    totals = con.execute(
        """select
            (select coalesce(sum(amount_usd), 0) from ledger_entries),
            (select coalesce(sum(amount_usd), 0) from coupons),
            (select coalesce(sum(carry_out_usd) - sum(carry_in_usd), 0) from referrer_balances),
            (select coalesce(max(credited_to_date_usd), 0) from referee_status
             where is_winning_listing),
            (select coalesce(min(credited_to_date_usd), 0) from referee_status
             where is_winning_listing)"""
    ).fetchone()
    ledger, issued, carry_change, max_credited, min_credited = (Decimal(v) for v in totals)
    conservation = pd.DataFrame(
        [
            {
                "ledger_deltas_usd": ledger,
                "coupons_usd": issued,
                "carry_change_usd": carry_change,
                "imbalance_usd": issued + carry_change - ledger,
                "max_credited_to_date_usd": max_credited,
                "min_credited_to_date_usd": min_credited,
            }
        ]
    )
    return {
        "referee_credits": credits,
        "coupon_batch": coupons,
        "ledger_conservation": conservation,
    }


def suite_parameters(rules: Rules) -> dict:
    return {
        "cap_per_referee_usd": rules.cap_per_referee_usd,
        "cap_per_referee_cents": int(rules.cap_per_referee_usd * 100),
        "currencies": [rules.currency],
        "coupon_validity_days": rules.coupon_validity_days,
        "transferable_values": [rules.coupon_transferable],
    }


def load_suite_definitions() -> dict[str, dict]:
    return {name: json.loads((EXPECTATIONS_ROOT / f"{name}.json").read_text()) for name in SUITES}


@cache
def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.registry import get_expectation_impl

    return gx, ProgressBarsConfig, get_expectation_impl


def _context(report_dir: Path):
    """A fresh ephemeral GX context whose Data Docs site is report_dir (one month each,
    so a report never shows another month's results)."""
    gx, progress_bars_config, get_expectation_impl = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = progress_bars_config(globally=False)  # no bars in logs
    context.add_data_docs_site(
        site_name="report",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                # GX needs an absolute path; OUT is often given relative (make run: --out out)
                "base_directory": str(report_dir.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("creditflow_outputs")
    definitions = {}
    for name, definition in load_suite_definitions().items():
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=name,
                expectations=[
                    get_expectation_impl(e["type"])(**e["kwargs"])
                    for e in definition["expectations"]
                ],
            )
        )
        batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
        definitions[name] = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
    return context, definitions


def validate(frames: dict[str, pd.DataFrame], parameters: dict, report_dir: Path) -> list[Failure]:
    """Validate every suite; write the Data Docs to report_dir; return the failures."""
    if report_dir.exists():
        shutil.rmtree(report_dir)
    context, definitions = _context(report_dir)
    failures = []
    for name, definition in definitions.items():
        result = definition.run(
            batch_parameters={"dataframe": frames[name]},
            expectation_parameters=parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
        )
        for outcome in result.results:
            if outcome.success:
                continue
            kwargs = outcome.expectation_config.kwargs
            failures.append(
                Failure(
                    suite=name,
                    expectation=outcome.expectation_config.type,
                    column=kwargs.get("column")
                    or f"{kwargs.get('column_A')},{kwargs.get('column_B')}",
                    unexpected_count=outcome.result.get("unexpected_count", 0),
                    examples=outcome.result.get("partial_unexpected_list", [])[:EXAMPLES],
                )
            )
    context.build_data_docs(site_names=["report"])
    return failures
