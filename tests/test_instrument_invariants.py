"""Invariants of the instrument ledger over random event streams (hypothesis).

Voucher events are delivered across months: some late (after the month they are dated in
was published), some delivered again as they were, some delivered again with other
content. Over the months: every distinct event row appears in exactly one month's
events.parquet, an id is accepted at most once, the roll-forward identity holds every
month, no balance goes negative; and with no late deliveries, running the months one by
one as the data arrives gives the same files as one range run over the complete data.
"""

import csv
import shutil
import tempfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from tests.world import World

MONTHS = ("2025-04", "2025-05", "2025-06")
ACCOUNTS = ("alice", "bob", "carol")
VOUCHERS = ("V1", "V2", "V3")

# an event: voucher, type, actor, recipient, day (0 = April 1), delivery delay in months,
# and whether a copy with other content (one day later) is delivered a month after it
event = st.tuples(
    st.sampled_from(VOUCHERS),
    st.sampled_from(("transfer", "redeem", "refund_request")),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS),
    st.integers(0, 90),
    st.integers(0, 2),
    st.booleans(),
)


def _world(root: Path) -> World:
    world = World(root, first_cycle="2025-03", last_cycle="2025-06")
    for account in ACCOUNTS:
        world.account(account)
    world.voucher("V1", "alice", date(2025, 3, 20), date(2025, 4, 1), date(2025, 6, 30))
    world.voucher("V2", "bob", date(2025, 3, 20), date(2025, 4, 1), date(2025, 4, 20))
    world.voucher("V3", "carol", date(2025, 4, 10), date(2025, 4, 10), date(2025, 5, 31))
    return world


def _month_index(when: datetime) -> int | None:
    dated = f"{when:%Y-%m}"
    return MONTHS.index(dated) if dated in MONTHS else None


def _deliveries(events, late: bool):
    """(index of the delivery month, event id, row) for every copy of every event. Without
    late deliveries every copy arrives in the month it is dated in."""
    copies = []
    for number, (voucher, kind, actor, to, day, delay, conflicting) in enumerate(events):
        when = datetime(2025, 4, 1) + timedelta(days=day)
        row = (voucher, kind, actor, to if kind == "transfer" else None, when)
        other = (*row[:4], when + timedelta(days=1))
        for copy, extra_delay in ((row, delay), (row, delay + 1), (other, delay + 1)):
            dated = _month_index(copy[4])
            if dated is None or (copy is other and not conflicting):
                continue
            # a repeat of the same row comes a month after it, a conflicting copy too
            arrives = min(dated + extra_delay, len(MONTHS) - 1) if late else dated
            copies.append((arrives, f"e{number}", copy))
    return copies


def _deliver(world: World, copies, up_to: int) -> None:
    world.voucher_events = []
    for index, (month, event_id, row) in enumerate(copies):
        if month <= up_to:
            voucher, kind, actor, to, when = row
            world.voucher_event(event_id, voucher, kind, actor, when, to=to, file=index % 2)


def _files(out: Path) -> dict:
    return {
        p.relative_to(out): p.read_bytes()
        for p in sorted((out / "instruments").rglob("*"))
        if p.is_file()
    }


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, min_size=1, max_size=10), st.booleans())
def test_random_event_streams_list_every_event_once_and_keep_the_ledger_whole(events, late):
    root = Path(tempfile.mkdtemp(prefix="creditflow-instruments-"))
    try:
        copies = _deliveries(events, late)
        world = _world(root / "by_month")
        for number, month in enumerate(MONTHS):
            _deliver(world, copies, number)
            world.run_instruments(month)
        listed = []
        with duckdb.connect() as con:
            for month in MONTHS:
                folder = world.out / "instruments" / month
                listed += [
                    (*row, month)
                    for row in con.execute(
                        f"""select event_id, instrument_id, event_type, actor_account_id,
                                   to_account_id, occurred_at, accepted, late
                            from read_parquet('{folder}/events.parquet')"""
                    ).fetchall()
                ]
            lowest_balance = con.execute(
                f"""select min(remaining_balance_usd)
                    from read_parquet('{world.out}/instruments/*/state.parquet')"""
            ).fetchone()[0]
        delivered = {(event_id, *row) for _, event_id, row in copies}
        rows = [(e[0], e[1], e[2], e[3], e[4], e[5]) for e in listed]
        # every distinct delivered row is listed, and in exactly one month
        assert sorted(rows) == sorted(delivered)
        accepted = [e[0] for e in listed if e[6]]
        assert len(accepted) == len(set(accepted))
        # late exactly when listed in a month after the one it is dated in
        for e in listed:
            assert e[7] == (f"{e[5]:%Y-%m}" < e[8]), e
        assert lowest_balance >= Decimal("0.00")
        for month in MONTHS:
            with open(world.out / "instruments" / month / "rollforward.csv") as handle:
                for row in csv.DictReader(handle):
                    opening, issued, used, expired, closing = (
                        Decimal(row[c])
                        for c in (
                            "opening_outstanding_usd",
                            "issued_usd",
                            "redeemed_or_used_usd",
                            "expired_usd",
                            "closing_outstanding_usd",
                        )
                    )
                    assert opening + issued - used - expired == closing, (month, row)
        if not late:
            # the same months in one range run over the complete data: the same files
            at_once = _world(root / "at_once")
            _deliver(at_once, copies, len(MONTHS) - 1)
            at_once.run_instruments(MONTHS[0], MONTHS[-1])
            assert _files(at_once.out) == _files(world.out)
    finally:
        shutil.rmtree(root, ignore_errors=True)
