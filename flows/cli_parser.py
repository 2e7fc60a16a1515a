"""The creditflow command line's arguments: every command, its options and their help (the
CLI itself is flows/cli.py; what each command does, flows/cli_commands.py)."""

import argparse
from datetime import UTC, datetime
from pathlib import Path

from flows import cli_whatif
from flows.schedule import EXPORT_GIVE_UP_AFTER_HOURS, EXPORT_RETRY_EVERY_HOURS
from transforms import months
from transforms.errors import UsageError

DESCRIPTION = "The creditflow command line: what schedulers and operators call."


def _month(text: str) -> str:
    try:
        return months.resolve_month(text, datetime.now(UTC).date())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


class _Parser(argparse.ArgumentParser):
    """One line and exit 2 for any usage error; no silent abbreviation of an option (a
    mistyped --verbos is an error, not --verbose)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):  # one line, exit 2
        raise UsageError(f"usage: {message} (see '{self.prog} --help')")

    def parse_args(self, args=None, namespace=None):
        # an unknown option is found by the top-level parser: hint at the command's help
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            raise UsageError(
                f"usage: unrecognized arguments: {' '.join(extras)} (see '{prog} --help')"
            )
        return parsed


def version_line() -> str:
    """The package version, the digest of the SQL it runs (recorded with every published
    month) and a digest of its Python code: what a bug report needs."""
    from transforms.pipeline.sql_runner import code_version, files_digest

    root = Path(__file__).resolve().parents[1]
    python = files_digest(root, [*root.glob("flows/*.py"), *root.glob("transforms/**/*.py")])
    return f"creditflow {code_version()} (python code {python[:12]})"


class _Version(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="creditflow", description=DESCRIPTION)
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    month_help = "YYYY-MM, or 'previous' (the month before today, UTC)"

    def config_and_rejections(sub):
        sub.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
        sub.add_argument(
            "--max-rejected",
            type=int,
            default=0,
            metavar="N",
            help="accept up to N rejected input rows (kept in the quarantine, recorded with the month)",
        )

    def settled_month_of(sub):  # the read-only commands: a month of an OUT
        sub.add_argument("--out", required=True, type=Path, help="the OUT directory to read")
        sub.add_argument(
            "--month", required=True, type=_month, help=f"a settled month: {month_help}"
        )

    def data_and_out(sub):
        sub.add_argument("--data", required=True, type=Path, help="input data directory")
        sub.add_argument(
            "--out", required=True, type=Path, help="output directory (warehouse, batches)"
        )
        sub.add_argument(
            "--eligible-products", type=Path, help="eligible products CSV (default: shipped)"
        )
        sub.add_argument(
            "--data-moved",
            action="store_true",
            help="the ledger's data directory moved to --data: settle from it and record it "
            "(without this, another directory than the ledger's stops the run)",
        )

    def common(sub):
        data_and_out(sub)
        config_and_rejections(sub)
        sub.add_argument(
            "--dry-run", action="store_true", help="compute and write a preview; touch no ledger"
        )
        sub.add_argument(
            "--accept-shrunk-inputs",
            action="store_true",
            help="accept a referral or account snapshot that lost rows known to the previous "
            "month, or a billing cycle far smaller than the previous one (recorded with the month)",
        )
        sub.add_argument(
            "--full-recompute",
            action="store_true",
            help="scan every billing cycle instead of only new or changed ones",
        )
        sub.add_argument(
            "--executor",
            choices=("local", "dask"),
            default="local",
            help="where the per-referee work runs: this process (local), or shards on Dask "
            "workers (docs/performance.md#scale-out)",
        )
        sub.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="with --executor dask: N shards; without --dask-address, on a local cluster "
            "of N worker processes started for this command (default 2)",
        )
        sub.add_argument(
            "--dask-address",
            metavar="URL",
            help="with --executor dask: an existing Dask scheduler (tcp://host:8786); one "
            "shard per worker unless --workers says otherwise",
        )
        sub.add_argument("--verbose", action="store_true", help="show Prefect's own logs")
        notify(sub)

    def notify(sub):
        sub.add_argument(
            "--notify",
            metavar="URL",
            help="POST a JSON alert to this webhook when the run fails (default: the "
            "environment's CREDITFLOW_NOTIFY_URL; docs/operations.md#alerts)",
        )

    settle = commands.add_parser("settle", help="settle one month")
    settle.add_argument("--month", required=True, type=_month, help=f"the month: {month_help}")
    common(settle)
    instruments = commands.add_parser(
        "instruments", help="run the voucher and coupon ledger for a month or a range"
    )
    span = instruments.add_mutually_exclusive_group(required=True)
    span.add_argument("--month", type=_month, help=f"one month: {month_help}")
    span.add_argument("--from", dest="first", type=_month, help="the range's first month")
    instruments.add_argument("--to", dest="last", type=_month, help="the range's last month")
    instruments.add_argument("--data", required=True, type=Path, help="input data directory")
    instruments.add_argument("--out", required=True, type=Path, help="output directory")
    config_and_rejections(instruments)
    instruments.add_argument("--verbose", action="store_true", help="show Prefect's own logs")
    notify(instruments)
    backfill = commands.add_parser("backfill", help="settle a range of months in order")
    backfill.add_argument(
        "--from", dest="first", required=True, type=_month, help="the first month (YYYY-MM)"
    )
    backfill.add_argument(
        "--to", dest="last", required=True, type=_month, help=f"the last month: {month_help}"
    )
    common(backfill)
    init = commands.add_parser(
        "init",
        help="start a ledger on purpose at a month later than the data's first billing cycle "
        "(docs/operations.md#starting-a-ledger)",
    )
    init.add_argument("--out", required=True, type=Path, help="the new ledger's OUT directory")
    init.add_argument(
        "--data", required=True, type=Path, help="the data directory the ledger settles from"
    )
    init.add_argument(
        "--first-month",
        required=True,
        type=_month,
        help="the program's first month to settle (YYYY-MM); it pays everything earned to it",
    )
    export = commands.add_parser(
        "export",
        help="one settled month as a workbook or CSV files for finance, from OUT/catalog.duckdb "
        "(sheets Summary, Coupons without codes, Statements, Pending, Rejections, Liability)",
    )
    settled_month_of(export)
    export.add_argument(
        "--format",
        choices=("xlsx", "csv"),
        default="xlsx",
        help="one workbook (xlsx, default) or a folder of CSV files",
    )
    export.add_argument(
        "--to", required=True, type=Path, help="the workbook (xlsx) or the folder (csv) to write"
    )
    journal = commands.add_parser(
        "journal",
        help="one month's general-ledger entries, balanced debit and credit lines with the "
        "ledger rows behind each (accounts named in the rules file's journal.* keys)",
    )
    settled_month_of(journal)
    journal.add_argument(
        "--format", choices=("csv", "xlsx"), default="csv", help="CSV (default) or a workbook"
    )
    journal.add_argument(
        "--to",
        type=Path,
        help="the file to write (default for CSV: standard output; a workbook needs --to)",
    )
    journal.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
    statement = commands.add_parser(
        "statement",
        help="one referrer's history across months: every friend's entries, every coupon and "
        "a running balance that ends at the last month's carry out",
    )
    statement.add_argument("--out", required=True, type=Path, help="the OUT directory to read")
    statement.add_argument("--referrer", required=True, help="the referrer's account id")
    statement.add_argument("--from", dest="first", type=_month, help="default: the first settled")
    statement.add_argument("--to", dest="last", type=_month, help="default: the newest settled")
    statement.add_argument(
        "--format", choices=("text", "json", "xlsx"), default="text", help="default: text"
    )
    statement.add_argument("--file", type=Path, help="the workbook to write (--format xlsx)")
    cli_whatif.add_parser(commands, _month)
    recover = commands.add_parser(
        "recover",
        help="rebuild a lost or damaged warehouse from the published months' inputs, and "
        "replace it only if every published file is reproduced byte for byte",
    )
    data_and_out(recover)
    recover.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
    restore = commands.add_parser(
        "restore",
        help="a published file was changed: move the month's changed files to OUT/evidence/ "
        "(kept) and render them again from the ledger, digest-checked",
    )
    data_and_out(restore)
    restore.add_argument("--month", required=True, type=_month, help=f"the month: {month_help}")
    restore.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
    explain = commands.add_parser(
        "explain",
        help="one referrer's coupon of a settled month, friend by friend, down to the bill "
        "lines (read from OUT/catalog.duckdb and the month's recorded data directory)",
    )
    settled_month_of(explain)
    explain.add_argument("--referrer", required=True, help="the referrer's account id")
    explain.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (default) or json"
    )
    explain.add_argument(
        "--data",
        type=Path,
        help="the month's input data directory, when it moved since the month was settled",
    )
    serve = commands.add_parser(
        "serve",
        help="register the deployment creditflow-monthly (the 4th, 06:00 UTC) and run its "
        "scheduled and triggered runs one at a time in this process; needs a Prefect server "
        "(PREFECT_API_URL)",
    )
    data_and_out(serve)
    config_and_rejections(serve)
    serve.add_argument(
        "--dask-address",
        metavar="URL",
        help="settle on this Dask scheduler's workers (tcp://host:8786; docs/operations.md#dask)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --dask-address: N shards (default: one per worker)",
    )
    serve.add_argument(
        "--export-retry-every-hours",
        type=float,
        default=EXPORT_RETRY_EVERY_HOURS,
        metavar="H",
        help="a scheduled run that finds its billing export not yet delivered tries again "
        f"every H hours (default {EXPORT_RETRY_EVERY_HOURS:g})",
    )
    serve.add_argument(
        "--export-give-up-after-hours",
        type=float,
        default=EXPORT_GIVE_UP_AFTER_HOURS,
        metavar="H",
        help="... and gives up, alerting loudly, after H hours "
        f"(default {EXPORT_GIVE_UP_AFTER_HOURS:g})",
    )
    notify(serve)
    return parser
