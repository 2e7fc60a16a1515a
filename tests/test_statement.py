"""`creditflow statement` (docs/outputs.md#a-referrers-statement): one referrer's history
across months, every friend's entries and every coupon with a running balance that ends at
the ledger's carry out; a friend taken over is on both referrers' statements, each with
what it was paid. The sample year's every referrer is checked in tests/test_golden.py."""

import json
from datetime import date
from decimal import Decimal

from tests.helpers import run_cli
from transforms.pipeline import statement

D = Decimal


def test_the_balance_runs_through_entries_coupons_and_carries(world):
    world.refer("paid", "referrer", date(2025, 3, 1))
    world.spend("paid", date(2025, 3, 2), "30.00")  # base 20.00 paid in April
    world.spend("paid", date(2025, 5, 10), "-30.00")  # taken back in May: owes 20.00
    world.refer("held", "referrer", date(2025, 5, 10))
    world.spend("held", date(2025, 5, 20), "50.00")  # its base (June) absorbs the debt
    world.settle("2025-03", "2025-06")
    found = statement.statement(world.out, "referrer", None, None)
    assert [
        (
            x["settlement_month"],
            x["line_kind"],
            x["referee_account_id"],
            x["amount_usd"],
            x["balance_usd"],
        )
        for x in found.lines
    ] == [
        ("2025-04", "carried in", None, D("0.00"), D("0.00")),
        ("2025-04", "credit", "paid", D("20.00"), D("20.00")),
        ("2025-04", "coupon", None, D("-20.00"), D("0.00")),
        ("2025-05", "correction", "paid", D("-20.00"), D("-20.00")),
        ("2025-06", "credit", "held", D("20.00"), D("0.00")),
    ]
    assert (found.entries_usd, found.coupons_usd, found.closing_balance_usd) == (
        D("20.00"),
        D("20.00"),
        D("0.00"),
    )
    may = statement.statement(world.out, "referrer", "2025-05", "2025-05")
    assert may.closing_balance_usd == D("-20.00")  # the carry out of May


def test_a_friend_taken_over_is_on_both_statements(world, capsys):
    world.refer("friend", "A", date(2025, 3, 5))
    world.spend("friend", date(2025, 3, 6), "100.00")
    world.settle("2025-03", "2025-04")
    world.refer("friend", "B", date(2025, 3, 1))  # earlier, delivered late: B takes over
    world.settle("2025-05", "2025-06")
    code, out, err = run_cli(
        ["statement", "--out", str(world.out), "--referrer", "A", "--format", "json"], capsys
    )
    assert code == 0, err
    a = json.loads(out)
    assert [(x["line_kind"], x["amount_usd"]) for x in a["lines"]] == [
        ("carried in", "0.00"),
        ("credit", "20.00"),
        ("coupon", "-20.00"),
    ]
    b = statement.statement(world.out, "B", None, None)
    assert [(x["line_kind"], x["referee_account_id"], x["amount_usd"]) for x in b.lines] == [
        ("carried in", None, D("0.00")),
        ("credit", "friend", D("8.00")),
        ("coupon", None, D("-8.00")),
    ]


def test_an_unknown_referrer_or_range_is_a_usage_error(world, capsys, tmp_path):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "30.00")
    world.settle("2025-03", "2025-04")
    base = ["statement", "--out", str(world.out)]
    code, _, err = run_cli([*base, "--referrer", "nobody"], capsys)
    assert code == 2 and "'nobody' has no entry, coupon or carry" in err
    code, _, err = run_cli(
        [*base, "--referrer", "referrer", "--from", "2025-04", "--to", "2025-03"], capsys
    )
    assert code == 2 and "--from 2025-04 is after --to 2025-03" in err
    code, out, err = run_cli(
        [*base, "--referrer", "referrer", "--format", "xlsx", "--file", str(tmp_path / "s.xlsx")],
        capsys,
    )
    assert code == 0 and (tmp_path / "s.xlsx").stat().st_size > 0
    code, out, _ = run_cli([*base, "--referrer", "referrer"], capsys)
    assert "entries USD 20.00, coupons USD 20.00, balance carried out USD 0.00" in out
