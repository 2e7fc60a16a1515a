"""An independent, deliberately plain Python reading of rules 1-4 (docs/rules.md), used to
cross-check the SQL on random worlds. It shares no code with the pipeline."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CAP = Decimal("300.00")
THRESHOLD = Decimal("20.00")


def entitlement(registered: date, spend_by_day: dict[date, Decimal], cutoff: date) -> Decimal:
    """What the rules entitle one qualified referee to at the cutoff."""
    window_end = registered + timedelta(days=364)
    visible = {
        day: amount
        for day, amount in spend_by_day.items()
        if registered <= day <= min(window_end, cutoff)
    }
    running, qualified_date = Decimal(0), None
    for day in sorted(visible):
        running += visible[day]
        if qualified_date is None and running >= THRESHOLD:
            qualified_date = day
    if (
        qualified_date is None
        or qualified_date + timedelta(days=30) > cutoff
        or running < THRESHOLD
    ):
        return Decimal("0.00")
    bonus = Decimal("0.00")
    bonus_window_end = registered + timedelta(days=89)
    if bonus_window_end + timedelta(days=30) <= cutoff:
        s90 = sum((a for d, a in visible.items() if d <= bonus_window_end), Decimal(0))
        bonus = (Decimal("0.10") * max(Decimal(0), s90 - THRESHOLD)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    return min(CAP, THRESHOLD + bonus)


def daily_spend(lines) -> dict[str, dict[date, Decimal]]:
    """account -> day -> cash spend, for lines given as (account, day, amount)."""
    result: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for account, day, amount in lines:
        result[account][day] += amount
    return result
