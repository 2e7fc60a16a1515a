"""Two checkouts of creditflow, back to back: the same CLI month run alternately from each,
measured like a harness row (bench/measure.py), SAMPLES times each. For a change whose
effect is smaller than the spread between two harness runs on this machine.

    python bench/ab.py OLD_CHECKOUT NEW_CHECKOUT --data DATA --month 2026-01 [--base OUT] \
        [--stages]

Each checkout runs from its own source tree (`python -c "import flows.cli ..."` with the
checkout as the working directory), with this interpreter's packages. Without --base the
month is a full recompute on a fresh OUT (`creditflow init`, not timed); with --base each
sample settles the month on a fresh copy of that OUT (not timed). No PREFECT_API_URL: the
run starts its own Prefect API, as an operator's CLI run does. With --stages each sample
runs the harness's stages row instead (the settlement pipeline without Prefect,
bench/contenders.py STAGES).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import measure  # bench/, the script's own folder
from contenders import STAGES

CLI = [sys.executable, "-c", "import flows.cli as cli; cli.entry()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--base", type=Path, help="an OUT whose previous month is settled")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="the stages, not the CLI")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="creditflow-ab-"))
    env = dict(
        os.environ,
        PREFECT_HOME=str(scratch / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        GX_ANALYTICS_ENABLED="false",
    )
    env.pop("PREFECT_API_URL", None)
    data = args.data.resolve()
    for sample in range(args.samples):
        for tag, checkout in (("old", args.old.resolve()), ("new", args.new.resolve())):
            out = scratch / "out"
            shutil.rmtree(out, ignore_errors=True)
            if args.base:
                shutil.copytree(args.base, out, symlinks=True)
            else:
                init = [*CLI, "init", "--out", str(out), "--data", str(data)]
                subprocess.run(
                    [*init, "--first-month", args.month],
                    env=env,
                    cwd=checkout,
                    check=True,
                    capture_output=True,
                )
            settle = (
                [sys.executable, "-c", STAGES, args.month, str(data), str(out)]
                if args.stages
                else [*CLI, "settle", "--month", args.month, "--data", str(data), "--out", str(out)]
            )
            taken = measure.run(settle, env, checkout)
            print(
                f"{tag} sample {sample}: wall {taken.wall_s:.2f} s, CPU {taken.cpu_s:.2f} s, "
                f"peak tree RSS {taken.peak_tree_rss_mb:.0f} MB, load {taken.load_before:.2f}",
                flush=True,
            )
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
