"""`creditflow explain`: one referrer's coupon of a settled month, cent by cent, down to the
bill lines.

The published facts (the coupon, the carries, each referee's ledger delta, statuses, Q,
the hold's end, the bonus window's spend and the spend to date) are read from the analysts' catalog (OUT/catalog.duckdb), so
explain never waits for a run and never makes one wait. The bill lines are read again from
the data directory recorded with the month (explain_lines.py), and the value types and
their reconciliation are explanation.py's.

Nothing is shown that does not reconcile: Σ delta + carry in = coupon + carry out, and per
referee the lines counted in each window sum to the published spend of that window; a
difference is an error (exit 5), never a silently wrong explanation.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from transforms.errors import UsageError, ValidationFailure
from transforms.money import format_usd
from transforms.pipeline import catalog, explain_lines, warehouse
from transforms.pipeline.explanation import (
    BillLine,
    Explanation,
    RefereeExplanation,
    amount_text,
    reconciliation_problems,
)
from transforms.pipeline.layout import OutputLayout
from transforms.rules import Rules, rules_from_json


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
        lines = explain_lines.bill_lines(record, rules, month, winning, data_dir)
        explanations = [_with_lines(e, lines) for e in explanations]
    for explanation in explanations:
        problems = reconciliation_problems(explanation)
        if problems:
            raise ValidationFailure(
                f"{month} {explanation.referrer_account_id}: the explanation does not "
                f"reconcile with what was published: {'; '.join(problems)}"
            )
    return explanations


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
        bonus_window_spend_usd=status["bonus_window_spend_usd"],
        eligible_spend_to_date_usd=status["eligible_spend_to_date_usd"],
        credited_before_usd=status["credited_before_usd"],
        delta_base_usd=status["delta_base_usd"],
        delta_bonus_usd=status["delta_bonus_usd"],
        delta_usd=status["delta_usd"],
        credited_to_date_usd=status["credited_to_date_usd"],
        pending_usd=(status["pending_base_usd"] or 0) + (status["pending_bonus_usd"] or 0),
        payable_on=status["payable_on"],
    )


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
                "bonus_window_spend_usd": money(r.bonus_window_spend_usd),
                "eligible_spend_to_date_usd": money(r.eligible_spend_to_date_usd),
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
        parts.append("rule 3: bonus lowered (refunds in the bonus window)")
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
            f"bonus {r.bonus_status}{', capped' if r.is_capped else ''}; spend in the "
            f"bonus window {amount_text(r.bonus_window_spend_usd)}, to date "
            f"{amount_text(r.eligible_spend_to_date_usd)}"
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
