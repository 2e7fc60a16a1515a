"""The settlement's stages as plain functions; the Prefect flow only sequences them.

register_inputs -> stage -> compute -> validate -> publish. Each stage reads and
writes the Session; the SQL does the computing, transforms/ the pure work.
"""

import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path

from flows import io, output_validation, warehouse
from flows.errors import InputError, StateConflict, UsageError, ValidationFailure
from flows.faults import crash_point
from transforms import months
from transforms.batch_file import render_coupons_csv, render_manifest, sha256_hex
from transforms.coupon_codes import CouponKey, key_from_environment
from transforms.rules import DEFAULT_ELIGIBLE_PRODUCTS_PATH, Rules, load_rules
from transforms.sql_models import SQL_ROOT, bind, load_models, run_audit, run_model


@dataclass(frozen=True)
class SettlementRequest:
    month: str
    data_dir: Path
    out_dir: Path
    eligible_products: Path = DEFAULT_ELIGIBLE_PRODUCTS_PATH
    rules_path: Path | None = None
    dry_run: bool = False
    max_rejected: int = 0
    incremental: bool = True
    threads: int | None = None
    # DuckDB's share of the 3 GB budget; Python (GX frames, batch rendering) needs the rest
    memory_limit: str = "2GB"


@dataclass
class Session:
    request: SettlementRequest
    rules: Rules
    key: CouponKey
    con: object
    parameters: dict
    started_at: float = field(default_factory=time.perf_counter)
    files: io.InputFiles | None = None
    fingerprint: str | None = None
    already_published: bool = False
    rejected_count: int = 0
    quarantine_sha256: str = ""
    report_index: Path | None = None
    scanned_cycles: list[str] = field(default_factory=list)
    staged_coupons_csv: bytes = b""  # rendered once by validate, published by publish

    def close(self) -> None:
        # drop the reference too: a failed run's traceback (kept by Prefect's state) must
        # not keep the DuckDB connection alive until interpreter exit
        if self.con is not None:
            self.con.close()
            self.con = None


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


def code_version() -> str:
    """Package version plus a digest of the SQL models, recorded with each publication."""
    try:
        version = metadata.version("creditflow")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    digest = hashlib.sha256()
    for path in sorted(SQL_ROOT.rglob("*.sql")):
        digest.update(path.relative_to(SQL_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{version}+sql.{digest.hexdigest()[:12]}"


def open_session(request: SettlementRequest) -> Session:
    months.parse_month(request.month)
    try:
        rules = load_rules(request.rules_path)
        key = key_from_environment()
    except ValueError as error:
        raise UsageError(str(error)) from error
    con = warehouse.connect(
        request.out_dir,
        read_only=request.dry_run,
        readable=(Path(request.data_dir), Path(request.eligible_products)),
        threads=request.threads,
        memory_limit=request.memory_limit,
    )
    return Session(request, rules, key, con, rules.sql_parameters(request.month))


def register_inputs(session: Session) -> None:
    """Check the month's place in the ledger, find and check the input files, fingerprint them."""
    request = session.request
    session.already_published = warehouse.check_month_order(session.con, request.month)
    session.files = io.discover_inputs(request.data_dir, request.month, request.eligible_products)
    # a full recompute trusts nothing kept from earlier runs, not even file digests
    known = warehouse.known_file_digests(session.con) if request.incremental else {}
    file_hashes, cycle_hashes, stamped = io.cycle_fingerprints(session.files, known)
    if not request.dry_run:
        warehouse.remember_file_digests(session.con, stamped.keys() - known.keys(), stamped)
    io.register_snapshots(session.con, session.files)
    session.fingerprint = io.input_fingerprint(
        session.con, session.files, session.parameters["cutoff_date"], file_hashes
    )
    if session.already_published:
        # same fingerprint, rules and key: the month is re-rendered from the ledger, and its
        # inputs were audited when it was published
        check_published_unchanged(session)
        return
    eligible_sha256 = io.sha256_file(session.files.eligible_products)
    scanned = cycles_to_scan(session, cycle_hashes, eligible_sha256)
    session.con.execute(
        "create or replace temp table scanned_cycles as "
        "select unnest($cycles) as billing_cycle, unnest($hashes) as files_sha256, "
        "$eligible as eligible_products_sha256",
        {
            "cycles": scanned,
            "hashes": [cycle_hashes[c] for c in scanned],
            "eligible": eligible_sha256,
        },
    )
    session.con.execute(
        "create or replace temp table cached_cycles as select unnest($cycles) as billing_cycle",
        {"cycles": sorted(set(cycle_hashes) - set(scanned)) or [""]},
    )
    session.scanned_cycles = scanned
    io.register_billing(session.con, session.files, scanned, request.month)
    build_raw_relations(session)
    run_input_audits(session)


def build_raw_relations(session: Session) -> None:
    """The relations over raw inputs that the input audits read (sql/raw/, in name order).

    A file that takes $billing_cycle is run once per scanned cycle and its rows gathered,
    so its working set is one cycle's, however long the history."""
    for path in sorted((SQL_ROOT / "raw").glob("*.sql")):
        sql = path.read_text().strip().rstrip(";")
        if "$billing_cycle" not in sql:
            session.con.execute(f"create or replace temp table {path.stem} as\n{sql}")
            continue
        for number, cycle in enumerate(session.scanned_cycles):
            verb = "create or replace temp table {} as" if number == 0 else "insert into {}"
            session.con.execute(
                f"{verb.format(path.stem)}\n{sql}",
                bind(sql, {**session.parameters, "billing_cycle": cycle}),
            )


def cycles_to_scan(
    session: Session, cycle_hashes: dict[str, str], eligible_sha256: str
) -> list[str]:
    """The billing cycles this run must read (see docs/performance.md#incremental).

    Every cycle on a full recompute or a first settlement. Otherwise: the month's own
    cycle, every cycle whose files or eligible-products list changed since it was last
    scanned, and every cycle from the registration month of any referee the cache does
    not cover yet, or covers only from a later registration (its spend there was not
    kept when those cycles were scanned).
    """
    month = session.request.month
    if not session.request.incremental:
        return sorted(cycle_hashes)
    stored = {
        cycle: (files_sha256, eligible)
        for cycle, files_sha256, eligible in session.con.execute(
            "select billing_cycle, files_sha256, eligible_products_sha256 "
            "from warehouse.billing_cycle_scans"
        ).fetchall()
    }
    # the cache holds each referee account's spend from the first registration it knew;
    # an account it does not know, or one now registered earlier (a late listing), needs
    # the cycles from that registration on. Raw rows, read before the audits: a rejected
    # row can only make this rescan more, never less.
    earliest_new_referee = session.con.execute(
        """with visible as (
               select
                   referee_account_id as account_id,
                   min(cast(try_cast(registered_at as timestamp) as date)) as first_registered_date
               from raw_referrals
               where cast(try_cast(registered_at as timestamp) as date) <= $cutoff_date
               group by referee_account_id
           )
           select min(visible.first_registered_date)
           from visible
           left join warehouse.cached_referees as cached on visible.account_id = cached.account_id
           where cached.account_id is null
              or visible.first_registered_date < cached.registered_date""",
        {"cutoff_date": session.parameters["cutoff_date"]},
    ).fetchone()[0]
    from_month = f"{earliest_new_referee:%Y-%m}" if earliest_new_referee else month
    return sorted(
        cycle
        for cycle, digest in cycle_hashes.items()
        if cycle == month or stored.get(cycle) != (digest, eligible_sha256) or cycle >= from_month
    )


def check_published_unchanged(session: Session) -> None:
    """A rerun of a published month must see the same inputs, rules and coupon key."""
    month = session.request.month
    record = warehouse.settlement_record(session.con, month)
    changed = [
        what
        for what, now, then in (
            ("inputs", session.fingerprint, record["input_fingerprint"]),
            ("rules", session.rules.sha256(), record["rules_sha256"]),
            ("coupon key", session.key.key_id, record["coupon_key_id"]),
        )
        if now != then
    ]
    if changed:
        raise StateConflict(
            f"{month} is already published and its {' and '.join(changed)} changed since; nothing "
            f"was changed: corrections flow into the next unsettled month as ledger deltas"
        )


def run_input_audits(session: Session) -> None:
    """Every row rule in sql/audits/inputs; rejected rows go to the quarantine.

    Any rejected row blocks the run (exit 3, one line per rule and file with counts and a
    pointer to the quarantine) unless the operator accepts up to --max-rejected of them;
    accepted rows are left out of the settlement and recorded in the manifest.
    """
    con = session.con
    con.execute(
        """create or replace temp table rejected_rows (
            audit varchar, source_file varchar, file_row_number bigint,
            row_key varchar, broken_rule varchar)"""
    )
    for path in sorted((SQL_ROOT / "audits" / "inputs").glob("*.sql")):
        sql = path.read_text().strip().rstrip(";")
        con.execute(
            f"insert into rejected_rows select $audit, * from ({sql})",
            {"audit": path.stem, **bind(sql, session.parameters)},
        )
    month = session.request.month
    quarantine = session.request.out_dir / "quarantine" / month / "rejected_rows.parquet"
    session.quarantine_sha256 = io.write_quarantine(con, quarantine)
    session.rejected_count = con.execute("select count(*) from rejected_rows").fetchone()[0]
    if session.rejected_count <= session.request.max_rejected:
        return
    lines = []
    for audit, source_file, broken_rule, count, example in con.execute(
        """select audit, source_file, broken_rule, count(*), min(row_key)
           from rejected_rows group by all order by all"""
    ).fetchall():
        lines.append(
            f"{source_file}: {broken_rule} ({count} row(s), e.g. {example}) [audit {audit}]"
        )
    lines.append(
        f"{session.rejected_count} rejected row(s) kept in {quarantine}; fix the inputs, or accept "
        f"them with --max-rejected {session.rejected_count}"
    )
    raise InputError("\n".join(lines))


def stage(session: Session) -> None:
    """Run the staging models (rename, cast, dedup)."""
    if not session.already_published:
        _run_layer(session, "staging")
        crash_point("after_staging")


def compute(session: Session) -> None:
    """Run the intermediate and mart models: entitlements, ledger deltas, balances, coupons."""
    if not session.already_published:
        _run_layer(session, "intermediate")
        _run_layer(session, "marts")


def _run_layer(session: Session, layer: str) -> None:
    for model in load_models():
        if model.layer == layer:
            run_model(session.con, model, session.parameters)


def validate(session: Session) -> None:
    """Audit the staged outputs before publishing: the SQL invariants in sql/audits/outputs
    and the Great Expectations suites in expectations/. Any failure blocks publishing."""
    if session.already_published:
        return
    failures = []
    for path in sorted((SQL_ROOT / "audits" / "outputs").glob("*.sql")):
        columns, rows = run_audit(session.con, path, session.parameters)
        if rows:
            examples = "; ".join(str(dict(zip(columns, row, strict=True))) for row in rows[:3])
            failures.append(f"invariant {path.stem} broken by {len(rows)} row(s): {examples}")
    month = session.request.month
    session.staged_coupons_csv = _staged_coupons_csv(session)
    frames = output_validation.build_frames(session.con, session.staged_coupons_csv)
    report_dir = session.request.out_dir / "reports" / month
    for failure in output_validation.validate(
        frames, output_validation.suite_parameters(session.rules), report_dir
    ):
        failures.append(failure.describe())
    session.report_index = report_dir / "index.html"
    if failures:
        raise ValidationFailure(
            f"{month}: nothing published; "
            + " | ".join(failures)
            + f" (report: {session.report_index})"
        )


def _staged_coupons_csv(session: Session) -> bytes:
    return render_coupons_csv(
        warehouse.coupon_rows(session.con, session.request.month, source="coupons"), session.key
    )


def _settlement_record(session: Session, coupons_csv: bytes) -> dict:
    totals = session.con.execute(
        """
        select
            (select count(*) from coupons),
            (select coalesce(sum(amount_usd), 0) from coupons),
            (select coalesce(sum(amount_usd), 0) from ledger_entries),
            (select coalesce(sum(carry_in_usd), 0) from referrer_balances),
            (select coalesce(sum(carry_out_usd), 0) from referrer_balances)
        """
    ).fetchone()
    month = session.request.month
    return {
        "settlement_month": month,
        "cutoff_date": session.parameters["cutoff_date"],
        "previous_month": session.parameters["previous_month"],
        "issued_on": session.parameters["issued_on"],
        "coupon_count": totals[0],
        "coupon_total_usd": Decimal(totals[1]),
        "ledger_delta_total_usd": Decimal(totals[2]),
        "carry_in_total_usd": Decimal(totals[3]),
        "carry_out_total_usd": Decimal(totals[4]),
        "coupons_csv_sha256": sha256_hex(coupons_csv),
        "input_fingerprint": session.fingerprint,
        "rules_sha256": session.rules.sha256(),
        "rules_json": session.rules.canonical_json(),
        "code_version": code_version(),
        "coupon_key_kind": session.key.kind,
        "coupon_key_id": session.key.key_id,
        "rejected_rows_accepted": session.rejected_count,
        "quarantine_sha256": session.quarantine_sha256,
    }


def publish(session: Session) -> Outcome:
    """Commit the month in one transaction, then render the batch files from committed rows."""
    request = session.request
    month = request.month
    if request.dry_run:
        if session.already_published:
            record = warehouse.settlement_record(session.con, month)
            coupons_csv = render_coupons_csv(warehouse.coupon_rows(session.con, month), session.key)
        else:
            coupons_csv = session.staged_coupons_csv
            record = _settlement_record(session, coupons_csv)
        folder = io.make_private_dir(request.out_dir / "previews" / month)
        io.atomic_write(folder / "coupons.csv", coupons_csv)
        io.atomic_write(
            folder / "manifest.json", render_manifest(record, coupons_csv, record["rules_json"])
        )
        return _outcome(
            session, "dry run", record, folder, source="" if session.already_published else "temp"
        )
    if not session.already_published:
        coupons_csv = session.staged_coupons_csv
        warehouse.publish(session.con, _settlement_record(session, coupons_csv))
        crash_point("after_commit")
        action = "published"
    else:
        action = "already published"
    folder = write_batch_files(session)
    return _outcome(session, action, warehouse.settlement_record(session.con, month), folder)


def write_batch_files(session: Session) -> Path:
    """Render coupons.csv and manifest.json from the committed month and publish them atomically.

    Safe to repeat: identical bytes are not rewritten, and a mismatch with the recorded
    SHA-256 (a different key or tampered rows) refuses to write.
    """
    month = session.request.month
    record = warehouse.settlement_record(session.con, month)
    coupons_csv = render_coupons_csv(warehouse.coupon_rows(session.con, month), session.key)
    if sha256_hex(coupons_csv) != record["coupons_csv_sha256"]:
        raise StateConflict(
            f"{month}: re-rendered coupons.csv does not match the published SHA-256 (was the "
            "coupon key changed?); nothing was written"
        )
    folder = io.make_private_dir(session.request.out_dir / "batches" / month)
    io.atomic_write(folder / "coupons.csv", coupons_csv)
    crash_point("after_coupons_file")
    io.atomic_write(
        folder / "manifest.json", render_manifest(record, coupons_csv, record["rules_json"])
    )
    return folder


def _outcome(
    session: Session, action: str, record: dict, folder: Path, source: str = ""
) -> Outcome:
    table = "referee_status" if source == "temp" else "warehouse.referee_status"
    reason_counts = dict(
        session.con.execute(
            f"""select reason_code, count(*) from {table} where settlement_month = $m
                group by reason_code order by reason_code""",
            {"m": session.request.month},
        ).fetchall()
    )
    return Outcome(
        month=session.request.month,
        action=action,
        coupon_count=record["coupon_count"],
        coupon_total_usd=record["coupon_total_usd"],
        ledger_delta_total_usd=record["ledger_delta_total_usd"],
        carry_out_total_usd=record["carry_out_total_usd"],
        reason_counts=reason_counts,
        batch_dir=folder,
        coupon_key_kind=record["coupon_key_kind"],
        seconds=time.perf_counter() - session.started_at,
        report_index=session.report_index,
        scanned_cycles=tuple(session.scanned_cycles),
        visible_cycles=len(session.files.billing) if session.files else 0,
    )


def settle(request: SettlementRequest) -> Outcome:
    """All stages in order without Prefect (tests, benchmarks); the flow does the same."""
    session = open_session(request)
    try:
        register_inputs(session)
        stage(session)
        compute(session)
        validate(session)
        return publish(session)
    finally:
        session.close()
