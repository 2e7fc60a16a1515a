"""Why a friend's delta is what it is, and why a line did not count: each reason named by
the rule that fired (docs/rules.md), with a stable code for scripts (explain's JSON) and
the words a person reads (its text). Pure functions of an explanation's published facts."""

from dataclasses import dataclass

from transforms.money import format_usd
from transforms.pipeline.explanation import RefereeExplanation, amount_text


@dataclass(frozen=True)
class Reason:
    rule: str  # where docs/rules.md states it: "rule 2"
    code: str  # stable, for scripts
    text: str  # for a person


# rule 5: why a listing does not earn (int_referral_reasons.sql names the codes)
FROZEN = {
    "unknown_account": "the referee or the referrer is missing from the accounts snapshot",
    "self_referral": "the referee and the referrer are one person",
    "duplicate_referrer_account": "the referrer's person refers from another account that "
    "referred first",
    "duplicate_referee_identity": "the friend's person registered an earlier referee account",
    "disqualified": "a risk status other than ok on either side",
    "referrer_unverified": "the referrer was not payment-verified when the friend registered",
}
# why a bill line of the friend counted in no window (sql/queries/explain_bill_lines.sql)
EXCLUDED_BY = {
    "before_registration": ("rule 1", "billed before the friend registered"),
    "after_finality": ("rule 1", "billed after the last day the month sees (min(C, F))"),
    "not_cash": ("rule 1", "no cash paid (paid by cash coupons, or free)"),
    "ineligible_product": ("rule 1", "its product is not eligible on its effective date"),
    "outside_the_window": ("rule 1", "its effective date is outside the window"),
}


def reasons(r: RefereeExplanation) -> list[Reason]:
    """Every rule that decided the friend's month, in rule order."""
    if not r.is_winning_listing:
        if r.credited_to_date_usd:
            return [
                Reason(
                    "rule 5",
                    "taken_over",
                    f"another referrer's earlier listing of this friend took it over "
                    f"({r.reason_code}): keeps the USD {format_usd(r.credited_to_date_usd)} "
                    "paid here, earns nothing more from it",
                )
            ]
        return [
            Reason(
                "rule 5",
                "another_listing_won",
                f"another listing of this friend won ({r.reason_code}); never paid here",
            )
        ]
    if r.reason_code != "ok":
        return [
            Reason(
                "rule 5",
                r.reason_code,
                f"frozen ({r.reason_code}): {FROZEN.get(r.reason_code, r.reason_code)}; keeps "
                "what was credited, earns nothing more",
            )
        ]
    found = [_base(r), _bonus(r)]
    if r.is_capped and r.delta_usd != 0:
        found.append(Reason("rule 4", "capped", "capped: the friend's credits reached the cap"))
    return found


def _base(r: RefereeExplanation) -> Reason:
    spend = amount_text(r.eligible_spend_to_date_usd) if r.eligible_spend_to_date_usd else "0"
    if r.delta_base_usd > 0:
        return Reason(
            "rule 2",
            "base_earned",
            f"base earned: the spend crossed the threshold on {r.q_date} and the hold ended "
            f"{r.hold_ends_on}",
        )
    if r.delta_base_usd < 0 and r.base_status == "on_hold":
        return Reason(
            "rule 2",
            "qualifying_date_moved",
            f"base taken back: a refund undid the crossing the base was paid on; the spend "
            f"({spend}) crossed the threshold again on {r.q_date}, so the base waits for a "
            f"new hold, to {r.hold_ends_on}",
        )
    if r.delta_base_usd < 0:
        return Reason(
            "rule 2",
            "threshold_lost",
            f"base taken back: refunds took the spend to date ({spend}) below the threshold",
        )
    status = {
        "earned": ("base_credited", "base already credited"),
        "on_hold": ("base_on_hold", f"base on hold: the hold ends {r.hold_ends_on}"),
        "below_threshold": (
            "below_threshold",
            f"the spend to date ({spend}) is below the threshold",
        ),
        "fell_below_threshold": (
            "threshold_lost",
            f"the spend to date ({spend}) fell below the threshold",
        ),
        "window_closed": ("window_closed", "the qualification window closed below the threshold"),
        "final_below_threshold": (
            "final_below_threshold",
            "final: the qualification window and its hold passed below the threshold",
        ),
    }
    code, text = status.get(r.base_status, ("no_eligible_spend", "no eligible spend yet"))
    return Reason("rule 2", code, text)


def _bonus(r: RefereeExplanation) -> Reason:
    if r.delta_bonus_usd > 0:
        return Reason(
            "rule 3",
            "bonus_earned",
            "bonus earned: a share of the bonus window's spend over the threshold, after the "
            "window and its hold",
        )
    if r.delta_bonus_usd < 0:
        if r.delta_base_usd < 0:
            return Reason("rule 3", "bonus_taken_back", "bonus taken back with the base")
        return Reason("rule 3", "bonus_lowered", "bonus lowered: refunds in the bonus window")
    status = {
        "earned": ("bonus_credited", "bonus already credited"),
        "on_hold": ("bonus_on_hold", "the bonus waits for the bonus window and its hold"),
        "needs_base": ("bonus_needs_base", "no bonus before the base"),
    }
    code, text = status.get(r.bonus_status, ("bonus_needs_base", "no bonus before the base"))
    return Reason("rule 3", code, text)


def why_text(r: RefereeExplanation) -> str:
    return "; ".join(f"{reason.rule}: {reason.text}" for reason in reasons(r))


def excluded_text(code: str) -> str:
    rule, text = EXCLUDED_BY[code]
    return f"{rule}: {text}"
