"""Operations (docs/operations.md): alerts to a webhook, the scheduled deployment that
`creditflow serve` registers on a real local Prefect server, and runs worth reading in the
Prefect UI (names, tags, logs, artifacts), checked in a real browser where one exists.
"""

import http.server
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from flows import alerts, cli

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


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


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
    message = alerts.alert_message(
        "settle", "2026-03", 3, "2026-03: 2 rejected input row(s)", "/srv/out", environ={}
    )
    assert message["month"] == "2026-03" and message["exit_code"] == 3
    assert message["outcome"] == "invalid or missing input"
    assert (
        message["where_to_look"] == "/srv/out/quarantine/2026-03/ (rejected rows with their rule)"
    )
    assert message["reason"] == "2026-03: 2 rejected input row(s)"
    # `text` alone is a complete Slack/Teams message
    assert "creditflow settle 2026-03" in message["text"] and "exit 3" in message["text"]


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


def test_a_successful_run_sends_no_alert(tmp_path, capsys, webhook):
    code, _, _ = run_cli(["settle", "--help"], capsys)  # argparse's own exit
    assert code == 0 and webhook.received == []


@pytest.mark.flow
def test_a_backfill_alert_names_the_month_that_failed(prefect_harness, tmp_path, capsys, webhook):
    args = ["backfill", "--from", "2025-04", "--to", "2025-05", "--data", str(BASE)]
    code, _, _ = run_cli([*args, "--out", str(tmp_path / "out"), "--notify", webhook.url], capsys)
    assert code == 3
    (message,) = webhook.received
    assert message["command"] == "backfill" and message["month"] == "2025-05"
    assert "no billing export for 2025-05" in message["reason"]
    assert message["where_to_look"].endswith("quarantine/2025-05/ (rejected rows with their rule)")


# --- serve on a real local Prefect server -------------------------------------------------


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
    parsed = cli.build_parser().parse_args(args)
    assert parsed.command == "serve" and parsed.data and parsed.out
    assert "PREFECT_API_URL" in unit and "CREDITFLOW_COUPON_KEY" in unit
    server = (REPO / "deploy" / "prefect-server.service").read_text()
    assert "prefect server start" in server


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
    pattern = f"flows.orphan_guard {run.pid} "

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


def _quietly(check):
    def attempt():
        try:
            return check()
        except OSError:
            return None

    return attempt


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real local Prefect server (`prefect server start`) in its own home and port."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_UI_API_URL=api)
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for("the Prefect server", _quietly(lambda: _api(api, "/health")), 180, server)
        yield api
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def served(prefect_server, tmp_path_factory):
    """`creditflow serve` against the server; one run of the deployment triggered for
    2025-03 as an operator would (`prefect deployment run ... -p month=2025-03`)."""
    root = tmp_path_factory.mktemp("served")
    env = dict(os.environ, PREFECT_API_URL=prefect_server, PREFECT_HOME=str(root / "ph"))
    log = open(root / "serve.log", "w")  # noqa: SIM115 (closed below)
    serve = subprocess.Popen(
        [CREDITFLOW, "serve", "--data", str(BASE), "--out", str(root / "out")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deployment = _wait_for(
            "the deployment",
            _quietly(
                lambda: _api(
                    prefect_server, "/deployments/name/creditflow-monthly/creditflow-monthly"
                )
            ),
            180,
            serve,
        )
        subprocess.run(
            [PREFECT, "deployment", "run", "creditflow-monthly/creditflow-monthly", *TRIGGER],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )

        def finished():
            runs = _api(prefect_server, "/flow_runs/filter", {})
            parent = [run for run in runs if run["deployment_id"] == deployment["id"]]
            if parent and parent[0]["state_type"] in ("COMPLETED", "FAILED", "CRASHED"):
                return runs
            return None

        runs = _wait_for("the triggered run", finished, 600, serve)
        yield {"api": prefect_server, "deployment": deployment, "runs": runs, "out": root / "out"}
    finally:
        serve.terminate()
        serve.wait(timeout=60)
        log.close()


def test_serve_registers_the_monthly_deployment_with_its_schedule(served):
    deployment = served["deployment"]
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 6 4 * *"
    assert schedule["schedule"]["timezone"] == "UTC" and schedule["active"] is True
    assert deployment["paused"] is False
    assert deployment["entrypoint"] == "flows.monthly_close.monthly_close"
    assert deployment["parameters"]["data_dir"] == str(BASE)
    assert deployment["parameters"]["out_dir"] == str(served["out"])


def test_a_triggered_run_settles_then_runs_the_ledger_under_readable_names(served):
    runs = {run["name"]: run for run in served["runs"]}
    assert {"monthly-2025-03", "settle-2025-03", "instruments-2025-03"} <= set(runs)
    assert all(runs[name]["state_type"] == "COMPLETED" for name in runs)
    assert set(runs["settle-2025-03"]["tags"]) == {"settlement", "2025-03"}
    assert set(runs["instruments-2025-03"]["tags"]) == {"instruments", "2025-03"}
    assert (served["out"] / "batches" / "2025-03" / "manifest.json").exists()
    assert (served["out"] / "instruments" / "2025-03").is_dir()

    api = served["api"]
    settle = runs["settle-2025-03"]
    tasks = _api(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [settle["id"]]}}})
    assert {task["name"] for task in tasks} == {
        f"{stage}-2025-03"
        for stage in ("register-inputs", "stage", "compute", "validate-invariants", "publish")
    }
    logs = _api(api, "/logs/filter", {"logs": {"flow_run_id": {"any_": [settle["id"]]}}})
    assert "2025-03: publish (one ledger transaction, then the batch files)" in {
        log["message"] for log in logs
    }
    artifacts = _api(api, "/artifacts/filter", {})
    keys = {artifact["key"]: artifact for artifact in artifacts}
    assert {"settlement-2025-03", "settlement-2025-03-table", "instruments-2025-03"} <= set(keys)
    markdown = keys["settlement-2025-03"]["data"]
    assert "# Settlement 2025-03: published" in markdown and "**Liability**" in markdown
    assert "RAF-" not in json.dumps(artifacts)  # no coupon code in anything Prefect keeps


def test_the_run_page_and_its_artifact_render_in_a_real_browser(served, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install -y chromium) to render the UI")
    api = served["api"]
    ui = api.removesuffix("/api")
    settle = next(run for run in served["runs"] if run["name"] == "settle-2025-03")
    (artifact,) = _api(
        api, "/artifacts/filter", {"artifacts": {"key": {"any_": ["settlement-2025-03"]}}}
    )
    pages = {
        "run": f"{ui}/runs/flow-run/{settle['id']}",
        "artifact": f"{ui}/artifacts/artifact/{artifact['id']}",
    }
    for name, url in pages.items():
        shot = tmp_path / f"{name}.png"
        dom = subprocess.run(
            [browser, *HEADLESS, "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=180,
        ).stdout
        subprocess.run(
            [browser, *HEADLESS, f"--screenshot={shot}", url],
            capture_output=True,
            timeout=180,
        )
        assert shot.stat().st_size > 20_000, f"{name}: a near-empty screenshot"
        assert "Can't connect to Server API" not in dom
        assert "settle-2025-03" in dom
        if name == "artifact":
            assert "Settlement 2025-03: published" in dom
        if keep := os.environ.get("CREDITFLOW_KEEP_SCREENSHOTS"):
            shutil.copy(shot, Path(keep) / f"prefect-{name}.png")
