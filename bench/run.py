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
import subprocess
import sys
import time
from pathlib import Path

import bench_report
import duckdb
from contenders import FLOOR, PREFECT_WARM_UP, STAGES

from transforms.pipeline import published_files, settlement_publish

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = sys.executable
CYCLES = 13
MONTH = "2026-01"  # the 13th cycle from 2025-01: a full 365-day history behind it
PREVIOUS_MONTH = "2025-12"
CUTOFF = "2026-01-31"


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


def warm_page_cache(data: Path) -> None:
    """Read every input file once, so no contender pays for cold disk reads that the one
    timed first would otherwise pay alone (the files fit in RAM at every size here)."""
    for path in sorted(data.rglob("*.parquet")):
        with path.open("rb") as handle:
            while handle.read(8 << 20):
                pass


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

    # The generated data begins in 2025-01, and a fresh OUT's first settled month must be its
    # data's first cycle unless its ledger was started on purpose (the guard against a
    # mistyped --out paying everything again): each OUT's ledger starts where the benchmark
    # begins settling it, with `creditflow init`, not timed.
    for out, first_month in (
        ("out-stages", MONTH),
        ("out-incremental", PREVIOUS_MONTH),
        ("out-cli", MONTH),
        ("out-cli-inc", PREVIOUS_MONTH),
        ("out-dask", MONTH),
        ("out-dask-inc", PREVIOUS_MONTH),
    ):
        init = ["init", "--out", str(work / out), "--data", str(data), "--first-month", first_month]
        run_measured([str(Path(PYTHON).parent / "creditflow"), *init])

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
    dask_full = bench_report.shard_figures(LAST_STDERR)
    run_measured([*cli(PREVIOUS_MONTH, "out-dask-inc"), *dask], env)
    measured(
        f"creditflow CLI end to end, incremental month, Dask {args.dask_workers} local workers",
        [*cli(MONTH, "out-dask-inc"), *dask],
        env,
    )
    dask_incremental = bench_report.shard_figures(LAST_STDERR)
    dask_identical = all(
        (work / "out-cli" / "batches" / MONTH / name).read_bytes()
        == (work / "out-dask" / "batches" / MONTH / name).read_bytes()
        and (work / "out-cli-inc" / "batches" / MONTH / name).read_bytes()
        == (work / "out-dask-inc" / "batches" / MONTH / name).read_bytes()
        for name in published_files.names(settlement_publish.DATA_FILES)
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

    mismatches, compared = equality(work, with_pandas=pandas_report is not None)

    dask = {
        "name": dask_full_name,
        "full": dask_full,
        "incremental": dask_incremental,
        "identical": dask_identical,
    }
    text = bench_report.write(
        args.lines,
        referees,
        rows,
        stages_report,
        incremental_report,
        dask,
        mismatches,
        compared,
        setting=(CYCLES, MONTH, CUTOFF),
    )
    print(text)


def equality(work: Path, with_pandas: bool) -> tuple[dict, int]:
    """The floor's and pandas' entitlements against creditflow's, for every 'ok' referee:
    (mismatches by contender, referees compared)."""
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
    if with_pandas:
        mismatches["pandas"] = con.execute(
            f"""select count(*) from ({creditflow}) c
                left join read_parquet('{work}/pandas.parquet') p using (referee_account_id)
                where coalesce(p.entitlement_cents, 0) <> cast(c.entitlement_usd * 100 as bigint)"""
        ).fetchone()[0]
    compared = con.execute(f"select count(*) from ({creditflow})").fetchone()[0]
    return mismatches, compared


if __name__ == "__main__":
    main()
