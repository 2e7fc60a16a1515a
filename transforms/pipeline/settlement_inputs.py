"""The settlement's first stage: the month's place in the ledger, its input files checked
against the contract, what it sees fingerprinted, and for a month to compute the billing
cycles to scan, registered and audited."""

import logging

from transforms import contracts, months
from transforms.errors import InputError
from transforms.pipeline import (
    evidence,
    input_fingerprints,
    inputs,
    ledger_start,
    sql_runner,
    warehouse,
)
from transforms.pipeline.files import sha256_file
from transforms.pipeline.settlement_run import RegisteredInputs, SettlementRun
from transforms.summary import progress

RAW_VISIBLE_REFERRALS = sql_runner.sql_file("raw/raw_visible_referrals.sql")
SHRUNKEN_SNAPSHOTS = sql_runner.sql_file("queries/shrunken_snapshots.sql")
# a cycle with fewer lines than this share of the previous cycle's is a partial delivery
# until the operator says otherwise; cycles smaller than MIN_LINES_TO_COMPARE are too small
# to judge (test worlds, a provider's first months)
CYCLE_SHRINK_RATIO = 0.1
MIN_LINES_TO_COMPARE = 100
RAW_BILLING_RELATIONS = (
    sql_runner.sql_file("raw/raw_billing_repeated_hashes.sql"),
    sql_runner.sql_file("raw/raw_billing_repeats.sql"),
)


def register_inputs(run: SettlementRun, _previous=None) -> RegisteredInputs:
    """Check the month's place in the ledger, find and check the input files, fingerprint
    what the month sees, and for a month to compute: register the billing cycles to scan
    and run the input audits."""
    con, options, month = run.con, run.options, run.month
    warehouse.guard_published_months(con, run.layout)
    evidence.guard(con, run.layout)
    already_published = warehouse.check_month_order(
        month, warehouse.published_months(con), first=ledger_start.first_month(con)
    )
    data_dir = inputs.require_data_dir(options.data_dir)
    if not options.dry_run:
        ledger_start.check_data_dir(con, data_dir, options.data_moved)
    billing = inputs.billing_cycles(data_dir, month)
    inputs.register_eligible_products(con, options.eligible_products)
    snapshots = {
        c: inputs.snapshot_files(data_dir, c) for c in (contracts.REFERRALS, contracts.ACCOUNTS)
    }
    # a full recompute trusts nothing kept from earlier runs, not even file digests
    known = warehouse.known_file_digests(con) if options.incremental else {}
    file_hashes, cycle_hashes, stamped = input_fingerprints.cycle_fingerprints(billing, known)
    if not options.dry_run:
        warehouse.remember_file_digests(con, stamped.keys() - known.keys(), stamped)
    for contract, paths in snapshots.items():
        inputs.register(con, contract, list(paths))
    sql_runner.create(con, RAW_VISIBLE_REFERRALS, run.parameters)
    eligible_sha256 = sha256_file(options.eligible_products)
    fingerprint = input_fingerprints.month_fingerprint(con, data_dir, file_hashes, eligible_sha256)
    lines_fingerprint = input_fingerprints.lines_fingerprint(data_dir, file_hashes, eligible_sha256)
    if already_published:
        # same fingerprint, rules and key: the month is re-rendered from the ledger, and its
        # inputs were audited when it was published
        return RegisteredInputs(
            True, fingerprint, len(billing), lines_fingerprint=lines_fingerprint
        )
    # per billing cycle, the digests it was last scanned with (warehouse.billing_cycle_scans)
    stored = {
        row["billing_cycle"]: (row["files_sha256"], row["eligible_products_sha256"])
        for row in sql_runner.rows(con, sql_runner.sql_file("queries/billing_cycle_scans.sql"))
    }
    check_known_cycles(run, data_dir, billing, stored)
    shrinkage = snapshot_shrinkage(run, snapshots)
    scanned = cycles_to_scan(run, cycle_hashes, eligible_sha256, stored)
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
    carried_from = months.previous_month(month)
    sql_runner.script(
        con,
        sql_runner.sql_file("control/window_state_month.sql"),
        {"state_month": carried_from, "usable": window_state_usable(run, scanned, carried_from)},
    )
    inputs.register(con, contracts.BILLING, [p for c in scanned for p in billing[c]])
    inputs.register_billing_records(con, [p for paths in billing.values() for p in paths])
    month_lines = con.execute(
        "select count(*) from raw_billing_lines where billing_cycle = $cycle", {"cycle": month}
    ).fetchone()[0]
    if month_lines == 0:
        folder = data_dir / "billing" / f"billing_cycle={month}"
        raise InputError(f"{folder}: the billing export for {month} is empty (no bill lines)")
    shrinkage += cycle_shrinkage(run, billing, month_lines)
    accepted = accept_shrinkage(run, shrinkage)
    for relation in RAW_BILLING_RELATIONS:
        each = (
            [{"billing_cycle": c} for c in scanned]
            if "billing_cycle" in relation.parameters
            else None
        )
        sql_runner.create(con, relation, run.parameters, each=each)
    rejected, quarantine_sha256 = inputs.run_audits(
        con,
        sql_runner.folder("audits/inputs"),
        {**run.parameters, "data_end_date": inputs.newest_cycle_end(data_dir)},
        run.layout.quarantine_file(month),
        options.max_rejected,
    )
    return RegisteredInputs(
        False,
        fingerprint,
        len(billing),
        tuple(scanned),
        rejected,
        quarantine_sha256,
        accepted,
        tuple((str(p), file_hashes[p]) for c in scanned for p in billing[c]),
        tuple((str(p), file_hashes[p]) for c in sorted(billing) for p in billing[c]),
        min(billing),
        lines_fingerprint,
    )


def check_known_cycles(run: SettlementRun, data_dir, billing: dict, stored: dict) -> None:
    """Every billing cycle an earlier run read (up to the month) must still be delivered:
    a cycle that disappeared would take back what its spend earned."""
    gone = sorted(cycle for cycle in stored if cycle <= run.month and cycle not in billing)
    if gone:
        raise InputError(
            f"{data_dir / 'billing' / f'billing_cycle={gone[0]}'}: no billing export for "
            f"{gone[0]}, which earlier months were settled on"
            f"{f' (and {len(gone) - 1} more cycle(s))' if len(gone) > 1 else ''} (rule: a "
            "delivered billing cycle is never withdrawn)"
        )


def snapshot_shrinkage(run: SettlementRun, snapshots: dict) -> list[str]:
    """An empty referral or account snapshot stops the run; what a snapshot lost since the
    previous published month is returned (accept_shrinkage decides)."""
    for contract, paths in snapshots.items():
        (rows,) = run.con.execute(f"select count(*) from {contract.relation}").fetchone()
        if rows == 0:
            folder = paths[0].parent
            raise InputError(
                f"{folder}: the {contract.name} snapshot holds no rows (rule: a snapshot is "
                "never empty; a month settled on it would pay nothing)"
            )
    lost = sql_runner.rows(run.con, SHRUNKEN_SNAPSHOTS, run.parameters)
    folders = {c.name: paths[0].parent for c, paths in snapshots.items()}
    return [
        f"{folders[row['snapshot']]}: {row['lost_count']} {row['snapshot']} known to "
        f"{run.dates.previous_month} are missing (e.g. {row['example']})"
        for row in lost
    ]


def cycle_shrinkage(run: SettlementRun, billing: dict, month_lines: int) -> list[str]:
    """The month's cycle, when it is far smaller than the cycle before it."""
    previous = months.previous_month(run.month)
    if previous not in billing:
        return []
    files = [str(p) for p in billing[previous]]
    (previous_lines,) = run.con.execute(
        "select count(*) from read_parquet($files)", {"files": files}
    ).fetchone()
    if previous_lines < MIN_LINES_TO_COMPARE or month_lines >= previous_lines * CYCLE_SHRINK_RATIO:
        return []
    folder = billing[run.month][0].parent
    return [
        f"{folder}: {month_lines} bill line(s), fewer than {CYCLE_SHRINK_RATIO:.0%} of "
        f"{previous}'s {previous_lines}"
    ]


def accept_shrinkage(run: SettlementRun, shrinkage: list[str]) -> tuple[str, ...]:
    """Smaller inputs stop the run (exit 3) unless the operator accepts them; what was
    accepted is recorded with the month (settlements.accepted_shrinkage, the manifest)."""
    if not shrinkage:
        return ()
    if not run.options.accept_shrunk_inputs:
        raise InputError(
            "; ".join(shrinkage)
            + " (rule: inputs only grow; if this delivery is right, rerun with "
            "--accept-shrunk-inputs, which is recorded with the month)"
        )
    for line in shrinkage:
        progress(f"accepted (--accept-shrunk-inputs): {line}", logging.WARNING)
    return tuple(shrinkage)


def cycles_to_scan(
    run: SettlementRun, cycle_hashes: dict[str, str], eligible_sha256: str, stored: dict
):
    """The billing cycles this run must read (see docs/performance.md#incremental).

    Every cycle on a full recompute or a first settlement. Otherwise: the month's own
    cycle, every cycle whose files or eligible-products list changed since it was last
    scanned, and every cycle from the registration month of any referee the cache does
    not cover yet (sql/queries/earliest_uncached_referee.sql).
    """
    if not run.options.incremental:
        return sorted(cycle_hashes)
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


def window_state_usable(run: SettlementRun, scanned: list[str], state_month: str) -> bool:
    """Whether this month may advance the per-referee window state that `state_month`
    kept (sql/intermediate/int_carried_referees.sql), instead of summing every referee's
    days again: only when no day before this month's cycle can have changed. So an
    incremental run that scans this month's cycle alone (no corrected cycle, no changed
    eligible-products list, no referee registered before the kept cycles), right after the
    state's month, under the same rules (the threshold decides the crossings)."""
    if not run.options.incremental or list(scanned) != [run.month]:
        return False
    kept = warehouse.month_record(run.con, "settlements", "settlement_month", state_month)
    return kept is not None and kept["rules_sha256"] == run.rules.sha256()
