"""What a run leaves in Prefect for an operator to read in the UI
(docs/operations.md#reading-a-run-in-the-prefect-ui): the progress lines as the run's logs,
tags with the month, and per month a markdown artifact (the summary, the liability line,
links to the batch, report and quarantine) and a table artifact.

None of it holds a coupon code: codes exist only in the batch file.
"""

import logging
from contextlib import contextmanager

from prefect import tags
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from transforms.pipeline.layout import OutputLayout
from transforms.summary import (
    PROGRESS_LOG,
    instruments_markdown,
    progress,
    rollforward_table,
    settlement_markdown,
    status_table,
)


class _RunLogHandler(APILogHandler):
    """Prefect's API log handler, for records made inside a flow or task run only: progress
    lines printed before a run starts stay on the terminal."""

    def emit(self, record: logging.LogRecord) -> None:
        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            super().emit(record)


def send_progress_to_runs() -> None:
    """Every progress line also becomes a log line of the Prefect run it happens in. Not
    propagated: the terminal already has the line (transforms.summary.progress)."""
    if not any(isinstance(handler, _RunLogHandler) for handler in PROGRESS_LOG.handlers):
        PROGRESS_LOG.addHandler(_RunLogHandler())
    PROGRESS_LOG.setLevel(logging.INFO)
    PROGRESS_LOG.propagate = False


@contextmanager
def month_tags(kind: str, month: str):
    """Runs started inside carry the kind and the month as tags (filter by "2026-03")."""
    with tags(kind, month):
        yield


def _quarantine(path):
    return path if path.exists() else None


def record_settlement(outcome, out_dir) -> None:
    layout = OutputLayout(out_dir)
    _record(
        f"settlement-{outcome.month}",
        settlement_markdown(outcome, _quarantine(layout.quarantine_file(outcome.month))),
        status_table(outcome),
        f"Settlement of {outcome.month}: summary, liability, links",
    )


def record_instruments(outcome, out_dir) -> None:
    layout = OutputLayout(out_dir)
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
        progress(f"the run's artifact {key} was not recorded in Prefect: {error}")
