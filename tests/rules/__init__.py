"""One tiny world per rule and edge of docs/rules.md, settled by the real pipeline.

Day numbering: the UTC registration date R is day 1, so day 90 is R+89 and day 365 is R+364.
"""

from datetime import date, timedelta

R = date(2025, 3, 1)


def day(n: int, registered: date = R) -> date:
    """Day n of a referee's windows (day 1 is the registration date)."""
    return registered + timedelta(days=n - 1)
