"""What the benchmark's contenders run, each in a process of its own (`python -c SCRIPT`,
measured from fork to exit by bench/measure.py like every other row): creditflow's stages
timed one by one (no Prefect), the DuckDB floor query (bench/floor.sql), the floor after
creditflow's input audits, a tiny month in a warm process, and a flow that creates
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

# a tiny month in a process that has already run one through the Prefect flow (against the
# running server of PREFECT_API_URL): what a month costs inside a warm, long-lived process
# such as `creditflow serve` would be if it ran its flow runs in-process.
# argv: month, data, warm-up out, timed out
TINY_WARM = """
import json, sys, time
from pathlib import Path
from flows import settlement
from transforms.pipeline.options import RunOptions
month, data = sys.argv[1], Path(sys.argv[2])
settlement.settle(month, RunOptions(data_dir=data, out_dir=Path(sys.argv[3])))
started = time.perf_counter()
settlement.settle(month, RunOptions(data_dir=data, out_dir=Path(sys.argv[4])))
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

PREFECT_WARM_UP = """
from prefect import flow

@flow
def warm_up():
    return None

warm_up()
"""
