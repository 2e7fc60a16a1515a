"""The benchmark's results page (bench/results/<lines>.md and .json): the rows' table
(min and median of the samples), the stages, the targets of issue #30 (bench/targets.py),
the equality checks and growth across sizes. bench/run.py measures; this module writes
what it measured, and reads what the Dask runs said about their shards."""

import json
import os
import platform
import re
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent


FORMAT = 2  # the results' JSON since issue 30 (samples, CPU, tree RSS, load)


def table(rows: dict) -> list[str]:
    """The rows' figures as a Markdown table (the page's, and what --recheck prints)."""
    lines = [
        "| row | wall s min | wall s median | CPU s min | CPU s median | peak tree RSS MB "
        "| load before / peak | probe s min / max |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows.values():
        before, peak = row.load()
        fastest, slowest = row.probe()
        lines.append(
            f"| {row.name} | {row.min_wall():.2f} | {row.median_wall():.2f} | {row.min_cpu():.2f} | "
            f"{row.median_cpu():.2f} | {row.peak_mb():.0f} | {before:.2f} / {peak:.2f} | "
            f"{fastest:.2f} / {slowest:.2f} |"
        )
    return lines


def write(lines_total: int, rows: dict, verdicts: list, checks: dict, cycles: dict, month: str):
    """Write bench/results/<lines>.md and .json; return the page's text."""
    label = f"{lines_total:_}"
    samples = len(next(iter(rows.values())).samples)
    page = [
        f"# Benchmark: {lines_total:,} bill lines per data shape",
        "",
        f"Machine: {machine()}. Settling {month}; page cache warmed first. Shapes: today "
        f"({cycles['today']} cycles), program ({cycles['program']} cycles; bench/generate.py).",
        f"Command: `.venv/bin/python bench/run.py --lines {lines_total} --samples {samples}`",
        "",
        f"Each row: {samples} samples, each a process measured from fork to exit (wall; CPU "
        "of the process tree; peak RSS summed over the tree; bench/measure.py). The rows of "
        "a shape take turns, sample by sample (the floors, then the stages and the CLI), so "
        "that a slowdown of the machine falls on all the rows a target compares. The probe is "
        "a fixed DuckDB query timed just before each sample (bench/probe.sql; "
        "about 0.35 s on an idle machine): a larger figure is a slower machine.",
        "",
        *table(rows),
    ]
    for key, row in rows.items():
        inner = row.samples[-1].inner()
        if key.endswith(("stages_full", "stages_normal")) and inner:
            timings = ", ".join(f"{k} {v:.2f}" for k, v in inner.items())
            page += ["", f"{row.name}, its stages (s, last sample): {timings}"]
    page += ["", *targets_text(lines_total, verdicts), ""]
    page.append(
        f"Floor against creditflow's entitlement of every 'ok' referee: "
        f"{checks['floor_mismatches']} mismatches. Dask batch files byte-identical to the "
        f"local CLI's: {checks['dask_identical']}."
    )
    figures = {
        "format": FORMAT,
        "lines": lines_total,
        "machine": machine(),
        "rows": {key: {"name": row.name, **row.figures()} for key, row in rows.items()},
        "targets": [vars(v) for v in verdicts],
        "checks": checks,
    }
    (BENCH / "results" / f"{label}.json").write_text(json.dumps(figures, indent=1) + "\n")
    page += growth_table()
    text = "\n".join(page) + "\n"
    (BENCH / "results" / f"{label}.md").write_text(text)
    return text


def targets_text(lines: int, verdicts: list) -> list[str]:
    import targets

    return targets.text(lines, verdicts)


def floor_mismatches(work: Path, sample: int) -> int:
    """Referees whose entitlement in the floor's answer differs from creditflow's (every
    'ok' referee of the full recompute through the stages)."""
    con = duckdb.connect()
    con.execute(f"attach '{work / f'stages_full-{sample}' / 'warehouse.duckdb'}' as w (read_only)")
    return con.execute(
        f"""select count(*) from w.referee_status c
            left join read_parquet('{work / "floor.parquet"}') f using (referee_account_id)
            where c.reason_code = 'ok' and coalesce(f.entitlement_usd, 0) <> c.entitlement_usd"""
    ).fetchone()[0]


def same_batches(work: Path, pairs: list, sample: int) -> bool:
    """Every batch file of 2026-01 byte-identical between each pair of rows' OUTs."""
    for left, right in pairs:
        folder = Path("batches") / "2026-01"
        one, other = work / f"{left}-{sample}" / folder, work / f"{right}-{sample}" / folder
        names = sorted(p.name for p in one.iterdir())
        if names != sorted(p.name for p in other.iterdir()):
            return False
        if any((one / n).read_bytes() != (other / n).read_bytes() for n in names):
            return False
    return True


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


def growth_table() -> list[str]:
    """Median seconds per million lines at every size benchmarked on this machine so far
    (bench/results/*.json of this format)."""
    runs = sorted(
        (
            r
            for p in (BENCH / "results").glob("*.json")
            if (r := json.loads(p.read_text())).get("format") == FORMAT
        ),
        key=lambda r: r["lines"],
    )
    keys = ("floor", "floor_audits", "stages_full", "cli_full", "cli_normal", "program_cli_normal")
    table = [
        "",
        "Growth (every size in bench/results/*.json; median wall seconds per million lines):",
        "",
        "| lines | " + " | ".join(keys) + " | peak tree RSS MB |",
        "|---:|" + "---:|" * (len(keys) + 1),
    ]
    for r in runs:
        million = r["lines"] / 1_000_000
        cells = []
        for key in keys:
            walls = sorted(r["rows"].get(key, {}).get("wall_s", [])) or [float("nan")]
            cells.append(f"{walls[len(walls) // 2] / million:.2f}")
        peak = max(v["peak_tree_rss_mb"] for k, v in r["rows"].items() if not k.startswith("floor"))
        table.append(f"| {r['lines']:,} | " + " | ".join(cells) + f" | {peak:.0f} |")
    return table


def projection(lines: int, wall_s: float, fixed_s: float, figures: dict, workers: int) -> float:
    """Projected wall seconds of a month of 1B lines on `workers` Dask workers, from
    this run's figures: the fixed overhead (the tiny month) stays; what else runs on the
    coordinator grows with the lines and does not shrink with workers; the layout and the
    shards' work grow with the lines and divide over the workers. Each worker is assumed
    to be worth one of this run's local workers (which shared this machine's cores)."""
    scale = 1_000_000_000 / lines
    local = len(figures["per_shard_s"])
    sharded = figures["layout_s"] + figures["shard_step_s"]
    coordinator = max(wall_s - sharded - fixed_s, 0.0)
    return fixed_s + coordinator * scale + sharded * scale * local / workers
