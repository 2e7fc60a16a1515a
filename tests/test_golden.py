"""Golden end-to-end test: the sample backfill (2025-11..2026-10) against committed batch files.

Regenerate after an intended change of results with `make golden` and review the diff.
"""

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.golden_year import (
    DATA_FILES,
    FIRST,
    GOLDEN,
    LAST,
    MANIFEST,
    README,
    REPO,
    SAMPLE_MONTHS,
    backfill,
    comparable_manifest,
    instrument_year,
    readme_figures,
    with_readme_figures,
)
from tests.helpers import ledger_rows
from transforms import months
from transforms.pipeline import explain

# the whole sample year, end to end: make test runs it, make check leaves it out
pytestmark = pytest.mark.integration

# one sample year per session, settled and run through the instrument ledger once; the
# tests only read it (a test that runs months again works on a copy of its own)


@pytest.fixture(scope="session")
def sample_year(tmp_path_factory) -> tuple[Path, str]:
    """OUT of the sample year, and the README's sample figures as that run gives them."""
    out = tmp_path_factory.mktemp("sample-year")
    settled = backfill(out)
    return out, readme_figures(out, settled, instrument_year(out))


@pytest.fixture(scope="session")
def sample_out(sample_year) -> Path:
    return sample_year[0]


def test_the_readmes_sample_figures_are_the_sample_years(sample_year):
    readme = README.read_text()
    assert with_readme_figures(readme, sample_year[1]) == readme, (
        "README.md's sample figures are stale: `make golden` writes them"
    )


@pytest.mark.parametrize("month", SAMPLE_MONTHS)
def test_sample_backfill_matches_the_golden_batch(sample_out, month):
    produced, expected = sample_out / "batches" / month, GOLDEN / month
    for name in DATA_FILES:
        assert (produced / name).read_bytes() == (expected / name).read_bytes(), name
    assert comparable_manifest((produced / MANIFEST).read_bytes()) == comparable_manifest(
        (expected / MANIFEST).read_bytes()
    )


def test_sample_covers_every_reason_code_and_status(sample_out):
    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        reasons = {
            r for (r,) in con.execute("select distinct reason_code from referee_status").fetchall()
        }
        base = {
            r for (r,) in con.execute("select distinct base_status from referee_status").fetchall()
        }
        kinds = {
            r for (r,) in con.execute("select distinct entry_kind from ledger_entries").fetchall()
        }
        capped = con.execute("select count(*) from referee_status where is_capped").fetchone()[0]
        negative_carry = con.execute(
            "select count(*) from referrer_balances where carry_out_usd < 0"
        ).fetchone()[0]
    assert reasons == {
        "ok",
        "duplicate_referee",
        "unknown_account",
        "self_referral",
        "duplicate_referrer_account",
        "duplicate_referee_identity",
        "disqualified",
        "referrer_unverified",
    }
    assert base >= {"earned", "on_hold", "below_threshold", "fell_below_threshold"}
    assert kinds == {"credit", "correction"}
    assert capped > 0
    assert negative_carry > 0


def test_sample_ledger_conserves_money_and_respects_the_cap(sample_out):
    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            """
            select s.settlement_month, s.coupon_total_usd, s.carry_out_total_usd, s.carry_in_total_usd,
                   coalesce(sum(l.amount_usd), 0)
            from settlements s left join ledger_entries l using (settlement_month)
            group by all order by 1
            """
        ).fetchall()
        over_cap = con.execute(
            "select count(*) from (select referee_account_id, sum(amount_usd) as c from ledger_entries"
            " group by 1) where c > 300 or c < 0"
        ).fetchone()[0]
    assert [r[0] for r in rows] == SAMPLE_MONTHS
    for month, coupons, carry_out, carry_in, ledger in rows:
        assert coupons + carry_out - carry_in == ledger, month
    assert over_cap == 0
    assert sum(Decimal(r[1]) for r in rows) > 0


def test_rerunning_the_whole_sample_year_changes_no_byte(sample_out, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(sample_out, again)

    def published(out):
        return {
            p.relative_to(out): p.read_bytes()
            for folder in ("batches", "instruments")
            for p in (out / folder).rglob("*.*")
        }

    backfill(again)
    instrument_year(again)
    assert published(again) == published(sample_out)
    assert ledger_rows(again) == ledger_rows(sample_out)


def test_sample_instrument_year_rolls_forward_every_month(sample_out):
    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            """select instrument_month, instrument_kind, opening_outstanding_usd, issued_usd,
                      redeemed_or_used_usd, expired_usd, closing_outstanding_usd
               from instrument_rollforward order by 1, 2"""
        ).fetchall()
        reasons = {
            r for (r,) in con.execute("select distinct reason from instrument_events").fetchall()
        }
        chained = con.execute(
            """select count(*) from instrument_rollforward this
               join instrument_rollforward previous
                 on previous.instrument_kind = this.instrument_kind
                and previous.instrument_month = strftime(
                        cast(this.instrument_month || '-01' as date) - interval 1 month, '%Y-%m')
               where previous.closing_outstanding_usd <> this.opening_outstanding_usd"""
        ).fetchone()[0]
    # vouchers, referral coupons, welcome credits and welcome discounts, every month
    assert len(rows) == 4 * len(SAMPLE_MONTHS)
    for month, kind, opening, issued, used, expired, closing in rows:
        assert opening + issued - used - expired == closing, (month, kind)
    assert chained == 0
    assert {"not_owner", "not_transferable", "already_redeemed", "not_refundable"} <= reasons
    assert {"excluded_product", "exceeds_balance", None} <= reasons
    assert {"product_not_eligible", "below_minimum_order", "partial_discount"} <= reasons
    welcome = [row for row in rows if row[1].startswith("welcome")]
    # friends register in every month of the sample but its last
    assert {month for month, _, _, issued, *_ in welcome if issued > 0} == set(SAMPLE_MONTHS[:-1])
    assert sum(used for *_, used, _, _ in welcome) > 0
    assert sum(expired for *_, expired, _ in welcome) > 0


def test_every_delivered_event_is_listed_in_exactly_one_month(sample_out):
    """Nothing dropped, nothing twice: over the sample year, each distinct voucher event and
    coupon usage dated up to the last month's cutoff appears in exactly one month's
    events.parquet (later ones wait for their month)."""
    data, cutoff = REPO / "sample_data", months.cutoff_date(LAST)
    with duckdb.connect() as con:
        delivered = con.execute(
            f"""select distinct 'voucher', event_id, cast(occurred_at as timestamp)
                from read_parquet('{data}/vouchers/events/*.parquet')
                where cast(occurred_at as date) <= $cutoff
                union all
                select distinct
                    coalesce(instrument_kind, 'referral_coupon'), usage_id,
                    cast(used_at as timestamp)
                from read_parquet('{data}/coupon_usage/*.parquet', union_by_name = true)
                where cast(used_at as date) <= $cutoff""",
            {"cutoff": cutoff},
        ).fetchall()
        listed = con.execute(
            f"""select instrument_kind, event_id, occurred_at
                from read_parquet('{sample_out}/instruments/*/events.parquet')"""
        ).fetchall()
    assert len(delivered) > 100
    assert sorted(listed) == sorted(delivered)


def test_sample_liability_ties_out_every_month(sample_out):
    """liability_by_month over the sample year: the total is its parts (carries subtracting);
    the coupons the instrument ledger issues in M are the batch settled in M-1; the welcome
    rewards it issues in M are those settled in M; the outstanding columns are the
    roll-forward's closing balances; the accrual is referee_status summed."""
    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        liability = {
            row[0]: row[1:]
            for row in con.execute(
                """select settlement_month, on_hold_base_usd, accrued_bonus_usd,
                          settled_not_issued_usd, outstanding_referral_coupons_usd,
                          outstanding_welcome_usd, outstanding_vouchers_usd,
                          negative_carries_usd, total_liability_usd
                   from liability_by_month order by 1"""
            ).fetchall()
        }
        issued = dict(
            con.execute(
                "select instrument_month || ':' || instrument_kind, issued_usd "
                "from instrument_rollforward"
            ).fetchall()
        )
        closing = dict(
            con.execute(
                "select instrument_month || ':' || instrument_kind, closing_outstanding_usd "
                "from instrument_rollforward"
            ).fetchall()
        )
        settled = {
            m: (coupons, welcome)
            for m, coupons, welcome in con.execute(
                "select settlement_month, coupon_total_usd, welcome_total_usd from settlements"
            ).fetchall()
        }
        accrual = dict(
            (m, (base, bonus))
            for m, base, bonus in con.execute(
                "select settlement_month, sum(pending_base_usd), sum(pending_bonus_usd) "
                "from referee_status group by 1"
            ).fetchall()
        )
        carries = dict(
            con.execute(
                "select settlement_month, -sum(least(carry_out_usd, 0)) from referrer_balances "
                "group by 1"
            ).fetchall()
        )
    assert list(liability) == SAMPLE_MONTHS
    for month, (
        base,
        bonus,
        batch,
        coupons,
        welcome,
        vouchers,
        negative,
        total,
    ) in liability.items():
        assert total == base + bonus + batch + coupons + welcome + vouchers - negative, month
        assert (base, bonus) == accrual[month], month
        assert batch == settled[month][0], month
        assert negative == carries.get(month, 0) >= 0, month  # no balances: no carries
        assert coupons == closing[f"{month}:referral_coupon"], month
        assert vouchers == closing[f"{month}:voucher"], month
        assert welcome == closing[f"{month}:welcome_credit"] + closing[f"{month}:welcome_discount"]
        welcome_issued = issued[f"{month}:welcome_credit"] + issued[f"{month}:welcome_discount"]
        assert welcome_issued == settled[month][1], month
        if month != FIRST:
            previous = months.previous_month(month)
            assert issued[f"{month}:referral_coupon"] == settled[previous][0], month
    assert all(row[0] > 0 and row[1] > 0 for row in liability.values())  # holds every month
    assert any(row[6] > 0 for row in liability.values())  # the sample has negative carries


def test_the_analysts_ten_questions_run_on_the_sample_year(sample_out):
    """docs/outputs.md's ten questions, as written, against the analysts' catalog: each
    runs and answers with rows."""
    guide = (REPO / "docs" / "outputs.md").read_text()
    section = guide.split("## Ten questions analysts ask")[1].split("\n## ")[0]
    queries = [block.split("```")[0] for block in section.split("```sql")[1:]]
    assert len(queries) == 10
    with duckdb.connect(str(sample_out / "catalog.duckdb"), read_only=True) as catalog:
        for query in queries:
            assert catalog.execute(query).fetchall(), query


def test_explain_reconciles_for_every_referrer_of_every_sample_month(sample_out):
    # explain_month raises when a sum does not reconcile; every referrer with a balance row
    explained = {month: explain.explain_month(sample_out, month) for month in SAMPLE_MONTHS}
    with duckdb.connect(str(sample_out / "catalog.duckdb"), read_only=True) as con:
        expected = dict(
            con.execute(
                "select settlement_month, count(*) from referrer_balances group by 1"
            ).fetchall()
        )
    assert {m: len(found) for m, found in explained.items() if found} == expected
    lines = [
        line for found in explained.values() for e in found for r in e.referees for line in r.lines
    ]
    # the sample's refunds are explained too: linked ones on their purchase's date
    assert any(line.original_record_id and line.cash_usd < 0 for line in lines)
    # (never the bonus window alone: a line of the bonus window is in the qualification
    # window too)
    assert {line.counts_in for line in lines} == {
        ("qualification_window",),
        ("bonus_window", "qualification_window"),
    }


def test_the_journal_moves_each_balance_account_as_the_liability_moves(sample_out):
    """Every sample month's journal balances, and each balance-sheet account moves by what
    liability_by_month (and the roll-forward) say it holds at the month's end less at the
    month before: accrued (holds), payable (settled, not issued), carries, and each kind of
    instrument outstanding."""
    from transforms import journal
    from transforms.pipeline import journal as month_journal

    accounts = journal.load_accounts()
    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        liability = {
            row[0]: row[1:]
            for row in con.execute(
                "select settlement_month, on_hold_base_usd + accrued_bonus_usd, "
                "settled_not_issued_usd, negative_carries_usd from liability_by_month"
            ).fetchall()
        }
        rollforward = {
            (month, kind): (opening, closing)
            for month, kind, opening, closing in con.execute(
                "select instrument_month, case when instrument_kind like 'welcome_%' "
                "then 'welcome' else instrument_kind end, sum(opening_outstanding_usd), "
                "sum(closing_outstanding_usd) from instrument_rollforward group by all"
            ).fetchall()
        }
    zero = Decimal("0.00")
    for month in SAMPLE_MONTHS:
        lines = month_journal.month_journal(sample_out, month).rows
        assert sum(r[4] for r in lines) == sum(r[5] for r in lines) > 0
        moved = journal.balances(lines)
        before = liability.get(months.previous_month(month), (zero, zero, zero))
        expected = {
            # liabilities are credit balances: a rise is a net credit (negative here)
            "accrued_credits": before[0] - liability[month][0],
            "credits_payable": before[1] - liability[month][1],
            "carries_recoverable": liability[month][2] - before[2],
            **{
                role: rollforward[(month, kind)][0] - rollforward[(month, kind)][1]
                for role, kind in (
                    ("referral_coupons", "referral_coupon"),
                    ("welcome_rewards", "welcome"),
                    ("vouchers", "voucher"),
                )
            },
        }
        for role, movement in expected.items():
            assert moved.get(accounts[role], zero) == movement, (month, role)


def test_every_sample_referrers_statement_ends_at_its_carry_and_sums_its_coupons(sample_out):
    """Across the sample year, each referrer's statement (all months) pays out exactly its
    coupons, and its running balance ends at its last carry out (statement() refuses
    otherwise)."""
    from transforms.pipeline import catalog, statement
    from transforms.pipeline.layout import OutputLayout

    with duckdb.connect(str(sample_out / "warehouse.duckdb"), read_only=True) as con:
        paid = dict(
            con.execute(
                "select referrer_account_id, sum(coupon_amount_usd) from referrer_balances "
                "group by 1"
            ).fetchall()
        )
        earned = dict(
            con.execute(
                "select referrer_account_id, sum(amount_usd) from ledger_entries group by 1"
            ).fetchall()
        )
    assert len(paid) > 100
    layout = OutputLayout(sample_out)
    with catalog.reader(layout) as reader:  # what statement() opens, once for them all
        for referrer, coupons in paid.items():
            found = statement.read_statement(reader, layout, referrer, None, None)
            assert found.coupons_usd == coupons, referrer
            assert found.entries_usd == earned.get(referrer, Decimal("0.00")), referrer


def test_a_whatif_with_the_shipped_rules_changes_nothing_over_the_sample_year(sample_out, tmp_path):
    """Trustworthy by construction: the replay is the same models on the same inputs, so
    the published rules replayed give zero difference in every measure, month and reason."""
    from transforms.pipeline import whatif
    from transforms.rules import DEFAULT_RULES_PATH

    out = tmp_path / "out"
    shutil.copytree(sample_out, out)  # the session's year is only read
    found = whatif.whatif(out, FIRST, LAST, "same", DEFAULT_RULES_PATH, None)
    assert len(found.months) == len(SAMPLE_MONTHS)
    for measure, total in found.totals.items():
        assert total["difference"] == 0, measure
        assert total["published"] is not None, measure
    for month in found.months:
        for measure in whatif.FLOWS + whatif.BALANCES:
            assert month[measure]["published"] == month[measure]["alternative"], (month, measure)
    assert all(r["published"] == r["alternative"] for r in found.reasons)
    assert found.gains == found.losses == []
