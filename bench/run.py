"""Benchmark: creditflow's settlement of one month next to the DuckDB floor query and a
plain pandas implementation, on generated data of a given size. A benchmark, not a test.

    .venv/bin/python bench/run.py --lines 10000000            # or make bench LINES=10000000

Data comes from bench/generate.py (`.venv/bin/python -m bench.generate --help`).

Each contender runs in its own process, so its peak RSS is its own. Data is generated on
demand under bench/data/ (not in git). Results: bench/results/<lines>.md (markdown).
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = sys.executable
CYCLES = 13
MONTH = "2026-01"  # the 13th cycle from 2025-01: a full 365-day history behind it
PREVIOUS_MONTH = "2025-12"
CUTOFF = "2026-01-31"

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

FLOOR = """
import json, sys, time
from pathlib import Path
import duckdb
data, result = Path(sys.argv[1]), sys.argv[2]
sql = (Path(sys.argv[3])).read_text()
con = duckdb.connect()
con.execute("set preserve_insertion_order = false")
con.execute("set memory_limit = '3GB'")
started = time.perf_counter()
con.execute(
    f"copy ({sql}) to '{result}' (format parquet)",
    {"billing_files": str(data / "billing" / "*" / "*.parquet"),
     "referral_files": str(data / "referrals" / "*.parquet"), "cutoff_date": sys.argv[4]},
)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

PREFECT_WARM_UP = """
from prefect import flow

@flow
def warm_up():
    return None

warm_up()
"""


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of one child process (which must succeed); its stderr (the
    run's progress lines) is kept in LAST_STDERR."""
    global LAST_STDERR
    started = time.perf_counter()
    process = subprocess.run(
        command, capture_output=True, text=True, env=env or os.environ.copy(), cwd=REPO, check=False
    )
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr[-2000:]}")
    LAST_STDERR = process.stderr
    return time.perf_counter() - started, process.stdout


LAST_STDERR = ""
SHARD_LINE = re.compile(
    r"shards: (\d+) shard\(s\) read ([\d,]+) bill lines \(([\d.]+) s; per shard ([\d., ]+) s; "
    r"writing the shards' inputs ([\d.]+) s\)"
)
LAYOUT_LINE = re.compile(r"shards: laid out (\d+) billing file\(s\) .*?\(([\d.]+) s,")


def shard_figures(stderr: str) -> dict:
    """What a Dask run said about its shards (transforms/pipeline/shards.py progress lines)."""
    found = SHARD_LINE.search(stderr)
    layout = LAYOUT_LINE.search(stderr)
    if not found:
        return {}
    return {
        "shards": int(found.group(1)),
        "lines": int(found.group(2).replace(",", "")),
        "shard_step_s": float(found.group(3)),
        "per_shard_s": [float(x) for x in found.group(4).split(",")],
        "slicing_s": float(found.group(5)),
        "layout_files": int(layout.group(1)) if layout else 0,
        "layout_s": float(layout.group(2)) if layout else 0.0,
    }


def warm_page_cache(data: Path) -> None:
    """Read every input file once, so no contender pays for cold disk reads that the one
    timed first would otherwise pay alone (the files fit in RAM at every size here)."""
    for path in sorted(data.rglob("*.parquet")):
        with path.open("rb") as handle:
            while handle.read(8 << 20):
                pass


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, required=True, help="total bill lines over 13 cycles")
    parser.add_argument("--pandas-max-lines", type=int, default=10_000_000)
    parser.add_argument("--dask-workers", type=int, default=2, help="local Dask workers (issue 16)")
    args = parser.parse_args()
    referees = max(1000, args.lines // 100)
    label = f"{args.lines:_}"
    data = BENCH / "data" / label
    if not (data / "accounts").exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "bench.generate",
                "--out",
                str(data),
                "--referees",
                str(referees),
                "--months",
                str(CYCLES),
                "--lines-per-month",
                str(args.lines // CYCLES),
            ],
            check=True,
            cwd=REPO,
        )
    warm_page_cache(data)
    work = BENCH / "data" / f"{label}-runs"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    rows = []

    # each contender in its own process, wrapped by peak.py, which reports that one child's
    # peak RSS (RUSAGE_CHILDREN of a process with a single child)
    def measured(name, command, env=None):
        wrapped = [PYTHON, str(BENCH / "peak.py"), *command]
        seconds, stdout = run_measured(wrapped, env)
        report = json.loads(stdout.strip().splitlines()[-1])
        rows.append((name, seconds, report["peak_rss_mb"], report.get("inner")))
        return report.get("inner")

    measured(
        "floor: one DuckDB query",
        [
            PYTHON,
            "-c",
            FLOOR,
            str(data),
            str(work / "floor.parquet"),
            str(BENCH / "floor.sql"),
            CUTOFF,
        ],
    )
    stages_report = measured(
        "creditflow stages, full recompute (no Prefect)",
        [PYTHON, "-c", STAGES, MONTH, str(data), str(work / "out-stages")],
    )
    # incremental: the previous month settled first (not timed), then this month reads only
    # its own cycle plus the incremental state
    run_measured([PYTHON, "-c", STAGES, PREVIOUS_MONTH, str(data), str(work / "out-incremental")])
    incremental_report = measured(
        "creditflow stages, incremental month (no Prefect)",
        [PYTHON, "-c", STAGES, MONTH, str(data), str(work / "out-incremental")],
    )
    env = dict(
        os.environ,
        PREFECT_HOME=str(work / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    # a scheduled deployment keeps its Prefect home: create and migrate its database once
    # here (not timed), so the first timed CLI run does not pay that one-off cost alone
    run_measured([PYTHON, "-c", PREFECT_WARM_UP], env)

    def cli(month, out):
        return [
            str(Path(PYTHON).parent / "creditflow"),
            "settle",
            "--month",
            month,
            "--data",
            str(data),
            "--out",
            str(work / out),
        ]

    measured("creditflow CLI end to end, full (Prefect)", cli(MONTH, "out-cli"), env)
    # the monthly run as scheduled: the previous month was settled (not timed)
    run_measured([PYTHON, "-c", STAGES, PREVIOUS_MONTH, str(data), str(work / "out-cli-inc")])
    measured(
        "creditflow CLI end to end, incremental month (Prefect)", cli(MONTH, "out-cli-inc"), env
    )
    # issue 16, target 3: the fixed overhead, a tiny month (five bill lines) through the CLI
    # with the same Prefect home (ephemeral API, as the benchmark's other CLI rows)
    tiny = [
        str(Path(PYTHON).parent / "creditflow"),
        "settle",
        "--month",
        "2025-03",
        "--data",
        str(REPO / "tests" / "bad_inputs" / "base"),
        "--out",
        str(work / "out-tiny"),
    ]
    measured("creditflow CLI end to end, a tiny month (Prefect)", tiny, env)
    # issue 16, targets 5 and 6: the per-referee work on a local Dask cluster. Full: a fresh
    # OUT, so the run also lays out all 13 cycles (the one-off cost of the layout); then the
    # monthly run, after the previous month was settled the same way (not timed)
    dask = ["--executor", "dask", "--workers", str(args.dask_workers)]
    dask_full_name = f"creditflow CLI end to end, full, Dask {args.dask_workers} local workers"
    measured(dask_full_name, [*cli(MONTH, "out-dask"), *dask], env)
    dask_full = shard_figures(LAST_STDERR)
    run_measured([*cli(PREVIOUS_MONTH, "out-dask-inc"), *dask], env)
    measured(
        f"creditflow CLI end to end, incremental month, Dask {args.dask_workers} local workers",
        [*cli(MONTH, "out-dask-inc"), *dask],
        env,
    )
    dask_incremental = shard_figures(LAST_STDERR)
    dask_identical = all(
        (work / "out-cli" / "batches" / MONTH / name).read_bytes()
        == (work / "out-dask" / "batches" / MONTH / name).read_bytes()
        and (work / "out-cli-inc" / "batches" / MONTH / name).read_bytes()
        == (work / "out-dask-inc" / "batches" / MONTH / name).read_bytes()
        for name in ("coupons.csv", "welcome.csv")
    )
    pandas_report = None
    if args.lines <= args.pandas_max_lines:
        pandas_report = measured(
            "pandas implementation",
            [
                PYTHON,
                str(BENCH / "pandas_rules.py"),
                str(data),
                CUTOFF,
                str(work / "pandas.parquet"),
            ],
        )

    # equality: floor and pandas against creditflow's entitlement for every 'ok' referee
    con = duckdb.connect()
    creditflow = (
        f"""select referee_account_id, entitlement_usd from read_parquet('{work}/status.parquet')"""
    )
    duckdb.connect(str(work / "out-stages" / "warehouse.duckdb"), read_only=True).execute(
        f"copy (select referee_account_id, entitlement_usd from referee_status "
        f"where reason_code = 'ok') to '{work}/status.parquet' (format parquet)"
    )
    mismatches = {
        "floor": con.execute(
            f"""select count(*) from ({creditflow}) c
                left join read_parquet('{work}/floor.parquet') f using (referee_account_id)
                where coalesce(f.entitlement_usd, 0) <> c.entitlement_usd"""
        ).fetchone()[0]
    }
    if pandas_report is not None:
        mismatches["pandas"] = con.execute(
            f"""select count(*) from ({creditflow}) c
                left join read_parquet('{work}/pandas.parquet') p using (referee_account_id)
                where coalesce(p.entitlement_cents, 0) <> cast(c.entitlement_usd * 100 as bigint)"""
        ).fetchone()[0]
    compared = con.execute(f"select count(*) from ({creditflow})").fetchone()[0]

    lines = [
        f"# Benchmark: {args.lines:,} bill lines, {CYCLES} billing cycles, {referees:,} referees",
        "",
        f"Machine: {machine()}. Settling {MONTH} (cutoff {CUTOFF}); page cache warmed first.",
        f"Command: `.venv/bin/python bench/run.py --lines {args.lines}`",
        "",
        "| contender | wall s | peak RSS MB |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {seconds:.1f} | {peak:.0f} |" for name, seconds, peak, _ in rows]
    for title, report in (("full recompute", stages_report), ("incremental", incremental_report)):
        timings = ", ".join(f"{k} {v:.2f}" for k, v in report.items())
        lines += ["", f"creditflow stages, {title} (s): {timings}"]
    wall = {name: seconds for name, seconds, _, _ in rows}
    floor = wall["floor: one DuckDB query"]
    compute = stages_report["stage"] + stages_report["compute"]
    checked = compute + stages_report["register inputs"]
    cli_full = wall["creditflow CLI end to end, full (Prefect)"]
    cli_incremental = wall["creditflow CLI end to end, incremental month (Prefect)"]
    lines += [
        "",
        "Ratios against the targets of issue #3:",
        "",
        f"- compute (stage + compute stages, full) / floor = {compute:.1f} / {floor:.1f} = "
        f"{compute / floor:.2f}; with the input checks (register_inputs + stage + compute) / "
        f"floor = {checked:.1f} / {floor:.1f} = {checked / floor:.2f}",
        f"- end to end: CLI full {cli_full:.1f} s against floor + 15 s = {floor + 15:.1f} s",
        f"- incremental / full: stages {incremental_report['total']:.1f} / "
        f"{stages_report['total']:.1f} = {incremental_report['total'] / stages_report['total']:.2f}"
        f"; CLI {cli_incremental:.1f} / {cli_full:.1f} = {cli_incremental / cli_full:.2f}",
        f"- peak RSS of creditflow: {max(p for n, _, p, _ in rows if 'creditflow' in n):.0f} MB",
    ]
    if "pandas implementation" in wall:
        pandas = wall["pandas implementation"]
        lines.append(
            f"- pandas / stages full = {pandas / stages_report['total']:.1f}x, "
            f"pandas / CLI full = {pandas / cli_full:.1f}x, pandas / floor = {pandas / floor:.1f}x"
        )
    dask = {
        "name": dask_full_name,
        "full": dask_full,
        "incremental": dask_incremental,
        "identical": dask_identical,
    }
    lines += _scale_targets(args.lines, wall, stages_report, incremental_report, rows, dask)
    figures = {
        "lines": args.lines,
        "machine": machine(),
        "wall_s": wall,
        "peak_rss_mb": {name: peak for name, _, peak, _ in rows},
        "stages_full_s": stages_report,
        "stages_incremental_s": incremental_report,
        "dask": dask,
    }
    (BENCH / "results" / f"{label}.json").write_text(json.dumps(figures, indent=1) + "\n")
    lines += growth_table()
    lines += [
        "",
        f"Equality against creditflow's entitlement of {compared:,} 'ok' referees: "
        + ", ".join(f"{k}: {v} mismatches" for k, v in mismatches.items()),
    ]
    text = "\n".join(lines) + "\n"
    (BENCH / "results" / f"{label}.md").write_text(text)
    print(text)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def growth_table() -> list[str]:
    """Issue 16, target 4: time per million lines at every size benchmarked on this
    machine so far (bench/results/*.json)."""
    runs = sorted(
        (json.loads(p.read_text()) for p in (BENCH / "results").glob("*.json")),
        key=lambda r: r["lines"],
    )
    table = [
        "",
        "Growth (every size in bench/results/*.json; seconds per million lines):",
        "",
        "| lines | floor s/M | stages full s/M | CLI full s/M | CLI incremental s/M | "
        "Dask full s/M | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        million = r["lines"] / 1_000_000
        wall = r["wall_s"]
        dask = wall.get(r.get("dask", {}).get("name", ""), float("nan"))
        peak = max(v for k, v in r["peak_rss_mb"].items() if "creditflow" in k and "Dask" not in k)
        table.append(
            f"| {r['lines']:,} | {wall['floor: one DuckDB query'] / million:.2f} | "
            f"{r['stages_full_s']['total'] / million:.2f} | "
            f"{wall['creditflow CLI end to end, full (Prefect)'] / million:.2f} | "
            f"{wall['creditflow CLI end to end, incremental month (Prefect)'] / million:.2f} | "
            f"{dask / million:.2f} | {peak:.0f} |"
        )
    return table


def projection(lines: int, wall_s: float, fixed_s: float, figures: dict, workers: int) -> float:
    """Projected wall seconds of a full month of 1B lines on `workers` Dask workers, from
    this run's figures: the fixed overhead (the tiny month) stays; what else runs on the
    coordinator grows with the lines and does not shrink with workers; the layout and the
    shards' work grow with the lines and divide over the workers. Each worker is assumed
    to be worth one of this run's local workers (which shared this machine's cores)."""
    scale = 1_000_000_000 / lines
    local = len(figures["per_shard_s"])
    sharded = figures["layout_s"] + figures["shard_step_s"]
    coordinator = max(wall_s - sharded - fixed_s, 0.0)
    return fixed_s + coordinator * scale + sharded * scale * local / workers


def _scale_targets(
    lines: int, wall: dict, full: dict, incremental: dict, rows, dask: dict
) -> list[str]:
    """Issue 16's targets, each as a ratio of figures taken in this one run, met or not."""

    floor = wall["floor: one DuckDB query"]
    cli_full = wall["creditflow CLI end to end, full (Prefect)"]
    cli_incremental = wall["creditflow CLI end to end, incremental month (Prefect)"]
    tiny = wall["creditflow CLI end to end, a tiny month (Prefect)"]
    stages_ratio = incremental["total"] / full["total"]
    cli_ratio = cli_incremental / cli_full
    peak_mb = max(p for n, _, p, _ in rows if "creditflow" in n and "Dask" not in n)
    per_million = full["total"] / (lines / 1_000_000)
    return [
        "",
        "Targets of issue #16 (docs/performance.md explains each one not met):",
        "",
        f"1. end to end / floor: CLI full {cli_full:.1f} / floor {floor:.1f} = "
        f"{cli_full / floor:.2f} (target <= 1.5): {verdict(cli_full / floor <= 1.5)}",
        f"2. incremental / full: stages {stages_ratio:.2f}, CLI {cli_ratio:.2f} (target <= 0.2): "
        f"{verdict(max(stages_ratio, cli_ratio) <= 0.2)}",
        f"3. fixed overhead: a tiny month through the CLI {tiny:.1f} s (target <= 3 s): "
        f"{verdict(tiny <= 3)}",
        f"4. growth: {per_million:.2f} s of stages per million lines at {lines:,} (compare the "
        f"runs at 1M, 10M, 100M); peak RSS {peak_mb:.0f} MB (target < 3,000 MB): "
        f"{verdict(peak_mb < 3000)}",
        *_dask_targets(lines, wall, dask),
    ]


def _dask_targets(lines: int, wall: dict, dask: dict) -> list[str]:
    full, incremental = dask["full"], dask["incremental"]
    full_s = wall[dask["name"]]
    tiny = wall["creditflow CLI end to end, a tiny month (Prefect)"]
    per_shard = ", ".join(f"{s:.1f}" for s in full["per_shard_s"])
    return [
        f"5. scale-out on Dask: outputs of the Dask runs byte-identical to the local runs: "
        f"{'yes' if dask['identical'] else 'NO'}; full month: laid out {full['layout_files']} "
        f"files in {full['layout_s']:.1f} s, {full['shards']} shards read {full['lines']:,} "
        f"lines in {full['shard_step_s']:.1f} s (per shard {per_shard} s), the coordinator "
        f"the other {full_s - full['layout_s'] - full['shard_step_s']:.1f} s; incremental "
        f"month: laid out {incremental['layout_files']} files in {incremental['layout_s']:.1f} s,"
        f" shards {incremental['shard_step_s']:.1f} s. Projected full month of 1B lines: "
        f"{projection(lines, full_s, tiny, full, 8):.0f} s on 8 workers, "
        f"{projection(lines, full_s, tiny, full, 32):.0f} s on 32 (docs/performance.md#scale-out): "
        f"{verdict(dask['identical'])}",
        f"6. Dask row with {full['shards']} local workers: full {full_s:.1f} s vs local CLI "
        f"{wall['creditflow CLI end to end, full (Prefect)']:.1f} s: "
        f"{verdict(bool(full))}",
    ]


if __name__ == "__main__":
    main()
