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
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from transforms.errors import UsageError, ValidationFailure
from transforms.pipeline import catalog, explain_lines, sql_runner, warehouse
from transforms.pipeline.explanation import (
    BillLine,
    Explanation,
    RefereeExplanation,
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
        # what each referrer was paid for each friend (a friend taken over by an earlier
        # listing keeps, on the old referrer's side, what it was paid)
        paid = {
            (row["referrer_account_id"], row["referee_account_id"]): row
            for row in sql_runner.rows(
                con,
                sql_runner.sql_file("queries/referrer_friend_credits.sql"),
                {"settlement_month": month},
            )
        }
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
    zero = Decimal("0.00")
    nothing = {"paid_before_usd": zero, "paid_to_date_usd": zero}
    for status in statuses:
        here = paid.get((status["referrer_account_id"], status["referee_account_id"]), nothing)
        status["paid_here_before_usd"] = here["paid_before_usd"]
        status["paid_here_to_date_usd"] = here["paid_to_date_usd"]
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
        # what this referrer was paid for this friend (the friend's total apart: a friend
        # taken over by another referrer's earlier listing has both)
        credited_before_usd=status["paid_here_before_usd"],
        delta_base_usd=status["delta_base_usd"],
        delta_bonus_usd=status["delta_bonus_usd"],
        delta_usd=status["delta_usd"],
        credited_to_date_usd=status["paid_here_to_date_usd"],
        friend_credited_to_date_usd=status["credited_to_date_usd"]
        if status["is_winning_listing"]
        else None,
        pending_usd=(status["pending_base_usd"] or Decimal("0.00"))
        + (status["pending_bonus_usd"] or Decimal("0.00")),
        payable_on=status["payable_on"],
    )


def _with_lines(explanation: Explanation, lines: dict[str, list[BillLine]]) -> Explanation:
    def split(referee: RefereeExplanation) -> RefereeExplanation:
        found = lines.get(referee.referee_account_id, ())
        return replace(
            referee,
            lines=tuple(line for line in found if line.excluded_by is None),
            lines_not_counted=tuple(line for line in found if line.excluded_by is not None),
        )

    return replace(
        explanation,
        referees=tuple(split(r) if r.is_winning_listing else r for r in explanation.referees),
    )
