"""The creditflow command line: what schedulers and operators call.

Exit codes: 0 success, 2 usage error, 3 invalid or missing input, 4 state conflict
(gap, changed published month, concurrent run), 5 an output invariant failed.
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from transforms import months
from transforms.errors import CreditflowError, StageFailed, UsageError
from transforms.pipeline.options import RunOptions
from transforms.summary import progress


def _environment_defaults() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def _month(text: str) -> str:
    try:
        return months.parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        raise UsageError(f"usage: {message} (see 'creditflow {self.prog.split()[-1]} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="creditflow", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def config_and_rejections(sub):
        sub.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
        sub.add_argument(
            "--max-rejected",
            type=int,
            default=0,
            metavar="N",
            help="accept up to N rejected input rows (kept in the quarantine, recorded with the month)",
        )

    def common(sub):
        sub.add_argument("--data", required=True, type=Path, help="input data directory")
        sub.add_argument(
            "--out", required=True, type=Path, help="output directory (warehouse, batches)"
        )
        sub.add_argument(
            "--eligible-products", type=Path, help="eligible products CSV (default: shipped)"
        )
        config_and_rejections(sub)
        sub.add_argument(
            "--dry-run", action="store_true", help="compute and write a preview; touch no ledger"
        )
        sub.add_argument(
            "--full-recompute",
            action="store_true",
            help="scan every billing cycle instead of only new or changed ones",
        )
        sub.add_argument("--verbose", action="store_true", help="show Prefect's own logs")

    settle = commands.add_parser("settle", help="settle one month")
    settle.add_argument("--month", required=True, type=_month)
    common(settle)
    instruments = commands.add_parser(
        "instruments", help="run the voucher and coupon ledger for a month or a range"
    )
    span = instruments.add_mutually_exclusive_group(required=True)
    span.add_argument("--month", type=_month)
    span.add_argument("--from", dest="first", type=_month)
    instruments.add_argument("--to", dest="last", type=_month)
    instruments.add_argument("--data", required=True, type=Path, help="input data directory")
    instruments.add_argument("--out", required=True, type=Path, help="output directory")
    config_and_rejections(instruments)
    instruments.add_argument("--verbose", action="store_true", help="show Prefect's own logs")
    backfill = commands.add_parser("backfill", help="settle a range of months in order")
    backfill.add_argument("--from", dest="first", required=True, type=_month)
    backfill.add_argument("--to", dest="last", required=True, type=_month)
    common(backfill)
    return parser


def _quiet_prefect(verbose: bool) -> None:
    if not verbose:
        # the engine logs every failure with a traceback; the CLI reports it in one line
        for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def run(argv: list[str]) -> int:
    _environment_defaults()
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    if args.command == "backfill" and args.first > args.last:
        raise UsageError(f"usage: --from {args.first} is after --to {args.last}")
    options = _options(args)
    if args.command == "instruments":
        return _run_instruments(args, options, started)
    from flows import settlement  # imported late: Prefect is slow to import
    from transforms.coupon_codes import key_from_environment
    from transforms.summary import DEVELOPMENT_KEY_WARNING, format_run

    _quiet_prefect(args.verbose)
    try:
        key = key_from_environment()
    except ValueError as error:
        raise UsageError(str(error)) from error
    if key.is_development:
        progress(DEVELOPMENT_KEY_WARNING)
    if args.command == "settle":
        outcomes = [settlement.monthly_settlement(args.month, options)]
    else:
        outcomes = settlement.backfill(args.first, args.last, options)
    print(format_run(outcomes, time.perf_counter() - started, key.kind))
    return 0


def _options(args) -> RunOptions:
    """The one options object a run carries from here through the flow to the stages."""
    given = {
        "data_dir": args.data,
        "out_dir": args.out,
        "eligible_products": getattr(args, "eligible_products", None),
        "config": getattr(args, "config", None),
        "dry_run": getattr(args, "dry_run", False),
        "max_rejected": getattr(args, "max_rejected", 0),
        "incremental": not getattr(args, "full_recompute", False),
    }
    try:
        return RunOptions(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]).replace("_", "-")
        raise UsageError(f"usage: --{field}: {problem['msg']}") from None


def _run_instruments(args, options: RunOptions, started: float) -> int:
    if args.first and not args.last:
        raise UsageError("usage: --from needs --to")
    if args.first and args.first > args.last:
        raise UsageError(f"usage: --from {args.first} is after --to {args.last}")
    from flows import instruments
    from transforms.summary import format_instruments

    _quiet_prefect(args.verbose)
    if args.month:
        outcomes = [instruments.monthly_instruments(args.month, options)]
    else:
        outcomes = instruments.instruments_range(args.first, args.last, options)
    print(format_instruments(outcomes, time.perf_counter() - started))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except (CreditflowError, StageFailed) as raised:
        error = raised.error if isinstance(raised, StageFailed) else raised
        print(f"creditflow: error: {error}", file=sys.stderr)
        code = error.exit_code
    sys.exit(code)


if __name__ == "__main__":
    main()
