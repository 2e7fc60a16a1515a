"""The settlement's last stages: one transaction that publishes the month, the batch files
rendered from the committed rows, the republishing of a month already published, and the
values the run summary shows."""

import time
from decimal import Decimal
from pathlib import Path

from transforms.batch_file import (
    COUPON_ROW_FIELDS,
    WELCOME_ROW_FIELDS,
    render_coupons_csv,
    render_manifest,
    render_welcome_csv,
)
from transforms.errors import StateConflict
from transforms.pipeline import (
    catalog,
    ledger_start,
    published_files,
    report,
    sql_runner,
    warehouse,
)
from transforms.pipeline.faults import crash_point
from transforms.pipeline.layout import COUPONS_FILE, SETTLEMENT_MARKER, WELCOME_FILE
from transforms.pipeline.published_files import PublishedFile
from transforms.pipeline.settlement_run import (
    Outcome,
    RegisteredInputs,
    SettlementRun,
    ValidatedMonth,
)

PUBLISHED_TABLES = (
    "ledger_entries",
    "referrer_balances",
    "coupons",
    "referee_status",
    "welcome_rewards",
)


def coupon_rows(run: SettlementRun, relation: str) -> list[dict]:
    """The month's coupons from the computed relation or the warehouse, by referrer: the
    columns the file shows (each value fetched costs a Python object, per row)."""
    return warehouse.fetch_dicts(
        run.con,
        f"select {', '.join(COUPON_ROW_FIELDS)} from {relation} where settlement_month = $m "
        "order by referrer_account_id",
        {"m": run.month},
    )


def welcome_rows(run: SettlementRun, relation: str) -> list[dict]:
    """The month's welcome rewards from the computed relation or the warehouse."""
    return warehouse.fetch_dicts(
        run.con,
        f"select {', '.join(WELCOME_ROW_FIELDS)} from {relation} where settlement_month = $m "
        "order by referee_account_id, instrument_kind",
        {"m": run.month},
    )


def welcome_products(run: SettlementRun, relation: str) -> list[str]:
    """The products the month's welcome rewards may be spent on: one list for every reward
    of the month (sql/marts/welcome_rewards.sql), read as one value, not as every row."""
    (products,) = run.con.execute(
        f"select min(allowed_products) from {relation} where settlement_month = $m",
        {"m": run.month},
    ).fetchone()
    return products.split("|") if products is not None else []


def _coupons_csv(run: SettlementRun, rows: str, record: dict, rendered: dict) -> bytes:
    return render_coupons_csv(coupon_rows(run, f"{rows}coupons"), run.key)


def _welcome_csv(run: SettlementRun, rows: str, record: dict, rendered: dict) -> bytes:
    return render_welcome_csv(welcome_rows(run, f"{rows}welcome_rewards"))


def _manifest_json(run: SettlementRun, rows: str, record: dict, rendered: dict) -> bytes:
    """What was published, on which inputs and rules, and the digests of the files above."""
    summary = {
        "count": record["welcome_count"],
        "total_usd": record["welcome_total_usd"],
        "csv": rendered["welcome.csv"],
        "products": welcome_products(run, f"{rows}welcome_rewards"),
    }
    return render_manifest(record, rendered["coupons.csv"], record["rules_json"], summary)


# the batch of a settled month (OUT/batches/M/), in writing order: the manifest is written
# last, and its presence marks the month published (OutputLayout.published_settlement_months)
COUPONS = PublishedFile(
    COUPONS_FILE,
    _coupons_csv,
    "coupons_csv_sha256",
    "The month's coupon batch: one coupon per referrer owed money.",
    "after_coupons_file",
    tables=("coupons",),
)
WELCOME = PublishedFile(
    WELCOME_FILE,
    _welcome_csv,
    "welcome_csv_sha256",
    "The welcome rewards of the friends registered in the month.",
    tables=("welcome_rewards",),
)
BATCH_FILES = (
    COUPONS,
    WELCOME,
    PublishedFile(
        SETTLEMENT_MARKER,
        _manifest_json,
        "manifest_json_sha256",
        "What was published, on which inputs, rules and code, with the digests of the files "
        "above; written last.",
    ),
)
# the files the month's rows alone give; the manifest (last) also states the month's record
# and the code version
DATA_FILES = BATCH_FILES[:-1]
COMPUTED_ROWS, PUBLISHED_ROWS = "", "warehouse."  # where a batch is rendered from


def render_computed_files(run: SettlementRun) -> dict[str, bytes]:
    """The batch's data files from the computed month, before the commit: validated, and
    their digests recorded with the month (the manifest needs the record: rendered later)."""
    return published_files.render(DATA_FILES, run, COMPUTED_ROWS, {})


def _settlement_record(run: SettlementRun, month: ValidatedMonth) -> dict:
    (totals,) = sql_runner.rows(run.con, sql_runner.sql_file("queries/settlement_totals.sql"))
    registered = month.inputs
    return {
        "settlement_month": run.month,
        "cutoff_date": run.dates.cutoff_date,
        "previous_month": run.dates.previous_month,
        "issued_on": run.dates.issued_on,
        **{
            name: Decimal(value) if name.endswith("_usd") else value
            for name, value in totals.items()
        },
        **published_files.digests(DATA_FILES, month.rendered),
        "input_fingerprint": registered.fingerprint,
        "lines_fingerprint": registered.lines_fingerprint,
        "rules_sha256": run.rules.sha256(),
        "rules_json": run.rules.canonical_json(),
        "code_version": sql_runner.code_version(),
        "coupon_key_kind": run.key.kind,
        "coupon_key_id": run.key.key_id,
        "rejected_rows_accepted": registered.rejected_count,
        "quarantine_sha256": registered.quarantine_sha256,
        "accepted_shrinkage": "; ".join(registered.accepted_shrinkage),
        # not in the manifest (a path is not an input): for `creditflow explain`
        "data_dir": str(run.options.data_dir),  # resolved (RunOptions)
        "eligible_products_file": str(Path(run.options.eligible_products).resolve()),
    }


def publish(run: SettlementRun, month: ValidatedMonth) -> Outcome:
    """Commit the month in one transaction, then render the batch files from committed rows
    (a dry run writes the preview instead and touches no ledger)."""
    record = _settlement_record(run, month)
    # the manifest as the computed month renders it: the warehouse's record renders the same
    # bytes after the commit, and every later run checks the file against this digest
    rendered = published_files.render(BATCH_FILES, run, COMPUTED_ROWS, record, month.rendered)
    record.update(published_files.digests(BATCH_FILES, rendered))
    if run.options.dry_run:
        folder = _write_preview(run, rendered)
        staged = run.con.execute("select reason_code, count(*) from referee_status group by all")
        return _outcome(run, "dry run", record, folder, dict(staged.fetchall()), month)
    ledger_start.check_first_month(
        run.con,
        run.month,
        month.inputs.first_cycle,
        run.layout.root,
        run.options.data_dir,
        record,
    )
    with warehouse.transaction(run.con):
        warehouse.append(run.con, PUBLISHED_TABLES, "settlements", record)
        crash_point("during_ledger_transaction")
        sql_runner.script(run.con, sql_runner.sql_file("schema/update_incremental_state.sql"))
    crash_point("after_commit")
    folder = write_batch_files(run, rendered)
    refresh_readers(run)
    return _published_outcome(run, "published", folder, month)


def republish(run: SettlementRun, registered: RegisteredInputs) -> Outcome:
    """A month already published: with the same inputs, rules and key, render its files
    again from the ledger (identical bytes); anything changed is a conflict."""
    record = warehouse.month_record(run.con, "settlements", "settlement_month", run.month)
    changed = [
        what
        for what, now, then in (
            ("inputs", registered.fingerprint, record["input_fingerprint"]),
            ("rules", run.rules.sha256(), record["rules_sha256"]),
            ("coupon key", run.key.key_id, record["coupon_key_id"]),
        )
        if now != then
    ]
    if changed:
        raise StateConflict(
            f"{run.month} is already published and its {' and '.join(changed)} changed since; "
            "nothing was changed: corrections flow into the next unsettled month as ledger deltas"
        )
    if run.options.dry_run:
        rendered = published_files.render(BATCH_FILES, run, PUBLISHED_ROWS, record)
        folder = _write_preview(run, rendered)
        return _published_outcome(run, "dry run", folder, registered)
    folder = write_batch_files(run)
    refresh_readers(run)  # (re)built when missing; published months unchanged
    return _published_outcome(run, "already published", folder, registered)


def refresh_readers(run: SettlementRun) -> None:
    """What people read after the ledger changed: the analysts' catalog and the month report."""
    catalog.refresh_after_publishing(run.con, run.layout)
    report.write(run.con, run.layout, run.month, run.dates.cutoff_date)


def _write_preview(run: SettlementRun, rendered: dict[str, bytes]) -> Path:
    folder = run.layout.preview_dir(run.month)
    return published_files.write(folder, BATCH_FILES, rendered, private=True)


def write_batch_files(run: SettlementRun, computed: dict[str, bytes] | None = None) -> Path:
    """Render the batch from the committed month, check it against the digests recorded at
    publication (a different key or tampered rows: refused, nothing written), and publish
    it. Safe to repeat: identical bytes are not rewritten.

    `computed`: the files the month was validated with, rendered from the computed rows just
    committed. A data file among them is written as it is when its tables' committed rows
    are the computed ones, row for row and type for type (rendering them again would give the
    same bytes: about 1 s at 100M lines); otherwise it is rendered again from the ledger. The
    manifest is always rendered from the committed record."""
    record = warehouse.month_record(run.con, "settlements", "settlement_month", run.month)
    done = {
        file.name: computed[file.name]
        for file in DATA_FILES
        if computed
        and file.tables
        and all(published_files.same_rows_committed(run.con, t, run.month) for t in file.tables)
    }
    rendered = published_files.render(BATCH_FILES, run, PUBLISHED_ROWS, record, done)
    published_files.check(run.month, BATCH_FILES, rendered, record)
    if run.options.what_if:
        return run.layout.batch_dir(run.month)  # a replay writes no coupon file (amounts only)
    return published_files.write(
        run.layout.batch_dir(run.month), BATCH_FILES, rendered, private=True
    )


def _published_outcome(run: SettlementRun, action: str, folder: Path, month) -> Outcome:
    record = warehouse.month_record(run.con, "settlements", "settlement_month", run.month)
    counts = sql_runner.rows(
        run.con, sql_runner.sql_file("queries/reason_counts.sql"), run.parameters
    )
    reasons = {row["reason_code"]: row["referral_count"] for row in counts}
    return _outcome(run, action, record, folder, reasons, month)


def _outcome(run, action, record, folder, reason_counts, month) -> Outcome:
    registered = month.inputs if isinstance(month, ValidatedMonth) else month
    return Outcome(
        month=run.month,
        action=action,
        coupon_count=record["coupon_count"],
        coupon_total_usd=record["coupon_total_usd"],
        ledger_delta_total_usd=record["ledger_delta_total_usd"],
        carry_out_total_usd=record["carry_out_total_usd"],
        reason_counts=dict(sorted(reason_counts.items())),
        batch_dir=folder,
        coupon_key_kind=record["coupon_key_kind"],
        seconds=time.perf_counter() - run.started_at,
        report_index=month.report_index if isinstance(month, ValidatedMonth) else None,
        scanned_cycles=registered.scanned_cycles,
        visible_cycles=registered.visible_cycles,
        carried_referees=registered.carried_referees,
        referee_count=registered.referee_count,
        welcome_count=record["welcome_count"] or 0,
        welcome_total_usd=record["welcome_total_usd"] or Decimal("0.00"),
    )
