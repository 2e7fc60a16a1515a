"""`creditflow whatif`: its arguments and what it does (transforms/pipeline/whatif.py
replays and compares; transforms/whatif_report.py renders). Kept apart from the monthly
commands: it never touches the published ledger and never imports Prefect."""

import json
from pathlib import Path

from transforms.errors import UsageError


def add_parser(commands, month) -> None:
    whatif = commands.add_parser(
        "whatif",
        help="replay the published months under other rules into OUT/whatif/NAME/ (amounts "
        "only, the published ledger untouched) and compare what they would have cost",
    )
    whatif.add_argument("--out", required=True, type=Path, help="the OUT directory to read")
    whatif.add_argument(
        "--from", dest="first", required=True, type=month, help="first month compared"
    )
    whatif.add_argument("--to", dest="last", required=True, type=month, help="last month compared")
    whatif.add_argument("--config", type=Path, help="the alternative rules TOML")
    whatif.add_argument(
        "--eligible-products", type=Path, help="the alternative eligible products CSV"
    )
    whatif.add_argument("--name", default="whatif", help="the sandbox's name (default: whatif)")
    whatif.add_argument(
        "--data", type=Path, help="default: the data directory the months were settled from"
    )
    whatif.add_argument(
        "--format", choices=("text", "json"), default="text", help="what is printed (default: text)"
    )
    whatif.add_argument(
        "--executor", choices=("local", "dask"), default="local", help="as for settle"
    )
    whatif.add_argument("--workers", type=int, metavar="N", help="as for settle")
    whatif.add_argument("--dask-address", metavar="URL", help="as for settle")


def run(args) -> int:
    from flows import dask_cluster
    from transforms import whatif_report
    from transforms.pipeline import export
    from transforms.pipeline.files import atomic_write
    from transforms.pipeline.layout import OutputLayout
    from transforms.pipeline.options import RunOptions
    from transforms.pipeline.whatif import whatif

    if not args.name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"usage: --name {args.name!r}: letters, digits, - and _ only")
    probe = RunOptions(data_dir=args.out, out_dir=args.out)
    with dask_cluster.executor_options(args, probe) as options:
        executor = {k: getattr(options, k) for k in ("executor", "dask_address", "shards")}
        found = whatif(
            args.out,
            args.first,
            args.last,
            args.name,
            args.config,
            args.eligible_products,
            args.data,
            executor,
        )
    sandbox = OutputLayout(args.out).whatif_dir(args.name)
    atomic_write(sandbox / "comparison.html", whatif_report.render_html(found).encode(), mode=0o644)
    atomic_write(
        sandbox / "comparison.json",
        (json.dumps(whatif_report.as_json(found), indent=2) + "\n").encode(),
        mode=0o644,
    )
    export.write_xlsx(whatif_report.sheets(found), sandbox / "comparison.xlsx")
    if args.format == "json":
        print(json.dumps(whatif_report.as_json(found), indent=2))
    else:
        print(whatif_report.format_text(found))
        print(f"comparison: {sandbox / 'comparison.html'} (and .xlsx, .json)")
    return 0
