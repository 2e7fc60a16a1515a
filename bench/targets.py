"""The targets of issue #30, each judged from the rows of one benchmark run (bench/run.py)
as a ratio or a bound, met or not met, with the load the machine had while the rows ran.
Ratios use each row's median of its samples; the minimum is in the table beside it.

The targets are stated at 100M lines; a run at another size judges them at its own size
and says so (docs/performance.md explains every target not met)."""

import statistics
from dataclasses import dataclass

import bench_report

STATED_AT_LINES = 100_000_000
GiB = 1024


@dataclass(frozen=True)
class Verdict:
    target: str
    figures: str
    met: bool | None  # None: not measured in this run
    load: str


def _load(rows, *keys) -> str:
    before = [rows[k].load()[0] for k in keys if k in rows]
    peak = [rows[k].load()[1] for k in keys if k in rows]
    if not before:
        return "load: not measured"
    probes = [p for k in keys if k in rows for p in rows[k].probe()]
    return (
        f"load 1 min: {min(before):.2f} before, {max(peak):.2f} peak; "
        f"probe {min(probes):.2f}-{max(probes):.2f} s"
    )


def _ratio(rows, numerator: str, denominator: str) -> tuple[float, float]:
    """(wall, CPU) ratios of the medians."""
    top, bottom = rows[numerator], rows[denominator]
    return top.median_wall() / bottom.median_wall(), top.median_cpu() / bottom.median_cpu()


def _normal_month(rows, prefix: str, bound: float, shape: str) -> Verdict:
    keys = [f"{prefix}{w}_{k}" for w in ("stages", "cli") for k in ("normal", "full")]
    if not all(k in rows for k in keys):
        return Verdict(f"normal month <= {bound}x full recompute ({shape})", "", None, "")
    stages = _ratio(rows, f"{prefix}stages_normal", f"{prefix}stages_full")
    cli = _ratio(rows, f"{prefix}cli_normal", f"{prefix}cli_full")
    return Verdict(
        f"normal month <= {bound}x a full recompute, {shape} (stages and CLI)",
        f"stages {stages[0]:.2f} wall, {stages[1]:.2f} CPU; CLI {cli[0]:.2f} wall, "
        f"{cli[1]:.2f} CPU",
        max(stages[0], cli[0]) <= bound,
        _load(rows, *keys),
    )


def _against_floor(rows) -> list[Verdict]:
    verdicts = []
    for floor, bound in (("floor_audits", 1.5), ("floor", 2.5)):
        wall, cpu = _ratio(rows, "cli_full", floor)
        verdicts.append(
            Verdict(
                f"CLI full month <= {bound}x {rows[floor].name} (CPU and wall)",
                f"CLI {rows['cli_full'].median_wall():.1f} s wall / "
                f"{rows['cli_full'].median_cpu():.1f} CPU-s against "
                f"{rows[floor].median_wall():.1f} s / {rows[floor].median_cpu():.1f} CPU-s: "
                f"{wall:.2f} wall, {cpu:.2f} CPU",
                max(wall, cpu) <= bound,
                _load(rows, "cli_full", floor),
            )
        )
    return verdicts


def _tiny(rows) -> list[Verdict]:
    served = [s.inner() for s in rows["tiny_serve"].samples]
    serve_s = statistics.median(month["seconds"] for month in served)
    serve_cpu = statistics.median(month["cpu_s"] for month in served)
    waited = statistics.median(month["trigger_to_completed_s"] for month in served)
    cold_s = rows["tiny_server"].median_wall()
    # requests the server refused and the client sent again after a back-off (2 s the first
    # time): a wait with no CPU in the run time (bench/contenders.py TINY_SERVE)
    retried = [month.get("client_retries", 0) for month in served]
    retry_s = [month.get("retry_wait_s", 0.0) for month in served]
    # the back-off is Prefect's (its SQLite server refusing a task run: docs/performance.md,
    # "The 2 s wait in serve"); the samples without one show the month's own time
    clean = [month["seconds"] for month, count in zip(served, retried, strict=True) if not count]
    clean_s = (
        f"; the {len(clean)} sample(s) without a retry: median {statistics.median(clean):.2f} s"
        if clean and len(clean) < len(served)
        else ""
    )
    return [
        Verdict(
            "a tiny month <= 1 s inside the warm serve process",
            f"{serve_s:.2f} s run time (Running to Completed, settlement and instrument "
            f"ledger), {serve_cpu:.2f} CPU-s of serve; {waited:.2f} s from the trigger, "
            f"with serve polling every 1 s; requests retried per sample {retried} "
            f"({', '.join(f'{w:.1f}' for w in retry_s)} s of back-off){clean_s}",
            serve_s <= 1,
            _load(rows, "tiny_serve"),
        ),
        Verdict(
            "a tiny month <= 4 s from a cold CLI against a running Prefect server",
            f"{cold_s:.2f} s wall, {rows['tiny_server'].median_cpu():.2f} CPU-s (ephemeral "
            f"API instead: {rows['tiny_ephemeral'].median_wall():.2f} s)",
            cold_s <= 4,
            _load(rows, "tiny_server"),
        ),
    ]


def _memory(rows) -> Verdict:
    mine = {k: r for k, r in rows.items() if not k.startswith("floor")}
    key = max(mine, key=lambda k: mine[k].peak_mb())
    peak = mine[key].peak_mb()
    return Verdict(
        "peak RSS of the whole process tree < 3 GB",
        f"{peak:.0f} MB ({mine[key].name}); floor {rows['floor'].peak_mb():.0f} MB",
        peak < 3 * GiB,
        _load(rows, key),
    )


def _dask(lines: int, rows) -> Verdict:
    if "dask_normal" not in rows:
        return Verdict("Dask: 1B lines, normal month <= 120 s on 8 workers", "", None, "")
    fixed_s = rows["tiny_ephemeral"].median_wall()
    parts = []
    projected = None
    for kind in ("full", "normal"):
        row = rows[f"dask_{kind}"]
        wall_s = row.median_wall()
        figures = bench_report.shard_figures(row.samples[-1].stderr)
        sharded = figures["layout_s"] + figures["shard_step_s"]
        share = 1 - sharded / wall_s
        eight = bench_report.projection(lines, wall_s, fixed_s, figures, 8)
        parts.append(
            f"{kind}: coordinator {share:.0%} of {wall_s:.1f} s; 1B projected {eight:.0f} s on "
            f"8 workers, {bench_report.projection(lines, wall_s, fixed_s, figures, 32):.0f} s on 32"
        )
        if kind == "normal":
            projected = eight
    return Verdict(
        "Dask: 1B lines, normal month <= 120 s on 8 workers (coordinator < 25 % of wall)",
        "; ".join(parts),
        projected <= 120,
        _load(rows, "dask_full", "dask_normal"),
    )


def judge(lines: int, rows: dict) -> list[Verdict]:
    return [
        _normal_month(rows, "program_", 0.15, "years-old program shape"),
        _normal_month(rows, "", 0.4, "today's benchmark shape"),
        *_against_floor(rows),
        *_tiny(rows),
        _memory(rows),
        _dask(lines, rows),
    ]


def text(lines: int, verdicts: list[Verdict]) -> list[str]:
    where = (
        ""
        if lines == STATED_AT_LINES
        else f" (judged at {lines:,} lines; the targets are stated at 100,000,000)"
    )
    out = [f"Targets of issue #30{where}:", ""]
    for number, v in enumerate(verdicts, start=1):
        if v.met is None:  # its rows are not in this run (bench/run.py --recheck)
            out.append(f"{number}. {v.target}: not measured in this run")
            continue
        state = "met" if v.met else "NOT met"
        out.append(f"{number}. {v.target}: {v.figures}: **{state}** ({v.load})")
    return out
