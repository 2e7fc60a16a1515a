"""What a run leaves in Prefect for an operator to read in the UI
(docs/operations.md#reading-a-run-in-the-prefect-ui): the progress lines as the run's logs
(warnings and errors at their levels), a failure as one line without a traceback (the
traceback of a defect is in OUT/logs/), a closing summary line per month, tags with the
month on every run, and per month a markdown artifact (the summary, the liability line, the
paths of the batch, report and quarantine) and a table artifact.

None of it holds a coupon code: codes exist only in the batch file.
"""

import logging
from contextlib import contextmanager

from prefect import tags
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from transforms.errors import StageFailed
from transforms.pipeline.layout import OutputLayout
from transforms.summary import (
    PROGRESS_LOG,
    instruments_closing_line,
    instruments_markdown,
    progress,
    rollforward_table,
    settlement_closing_line,
    settlement_markdown,
    status_table,
)


class _RunLogHandler(APILogHandler):
    """Prefect's API log handler, for records made inside a flow or task run only: progress
    lines printed before a run starts stay on the terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            super().emit(record)


class _OneLineFailures(logging.Filter):
    """Prefect's engine logs a failed task or flow with its traceback. A creditflow failure
    (StageFailed) already is one line, said by the run itself (and a defect's traceback is
    in OUT/logs/): keep Prefect's line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], StageFailed):
            record.exc_info = None
            record.exc_text = None
        return True


def send_progress_to_runs() -> None:
    """Every progress line also becomes a log line of the Prefect run it happens in, at its
    level. Not propagated: the terminal already has the line (transforms.summary.progress).
    Prefect's own failure lines lose their traceback (_OneLineFailures)."""
    if not any(isinstance(handler, _RunLogHandler) for handler in PROGRESS_LOG.handlers):
        PROGRESS_LOG.addHandler(_RunLogHandler())
    PROGRESS_LOG.setLevel(logging.INFO)
    PROGRESS_LOG.propagate = False
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        engine = logging.getLogger(name)
        if not any(isinstance(f, _OneLineFailures) for f in engine.filters):
            engine.addFilter(_OneLineFailures())


@contextmanager
def month_tags(kind: str, month: str):
    """Runs started inside carry the kind and the month as tags (filter by "2026-03")."""
    with tags(kind, month):
        yield


def tag_this_run(*extra: str) -> None:
    """Add tags to the flow run in progress (a run made by the scheduler or by a deployment
    trigger has only the deployment's tags when it starts; a range run names its months).
    An API that refuses is said on stderr, never a failure of the run."""
    from prefect.client.orchestration import get_client

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    run = context.flow_run
    wanted = sorted(set(run.tags) | set(extra))
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, tags=wanted)
    except Exception as error:
        progress(
            f"the run's tags {', '.join(extra)} were not recorded in Prefect: {error}",
            logging.WARNING,
        )


def _quarantine(path):
    return path if path.exists() else None


def record_settlement(outcome, out_dir) -> None:
    layout = OutputLayout(out_dir)
    PROGRESS_LOG.info(settlement_closing_line(outcome))  # the run's log only
    _record(
        f"settlement-{outcome.month}",
        settlement_markdown(outcome, _quarantine(layout.quarantine_file(outcome.month))),
        status_table(outcome),
        f"Settlement of {outcome.month}: summary, liability, links",
    )


def record_instruments(outcome, out_dir) -> None:
    layout = OutputLayout(out_dir)
    PROGRESS_LOG.info(instruments_closing_line(outcome))  # the run's log only
    _record(
        f"instruments-{outcome.month}",
        instruments_markdown(
            outcome, _quarantine(layout.instrument_quarantine_file(outcome.month))
        ),
        rollforward_table(outcome),
        f"Instrument ledger of {outcome.month}: roll-forward by kind",
    )


def _record(key: str, markdown: str, table: list[dict], description: str) -> None:
    """The month is already published when this runs: an artifact Prefect refuses is said
    on stderr, never a failure of the run."""
    try:
        create_markdown_artifact(markdown=markdown, key=key, description=description)
        if table:
            create_table_artifact(table=table, key=f"{key}-table", description=description)
    except Exception as error:
        progress(f"the run's artifact {key} was not recorded in Prefect: {error}", logging.WARNING)
