"""What `creditflow explain` prints: the text a person reads and the JSON a script reads,
both from one reconciled Explanation (explain.py); the reasons are explain_why's."""

from datetime import date
from decimal import Decimal

from transforms.money import format_usd
from transforms.pipeline import explain_why
from transforms.pipeline.explanation import (
    BillLine,
    Explanation,
    RefereeExplanation,
    amount_text,
)


def as_json(explanation: Explanation) -> dict:
    """The fixed JSON document of issue 14 (amounts as strings)."""

    def money(value: Decimal | None) -> str | None:
        return None if value is None else amount_text(value)

    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    def line_json(line: BillLine) -> dict:
        return {
            "record_id": line.record_id,
            "billing_date": day(line.billing_date),
            "effective_date": day(line.effective_date),
            "product_code": line.product_code,
            "subscription_type": line.subscription_type,
            "cash_usd": money(line.cash_usd),
            "original_record_id": line.original_record_id,
            "counts_in": list(line.counts_in),
        }

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
                "lines": [line_json(line) for line in r.lines],
                # added by issue 28: everything the text shows
                "registered_date": day(r.registered_date),
                "is_winning_listing": r.is_winning_listing,
                "delta_base_usd": money(r.delta_base_usd),
                "delta_bonus_usd": money(r.delta_bonus_usd),
                "base_status": r.base_status,
                "bonus_status": r.bonus_status,
                "is_capped": r.is_capped,
                "credited_before_usd": money(r.credited_before_usd),
                "credited_to_date_usd": money(r.credited_to_date_usd),
                "friend_credited_to_date_usd": money(r.friend_credited_to_date_usd),
                "pending_usd": money(r.pending_usd),
                "payable_on": day(r.payable_on),
                "why": [
                    {"rule": reason.rule, "code": reason.code, "text": reason.text}
                    for reason in explain_why.reasons(r)
                ],
                "lines_not_counted": [
                    {**line_json(line), "excluded_by": line.excluded_by}
                    for line in r.lines_not_counted
                ],
            }
            for r in explanation.referees
        ],
    }


def rule_behind(referee: RefereeExplanation) -> str:
    """Which rules decided the referee's month, in words (explain_why.reasons)."""
    return explain_why.why_text(referee)


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
            + (
                f" (the friend's total USD {format_usd(r.friend_credited_to_date_usd)}, the "
                "rest paid to the referrer whose listing this one took over)"
                if r.friend_credited_to_date_usd not in (None, r.credited_to_date_usd)
                else ""
            )
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
            out.append(f"{_line_text(line)}  [{' '.join(line.counts_in)}]")
        if r.lines_not_counted:
            out.append("    did not count:")
            for line in r.lines_not_counted:
                out.append(f"{_line_text(line)}  ({explain_why.excluded_text(line.excluded_by)})")
    return "\n".join(out)


def _line_text(line: BillLine) -> str:
    linked = f" refunds {line.original_record_id}" if line.original_record_id else ""
    return (
        f"    {line.billing_date} {line.record_id:<20} "
        f"{line.product_code + '/' + line.subscription_type:<24} "
        f"{amount_text(line.cash_usd):>10}  on {line.effective_date}{linked}"
    )
