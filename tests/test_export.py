"""`creditflow export` (docs/outputs.md#exports-for-finance): a workbook finance can open,
whose totals are the settlement's, with money kept exact from DuckDB to the cell."""

import csv
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from tests.helpers import run_cli
from tests.rules import bonus_payable_month
from transforms import months
from transforms.pipeline import export
from transforms.rules import DEFAULT_RULES_PATH

SHEETS = [
    "Summary",
    "Coupons",
    "Statements",
    "Pending",
    "Rejections",
    "Liability",
    "Instruments",
]


# both friends' bonuses are on hold in PENDING_MONTH and paid in BONUS_MONTH (April and May
# with the shipped 90-day bonus window)
BONUS_MONTH = bonus_payable_month(date(2025, 1, 2))
PENDING_MONTH = months.previous_month(BONUS_MONTH)


@pytest.fixture
def settled(world):
    assert bonus_payable_month(date(2025, 1, 5)) == BONUS_MONTH > "2025-02"  # after the bases
    # two friends: 30.05 and 96.26 of spend (bonus 10 % of 76.26 = 7.63, half-up)
    world.refer("friend-1", "referrer", date(2025, 1, 2))
    world.spend("friend-1", date(2025, 1, 3), "30.05")
    world.refer("friend-2", "referrer", date(2025, 1, 5))
    world.spend("friend-2", date(2025, 1, 6), "96.26")
    world.refer("late", "referrer", date.fromisoformat(f"{PENDING_MONTH}-20"))
    world.spend("late", date.fromisoformat(f"{PENDING_MONTH}-22"), "25.00")  # on hold
    world.settle(PENDING_MONTH, BONUS_MONTH)
    return world


def test_the_workbook_opens_and_its_totals_are_the_settlements(settled, tmp_path, capsys):
    path = tmp_path / f"{BONUS_MONTH}.xlsx"
    code, _, _ = run_cli(
        ["export", "--out", str(settled.out), "--month", BONUS_MONTH, "--to", str(path)], capsys
    )
    assert code == 0
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == SHEETS
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, values_only=True)}
    ((coupon_total, coupon_count),) = settled.query(
        "select coupon_total_usd, coupon_count from settlements where settlement_month = $month",
        {"month": BONUS_MONTH},
    )
    assert Decimal(str(summary["coupon_total_usd"])) == coupon_total
    assert summary["coupon_count"] == coupon_count
    coupons = workbook["Coupons"]
    assert coupons.freeze_panes == "A2"
    assert (
        coupons["B1"].value == "amount_usd" and coupons["B2"].number_format == export.MONEY_FORMAT
    )
    assert sum(Decimal(str(r[1])) for r in coupons.iter_rows(min_row=2, values_only=True)) == (
        coupon_total
    )
    liability = list(workbook["Liability"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in liability] == [PENDING_MONTH, BONUS_MONTH]
    # the key is stated, loudly for a development key; the referrals that earn are not
    # rejections
    assert summary["coupon_key"] == "configured"
    reasons = [row[1] for row in workbook["Rejections"].iter_rows(min_row=2, values_only=True)]
    assert "ok" not in reasons


def test_money_reaches_the_cell_as_its_own_digits_never_through_a_float(settled, tmp_path):
    path = tmp_path / "first.xlsx"
    export.write_xlsx(export.month_sheets(settled.out, PENDING_MONTH), path)
    with zipfile.ZipFile(path) as workbook:
        statements = workbook.read("xl/worksheets/sheet3.xml").decode()
    assert "<v>96.2600</v>" in statements  # a float would write 96.26000000000001
    assert "0000000001" not in statements


def test_the_same_month_exports_to_the_same_bytes(settled, tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    export.write_xlsx(export.month_sheets(settled.out, PENDING_MONTH), first)
    export.write_xlsx(export.month_sheets(settled.out, PENDING_MONTH), second)
    assert first.read_bytes() == second.read_bytes()


def test_csv_writes_one_file_per_sheet_with_two_decimal_money(settled, tmp_path, capsys):
    folder = tmp_path / "pending"
    args = ["export", "--out", str(settled.out), "--month", PENDING_MONTH, "--format", "csv"]
    code, _, _ = run_cli([*args, "--to", str(folder)], capsys)
    assert code == 0
    assert sorted(p.stem for p in folder.iterdir()) == sorted(SHEETS)
    pending = list(csv.DictReader((folder / "Pending.csv").open()))
    # bonuses on hold (10 % above 20.00, half-up) and the late friend's base on hold
    assert [
        (r["referee_account_id"], r["pending_base_usd"], r["pending_bonus_usd"], r["payable_on"])
        for r in pending
    ] == [
        ("friend-1", "0.00", "1.01", f"{months.cutoff_date(BONUS_MONTH)}"),
        ("friend-2", "0.00", "7.63", f"{months.cutoff_date(BONUS_MONTH)}"),
        ("late", "20.00", "0.50", f"{months.cutoff_date(BONUS_MONTH)}"),
    ]


def test_a_month_not_settled_is_a_usage_error(settled, tmp_path, capsys):
    args = ["export", "--out", str(settled.out), "--month", "2025-09", "--to", str(tmp_path / "x")]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "2025-09 is not settled" in err


def test_ids_a_spreadsheet_would_evaluate_stay_text_in_every_file(world, tmp_path):
    # issue 17: ids copied verbatim into a CSV become formulas when a spreadsheet opens it;
    # the default id pattern refuses them, an operator's pattern may not
    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES_PATH.read_text() + 'id_pattern = "[A-Za-z0-9._:=+@()-]{1,64}"\n')
    referrer, friend = "=1+1", "@SUM(1+1)"
    world.refer(friend, referrer, date(2025, 3, 2))
    world.spend(friend, date(2025, 3, 3), "25.00")
    world.settle("2025-03", "2025-04", config=rules)
    batch = world.out / "batches" / "2025-04"
    (coupon,) = list(csv.DictReader((batch / "coupons.csv").open()))
    assert coupon["referrer_account_id"] == "'=1+1"
    welcome = list(csv.DictReader((world.out / "batches" / "2025-03" / "welcome.csv").open()))
    assert {(w["referee_account_id"], w["referrer_account_id"]) for w in welcome} == {
        ("'@SUM(1+1)", "'=1+1")
    }
    path = tmp_path / "april.xlsx"
    export.write_xlsx(export.month_sheets(world.out, "2025-04"), path)
    # as a spreadsheet reads it: a string cell, not a formula
    cell = openpyxl.load_workbook(path)["Coupons"]["A2"]
    assert (cell.data_type, cell.value) == ("s", "'=1+1")
    export.write_csv(export.month_sheets(world.out, "2025-04"), tmp_path / "april")
    assert "'=1+1" in (tmp_path / "april" / "Coupons.csv").read_text()


def test_a_development_keys_month_says_so_in_the_workbook(world, monkeypatch):
    monkeypatch.delenv("CREDITFLOW_COUPON_KEY", raising=False)
    world.refer("friend", "referrer", date(2025, 3, 2))
    world.spend("friend", date(2025, 3, 3), "25.00")
    world.settle("2025-03")
    summary = dict(export.month_sheets(world.out, "2025-03")[0].rows)
    assert summary["coupon_key"] == "DEVELOPMENT: these coupons are not real and must not be issued"
