"""How the benchmark measures one sample of one row: a command in a child process, timed
the same way for every contender (the floor query included) from fork to exit.

- wall: from just before the fork to the child's exit;
- CPU: user + system seconds of the child and every descendant it waited for (its Prefect
  server, its Dask workers; `os.wait4`), or, when larger, the sum of what every process
  of the tree was last seen to have used (a descendant nobody waited for);
- peak RSS of the whole tree: every 50 ms the resident memory of the child and all its
  descendants is summed (/proc); the peak of that sum. Pages shared between processes
  (forked workers) are counted once per process, so this errs on the high side;
- load: the 1-minute load average before the sample, and the highest seen during it,
  so that a figure taken on a busy machine says so;
- probe: how fast the machine is just before the sample (probe_s), since a machine can
  slow down while its load average stays the same.
"""

import json
import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")
POLL_S = 0.05
PROBE_SQL = (Path(__file__).resolve().parent / "probe.sql").read_text()


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    peak_tree_rss_mb: float
    load_before: float
    load_peak: float
    probe_s: float
    stdout: str
    stderr: str

    def inner(self) -> dict | None:
        """The last JSON line the command printed (its own figures), if any."""
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return None


@dataclass
class Row:
    """One contender's samples."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    def min_wall(self) -> float:
        return min(s.wall_s for s in self.samples)

    def min_cpu(self) -> float:
        return min(s.cpu_s for s in self.samples)

    def median_wall(self) -> float:
        return statistics.median(s.wall_s for s in self.samples)

    def median_cpu(self) -> float:
        return statistics.median(s.cpu_s for s in self.samples)

    def peak_mb(self) -> float:
        return max(s.peak_tree_rss_mb for s in self.samples)

    def load(self) -> tuple[float, float]:
        """The load before the first sample, and the highest seen during any."""
        return self.samples[0].load_before, max(s.load_peak for s in self.samples)

    def probe(self) -> tuple[float, float]:
        """The fastest and the slowest probe before the row's samples."""
        return min(s.probe_s for s in self.samples), max(s.probe_s for s in self.samples)

    def figures(self) -> dict:
        return {
            "wall_s": [s.wall_s for s in self.samples],
            "cpu_s": [s.cpu_s for s in self.samples],
            "peak_tree_rss_mb": self.peak_mb(),
            "load": list(self.load()),
            "probe_s": [s.probe_s for s in self.samples],
            "inner": [s.inner() for s in self.samples],
        }


def _tree(root: int) -> list[int]:
    """The root and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _rss_and_cpu(pid: int) -> tuple[int, float] | None:
    try:
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, ValueError):
        return None
    cpu_ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return resident_pages * PAGE_BYTES, cpu_ticks / TICKS_PER_S


def probe_s() -> float:
    """How fast the machine is right now: the best of three runs of bench/probe.sql in
    this process. In the 100M run of 2026-12-06 the floor took twice its usual time while
    the load average looked as usual; a probe before each sample shows such a machine."""
    import duckdb

    best = float("inf")
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        for _ in range(3):
            started = time.perf_counter()
            con.execute(PROBE_SQL).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def run(command: list[str], env: dict | None = None, cwd: Path | None = None) -> Sample:
    """One sample of `command`, which must succeed."""
    probe = probe_s()
    load_before = os.getloadavg()[0]
    peak = {"rss": 0, "load": load_before}
    cpu_seen: dict[int, float] = {}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or os.environ.copy(),
        cwd=cwd,
    )
    done = threading.Event()

    def sample_tree() -> None:
        while not done.wait(POLL_S):
            total = 0
            for pid in _tree(process.pid):
                seen = _rss_and_cpu(pid)
                if seen is not None:
                    total += seen[0]
                    cpu_seen[pid] = seen[1]
            peak["rss"] = max(peak["rss"], total)
            peak["load"] = max(peak["load"], os.getloadavg()[0])

    sampler = threading.Thread(target=sample_tree, daemon=True)
    sampler.start()
    # the pipes are drained while the child runs (a full pipe would stall it)
    outputs: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: outputs.__setitem__(n, s.read()), daemon=True)
        for n, s in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    for reader in readers:
        reader.join()
    if process.returncode != 0:
        raise SystemExit(
            f"failed ({process.returncode}): {' '.join(command)}\n{outputs['stderr'][-3000:]}"
        )
    waited_cpu_s = usage.ru_utime + usage.ru_stime
    return Sample(
        wall_s=wall_s,
        cpu_s=max(waited_cpu_s, sum(cpu_seen.values())),
        peak_tree_rss_mb=peak["rss"] / 2**20,
        load_before=load_before,
        load_peak=peak["load"],
        probe_s=probe,
        stdout=outputs["stdout"],
        stderr=outputs["stderr"],
    )
