"""Crash safety and concurrency: SIGKILL at every crash point of both pipelines (the
settlement and the instrument ledger), then rerun; a second run on the same OUT; the
sandbox.

A killed run is a child forked from a warm forkserver that has the pipelines imported (a
cold process per point paid the imports, Great Expectations among them, every time); it
sets CREDITFLOW_CRASH_AT and SIGKILLs itself at that point, as a power cut would. The
reruns run here, in the test's own process.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from tests.world import World
from transforms.errors import StateConflict
from transforms.pipeline import instruments, settlement, warehouse
from transforms.pipeline.faults import CRASH_POINTS
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions

MONTHS = ("2025-03", "2025-04", "2025-05")
PIPELINES = {"settlement": settlement.settle, "instruments": instruments.run_month}
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["transforms.pipeline.settlement", "transforms.pipeline.instruments"])


def _world(world: World) -> World:
    world.first_cycle = "2025-03"  # the program starts with its first delivered cycle
    for n in range(4):
        world.refer(f"friend{n}", f"referrer{n % 2}", date(2025, 3, 1 + n))
        world.spend(f"friend{n}", date(2025, 3, 5 + n), str(40 + 70 * n))
    world.spend("friend0", date(2025, 4, 20), "-40.00")
    # the instrument ledger's own inputs: a voucher redeemed, a coupon used
    world.voucher("V1", "referrer0", date(2025, 3, 20), date(2025, 4, 1), date(2025, 6, 30))
    world.voucher_event("e1", "V1", "redeem", "referrer0", date(2025, 4, 10))
    world.use_coupon("u1", "referrer1", "2025-04", "5.00", date(2025, 5, 10))
    world.write()
    return world


def _options(world: World) -> RunOptions:
    return RunOptions(data_dir=world.data, out_dir=world.out)


def _killed_at(pipeline: str, month: str, options: RunOptions, crash_at: str) -> None:
    """In the forked child: run the month until the crash point kills it."""
    os.environ["CREDITFLOW_CRASH_AT"] = crash_at
    PIPELINES[pipeline](month, options)


def _run_killed(pipeline: str, month: str, options: RunOptions, crash_at: str) -> int:
    child = FORKS.Process(target=_killed_at, args=(pipeline, month, options, crash_at))
    child.start()
    child.join(300)
    return child.exitcode


def _snapshot(out):
    files = {
        p.relative_to(out): p.read_bytes()
        for folder in ("batches", "instruments")
        for p in (out / folder).rglob("*.*")
    }
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            table: con.execute(f"select * from {table} order by all").fetchall()
            for table in (
                "ledger_entries",
                "referrer_balances",
                "instrument_events",
                "instrument_rollforward",
                "instrument_months",
            )
        }
        duplicates = con.execute(
            "select count(*) - count(distinct (settlement_month, referee_account_id, component)) from ledger_entries"
        ).fetchone()[0]
        imbalance = con.execute(
            """select count(*) from settlements s
               where coupon_total_usd + carry_out_total_usd - carry_in_total_usd
                     <> (select coalesce(sum(amount_usd), 0) from ledger_entries l
                         where l.settlement_month = s.settlement_month)"""
        ).fetchone()[0]
    return files, tables, duplicates, imbalance


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory):
    world = _world(World(tmp_path_factory.mktemp("uninterrupted")))
    for month in MONTHS:
        settlement.settle(month, _options(world))
        instruments.run_month(month, _options(world))
    return _snapshot(world.out)


@pytest.mark.integration  # a child process killed at each point
@pytest.mark.parametrize(
    ("pipeline", "crash_at"),
    [
        (("instruments" if point.startswith("instruments_") else "settlement"), point)
        for point in CRASH_POINTS
    ],
)
def test_sigkill_at_each_crash_point_then_rerun_gives_the_uninterrupted_result(
    world, uninterrupted, pipeline, crash_at
):
    options = _options(_world(world))
    settlement.settle("2025-03", options)
    instruments.run_month("2025-03", options)
    if pipeline == "instruments":
        settlement.settle("2025-04", options)
    assert _run_killed(pipeline, "2025-04", options, crash_at) == -signal.SIGKILL
    for month in MONTHS[1:]:
        settlement.settle(month, options)  # a published month: rendered again, no new row
        instruments.run_month(month, options)
    files, tables, duplicates, imbalance = _snapshot(world.out)
    assert files == uninterrupted[0]
    assert tables == uninterrupted[1]
    assert duplicates == 0 and imbalance == 0


@pytest.mark.integration  # a second process holds the warehouse
def test_a_second_run_on_the_same_out_fails_fast_and_changes_nothing(world):
    _world(world).settle("2025-03")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(60)",
            str(world.out / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StateConflict, match=f"locked by process {holder.pid} ") as refused:
            settlement.settle("2025-04", RunOptions(data_dir=world.data, out_dir=world.out))
        # it failed fast: refused while the holder still holds the file (a run that waited
        # for the lock would have seen the holder end instead)
        assert holder.poll() is None
        # the holder may be an analyst's session, not only another run
        assert "interactive session" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    assert world.query("select max(settlement_month) from settlements") == [("2025-03",)]
    assert not (world.out / "batches" / "2025-04").exists()


def test_duckdb_session_is_sandboxed(world):
    _world(world).write()
    con = warehouse.connect(OutputLayout(world.out), read_only=False, readable=(world.data,))
    try:
        assert (
            con.execute(
                f"select count(*) from read_parquet('{world.data}/accounts/*.parquet')"
            ).fetchone()[0]
            > 0
        )
        with pytest.raises(duckdb.Error):
            con.execute("select * from read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("copy (select 1) to '/tmp/creditflow-escape.csv'")
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("install httpfs")
    finally:
        con.close()
