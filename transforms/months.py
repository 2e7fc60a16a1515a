"""Settlement months. The month is the run's one parameter; every date derives from it here."""

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    """Validate 'YYYY-MM' and return it unchanged."""
    if not isinstance(text, str) or not _MONTH.match(text):
        raise ValueError(f"month must look like YYYY-MM, got {text!r}")
    return text


def resolve_month(text: str, today: date) -> str:
    """A month as the command line takes it: 'YYYY-MM', or 'previous' for the month before
    today's (UTC): what a schedule on the 4th of each month settles."""
    if text == "previous":
        return previous_month(f"{today:%Y-%m}")
    return parse_month(text)


def _year_month(month: str) -> tuple[int, int]:
    year, mon = parse_month(month).split("-")
    return int(year), int(mon)


def cutoff_date(month: str) -> date:
    """Last day of the month: a settlement sees only bill lines dated on or before it."""
    year, mon = _year_month(month)
    return date(year, mon, calendar.monthrange(year, mon)[1])


def first_day(month: str) -> date:
    year, mon = _year_month(month)
    return date(year, mon, 1)


def next_month(month: str) -> str:
    following = cutoff_date(month) + timedelta(days=1)
    return f"{following.year:04d}-{following.month:02d}"


def previous_month(month: str) -> str:
    before = first_day(month) - timedelta(days=1)
    return f"{before.year:04d}-{before.month:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Every month from first to last inclusive, in order."""
    if parse_month(first) > parse_month(last):
        raise ValueError(f"--from {first} is after --to {last}")
    months = [first]
    while months[-1] != last:
        months.append(next_month(months[-1]))
    return months


def coupon_issue_date(month: str, day_of_month: int) -> date:
    """Coupons for month M are issued on the given day of the month after M."""
    following = first_day(next_month(month))
    last = calendar.monthrange(following.year, following.month)[1]
    if not 1 <= day_of_month <= last:
        raise ValueError(
            f"coupon_issue_day_of_month {day_of_month} does not exist in {following:%Y-%m}"
        )
    return following.replace(day=day_of_month)


@dataclass(frozen=True)
class MonthDates:
    """Every date a run of one month uses, derived once from the month."""

    month: str
    previous_month: str
    cutoff_date: date
    issued_on: date  # the coupons of the month are issued on this day of the next month

    @classmethod
    def of(cls, month: str, issue_day_of_month: int) -> "MonthDates":
        return cls(
            month=parse_month(month),
            previous_month=previous_month(month),
            cutoff_date=cutoff_date(month),
            issued_on=coupon_issue_date(month, issue_day_of_month),
        )
