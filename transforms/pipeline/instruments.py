"""The instrument pipeline: vouchers and referral coupons through one lifecycle engine
(transforms/instrument_lifecycle.py), fed and drained by the same edges as the settlement.

register inputs -> compute -> validate (roll-forward identity) -> publish (one transaction,
then files rendered from the committed rows); a month already published takes `republish`.
Months run in order with no gaps; a published month reruns byte-identically; changed inputs
of a published month are a conflict.
"""

import hashlib
import json
from pathlib import Path

from transforms import contracts, instrument_rollforward, instrument_rows, months
from transforms import instrument_lifecycle as engine
from transforms.errors import StateConflict, UsageError, ValidationFailure
from transforms.pipeline import evidence, inputs, preflight, sql_runner, warehouse
from transforms.pipeline.files import sha256_file
from transforms.pipeline.instruments_publish import (
    InstrumentsOutcome,
    RegisteredInstruments,
    publish,
    republish,
)
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import Pipeline, Run, Stage, run_pipeline
from transforms.rules import RulesError, load_rules

MODELS = ("int_instruments_issued", "int_instrument_events")
INPUTS = (contracts.VOUCHER_CATALOG, contracts.VOUCHER_EVENTS, contracts.COUPON_USAGE)


def open_run(month: str, options: RunOptions) -> Run:
    # every term the ledger applies travels with the instrument (warehouse.instrument_state,
    # warehouse.coupons); the rules file is still read, so that a command line with --config
    # fails the same way for every command when the file is broken (docs/instruments.md)
    try:
        rules = load_rules(options.config)
    except RulesError as error:
        raise UsageError(str(error)) from error
    data_dir = inputs.require_data_dir(options.data_dir)
    layout = OutputLayout(Path(options.out_dir))
    # OUT must take what the month writes before anything commits (exit 6 otherwise)
    preflight.instrument_month(layout, month)
    con = warehouse.connect(layout, read_only=False, readable=(data_dir,))
    published = warehouse.published_months(con, "instrument_months", "instrument_month")
    previous_cutoff = months.cutoff_date(published[-1]) if published else None
    parameters = {
        "instrument_month": month,
        "previous_month": months.previous_month(month),
        "cutoff_date": months.cutoff_date(month),
        # events dated on or before it that no month listed yet arrive late (int_instrument_events)
        "previous_instrument_cutoff_date": previous_cutoff,
        "id_pattern": rules.id_pattern,  # the id contract (docs/data-contract.md#ids)
        **contracts.allowed_values(),
    }
    return Run(month=month, options=options, layout=layout, parameters=parameters, con=con)


def register_inputs(run: Run, _previous=None) -> RegisteredInstruments:
    """Check the month's place in both ledgers, check and register the input files, and
    fingerprint what the month sees (its files and the coupons issued by its cutoff)."""
    con, month = run.con, run.month
    warehouse.guard_published_months(con, run.layout)
    evidence.guard(con, run.layout)
    already_published = warehouse.check_month_order(
        month,
        warehouse.published_months(con, "instrument_months", "instrument_month"),
        ledger="instrument ledger",
        verb="run",
    )
    if not already_published:
        _check_settled_before(con, month)
    paths = []
    for contract in (*INPUTS, contracts.ACCOUNTS):
        files = inputs.snapshot_files(run.options.data_dir, contract, allow_none=True)
        inputs.register(con, contract, list(files))
        paths += files
    sql_runner.create(
        con, sql_runner.sql_file("intermediate/int_coupons_issued.sql"), run.parameters
    )
    coupons = con.execute(
        "select referrer_account_id, settlement_month, amount_usd from int_coupons_issued "
        "order by settlement_month, referrer_account_id"
    ).fetchall()
    document = {
        "files": [[str(p.relative_to(run.options.data_dir)), sha256_file(p)] for p in paths],
        "coupons": [[referrer, month_, str(amount)] for referrer, month_, amount in coupons],
    }
    welcome = con.execute(
        "select referee_account_id, instrument_kind, settlement_month, amount_usd "
        "from warehouse.welcome_rewards where settlement_month <= $month order by all",
        {"month": month},
    ).fetchall()
    if welcome:  # absent when none: months fingerprinted before welcome rewards keep theirs
        document["welcome"] = [[*row[:3], str(row[3])] for row in welcome]
    fingerprint = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    if already_published:
        # same fingerprint: re-rendered from the ledger; its inputs were audited when published
        return RegisteredInstruments(True, fingerprint)
    # the same input edge as the settlement: rejected rows go to the quarantine and block
    # the month (exit 3) unless the operator accepts them; accepted ones are left out
    rejected, quarantine_sha256 = inputs.run_audits(
        con,
        sql_runner.folder("audits/instrument_inputs"),
        run.parameters,
        run.layout.instrument_quarantine_file(month),
        run.options.max_rejected,
    )
    return RegisteredInstruments(False, fingerprint, rejected, quarantine_sha256)


def _check_settled_before(con, month: str) -> None:
    """Once this OUT settles, an instrument month needs the settlements that feed it: M-1
    (its coupons are issued on the 5th of M) and M (its friends' welcome rewards)."""
    settled = warehouse.published_months(con)
    previous = months.previous_month(month)
    if settled and settled[0] <= previous and previous not in settled:
        raise StateConflict(
            f"{month}: settle {previous} first: its coupons are issued in {month} and enter "
            "this month's instrument ledger"
        )
    if settled and settled[0] <= month and month not in settled:
        raise StateConflict(
            f"{month}: settle {month} first: the welcome rewards of its referred friends enter "
            "this month's instrument ledger"
        )


def compute(run: Run, registered: RegisteredInstruments) -> RegisteredInstruments:
    """The instrument models pick the month's new instruments and events; the lifecycle
    engine applies the events in order, expires, and rolls forward per kind."""
    con = run.con
    for model in sql_runner.models_for(MODELS):
        sql_runner.create(con, model, run.parameters)
    opening = {
        row["instrument_id"]: instrument_rows.instrument(row)
        for row in sql_runner.rows(
            con, sql_runner.sql_file("queries/instrument_opening_state.sql"), run.parameters
        )
    }
    issued = [
        instrument_rows.instrument(row)
        for row in warehouse.fetch_dicts(con, "select * from int_instruments_issued order by all")
    ]
    events = warehouse.fetch_dicts(con, "select * from int_instrument_events order by all")
    accounts = frozenset(
        r for (r,) in con.execute("select distinct account_id from raw_accounts").fetchall()
    )
    result = engine.run_month(
        opening,
        issued,
        [instrument_rows.event(e) for e in events if not e["is_duplicate"]],
        accounts,
        run.parameters["cutoff_date"],
    )
    duplicates = [instrument_rows.event(e) for e in events if e["is_duplicate"]]
    result.outcomes.extend(
        engine.Outcome(event, False, engine.DUPLICATE_EVENT_ID)
        for event in engine.order_events(duplicates)
    )
    warehouse.stage_rows(con, "instrument_state", instrument_rows.state_rows(run.month, result))
    warehouse.stage_rows(
        con, "instrument_events", instrument_rows.event_rows(run.month, result.outcomes)
    )
    warehouse.stage_rows(
        con,
        "instrument_rollforward",
        instrument_rows.rollforward_rows(
            run.month, instrument_rollforward.rollforward(opening, issued, result)
        ),
    )
    return registered


def validate(run: Run, registered: RegisteredInstruments) -> RegisteredInstruments:
    """The roll-forward identity per kind (sql/audits/instruments/); nothing is published
    when it does not hold."""
    for audit in sql_runner.folder("audits/instruments"):
        found = sql_runner.rows(run.con, audit, run.parameters)
        if found:
            kinds = ", ".join(row["instrument_kind"] for row in found)
            raise ValidationFailure(
                f"{run.month}: roll-forward does not balance for {kinds}; nothing published"
            )
    return registered


PIPELINE = Pipeline(
    name="instruments",
    open=open_run,
    stages=(
        Stage("register inputs", register_inputs, "checking and auditing the instrument inputs"),
        Stage("compute", compute, "applying the month's events to every instrument"),
        Stage("validate roll-forward", validate, "the roll-forward identity per kind"),
        Stage("publish", publish, "one ledger transaction, then the month's files"),
    ),
    republish=Stage("republish", republish, "rendering the published files again"),
)


def run_month(month: str, options: RunOptions) -> InstrumentsOutcome:
    """Every stage in order without Prefect (tests); the flow runs the same list."""
    return run_pipeline(PIPELINE, month, options)
