"""Incremental settlement equals a full recompute, byte for byte, while scanning only the
billing cycles that are new or changed (docs/performance.md#incremental): fixtures for each
reason to rescan, and random months through both paths (hypothesis)."""

import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples, line_amounts
from tests.world import World, start_ledger
from transforms import months
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions

FIRST, LAST = "2025-02", "2025-08"
REPO = Path(__file__).resolve().parents[1]


def _populate(world: World) -> None:
    for n in range(6):
        registered = date(2025, 2, 1 + 4 * n)
        world.refer(f"friend{n}", f"referrer{n % 2}", registered)
        world.spend(f"friend{n}", date(2025, 2, 3 + 4 * n), str(15 + 30 * n))
        world.spend(
            f"friend{n}", date(2025, 3, 10 + n), str(10 + 7 * n), product="oss", kind="Subscription"
        )
        world.spend(f"friend{n}", date(2025, 4, 2 + n), "-3.00")
    # linked refunds delivered in later cycles than their purchases (issue 12): each lands on
    # its purchase's date, whichever cycles the incremental run takes from its cache
    bought = world.spend("friend0", date(2025, 2, 2), "60.00", record_id="friend0-buy")
    world.spend("friend0", date(2025, 6, 9), "-45.00", original=bought)
    before = world.spend("friend3", date(2025, 2, 10), "30.00", record_id="friend3-before")
    world.spend("friend3", date(2025, 7, 1), "-30.00", original=before)  # pre-registration
    world.spend("friend4", date(2025, 8, 3), "-9.00", original="never-delivered")


def _outputs(out):
    files = {p.relative_to(out): p.read_bytes() for p in (out / "batches").rglob("*.csv")}
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in ("ledger_entries", "referrer_balances", "coupons", "referee_status")
        }
    return files, tables


def _settle_both_ways(tmp_path, last: str, before_month=None):
    """The world of _populate settled month by month, FIRST to `last`, in two warehouses
    from the same files: incremental and full recompute. `before_month(world, month)` may
    change the world first, and returns extra run options or None. Returns the worlds and
    each (mode, month)'s outcome."""
    worlds = {
        mode: World(tmp_path / mode, first_cycle="2025-01", last_cycle="2025-12")
        for mode in ("inc", "full")
    }
    outcomes = {}
    for mode, world in worlds.items():
        _populate(world)
        for month in months.month_range(FIRST, last):
            options = (before_month(world, month) if before_month else None) or {}
            (outcomes[(mode, month)],) = world.settle(month, incremental=(mode == "inc"), **options)
    return worlds, outcomes


def test_incremental_equals_full_recompute_with_a_changed_cycle_and_a_late_referral(tmp_path):
    def deliver(world, month):
        if month == "2025-05":
            # a corrected re-delivery of an earlier, already settled cycle ...
            world.spend("friend1", date(2025, 3, 20), "-25.00")
        if month == "2025-06":
            # ... and a referral registered in March that is delivered only now
            world.refer("late-friend", "referrer0", date(2025, 3, 15))
            world.spend("late-friend", date(2025, 3, 16), "80.00")
        if month == "2025-07":
            # ... and a second listing of a referee already settled, registered before
            # its first one: the earliest listing wins, so its window starts earlier
            world.refer("friend5", "referrer0", date(2025, 2, 2))
            world.spend("friend5", date(2025, 2, 10), "45.00")

    worlds, outcomes = _settle_both_ways(tmp_path, LAST, deliver)
    scanned = {key: outcome.scanned_cycles for key, outcome in outcomes.items()}
    carried = {key: outcome.carried_referees for key, outcome in outcomes.items()}
    assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    # the incremental run read only what it had to
    assert scanned[("inc", "2025-04")] == ("2025-04",)
    assert scanned[("inc", "2025-05")] == ("2025-03", "2025-05")  # the changed cycle, and its own
    assert scanned[("inc", "2025-06")] == (
        "2025-03",
        "2025-04",
        "2025-05",
        "2025-06",
    )  # late referee
    assert scanned[("inc", "2025-07")] == tuple(months.month_range("2025-02", "2025-07"))
    assert scanned[("inc", "2025-08")] == ("2025-08",)
    assert scanned[("full", "2025-07")] == tuple(months.month_range("2025-01", "2025-07"))
    # the windows advanced from last month's state (int_carried_referees): every referee in
    # a month that scans its own cycle alone, none after a rescan or on a full recompute;
    # in August all but friend4, whose new refund names a record never delivered (friend0's
    # and friend3's refunds of June and July are in July's state, and friend5's new listing
    # of July too)
    assert carried[("inc", "2025-03")] == carried[("inc", "2025-04")] == 6
    assert carried[("inc", "2025-05")] == carried[("inc", "2025-06")] == 0
    assert carried[("inc", "2025-07")] == 0
    assert carried[("inc", "2025-08")] == 6
    assert not any(carried[("full", month)] for month in months.month_range(FIRST, LAST))


def test_referees_whose_kept_days_move_in_a_normal_month_are_summed_again(tmp_path):
    # nothing is rescanned in April, but three referees' earlier days change: friend2's
    # referral is corrected to a later registration (the cache covers the account from the
    # earlier one), the purchase friend1's March refund names is delivered only in April
    # (the refund moves from its own day, unlinked, to the purchase's), and friend4's April
    # refund lowers its March purchase's day
    def deliver(world, month):
        if month == FIRST:
            world.spend("friend1", date(2025, 3, 25), "-12.00", original="friend1-later")
            world.spend("friend1", date(2025, 4, 3), "40.00", record_id="friend1-later")
            bought = world.spend("friend4", date(2025, 3, 12), "22.00", record_id="friend4-march")
            world.spend("friend4", date(2025, 4, 6), "-7.00", original=bought)
        if month == "2025-04":
            (listing,) = (r for r in world.referrals if r["referee_account_id"] == "friend2")
            listing["registered_at"] += timedelta(days=10)  # after its first purchase

    worlds, outcomes = _settle_both_ways(tmp_path, "2025-04", deliver)
    assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    assert outcomes[("inc", "2025-04")].scanned_cycles == ("2025-04",)
    assert outcomes[("inc", "2025-04")].carried_referees == 3  # friend0, friend3, friend5
    assert worlds["inc"].status("friend2", "2025-04")["registered_date"] == date(2025, 2, 19)


def test_a_corrected_cycle_makes_every_named_record_be_looked_up_again(tmp_path):
    # friend0's June refund names its February purchase. In August the February cycle is
    # re-delivered with that purchase dated later: where July found the named records
    # (warehouse.linked_original_dates) holds for the cycles as they were then, so August
    # looks every named record up again in every cycle, and the refund moves with it
    def deliver(world, month):
        if month == "2025-08":
            (bought,) = (line for line in world.lines if line["record_id"] == "friend0-buy")
            bought["billing_date"] = date(2025, 2, 20)

    worlds, outcomes = _settle_both_ways(tmp_path, "2025-08", deliver)
    assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    assert outcomes[("inc", "2025-08")].scanned_cycles == ("2025-02", "2025-08")
    found = "select original_billing_date from linked_original_dates where record_id = $r"
    for world in worlds.values():
        assert world.query(found, {"r": "friend0-buy"}) == [(date(2025, 2, 20),)]


def test_a_month_under_other_rules_sums_every_day(tmp_path):
    # the window state's crossings are the old threshold's: April, under a higher one,
    # must sum every referee's days, though it scans its own cycle alone
    rules = tmp_path / "rules.toml"
    rules.write_text(
        (REPO / "config" / "rules.toml")
        .read_text()
        .replace('base_threshold_usd = "20.00"', 'base_threshold_usd = "70.00"')
    )
    worlds, outcomes = _settle_both_ways(
        tmp_path, "2025-04", lambda world, month: {"config": rules} if month == "2025-04" else None
    )
    assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    assert outcomes[("inc", "2025-04")].scanned_cycles == ("2025-04",)
    assert outcomes[("inc", "2025-03")].carried_referees == 6
    assert outcomes[("inc", "2025-04")].carried_referees == 0


def test_a_changed_eligible_products_list_rescans_every_cycle(tmp_path):
    # the cache keeps spend after eligibility, so it is only valid for the list it was
    # filtered with; a new list must give what a full recompute gives
    products = tmp_path / "eligible.csv"
    header = "product_code,subscription_type,product_name,effective_from,effective_to\n"

    def list_products(world, month):
        listed = "ecs,PayAsYouGo,ECS,2020-01-01,\n"
        if month >= "2025-05":
            listed += "oss,*,OSS,2020-01-01,\n"  # oss becomes eligible from May's run
        products.write_text(header + listed)
        return {"eligible_products": products}

    worlds, outcomes = _settle_both_ways(tmp_path, "2025-06", list_products)
    scanned = {key: outcome.scanned_cycles for key, outcome in outcomes.items()}
    assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    assert scanned[("inc", "2025-04")] == ("2025-04",)
    assert scanned[("inc", "2025-05")] == tuple(months.month_range("2025-01", "2025-05"))
    assert scanned[("inc", "2025-06")] == ("2025-06",)


def test_files_unchanged_since_an_earlier_run_are_not_hashed_again(tmp_path, monkeypatch):
    from transforms.pipeline import input_fingerprints

    hashed = []
    real_sha256_file = input_fingerprints.sha256_file

    def counting_sha256_file(path):
        if "billing_cycle=" in str(path):
            hashed.append(path.parent.name)
        return real_sha256_file(path)

    monkeypatch.setattr(input_fingerprints, "sha256_file", counting_sha256_file)
    world = World(tmp_path / "w", first_cycle="2025-01", last_cycle="2025-04")
    _populate(world)
    data = world.write()
    options = RunOptions(data_dir=data, out_dir=world.out)
    start_ledger(world.out, data, "2025-03")
    settlement.settle("2025-03", options)
    assert len(hashed) == 3  # first run: every visible cycle's file
    hashed.clear()
    settlement.settle("2025-04", options)
    assert hashed == ["billing_cycle=2025-04"]  # only the cycle this month adds
    hashed.clear()
    (data / "billing" / "billing_cycle=2025-02" / "part-0.parquet").write_bytes(
        (data / "billing" / "billing_cycle=2025-02" / "part-0.parquet").read_bytes()
    )  # rewritten in place (same bytes): its stamp changed, so it is read again
    settlement.settle("2025-04", options)
    assert hashed == ["billing_cycle=2025-02"]
    hashed.clear()
    settlement.settle("2025-04", options.model_copy(update={"incremental": False}))
    assert len(hashed) == 4  # a full recompute trusts no earlier digest


# Random months through both paths (hypothesis). Data arrives as it does in production: a
# cycle's lines are delivered in its own month or up to two months late (a corrected
# re-delivery of a settled cycle), a referral up to two months after its registration (a
# late referral), sometimes with a second, earlier listing of the same referee delivered
# later still; refunds name an earlier line of the friend (delivered or not yet) or a record
# never delivered. Every month is settled incrementally in one warehouse and as a full
# recompute in another, from the same files, and the two must agree byte for byte.
RANDOM_FIRST, RANDOM_LAST = "2025-01", "2025-08"
START = date(2025, 1, 1)
lag_months = st.integers(0, 2)
# (day offset from registration, amount, the earlier line it names or -1 for a record never
# delivered or None, eligible product or not, delivery lag)
random_line = st.tuples(
    st.integers(0, 200),
    line_amounts,
    st.one_of(st.none(), st.integers(-1, 5)),
    st.booleans(),
    lag_months,
)
# (referrer, registration offset, its delivery lag, an earlier second listing, its lines)
random_referee = st.tuples(
    st.integers(0, 1),
    st.integers(0, 120),
    lag_months,
    st.one_of(st.none(), st.tuples(st.integers(1, 20), st.integers(1, 3))),
    st.lists(random_line, max_size=6),
)


def _deliveries(referees) -> dict[str, list]:
    """What each month delivers: (method name, args, kwargs) for World, by delivery month."""
    # a referral known from the first month on: a snapshot is never empty (an input rule)
    delivered = {RANDOM_FIRST: [("refer", ("founder", "referrer0", START), {})]}

    def deliver(on: date, lag: int, *call):
        month = max(on.strftime("%Y-%m"), RANDOM_FIRST)
        for _ in range(lag):
            month = months.next_month(month)
        if month <= RANDOM_LAST:
            delivered.setdefault(month, []).append(call)

    for number, (referrer, offset, lag, second, lines) in enumerate(referees):
        friend = f"friend{number}"
        registered = START + timedelta(days=offset)
        deliver(registered, lag, "refer", (friend, f"referrer{referrer}", registered), {})
        if second is not None:  # an earlier listing, delivered after the first
            earlier_by_days, later_by_months = second
            deliver(
                registered,
                lag + later_by_months,
                "refer",
                (friend, "referrer9", registered - timedelta(days=earlier_by_days)),
                {"code": "SECOND"},
            )
        for index, (day, amount, named, eligible, line_lag) in enumerate(lines):
            spent_on = registered + timedelta(days=day)
            original = None
            if named == -1 or (named is not None and named >= index):
                original = f"{friend}-never-delivered"
            elif named is not None:
                original = f"{friend}-{named}"
            product = {} if eligible else {"product": "oss", "kind": "Subscription"}
            kwargs = {"record_id": f"{friend}-{index}", "original": original, **product}
            deliver(spent_on, line_lag, "spend", (friend, spent_on, amount), kwargs)
    return delivered


@settings(max_examples=examples(4), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_referee, min_size=1, max_size=5))
def test_random_months_settle_the_same_incrementally_and_as_a_full_recompute(referees):
    root = Path(tempfile.mkdtemp(prefix="creditflow-incremental-"))
    try:
        worlds = {
            mode: World(root / mode, first_cycle=RANDOM_FIRST, last_cycle=RANDOM_LAST)
            for mode in ("inc", "full")
        }
        deliveries = _deliveries(referees)
        for month in months.month_range(RANDOM_FIRST, RANDOM_LAST):
            for mode, world in worlds.items():
                for method, args, kwargs in deliveries.get(month, []):
                    getattr(world, method)(*args, **kwargs)
                world.settle(month, incremental=(mode == "inc"))
        assert _outputs(worlds["inc"].out) == _outputs(worlds["full"].out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
