"""The Dask executor (issue 16, docs/performance.md#scale-out): the bill-line scans sharded by
a stable hash of the account id give the same outputs, byte for byte, for any number of
shards; a shard reads only its accounts' lines; a file is laid out once."""

import json
import logging
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bench.generate import generate
from flows import dask_cluster
from flows.cli import main
from tests.golden_year import DATA_FILES, GOLDEN, MANIFEST, SAMPLE_MONTHS, comparable_manifest
from tests.helpers import run_cli
from tests.world import start_ledger
from transforms.errors import OrchestratorUnavailable
from transforms.pipeline import (
    executors,
    settlement,
    settlement_run,
    shard_layout,
    shards,
    warehouse,
)
from transforms.pipeline.options import RunOptions

REPO = Path(__file__).resolve().parents[1]
GENERATED_MONTHS = ("2025-12", "2026-01")  # a first settlement (every cycle), then incremental


def published_bytes(out: Path) -> dict[str, bytes]:
    """Every file a settlement publishes for people (batch files, the catalog's Parquet
    snapshots, the quarantine), the manifests without their code version."""
    found = {}
    for folder in ("batches", "catalog", "quarantine"):
        for path in sorted((out / folder).rglob("*.*")):
            data = path.read_bytes()
            if path.name == "manifest.json":
                data = repr(comparable_manifest(data)).encode()
            found[path.relative_to(out).as_posix()] = data
    return found


def settle_all(data: Path, out: Path, month_list, **executor) -> dict[str, bytes]:
    options = RunOptions(data_dir=data, out_dir=out, **executor)
    start_ledger(out, data, month_list[0])  # the generated history starts before it
    for month in month_list:
        assert settlement.settle(month, options).action == "published"
    return published_bytes(out)


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return exited.value.code


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """Generated data with linked refunds, repeated records and the identity cases."""
    data = tmp_path_factory.mktemp("generated")
    generate(data, referees=400, cycles=13, lines_per_month=4000, seed=16, progress=lambda m: None)
    return data


@pytest.fixture(scope="session")
def generated_local(generated, tmp_path_factory) -> dict[str, bytes]:
    return settle_all(generated, tmp_path_factory.mktemp("local"), GENERATED_MONTHS)


@pytest.fixture(scope="session")
def cluster():
    from distributed import LocalCluster

    # its scheduler, in this process, logs its clients' comings and goings at INFO, some after
    # pytest has closed the stream Prefect's console handler writes to ("--- Logging error")
    for name in ("distributed", "distributed.scheduler", "distributed.core"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
    ) as running:
        yield running


# the generated data below is checked on one, two and three shards against the local
# executor (and on a Dask cluster); the sample year, with every rule's case, on three
@pytest.mark.integration  # the whole sample year
def test_the_sample_year_on_three_shards_matches_the_golden_files(tmp_path):
    produced = settle_all(
        REPO / "sample_data", tmp_path, SAMPLE_MONTHS, executor="in-process", shards=3
    )
    for month in SAMPLE_MONTHS:
        for name in DATA_FILES:
            assert produced[f"batches/{month}/{name}"] == (GOLDEN / month / name).read_bytes()
        assert (
            produced[f"batches/{month}/{MANIFEST}"]
            == repr(comparable_manifest((GOLDEN / month / MANIFEST).read_bytes())).encode()
        )


@pytest.mark.integration  # the generated data set, end to end
@pytest.mark.parametrize("shard_count", [1, 2, 3])
def test_generated_data_is_the_same_for_any_number_of_shards(
    shard_count, generated, generated_local, tmp_path
):
    produced = settle_all(
        generated, tmp_path, GENERATED_MONTHS, executor="in-process", shards=shard_count
    )
    assert produced.keys() == generated_local.keys()
    differing = [name for name in produced if produced[name] != generated_local[name]]
    assert differing == []


@pytest.mark.integration
def test_on_a_dask_cluster_the_outputs_are_the_same(generated, generated_local, cluster, tmp_path):
    produced = settle_all(
        generated,
        tmp_path,
        GENERATED_MONTHS,
        executor="dask",
        dask_address=cluster.scheduler_address,
        shards=3,  # more shards than workers: a worker takes several
    )
    assert produced == generated_local


def test_a_shard_reads_only_its_accounts_and_every_line_once(generated, tmp_path):
    settle_all(generated, tmp_path, GENERATED_MONTHS[:1], executor="in-process", shards=3)
    keys = [p.name for p in shard_layout.layout_dir(tmp_path).iterdir()]
    accounts, lines = [], 0
    for shard in range(3):
        parts = shard_layout.shard_parts(tmp_path, keys, shard, 3)
        table = pq.ParquetDataset(list(parts)).read(columns=["account_id"])
        accounts.append(set(table.column("account_id").to_pylist()))
        lines += table.num_rows
    assert not (accounts[0] & accounts[1]) and not (accounts[1] & accounts[2])
    assert not (accounts[0] & accounts[2])
    delivered = sorted(generated.glob("billing/*/*.parquet"))
    (total,) = duckdb.execute(
        "select count(*) from read_parquet($files, union_by_name = true)",
        {"files": [str(p) for p in delivered if p.parent.name <= "billing_cycle=2025-12"]},
    ).fetchone()
    assert lines == total


def test_a_billing_file_is_laid_out_once(generated, tmp_path):
    options = RunOptions(data_dir=generated, out_dir=tmp_path, executor="in-process", shards=2)
    start_ledger(tmp_path, generated, GENERATED_MONTHS[0])
    settlement.settle(GENERATED_MONTHS[0], options)
    first = {p.name: p.stat().st_mtime_ns for p in shard_layout.layout_dir(tmp_path).iterdir()}
    settlement.settle(GENERATED_MONTHS[1], options)
    second = {p.name: p.stat().st_mtime_ns for p in shard_layout.layout_dir(tmp_path).iterdir()}
    assert {k: second[k] for k in first} == first  # nothing laid out again
    new_cycle_files = list(generated.glob(f"billing/billing_cycle={GENERATED_MONTHS[1]}/*.parquet"))
    assert len(second) - len(first) == len(new_cycle_files)


def test_the_layout_key_changes_with_the_content_and_the_place(tmp_path):
    path = str(tmp_path / "part-0.parquet")
    assert shard_layout.file_key(path, "a" * 64) == shard_layout.file_key(path, "a" * 64)
    assert shard_layout.file_key(path, "a" * 64) != shard_layout.file_key(path, "b" * 64)
    assert shard_layout.file_key(path, "a" * 64) != shard_layout.file_key(
        "data/part-0.parquet", "a" * 64
    )


@pytest.mark.integration
def test_in_process_and_dask_map_return_results_in_task_order(cluster):
    tasks = [3, 1, 2]
    assert executors.in_process(abs, tasks) == [3, 1, 2]
    assert executors.on_dask(cluster.scheduler_address)(abs, tasks) == [3, 1, 2]


def test_an_unreachable_scheduler_is_one_line_and_exit_6(
    prefect_harness, monkeypatch, tmp_path, capsys
):
    # the session's Prefect server: without one, the CLI starts its own API while it
    # reaches for the scheduler (flows/ephemeral_api.py), which only integration tests may
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    code = exit_code(
        [
            "settle",
            "--month",
            "2025-11",
            "--data",
            str(REPO / "sample_data"),
            "--out",
            str(tmp_path / "out"),
            "--executor",
            "dask",
            "--dask-address",
            "tcp://127.0.0.1:9",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 6
    assert any("cannot reach a Dask scheduler at tcp://127.0.0.1:9" in line for line in err)
    assert not (tmp_path / "out" / "warehouse.duckdb").exists()


def test_an_address_that_is_not_a_scheduler_is_one_line_not_a_crash(monkeypatch, tmp_path, capsys):
    import socket
    import threading

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 5)
    # another service on the port: it greets with its banner, which Dask would read as the
    # length of a message (it tried to allocate exabytes: MemoryError, exit 7)
    listener = socket.create_server(("127.0.0.1", 0))

    def banner():
        while True:
            connection, _ = listener.accept()
            connection.sendall(b"SSH-2.0-OpenSSH_9.6 not a Dask scheduler\r\n" * 4)

    threading.Thread(target=banner, daemon=True).start()
    base = ["settle", "--month", "2025-11", "--data", str(REPO / "sample_data")]
    for address, expected in (
        ("not-a-url", 2),  # a typo: a usage error
        (f"tcp://127.0.0.1:{listener.getsockname()[1]}", 6),  # another service
    ):
        out = tmp_path / f"out-{expected}"
        args = [*base, "--out", str(out), "--executor", "dask", "--dask-address", address]
        assert exit_code(args) == expected, address
        err = capsys.readouterr().err
        assert err.count("creditflow: error:") == 1 and "Traceback" not in err
        assert not (out / "warehouse.duckdb").exists()
    listener.close()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--workers", "2"],
        ["--dask-address", "tcp://127.0.0.1:9"],
        ["--executor", "dask", "--workers", "0"],
    ],
)
def test_executor_options_are_checked(arguments, tmp_path, capsys):
    out = ["--out", str(tmp_path / "out")]
    code = exit_code(
        ["settle", "--month", "2025-11", "--data", str(REPO / "sample_data"), *out, *arguments]
    )
    assert code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.integration
def test_a_local_cluster_is_started_and_closed_for_the_command(monkeypatch, tmp_path):
    class Args:
        executor, workers, dask_address = "dask", 2, None

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    options = RunOptions(data_dir=REPO / "sample_data", out_dir=tmp_path)
    with dask_cluster.executor_options(Args, options) as sharded:
        assert sharded.executor == "dask" and sharded.shards == 2
        # two workers on this machine share the run's memory_limit with the coordinator,
        # which keeps its own limit but gives back what it frees while they run
        assert (sharded.memory_limit, sharded.shard_memory_limit) == ("2GB", "666MB")
        assert sharded.allocator_background_threads
        assert executors.on_dask(sharded.dask_address)(abs, [-1]) == [1]
    with pytest.raises(OrchestratorUnavailable):  # the cluster is gone with the command
        executors.on_dask(sharded.dask_address)(abs, [-1])


@pytest.mark.integration
def test_a_process_that_reaches_the_local_cluster_finds_no_key_on_any_worker(monkeypatch, tmp_path):
    """The key stays with the coordinator (docs/operations.md#dask): the workers are started
    without it, and the cluster listens on the loopback only."""

    class Args:
        executor, workers, dask_address = "dask", 2, None

    monkeypatch.setenv("CREDITFLOW_COUPON_KEY", "a-strong-key-the-workers-never-see")
    monkeypatch.setenv("CREDITFLOW_NOTIFY_URL", "https://hooks.example/secret-path")
    options = RunOptions(data_dir=REPO / "sample_data", out_dir=tmp_path)
    with dask_cluster.executor_options(Args, options) as sharded:
        assert sharded.dask_address.startswith("tcp://127.0.0.1:")
        # another process, as an intruder would: its own client, asking every worker
        probe = (
            "import json, os, sys; from distributed import Client; "
            "c = Client(sys.argv[1], timeout=20); "
            "print(json.dumps(c.run(lambda: {n: os.environ.get(n) for n in "
            "('CREDITFLOW_COUPON_KEY', 'CREDITFLOW_NOTIFY_URL')}))); c.close()"
        )
        found = subprocess.run(
            [sys.executable, "-c", probe, sharded.dask_address],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        seen = json.loads(found.stdout.strip().splitlines()[-1])
        assert len(seen) == 2
        assert all(value is None for worker in seen.values() for value in worker.values())
        assert os.environ["CREDITFLOW_COUPON_KEY"] == "a-strong-key-the-workers-never-see"


def _worker_keys(address: str) -> dict:
    """Each worker's view of the coupon key (none when the cluster has no workers)."""
    with executors.client(address) as connected:
        return connected.run(lambda: os.environ.get("CREDITFLOW_COUPON_KEY"))


@pytest.mark.integration
def test_a_local_clusters_workers_are_closed_after_a_months_shards_and_come_back(
    monkeypatch, tmp_path
):
    """Once a month's shards are done the local workers are closed, so that the coordinator's
    publish has the machine's memory (docs/performance.md, a local cluster's memory); the
    next month's sharded work starts them again, still without the run's secrets."""

    class Args:
        executor, workers, dask_address = "dask", 2, None

    monkeypatch.setenv("CREDITFLOW_COUPON_KEY", "a-strong-key-the-workers-never-see")
    options = RunOptions(data_dir=REPO / "sample_data", out_dir=tmp_path)
    with dask_cluster.executor_options(Args, options) as sharded:
        on_dask = executors.on_dask(sharded.dask_address)
        assert on_dask(abs, [-1, -2]) == [1, 2]
        executors.release_local_workers(sharded.dask_address)
        assert _worker_keys(sharded.dask_address) == {}
        assert on_dask(abs, [-3]) == [3]  # the next month
        assert list(_worker_keys(sharded.dask_address).values()) == [None, None]
        assert os.environ["CREDITFLOW_COUPON_KEY"] == "a-strong-key-the-workers-never-see"


@pytest.mark.integration
def test_workers_that_do_not_come_back_in_time_are_one_line_and_exit_6(monkeypatch, tmp_path):
    class Args:
        executor, workers, dask_address = "dask", 2, None

    options = RunOptions(data_dir=REPO / "sample_data", out_dir=tmp_path)
    with dask_cluster.executor_options(Args, options) as sharded:
        executors.release_local_workers(sharded.dask_address)
        monkeypatch.setattr(executors, "WORKERS_TIMEOUT_S", 0.001)  # a worker needs ~0.4 s
        with pytest.raises(OrchestratorUnavailable, match="did not start within"):
            executors.on_dask(sharded.dask_address)(abs, [-1])


@pytest.mark.parametrize("wanted", [True, False])
def test_the_runs_session_gives_back_freed_memory_only_when_asked(wanted, tmp_path):
    """Asked for on a local cluster, whose coordinator waits beside its workers; a month on
    one process is faster without it (docs/performance.md, a local cluster's memory)."""
    options = RunOptions(
        data_dir=REPO / "sample_data", out_dir=tmp_path, allocator_background_threads=wanted
    )
    run = settlement_run.open_run("2025-11", options)
    try:
        setting = "select current_setting('allocator_background_threads')"
        assert run.con.execute(setting).fetchone()[0] is wanted
    finally:
        run.con.close()


def test_the_workers_of_an_existing_scheduler_are_never_closed(cluster):
    executors.release_local_workers(cluster.scheduler_address)
    assert len(_worker_keys(cluster.scheduler_address)) == 2


@pytest.mark.parametrize(
    ("memory_limit", "sharers", "share"),
    [("2GB", 1, "2000MB"), ("2GB", 2, "1000MB"), ("2GB", 3, "666MB"), (" 1.5 gb", 4, "375MB"),
     ("512MB", 1024, "1MB")],
)  # fmt: skip
def test_local_workers_share_the_runs_memory_limit(memory_limit, sharers, share):
    assert dask_cluster.shared_memory_limit(memory_limit, sharers) == share


def test_a_memory_limit_that_is_not_a_size_is_refused():
    with pytest.raises(ValueError, match="not a size"):
        dask_cluster.shared_memory_limit("lots", 2)


def test_every_shard_session_runs_with_the_shard_memory_limit(world, tmp_path, monkeypatch):
    """Laying out the files and computing the shards both open DuckDB sessions with the
    shards' limit; the coordinator keeps the run's. The same bytes either way."""
    opened = []
    session = warehouse.session

    def recording(memory_limit, threads=None):
        con = session(memory_limit, threads)
        opened.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        return con

    monkeypatch.setattr(warehouse, "session", recording)
    with duckdb.connect() as probe:
        probe.execute("set memory_limit = '500MB'")
        (shard_setting,) = probe.execute("select current_setting('memory_limit')").fetchone()
        probe.execute("set memory_limit = '2GB'")
        (run_setting,) = probe.execute("select current_setting('memory_limit')").fetchone()
    world.first_cycle, world.last_cycle = "2025-03", "2025-03"
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "150.00")
    world.write()
    local = settle_all(world.data, tmp_path / "local", ("2025-03",))
    opened.clear()
    sharded = settle_all(
        world.data,
        tmp_path / "sharded",
        ("2025-03",),
        executor="in-process",
        shards=2,
        shard_memory_limit="500MB",
    )
    assert sharded == local
    # at least one layout and two shards, and the coordinator's own session
    assert opened.count(shard_setting) >= 3
    assert set(opened) == {shard_setting, run_setting}


def test_shards_without_lines_still_count_their_share(world, tmp_path):
    """More shards than buckets: some shards own no bucket at all, and in an incremental
    month many own referees with no line in the new cycle (their spend is in the state);
    every referee must still be measured (a tiny world: the cost is per shard)."""
    world.first_cycle, world.last_cycle = "2025-03", "2025-04"
    for number in range(6):
        friend = f"friend-{number}"
        world.refer(friend, f"referrer-{number % 2}", date(2025, 3, 1 + number))
        world.spend(friend, date(2025, 3, 2 + number), f"{15 + 30 * number}.00")
        if number % 3 == 0:  # some spend again in the incremental month, most do not
            world.spend(friend, date(2025, 4, 2 + number), "25.00")
    world.write()
    month_list = ("2025-03", "2025-04")
    local = settle_all(world.data, tmp_path / "local", month_list)
    sharded = settle_all(
        world.data,
        tmp_path / "sharded",
        month_list,
        executor="in-process",
        shards=shard_layout.SHARD_BUCKETS + 4,
    )
    assert sharded == local
    assert b"referrer-0" in local["batches/2025-04/coupons.csv"]


@pytest.mark.integration
@pytest.mark.flow
def test_the_cli_runs_a_backfill_on_a_local_cluster(prefect_harness, tmp_path, capsys):
    out = tmp_path / "out"
    data = ["--data", str(REPO / "sample_data"), "--out", str(out)]
    code, _, err = run_cli(
        [
            "backfill",
            "--from",
            "2025-11",
            "--to",
            "2026-01",
            *data,
            "--executor",
            "dask",
            "--workers",
            "2",
        ],
        capsys,
    )
    assert code == 0, err
    assert "dask: local cluster of 2 worker process(es)" in err
    assert "2026-01: shards: 2 shard(s) read" in err
    for month in SAMPLE_MONTHS[:3]:
        produced = (out / "batches" / month / "coupons.csv").read_bytes()
        assert produced == (GOLDEN / month / "coupons.csv").read_bytes()


@pytest.mark.integration
@pytest.mark.flow
def test_the_scheduled_close_settles_on_a_dask_scheduler(prefect_harness, cluster, tmp_path):
    from flows.monthly_close import monthly_close

    for month in SAMPLE_MONTHS[:2]:
        result = monthly_close(
            data_dir=str(REPO / "sample_data"),
            out_dir=str(tmp_path),
            month=month,
            dask_address=cluster.scheduler_address,
            dask_shards=3,
        )
        assert result["settlement"] == "published"
    month = SAMPLE_MONTHS[1]
    produced = (tmp_path / "batches" / month / "coupons.csv").read_bytes()
    assert produced == (GOLDEN / month / "coupons.csv").read_bytes()
    assert list(shard_layout.layout_dir(tmp_path).iterdir())  # the shards' layout was made


@pytest.mark.parametrize("shard_count", [2, 3])
def test_rejected_rows_and_surplus_copies_stay_out_with_a_relative_data_dir(
    shard_count, world, monkeypatch
):
    """The shards leave out the rows the coordinator rejected (accepted with
    --max-rejected) and the surplus copies of a record delivered twice, which are matched
    on the file's name as the run records it: here a relative data directory, while the
    workers read the file by its absolute path."""
    day = lambda d: date(2025, 3, d)  # noqa: E731
    for number in range(6):
        friend, referrer = f"friend-{number}", f"referrer-{number}"
        world.account(friend)
        world.account(referrer)
        world.refer(friend, referrer, day(1), code=f"CODE-{number}")
        world.spend(friend, day(2), "60.00", record_id=f"twice-{number}")
        world.spend(friend, day(2), "60.00", record_id=f"twice-{number}")
        world.spend(friend, day(3), "50.00", currency="EUR")  # rejected: not USD
    world.write()
    monkeypatch.chdir(world.root)
    rows = {}
    for executor, out in (("local", "out-local"), ("in-process", "out-shards")):
        options = RunOptions(
            data_dir=Path("data"),
            out_dir=Path(out),
            max_rejected=6,
            executor=executor,
            shards=shard_count if executor != "local" else 1,
        )
        start_ledger(options.out_dir, options.data_dir, "2025-03")
        for month in ("2025-03", "2025-04"):
            settlement.settle(month, options)
        with duckdb.connect(f"{out}/warehouse.duckdb", read_only=True) as con:
            rows[executor] = con.execute(
                "select referee_account_id, eligible_spend_to_date_usd from referee_status "
                "where settlement_month = '2025-04' order by 1"
            ).fetchall()
    assert rows["in-process"] == rows["local"]
    # each friend's spend: the record once (60.00), the EUR line not at all
    assert {spend for _, spend in rows["local"]} == {Decimal("60.00")}


def test_a_sharded_model_that_reads_a_column_the_layout_lacks_fails_loudly(
    world, tmp_path, monkeypatch
):
    """The shards read the bill lines from the layout, which carries only the columns the
    sharded models read; one more column read must stop the run, not read as null."""
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "30.00")
    world.write()
    start_ledger(tmp_path / "out", world.data, "2025-03")
    lacking = tuple(c for c in shard_layout.LAID_OUT_COLUMNS if c != "product_code")
    monkeypatch.setattr(shards, "LAID_OUT_COLUMNS", lacking)  # what the shards think is there
    options = RunOptions(
        data_dir=world.data, out_dir=tmp_path / "out", executor="in-process", shards=2
    )
    with pytest.raises(Exception, match="bill-line column product_code is read by a sharded"):
        settlement.settle("2025-03", options)
