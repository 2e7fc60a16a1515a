"""What `creditflow explain` shows (transforms/pipeline/explain.py): an explanation of one
referrer's coupon, friend by friend, down to the bill lines, and when it adds up.

Nothing is shown that does not reconcile: Σ delta + carry in = coupon + carry out, and per
referee the lines counted in the bonus window (the qualification window) sum to the
published bonus_window_spend_usd (eligible_spend_to_date_usd).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from transforms.money import CENT, format_usd


@dataclass(frozen=True)
class BillLine:
    record_id: str
    billing_date: date
    effective_date: date
    product_code: str
    subscription_type: str
    cash_usd: Decimal
    original_record_id: str | None
    counts_in: tuple[str, ...]  # 'bonus_window' and/or 'qualification_window'
    # for a line that counts in no window: the first rule that left it out
    # (sql/queries/explain_bill_lines.sql, EXCLUDED_BY)
    excluded_by: str | None = None


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
    bonus_window_spend_usd: Decimal | None
    eligible_spend_to_date_usd: Decimal | None
    credited_before_usd: Decimal
    delta_base_usd: Decimal
    delta_bonus_usd: Decimal
    delta_usd: Decimal
    credited_to_date_usd: Decimal
    pending_usd: Decimal
    payable_on: date | None
    lines: tuple[BillLine, ...] = ()
    # the friend's total credited to date (all referrers), on the winning listing only
    friend_credited_to_date_usd: Decimal | None = None
    # the friend's lines that counted in no window, each with the rule that left it out
    lines_not_counted: tuple[BillLine, ...] = ()


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
        for window, published in (
            ("bonus_window", referee.bonus_window_spend_usd),
            ("qualification_window", referee.eligible_spend_to_date_usd),
        ):
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


def amount_text(amount: Decimal) -> str:
    """Two decimals; a spend amount finer than a cent (bill lines carry four places) keeps
    its own digits, so that the sums shown reconcile exactly."""
    if amount == amount.quantize(CENT):
        return format_usd(amount)
    return f"{amount.normalize():f}"
