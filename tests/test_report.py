"""The month report (OUT/reports/M/index.html): one self-contained page a controller reads
offline, written after each publish and when validation stops a month."""

import re
import shutil
from datetime import date

import pytest

from tests.helpers import screenshot


def _page(world, month):
    return (world.out / "reports" / month / "index.html").read_text()


def test_a_month_without_coupons_gets_a_self_contained_report(world):
    world.refer("friend", "referrer", date(2025, 4, 20))  # no spend: no coupon
    world.settle("2025-04")
    page = _page(world, "2025-04")
    assert "Refer a Friend — 2025-04" in page
    assert re.search(r'class="k">coupons</div><div class="v">0<', page)
    # offline by construction: no script, no stylesheet link, no external image or font
    assert "<script" not in page and "<link" not in page
    assert not re.search(r'(src|href)="https?://', page)
    assert "all 8 checks passed" in page
    # GX's static Data Docs site (CDN styles, megabytes a month) is no longer copied
    assert sorted(p.name for p in (world.out / "reports" / "2025-04").iterdir()) == [
        "index.html",
        "validation.json",
    ]


def test_the_report_gains_the_instrument_bridge_and_reruns_render_the_same_bytes(world):
    world.refer("friend", "referrer", date(2025, 4, 2))
    world.spend("friend", date(2025, 4, 3), "25.00")
    world.settle("2025-04")
    assert "The instrument month is not published yet" in _page(world, "2025-04")
    world.run_instruments("2025-04")
    page = _page(world, "2025-04")
    assert "Instrument bridge" in page and "welcome_credit" in page
    assert "USD 20.00" in page  # the welcome pair outstanding
    world.settle("2025-04")  # already published: rendered again
    assert _page(world, "2025-04") == page


def test_the_report_separates_the_programs_liability_explains_the_lag_and_shows_a_trend(
    world, monkeypatch
):
    monkeypatch.delenv("CREDITFLOW_COUPON_KEY", raising=False)  # the development key
    world.refer("friend", "referrer", date(2025, 4, 2))
    world.spend("friend", date(2025, 4, 3), "25.00")
    world.voucher("V1", "buyer", date(2025, 4, 10), date(2025, 4, 10), date(2025, 12, 31), "50.00")
    for month in ("2025-04", "2025-05", "2025-06"):
        world.settle(month)
        world.run_instruments(month)
    page = _page(world, "2025-06")
    assert '<p class="banner">DEVELOPMENT coupon key: these coupons are not real' in page
    assert re.search(r'class="k">program liability</div><div class="v">USD [0-9.,]+<', page)
    assert "customer-prepaid vouchers outstanding (not program cost)" in page
    # May's batch (the base, 20.00) is issued on June 5: June's bridge says why
    assert "the referral coupons issued in 2025-06 (USD 20.00) are the batch settled" in page
    assert "Program liability, last 12 months" in page
    assert page.count("<title>2025-0") >= 6  # three months in each of the two charts


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="no Chromium here (apt-get install -y chromium): the page is not checked in a browser",
)
@pytest.mark.integration  # a browser
def test_the_report_renders_in_a_headless_browser(world, tmp_path):
    world.refer("friend", "referrer", date(2025, 4, 2))
    world.spend("friend", date(2025, 4, 3), "25.00")
    world.settle("2025-04")
    page = world.out / "reports" / "2025-04" / "index.html"
    shot = screenshot(page, tmp_path / "report.png")
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
