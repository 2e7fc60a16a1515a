"""One tiny world per rule and edge of docs/rules.md, settled by the real pipeline.

Day numbering: the UTC registration date R is day 1, so the last day of a window of n days
is day n (R+n-1). The edges follow the shipped rules file: a test names "the last day of the
bonus window", never a number of days, so changing a window in config/rules.toml moves the
edges with it.
"""

from datetime import date, timedelta

from transforms.rules import load_rules

R = date(2025, 3, 1)
RULES = load_rules()
# day numbers, as day() takes them
QUALIFICATION_WINDOW_LAST_DAY = RULES.qualification_window_days
BONUS_WINDOW_LAST_DAY = RULES.bonus_window_days
HOLD = timedelta(days=RULES.hold_days)


def day(n: int, registered: date = R) -> date:
    """Day n of a referee's windows (day 1 is the registration date)."""
    return registered + timedelta(days=n - 1)


def month_of(moment: date) -> str:
    """The settlement month whose cutoff (its last day) is the first on or after `moment`."""
    return f"{moment:%Y-%m}"


def bonus_payable_month(registered: date = R) -> str:
    """The first settlement month in which the bonus is no longer on hold."""
    return month_of(day(BONUS_WINDOW_LAST_DAY, registered) + HOLD)
