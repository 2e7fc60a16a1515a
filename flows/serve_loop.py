"""`creditflow serve`'s loop: the deployment's scheduled and triggered runs, executed
one at a time inside this long-lived process (issue #30).

Prefect's own `serve` starts a new Python process for every flow run: each month then pays
the interpreter start, the imports (Prefect, DuckDB, Great Expectations) and the teardown
again, seconds for a month whose own work is well under one. Here the server's scheduler
still creates the runs (the deployment is registered with its schedule exactly as before),
and this loop claims each due run (Pending, as Prefect's runner does, so two `serve`
processes never both run one) and runs the flow in this process with Prefect's engine: the
run's states, logs, tasks and artifacts are the same; only the process is shared.

What sharing the process changes (docs/operations.md#production-setup):
- One run at a time, oldest first. A month waiting for its billing export holds the loop,
  as one writer holds the ledger anyway.
- Stopping (SIGTERM: `systemctl stop`) interrupts a running month, as Prefect's runner
  killed its process: Prefect records the run Crashed, and the ledger's one transaction
  and renamed files leave nothing half-published (trigger the month again). Then the
  schedule is paused (Prefect's default, kept) and serve exits 0.
- A run cannot be cancelled from the UI while it runs: cancelling a run that has not
  started yet works, it is never claimed.
"""

import signal
import threading
from datetime import UTC, datetime

from transforms.summary import progress


class StopRequest:
    """SIGTERM stops the loop; a running month is interrupted with Prefect's own signal
    exception, which its engine records as a crash of the run (and of its subruns)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.running = False

    def __call__(self, signum, frame) -> None:
        from prefect.exceptions import TerminationSignal

        self.asked.set()
        if self.running:
            raise TerminationSignal(signal=signum)


def due_runs(client, deployment_id) -> list:
    """The deployment's runs due now (scheduled, late or triggered), oldest first."""
    runs = client.get_scheduled_flow_runs_for_deployments(
        deployment_ids=[deployment_id], scheduled_before=datetime.now(UTC)
    )
    return sorted(runs, key=lambda run: (run.expected_start_time or run.created, str(run.id)))


def claim(client, run) -> bool:
    """Move the run to Pending; False when the server refuses (another runner claimed it,
    or it was cancelled or deleted meanwhile)."""
    from prefect.exceptions import Abort, ObjectNotFound
    from prefect.states import Pending
    from prefect.utilities.engine import propose_state_sync

    try:
        return propose_state_sync(client, Pending(), flow_run_id=run.id).is_pending()
    except (Abort, ObjectNotFound):
        return False


def run_in_this_process(flow, client, run, stop: StopRequest) -> str:
    """Run a claimed flow run with Prefect's engine here; what it ended as, in one line, as
    the server records it. A failed month is a Failed run (its alert was sent by the flow),
    never an error of the loop."""
    from prefect.exceptions import TerminationSignal
    from prefect.flow_engine import run_flow

    stop.running = True
    try:
        run_flow(flow, flow_run=client.read_flow_run(run.id), return_type="state")
    except TerminationSignal:
        pass  # a stop: the engine recorded the run (Crashed, unless it had just ended)
    finally:
        stop.running = False
    ended = client.read_flow_run(run.id)
    if stop.asked.is_set() and ended.state and ended.state.is_crashed():
        return f"{ended.name} ended Crashed: interrupted by the stop (nothing half-published)"
    return f"{ended.name} ended {ended.state.name if ended.state else 'without a state'}"


def warm_up() -> None:
    """What a month with coupons imports or builds lazily, done once before the first poll:
    pandas and the Great Expectations context of the coupon suite (3 s or more in a fresh
    process; the pipelines came in with the flow's module), so that no run pays them, the
    first one included."""
    from transforms.pipeline import gx_validation

    gx_validation.prepare()


def serve_in_process(flow, deployment, poll_seconds: float) -> None:
    """Register the deployment (schedule resumed), then run its due runs every
    `poll_seconds` until SIGTERM or Ctrl-C; pause the schedule on the way out."""
    from prefect.client.orchestration import get_client

    warm_up()
    deployment_id = deployment.apply()
    stop = StopRequest()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    progress(
        f"serve: deployment {deployment.flow_name}/{deployment.name} registered; its runs "
        f"execute in this process (checked every {poll_seconds:g} s)"
    )
    with get_client(sync_client=True) as client:
        try:
            while not stop.asked.is_set():
                for run in due_runs(client, deployment_id):
                    if stop.asked.is_set():
                        break
                    if claim(client, run):
                        progress(f"serve: starting flow run {run.id} ({_scheduled(run)})")
                        progress(f"serve: {run_in_this_process(flow, client, run, stop)}")
                stop.asked.wait(poll_seconds)
        finally:
            _pause(client, deployment_id)


def _scheduled(run) -> str:
    if run.expected_start_time is None:
        return "triggered"
    return f"scheduled {run.expected_start_time.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _pause(client, deployment_id) -> None:
    try:
        client.pause_deployment(deployment_id)
    except Exception as error:  # the server is gone: nothing to pause, say so and stop
        progress(f"serve: stopped; the schedule could not be paused ({str(error)[:200]})")
        return
    progress("serve: stopped; the schedule is paused until serve starts again")
