"""The run's own Prefect API (flows/ephemeral_api.py): started by the CLI before the run's
heavy imports when no Prefect server is configured, answering before the first flow call,
without secrets, started again after an exit, stopped with the run, and a failure to
start is exit 6 in one line. Each case runs in a fresh process: starting the API points
the process's Prefect settings at it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "tests" / "bad_inputs" / "base"


def _python(script: str, tmp_path: Path, **environment: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"), **environment)
    if "PREFECT_API_URL" not in environment:
        env.pop("PREFECT_API_URL", None)  # no server configured: the run starts its own
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_the_cli_starts_its_api_before_importing_prefects_flows_and_duckdb(tmp_path):
    """The point of starting it early: the server's start overlaps the run's imports
    (docs/performance.md#the-cli-starts-its-own-api-early)."""
    script = (
        "import sys, flows.cli as c, flows.ephemeral_api as e\n"
        "def start(log_file):\n"
        "    loaded = ('flows.settlement', 'prefect.flows', 'duckdb', 'prefect.server.api')\n"
        "    print([name for name in loaded if name in sys.modules], log_file)\n"
        "    raise SystemExit(0)\n"
        "e.start_unless_configured = start\n"
        f"c.main(['settle', '--month', '2025-03', '--data', {str(BASE)!r}, "
        f"'--out', {str(tmp_path / 'out')!r}])\n"
    )
    ran = _python(script, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"[] {tmp_path / 'out' / 'logs' / 'prefect-server.log'}"


def test_against_a_configured_server_no_api_is_started_and_no_server_code_imported(tmp_path):
    script = (
        "import sys, flows.ephemeral_api as e\n"
        "print(e.start_unless_configured(None), 'prefect.server.api.server' in sys.modules)\n"
    )
    ran = _python(script, tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["None", "False"]


@pytest.mark.integration
def test_the_runs_api_answers_without_secrets_comes_back_after_an_exit_and_stops(tmp_path):
    log = tmp_path / "out" / "logs" / "prefect-server.log"
    script = (
        "import json, os, httpx, flows.ephemeral_api as e\n"
        "from prefect.settings import get_current_settings\n"
        f"api = e.start_unless_configured(__import__('pathlib').Path({str(log)!r}))\n"
        "api.wait_until_ready()\n"
        "first = api.process.pid\n"
        "seen = {'url': api.url, 'env': os.environ['PREFECT_API_URL'],\n"
        "        'settings': get_current_settings().api.url,\n"
        "        'health': httpx.get(api.url + '/health').json(),\n"
        "        'server_env': open(f'/proc/{first}/environ', 'rb').read().decode()}\n"
        "api.process.kill(); api.process.wait()\n"
        "api.wait_until_ready()\n"
        "seen['again'] = httpx.get(api.url + '/health').json()\n"
        "seen['new_process'] = api.process.pid != first\n"
        "second = api.process\n"
        "api.stop()\n"
        "seen['stopped'] = second.poll() is not None\n"
        "print(json.dumps(seen))\n"
    )
    ran = _python(script, tmp_path, CREDITFLOW_COUPON_KEY="a-secret-coupon-key")
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout.splitlines()[-1])
    assert seen["url"].startswith("http://127.0.0.1:") and seen["url"].endswith("/api")
    assert seen["env"] == seen["settings"] == seen["url"]  # the process and its children
    assert seen["health"] is True and seen["again"] is True and seen["new_process"]
    assert seen["stopped"]
    assert "PREFECT__SERVER_EPHEMERAL=1" in seen["server_env"]
    assert "a-secret-coupon-key" not in seen["server_env"]
    assert log.is_file()  # the server's output, never the terminal
    assert "Traceback" not in ran.stderr


@pytest.mark.integration
def test_an_api_that_cannot_start_is_tried_again_then_exit_6_in_one_line(tmp_path):
    """The server starts and fails (its database does not answer): the CLI says so in one
    line naming the server's log, after trying again, and publishes nothing."""
    script = (
        "import flows.cli as c, flows.cli_commands as k; k.ORCHESTRATOR_RETRY_DELAYS_S = (0,)\n"
        f"c.main(['settle', '--month', '2025-03', '--data', {str(BASE)!r}, "
        f"'--out', {str(tmp_path / 'out')!r}])\n"
    )
    unreachable = "postgresql+asyncpg://creditflow:x@127.0.0.1:9/prefect"
    ran = _python(script, tmp_path, PREFECT_SERVER_DATABASE_CONNECTION_URL=unreachable)
    assert ran.returncode == 6, ran.stderr
    errors = [line for line in ran.stderr.splitlines() if "creditflow: error:" in line]
    assert len(errors) == 1 and "the orchestrator is unavailable" in errors[0], ran.stderr
    assert "Prefect API server exited with code" in errors[0]
    assert str(tmp_path / "out" / "logs" / "prefect-server.log") in errors[0]
    assert "trying again" in ran.stderr and "Traceback" not in ran.stderr
    assert not (tmp_path / "out" / "batches").exists()
