"""The creditflow command line: what schedulers and operators call.

Exit codes: 0 success, 2 usage error, 3 invalid or missing input, 4 state conflict
(gap, changed published month, concurrent run), 5 an output invariant failed, 6 the
orchestrator (Prefect) is unavailable, 7 internal error (traceback in OUT/logs/).
"""

import argparse
import gc
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from flows.schedule import EXPORT_GIVE_UP_AFTER_HOURS, EXPORT_RETRY_EVERY_HOURS
from transforms import months
from transforms.errors import (
    CreditflowError,
    InternalError,
    OrchestratorUnavailable,
    StageFailed,
    UsageError,
)
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.summary import progress


def _environment_defaults() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # the ephemeral API takes 6-11 s to start on an idle 2-core machine, and Prefect's 20 s
    # default is exceeded when several runs start at once (docs/operations.md)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


# how often, and after how long, a run whose orchestrator did not answer is started again
ORCHESTRATOR_RETRY_DELAYS_S = (5, 20)
# where a run writes the traceback of an internal error (set once --out is known)
_out_dir: Path | None = None
# whom a failed run alerts: (url, command, months asked for), set once the arguments parse
_alert_to: tuple[str, str, str] | None = None


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
    parser = _Parser(prog="creditflow", description=__doc__.splitlines()[0])
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
    export.add_argument("--out", required=True, type=Path, help="the OUT directory to read")
    export.add_argument(
        "--month", required=True, type=_month, help=f"a settled month: {month_help}"
    )
    export.add_argument(
        "--format",
        choices=("xlsx", "csv"),
        default="xlsx",
        help="one workbook (xlsx, default) or a folder of CSV files",
    )
    export.add_argument(
        "--to", required=True, type=Path, help="the workbook (xlsx) or the folder (csv) to write"
    )
    recover = commands.add_parser(
        "recover",
        help="rebuild a lost or damaged warehouse from the published months' inputs, and "
        "replace it only if every published file is reproduced byte for byte",
    )
    data_and_out(recover)
    recover.add_argument("--config", type=Path, help="rules TOML (default: config/rules.toml)")
    explain = commands.add_parser(
        "explain",
        help="one referrer's coupon of a settled month, friend by friend, down to the bill "
        "lines (read from OUT/catalog.duckdb and the month's recorded data directory)",
    )
    explain.add_argument("--out", required=True, type=Path, help="the OUT directory to read")
    explain.add_argument(
        "--month", required=True, type=_month, help=f"a settled month: {month_help}"
    )
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
        "scheduled and triggered runs; needs a Prefect server (PREFECT_API_URL)",
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


def _quiet_prefect(verbose: bool) -> None:
    """Prefect's own lines stay out of the operator's terminal, where the CLI says what
    matters in one line; the engine's warnings and errors still reach the run's log in
    Prefect (without tracebacks: flows/run_record.py). --verbose shows everything."""
    if verbose:
        return
    logging.getLogger("prefect").setLevel(logging.CRITICAL)
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        engine = logging.getLogger(name)
        engine.setLevel(logging.WARNING)
        engine.propagate = False  # to the API handler only, not the terminal


def _server_log(args) -> Path | None:
    """Where the ephemeral Prefect server's own output goes: OUT/logs/, or the terminal
    with --verbose."""
    return None if args.verbose else OutputLayout(args.out).logs_dir / "prefect-server.log"


def run(argv: list[str]) -> int:
    global _out_dir, _alert_to
    _out_dir = _alert_to = None  # nothing of an earlier call in this process (tests) applies
    _environment_defaults()
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    _remember_alert(args)
    if args.command == "export":
        return _export(args)
    if args.command == "explain":
        return _explain(args)
    if args.command == "init":
        return _init(args)
    if args.command == "backfill" and args.first > args.last:
        raise UsageError(f"usage: --from {args.first} is after --to {args.last}")
    options = _options(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "recover":
        return _recover(args, options)
    if args.command == "instruments":
        return _run_instruments(args, options, started)
    _check_out_dir(args.out)
    from flows import dask_cluster, settlement  # imported late: Prefect is slow to import
    from transforms.coupon_codes import key_for_run
    from transforms.summary import DEVELOPMENT_KEY_WARNING, format_run

    _quiet_prefect(args.verbose)
    key = key_for_run()
    if key.is_development:
        progress(DEVELOPMENT_KEY_WARNING, logging.WARNING)
    with dask_cluster.executor_options(args, options) as options:
        if args.command == "settle":
            outcomes = [
                _orchestrated(settlement.settle, args.month, options, server_log=_server_log(args))
            ]
        else:
            outcomes = _orchestrated(
                settlement.backfill, args.first, args.last, options, server_log=_server_log(args)
            )
    print(format_run(outcomes, time.perf_counter() - started, key.kind))
    _point_to_catalog(args.out)
    return 0


def _export(args) -> int:
    """Read-only: never waits for a run, never makes one wait."""
    from transforms.pipeline import export

    sheets = export.month_sheets(args.out, args.month)
    target = args.to
    if args.format == "xlsx":
        target.parent.mkdir(parents=True, exist_ok=True)
        export.write_xlsx(sheets, target)
    else:
        export.write_csv(sheets, target)
    counts = ", ".join(f"{sheet.name} {len(sheet.rows)}" for sheet in sheets)
    print(f"{args.month}: exported ({counts} rows) -> {target}")
    return 0


def _init(args) -> int:
    """Start a ledger on purpose: its first month and the data directory it settles from."""
    _check_out_dir(args.out)
    from transforms.pipeline import ledger_start

    done = ledger_start.start(OutputLayout(args.out), args.data, args.first_month, "init")
    print(
        f"{args.out}: ledger {done} at {args.first_month}, settled from {args.data.resolve()}; "
        f"next: creditflow settle --month {args.first_month} --data {args.data} --out {args.out}"
    )
    return 0


def _recover(args, options: RunOptions) -> int:
    """Not through Prefect: a repair runs the stages directly, month by month."""
    _check_out_dir(args.out)
    from transforms.coupon_codes import key_for_run
    from transforms.pipeline import recovery

    key_for_run()  # the key the months were published with: coupons.csv must match
    done = recovery.recover(options)
    aside = f"; the replaced file is kept as {done.kept_aside}" if done.kept_aside else ""
    print(
        f"recovered {args.out / 'warehouse.duckdb'}: {len(done.settlement_months)} settlement "
        f"month(s) ({done.settlement_months[0]}..{done.settlement_months[-1]}) and "
        f"{len(done.instrument_months)} instrument month(s) reproduced byte for byte{aside}"
    )
    return 0


def _explain(args) -> int:
    """Read-only like export; the bill lines are re-read into a scratch directory."""
    import json

    from transforms.pipeline import explain

    (found,) = explain.explain_month(args.out, args.month, [args.referrer], args.data)
    if args.format == "json":
        print(json.dumps(explain.as_json(found), indent=2))
    else:
        print(explain.format_text(found))
    return 0


def _serve(args) -> int:
    """Register the deployment and run its flow runs until stopped (Ctrl-C or SIGTERM
    pauses the schedule, Prefect's default; the next `serve` resumes it)."""
    from prefect.settings import get_current_settings

    api_url = get_current_settings().api.url
    if not api_url:
        raise UsageError(
            "usage: creditflow serve needs a Prefect server: start one (prefect server start) "
            "and set PREFECT_API_URL (docs/operations.md#production-setup)"
        )
    if args.workers is not None and (args.dask_address is None or args.workers < 1):
        raise UsageError("usage: --workers needs --dask-address and 1 or more")
    if not 0 < args.export_retry_every_hours <= args.export_give_up_after_hours:
        raise UsageError(
            "usage: --export-retry-every-hours must be above 0 and at most "
            "--export-give-up-after-hours"
        )
    _check_out_dir(args.out)
    from prefect import serve
    from prefect.client.orchestration import get_client

    from flows.alerts import NOTIFY_URL_VARIABLE, notify_url
    from flows.monthly_close import deployment
    from flows.prefect_home import is_orchestrator_failure

    with get_client(sync_client=True) as client:
        unhealthy = client.api_healthcheck()
    if unhealthy is not None:
        raise OrchestratorUnavailable(
            f"the Prefect server at {api_url} does not answer "
            f"({str(unhealthy).splitlines()[0][:200]}); start it (systemctl start "
            "prefect-server) and run creditflow serve again"
        )
    # the webhook reaches the runs through this process's environment (they are its child
    # processes); the deployment names the variable, so the URL is never a parameter
    webhook = notify_url(args.notify)
    if webhook:
        os.environ[NOTIFY_URL_VARIABLE] = webhook
    parameters = {
        "data_dir": str(args.data.resolve()),
        "out_dir": str(args.out.resolve()),
        "config": str(args.config.resolve()) if args.config else None,
        "eligible_products": (
            str(args.eligible_products.resolve()) if args.eligible_products else None
        ),
        "max_rejected": args.max_rejected,
        "notify_env": NOTIFY_URL_VARIABLE if webhook else None,
        "dask_address": args.dask_address,
        "dask_shards": args.workers,
        "export_retry_every_hours": args.export_retry_every_hours,
        "export_give_up_after_hours": args.export_give_up_after_hours,
    }
    try:
        serve(deployment({name: value for name, value in parameters.items() if value is not None}))
    except Exception as error:
        if not is_orchestrator_failure(error):
            raise
        raise OrchestratorUnavailable(
            f"the Prefect server at {api_url} stopped answering "
            f"({str(error).splitlines()[0][:200]}); run creditflow serve again once it is back"
        ) from None
    return 0


def _remember_alert(args) -> None:
    global _alert_to
    _alert_to = None
    from flows.alerts import notify_url

    url = notify_url(args.notify) if hasattr(args, "notify") else None
    if url:
        if getattr(args, "month", None):
            asked = args.month
        elif getattr(args, "first", None):
            asked = f"{args.first}..{args.last}"
        else:
            asked = "-"  # serve: no month of its own (its runs alert by month)
        _alert_to = (url, args.command, asked)


def _alert(exit_code: int, reason: str, month: str | None, where: str | None = None) -> None:
    """A failed run tells the --notify webhook; whatever happens there, the exit code stays."""
    if _alert_to is None:
        return
    from flows.alerts import alert_message, notify

    url, command, asked = _alert_to
    out = _out_dir if _out_dir is not None else "OUT"
    notify(url, alert_message(command, month or asked, exit_code, reason, out, where=where))


def _point_to_catalog(out: Path) -> None:
    """Where a person goes next: the catalog, the newest month's report, and how to explain
    its largest coupon (read from the catalog, which a run has just replaced)."""
    catalog = out / "catalog.duckdb"
    if not catalog.is_file():
        return
    print(f"analysts: duckdb -readonly {catalog} (any time, also during a run; docs/outputs.md)")
    from transforms.pipeline import catalog as analysts_catalog
    from transforms.pipeline import sql_runner

    with analysts_catalog.reader(OutputLayout(out)) as con:
        found = sql_runner.rows(con, sql_runner.sql_file("queries/newest_largest_coupon.sql"))
    if not found:
        return
    month, referrer = found[0]["settlement_month"], found[0]["referrer_account_id"]
    report = out / "reports" / month / "index.html"
    if report.is_file():
        print(f"month report: {report}")
    if referrer:
        print(
            f"explain a coupon: creditflow explain --out {out} --month {month} "
            f"--referrer {referrer}"
        )


def _check_out_dir(out: Path) -> None:
    """--out must be a directory this process can write (created when missing); checked
    once every other option is known to be valid, so a usage error creates nothing."""
    global _out_dir
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"usage: --out {out} is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"usage: --out {out} cannot be created: {error.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"usage: --out {out} is not writable")
    _out_dir = out


def _orchestrated(flow, *args, server_log: Path | None = None):
    """Call a flow; when Prefect itself does not answer, start it again after a pause.

    Safe by design: a month is published in one transaction and a rerun of a published
    month changes nothing, so a run cut short by the orchestrator can simply run again.
    The ephemeral server's own output goes to `server_log` (None: the terminal)."""
    from flows.orphan_guard import tie_ephemeral_server_to_this_process
    from flows.prefect_home import create_database_once, is_orchestrator_failure

    create_database_once()
    # a killed run leaves no server behind, and the server's output stays off the terminal
    tie_ephemeral_server_to_this_process(server_log)
    for delay_s in (*ORCHESTRATOR_RETRY_DELAYS_S, None):
        try:
            return flow(*args)
        except Exception as error:
            if not is_orchestrator_failure(error):
                raise
            reason = str(error).splitlines()[0][:200]
            if delay_s is None:
                raise OrchestratorUnavailable(
                    f"the orchestrator is unavailable (Prefect did not start or answer after "
                    f"{len(ORCHESTRATOR_RETRY_DELAYS_S) + 1} tries: {reason}); run the same "
                    "command again: what was published stays, nothing is half-published"
                ) from None
            progress(
                f"Prefect did not answer ({reason}); trying again in {delay_s} s", logging.WARNING
            )
            time.sleep(delay_s)
    raise AssertionError("unreachable")


def _internal_error(error: BaseException) -> tuple[int, str]:
    """An unexpected failure outside a stage: the traceback to a log file, one line out."""
    from transforms.pipeline.files import write_traceback

    logs = (
        OutputLayout(_out_dir).logs_dir
        if _out_dir
        else Path(tempfile.gettempdir()) / "creditflow-logs"
    )
    failure = InternalError.of(error, write_traceback(logs, error))
    print(f"creditflow: error: {failure}", file=sys.stderr)
    return failure.exit_code, str(failure)


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
        "accept_shrunk_inputs": getattr(args, "accept_shrunk_inputs", False),
        "data_moved": getattr(args, "data_moved", False),
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
    _check_out_dir(args.out)
    from flows import instruments
    from transforms.summary import format_instruments

    _quiet_prefect(args.verbose)
    if args.month:
        outcomes = [
            _orchestrated(
                instruments.run_instruments, args.month, options, server_log=_server_log(args)
            )
        ]
    else:
        outcomes = _orchestrated(
            instruments.instruments_range,
            args.first,
            args.last,
            options,
            server_log=_server_log(args),
        )
    print(format_instruments(outcomes, time.perf_counter() - started))
    _point_to_catalog(args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except (CreditflowError, StageFailed) as raised:
        error = raised.error if isinstance(raised, StageFailed) else raised
        print(f"creditflow: error: {error}", file=sys.stderr)
        code = error.exit_code
        _alert(code, str(error), getattr(raised, "month", None), getattr(error, "where", None))
        _drop_frames(raised)
        del raised, error
    except Exception as error:  # a defect: never a traceback on the terminal
        code, reason = _internal_error(error)
        _drop_frames(error)
        del error
        _alert(code, reason, None)
    # the failure's frames hold DuckDB objects; freed here, not at interpreter teardown,
    # where DuckDB's bindings report every one of them as leaked
    gc.collect()
    sys.exit(code)


def _drop_frames(error: BaseException | None, depth: int = 0) -> None:
    """Detach a reported failure from the frames it passed through. Prefect keeps a failed
    run's exception (its result record) as long as the process lives, and a traceback holds
    every frame from the raise up to here and, through them, their callers' locals: DuckDB
    connections among them, which DuckDB's bindings then report as leaked at exit."""
    if error is None or depth > 10:
        return
    error.__traceback__ = None
    for linked in (error.__cause__, error.__context__, getattr(error, "error", None)):
        if isinstance(linked, BaseException):
            _drop_frames(linked, depth + 1)


if __name__ == "__main__":
    main()
