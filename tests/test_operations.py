"""Operations (docs/operations.md): alerts to a webhook, the scheduled deployment that
`creditflow serve` registers on a real local Prefect server, and runs worth reading in the
Prefect UI (names, tags, logs, artifacts), checked in a real browser where one exists.
"""

import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import alerts, cli_parser
from tests.helpers import run_cli
from tests.world import World
from transforms import months
from transforms.errors import ExportNeverDelivered, ExportNotDelivered, InputError
from transforms.pipeline import inputs

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "tests" / "bad_inputs" / "base"  # two small cycles: 2025-03, 2025-04
CREDITFLOW = str(Path(sys.executable).parent / "creditflow")
PREFECT = str(Path(sys.executable).parent / "prefect")
TRIGGER = ("-p", "month=2025-03")  # what an operator passes to run one month
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",  # the UI is a single-page app: let it fetch and draw
    "--window-size=1280,900",
)


class Webhook:
    """A webhook on 127.0.0.1 that records what it is sent; it answers each POST with the
    next of `statuses` (then 200)."""

    def __init__(self, statuses=()):
        self.received: list[dict] = []
        self.statuses = list(statuses)
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- alerts -------------------------------------------------------------------------------


def test_an_alert_names_the_month_the_code_the_reason_and_where_to_look():
    quarantine = "/srv/out/quarantine/2026-03/rejected_rows.parquet (rejected rows with their rule)"
    message = alerts.alert_message(
        "settle",
        "2026-03",
        3,
        "2026-03: 2 rejected input row(s)",
        "/srv/out",
        environ={},
        where=quarantine,
    )
    assert message["month"] == "2026-03" and message["exit_code"] == 3
    assert message["outcome"] == "invalid or missing input" and message["severity"] == "error"
    assert message["where_to_look"] == quarantine
    assert message["reason"] == "2026-03: 2 rejected input row(s)"
    # `text` alone is a complete Slack/Teams message
    assert "creditflow settle 2026-03" in message["text"] and "exit 3" in message["text"]


@pytest.mark.parametrize(
    ("code", "where"),
    [
        (2, "the command line"),
        (3, "the input file or folder named in the reason"),  # never the quarantine
        (4, "/srv/out/batches/"),
        (5, "/srv/out/reports/2026-03/index.html"),
        (6, "the path or device named in the reason, the Prefect server"),
        (7, "/srv/out/logs/"),
    ],
)
def test_an_alert_without_a_place_of_its_own_points_where_its_exit_code_says(code, where):
    message = alerts.alert_message("settle", "2026-03", code, "why", "/srv/out", environ={})
    assert message["where_to_look"].startswith(where)


def test_a_missing_billing_export_points_at_its_folder_not_the_quarantine(tmp_path):
    (tmp_path / "billing" / "billing_cycle=2026-02").mkdir(parents=True)
    with pytest.raises(ExportNotDelivered) as raised:
        inputs.billing_cycles(tmp_path, "2026-03")
    assert raised.value.where == str(tmp_path / "billing" / "billing_cycle=2026-03")


def test_an_alert_never_carries_a_coupon_code_or_the_key():
    key = "a-production-key-of-some-length"
    reason = f"odd: RAF-ABCD-EFGH-2345-67QR and DEV-WXYZ-2345 near {key}"
    message = alerts.alert_message(
        "settle", "2026-03", 7, reason, "out", environ={"CREDITFLOW_COUPON_KEY": key}
    )
    body = json.dumps(message)
    assert "RAF-ABCD" not in body and "DEV-WXYZ" not in body and key not in body
    assert message["reason"] == "odd: [coupon code] and [coupon code] near [coupon key]"


def test_notify_posts_the_message_and_retries_once(monkeypatch):
    monkeypatch.setattr(alerts, "RETRY_DELAYS_S", (0,))
    hook = Webhook(statuses=[503])  # the first try fails, the retry is accepted
    try:
        assert alerts.notify(hook.url, {"month": "2026-03"}) is True
        assert hook.received == [{"month": "2026-03"}, {"month": "2026-03"}]
    finally:
        hook.close()


def test_a_webhook_that_is_down_is_one_line_and_no_exception(monkeypatch, capsys):
    monkeypatch.setattr(alerts, "RETRY_DELAYS_S", (0,))
    url = f"http://127.0.0.1:{_free_port()}/nobody-listens"
    assert alerts.notify(url, {"month": "2026-03"}) is False
    err = capsys.readouterr().err
    assert err.count("creditflow:") == 1 and "could not be delivered" in err
    assert "nobody-listens" not in err  # webhook URLs are secrets (Slack's hold a token)


def test_a_failed_run_alerts_and_keeps_its_own_exit_code(tmp_path, capsys, webhook):
    (tmp_path / "a-file").write_text("")
    args = ["settle", "--month", "2025-11", "--data", str(BASE), "--out", str(tmp_path / "a-file")]
    code, _, err = run_cli([*args, "--notify", webhook.url], capsys)
    assert code == 2 and err.count("creditflow: error:") == 1
    (message,) = webhook.received
    assert message["exit_code"] == 2 and message["month"] == "2025-11"
    assert message["command"] == "settle" and "is not a directory" in message["reason"]


def test_an_alert_that_cannot_be_delivered_does_not_change_the_exit_code(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(alerts, "RETRY_DELAYS_S", (0,))
    (tmp_path / "a-file").write_text("")
    url = f"http://127.0.0.1:{_free_port()}/down"
    args = ["settle", "--month", "2025-11", "--data", str(BASE), "--out", str(tmp_path / "a-file")]
    code, _, err = run_cli([*args, "--notify", url], capsys)
    assert code == 2
    assert "could not be delivered" in err and err.count("creditflow: error:") == 1


@pytest.mark.flow
def test_a_successful_run_sends_no_alert(prefect_harness, tmp_path, capsys, webhook):
    args = ["settle", "--month", "2025-03", "--data", str(BASE), "--out", str(tmp_path / "out")]
    code, out, err = run_cli([*args, "--notify", webhook.url], capsys)
    assert code == 0, err
    assert "2025-03: published" in out
    assert webhook.received == []


@pytest.mark.flow
def test_a_backfill_alert_names_the_month_that_failed(prefect_harness, tmp_path, capsys, webhook):
    args = ["backfill", "--from", "2025-03", "--to", "2025-05", "--data", str(BASE)]
    code, _, _ = run_cli([*args, "--out", str(tmp_path / "out"), "--notify", webhook.url], capsys)
    assert code == 3
    (message,) = webhook.received
    assert message["command"] == "backfill" and message["month"] == "2025-05"
    assert "no billing export for 2025-05" in message["reason"]
    assert message["where_to_look"] == str(BASE / "billing" / "billing_cycle=2025-05")


# --- a late billing export ---------------------------------------------------------------


def _delivered_after(tries: int, data: Path, month: str):
    """A sleep that delivers the month's billing cycle once `tries` waits have passed."""
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == tries:
            folder = data / "billing" / f"billing_cycle={month}"
            folder.mkdir(parents=True)
            shutil.copy(BASE / "billing" / "billing_cycle=2025-04" / "part-0.parquet", folder)

    return sleep, slept


def test_a_late_export_is_waited_for_and_said_before_each_wait(tmp_path):
    from flows.monthly_close import wait_for_billing_export

    data = tmp_path / "data"
    shutil.copytree(BASE, data)
    sleep, slept = _delivered_after(2, data, "2025-05")
    said = []
    found_on = wait_for_billing_export(
        data, "2025-05", 6, 72, lambda *told: said.append(told), sleep=sleep
    )
    assert found_on == 3 and slept == [6 * 3600, 6 * 3600]
    assert [(attempt, tries) for _, attempt, tries, _ in said] == [(1, 13), (2, 13)]
    missing, _, _, next_try = said[0]
    assert "no billing export for 2025-05" in str(missing)
    assert next_try.tzinfo is not None  # said in UTC


def test_an_export_that_never_arrives_gives_up_after_the_last_try(tmp_path):
    from flows.monthly_close import wait_for_billing_export

    sleep, slept = _delivered_after(99, tmp_path, "2025-05")
    with pytest.raises(ExportNeverDelivered) as gave_up:
        wait_for_billing_export(BASE, "2025-05", 6, 12, lambda *_: None, sleep=sleep)
    assert len(slept) == 2  # tries at 0, 6 and 12 hours
    assert "gave up waiting for it after 12 h (3 tries, every 6 h)" in str(gave_up.value)
    assert gave_up.value.where == str(BASE / "billing" / "billing_cycle=2025-05")


def test_other_input_errors_are_not_waited_for(tmp_path):
    from flows.monthly_close import wait_for_billing_export

    with pytest.raises(InputError, match="data directory does not exist") as raised:
        wait_for_billing_export(tmp_path / "nowhere", "2025-05", 6, 72, lambda *_: None)
    assert not isinstance(raised.value, ExportNotDelivered)


def test_a_waiting_alert_is_a_warning_that_the_run_goes_on():
    message = alerts.alert_message(
        "monthly",
        "2026-11",
        None,
        "no billing export for 2026-11; waiting",
        "/srv/out",
        environ={},
        outcome="waiting for the billing export",
        severity="warning",
        where="/data/billing/billing_cycle=2026-11",
    )
    assert message["severity"] == "warning" and message["exit_code"] is None
    assert "still running (waiting for the billing export)" in message["text"]
    assert not message["text"].startswith("CRITICAL")


# --- serve on a real local Prefect server -------------------------------------------------


@pytest.mark.integration  # creditflow in a fresh process
def test_serve_without_a_prefect_server_is_a_usage_error(tmp_path):
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "ph"))
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [CREDITFLOW, "serve", "--data", str(BASE), "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "needs a Prefect server" in result.stderr and "PREFECT_API_URL" in result.stderr


def test_the_documented_systemd_unit_runs_a_valid_serve_command():
    unit = (REPO / "deploy" / "creditflow-serve.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    program, *args = shlex.split(exec_start.removeprefix("ExecStart="))
    assert program.endswith("/creditflow") and args[0] == "serve"
    parsed = cli_parser.build_parser().parse_args(args)
    assert parsed.command == "serve" and parsed.data and parsed.out
    assert "PREFECT_API_URL" in unit and "CREDITFLOW_COUPON_KEY" in unit
    assert "CREDITFLOW_NOTIFY_URL" in unit and "--notify" not in exec_start  # never in ps
    server = (REPO / "deploy" / "prefect-server.service").read_text()
    assert "prefect server start" in server


@pytest.mark.integration
@pytest.mark.flow
def test_a_killed_run_leaves_no_prefect_server_behind(tmp_path):
    # issue 17: SIGKILL cannot be handled, so the ephemeral API watches its parent instead
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "ph"))
    env.pop("PREFECT_API_URL", None)
    creditflow = Path(sys.executable).parent / "creditflow"
    run = subprocess.Popen(
        [
            str(creditflow),
            "settle",
            "--month",
            "2025-03",
            "--data",
            str(BASE),
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pattern = f"flows.ephemeral_api {run.pid} "

    def server_pid():
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        return int(found.stdout.split()[0]) if found.stdout.strip() else None

    try:
        server = _wait_for("the ephemeral API server", server_pid, 90, run)
    finally:
        run.kill()
        run.wait()
    _wait_for("the orphaned server to exit", lambda: not _alive(server), 15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for good: nobody waits for it but init
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z"


def _api(url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait_for(what: str, check, timeout_s: float, process=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process ended with {process.returncode}")
        time.sleep(1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _run_logs(api: str, run: dict, awaited) -> list[dict]:
    """A run's logs as the server keeps them, once one `awaited` line has arrived: a run's
    logs are shipped in batches, so the last lines can reach the server after its final
    state (if the line never arrives, the caller's assert shows what did)."""

    def fetch():
        return _api(api, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}})

    def arrived():
        logs = fetch()
        return logs if any(map(awaited, logs)) else None

    try:
        return _wait_for("the run's log line", arrived, 60)
    except AssertionError:
        return fetch()


def _quietly(check):
    def attempt():
        try:
            return check()
        except OSError:
            return None

    return attempt


def _next_scheduled_start(now: datetime) -> datetime:
    """When cron `0 6 4 * *` (UTC) fires next after `now`: the 4th at 06:00."""
    this_month = now.replace(day=4, hour=6, minute=0, second=0, microsecond=0)
    if now < this_month:
        return this_month
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return this_month.replace(year=year, month=month)


def _scheduled_world(root: Path, month: str) -> World:
    """A small world whose ledger starts at `month` on purpose: one friend qualified two
    months before, so the first month pays one coupon (the USD 20.00 base)."""
    world = World(root)
    world.first_cycle = months.previous_month(months.previous_month(month))
    world.last_cycle = month
    start = months.first_day(world.first_cycle)
    world.refer("acct-friend-S1", "acct-referrer-S1", start)
    world.spend("acct-friend-S1", start.replace(day=2), "20.00")
    world.write()
    return world


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real local Prefect server (`prefect server start`) in its own home and port, its
    scheduler service looking for new deployments every 5 s (Prefect's default is 60 s)."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(
        os.environ,
        PREFECT_HOME=str(home),
        PREFECT_UI_API_URL=api,
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
        PREFECT_SERVER_LOGGING_LEVEL="INFO",
    )
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for("the Prefect server", _quietly(lambda: _api(api, "/health")), 180, server)
        yield {"api": api, "log": log_path}
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="session")
def served(prefect_server, tmp_path_factory):
    """What an operator does on a new machine: `creditflow init` a ledger at the month the
    next scheduled run settles, then `creditflow serve` with a webhook. The server's own
    scheduler creates the upcoming runs; the first is started early through the API (its
    scheduled day stays, so it settles the month before it), as a clock that reached the
    4th would start it."""
    api = prefect_server["api"]
    root = tmp_path_factory.mktemp("served")
    first_start = _next_scheduled_start(datetime.now(UTC))
    month = months.previous_month(f"{first_start:%Y-%m}")
    world = _scheduled_world(root, month)
    hook = Webhook()
    env = dict(os.environ, PREFECT_API_URL=api, PREFECT_HOME=str(root / "ph"))
    init = subprocess.run(
        [
            CREDITFLOW,
            "init",
            "--out",
            str(world.out),
            "--data",
            str(world.data),
            "--first-month",
            month,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    log = open(root / "serve.log", "w")  # noqa: SIM115 (closed below)
    serve = subprocess.Popen(
        [
            CREDITFLOW,
            "serve",
            "--data",
            str(world.data),
            "--out",
            str(world.out),
            "--notify",
            hook.url,
        ],
        # the runner looks for runs to start every 2 s here (Prefect's default is 10 s: a
        # triggered run waits up to that long before it starts)
        env=dict(env, PREFECT_RUNNER_POLL_FREQUENCY="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deployment = _wait_for(
            "the deployment",
            _quietly(lambda: _api(api, "/deployments/name/creditflow-monthly/creditflow-monthly")),
            180,
            serve,
        )

        def scheduled_by_the_server():
            runs = _api(
                api,
                "/flow_runs/filter",
                {
                    "flow_runs": {
                        "deployment_id": {"any_": [deployment["id"]]},
                        "state": {"type": {"any_": ["SCHEDULED"]}},
                    },
                    "sort": "EXPECTED_START_TIME_ASC",
                },
            )
            return runs if len(runs) >= 3 else None

        upcoming = _wait_for("the scheduler's runs", scheduled_by_the_server, 180, serve)
        first = upcoming[0]
        _api(
            api,
            f"/flow_runs/{first['id']}/set_state",
            {
                "state": {
                    "type": "SCHEDULED",
                    "name": "Scheduled",
                    "state_details": {"scheduled_time": datetime.now(UTC).isoformat()},
                },
                "force": True,
            },
        )

        def finished(run_id):
            def check():
                run = _api(api, f"/flow_runs/{run_id}")
                return run if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED") else None

            return check

        scheduled = _wait_for("the scheduled run", finished(first["id"]), 600, serve)
        runs = _api(api, "/flow_runs/filter", {})
        yield {
            "api": api,
            "server_log": prefect_server["log"],
            "deployment": deployment,
            "upcoming": upcoming,
            "first_start": first_start,
            "month": month,
            "scheduled": scheduled,
            "runs": runs,
            "world": world,
            "env": env,
            "hook": hook,
            "serve": serve,
            "finished": finished,
        }
    finally:
        serve.terminate()
        serve.wait(timeout=60)
        log.close()
        hook.close()


def _trigger(served, *parameters: str) -> dict:
    """`prefect deployment run creditflow-monthly/creditflow-monthly -p ...` as an operator
    types it; the run once it has finished."""
    finished = served["finished"](_start(served, *parameters))
    return _wait_for("the triggered run", finished, 300, served["serve"])


def _start(served, *parameters: str) -> str:
    """The same command; the id of the run it created (not waited for)."""
    options = [option for parameter in parameters for option in ("-p", parameter)]
    triggered = subprocess.run(
        [PREFECT, "deployment", "run", "creditflow-monthly/creditflow-monthly", *options],
        env=served["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert triggered.returncode == 0, triggered.stderr
    return _run_id(triggered.stdout)


def _run_id(printed: str) -> str:
    """The flow run id `prefect deployment run` prints."""
    found = re.search(r"UUID: ([0-9a-f-]{36})", printed)
    assert found, printed
    return found.group(1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.integration
def test_the_servers_scheduler_creates_the_monthly_runs(served):
    """What the monthly close relies on: the server's own scheduler inserted the upcoming
    runs (the 4th at 06:00 UTC, month after month) for the deployment `serve` registered."""
    deployment = served["deployment"]
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 6 4 * *"
    assert schedule["schedule"]["timezone"] == "UTC" and schedule["active"] is True
    assert deployment["paused"] is False
    assert deployment["entrypoint"] == "flows.monthly_close.monthly_close"
    starts = [run["expected_start_time"][:19] for run in served["upcoming"]]
    expected, moment = [], served["first_start"]
    for _ in starts:
        expected.append(_iso(moment))
        moment = _next_scheduled_start(moment)
    assert starts == expected
    assert all(run["state_name"] == "Scheduled" for run in served["upcoming"][1:])


@pytest.mark.integration
def test_a_scheduled_run_settles_the_previous_month_then_runs_the_ledger(served):
    month, run = served["month"], served["scheduled"]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["name"] == f"monthly-{month}"
    # the scheduled day stayed (the run was only started early), and it decided the month
    assert run["expected_start_time"][:19] == _iso(served["first_start"])
    by_name = {r["name"]: r for r in served["runs"]}
    for name, kind in (("settle", "settlement"), ("instruments", "instruments")):
        child = by_name[f"{name}-{month}"]
        assert child["state_type"] == "COMPLETED" and set(child["tags"]) == {kind, month}
    assert {"creditflow", "monthly", month} <= set(run["tags"])  # the month tag, too
    batch = served["world"].out / "batches" / month
    rows = (batch / "coupons.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[1] == "acct-referrer-S1", rows
    assert (served["world"].out / "instruments" / month / "rollforward.csv").is_file()
    assert served["hook"].received == []  # a good run sends no alert


@pytest.mark.integration
def test_the_server_logged_no_error_while_scheduling_and_running(served):
    lines = served["server_log"].read_text().splitlines()
    assert [line for line in lines if "ERROR" in line or "Traceback" in line] == []


@pytest.mark.integration
def test_the_webhook_url_is_never_a_deployment_parameter(served):
    parameters = served["deployment"]["parameters"]
    assert parameters["notify_env"] == "CREDITFLOW_NOTIFY_URL"
    assert served["hook"].url not in json.dumps(served["deployment"])
    assert parameters["data_dir"] == str(served["world"].data)
    assert parameters["out_dir"] == str(served["world"].out)


@pytest.mark.integration
def test_a_run_whose_export_never_arrives_gives_up_loudly_in_one_line(served):
    """The month after has no billing export: waited for (here: not at all), then a
    critical alert through the webhook the deployment names, a failed run whose log says
    it at ERROR level without a traceback, and nothing published."""
    month = months.next_month(served["month"])
    run = _trigger(served, f"month={month}", "export_give_up_after_hours=0")
    api = served["api"]
    assert run["name"] == f"monthly-{month}"
    assert run["state_type"] == "FAILED"
    (message,) = served["hook"].received
    assert message["severity"] == "critical" and message["exit_code"] == 3
    assert message["text"].startswith("CRITICAL: ") and "gave up waiting" in message["reason"]
    assert message["where_to_look"].endswith(f"billing_cycle={month}")
    said = f"no billing export for {month}"
    logs = _run_logs(api, run, lambda log: log["level"] >= 40 and said in log["message"])
    assert any(log["level"] >= 40 and said in log["message"] for log in logs), logs
    assert not any("Traceback" in log["message"] for log in logs)
    assert not (served["world"].out / "batches" / month).exists()


@pytest.mark.integration
def test_a_manually_triggered_run_of_a_published_month_changes_nothing(served):
    month = served["month"]
    coupons = served["world"].out / "batches" / month / "coupons.csv"
    before = coupons.read_bytes()
    run = _trigger(served, f"month={month}")
    assert run["state_type"] == "COMPLETED" and run["name"] == f"monthly-{month}"
    assert coupons.read_bytes() == before


@pytest.mark.integration
def test_a_run_leaves_readable_tasks_logs_and_artifacts(served):
    api, month = served["api"], served["month"]
    settle = next(run for run in served["runs"] if run["name"] == f"settle-{month}")
    tasks = _api(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [settle["id"]]}}})
    assert {task["name"] for task in tasks} == {
        f"{stage}-{month}"
        for stage in ("register-inputs", "stage", "compute", "validate-invariants", "publish")
    }
    # the month's tags are the flow runs'; a tagged stage would ask the server for tag
    # concurrency slots before it starts (docs/operations.md#concurrency-and-sandbox)
    assert [task["tags"] for task in tasks] == [[]] * len(tasks)
    closing = f"{month}: published - 1 coupon(s), USD 20.00"
    logs = _run_logs(api, settle, lambda log: log["message"].startswith(closing))
    messages = [log["message"] for log in logs]
    assert f"{month}: publish (one ledger transaction, then the batch files)" in messages
    assert any(line.startswith(closing) and "liability" in line for line in messages), messages
    # the run's own artifacts (a later rerun of the month records newer versions of the keys)
    artifacts = _api(
        api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [settle["id"]]}}}
    )
    instruments = next(run for run in served["runs"] if run["name"] == f"instruments-{month}")
    artifacts += _api(
        api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [instruments["id"]]}}}
    )
    keys = {artifact["key"]: artifact for artifact in artifacts}
    assert {f"settlement-{month}", f"settlement-{month}-table", f"instruments-{month}"} <= set(keys)
    markdown = keys[f"settlement-{month}"]["data"]
    assert f"# Settlement {month}: published" in markdown and "**Liability**" in markdown
    assert "file://" not in markdown
    assert f"`{served['world'].out.resolve() / 'batches' / month / 'coupons.csv'}`" in markdown
    assert "RAF-" not in json.dumps(artifacts)  # no coupon code in anything Prefect keeps


@pytest.mark.integration
def test_the_run_page_and_its_artifact_render_in_a_real_browser(served, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install -y chromium) to render the UI")
    api, month = served["api"], served["month"]
    ui = api.removesuffix("/api")
    settle = next(run for run in served["runs"] if run["name"] == f"settle-{month}")
    (artifact,) = _api(
        api,
        "/artifacts/filter",
        {
            "artifacts": {
                "key": {"any_": [f"settlement-{month}"]},
                "flow_run_id": {"any_": [settle["id"]]},
            }
        },
    )
    pages = {
        "run": f"{ui}/runs/flow-run/{settle['id']}",
        "artifact": f"{ui}/artifacts/artifact/{artifact['id']}",
    }
    for name, url in pages.items():
        shot = tmp_path / f"{name}.png"
        # one browser per page: it prints the page as drawn and takes its picture
        dom = subprocess.run(
            [browser, *HEADLESS, "--dump-dom", f"--screenshot={shot}", url],
            capture_output=True,
            text=True,
            timeout=180,
        ).stdout
        assert shot.stat().st_size > 20_000, f"{name}: a near-empty screenshot"
        assert "Can't connect to Server API" not in dom
        assert f"settle-{month}" in dom
        if name == "artifact":
            assert f"Settlement {month}: published" in dom
        if keep := os.environ.get("CREDITFLOW_KEEP_SCREENSHOTS"):
            shutil.copy(shot, Path(keep) / f"prefect-{name}.png")


@pytest.mark.integration
def test_stopping_serve_interrupts_a_waiting_month_and_pauses_the_schedule(served):
    """The last test of the served fixture (it stops serve): what `systemctl stop` does. A
    month waiting for its billing export runs inside serve; SIGTERM interrupts it (Prefect
    shows it Crashed, nothing is published), pauses the schedule and ends serve with 0.
    Every run of this module ran inside the serve process, each claimed once."""
    serve, hook, month = served["serve"], served["hook"], months.next_month(served["month"])
    hook.received.clear()
    run_id = _start(served, f"month={month}", "export_retry_every_hours=1")
    _wait_for("the waiting alert", lambda: hook.received, 120, serve)
    serve.terminate()
    assert serve.wait(timeout=60) == 0
    run = _api(served["api"], f"/flow_runs/{run_id}")
    assert run["name"] == f"monthly-{month}" and run["state_type"] == "CRASHED", run["state"]
    assert not (served["world"].out / "batches" / month).exists()
    assert _api(served["api"], f"/deployments/{served['deployment']['id']}")["paused"] is True
    log = (served["world"].root / "serve.log").read_text()
    started = re.findall(r"serve: starting flow run ([0-9a-f-]{36})", log)
    ended = re.findall(r"serve: (monthly-\d{4}-\d{2}) ended (\w+)", log)
    # the scheduled month, the two triggered runs of the tests above and this one
    assert len(started) == len(set(started)) == len(ended) == 4, log
    assert ended[0] == ("monthly-" + served["month"], "Completed")
    assert ended[-1] == (f"monthly-{month}", "Crashed")
    assert "the schedule is paused" in log.splitlines()[-1]


@pytest.mark.parametrize("url", ["data:text/plain,hello", "file:///etc/passwd", "hooks.example/x"])
def test_a_notify_url_that_is_not_http_is_a_usage_error_before_anything_runs(tmp_path, capsys, url):
    args = ["settle", "--month", "2025-11", "--data", str(BASE), "--out", str(tmp_path / "out")]
    code, _, err = run_cli([*args, "--notify", url], capsys)
    assert code == 2 and err.count("creditflow: error:") == 1
    assert "must be an http or https URL" in err and url not in err
    assert not (tmp_path / "out").exists()


def test_a_webhook_that_answers_something_other_than_http_is_a_failed_delivery(monkeypatch, capsys):
    import socket

    monkeypatch.setattr(alerts, "RETRY_DELAYS_S", ())
    listener = socket.create_server(("127.0.0.1", 0))

    def garbage():  # accepts, answers a line that is not an HTTP status line, hangs up
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HELLO\r\n\r\n")
        connection.close()

    threading.Thread(target=garbage, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        assert alerts.notify(url, {"month": "2026-03"}) is False
    finally:
        listener.close()
    assert "not an HTTP answer (BadStatusLine)" in capsys.readouterr().err


def test_a_webhook_that_trickles_its_answer_is_given_up_on_in_bounded_time(monkeypatch, capsys):
    import socket

    monkeypatch.setattr(alerts, "TOTAL_S", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle():  # accepts, then answers one byte every half second, forever
        connection, _ = listener.accept()
        connection.recv(65536)
        while not stop.is_set():
            connection.sendall(b"H")
            time.sleep(0.5)

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
        assert alerts.notify(url, {"month": "2026-03"}) is False
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 5
    assert "no answer within 1 s" in capsys.readouterr().err
