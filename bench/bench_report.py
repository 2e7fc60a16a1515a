"""The benchmark's results page (bench/results/<lines>.md and .json): the contenders' table,
the stages, the ratios and targets of issues #3 and #16, growth across sizes and the
equality check. bench/run.py measures; this module only writes what it measured."""

import json
import os
import platform
import re
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent


def write(
    lines_total: int,
    referees: int,
    rows: list,
    stages_report: dict,
    incremental_report: dict,
    dask: dict,
    mismatches: dict,
    compared: int,
    setting: tuple[int, str, str],
) -> str:
    """Write bench/results/<lines>.md and .json; return the page's text. `setting`: the
    billing cycles generated, the month settled and its cutoff."""
    cycles, month, cutoff = setting
    label = f"{lines_total:_}"
    lines = [
        f"# Benchmark: {lines_total:,} bill lines, {cycles} billing cycles, {referees:,} referees",
        "",
        f"Machine: {machine()}. Settling {month} (cutoff {cutoff}); page cache warmed first.",
        f"Command: `.venv/bin/python bench/run.py --lines {lines_total}`",
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
    lines += _scale_targets(lines_total, wall, stages_report, incremental_report, rows, dask)
    figures = {
        "lines": lines_total,
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
    return text


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
