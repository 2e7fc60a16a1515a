"""Benchmark: creditflow's settlement of one month next to the DuckDB floor query, on
generated data of a given size, in two shapes (bench/generate.py): today's benchmark
shape and a years-old referral program. A benchmark, not a test.

    .venv/bin/python bench/run.py --lines 10000000            # or make bench LINES=10000000

Every row is a command in a process of its own, measured the same way from fork to exit
(bench/measure.py: wall, CPU of the whole process tree, peak RSS summed over the tree, the
load average), `--samples` times (3 by default: min and median are reported). Data is
generated on demand under bench/data/ (not in git). The targets of issue #30 are judged
by bench/targets.py; the page is written by bench/bench_report.py to
bench/results/<lines>.md and .json, and printed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_report
import measure
import targets
from contenders import FLOOR, FLOOR_PLUS_AUDITS, PREFECT_WARM_UP, STAGES, TINY_SERVE

from transforms.pipeline.options import RunOptions

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = sys.executable
CREDITFLOW = str(Path(PYTHON).parent / "creditflow")
CYCLES = {"today": 13, "program": 36}
MONTH, PREVIOUS_MONTH, CUTOFF = "2026-01", "2025-12", "2026-01-31"
TINY_DATA, TINY_MONTH, TINY_NEXT = REPO / "tests" / "bad_inputs" / "base", "2025-03", "2025-04"
SERVER_PORT = 4297
MEMORY_LIMIT = RunOptions.model_fields["memory_limit"].default
CLI_RUNNER = "CLI (ephemeral Prefect API)"  # the rows' names: row_name(runner, kind)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def untimed(command: list[str], env: dict | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")


def data_for(shape: str, lines: int) -> Path:
    data = BENCH / "data" / (f"{lines:_}" if shape == "today" else f"{lines:_}-{shape}")
    if not (data / "accounts").exists():
        say(f"generating {lines:,} lines, shape {shape}, under {data}")
        cycles = CYCLES[shape]
        generate = ["-m", "bench.generate", "--out", str(data), "--shape", shape]
        sizes = ["--referees", str(max(1000, lines // 100)), "--months", str(cycles)]
        untimed([PYTHON, *generate, *sizes, "--lines-per-month", str(lines // cycles)])
    for path in sorted(data.rglob("*.parquet")):  # no contender pays a cold disk alone
        with path.open("rb") as handle:
            while handle.read(8 << 20):
                pass
    return data


@dataclass(frozen=True)
class Spec:
    """One row to measure: `prepare(sample)` makes a sample's OUT (not timed);
    `command(out)` is timed."""

    key: str
    name: str
    command: Callable
    prepare: Callable
    env: dict | None = None


class Bench:
    def __init__(self, args, work: Path):
        self.samples, self.work, self.rows = args.samples, work, {}
        self.env = dict(
            os.environ,
            PREFECT_HOME=str(work / "prefect-home"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
        )

    def row(self, key: str, name: str, command, prepare, env=None) -> None:
        self.interleaved([Spec(key, name, command, prepare, env)])

    def interleaved(self, specs: list[Spec]) -> None:
        """Every row's first sample, then every row's second, and so on. The rows a target
        compares see the same machine: a slowdown during the run falls on each of them,
        not on whichever row happened to run then (the 100M run of 2026-12-05 night)."""
        rows = {spec.key: measure.Row(spec.name) for spec in specs}
        for sample in range(self.samples):
            for spec in specs:
                row = rows[spec.key]
                out = spec.prepare(sample)
                row.samples.append(measure.run(spec.command(out), spec.env or self.env, REPO))
                say(
                    f"{spec.name}: sample {sample + 1}/{self.samples} {row.samples[-1].wall_s:.1f} s"
                )
        self.rows.update(rows)

    def fresh(self, key: str, data: Path, first_month: str = MONTH):
        """A fresh OUT per sample whose ledger starts at `first_month` (creditflow init)."""

        def prepare(sample: int) -> Path:
            out = self.work / f"{key}-{sample}"
            shutil.rmtree(out, ignore_errors=True)
            if data is not None:
                init = ["init", "--out", str(out), "--data", str(data)]
                untimed([CREDITFLOW, *init, "--first-month", first_month])
            return out

        return prepare

    def after_previous_month(self, key: str, data: Path, settle_previous):
        """A copy, per sample, of one OUT in which 2025-12 was settled (not timed)."""
        base = self.fresh(f"{key}-base", data, PREVIOUS_MONTH)(0)
        untimed(settle_previous(base), self.env)

        def prepare(sample: int) -> Path:
            out = self.work / f"{key}-{sample}"
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(base, out, symlinks=True)
            return out

        return prepare


def stages(month: str, data: Path):
    return lambda out: [PYTHON, "-c", STAGES, month, str(data), str(out)]


def cli(month: str, data: Path, *extra: str):
    return lambda out: [
        CREDITFLOW, "settle", "--month", month, "--data", str(data), "--out", str(out), *extra
    ]  # fmt: skip


def row_name(runner: str, kind: str, tag: str = "") -> str:
    return f"{runner}, {'full recompute' if kind == 'full' else 'normal month'}{tag}"


def measure_shape(
    bench: Bench, shape: str, data: Path, dask: list[str] | None, floors: list[Spec]
) -> None:
    """Full recompute and normal month, through the stages and the CLI, interleaved with
    the floor rows they are judged against (and then Dask)."""
    tag = "" if shape == "today" else f" [{shape}]"
    key = "" if shape == "today" else f"{shape}_"
    specs = list(floors)
    for way, command in (("stages", stages), ("cli", cli)):
        label = "stages (no Prefect)" if way == "stages" else CLI_RUNNER
        full, normal = f"{key}{way}_full", f"{key}{way}_normal"
        specs.append(Spec(full, row_name(label, "full", tag), command(MONTH, data),
                          bench.fresh(full, data)))  # fmt: skip
        previous = bench.after_previous_month(normal, data, command(PREVIOUS_MONTH, data))
        specs.append(Spec(normal, row_name(label, "normal", tag), command(MONTH, data), previous))
    bench.interleaved(specs)
    if dask is None:
        return
    for kind, prepare in (
        ("full", bench.fresh("dask_full", data)),
        ("normal", bench.after_previous_month("dask_normal", data, cli(PREVIOUS_MONTH, data, *dask))),
    ):  # fmt: skip
        bench.row(f"dask_{kind}", row_name(f"CLI on Dask ({dask[-1]} local workers)", kind),
                  cli(MONTH, data, *dask), prepare)  # fmt: skip


def prefect_server(bench: Bench) -> subprocess.Popen:
    """A running Prefect server (as in production) for the cold-CLI tiny month."""
    # its scheduler looks for new deployments every 5 s (Prefect's default: 60 s), so that
    # the tiny_serve row need not wait long for it (bench/contenders.py TINY_SERVE)
    # Its log (bench/data/N-runs/prefect-server.log) keeps every request it refused for a
    # locked database, with the statement: what a tiny_serve sample's retries waited for.
    env = dict(bench.env, PREFECT_HOME=str(bench.work / "server-home"),
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
               PREFECT_API_LOG_RETRYABLE_ERRORS="true")  # fmt: skip
    with open(bench.work / "prefect-server.log", "w") as log:  # the server keeps its copy
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
             "--port", str(SERVER_PORT)],
            env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{SERVER_PORT}/api/health", timeout=2)
            return server
        except OSError:
            time.sleep(1)
    server.kill()
    raise SystemExit("bench: the Prefect server did not start in 180 s")


def measure_tiny(bench: Bench) -> None:
    """The fixed cost: a tiny month (five bill lines) from a cold CLI, against the
    ephemeral API and against a running server, and inside a warm `creditflow serve`."""
    tiny = cli(TINY_MONTH, TINY_DATA)
    bench.row("tiny_ephemeral", "tiny month, cold CLI, ephemeral Prefect API", tiny,
              bench.fresh("tiny_ephemeral", None))  # fmt: skip
    server = prefect_server(bench)
    try:
        served = dict(bench.env, PREFECT_API_URL=f"http://127.0.0.1:{SERVER_PORT}/api")
        bench.row("tiny_server", "tiny month, cold CLI, running Prefect server", tiny,
                  bench.fresh("tiny_server", None), served)  # fmt: skip
        bench.row(
            "tiny_serve",
            "tiny month inside a warm creditflow serve, running server",
            lambda out: [PYTHON, "-c", TINY_SERVE, CREDITFLOW, str(TINY_DATA), str(out),
                         served["PREFECT_API_URL"], TINY_MONTH, TINY_NEXT],
            bench.fresh("tiny_serve", None),
            served,
        )  # fmt: skip
    finally:
        os.killpg(server.pid, 15)
        server.wait()


def floor_memory_limit(data: Path, work: Path, env: dict) -> tuple[str, list[str]]:
    """creditflow's own memory_limit for the floor, or the least of 3, 4 and 6 GB it
    finishes in. At 100M lines the floor (its running sum over 20M referee-days) ran out
    of memory in 2, 3 and 4 GB, spill directory or not (DuckDB 2.0.1), and finished in
    6 GB. A floor given more memory is faster, so this never flatters creditflow; the
    row's name says which limit it had. One untimed run per limit tried; returns the limit
    and the limits that ran out."""
    ran_out = []
    for limit in (MEMORY_LIMIT, "3GB", "4GB", "6GB"):
        script = [str(BENCH / "floor.sql"), CUTOFF, limit]
        command = [PYTHON, "-c", FLOOR, str(data), str(work / "floor-trial.parquet"), *script]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
        if done.returncode == 0:
            return limit, ran_out
        if "Out of Memory" not in done.stderr:
            raise SystemExit(f"failed: the floor\n{done.stderr[-3000:]}")
        say(f"the floor ran out of memory with memory_limit {limit}")
        ran_out.append(limit)
    raise SystemExit("bench: the floor does not finish in 6 GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, required=True, help="total bill lines, each shape")
    parser.add_argument("--samples", type=int, default=3, help="samples per row (min, median)")
    parser.add_argument("--dask-workers", type=int, default=2, help="local Dask workers")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    parser.add_argument("--recheck", action="store_true",
                        help="only the rows of targets 3-7, printed with their verdicts")  # fmt: skip
    args = parser.parse_args()
    work = BENCH / "data" / f"{args.lines:_}-{'recheck' if args.recheck else 'runs'}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bench = Bench(args, work)
    today = data_for("today", args.lines)
    program = None if args.recheck else data_for("program", args.lines)
    # create and migrate the Prefect home once (a scheduled deployment keeps its home)
    untimed([PYTHON, "-c", PREFECT_WARM_UP], bench.env)
    limit, ran_out = floor_memory_limit(today, work, bench.env)
    floor = [str(BENCH / "floor.sql"), CUTOFF, limit]
    given = f" (memory_limit {limit}: {', '.join(ran_out)} ran out)" if ran_out else ""
    floors = [
        Spec("floor", f"floor: one DuckDB query{given}",
             lambda out: [PYTHON, "-c", FLOOR, str(today), str(work / "floor.parquet"), *floor],
             lambda sample: None),
        Spec("floor_audits", f"floor plus creditflow's input audits{given}",
             lambda out: [PYTHON, "-c", FLOOR_PLUS_AUDITS, str(today), str(work / "floor2.parquet"),
                          *floor, MONTH, str(out)],
             bench.fresh("floor_audits", today)),
    ]  # fmt: skip
    if args.recheck:
        cli_full = Spec("cli_full", row_name(CLI_RUNNER, "full"),
                        cli(MONTH, today), bench.fresh("cli_full", today))  # fmt: skip
        bench.interleaved([*floors, cli_full])
        measure_tiny(bench)
        verdicts = targets.text(args.lines, targets.judge(args.lines, bench.rows))
        print("\n".join([*bench_report.table(bench.rows), "", *verdicts]))
        return
    dask = None if args.no_dask else ["--executor", "dask", "--workers", str(args.dask_workers)]
    measure_shape(bench, "today", today, dask, floors)
    measure_shape(bench, "program", program, None, [])
    measure_tiny(bench)
    checks = {
        "floor_mismatches": bench_report.floor_mismatches(work, bench.samples - 1),
        "dask_identical": None if dask is None else bench_report.same_batches(
            work, [("cli_full", "dask_full"), ("cli_normal", "dask_normal")], bench.samples - 1
        ),
    }  # fmt: skip
    verdicts = targets.judge(args.lines, bench.rows)
    print(bench_report.write(args.lines, bench.rows, verdicts, checks, CYCLES, MONTH))


if __name__ == "__main__":
    main()
