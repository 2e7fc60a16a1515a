"""The instrument pipeline's last stages: one transaction that publishes the month, the
month's files rendered from the committed rows and checked against the digests recorded in
that transaction, and the republishing of a month already published."""

import csv
import io
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from transforms.errors import StateConflict
from transforms.money import format_usd
from transforms.pipeline import catalog, published_files, report, sql_runner, warehouse
from transforms.pipeline.faults import crash_point
from transforms.pipeline.files import parquet_bytes
from transforms.pipeline.layout import INSTRUMENT_MARKER
from transforms.pipeline.published_files import PublishedFile
from transforms.pipeline.runner import Run

PUBLISHED_TABLES = ("instrument_state", "instrument_events", "instrument_rollforward")


@dataclass(frozen=True)
class RegisteredInstruments:
    already_published: bool
    fingerprint: str
    rejected: int = 0
    quarantine_sha256: str | None = None


@dataclass(frozen=True)
class InstrumentsOutcome:
    month: str
    action: str
    event_count: int
    rejected_event_count: int
    breakage_usd: Decimal
    rollforward: list[dict]
    folder: Path
    seconds: float


def _parquet_file(name: str):
    def render(run: Run, rows: str, record: dict, rendered: dict) -> bytes:
        query = sql_runner.sql_file(f"queries/instrument_{name}_file.sql")
        return parquet_bytes(sql_runner.arrow(run.con, query, run.parameters))

    return render


def _rollforward_csv(run: Run, rows: str, record: dict, rendered: dict) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    found = _rollforward(run)
    writer.writerow(found[0].keys() if found else ())
    for row in found:
        writer.writerow([row["instrument_kind"], *(format_usd(v) for v in list(row.values())[1:])])
    return text.getvalue().encode()


# the files of an instrument month (OUT/instruments/M/), in writing order; the roll-forward
# is written last, and its presence marks the month published
INSTRUMENT_FILES = (
    PublishedFile(
        "state.parquet",
        _parquet_file("state"),
        "state_parquet_sha256",
        "Every instrument's state at the month end.",
        "instruments_after_state_file",
    ),
    PublishedFile(
        "events.parquet",
        _parquet_file("events"),
        "events_parquet_sha256",
        "Every instrument event listed in the month, accepted or rejected with its reason.",
        "instruments_after_events_file",
    ),
    PublishedFile(
        INSTRUMENT_MARKER,
        _rollforward_csv,
        "rollforward_csv_sha256",
        "Opening + issued - used - expired = closing, per kind; written last.",
    ),
)
_ROWS = "warehouse."  # the files read the committed (or committing) month


def publish(run: Run, registered: RegisteredInstruments) -> InstrumentsOutcome:
    con = run.con
    (totals,) = sql_runner.rows(con, sql_runner.sql_file("queries/instrument_month_totals.sql"))
    record = {
        "instrument_month": run.month,
        "input_fingerprint": registered.fingerprint,
        **totals,
        "rejected_input_rows_accepted": registered.rejected,
        "quarantine_sha256": registered.quarantine_sha256,
    }
    with warehouse.transaction(con):
        warehouse.append(con, PUBLISHED_TABLES, "instrument_months", record)
        # the files as the rows just written render them, pinned by digest in the same
        # transaction: a republish renders them again and must match (published_files.check)
        rendered = published_files.render(INSTRUMENT_FILES, run, _ROWS, record)
        digests = published_files.digests(INSTRUMENT_FILES, rendered)
        con.execute(
            "update warehouse.instrument_months set "
            + ", ".join(f"{column} = ${column}" for column in digests)
            + " where instrument_month = $month",
            {**digests, "month": run.month},
        )
        crash_point("instruments_during_ledger_transaction")
    crash_point("instruments_after_commit")
    folder = published_files.write(
        run.layout.instruments_dir(run.month), INSTRUMENT_FILES, rendered, private=False
    )
    refresh_readers(run)
    return _outcome(run, "published", folder)


def republish(run: Run, registered: RegisteredInstruments) -> InstrumentsOutcome:
    record = warehouse.month_record(run.con, "instrument_months", "instrument_month", run.month)
    if record["input_fingerprint"] != registered.fingerprint:
        raise StateConflict(
            f"{run.month}: instrument month already published and its inputs changed since; "
            "nothing was changed"
        )
    folder = write_files(run)
    refresh_readers(run)
    return _outcome(run, "already published", folder)


def refresh_readers(run: Run) -> None:
    """The analysts' catalog, and the month report when the month is settled (its liability
    bridge reads the instrument month)."""
    catalog.refresh_after_publishing(run.con, run.layout)
    report.refresh_if_settled(run.con, run.layout, run.month, run.parameters["cutoff_date"])


def write_files(run: Run) -> Path:
    """The month's files rendered again from the committed month, checked against the
    digests recorded when it was published (nothing is written on a difference), and
    written; identical bytes are not rewritten."""
    record = warehouse.month_record(run.con, "instrument_months", "instrument_month", run.month)
    rendered = published_files.render(INSTRUMENT_FILES, run, _ROWS, record)
    published_files.check(run.month, INSTRUMENT_FILES, rendered, record)
    return published_files.write(
        run.layout.instruments_dir(run.month), INSTRUMENT_FILES, rendered, private=False
    )


def _rollforward(run: Run) -> list[dict]:
    return sql_runner.rows(
        run.con, sql_runner.sql_file("queries/instrument_rollforward_file.sql"), run.parameters
    )


def _outcome(run: Run, action: str, folder: Path) -> InstrumentsOutcome:
    record = warehouse.month_record(run.con, "instrument_months", "instrument_month", run.month)
    return InstrumentsOutcome(
        run.month,
        action,
        record["event_count"],
        record["rejected_event_count"],
        record["breakage_usd"],
        _rollforward(run),
        folder,
        time.perf_counter() - run.started_at,
    )
