"""Explain's "why" and "why not" (docs/outputs.md#how-to-explain-a-coupon): each reason is
the rule that fired, one case per reason, and every line of the friend that did not count
is shown with the rule that left it out."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.rules import day
from transforms.pipeline import explain, explain_why
from transforms.pipeline.explanation import RefereeExplanation

D = Decimal
FRIEND = RefereeExplanation(
    referee_account_id="friend",
    referral_code="CODE",
    is_winning_listing=True,
    reason_code="ok",
    base_status="earned",
    bonus_status="earned",
    is_capped=False,
    registered_date=date(2025, 3, 1),
    q_date=date(2025, 3, 2),
    hold_ends_on=date(2025, 4, 1),
    bonus_window_spend_usd=D("50.00"),
    eligible_spend_to_date_usd=D("50.00"),
    credited_before_usd=D("20.00"),
    delta_base_usd=D("0.00"),
    delta_bonus_usd=D("0.00"),
    delta_usd=D("0.00"),
    credited_to_date_usd=D("20.00"),
    pending_usd=D("0.00"),
    payable_on=None,
)


def _codes(**changes) -> list[tuple[str, str]]:
    friend = dataclasses.replace(FRIEND, **changes)
    return [(reason.rule, reason.code) for reason in explain_why.reasons(friend)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"delta_base_usd": D("20.00"), "delta_usd": D("20.00")}, ("rule 2", "base_earned")),
        # a refund undid the crossing: the spend crossed again later, the hold restarts
        (
            {"delta_base_usd": D("-20.00"), "base_status": "on_hold", "bonus_status": "needs_base"},
            ("rule 2", "qualifying_date_moved"),
        ),
        (
            {"delta_base_usd": D("-20.00"), "base_status": "fell_below_threshold"},
            ("rule 2", "threshold_lost"),
        ),
        ({}, ("rule 2", "base_credited")),
        ({"base_status": "on_hold", "delta_base_usd": D("0")}, ("rule 2", "base_on_hold")),
        ({"base_status": "below_threshold"}, ("rule 2", "below_threshold")),
        ({"base_status": "window_closed"}, ("rule 2", "window_closed")),
        ({"base_status": "final_below_threshold"}, ("rule 2", "final_below_threshold")),
        ({"base_status": None, "bonus_status": None}, ("rule 2", "no_eligible_spend")),
        ({"delta_bonus_usd": D("3.00")}, ("rule 3", "bonus_earned")),
        ({"delta_bonus_usd": D("-1.00")}, ("rule 3", "bonus_lowered")),
        (
            {"delta_base_usd": D("-20.00"), "delta_bonus_usd": D("-3.00")},
            ("rule 3", "bonus_taken_back"),
        ),
        ({}, ("rule 3", "bonus_credited")),
        ({"bonus_status": "on_hold"}, ("rule 3", "bonus_on_hold")),
        ({"bonus_status": "needs_base"}, ("rule 3", "bonus_needs_base")),
        ({"is_capped": True, "delta_usd": D("5.00")}, ("rule 4", "capped")),
        ({"reason_code": "referrer_unverified"}, ("rule 5", "referrer_unverified")),
        ({"reason_code": "self_referral"}, ("rule 5", "self_referral")),
        ({"reason_code": "disqualified"}, ("rule 5", "disqualified")),
        (
            {"is_winning_listing": False, "reason_code": "duplicate_referee"},
            ("rule 5", "taken_over"),
        ),
        (
            {
                "is_winning_listing": False,
                "reason_code": "duplicate_referee",
                "credited_to_date_usd": D("0.00"),
            },
            ("rule 5", "another_listing_won"),
        ),
    ],
)
def test_each_reason_is_the_rule_that_fired(changes, expected):
    assert expected in _codes(**changes)


def test_every_frozen_reason_code_has_words():
    for code in explain_why.FROZEN:
        (reason,) = explain_why.reasons(dataclasses.replace(FRIEND, reason_code=code))
        assert reason.code == code and explain_why.FROZEN[code] in reason.text


def test_a_base_taken_back_by_a_linked_refund_says_the_hold_restarted(world):
    """The analyst's case: the spend crossed the threshold, the base was paid; a refund of
    the crossing purchase undid the crossing, later spend crossed again, so the base is
    taken back until the new hold ends: not "spend fell below the threshold"."""
    world.refer("friend", "referrer", date(2025, 1, 1))
    first = world.spend("friend", date(2025, 1, 2), "25.00", record_id="first")
    world.spend("friend", date(2025, 3, 10), "-25.00", record_id="refund", original=first)
    world.spend("friend", date(2025, 3, 11), "30.00", record_id="again")
    world.settle("2025-01", "2025-03")  # February pays the base; March takes it back
    (found,) = explain.explain_month(world.out, "2025-03", ["referrer"])
    (friend,) = found.referees
    assert friend.delta_base_usd == Decimal("-20.00") and friend.base_status == "on_hold"
    (base, _bonus) = explain_why.reasons(friend)
    assert base.code == "qualifying_date_moved"
    assert f"crossed the threshold again on {friend.q_date}" in base.text
    assert friend.q_date == date(2025, 3, 11)


def test_every_line_that_did_not_count_names_its_rule(world):
    world.refer("friend", "referrer", date(2025, 3, 1))
    early = world.spend("friend", date(2025, 2, 27), "15.00", record_id="early")  # before R
    world.spend("friend", date(2025, 3, 2), "30.00", record_id="buy")
    world.spend("friend", date(2025, 3, 3), "0.00", record_id="coupon-paid")
    world.spend("friend", date(2025, 3, 4), "80.00", product="cdn", record_id="cdn")
    # a refund of the purchase before R counts on that purchase's date: outside the window
    world.spend("friend", date(2025, 3, 5), "-15.00", record_id="late-refund", original=early)
    world.settle("2025-02", "2025-03")
    (found,) = explain.explain_month(world.out, "2025-03", ["referrer"])
    (friend,) = found.referees
    assert [(line.record_id, line.excluded_by) for line in friend.lines_not_counted] == [
        ("early", "before_registration"),
        ("late-refund", "outside_the_window"),
        ("coupon-paid", "not_cash"),
        ("cdn", "ineligible_product"),
    ]
    assert [line.record_id for line in friend.lines] == ["buy"]


def test_a_line_after_the_friends_finality_is_seen_by_no_window(world):
    registered = date(2025, 1, 2)
    finality = day(395, registered)  # R + 394: the window and its hold are over
    world.refer("friend", "referrer", registered)
    world.spend("friend", date(2025, 1, 3), "30.00", record_id="buy")
    after = finality + timedelta(days=3)
    world.spend("friend", after, "50.00", record_id="after-F")
    month = f"{after:%Y-%m}"
    world.settle(month)
    (found,) = explain.explain_month(world.out, month, ["referrer"])
    (friend,) = found.referees
    assert ("after-F", "after_finality") in [
        (line.record_id, line.excluded_by) for line in friend.lines_not_counted
    ]
