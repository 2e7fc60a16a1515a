"""What each command that runs or repairs the ledger does once its arguments parse
(flows/cli.py dispatches; flows/cli_parser.py defines the arguments; the read-only
commands are flows/cli_readers.py). Prefect and the pipelines are imported inside the
commands that need them: Prefect is slow to import."""

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from transforms.errors import CreditflowError, OrchestratorUnavailable, UsageError
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.summary import progress

# how often, and after how long, a run whose orchestrator did not answer is started again
ORCHESTRATOR_RETRY_DELAYS_S = (5, 20)


@dataclass
class Invocation:
    """What reporting a failure of this call needs, learnt as its arguments are checked:
    where an internal error's traceback goes (OUT, once --out is known to be writable) and
    whom a failed run alerts (the --notify webhook, the command, the months asked for).
    One per call of cli.run, passed down: nothing of an earlier call applies."""

    out_dir: Path | None = None
    alert_to: tuple[str, str, str] | None = None


def quiet_prefect(verbose: bool) -> None:
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


def server_log_of(args) -> Path | None:
    """Where the ephemeral Prefect server's own output goes: OUT/logs/, or the terminal
    with --verbose."""
    return None if args.verbose else OutputLayout(args.out).logs_dir / "prefect-server.log"


def init(args, invocation: Invocation) -> int:
    """Start a ledger on purpose: its first month and the data directory it settles from."""
    check_out_dir(args.out, invocation)
    from transforms.pipeline import ledger_start

    done = ledger_start.start(OutputLayout(args.out), args.data, args.first_month, "init")
    print(
        f"{args.out}: ledger {done} at {args.first_month}, settled from {args.data.resolve()}; "
        f"next: creditflow settle --month {args.first_month} --data {args.data} --out {args.out}"
    )
    return 0


def recover(args, options: RunOptions, invocation: Invocation) -> int:
    """Not through Prefect: a repair runs the stages directly, month by month."""
    check_out_dir(args.out, invocation)
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


def restore(args, options: RunOptions, invocation: Invocation) -> int:
    """Not through Prefect, like recover: a repair of one month."""
    check_out_dir(args.out, invocation)
    from transforms.coupon_codes import key_for_run
    from transforms.pipeline import restore as restoring

    key_for_run()  # the key the month was published with: its files must match
    done = restoring.restore(args.month, options)
    kept = ", ".join(str(p) for p in done.set_aside) or "no changed file (only missing ones)"
    print(f"{args.month}: {' and '.join(done.rendered_again)} files rendered again; kept: {kept}")
    return 0


def serve(args, invocation: Invocation) -> int:
    """Register the deployment and run its flow runs in this process until stopped
    (flows/serve_loop.py: SIGTERM lets the running month finish, then pauses the schedule,
    Prefect's default; the next `serve` resumes it)."""
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
    check_out_dir(args.out, invocation)
    from prefect.client.orchestration import get_client

    from flows.alerts import NOTIFY_URL_VARIABLE, notify_url
    from flows.monthly_close import deployment, monthly_close
    from flows.prefect_home import is_orchestrator_failure
    from flows.serve_loop import serve_in_process

    with get_client(sync_client=True) as client:
        unhealthy = client.api_healthcheck()
    if unhealthy is not None:
        raise OrchestratorUnavailable(
            f"the Prefect server at {api_url} does not answer "
            f"({str(unhealthy).splitlines()[0][:200]}); start it (systemctl start "
            "prefect-server) and run creditflow serve again"
        )
    # the webhook reaches the runs through this process's environment (they run in it); the
    # deployment names the variable, so the URL is never a parameter
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
        serve_in_process(
            monthly_close,
            deployment({name: value for name, value in parameters.items() if value is not None}),
            get_current_settings().runner.poll_frequency,
        )
    except Exception as error:
        if not is_orchestrator_failure(error):
            raise
        raise OrchestratorUnavailable(
            f"the Prefect server at {api_url} stopped answering "
            f"({str(error).splitlines()[0][:200]}); run creditflow serve again once it is back"
        ) from None
    return 0


def run_instruments(args, options: RunOptions, started: float, invocation: Invocation) -> int:
    if args.first and not args.last:
        raise UsageError("usage: --from needs --to")
    if args.first and args.first > args.last:
        raise UsageError(f"usage: --from {args.first} is after --to {args.last}")
    check_out_dir(args.out, invocation)
    api = start_prefect_api(args)  # its start overlaps the imports below
    from flows import instruments
    from transforms.summary import format_instruments

    quiet_prefect(args.verbose)
    if args.month:
        outcomes = [orchestrated(instruments.run_instruments, args.month, options, api=api)]
    else:
        outcomes = orchestrated(
            instruments.instruments_range, args.first, args.last, options, api=api
        )
    print(format_instruments(outcomes, time.perf_counter() - started))
    point_to_catalog(args.out)
    return 0


def point_to_catalog(out: Path) -> None:
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


def check_out_dir(out: Path, invocation: Invocation) -> None:
    """--out must be a directory this process can write (created when missing); checked
    once every other option is known to be valid, so a usage error creates nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"usage: --out {out} is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"usage: --out {out} cannot be created: {error.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"usage: --out {out} is not writable")
    invocation.out_dir = out


def start_prefect_api(args):
    """The run's own Prefect API when no server is configured, started now so that its
    start overlaps the run's imports (flows/ephemeral_api.py); None against a server."""
    from flows.ephemeral_api import start_unless_configured

    return start_unless_configured(server_log_of(args))


# a run over at least this much billing Parquet has seconds of SQL ahead of it
GX_EARLY_FROM_BILLING_BYTES = 8 * 2**20


def build_gx_early(args) -> None:
    """Import GX and build the coupon suite's validation on a thread now, for a settlement
    over enough bill lines to have seconds of SQL ahead (gx_validation.build_in_background):
    the build (2-4 s in a fresh process) then overlaps the wait for the run's own Prefect API
    and the month's SQL instead of following them. A small month (maybe without a coupon to
    validate) does not start it, nor a Dask run, whose coordinator shares its memory budget
    with the workers (docs/performance.md#gx-built-while-the-run-starts-2026-12-05-night).
    What the billing folder holds is judged by the run itself: a problem here starts
    nothing and is reported by the run's own stage."""
    if getattr(args, "executor", "local") != "local":
        return
    from transforms.pipeline import gx_validation, inputs

    last_month = args.month if args.command == "settle" else args.last
    try:
        billing = inputs.billing_cycles(args.data, last_month)
        billing_bytes = sum(path.stat().st_size for paths in billing.values() for path in paths)
    except (CreditflowError, OSError):
        return
    if billing_bytes >= GX_EARLY_FROM_BILLING_BYTES:
        gx_validation.build_in_background()


def orchestrated(flow, *args, api=None):
    """Call a flow; when Prefect itself does not answer, start it again after a pause.

    Safe by design: a month is published in one transaction and a rerun of a published
    month changes nothing, so a run cut short by the orchestrator can simply run again.
    `api` is the run's own Prefect API (start_prefect_api), None against a server."""
    from flows.prefect_home import is_orchestrator_failure, without_heartbeats

    # the run's own API ends with this process: nobody can read the run's heartbeats
    quiet = without_heartbeats if api is not None else contextlib.nullcontext
    for delay_s in (*ORCHESTRATOR_RETRY_DELAYS_S, None):
        try:
            if api is not None:
                api.wait_until_ready()  # started again first if it has exited
            with quiet():
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
