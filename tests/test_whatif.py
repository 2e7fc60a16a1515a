"""`creditflow whatif` (docs/outputs.md#what-if): the published history replayed under
other rules into a sandbox, compared with what was published. Hand-computed differences for
a cap, a window and an eligibility change; the published ledger and files untouched; no
coupon code anywhere in the sandbox. The zero-difference replay of the sample year is in
tests/test_golden.py."""

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import ledger_rows, run_cli, screenshot
from tests.rules import day
from tests.test_rule_bounds import rules_file
from tests.world import World
from transforms.errors import UsageError
from transforms.pipeline import whatif
from transforms.pipeline.options import DEFAULT_ELIGIBLE_PRODUCTS_PATH
from transforms.rules import DEFAULT_RULES_PATH

D = Decimal
MONTHS = ("2025-03", "2025-07")  # the base in April, the bonus by July under either window
R = date(2025, 3, 1)


def _published_spender(world: World) -> World:
    """One friend: 1,000.00 of eligible spend on day 2, 200.00 more on day 51, and 80.00 of
    CDN (not eligible) on day 3. Published: base 20.00 + bonus 10 % x (1,200.00 - 20.00)."""
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2, R), "1000.00")
    world.spend("friend", day(3, R), "80.00", product="cdn")
    world.spend("friend", day(51, R), "200.00")
    world.settle(*MONTHS)
    world.run_instruments(*MONTHS)
    return world


@pytest.fixture(scope="module")
def spender(tmp_path_factory) -> World:
    """The spender's months published once for the tests that only replay them (each into a
    sandbox of its own name): a replay writes nothing outside its sandbox, which
    test_the_published_ledger_and_files_are_untouched_and_no_code_is_written checks."""
    return _published_spender(World(tmp_path_factory.mktemp("spender")))


@pytest.fixture
def own_spender(world) -> World:
    """The spender's months in a world of its own, for a test that settles more months."""
    return _published_spender(world)


def _totals(world, name: str, **alternative) -> dict:
    found = whatif.whatif(world.out, *MONTHS, name, **alternative)
    return {k: (t["published"], t["alternative"], t["difference"]) for k, t in found.totals.items()}


def test_a_lower_cap_costs_what_the_cap_takes_off(spender, tmp_path):
    totals = _totals(
        spender,
        "lower-cap",
        config=rules_file(tmp_path, 'cap_per_referee_usd = "50.00"'),
        eligible_products=None,
    )
    # published: 20.00 + 118.00; with a 50.00 cap: 20.00 + 30.00
    assert totals["bonus_usd"] == (D("118.00"), D("30.00"), D("-88.00"))
    assert totals["base_usd"] == (D("20.00"), D("20.00"), D("0.00"))
    assert totals["coupon_total_usd"] == (D("138.00"), D("50.00"), D("-88.00"))


def test_a_shorter_bonus_window_leaves_out_the_later_purchase(spender, tmp_path):
    totals = _totals(
        spender,
        "shorter-window",
        config=rules_file(tmp_path, "bonus_window_days = 30"),
        eligible_products=None,
    )
    # the day-51 purchase is outside a 30-day window: 10 % x (1,000.00 - 20.00)
    assert totals["bonus_usd"] == (D("118.00"), D("98.00"), D("-20.00"))


def test_an_eligible_cdn_counts_its_line(spender, tmp_path):
    products = tmp_path / "eligible.csv"
    shutil.copy(DEFAULT_ELIGIBLE_PRODUCTS_PATH, products)  # what the world was settled with
    with products.open("a") as handle:
        handle.write("cdn,*,Alibaba Cloud CDN,2020-01-01,\n")
    totals = _totals(spender, "eligible-cdn", config=None, eligible_products=products)
    # the 80.00 of CDN joins the bonus window's spend: + 8.00
    assert totals["bonus_usd"] == (D("118.00"), D("126.00"), D("8.00"))


def test_the_published_ledger_and_files_are_untouched_and_no_code_is_written(spender, tmp_path):
    # every file outside the sandboxes (earlier tests of this module replayed into theirs)
    published = sorted(p for p in spender.out.rglob("*") if p.is_file() and "whatif" not in p.parts)
    before = {p: p.read_bytes() for p in published}
    rows = ledger_rows(spender.out)
    _totals(
        spender,
        "untouched",
        config=rules_file(tmp_path, 'cap_per_referee_usd = "50.00"'),
        eligible_products=None,
    )
    assert {p: p.read_bytes() for p in published} == before
    assert (
        sorted(p for p in spender.out.rglob("*") if p.is_file() and "whatif" not in p.parts)
        == published
    )  # and no new file outside the sandboxes
    assert ledger_rows(spender.out) == rows
    sandbox = spender.out / "whatif" / "untouched"
    assert not (sandbox / "batches").exists()  # no coupon file, so no code
    for file in sandbox.rglob("*"):
        if file.is_file():
            assert b"RAF-" not in file.read_bytes() and b"DEV-" not in file.read_bytes(), file


def test_the_command_refuses_what_it_cannot_replay(spender, tmp_path, capsys):
    base = ["whatif", "--out", str(spender.out), "--from", "2025-03", "--to", "2025-07"]
    code, _, err = run_cli(base, capsys)
    assert code == 2 and "needs --config ALT.toml, --eligible-products ALT.csv, or both" in err
    code, _, err = run_cli([*base, "--config", str(rules_file(tmp_path, "hold_days = -1"))], capsys)
    assert code == 2 and "hold_days" in err  # the same validation as the real rules
    late = ["whatif", "--out", str(spender.out), "--from", "2025-03", "--to", "2025-09"]
    code, _, err = run_cli([*late, "--config", str(DEFAULT_RULES_PATH)], capsys)
    assert code == 2 and "2025-08 is not settled" in err
    code, out, err = run_cli([*base, "--config", str(DEFAULT_RULES_PATH), "--name", "same"], capsys)
    assert code == 0, err
    assert "coupons (USD)" in out and "comparison:" in out
    for name in ("comparison.html", "comparison.xlsx", "comparison.json"):
        assert (spender.out / "whatif" / "same" / name).stat().st_size > 0


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="no Chromium here (apt-get install -y chromium): the page is not checked in a browser",
)
@pytest.mark.integration  # a browser
def test_the_comparison_page_renders_offline_in_a_headless_browser(spender, tmp_path, capsys):
    config = rules_file(tmp_path, 'cap_per_referee_usd = "50.00"')
    code, _, err = run_cli(
        [
            "whatif",
            "--out",
            str(spender.out),
            "--from",
            "2025-03",
            "--to",
            "2025-07",
            "--config",
            str(config),
            "--name",
            "cap",
        ],
        capsys,
    )
    assert code == 0, err
    page = spender.out / "whatif" / "cap" / "comparison.html"
    text = page.read_text()
    assert "<script" not in text and "<link" not in text and "<svg" in text
    shot = screenshot(page, tmp_path / "comparison.png")
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one


@pytest.mark.integration  # a second process
def test_a_whatif_and_the_monthly_close_run_side_by_side(own_spender, tmp_path):
    """The replay reads the published catalog read-only and writes only its sandbox: the
    close of the next month, run meanwhile on the same OUT, neither waits nor fails."""
    import sys
    import time
    from pathlib import Path

    config = rules_file(tmp_path, 'cap_per_referee_usd = "50.00"')
    replay = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.cli import main; main()",
            "whatif",
            "--out",
            str(own_spender.out),
            "--from",
            MONTHS[0],
            "--to",
            MONTHS[1],
            "--config",
            str(config),
            "--name",
            "side-by-side",
        ],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sandbox = own_spender.out / "whatif" / "side-by-side" / "warehouse.duckdb"
    deadline = time.monotonic() + 120
    while not sandbox.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox.exists(), "the replay did not start"
    (august,) = own_spender.settle("2025-08")  # the close, while the replay runs
    out, err = replay.communicate(timeout=600)
    assert replay.returncode == 0, err
    assert august.action == "published"
    assert "coupons (USD)" in out


def test_a_replay_on_shards_gives_the_same_comparison(spender, tmp_path):
    config = rules_file(tmp_path, 'cap_per_referee_usd = "50.00"')
    local = whatif.whatif(spender.out, *MONTHS, "local", config, None)
    sharded = whatif.whatif(
        spender.out,
        *MONTHS,
        "sharded",
        config,
        None,
        executor={"executor": "in-process", "shards": 3},
    )
    assert sharded.totals == local.totals and sharded.months == local.months


def test_a_list_alone_is_compared_under_the_rules_the_months_were_published_with(world, tmp_path):
    config = rules_file(tmp_path, 'cap_per_referee_usd = "250.00"')
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2, R), "30.00")
    world.settle("2025-03", "2025-04", config=config)
    with pytest.raises(UsageError, match="published with other rules than"):
        whatif.whatif(world.out, "2025-03", "2025-04", "list", None, DEFAULT_ELIGIBLE_PRODUCTS_PATH)
