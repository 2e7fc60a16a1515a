"""`creditflow explain`: one referrer's coupon of a settled month, cent by cent, down to the
bill lines.

The published facts (the coupon, the carries, each referee's ledger delta, statuses, Q,
the hold's end, S90 and S365) are read from the analysts' catalog (OUT/catalog.duckdb), so
explain never waits for a run and never makes one wait. The bill lines are read again from
the data directory recorded with the month, through the settlement's own input checks and
staging models (a full recompute into a private scratch directory, never into OUT), once
the directory is known to hold exactly what the month saw: its input fingerprint must
equal the published one. Which line counts where is sql/queries/explain_bill_lines.sql.

Nothing is shown that does not reconcile: Σ delta + carry in = coupon + carry out, and per
referee the lines counted in w90 (w365) sum to the published S90 (S365); a difference is
an error (exit 5), never a silently wrong explanation.
"""

import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from transforms.coupon_codes import key_from_environment
from transforms.errors import InputError, UsageError, ValidationFailure
from transforms.money import CENT, format_usd
from transforms.pipeline import catalog, sql_runner, warehouse
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.pipeline.settlement_inputs import register_inputs
from transforms.pipeline.settlement_run import SettlementRun
from transforms.rules import Rules, rules_from_json

BILL_LINES = sql_runner.sql_file("queries/explain_bill_lines.sql")
# the models the bill-line query reads, and what they need (staging, the accepted lines)
LINE_MODELS = ("int_accepted_billing_lines", "stg_eligible_products")
# every input row is shown as the settlement saw it: rejected rows are left out, as they
# were when the month was settled, whatever --max-rejected that run was given
ACCEPT_ANY_REJECTED = 10**12


@dataclass(frozen=True)
class BillLine:
    record_id: str
    billing_date: date
    effective_date: date
    product_code: str
    subscription_type: str
    cash_usd: Decimal
    original_record_id: str | None
    counts_in: tuple[str, ...]  # 'w90' and/or 'w365'


@dataclass(frozen=True)
class RefereeExplanation:
    referee_account_id: str
    referral_code: str
    is_winning_listing: bool
    reason_code: str
    base_status: str | None
    bonus_status: str | None
    is_capped: bool | None
    registered_date: date
    q_date: date | None
    hold_ends_on: date | None
    s90_usd: Decimal | None
    s365_usd: Decimal | None
    credited_before_usd: Decimal
    delta_base_usd: Decimal
    delta_bonus_usd: Decimal
    delta_usd: Decimal
    credited_to_date_usd: Decimal
    pending_usd: Decimal
    payable_on: date | None
    lines: tuple[BillLine, ...] = ()


@dataclass(frozen=True)
class Explanation:
    month: str
    referrer_account_id: str
    cutoff_date: date
    issued_on: date
    cap_per_referee_usd: Decimal
    coupon_usd: Decimal | None
    carry_in_usd: Decimal
    carry_out_usd: Decimal
    referees: tuple[RefereeExplanation, ...] = field(default_factory=tuple)

    @property
    def deltas_usd(self) -> Decimal:
        return sum((r.delta_usd for r in self.referees), Decimal("0.00"))


def explain_month(
    out: Path, month: str, referrers: list[str] | None = None, data_dir: Path | None = None
) -> list[Explanation]:
    """The explanations of the given referrers (None: every referrer with a balance row of
    the month), reconciled; `data_dir` overrides the directory recorded with the month."""
    layout = OutputLayout(Path(out))
    facts = _published_facts(layout, month, referrers)
    record = facts["settlement"]
    rules = rules_from_json(record["rules_json"])
    explanations = [_explanation(month, record, rules, *fact) for fact in facts["referrers"]]
    winning = [r for e in explanations for r in e.referees if r.is_winning_listing]
    if winning:
        lines = _bill_lines(record, rules, month, winning, data_dir)
        explanations = [_with_lines(e, lines) for e in explanations]
    for explanation in explanations:
        problems = reconciliation_problems(explanation)
        if problems:
            raise ValidationFailure(
                f"{month} {explanation.referrer_account_id}: the explanation does not "
                f"reconcile with what was published: {'; '.join(problems)}"
            )
    return explanations


def reconciliation_problems(explanation: Explanation) -> list[str]:
    """What does not add up (empty: every sum reconciles exactly)."""
    problems = []
    coupon = explanation.coupon_usd or Decimal("0.00")
    left = explanation.deltas_usd + explanation.carry_in_usd
    if left != coupon + explanation.carry_out_usd:
        problems.append(
            f"deltas {explanation.deltas_usd} + carry in {explanation.carry_in_usd} != "
            f"coupon {coupon} + carry out {explanation.carry_out_usd}"
        )
    for referee in explanation.referees:
        for window, published in (("w90", referee.s90_usd), ("w365", referee.s365_usd)):
            if published is None:
                continue
            lines = sum(
                (line.cash_usd for line in referee.lines if window in line.counts_in),
                Decimal("0.00"),
            )
            if lines != published:
                problems.append(
                    f"{referee.referee_account_id}: lines in {window} sum to "
                    f"{amount_text(lines)}, published {amount_text(published)}"
                )
    return problems


def _published_facts(layout: OutputLayout, month: str, referrers: list[str] | None) -> dict:
    with catalog.reader(layout) as con:
        records = warehouse.fetch_dicts(
            con, "select * from warehouse.settlements where settlement_month = $m", {"m": month}
        )
        if not records:
            raise UsageError(f"usage: {month} is not settled in {layout.root}")
        balances = {
            row["referrer_account_id"]: row
            for row in warehouse.fetch_dicts(
                con,
                "select * from warehouse.referrer_balances where settlement_month = $m",
                {"m": month},
            )
        }
        if referrers is None:
            referrers = sorted(balances)
        statuses = warehouse.fetch_dicts(
            con,
            "select * from warehouse.referee_status where settlement_month = $m "
            "and referrer_account_id in (select unnest($referrers)) "
            "order by referrer_account_id, referee_account_id, referee_listing_rank",
            {"m": month, "referrers": list(referrers)},
        )
    unknown = [r for r in referrers if r not in balances and not _any(statuses, r)]
    if unknown:
        raise UsageError(
            f"usage: {month}: no referral of referrer {unknown[0]!r} is settled in {layout.root}"
        )
    by_referrer = {
        r: (balances.get(r), [s for s in statuses if s["referrer_account_id"] == r])
        for r in referrers
    }
    return {
        "settlement": records[0],
        "referrers": [(r, *by_referrer[r]) for r in referrers],
    }


def _any(statuses: list[dict], referrer: str) -> bool:
    return any(s["referrer_account_id"] == referrer for s in statuses)


def _explanation(
    month: str, record: dict, rules: Rules, referrer: str, balance: dict | None, statuses
) -> Explanation:
    zero = Decimal("0.00")
    coupon = balance["coupon_amount_usd"] if balance else zero
    return Explanation(
        month=month,
        referrer_account_id=referrer,
        cutoff_date=record["cutoff_date"],
        issued_on=record["issued_on"],
        cap_per_referee_usd=rules.cap_per_referee_usd,
        coupon_usd=coupon if coupon > 0 else None,
        carry_in_usd=balance["carry_in_usd"] if balance else zero,
        carry_out_usd=balance["carry_out_usd"] if balance else zero,
        referees=tuple(_referee(status, rules) for status in statuses),
    )


def _referee(status: dict, rules: Rules) -> RefereeExplanation:
    qualified = status["qualified_date"]
    return RefereeExplanation(
        referee_account_id=status["referee_account_id"],
        referral_code=status["referral_code"],
        is_winning_listing=status["is_winning_listing"],
        reason_code=status["reason_code"],
        base_status=status["base_status"],
        bonus_status=status["bonus_status"],
        is_capped=status["is_capped"],
        registered_date=status["registered_date"],
        q_date=qualified,
        # the base is payable at the first cutoff on or after this day (rule 2)
        hold_ends_on=qualified + timedelta(days=rules.hold_days) if qualified else None,
        s90_usd=status["spend_first_90_days_usd"],
        s365_usd=status["eligible_spend_to_date_usd"],
        credited_before_usd=status["credited_before_usd"],
        delta_base_usd=status["delta_base_usd"],
        delta_bonus_usd=status["delta_bonus_usd"],
        delta_usd=status["delta_usd"],
        credited_to_date_usd=status["credited_to_date_usd"],
        pending_usd=(status["pending_base_usd"] or 0) + (status["pending_bonus_usd"] or 0),
        payable_on=status["payable_on"],
    )


def _bill_lines(
    record: dict, rules: Rules, month: str, referees: list, data_dir: Path | None
) -> dict[str, list[BillLine]]:
    """The bill lines of the referees' winning listings, per referee, as the settlement of
    the month counted them."""
    data = Path(data_dir) if data_dir else _recorded(record, "data_dir", "--data")
    products = Path(record.get("eligible_products_file") or "")
    if not products.is_file():
        raise InputError(
            f"{products}: the eligible products file {month} was settled with is not there"
        )
    dates = rules.month_dates(month)
    with tempfile.TemporaryDirectory(prefix="creditflow-explain-") as scratch:
        options = RunOptions(
            data_dir=data,
            out_dir=Path(scratch),
            eligible_products=products,
            incremental=False,
            max_rejected=ACCEPT_ANY_REJECTED,
            accept_shrunk_inputs=True,  # the month was settled on them as they are
        )
        layout = OutputLayout(Path(scratch))
        con = warehouse.connect(layout, read_only=False, readable=(data, products))
        run = SettlementRun(
            month=month,
            options=options,
            layout=layout,
            parameters=rules.sql_parameters(dates),
            con=con,
            dates=dates,
            rules=rules,
            key=key_from_environment(),
        )
        try:
            registered = register_inputs(run)
            if registered.fingerprint != record["input_fingerprint"]:
                raise InputError(
                    f"{data}: no longer holds the inputs {month} was settled on (input "
                    f"fingerprint {registered.fingerprint[:12]}, published "
                    f"{record['input_fingerprint'][:12]}); pass --data with the month's inputs"
                )
            for model in sql_runner.models_for(LINE_MODELS):
                sql_runner.create(con, model, run.parameters)
            sql_runner.script(con, sql_runner.sql_file("control/explain_referees.sql"))
            con.executemany(
                "insert into explain_referees values (?, ?, ?, ?, ?)",
                [_windows(r, rules, dates.cutoff_date) for r in referees],
            )
            found = sql_runner.rows(con, BILL_LINES)
        finally:
            run.close()
    lines: dict[str, list[BillLine]] = {}
    for row in found:
        lines.setdefault(row["referee_account_id"], []).append(
            BillLine(
                record_id=row["record_id"],
                billing_date=row["billing_date"],
                effective_date=row["effective_date"],
                product_code=row["product_code"],
                subscription_type=row["subscription_type"],
                cash_usd=row["cash_amount_usd"],
                original_record_id=row["original_record_id"],
                counts_in=tuple(w for w in ("w90", "w365") if row[f"counts_in_{w}"]),
            )
        )
    return lines


def _windows(referee: RefereeExplanation, rules: Rules, cutoff: date) -> tuple:
    """The winning listing's windows, as int_referees derives them."""
    registered = referee.registered_date
    window_end = registered + timedelta(days=rules.qualification_window_days - 1)
    finality = window_end + timedelta(days=rules.hold_days)
    return (
        referee.referee_account_id,
        registered,
        window_end,
        registered + timedelta(days=rules.bonus_window_days - 1),
        min(finality, cutoff),
    )


def _recorded(record: dict, column: str, option: str) -> Path:
    value = record.get(column)
    if not value:
        raise UsageError(
            f"usage: {record['settlement_month']} was published before its data directory "
            f"was recorded: pass {option}"
        )
    path = Path(value)
    if not path.is_dir():
        raise InputError(
            f"{path}: the data directory {record['settlement_month']} was settled on is not "
            f"there; pass {option} with the month's inputs"
        )
    return path


def _with_lines(explanation: Explanation, lines: dict[str, list[BillLine]]) -> Explanation:
    return replace(
        explanation,
        referees=tuple(
            replace(r, lines=tuple(lines.get(r.referee_account_id, ())))
            if r.is_winning_listing
            else r
            for r in explanation.referees
        ),
    )


def amount_text(amount: Decimal) -> str:
    """Two decimals; a spend amount finer than a cent (bill lines carry four places) keeps
    its own digits, so that the sums shown reconcile exactly."""
    if amount == amount.quantize(CENT):
        return format_usd(amount)
    return f"{amount.normalize():f}"


def as_json(explanation: Explanation) -> dict:
    """The fixed JSON document of issue 14 (amounts as strings)."""

    def money(value: Decimal | None) -> str | None:
        return None if value is None else amount_text(value)

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "month": explanation.month,
        "referrer_account_id": explanation.referrer_account_id,
        "coupon_usd": money(explanation.coupon_usd),
        "carry_in_usd": money(explanation.carry_in_usd),
        "carry_out_usd": money(explanation.carry_out_usd),
        "referees": [
            {
                "referee_account_id": r.referee_account_id,
                "reason_code": r.reason_code,
                "delta_usd": money(r.delta_usd),
                "q_date": day(r.q_date),
                "hold_ends_on": day(r.hold_ends_on),
                "s90_usd": money(r.s90_usd),
                "s365_usd": money(r.s365_usd),
                "lines": [
                    {
                        "record_id": line.record_id,
                        "billing_date": day(line.billing_date),
                        "effective_date": day(line.effective_date),
                        "product_code": line.product_code,
                        "subscription_type": line.subscription_type,
                        "cash_usd": money(line.cash_usd),
                        "original_record_id": line.original_record_id,
                        "counts_in": list(line.counts_in),
                    }
                    for line in r.lines
                ],
            }
            for r in explanation.referees
        ],
    }


def rule_behind(referee: RefereeExplanation) -> str:
    """Which rule produced the referee's delta this month, in words."""
    if not referee.is_winning_listing:
        return (
            f"rule 1: another listing of this friend won ({referee.reason_code}); never paid here"
        )
    parts = []
    if referee.reason_code != "ok":
        parts.append(f"rule 5: frozen ({referee.reason_code}), keeps what was credited")
    if referee.delta_base_usd > 0:
        parts.append("rule 2: base earned (Q + hold passed)")
    elif referee.delta_base_usd < 0:
        parts.append("rule 2: base taken back (spend fell below the threshold)")
    if referee.delta_bonus_usd > 0:
        parts.append("rule 3: bonus earned (bonus window + hold passed)")
    elif referee.delta_bonus_usd < 0:
        parts.append("rule 3: bonus lowered (refunds in the first 90 days)")
    if referee.is_capped and referee.delta_usd != 0:
        parts.append("rule 4: capped")
    if not parts:
        parts.append(f"no change: base {referee.base_status}, bonus {referee.bonus_status}")
    return "; ".join(parts)


def format_text(explanation: Explanation) -> str:
    """What a person reads: the coupon's sum first, then each friend with the lines."""
    e = explanation
    coupon = (
        f"coupon USD {format_usd(e.coupon_usd)} (issued {e.issued_on})"
        if e.coupon_usd
        else "no coupon: the balance (carry in + deltas) is not positive"
    )
    out = [
        f"{e.referrer_account_id}, settlement {e.month} (cutoff {e.cutoff_date}): {coupon}",
        f"  carry in {format_usd(e.carry_in_usd)} + friends' deltas {format_usd(e.deltas_usd)}"
        f" = coupon {format_usd(e.coupon_usd or Decimal('0.00'))}"
        f" + carry out {format_usd(e.carry_out_usd)}",
        f"  {len(e.referees)} referral(s); cap USD {format_usd(e.cap_per_referee_usd)} per friend",
    ]
    for r in e.referees:
        out.append("")
        out.append(
            f"  {r.referee_account_id} (registered {r.registered_date}, {r.reason_code}): "
            f"delta {format_usd(r.delta_usd)} = base {format_usd(r.delta_base_usd)} + bonus "
            f"{format_usd(r.delta_bonus_usd)}; credited before {format_usd(r.credited_before_usd)}"
            f", to date {format_usd(r.credited_to_date_usd)}"
        )
        out.append(f"    why: {rule_behind(r)}")
        if not r.is_winning_listing:
            continue
        out.append(
            f"    Q {r.q_date or '-'}, hold ends {r.hold_ends_on or '-'}; base {r.base_status}, "
            f"bonus {r.bonus_status}{', capped' if r.is_capped else ''}; S90 "
            f"{amount_text(r.s90_usd)}, S365 {amount_text(r.s365_usd)}"
            + (
                f"; pending {format_usd(r.pending_usd)} payable {r.payable_on}"
                if r.pending_usd
                else ""
            )
        )
        for line in r.lines:
            linked = f" refunds {line.original_record_id}" if line.original_record_id else ""
            out.append(
                f"    {line.billing_date} {line.record_id:<20} "
                f"{line.product_code + '/' + line.subscription_type:<24} "
                f"{amount_text(line.cash_usd):>10}  on "
                f"{line.effective_date}{linked}  [{' '.join(line.counts_in)}]"
            )
    return "\n".join(out)
