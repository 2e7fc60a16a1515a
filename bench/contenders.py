"""What the benchmark's contenders run, each in a process of its own (`python -c SCRIPT`,
measured from fork to exit by bench/measure.py like every other row): creditflow's stages
timed one by one (no Prefect), the DuckDB floor query (bench/floor.sql), the floor after
creditflow's input audits, a tiny month inside a warm `creditflow serve`, and a flow that creates
Prefect's database once before the timed CLI runs. bench/run.py starts them."""

STAGES = """
import json, sys, time
from pathlib import Path
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import run_pipeline
timings = {}
def timed(stage, run, previous):
    began = time.perf_counter()
    try:
        return stage(run, previous)
    finally:
        timings[stage.name] = time.perf_counter() - began
started = time.perf_counter()
options = RunOptions(data_dir=Path(sys.argv[2]), out_dir=Path(sys.argv[3]))
run_pipeline(settlement.PIPELINE, sys.argv[1], options, call=timed)
timings["total"] = time.perf_counter() - started
print(json.dumps(timings))
"""

# The floor query. argv: data, result, floor.sql, cutoff, memory limit (creditflow's own)
FLOOR = """
import json, sys, time, tomllib
from decimal import Decimal
from pathlib import Path
import duckdb
data, result = Path(sys.argv[1]), sys.argv[2]
sql = (Path(sys.argv[3])).read_text()
rules = tomllib.loads((Path(sys.argv[3]).parents[1] / "config" / "rules.toml").read_text())
numbers = {
    key: (Decimal(value) if isinstance(value, str) else value)
    for key, value in rules.items()
    if key in (
        "qualification_window_days", "bonus_window_days", "hold_days", "base_credit_usd",
        "base_threshold_usd", "bonus_rate", "bonus_threshold_usd", "cap_per_referee_usd",
    )
}
con = duckdb.connect()
con.execute("set preserve_insertion_order = false")
con.execute("set memory_limit = $limit", {"limit": sys.argv[5]})
# room to spill, as creditflow's warehouse has (OUT/.duckdb_tmp)
con.execute("set temp_directory = $dir", {"dir": result + ".tmp"})
started = time.perf_counter()
con.execute(
    f"copy ({sql}) to '{result}' (format parquet)",
    {"billing_files": str(data / "billing" / "*" / "*.parquet"),
     "referral_files": str(data / "referrals" / "*.parquet"), "cutoff_date": sys.argv[4],
     **numbers},
)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

# creditflow's input checks on the same files (file discovery, column checks, digests,
# repeated-record matching, the input audits: the settlement's register-inputs stage, into
# a fresh OUT), then the floor query: what the answer costs once its inputs are checked.
# argv: data, result, floor.sql, cutoff, memory limit, month, out
FLOOR_PLUS_AUDITS = (
    """
import sys
from pathlib import Path
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions
from transforms.pipeline.settlement_inputs import register_inputs
run = settlement.open_checked(
    sys.argv[6], RunOptions(data_dir=Path(sys.argv[1]), out_dir=Path(sys.argv[7]))
)
register_inputs(run)
run.close()
"""
    + FLOOR
)

# a tiny month inside a warm `creditflow serve` (its runs execute in its process): serve is
# started against the running server of PREFECT_API_URL, the first month is triggered and
# awaited (it pays the imports), then the next month is triggered: its run time as Prefect
# records it (Running to Completed), serve's CPU seconds meanwhile, and the time from the
# trigger to Completed (which adds up to one poll of serve, 1 s here) are printed.
# argv: creditflow, data, out, API URL, first month, timed month
TINY_SERVE = """
import json, os, re, subprocess, sys, time, urllib.error, urllib.request
from datetime import datetime
creditflow, data, out, api, first, timed = sys.argv[1:7]
# Prefect's client logs each retry of a request the server refused (a 503 while its SQLite
# is locked, say) at DEBUG, with the back-off it then sleeps (2 s the first time): serve's
# log is kept in a file, and the timed month's retries are counted from it
log_path = out.rstrip("/") + ".serve.log"  # beside OUT: serve refuses an OUT it did not make
def call(path, body=None):
    request = urllib.request.Request(
        api + path, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    for wait in (0.5, 1, 2, 4, 8, 0):  # the server's SQLite answers 503 while it is locked
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            if error.code != 503 or not wait:
                raise
            time.sleep(wait)
def cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
serve = subprocess.Popen([creditflow, "serve", "--data", data, "--out", out],
                         env=dict(os.environ, PREFECT_RUNNER_POLL_FREQUENCY="1",
                                  PREFECT_LOGGING_LOGGERS_PREFECT_CLIENT_LEVEL="DEBUG"),
                         stdout=subprocess.DEVNULL, stderr=open(log_path, "w"), text=True)
def retries(since):
    with open(log_path) as log:
        log.seek(since)
        waits = re.findall(r"Another attempt will be made in ([0-9.]+)s", log.read())
    return {"client_retries": len(waits), "retry_wait_s": round(sum(map(float, waits)), 3)}
def month(name, deployment):
    began, cpu_before, log_before = time.perf_counter(), cpu_s(serve.pid), os.path.getsize(log_path)
    run = call(f"/deployments/{deployment}/create_flow_run", {"parameters": {"month": name}})
    while (run := call(f"/flow_runs/{run['id']}"))["state_type"] not in (
            "COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
        if serve.poll() is not None:
            sys.exit("serve ended: " + open(log_path).read()[-2000:])
        time.sleep(0.05)
    if run["state_type"] != "COMPLETED":
        sys.exit(f"{name}: {run['state_type']}")
    ran = datetime.fromisoformat(run["end_time"]) - datetime.fromisoformat(run["start_time"])
    return {"seconds": ran.total_seconds(), "cpu_s": cpu_s(serve.pid) - cpu_before,
            "trigger_to_completed_s": time.perf_counter() - began, **retries(log_before)}
try:
    for _ in range(600):
        try:
            deployment = call("/deployments/name/creditflow-monthly/creditflow-monthly")["id"]
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit("serve registered no deployment in 120 s")
    # the server's scheduler writes the deployment's upcoming runs once it sees it: waited
    # for, so that its writes do not land inside the timed month
    scheduled = {"flow_runs": {"deployment_id": {"any_": [deployment]},
                               "state": {"type": {"any_": ["SCHEDULED"]}}}}
    for _ in range(240):
        if call("/flow_runs/filter", scheduled):
            break
        time.sleep(0.5)
    else:
        sys.exit("the server's scheduler created no run in 120 s")
    month(first, deployment)
    print(json.dumps(month(timed, deployment)))
finally:
    serve.terminate()
    serve.wait()
"""

PREFECT_WARM_UP = """
from prefect import flow

@flow
def warm_up():
    return None

warm_up()
"""
