"""Crash safety and concurrency: SIGKILL at each stage boundary, then rerun; two runs at once."""

import os
import signal
import subprocess
import sys
import time
from datetime import date

import duckdb
import pytest

from transforms.errors import StateConflict
from transforms.pipeline import settlement, warehouse
from transforms.pipeline.faults import CRASH_POINTS
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions

SETTLE = """
import sys
from pathlib import Path
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions
settlement.settle(sys.argv[1], RunOptions(data_dir=Path(sys.argv[2]), out_dir=Path(sys.argv[3])))
"""


def _world(world):
    world.first_cycle = "2025-03"  # the program starts with its first delivered cycle
    for n in range(4):
        world.refer(f"friend{n}", f"referrer{n % 2}", date(2025, 3, 1 + n))
        world.spend(f"friend{n}", date(2025, 3, 5 + n), str(40 + 70 * n))
    world.spend("friend0", date(2025, 4, 20), "-40.00")
    return world


def _settle_in_process(month, data, out, crash_at=None):
    env = dict(os.environ)
    if crash_at:
        env["CREDITFLOW_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-c", SETTLE, month, str(data), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _snapshot(out):
    files = {p.relative_to(out): p.read_bytes() for p in (out / "batches").rglob("*.*")}
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute("select * from ledger_entries order by all").fetchall()
        balances = con.execute("select * from referrer_balances order by all").fetchall()
        duplicates = con.execute(
            "select count(*) - count(distinct (settlement_month, referee_account_id, component)) from ledger_entries"
        ).fetchone()[0]
        imbalance = con.execute(
            """select count(*) from settlements s
               where coupon_total_usd + carry_out_total_usd - carry_in_total_usd
                     <> (select coalesce(sum(amount_usd), 0) from ledger_entries l
                         where l.settlement_month = s.settlement_month)"""
        ).fetchone()[0]
    return files, ledger, balances, duplicates, imbalance


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from tests.world import World

    world = _world(World(tmp_path_factory.mktemp("uninterrupted")))
    world.settle("2025-03", "2025-05")
    return _snapshot(world.out)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_sigkill_at_each_stage_then_rerun_gives_the_uninterrupted_result(
    world, uninterrupted, crash_at
):
    _world(world).write()
    assert _settle_in_process("2025-03", world.data, world.out).returncode == 0
    killed = _settle_in_process("2025-04", world.data, world.out, crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    for month in ("2025-04", "2025-05"):
        rerun = _settle_in_process(month, world.data, world.out)
        assert rerun.returncode == 0, rerun.stderr
    files, ledger, balances, duplicates, imbalance = _snapshot(world.out)
    assert files == uninterrupted[0]
    assert (ledger, balances) == (uninterrupted[1], uninterrupted[2])
    assert duplicates == 0 and imbalance == 0


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
        started = time.perf_counter()
        with pytest.raises(StateConflict, match=f"locked by process {holder.pid} ") as refused:
            settlement.settle("2025-04", RunOptions(data_dir=world.data, out_dir=world.out))
        # the holder may be an analyst's session, not only another run
        assert "interactive session" in str(refused.value)
        assert time.perf_counter() - started < 10
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
