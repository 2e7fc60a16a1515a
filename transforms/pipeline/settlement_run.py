"""One month's settlement run: what its stages read (SettlementRun, built once by `open_run`)
and the values they hand each other (RegisteredInputs -> ValidatedMonth -> Outcome)."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from transforms.coupon_codes import WHAT_IF_KEY, CouponKey, key_from_environment
from transforms.errors import UsageError
from transforms.months import MonthDates
from transforms.pipeline import sql_runner, warehouse
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.runner import Run
from transforms.rules import Rules, load_rules


@dataclass(kw_only=True)
class SettlementRun(Run):
    """A settlement's run: the month's dates, the rules and the coupon key besides."""

    dates: MonthDates
    rules: Rules
    key: CouponKey


@dataclass(frozen=True)
class RegisteredInputs:
    already_published: bool
    fingerprint: str
    visible_cycles: int
    scanned_cycles: tuple[str, ...] = ()
    rejected_count: int = 0
    quarantine_sha256: str = ""
    accepted_shrinkage: tuple[str, ...] = ()  # what --accept-shrunk-inputs let through
    scanned_files: tuple[tuple[str, str], ...] = ()  # (path, SHA-256) of the scanned cycles
    record_files: tuple[tuple[str, str], ...] = ()  # the same of every cycle up to the month
    first_cycle: str = ""  # the data's first delivered billing cycle
    # the digest of what explain reads again (billing files, eligible products), apart from
    # the snapshots: a month stays explainable after its snapshots move on
    lines_fingerprint: str = ""
    # referees whose windows were advanced from the last month's state, of all referees
    # (sql/intermediate/int_carried_referees.sql); set by the compute stage
    carried_referees: int = 0
    referee_count: int = 0


@dataclass(frozen=True)
class ValidatedMonth:
    inputs: RegisteredInputs
    rendered: dict[str, bytes]  # the batch's data files from the computed month: validated
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
    welcome_count: int = 0  # welcome rewards issued to the month's friends (two per friend)
    welcome_total_usd: Decimal = Decimal("0.00")
    carried_referees: int = 0
    referee_count: int = 0


def open_run(month: str, options: RunOptions) -> SettlementRun:
    try:
        rules = load_rules(options.config)
        key = WHAT_IF_KEY if options.what_if else key_from_environment()
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
        allocator_background_threads=options.allocator_background_threads,
    )
    parameters = {**rules.sql_parameters(dates), **sql_runner.EVERY_CYCLE}
    return SettlementRun(
        month=month,
        options=options,
        layout=layout,
        parameters=parameters,
        con=con,
        dates=dates,
        rules=rules,
        key=key,
    )
