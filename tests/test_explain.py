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
from tests.rules import BONUS_WINDOW_LAST_DAY, bonus_payable_month, day
from tests.world import World
from transforms import months
from transforms.errors import InputError
from transforms.pipeline import explain, explain_render, export

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
    "bonus_window_spend_usd",
    "eligible_spend_to_date_usd",
    "lines",
    # issue 28: everything the text shows
    "registered_date",
    "is_winning_listing",
    "delta_base_usd",
    "delta_bonus_usd",
    "base_status",
    "bonus_status",
    "is_capped",
    "credited_before_usd",
    "credited_to_date_usd",
    "friend_credited_to_date_usd",
    "pending_usd",
    "payable_on",
    "why",
    "lines_not_counted",
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


# friend-a registers on Jan 2 and friend-b on Jan 5: both bases are paid in February, and
# both bonuses in BONUS_MONTH, the month of the end of friend-a's bonus window + the hold
# (May with the shipped 90 days); the month before it has no coupon
R_A = date(2025, 1, 2)
BONUS_MONTH = bonus_payable_month(R_A)
NO_COUPON_MONTH = months.previous_month(BONUS_MONTH)
UNLINKED_ON = day(BONUS_WINDOW_LAST_DAY + 19, R_A)  # after the bonus window
LATE_BUY_ON = day(BONUS_WINDOW_LAST_DAY + 30, R_A)  # likewise, and visible in BONUS_MONTH


def _settled(world: World) -> World:
    assert bonus_payable_month(date(2025, 1, 5)) == BONUS_MONTH > "2025-03"
    world.refer("friend-a", "referrer", R_A)
    world.spend("friend-a", date(2025, 1, 1), "40.00", record_id="before-R")  # before R
    purchase = world.spend("friend-a", date(2025, 1, 3), "60.00", record_id="buy")
    world.spend("friend-a", date(2025, 2, 1), "50.00", product="cdn", record_id="cdn")
    world.spend("friend-a", UNLINKED_ON, "-5.00", record_id="unlinked")
    world.spend("friend-a", LATE_BUY_ON, "100.00", record_id="late-buy")
    world.spend("friend-a", LATE_BUY_ON, "-10.00", record_id="refund", original=purchase)
    # friend-b, R = Jan 5: a refund naming a record never delivered counts on its own date
    world.refer("friend-b", "referrer", date(2025, 1, 5))
    world.spend("friend-b", date(2025, 1, 6), "96.26", record_id="b-buy")
    world.spend("friend-b", date(2025, 2, 1), "-6.26", record_id="b-refund", original="nowhere")
    world.settle("2025-01", BONUS_MONTH)
    return world


@pytest.fixture(scope="module")
def settled(tmp_path_factory) -> World:
    """Settled once for the tests that only read it (explain replays into a scratch OUT of
    its own, and a moved data directory is a copy under the test's tmp_path)."""
    return _settled(World(tmp_path_factory.mktemp("settled")))


@pytest.fixture
def own_settled(world) -> World:
    """The same months in a world of its own, for a test that changes its snapshots."""
    return _settled(world)


def test_explain_json_has_the_fixed_keys_and_the_hand_computed_lines(settled, capsys):
    code, out, err = run_cli(
        [
            "explain",
            "--out",
            str(settled.out),
            "--month",
            BONUS_MONTH,
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
    # BONUS_MONTH: both bonuses become payable (friend-a 10 % of (60 - 10 - 5 - 20) = 2.50,
    # friend-b 10 % of (96.26 - 6.26 - 20) = 7.00); the bases were paid in February
    assert (document["coupon_usd"], document["carry_in_usd"], document["carry_out_usd"]) == (
        "9.50",
        "0.00",
        "0.00",
    )
    friend_a, friend_b = document["referees"]
    assert list(friend_a) == REFEREE_KEYS and list(friend_a["lines"][0]) == LINE_KEYS
    assert {k: friend_a[k] for k in REFEREE_KEYS[:7]} == {
        "referee_account_id": "friend-a",
        "reason_code": "ok",
        "delta_usd": "2.50",
        "q_date": "2025-01-03",
        "hold_ends_on": "2025-02-02",
        "bonus_window_spend_usd": "45.00",
        "eligible_spend_to_date_usd": "145.00",
    }
    assert (friend_a["delta_base_usd"], friend_a["delta_bonus_usd"]) == ("0.00", "2.50")
    assert (friend_a["base_status"], friend_a["bonus_status"]) == ("earned", "earned")
    assert (friend_a["credited_before_usd"], friend_a["credited_to_date_usd"]) == (
        "20.00",
        "22.50",
    )
    assert [(w["rule"], w["code"]) for w in friend_a["why"]] == [
        ("rule 2", "base_credited"),
        ("rule 3", "bonus_earned"),
    ]
    # why not: the line billed before R and the ineligible CDN line, each with its rule
    assert [
        (line["record_id"], line["cash_usd"], line["excluded_by"])
        for line in friend_a["lines_not_counted"]
    ] == [
        ("before-R", "40.00", "before_registration"),
        ("cdn", "50.00", "ineligible_product"),
    ]
    # the line before R and the ineligible cdn line count nowhere; the linked refund counts
    # on its purchase's date; the unlinked refund after the bonus window counts in both
    assert [
        (line["record_id"], line["effective_date"], line["cash_usd"], line["counts_in"])
        for line in friend_a["lines"]
    ] == [
        ("buy", "2025-01-03", "60.00", ["bonus_window", "qualification_window"]),
        ("refund", "2025-01-03", "-10.00", ["bonus_window", "qualification_window"]),
        ("unlinked", f"{UNLINKED_ON}", "-5.00", ["bonus_window", "qualification_window"]),
        ("late-buy", f"{LATE_BUY_ON}", "100.00", ["qualification_window"]),
    ]
    assert friend_a["lines"][1]["original_record_id"] == "buy"
    assert friend_a["lines"][1]["billing_date"] == f"{LATE_BUY_ON}"
    assert [(line["record_id"], line["counts_in"]) for line in friend_b["lines"]] == [
        ("b-buy", ["bonus_window", "qualification_window"]),
        ("b-refund", ["bonus_window", "qualification_window"]),
    ]
    assert (friend_b["delta_usd"], friend_b["bonus_window_spend_usd"]) == ("7.00", "90.00")


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
    (found,) = explain.explain_month(settled.out, NO_COUPON_MONTH, ["referrer"])
    assert found.coupon_usd is None and found.deltas_usd == 0
    assert "no coupon" in explain_render.format_text(found)
    assert explain_render.as_json(found)["coupon_usd"] is None


def test_a_sum_that_does_not_reconcile_is_reported(settled):
    (found,) = explain.explain_month(settled.out, BONUS_MONTH, ["referrer"])
    assert explain.reconciliation_problems(found) == []
    friend_a = found.referees[0]
    short = dataclasses.replace(friend_a, lines=friend_a.lines[1:])
    broken = dataclasses.replace(found, referees=(short, *found.referees[1:]))
    assert explain.reconciliation_problems(broken) == [
        "friend-a: lines in bonus_window sum to -15.00, published 45.00",
        "friend-a: lines in qualification_window sum to 85.00, published 145.00",
    ]
    off = dataclasses.replace(found, carry_in_usd=Decimal("1.00"))
    assert "carry in 1.00" in explain.reconciliation_problems(off)[0]


def test_explain_refuses_a_data_directory_that_changed(settled, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(settled.data, moved)
    # a copy elsewhere holds the same inputs: the fingerprint is of contents, not paths
    (found,) = explain.explain_month(settled.out, BONUS_MONTH, ["referrer"], data_dir=moved)
    assert found.coupon_usd == Decimal("9.50")
    january = next((moved / "billing" / "billing_cycle=2025-01").glob("*.parquet"))
    january.write_bytes(
        next((moved / "billing" / "billing_cycle=2025-02").glob("*.parquet")).read_bytes()
    )
    with pytest.raises(
        InputError, match=f"no longer holds the billing files {BONUS_MONTH} was settled on"
    ):
        explain.explain_month(settled.out, BONUS_MONTH, ["referrer"], data_dir=moved)


def test_explain_of_an_unknown_referrer_or_month_is_a_usage_error(settled, capsys):
    base = ["explain", "--out", str(settled.out), "--referrer"]
    code, _, err = run_cli([*base, "nobody", "--month", BONUS_MONTH], capsys)
    assert code == 2 and "no referral of referrer 'nobody'" in err
    code, _, err = run_cli([*base, "referrer", "--month", "2025-09"], capsys)
    assert code == 2 and "2025-09 is not settled" in err


def test_a_run_ends_by_pointing_to_the_catalog_the_report_and_an_explain_command(settled, capsys):
    cli_commands.point_to_catalog(settled.out)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"analysts: duckdb -readonly {settled.out / 'catalog.duckdb'}")
    assert printed[1] == f"month report: {settled.out / 'reports' / BONUS_MONTH / 'index.html'}"
    # BONUS_MONTH's only coupon (9.50) is the newest month's largest
    assert printed[2] == (
        f"explain a coupon: creditflow explain --out {settled.out} --month {BONUS_MONTH} "
        "--referrer referrer"
    )


def _taken_over(world):
    """A friend listed by A is paid its base (April); in May the referrals snapshot brings
    B's listing of the same friend, registered earlier: B wins, A keeps the 20.00, and the
    friend's bonus (8.00, June) is B's."""
    world.refer("friend", "A", date(2025, 3, 5))
    world.spend("friend", date(2025, 3, 6), "100.00")
    world.settle("2025-03", "2025-04")
    world.refer("friend", "B", date(2025, 3, 1))
    world.settle("2025-05", "2025-06")
    return world


def test_a_friend_taken_over_is_on_both_statements_with_what_each_was_paid(world):
    _taken_over(world)
    a, b = explain.explain_month(world.out, "2025-06", ["A", "B"])
    (old,), (new,) = a.referees, b.referees
    assert (old.credited_before_usd, old.delta_usd, old.credited_to_date_usd) == (
        Decimal("20.00"),
        Decimal("0.00"),
        Decimal("20.00"),
    )
    assert (
        "took it over (duplicate_referee): keeps the USD 20.00 paid here"
        in explain_render.rule_behind(old)
    )
    assert (new.credited_before_usd, new.delta_usd, new.credited_to_date_usd) == (
        Decimal("0.00"),
        Decimal("8.00"),
        Decimal("8.00"),
    )
    assert new.friend_credited_to_date_usd == Decimal("28.00")
    assert "to date 8.00 (the friend's total USD 28.00" in explain_render.format_text(b)
    sheets = {s.name: s for s in export.month_sheets(world.out, "2025-06")}
    statements = sheets["Statements"]
    rows = {row[0]: dict(zip(statements.columns, row, strict=True)) for row in statements.rows}
    assert (rows["A"]["credited_before_usd"], rows["A"]["credited_to_date_usd"]) == (
        Decimal("20.00"),
        Decimal("20.00"),
    )
    assert rows["A"]["reason_code"] == "duplicate_referee"
    assert (rows["B"]["credited_before_usd"], rows["B"]["credited_to_date_usd"]) == (
        Decimal("0.00"),
        Decimal("8.00"),
    )
    assert rows["B"]["friend_credited_to_date_usd"] == Decimal("28.00")


def test_a_past_month_is_explained_the_same_after_its_snapshots_moved_on(own_settled):
    """The statuses, windows and amounts explain shows are the month's stored decisions;
    the bill lines are read again from billing files checked by digest. A month is still
    explained, identically, once the accounts and referrals snapshots changed."""
    before = explain_render.format_text(
        explain.explain_month(own_settled.out, "2025-02", ["referrer"])[0]
    )
    own_settled.accounts["referrer"]["risk_status"] = "fraud"  # the snapshot's row changed
    own_settled.accounts["friend-b"]["identity_key"] = "someone-else"
    own_settled.refer("friend-c", "referrer", date(2025, 1, 20))  # a referral delivered late
    own_settled.write()
    after = explain_render.format_text(
        explain.explain_month(own_settled.out, "2025-02", ["referrer"])[0]
    )
    assert after == before
    assert "friend-c" not in after  # the month's decisions, not today's snapshot
