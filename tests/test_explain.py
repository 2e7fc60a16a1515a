"""`creditflow explain` (docs/outputs.md#how-to-explain-a-coupon): one referrer's coupon,
friend by friend, down to the bill lines, reconciled against what was published."""

import dataclasses
import json
import shutil
from datetime import date
from decimal import Decimal

import pytest

from flows import cli_commands
from tests.helpers import run_cli
from transforms.errors import InputError
from transforms.pipeline import explain

JSON_KEYS = [
    "month",
    "referrer_account_id",
    "coupon_usd",
    "carry_in_usd",
    "carry_out_usd",
    "referees",
]
REFEREE_KEYS = [
    "referee_account_id",
    "reason_code",
    "delta_usd",
    "q_date",
    "hold_ends_on",
    "s90_usd",
    "s365_usd",
    "lines",
]
LINE_KEYS = [
    "record_id",
    "billing_date",
    "effective_date",
    "product_code",
    "subscription_type",
    "cash_usd",
    "original_record_id",
    "counts_in",
]


@pytest.fixture
def settled(world):
    # friend-a, R = Jan 2 (bonus window to Apr 1, + hold: payable at May's cutoff)
    world.refer("friend-a", "referrer", date(2025, 1, 2))
    world.spend("friend-a", date(2025, 1, 1), "40.00", record_id="before-R")  # before R
    purchase = world.spend("friend-a", date(2025, 1, 3), "60.00", record_id="buy")
    world.spend("friend-a", date(2025, 2, 1), "50.00", product="cdn", record_id="cdn")
    world.spend("friend-a", date(2025, 4, 20), "-5.00", record_id="unlinked")  # R+108
    world.spend("friend-a", date(2025, 5, 1), "100.00", record_id="late-buy")  # R+119
    world.spend("friend-a", date(2025, 5, 10), "-10.00", record_id="refund", original=purchase)
    # friend-b, R = Jan 5: a refund naming a record never delivered counts on its own date
    world.refer("friend-b", "referrer", date(2025, 1, 5))
    world.spend("friend-b", date(2025, 1, 6), "96.26", record_id="b-buy")
    world.spend("friend-b", date(2025, 2, 1), "-6.26", record_id="b-refund", original="nowhere")
    world.settle("2025-01", "2025-05")
    return world


def test_explain_json_has_the_fixed_keys_and_the_hand_computed_lines(settled, capsys):
    code, out, err = run_cli(
        [
            "explain",
            "--out",
            str(settled.out),
            "--month",
            "2025-05",
            "--referrer",
            "referrer",
            "--format",
            "json",
        ],
        capsys,
    )
    assert code == 0, err
    document = json.loads(out)
    assert list(document) == JSON_KEYS
    # May: both bonuses become payable (friend-a 10 % of (60 - 10 - 5 - 20) = 2.50,
    # friend-b 10 % of (96.26 - 6.26 - 20) = 7.00); the bases were paid in February
    assert (document["coupon_usd"], document["carry_in_usd"], document["carry_out_usd"]) == (
        "9.50",
        "0.00",
        "0.00",
    )
    friend_a, friend_b = document["referees"]
    assert list(friend_a) == REFEREE_KEYS and list(friend_a["lines"][0]) == LINE_KEYS
    assert {k: friend_a[k] for k in REFEREE_KEYS[:-1]} == {
        "referee_account_id": "friend-a",
        "reason_code": "ok",
        "delta_usd": "2.50",
        "q_date": "2025-01-03",
        "hold_ends_on": "2025-02-02",
        "s90_usd": "45.00",
        "s365_usd": "145.00",
    }
    # the line before R and the ineligible cdn line count nowhere; the linked refund counts
    # on its purchase's date; the unlinked refund after the bonus window counts in both
    assert [
        (line["record_id"], line["effective_date"], line["cash_usd"], line["counts_in"])
        for line in friend_a["lines"]
    ] == [
        ("buy", "2025-01-03", "60.00", ["w90", "w365"]),
        ("refund", "2025-01-03", "-10.00", ["w90", "w365"]),
        ("unlinked", "2025-04-20", "-5.00", ["w90", "w365"]),
        ("late-buy", "2025-05-01", "100.00", ["w365"]),
    ]
    assert friend_a["lines"][1]["original_record_id"] == "buy"
    assert friend_a["lines"][1]["billing_date"] == "2025-05-10"
    assert [(line["record_id"], line["counts_in"]) for line in friend_b["lines"]] == [
        ("b-buy", ["w90", "w365"]),
        ("b-refund", ["w90", "w365"]),
    ]
    assert (friend_b["delta_usd"], friend_b["s90_usd"]) == ("7.00", "90.00")


def test_explain_text_names_the_rules_and_sums(settled, capsys):
    code, out, err = run_cli(
        ["explain", "--out", str(settled.out), "--month", "2025-02", "--referrer", "referrer"],
        capsys,
    )
    assert code == 0, err
    assert "coupon USD 40.00" in out
    assert "carry in 0.00 + friends' deltas 40.00 = coupon 40.00 + carry out 0.00" in out
    assert out.count("rule 2: base earned") == 2


def test_a_referrer_without_a_coupon_says_why(settled):
    (found,) = explain.explain_month(settled.out, "2025-03", ["referrer"])
    assert found.coupon_usd is None and found.deltas_usd == 0
    assert "no coupon" in explain.format_text(found)
    assert explain.as_json(found)["coupon_usd"] is None


def test_a_sum_that_does_not_reconcile_is_reported(settled):
    (found,) = explain.explain_month(settled.out, "2025-05", ["referrer"])
    assert explain.reconciliation_problems(found) == []
    friend_a = found.referees[0]
    short = dataclasses.replace(friend_a, lines=friend_a.lines[1:])
    broken = dataclasses.replace(found, referees=(short, *found.referees[1:]))
    assert explain.reconciliation_problems(broken) == [
        "friend-a: lines in w90 sum to -15.00, published 45.00",
        "friend-a: lines in w365 sum to 85.00, published 145.00",
    ]
    off = dataclasses.replace(found, carry_in_usd=Decimal("1.00"))
    assert "carry in 1.00" in explain.reconciliation_problems(off)[0]


def test_explain_refuses_a_data_directory_that_changed(settled, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(settled.data, moved)
    # a copy elsewhere holds the same inputs: the fingerprint is of contents, not paths
    (found,) = explain.explain_month(settled.out, "2025-05", ["referrer"], data_dir=moved)
    assert found.coupon_usd == Decimal("9.50")
    january = next((moved / "billing" / "billing_cycle=2025-01").glob("*.parquet"))
    january.write_bytes(
        next((moved / "billing" / "billing_cycle=2025-02").glob("*.parquet")).read_bytes()
    )
    with pytest.raises(InputError, match="no longer holds the inputs 2025-05 was settled on"):
        explain.explain_month(settled.out, "2025-05", ["referrer"], data_dir=moved)


def test_explain_of_an_unknown_referrer_or_month_is_a_usage_error(settled, capsys):
    base = ["explain", "--out", str(settled.out), "--referrer"]
    code, _, err = run_cli([*base, "nobody", "--month", "2025-05"], capsys)
    assert code == 2 and "no referral of referrer 'nobody'" in err
    code, _, err = run_cli([*base, "referrer", "--month", "2025-09"], capsys)
    assert code == 2 and "2025-09 is not settled" in err


def test_a_run_ends_by_pointing_to_the_catalog_the_report_and_an_explain_command(settled, capsys):
    cli_commands.point_to_catalog(settled.out)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"analysts: duckdb -readonly {settled.out / 'catalog.duckdb'}")
    assert printed[1] == f"month report: {settled.out / 'reports' / '2025-05' / 'index.html'}"
    # May's only coupon (9.50) is the newest month's largest
    assert printed[2] == (
        f"explain a coupon: creditflow explain --out {settled.out} --month 2025-05 "
        "--referrer referrer"
    )
