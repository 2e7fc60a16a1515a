"""The CLI and the Prefect flows: exit codes, one-line errors, the summary.

Flow-level tests are few and share one Prefect test server; the rules are tested as
plain functions and SQL elsewhere.
"""

import argparse
import base64
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows import cli_commands, cli_parser
from tests.helpers import run_cli
from transforms import months
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"


@pytest.mark.parametrize(
    "args",
    [
        ["settle", "--month", "2026-13", "--data", "d", "--out", "o"],
        ["settle", "--data", "d", "--out", "o"],
        ["backfill", "--from", "2026-05", "--to", "2026-01", "--data", "d", "--out", "o"],
        ["refund-everything"],
        ["settle", "--month", "2026-01", "--data", "d", "--out", "o", "--max-rejected", "-1"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args, capsys):
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("creditflow: error: usage:")


def test_month_previous_is_taken_by_every_command():
    parser = cli_parser.build_parser()
    expected = months.previous_month(f"{datetime.now(UTC):%Y-%m}")
    for args in (
        ["settle", "--month", "previous", "--data", "d", "--out", "o"],
        ["instruments", "--month", "previous", "--data", "d", "--out", "o"],
    ):
        assert parser.parse_args(args).month == expected
    backfill = parser.parse_args(
        ["backfill", "--from", "2025-11", "--to", "previous", "--data", "d", "--out", "o"]
    )
    assert backfill.last == expected


@pytest.mark.flow
def test_backfill_flow_publishes_and_summarises(prefect_harness, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        [
            "backfill",
            "--from",
            "2025-11",
            "--to",
            "2026-01",
            "--data",
            str(SAMPLE),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    assert "2025-12: published - 68 coupon(s), USD 1,560.00" in stdout
    assert "done: 3 month(s)" in stdout
    assert "creditflow: 2026-01: validate invariants" in err  # progress on stderr
    golden = REPO / "tests" / "golden" / "batches" / "2026-01" / "coupons.csv"
    assert (out / "batches" / "2026-01" / "coupons.csv").read_bytes() == golden.read_bytes()
    # the rerun through the flow issues nothing and says so
    code, stdout, _ = run_cli(
        ["settle", "--month", "2026-01", "--data", str(SAMPLE), "--out", str(out)], capsys
    )
    assert code == 0
    assert "2026-01: already published" in stdout
    assert "newly issued 0 coupon(s)" in stdout


@pytest.mark.flow
def test_instruments_flow_runs_a_range_and_reruns_idempotently(prefect_harness, tmp_path, capsys):
    out = tmp_path / "out"
    # the months it reads are settled directly (the backfill flow has its own test above)
    for month in ("2025-11", "2025-12", "2026-01"):
        settlement.settle(month, RunOptions(data_dir=SAMPLE, out_dir=out))
    args = [
        "instruments",
        "--from",
        "2025-11",
        "--to",
        "2026-01",
        "--data",
        str(SAMPLE),
        "--out",
        str(out),
    ]
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    assert "2026-01: instruments published" in stdout
    assert "referral_coupon: opening 0.00 + issued 1,560.00" in stdout
    files = {p: p.read_bytes() for p in (out / "instruments").rglob("*") if p.is_file()}
    code, stdout, _ = run_cli(
        ["instruments", "--month", "2026-01", "--data", str(SAMPLE), "--out", str(out)], capsys
    )
    assert code == 0 and "2026-01: instruments already published" in stdout
    assert {p: p.read_bytes() for p in (out / "instruments").rglob("*") if p.is_file()} == files
    code, _, err = run_cli(
        ["instruments", "--month", "2026-03", "--data", str(SAMPLE), "--out", str(out)], capsys
    )
    assert code == 4 and "run 2026-02 first" in err


@pytest.mark.flow
@pytest.mark.parametrize(
    ("month", "data", "code", "message"),
    [
        ("2025-11", "missing-folder", 3, "data directory does not exist"),
        ("2027-01", None, 3, "no billing export for 2027-01"),
        ("2026-02", None, 4, "no gaps; settle 2025-12..2026-01 first"),
    ],
)
def test_flow_failures_exit_with_their_code_and_one_line(
    prefect_harness, tmp_path, capsys, month, data, code, message
):
    out = tmp_path / "out"
    if code == 4:
        first, _, _ = run_cli(
            ["settle", "--month", "2025-11", "--data", str(SAMPLE), "--out", str(out)], capsys
        )
        assert first == 0
    exit_code, _, err = run_cli(
        [
            "settle",
            "--month",
            month,
            "--data",
            str(tmp_path / data if data else SAMPLE),
            "--out",
            str(out),
        ],
        capsys,
    )
    errors = [line for line in err.splitlines() if line.startswith("creditflow: error:")]
    assert exit_code == code
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("below_a_file", "message"),
    [("", "is not a directory"), ("out", "cannot be created")],
)
def test_an_out_that_is_not_a_writable_directory_is_a_usage_error(
    tmp_path, capsys, below_a_file, message
):
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / below_a_file if below_a_file else tmp_path / "a-file"
    code, _, err = run_cli(
        ["settle", "--month", "2025-11", "--data", str(SAMPLE), "--out", str(out)], capsys
    )
    assert code == 2 and err.count("creditflow: error:") == 1 and message in err, err
    assert "Traceback" not in err


@pytest.mark.integration  # creditflow in a fresh process
def test_an_orchestrator_that_does_not_answer_is_retried_then_exit_6(tmp_path):
    """A Prefect API that never answers (here: a URL nobody listens on): tried again after a
    pause, then one line and exit 6; no traceback and no binding-leak noise."""
    script = (
        "import flows.cli as c, flows.cli_commands as k; k.ORCHESTRATOR_RETRY_DELAYS_S = (0,); "
        f"c.main(['settle', '--month', '2025-11', '--data', {str(SAMPLE)!r}, "
        f"'--out', {str(tmp_path / 'out')!r}])"
    )
    env = dict(
        os.environ, PREFECT_API_URL="http://127.0.0.1:9/api", PREFECT_HOME=str(tmp_path / "ph")
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 6, result.stderr
    errors = [line for line in result.stderr.splitlines() if "creditflow: error:" in line]
    assert len(errors) == 1 and "the orchestrator is unavailable" in errors[0]
    assert "trying again" in result.stderr
    assert "Traceback" not in result.stderr and "leaked" not in result.stderr
    assert not (tmp_path / "out" / "batches").exists()


@pytest.mark.integration
def test_several_runs_at_once_each_finish_with_their_own_result(tmp_path):
    """Four processes at once on one fresh Prefect home (the worst case: its database does
    not exist yet): two on their own OUT both publish; of the two on one OUT exactly one
    publishes, and the other either finds the warehouse locked (exit 4, when they overlap)
    or finds the month already published (exit 0, when the first was done before it
    opened the warehouse: which one happens is the machine's timing). No traceback."""
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    data = REPO / "tests" / "bad_inputs" / "base"
    command = [str(Path(sys.executable).parent / "creditflow"), "settle", "--month", "2025-03"]
    outs = ["a", "b", "shared", "shared"]
    runs = [
        subprocess.Popen(
            [*command, "--data", str(data), "--out", str(tmp_path / out)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    # all four run side by side; communicate() drains each one's pipes until it ends
    printed = [run.communicate(timeout=600) for run in runs]
    results = [(run.returncode, out, err) for run, (out, err) in zip(runs, printed, strict=True)]
    assert [code for code, _, _ in results[:2]] == [0, 0], results
    shared = sorted(results[2:], key=lambda result: result[0])
    published = [out for code, out, _ in shared if "2025-03: published" in out]
    assert len(published) == 1, results
    (code, out, err) = next(result for result in shared if result[1] not in published)
    assert (code == 4 and "locked by" in err) or (
        code == 0 and "2025-03: already published" in out
    ), results
    for _, _, err in results:
        assert "Traceback" not in err and "leaked" not in err, err
        assert "IntegrityError" not in err and "sqlite3" not in err, err
    # each ephemeral server's own output went to its OUT's log, never to the terminal
    for out in outs:
        assert (tmp_path / out / "logs" / "prefect-server.log").is_file()


def test_orchestrated_retries_only_orchestrator_failures(monkeypatch):
    monkeypatch.setattr(cli_commands, "ORCHESTRATOR_RETRY_DELAYS_S", (0, 0))
    calls = []

    def flaky(month):
        calls.append(month)
        if len(calls) < 3:
            raise RuntimeError(
                "Timed out while attempting to connect to ephemeral Prefect API server."
            )
        return month

    assert cli_commands.orchestrated(flaky, "2026-01") == "2026-01" and len(calls) == 3

    def broken(month):
        calls.append(month)
        raise KeyError(month)  # the run's own failure: never run again

    calls.clear()
    with pytest.raises(KeyError):
        cli_commands.orchestrated(broken, "2026-01")
    assert len(calls) == 1


def _heartbeat_s():
    from prefect.settings import get_current_settings

    return get_current_settings().flows.heartbeat_frequency


def test_runs_send_heartbeats_only_where_a_server_outlives_the_process():
    """Prefect joins a flow run's heartbeat thread as the run ends (up to 1 s a run): the
    CLI's runs on their own API (flows/ephemeral_api.py), which ends with the process, send
    none; against a running server (no API of the run's own) they keep Prefect's
    (docs/performance.md#fixed-costs-taken-out-this-issue)."""

    class AnsweringApi:
        def wait_until_ready(self):
            pass

    configured_s = _heartbeat_s()
    assert configured_s is not None
    seen = []
    for api in (None, AnsweringApi()):
        cli_commands.orchestrated(lambda: seen.append(_heartbeat_s()), api=api)
    assert seen == [configured_s, None]
    assert _heartbeat_s() == configured_s  # only while the run lasts


def test_a_ranges_months_send_no_heartbeat_of_their_own():
    """Each month of a backfill is a subflow in the range run's process; the range run keeps
    its heartbeat, and the months need none."""
    from flows import tasks

    seen = tasks.month_by_month("backfill", "2026-01", "2026-02", lambda _: _heartbeat_s())
    assert seen == [None, None] and _heartbeat_s() is not None


def test_the_settings_without_heartbeats_are_derived_once_per_settings(monkeypatch):
    """A warm serve enters them every month: Prefect's copy of the settings (22 ms) is made
    once for the process's settings, and again only when the settings themselves change."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
    from prefect.settings.models.root import Settings

    from flows import prefect_home

    monkeypatch.setattr(prefect_home, "_QUIET_SETTINGS", [])
    copies = []
    copy = Settings.copy_with_update
    monkeypatch.setattr(
        Settings, "copy_with_update", lambda *a, **k: copies.append(1) or copy(*a, **k)
    )
    for _ in range(3):
        with prefect_home.without_heartbeats():
            assert _heartbeat_s() is None
    assert len(copies) == 1 and _heartbeat_s() is not None
    changed = temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"})
    with changed, prefect_home.without_heartbeats():
        assert _heartbeat_s() is None
        assert get_current_settings().api.url == "http://127.0.0.1:9/api"
    assert len(copies) == 3  # the changed settings (temporary_settings's copy), then ours


@pytest.mark.flow
def test_an_internal_error_is_exit_7_with_the_traceback_in_out_logs(
    prefect_harness, tmp_path, capsys, monkeypatch
):
    from transforms.pipeline import inputs

    def defect(*_):
        raise ZeroDivisionError("a defect in a stage")

    monkeypatch.setattr(inputs, "require_data_dir", defect)
    out = tmp_path / "out"
    code, _, err = run_cli(
        ["settle", "--month", "2025-11", "--data", str(SAMPLE), "--out", str(out)], capsys
    )
    assert code == 7, err
    errors = [line for line in err.splitlines() if line.startswith("creditflow: error:")]
    assert len(errors) == 1 and "internal error (ZeroDivisionError)" in errors[0]
    assert "Traceback" not in err
    (log,) = (out / "logs").glob("creditflow-*.log")
    assert str(log) in errors[0]
    assert "Traceback" in log.read_text() and "a defect in a stage" in log.read_text()


@pytest.mark.integration
def test_installed_command_runs_end_to_end_in_a_fresh_process(tmp_path, world):
    """The console script as a scheduler calls it: real process, real Prefect ephemeral mode."""
    # distinctive ids: Prefect names runs with random words ("friendly-…"), so a bare
    # "friend" could match a run name rather than leaked account data
    world.refer("acct-referee-7Q", "acct-referrer-9Z", date(2025, 3, 1))
    world.spend("acct-referee-7Q", date(2025, 3, 2), "30.00")
    world.spend("acct-referee-7Q", date(2025, 3, 3), "1.00", currency="EUR")  # breaks the contract
    world.write()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    command = shutil.which("creditflow", path=str(Path(sys.executable).parent))

    def creditflow(*arguments):
        # relative paths, as an operator (and make run) gives them
        return subprocess.run(
            [command, *arguments],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
            cwd=world.root,
        )

    def settle_april():
        return creditflow("settle", "--month", "2025-04", "--data", "data", "--out", "out")

    # the world's data starts in 2025-01: a ledger that starts in 2025-04 is started on purpose
    started = creditflow("init", "--out", "out", "--data", "data", "--first-month", "2025-04")
    assert started.returncode == 0, started.stderr
    assert "ledger started at 2025-04" in started.stdout
    result = settle_april()
    assert result.returncode == 3, result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(error_lines) == 1
    assert "billing_cycle=2025-03/part-0.parquet: currency is not USD" in error_lines[0]
    assert not (world.out / "batches").exists()

    # fixed input: publishes; the summary is on stdout; no coupon code reaches Prefect
    world.lines = [line for line in world.lines if line["currency"] == "USD"]
    world.write()
    result = settle_april()
    assert result.returncode == 0, result.stderr
    assert "2025-04: published - 1 coupon(s), USD 20.00" in result.stdout
    codes = [
        line.split(",")[0]
        for line in (world.out / "batches" / "2025-04" / "coupons.csv").read_text().splitlines()[1:]
    ]
    assert codes and all(code.startswith("RAF-") for code in codes)
    prefect_files = [p for p in (tmp_path / "prefect-home").rglob("*") if p.is_file()]
    assert prefect_files, "the run should have used its own Prefect home"
    report_files = [p for p in (world.out / "reports").rglob("*") if p.is_file()]
    for path in [*prefect_files, *report_files]:
        data = path.read_bytes()
        for code in codes:
            assert code.encode() not in data, f"coupon code leaked into {path}"
    # Prefect persists a failed flow's exception; ours is redacted to its kind, so no
    # account id or row named by the first run's error reaches Prefect's storage or database
    for path in prefect_files:
        raw = path.read_bytes()
        decoded = raw + (base64.b64decode(raw, validate=False) if "storage" in path.parts else b"")
        for secret in (b"acct-referee-7Q", b"acct-referrer-9Z", b"rec-2", b"currency is not USD"):
            assert secret not in decoded, f"{secret!r} persisted in {path}"
    for stream in (result.stdout, result.stderr):
        assert not any(code in stream for code in codes)


# --- the command line itself -------------------------------------------------------------


def test_version_names_the_package_the_sql_and_the_code(capsys):
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert re.fullmatch(r"creditflow \S+\+sql\.[0-9a-f]{12} \(python code [0-9a-f]{12}\)\n", out), (
        out
    )


def _options_of(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {option}", text) for option, text in _options_of(sub))
        elif action.option_strings:
            yield action.option_strings[-1], action.help


def test_every_option_of_every_command_says_what_it_is_for():
    missing = [option for option, text in _options_of(cli_parser.build_parser()) if not text]
    assert missing == []


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["settle", "--month", "2026-01", "--data", "d", "--out", "o", "--verbos"], "settle"),
        (["settle", "--month", "2026-01", "--data", "d", "--ou", "o"], "settle"),
        (["sette"], None),
    ],
)
def test_an_abbreviated_or_unknown_word_is_a_usage_error_with_the_right_hint(args, hint, capsys):
    code, _, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1
    expected = f"(see 'creditflow {hint} --help')" if hint else "(see 'creditflow --help')"
    assert expected in err and "creditflow creditflow" not in err


@pytest.mark.integration  # creditflow in a fresh process
def test_serve_against_a_server_that_does_not_answer_is_exit_6(tmp_path):
    env = dict(
        os.environ, PREFECT_API_URL="http://127.0.0.1:9/api", PREFECT_HOME=str(tmp_path / "ph")
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "creditflow"),
            "serve",
            "--data",
            str(SAMPLE),
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 6, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("creditflow: error: the Prefect server at http://127.0.0.1:9/api")
    assert "does not answer" in line


def test_a_warning_or_an_error_reaches_the_run_log_at_its_level(capsys):
    from transforms.summary import PROGRESS_LOG, progress

    class Recorder(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.seen = []

        def emit(self, record):
            self.seen.append((record.levelno, record.getMessage()))

    recorder, level = Recorder(), PROGRESS_LOG.level
    PROGRESS_LOG.addHandler(recorder)
    PROGRESS_LOG.setLevel(logging.INFO)  # as flows/run_record.py sets it in a run
    try:
        progress("a step")
        progress("a development key", logging.WARNING)
        progress("error: a stop", logging.ERROR)
    finally:
        PROGRESS_LOG.removeHandler(recorder)
        PROGRESS_LOG.setLevel(level)
    assert recorder.seen == [
        (logging.INFO, "a step"),
        (logging.WARNING, "a development key"),
        (logging.ERROR, "error: a stop"),
    ]
    assert capsys.readouterr().err.count("creditflow: ") == 3  # and each on the terminal


def test_the_command_ends_without_teardown_yet_says_everything_and_keeps_its_exit_code(
    capsys, monkeypatch
):
    """The console script ends with os._exit (issue 30: no interpreter teardown), after the
    exit handlers ran and the streams were flushed: a pipe still gets every line, and the
    exit code is the run's (2 for a usage error, 0 for help)."""
    monkeypatch.setenv("COLUMNS", "80")
    command = [str(Path(sys.executable).parent / "creditflow")]
    helped = subprocess.run([*command, "settle", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    assert helped.stdout == run_cli(["settle", "--help"], capsys).out  # every line arrived
    refused = subprocess.run(
        [*command, "settle", "--month", "2025-13", "--data", "d", "--out", "o"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert refused.stderr.count("creditflow: error:") == 1
    script = "import atexit, flows.cli as c; atexit.register(print, 'handler ran'); c.entry()"
    handled = subprocess.run(
        [sys.executable, "-c", script, "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert handled.returncode == 0 and handled.stdout.strip().endswith("handler ran")


def _billing(data: Path, sizes_bytes: dict[str, int]) -> Path:
    for cycle, size_bytes in sizes_bytes.items():
        folder = data / "billing" / f"billing_cycle={cycle}"
        folder.mkdir(parents=True)
        with open(folder / "part-0.parquet", "wb") as part:
            part.truncate(size_bytes)  # only its size is read here
    return data


@pytest.mark.parametrize(
    ("argv", "sizes_bytes", "started"),
    [
        # the months up to the settled one count, a later delivery does not
        (["settle", "--month", "2026-02"], {"2026-01": 5 << 20, "2026-02": 3 << 20}, True),
        (["settle", "--month", "2026-01"], {"2026-01": 5 << 20, "2026-02": 3 << 20}, False),
        (
            ["backfill", "--from", "2026-01", "--to", "2026-02"],
            {"2026-01": 4 << 20, "2026-02": 4 << 20},
            True,
        ),
        (
            ["settle", "--month", "2026-02", "--executor", "dask"],
            {"2026-01": 9 << 20, "2026-02": 1},
            False,
        ),
        # a missing export is the run's to report, in its stage: nothing starts here
        (["settle", "--month", "2026-03"], {"2026-01": 9 << 20, "2026-02": 1}, False),
    ],
)
def test_gx_is_built_early_only_for_a_local_run_over_enough_bill_lines(
    argv, sizes_bytes, started, tmp_path, monkeypatch
):
    from transforms.pipeline import gx_validation

    starts = []
    monkeypatch.setattr(gx_validation, "build_in_background", lambda: starts.append(1))
    data = _billing(tmp_path / "data", sizes_bytes)
    args = cli_parser.build_parser().parse_args([*argv, "--data", str(data), "--out", "o"])
    cli_commands.build_gx_early(args)
    assert starts == ([1] if started else [])
