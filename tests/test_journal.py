"""The journal (docs/outputs.md#the-journal): balanced double entry for every month and any
range, each entry traced to the ledger rows behind it, the accounts the rules file names;
a month without both ledgers is refused. The sample year's tie-out to liability_by_month,
account by account, is in tests/test_golden.py."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import run_cli
from tests.world import World
from transforms import journal
from transforms.money import format_usd
from transforms.pipeline import journal as month_journal
from transforms.rules import DEFAULT_RULES_PATH, RulesError

MONTHS = ("2025-03", "2025-04", "2025-05", "2025-06")


@pytest.fixture(scope="module")
def booked(tmp_path_factory):
    """A referrer paid in April, its friend refunded below the threshold in May (a negative
    carry, absorbed in June by a friend on hold at May's cutoff), part of April's coupon
    used, a voucher sold and redeemed. Published once for the module: its tests only read
    it (the journal writes nothing into OUT; the command's files go to tmp_path)."""
    world = World(tmp_path_factory.mktemp("booked"))
    world.refer("paid", "referrer", date(2025, 3, 1))
    world.spend("paid", date(2025, 3, 2), "30.00")  # base payable after the hold: April
    world.spend("paid", date(2025, 5, 10), "-30.00")
    world.refer("held", "referrer", date(2025, 5, 10))
    world.spend("held", date(2025, 5, 20), "50.00")
    world.use_coupon("u1", "referrer", "2025-04", "5.00", date(2025, 5, 15))
    world.voucher("v1", "buyer", date(2025, 3, 3), date(2025, 3, 3), date(2025, 12, 31))
    world.voucher_event("e1", "v1", "redeem", "buyer", date(2025, 5, 4))
    world.settle(MONTHS[0], MONTHS[-1])
    world.run_instruments(MONTHS[0], MONTHS[-1])
    return world


def _lines(world, month):
    return month_journal.month_journal(world.out, month).rows


def test_every_month_and_every_range_balances(booked):
    every = []
    for month in MONTHS:
        lines = _lines(booked, month)
        every += lines
        assert sum(row[4] for row in lines) == sum(row[5] for row in lines) > 0
        # each entry is one debit line and one credit line of the same amount
        for number in {row[1] for row in lines}:
            debit, credit = (row for row in lines if row[1] == number)
            assert (debit[2], credit[2]) == (1, 2)
            assert debit[4] == credit[5] > 0 and debit[5] == credit[4] == 0
    for first in range(len(MONTHS)):
        for last in range(first, len(MONTHS)):
            chosen = [row for row in every if MONTHS[first] <= row[0] <= MONTHS[last]]
            assert sum(row[4] for row in chosen) == sum(row[5] for row in chosen)


def test_each_entry_traces_to_the_ledger_rows_behind_it(booked):
    april = {row[6]: row for row in _lines(booked, "2025-04") if row[2] == 1}
    assert april["credits_earned"][4] == Decimal("20.00")
    assert april["credits_earned"][8] == "ledger_entries 2025-04: amount_usd > 0, 1 row(s)"
    may = {row[6]: row for row in _lines(booked, "2025-05") if row[2] == 1}
    # May: the refund takes the paid base back, which leaves the referrer owing 20.00
    assert may["credits_taken_back"][4] == Decimal("20.00")
    assert may["credits_taken_back"][8] == "ledger_entries 2025-05: amount_usd < 0, 1 row(s)"
    assert may["carries"][4] == Decimal("20.00")
    assert may["carries"][8] == "referrer_balances 2025-05: carry_out_usd < 0, 1 row(s)"
    # April's batch (20.00) is issued on 5 May; 5.00 of it is used
    assert may["coupons_issued"][4] == Decimal("20.00")
    assert may["coupons_used"][4] == Decimal("5.00")
    assert may["vouchers_redeemed"][4] == Decimal("100.00")
    (pending,) = booked.query(
        "select sum(pending_base_usd + pending_bonus_usd), count(*) from referee_status "
        "where settlement_month = '2025-05' and pending_base_usd + pending_bonus_usd > 0"
    )
    assert may["accrual"][4] == pending[0] > 0
    assert may["accrual"][8] == (
        f"referee_status 2025-05: pending_base_usd + pending_bonus_usd, {pending[1]} row(s)"
    )
    june = {row[6]: row for row in _lines(booked, "2025-06") if row[2] == 1}
    assert june["carries_reversed"][4] == Decimal("20.00")  # May's carry, reversed
    assert june["holds_released"][4] == may["accrual"][4]


def test_the_rules_file_names_every_account(booked, tmp_path):
    renamed = tmp_path / "rules.toml"
    renamed.write_text(
        DEFAULT_RULES_PATH.read_text().replace(
            '"2120 Referral coupons outstanding"', '"21200 Coupons (referral)"'
        )
    )
    lines = month_journal.month_journal(booked.out, "2025-05", renamed).rows
    assert "21200 Coupons (referral)" in {row[3] for row in lines}
    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_RULES_PATH.read_text().replace("breakage = ", "breakage_x = ", 1))
    with pytest.raises(RulesError, match=r"missing accounts \['breakage'\]"):
        journal.load_accounts(broken)


def test_the_command_writes_csv_or_a_workbook_and_refuses_what_it_cannot_book(
    booked, tmp_path, capsys
):
    out = ["--out", str(booked.out)]
    code, text, err = run_cli(["journal", *out, "--month", "2025-04"], capsys)
    assert code == 0, err
    header, *rows = text.splitlines()
    assert header.split(",") == journal.COLUMNS
    assert len(rows) == len(_lines(booked, "2025-04"))
    code, text, _ = run_cli(
        [
            "journal",
            *out,
            "--month",
            "2025-04",
            "--format",
            "xlsx",
            "--to",
            str(tmp_path / "j.xlsx"),
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "j.xlsx").stat().st_size > 0
    total = sum(row[4] for row in _lines(booked, "2025-04"))
    assert f"debits USD {format_usd(total)}, credits USD {format_usd(total)}" in text
    for refused, why in (
        (["--month", "2025-07"], "2025-07 has no published settlements row"),
        (["--month", "2025-04", "--format", "xlsx"], "--format xlsx needs --to"),
        (
            ["--month", "2025-04", "--to", str(booked.out / "batches" / "j.csv")],
            "the pipeline owns",
        ),
    ):
        code, _, err = run_cli(["journal", *out, *refused], capsys)
        assert code == 2 and why in err


def test_breakage_reversed_by_a_late_redeem_is_the_breakage_entry_reversed(world):
    world.refer("friend", "referrer", date(2025, 4, 2))  # (a settlement needs a referral)
    world.account("alice")
    world.voucher("V1", "alice", date(2025, 3, 20), date(2025, 4, 1), date(2025, 4, 29))
    world.settle("2025-04", "2025-05")
    world.run_instruments("2025-04")
    world.voucher_event("late", "V1", "redeem", "alice", date(2025, 4, 28))
    world.run_instruments("2025-05")
    may = {row[6]: row for row in _lines(world, "2025-05") if row[2] == 1}
    # the breakage April booked is taken back: debit breakage, credit the vouchers owed
    reversed_ = may["vouchers_expired_reversed"]
    assert reversed_[4] == Decimal("100.00")
    assert reversed_[3] == journal.load_accounts()["voucher_breakage"]
    assert may["vouchers_redeemed"][4] == Decimal("100.00")
