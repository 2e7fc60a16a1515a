"""Environment faults are named before anything commits (issue 29, docs/operations.md#exit-codes):
a file where a folder belongs, a folder the run may not write, a path too long, a disk
too full are one line, exit 6, before the ledger transaction; the disk filling during a
run is the same exit 6 with the system's reason, never an internal error; a data folder
the system will not list is an input error (exit 3) naming it; recover owns its scratch
folder, and its messages name the live OUT."""

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.helpers import ledger_rows, run_cli
from transforms.errors import (
    EnvironmentFault,
    InputError,
    StageFailed,
    StateConflict,
    UsageError,
    environment_fault,
)
from transforms.pipeline import preflight, recovery, warehouse
from transforms.pipeline.options import THREADS_VARIABLE, RunOptions


def _settled_march(world):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "150.00")
    world.settle("2025-03")
    return world


def _refused_before_anything_commits(world, month: str, match: str) -> None:
    before = ledger_rows(world.out)
    with pytest.raises(EnvironmentFault, match=match) as refused:
        world.settle(month)
    assert refused.value.exit_code == 6
    assert ledger_rows(world.out) == before
    assert not (world.out / "batches" / month / "manifest.json").exists()


@pytest.mark.parametrize(
    "path", ["batches/2025-04", "catalog", "reports/2025-04", "quarantine/2025-04", "logs"]
)
def test_a_file_where_a_folder_belongs_stops_the_month_before_it_commits(world, path):
    _settled_march(world)
    shutil.rmtree(world.out / path, ignore_errors=True)  # (March made some of them)
    (world.out / path).parent.mkdir(parents=True, exist_ok=True)
    (world.out / path).write_text("someone's notes\n")
    _refused_before_anything_commits(
        world, "2025-04", f"{world.out / path}: a file is where a folder belongs"
    )


def test_a_folder_where_a_batch_file_belongs_stops_the_month_before_it_commits(world):
    _settled_march(world)
    (world.out / "batches" / "2025-04" / "coupons.csv").mkdir(parents=True)
    _refused_before_anything_commits(world, "2025-04", "a folder is where a file belongs")


def test_a_folder_the_run_may_not_write_stops_the_month_before_it_commits(world, monkeypatch):
    # the tests run as root, who may write anywhere: the system's answer is what is replaced
    _settled_march(world)
    batches = world.out / "batches"
    real_access = os.access
    monkeypatch.setattr(
        preflight.os, "access", lambda p, mode: Path(p) != batches and real_access(p, mode)
    )
    _refused_before_anything_commits(world, "2025-04", f"{batches}: permission denied")


def test_an_out_path_longer_than_the_file_system_allows_is_refused_up_front(world, tmp_path):
    _settled_march(world)
    # an OUT the system can still create, whose files' paths are past PATH_MAX (4096)
    deep = tmp_path / "deep"
    while len(os.fsencode(str(deep))) + 201 < 4060:
        deep /= "d" * 200
    deep /= "d" * (4070 - len(os.fsencode(str(deep))) - 1)
    deep.mkdir(parents=True)
    world.write()
    with pytest.raises(EnvironmentFault, match="the path is longer than the file system allows"):
        from transforms.pipeline import settlement

        settlement.settle("2025-03", RunOptions(data_dir=world.data, out_dir=deep))
    assert list(deep.iterdir()) == []


def test_a_data_folder_the_system_will_not_list_is_an_input_error_naming_it(world, monkeypatch):
    _settled_march(world)
    cycle = world.data / "billing" / "billing_cycle=2025-04"
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == cycle:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(InputError, match=rf"{cycle}: cannot be listed \(Permission denied\)"):
        world.settle("2025-04")


def test_the_systems_refusals_during_a_run_are_environment_faults_not_defects(tmp_path):
    from flows.tasks import redacted

    def fills_the_disk():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet"))

    with pytest.raises(StageFailed) as failed:
        redacted(tmp_path / "logs", "2025-04", fills_the_disk)
    assert failed.value.error.exit_code == 6
    assert f"{tmp_path / 'x.parquet'}: no space left on the device" in str(failed.value.error)
    assert not (tmp_path / "logs").exists()  # no traceback: not a defect
    # a folder that already exists is not a file where a folder belongs: not for this mapping
    assert environment_fault(FileExistsError(errno.EEXIST, "exists", str(tmp_path))) is None
    assert environment_fault(ValueError("a defect")) is None


# --- a real full disk: a small tmpfs (root may mount one; elsewhere these skip, saying so)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a 4 MiB tmpfs here ({made.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def test_a_disk_without_room_for_the_run_is_refused_before_anything_is_written(
    prefect_harness, world, small_disk, capsys
):
    world.refer("friend", "referrer", date(2025, 3, 1))
    world.write()
    out = small_disk / "out"
    code, _, err = run_cli(
        ["settle", "--month", "2025-03", "--data", str(world.data), "--out", str(out)], capsys
    )
    assert code == 6
    (line,) = [line for line in err.splitlines() if line.startswith("creditflow: error:")]
    assert f"{out}: no space left on the device for this run" in line
    assert "MiB free" in line and "needed" in line
    assert not (out / "warehouse.duckdb").exists()


def test_a_commit_the_disk_refuses_reports_the_disk_not_the_rollback(small_disk):
    con = duckdb.connect(str(small_disk / "ledger.duckdb"))
    con.execute("create table entries (n bigint, memo varchar)")
    _fill(small_disk)
    with pytest.raises(duckdb.Error) as refused, warehouse.transaction(con):
        con.execute("insert into entries select range, md5(range::varchar) from range(100000)")
    assert "No space left on device" in str(refused.value)  # not "no transaction is active"
    fault = environment_fault(refused.value)
    assert fault is not None and fault.exit_code == 6
    assert f"{small_disk / 'ledger.duckdb'}" in str(fault)  # the ledger or its WAL
    assert ": no space left on device" in str(fault)
    con.close()


# --- recover owns its scratch folder

HOLD_THE_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from transforms.pipeline import recovery
    from transforms.pipeline.layout import OutputLayout
    with recovery._one_recover_at_a_time(OutputLayout(Path(sys.argv[1]))):
        print("holding", flush=True)
        time.sleep(60)
    """
)


@pytest.mark.integration  # a second process
def test_a_second_recover_on_the_same_out_is_refused_and_touches_nothing(world):
    _settled_march(world)
    (world.out / "warehouse.duckdb").unlink()
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(world.out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert other.stdout.readline().strip() == "holding"
        scratch_marker = world.out / recovery.SCRATCH / f"the-other-{uuid.uuid4().hex}"
        scratch_marker.parent.mkdir()
        scratch_marker.write_text("the other recover's ledger\n")
        with pytest.raises(StateConflict, match=rf"another recover is running .*{other.pid}"):
            recovery.recover(RunOptions(data_dir=world.data, out_dir=world.out))
        assert scratch_marker.exists()  # its scratch folder was left alone
    finally:
        other.kill()
        other.wait()
    scratch_marker.unlink()
    done = recovery.recover(RunOptions(data_dir=world.data, out_dir=world.out))  # lock freed
    assert done.settlement_months == ["2025-03"]


def test_a_stop_while_recover_rebuilds_names_the_live_out_first(world):
    _settled_march(world)
    (world.out / "warehouse.duckdb").unlink()
    # a billing line changed since March was published: the rebuild cannot reproduce it
    world.spend("friend", date(2025, 3, 3), "10.00")
    world.write()
    with pytest.raises(StateConflict) as refused:
        recovery.recover(RunOptions(data_dir=world.data, out_dir=world.out))
    message = str(refused.value)
    assert message.startswith(
        f"recover of {world.out} stopped; its warehouse was not replaced and the rebuild "
        f"under {world.out / recovery.SCRATCH} was removed: 2025-03: the rebuilt"
    )
    assert not (world.out / recovery.SCRATCH).exists()


def test_an_instrument_month_is_refused_before_it_commits_too(world):
    _settled_march(world)
    (world.out / "instruments").mkdir(exist_ok=True)
    (world.out / "instruments" / "2025-03").write_text("not a folder\n")
    before = ledger_rows(world.out)
    with pytest.raises(EnvironmentFault, match="instruments/2025-03: a file is where a folder"):
        world.run_instruments("2025-03")
    assert ledger_rows(world.out) == before


def test_duckdb_threads_come_from_the_environment_and_a_bad_value_stops_the_month(
    world, monkeypatch
):
    """CREDITFLOW_DUCKDB_THREADS sets a session's threads unless the run sets its own; a
    value that is not a whole number of at least 1 is one usage line (exit 2) before
    anything commits (docs/operations.md#threads)."""
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    with warehouse.session("1GB") as con:
        assert con.execute("select current_setting('threads')").fetchone()[0] == 3
    with warehouse.session("1GB", threads=2) as con:
        assert con.execute("select current_setting('threads')").fetchone()[0] == 2
    _settled_march(world)
    before = ledger_rows(world.out)
    for value in ("0", "-1", "1.5", "two"):
        monkeypatch.setenv(THREADS_VARIABLE, value)
        with pytest.raises(UsageError, match=rf"{THREADS_VARIABLE}='{value}'.*at least 1") as bad:
            world.settle("2025-04")
        assert bad.value.exit_code == 2
    assert ledger_rows(world.out) == before
    assert not (world.out / "batches" / "2025-04").exists()
