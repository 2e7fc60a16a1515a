"""An independent, deliberately plain Python reading of rules 1-4 (docs/rules.md), used to
cross-check the SQL on random worlds. It shares no code with the pipeline: it walks the
days one by one, as the rules are written, where the SQL uses window functions."""

import tomllib
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

# every number from the shipped rules file, read here with tomllib (not the pipeline's loader)
_RULES = tomllib.loads((Path(__file__).resolve().parents[1] / "config" / "rules.toml").read_text())
BASE_CREDIT = Decimal(_RULES["base_credit_usd"])
BASE_THRESHOLD = Decimal(_RULES["base_threshold_usd"])
WINDOW_DAYS = _RULES["qualification_window_days"]
HOLD = timedelta(days=_RULES["hold_days"])
BONUS_WINDOW_DAYS = _RULES["bonus_window_days"]
BONUS_RATE = Decimal(_RULES["bonus_rate"])
BONUS_THRESHOLD = Decimal(_RULES["bonus_threshold_usd"])
CAP = Decimal(_RULES["cap_per_referee_usd"])


def entitlement(registered: date, lines, cutoff: date) -> Decimal:
    """What the rules entitle one qualified referee to at the cutoff.

    lines: (billing_date, amount, original_billing_date) of the referee's eligible lines;
    original_billing_date is the date of the delivered line a linked line names, None for
    a line that names none (unlinked)."""
    # day 1 is the registration date, so a window of n days ends on day n
    window_end = registered + timedelta(days=WINDOW_DAYS - 1)
    bonus_window_end = registered + timedelta(days=BONUS_WINDOW_DAYS - 1)
    finality = window_end + HOLD
    last_visible = min(cutoff, finality)
    placed: dict[date, Decimal] = defaultdict(Decimal)  # rule 1: on the effective date
    unlinked_refunds: dict[date, Decimal] = defaultdict(Decimal)  # rule 2: on their own date
    for billed, amount, original in lines:
        if billed < registered or billed > last_visible:
            continue
        if original is not None and original > cutoff:
            original = None  # named record not delivered by the settled month: unlinked
        effective = billed if original is None else original
        if registered <= effective <= min(window_end, last_visible):
            placed[effective] += amount
        if original is None and amount < 0:
            unlinked_refunds[billed] += amount

    def qualifying_spend(day: date) -> Decimal:
        total = sum((a for d, a in placed.items() if d <= day), Decimal(0))
        if day > window_end:
            total += sum(
                (a for d, a in unlinked_refunds.items() if window_end < d <= day), Decimal(0)
            )
        return total

    # rule 2: Q is the first day of the last unbroken run of days, ending at the last visible
    # day, on which the spend reaches the threshold
    qualified, day = None, registered
    while day <= last_visible:
        below = qualifying_spend(day) < BASE_THRESHOLD
        qualified = None if below else (qualified or day)
        day += timedelta(days=1)
    if qualified is None or qualified + HOLD > cutoff:
        return Decimal("0.00")
    bonus = Decimal("0.00")
    if bonus_window_end + HOLD <= cutoff:
        bonus_window_spend = sum(
            (a for d, a in placed.items() if d <= bonus_window_end), Decimal(0)
        ) + sum((a for d, a in unlinked_refunds.items() if d > bonus_window_end), Decimal(0))
        bonus = (BONUS_RATE * max(Decimal(0), bonus_window_spend - BONUS_THRESHOLD)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    return min(CAP, BASE_CREDIT + bonus)


def lines_by_referee(lines) -> dict[str, list]:
    """account -> its lines, for lines given as (account, billing_date, amount, original_date)."""
    result: dict[str, list] = defaultdict(list)
    for account, billed, amount, original in lines:
        result[account].append((billed, amount, original))
    return result
