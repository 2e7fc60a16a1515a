"""The creditflow command line: what schedulers and operators call.

Exit codes: 0 success, 2 usage error, 3 invalid or missing input, 4 state conflict
(gap, changed published month, concurrent run), 5 an output invariant failed, 6 the
orchestrator (Prefect) is unavailable, 7 internal error (traceback in OUT/logs/).
"""

import atexit
import contextlib
import gc
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from flows import cli_commands as commands
from flows import cli_parser, cli_whatif
from flows import cli_readers as readers
from flows.cli_commands import Invocation
from transforms.errors import (
    CreditflowError,
    InternalError,
    StageFailed,
    UsageError,
    environment_fault,
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


def run(argv: list[str], invocation: Invocation | None = None) -> int:
    invocation = invocation if invocation is not None else Invocation()
    _environment_defaults()
    started = time.perf_counter()
    args = cli_parser.build_parser().parse_args(argv)
    invocation.alert_to = _alert_target(args)
    if args.command == "export":
        return readers.export(args)
    if args.command == "explain":
        return readers.explain(args)
    if args.command == "journal":
        return readers.journal(args)
    if args.command == "statement":
        return readers.statement(args)
    if args.command == "whatif":
        return cli_whatif.run(args)
    if args.command == "init":
        return commands.init(args, invocation)
    if args.command == "backfill" and args.first > args.last:
        raise UsageError(f"usage: --from {args.first} is after --to {args.last}")
    options = _options(args)
    if args.command == "serve":
        return commands.serve(args, invocation)
    if args.command == "recover":
        return commands.recover(args, options, invocation)
    if args.command == "restore":
        return commands.restore(args, options, invocation)
    if args.command == "instruments":
        return commands.run_instruments(args, options, started, invocation)
    commands.check_out_dir(args.out, invocation)
    from flows import dask_cluster  # no Prefect in it

    dask_cluster.check_arguments(args)  # a usage error starts no API
    api = commands.start_prefect_api(args)  # its start overlaps the imports below
    commands.build_gx_early(args)
    from flows import settlement  # imported late: Prefect is slow to import
    from transforms.coupon_codes import key_for_run
    from transforms.summary import DEVELOPMENT_KEY_WARNING, format_run

    commands.quiet_prefect(args.verbose)
    key = key_for_run()
    if key.is_development:
        progress(DEVELOPMENT_KEY_WARNING, logging.WARNING)
    with dask_cluster.executor_options(args, options) as options:
        if args.command == "settle":
            outcomes = [commands.orchestrated(settlement.settle, args.month, options, api=api)]
        else:
            outcomes = commands.orchestrated(
                settlement.backfill, args.first, args.last, options, api=api
            )
    print(format_run(outcomes, time.perf_counter() - started, key.kind))
    commands.point_to_catalog(args.out)
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
        "accept_shrunk_inputs": getattr(args, "accept_shrunk_inputs", False),
        "data_moved": getattr(args, "data_moved", False),
    }
    try:
        return RunOptions(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]).replace("_", "-")
        raise UsageError(f"usage: --{field}: {problem['msg']}") from None


def _alert_target(args) -> tuple[str, str, str] | None:
    """Whom a failed run alerts: (the --notify webhook, the command, the months asked for)."""
    from flows.alerts import notify_url

    url = notify_url(args.notify) if hasattr(args, "notify") else None
    if url:
        if getattr(args, "month", None):
            asked = args.month
        elif getattr(args, "first", None):
            asked = f"{args.first}..{args.last}"
        else:
            asked = "-"  # serve: no month of its own (its runs alert by month)
        return (url, args.command, asked)
    return None


def _alert(
    invocation: Invocation,
    exit_code: int,
    reason: str,
    month: str | None,
    where: str | None = None,
) -> None:
    """A failed run tells the --notify webhook; whatever happens there, the exit code stays."""
    if invocation.alert_to is None:
        return
    from flows.alerts import alert_message, notify

    url, command, asked = invocation.alert_to
    out = invocation.out_dir if invocation.out_dir is not None else "OUT"
    notify(url, alert_message(command, month or asked, exit_code, reason, out, where=where))


def _unexpected_error(error: BaseException, out_dir: Path | None) -> tuple[int, str]:
    """An unexpected failure outside a stage: the traceback to a log file, one line out
    (an environment fault, exit 6, needs no traceback)."""
    from transforms.pipeline.files import write_traceback

    fault = environment_fault(error)
    if fault is not None:
        print(f"creditflow: error: {fault}", file=sys.stderr)
        return fault.exit_code, str(fault)

    logs = (
        OutputLayout(out_dir).logs_dir
        if out_dir
        else Path(tempfile.gettempdir()) / "creditflow-logs"
    )
    failure = InternalError.of(error, write_traceback(logs, error))
    print(f"creditflow: error: {failure}", file=sys.stderr)
    return failure.exit_code, str(failure)


def main(argv: list[str] | None = None) -> int:
    invocation = Invocation()
    try:
        code = run(sys.argv[1:] if argv is None else argv, invocation)
    except (CreditflowError, StageFailed) as raised:
        error = raised.error if isinstance(raised, StageFailed) else raised
        print(f"creditflow: error: {error}", file=sys.stderr)
        code = error.exit_code
        month, where = getattr(raised, "month", None), getattr(error, "where", None)
        _alert(invocation, code, str(error), month, where)
        _drop_frames(raised)
        del raised, error
    except Exception as error:  # a defect: never a traceback on the terminal
        code, reason = _unexpected_error(error, invocation.out_dir)
        _drop_frames(error)
        del error
        _alert(invocation, code, reason, None)
    # the failure's frames hold DuckDB objects; freed here, not at interpreter teardown,
    # where DuckDB's bindings report every one of them as leaked
    gc.collect()
    sys.exit(code)


def entry() -> None:
    """The `creditflow` command: main(), then the process ends without the interpreter's
    teardown, which does nothing a run needs and cost 1.6 s of wall (1 CPU-s) per run on
    the benchmark machine (issue 30: Prefect's threads and thousands of modules torn down
    one by one). What a run does need at exit still happens first: the exit handlers
    (Prefect drains its log and event workers to the API and stops an ephemeral server),
    then the streams are flushed. Every ledger and catalog connection is closed by then;
    DuckDB needs nothing more. Tests call main(), which raises SystemExit as usual."""
    try:
        main()
        code = 0
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
        if isinstance(exited.code, str):
            print(exited.code, file=sys.stderr)
    if "prefect.logging.handlers" in sys.modules:
        # the run's logs reach the API while an ephemeral API still runs: the exit
        # handlers below stop it, and a drain after that reports "Error logging to API"
        from prefect.logging.handlers import APILogHandler

        APILogHandler().flush()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe: nothing more can be said there
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


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
    entry()
