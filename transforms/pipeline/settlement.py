"""The settlement pipeline: its stages, declared once (PIPELINE) and run by the Prefect flow,
the tests, the benchmark and the profiler alike.

register inputs -> stage -> compute -> validate -> publish; a month already published takes
`republish` after register inputs. The rules live in sql/ and transforms/; a stage only
says which SQL runs when, and hands the next stage a value.
"""

import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from transforms import contracts
from transforms.batch_file import render_coupons_csv, render_manifest, sha256_hex
from transforms.coupon_codes import CouponKey, key_from_environment
from transforms.errors import InputError, StateConflict, UsageError, ValidationFailure
from transforms.months import MonthDates
from transforms.pipeline import gx_validation, inputs, sql_runner, warehouse
from transforms.pipeline.faults import crash_point
from transforms.pipeline.files import atomic_write, make_private_dir, sha256_file
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import Pipeline, Stage, run_pipeline
from transforms.rules import Rules, load_rules

PUBLISHED_TABLES = ("ledger_entries", "referrer_balances", "coupons", "referee_status")
RAW_VISIBLE_REFERRALS = sql_runner.sql_file("raw/raw_visible_referrals.sql")
RAW_BILLING_RELATIONS = (
    sql_runner.sql_file("raw/raw_billing_repeated_hashes.sql"),
    sql_runner.sql_file("raw/raw_billing_repeats.sql"),
)


@dataclass
class SettlementRun:
    """What every stage of one month's settlement reads; no stage writes to it."""

    month: str
    options: RunOptions
    dates: MonthDates
    rules: Rules
    key: CouponKey
    layout: OutputLayout
    parameters: dict
    con: object
    started_at: float = field(default_factory=time.perf_counter)

    def close(self) -> None:
        # drop the reference too: a failed run's traceback (kept by Prefect's state) must
        # not keep the DuckDB connection alive until interpreter exit
        if self.con is not None:
            self.con.close()
            self.con = None


@dataclass(frozen=True)
class RegisteredInputs:
    already_published: bool
    fingerprint: str
    visible_cycles: int
    scanned_cycles: tuple[str, ...] = ()
    rejected_count: int = 0
    quarantine_sha256: str = ""


@dataclass(frozen=True)
class ValidatedMonth:
    inputs: RegisteredInputs
    coupons_csv: bytes  # rendered once, here; published as is
    report_index: Path


@dataclass(frozen=True)
class Outcome:
    month: str
    action: str  # 'published', 'already published', 'dry run'
    coupon_count: int
    coupon_total_usd: Decimal
    ledger_delta_total_usd: Decimal
    carry_out_total_usd: Decimal
    reason_counts: dict[str, int]
    batch_dir: Path
    coupon_key_kind: str
    seconds: float
    report_index: Path | None = None
    scanned_cycles: tuple[str, ...] = ()
    visible_cycles: int = 0


def open_run(month: str, options: RunOptions) -> SettlementRun:
    try:
        rules = load_rules(options.config)
        key = key_from_environment()
        dates = rules.month_dates(month)
    except ValueError as error:
        raise UsageError(str(error)) from error
    layout = OutputLayout(Path(options.out_dir))
    con = warehouse.connect(
        layout,
        read_only=options.dry_run,
        readable=(Path(options.data_dir), Path(options.eligible_products)),
        threads=options.threads,
        memory_limit=options.memory_limit,
    )
    parameters = rules.sql_parameters(dates)
    return SettlementRun(month, options, dates, rules, key, layout, parameters, con)


def register_inputs(run: SettlementRun, _previous=None) -> RegisteredInputs:
    """Check the month's place in the ledger, find and check the input files, fingerprint
    what the month sees, and for a month to compute: register the billing cycles to scan
    and run the input audits."""
    con, options, month = run.con, run.options, run.month
    already_published = warehouse.check_month_order(month, warehouse.published_months(con))
    data_dir = inputs.require_data_dir(options.data_dir)
    billing = inputs.billing_cycles(data_dir, month)
    if not Path(options.eligible_products).is_file():
        raise InputError(f"{options.eligible_products}: eligible products file does not exist")
    snapshots = {
        c: inputs.snapshot_files(data_dir, c) for c in (contracts.REFERRALS, contracts.ACCOUNTS)
    }
    # a full recompute trusts nothing kept from earlier runs, not even file digests
    known = warehouse.known_file_digests(con) if options.incremental else {}
    file_hashes, cycle_hashes, stamped = inputs.cycle_fingerprints(billing, known)
    if not options.dry_run:
        warehouse.remember_file_digests(con, stamped.keys() - known.keys(), stamped)
    for contract, paths in snapshots.items():
        inputs.register(con, contract, list(paths))
    inputs.register_eligible_products(con, options.eligible_products)
    sql_runner.create(con, RAW_VISIBLE_REFERRALS, run.parameters)
    eligible_sha256 = sha256_file(options.eligible_products)
    fingerprint = inputs.month_fingerprint(con, data_dir, file_hashes, eligible_sha256)
    if already_published:
        # same fingerprint, rules and key: the month is re-rendered from the ledger, and its
        # inputs were audited when it was published
        return RegisteredInputs(True, fingerprint, len(billing))
    scanned = cycles_to_scan(run, cycle_hashes, eligible_sha256)
    sql_runner.script(
        con,
        sql_runner.sql_file("control/scanned_cycles.sql"),
        {
            "cycles": scanned,
            "files_sha256": [cycle_hashes[c] for c in scanned],
            "eligible_products_sha256": eligible_sha256,
        },
    )
    sql_runner.script(
        con,
        sql_runner.sql_file("control/cached_cycles.sql"),
        {"cycles": sorted(set(cycle_hashes) - set(scanned)) or [""]},
    )
    inputs.register(con, contracts.BILLING, [p for c in scanned for p in billing[c]])
    month_lines = con.execute(
        "select count(*) from raw_billing_lines where billing_cycle = $cycle", {"cycle": month}
    ).fetchone()[0]
    if month_lines == 0:
        folder = data_dir / "billing" / f"billing_cycle={month}"
        raise InputError(f"{folder}: the billing export for {month} is empty (no bill lines)")
    for relation in RAW_BILLING_RELATIONS:
        each = scanned if "billing_cycle" in relation.parameters else None
        sql_runner.create(con, relation, run.parameters, each=each)
    rejected, quarantine_sha256 = inputs.run_audits(
        con,
        sql_runner.folder("audits/inputs"),
        run.parameters,
        run.layout.quarantine_file(month),
        options.max_rejected,
    )
    return RegisteredInputs(
        False, fingerprint, len(billing), tuple(scanned), rejected, quarantine_sha256
    )


def cycles_to_scan(run: SettlementRun, cycle_hashes: dict[str, str], eligible_sha256: str):
    """The billing cycles this run must read (see docs/performance.md#incremental).

    Every cycle on a full recompute or a first settlement. Otherwise: the month's own
    cycle, every cycle whose files or eligible-products list changed since it was last
    scanned, and every cycle from the registration month of any referee the cache does
    not cover yet (sql/queries/earliest_uncached_referee.sql).
    """
    if not run.options.incremental:
        return sorted(cycle_hashes)
    stored = {
        cycle: (files_sha256, eligible)
        for cycle, files_sha256, eligible in run.con.execute(
            "select billing_cycle, files_sha256, eligible_products_sha256 "
            "from warehouse.billing_cycle_scans"
        ).fetchall()
    }
    (row,) = sql_runner.rows(run.con, sql_runner.sql_file("queries/earliest_uncached_referee.sql"))
    earliest = row["earliest_uncached_registered_date"]
    from_month = f"{earliest:%Y-%m}" if earliest else run.month
    return sorted(
        cycle
        for cycle, digest in cycle_hashes.items()
        if cycle == run.month
        or stored.get(cycle) != (digest, eligible_sha256)
        or cycle >= from_month
    )


def stage(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The staging models: rename and cast."""
    _run_layer(run, "staging")
    crash_point("after_staging")
    return registered


def compute(run: SettlementRun, registered: RegisteredInputs) -> RegisteredInputs:
    """The intermediate and mart models: entitlements, ledger deltas, balances, coupons."""
    _run_layer(run, "intermediate")
    _run_layer(run, "marts")
    return registered


def _run_layer(run: SettlementRun, layer: str) -> None:
    for model in sql_runner.models_for(PUBLISHED_TABLES):
        if model.path.parent.name == layer:
            sql_runner.create(run.con, model, run.parameters)


def validate(run: SettlementRun, registered: RegisteredInputs) -> ValidatedMonth:
    """Audit the computed month before publishing: the SQL invariants over the relations
    (sql/audits/outputs/) and the Great Expectations suite over the rendered coupon file
    (expectations/). Any failure blocks publishing."""
    failures = []
    for audit in sql_runner.folder("audits/outputs"):
        found = sql_runner.rows(run.con, audit, run.parameters)
        if found:
            examples = "; ".join(str(row) for row in found[:3])
            failures.append(f"invariant {audit.name} broken by {len(found)} row(s): {examples}")
    coupons_csv = render_coupons_csv(_coupon_rows(run, "coupons"), run.key)
    report_dir = run.layout.report_dir(run.month)
    failures += [
        failure.describe()
        for failure in gx_validation.validate_coupon_file(coupons_csv, run.rules, report_dir)
    ]
    report_index = report_dir / "index.html"
    if failures:
        raise ValidationFailure(
            f"{run.month}: nothing published; "
            + " | ".join(failures)
            + f" (report: {report_index})"
        )
    return ValidatedMonth(registered, coupons_csv, report_index)


def _coupon_rows(run: SettlementRun, relation: str) -> list[dict]:
    return warehouse.fetch_dicts(
        run.con,
        f"select * from {relation} where settlement_month = $m order by referrer_account_id",
        {"m": run.month},
    )


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
        "coupons_csv_sha256": sha256_hex(month.coupons_csv),
        "input_fingerprint": registered.fingerprint,
        "rules_sha256": run.rules.sha256(),
        "rules_json": run.rules.canonical_json(),
        "code_version": sql_runner.code_version(),
        "coupon_key_kind": run.key.kind,
        "coupon_key_id": run.key.key_id,
        "rejected_rows_accepted": registered.rejected_count,
        "quarantine_sha256": registered.quarantine_sha256,
    }


def publish(run: SettlementRun, month: ValidatedMonth) -> Outcome:
    """Commit the month in one transaction, then render the batch files from committed rows
    (a dry run writes the preview instead and touches no ledger)."""
    record = _settlement_record(run, month)
    if run.options.dry_run:
        folder = _write_preview(run, record, month.coupons_csv)
        staged = run.con.execute("select reason_code, count(*) from referee_status group by all")
        return _outcome(run, "dry run", record, folder, dict(staged.fetchall()), month)
    with warehouse.transaction(run.con):
        warehouse.append(run.con, PUBLISHED_TABLES, "settlements", record)
        crash_point("during_ledger_transaction")
        sql_runner.script(run.con, sql_runner.sql_file("schema/update_incremental_state.sql"))
    crash_point("after_commit")
    folder = write_batch_files(run)
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
        coupons_csv = render_coupons_csv(_coupon_rows(run, "warehouse.coupons"), run.key)
        folder = _write_preview(run, record, coupons_csv)
        return _published_outcome(run, "dry run", folder, registered)
    return _published_outcome(run, "already published", write_batch_files(run), registered)


def _write_preview(run: SettlementRun, record: dict, coupons_csv: bytes) -> Path:
    folder = make_private_dir(run.layout.preview_dir(run.month))
    atomic_write(folder / "coupons.csv", coupons_csv)
    atomic_write(
        folder / "manifest.json", render_manifest(record, coupons_csv, record["rules_json"])
    )
    return folder


def write_batch_files(run: SettlementRun) -> Path:
    """Render coupons.csv and manifest.json from the committed month and publish them atomically.

    Safe to repeat: identical bytes are not rewritten, and a mismatch with the recorded
    SHA-256 (a different key or tampered rows) refuses to write.
    """
    record = warehouse.month_record(run.con, "settlements", "settlement_month", run.month)
    coupons_csv = render_coupons_csv(_coupon_rows(run, "warehouse.coupons"), run.key)
    if sha256_hex(coupons_csv) != record["coupons_csv_sha256"]:
        raise StateConflict(
            f"{run.month}: re-rendered coupons.csv does not match the published SHA-256 (was the "
            "coupon key changed?); nothing was written"
        )
    folder = make_private_dir(run.layout.batch_dir(run.month))
    atomic_write(folder / "coupons.csv", coupons_csv)
    crash_point("after_coupons_file")
    atomic_write(
        folder / "manifest.json", render_manifest(record, coupons_csv, record["rules_json"])
    )
    return folder


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
    )


PIPELINE = Pipeline(
    name="settlement",
    open=open_run,
    stages=(
        Stage("register inputs", register_inputs),
        Stage("stage", stage),
        Stage("compute", compute),
        Stage("validate invariants", validate),
        Stage("publish", publish),
    ),
    republish=Stage("republish", republish),
)


def settle(month: str, options: RunOptions) -> Outcome:
    """Every stage in order without Prefect (tests, benchmarks); the flow runs the same list."""
    return run_pipeline(PIPELINE, month, options)
