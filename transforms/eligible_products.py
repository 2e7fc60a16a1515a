"""The eligible-products reference file (config/eligible_products.csv, or --eligible-products):
its columns and the rules a sound list keeps (docs/data-contract.md#eligible-products)."""

import re
from datetime import date

from transforms.contracts import BILLING, PRODUCT_CODE_PATTERN

# the eligible-products reference file (CSV): its columns and the DuckDB types they are read as
COLUMNS = {
    "product_code": "varchar",
    "subscription_type": "varchar",
    "product_name": "varchar",
    "effective_from": "date",
    "effective_to": "date",
}


def first_problem(lines: list[list[str]]) -> str | None:
    """The first broken rule of an eligible-products file (its CSV rows, header first), as
    'row N: rule'; None when the file is sound. Fail closed: an empty, header-only or
    mis-headed list would silently make nothing (or the wrong thing) eligible."""
    header = list(COLUMNS)
    if not lines or lines[0] != header:
        found = ",".join(lines[0]) if lines else "nothing"
        return f"row 1: the header must be exactly {','.join(header)} (found {found})"
    if len(lines) == 1:
        return "no product rows: an empty list would make no spend eligible"
    kinds = ("*", *next(c for c in BILLING.columns if c.name == "subscription_type").allowed)
    seen: list[tuple[int, str, str, date, date | None]] = []
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            return f"row {number}: {len(row)} fields, expected {len(header)}"
        code, kind, _, start, end = row
        if not re.fullmatch(PRODUCT_CODE_PATTERN, code):
            return f"row {number}: product_code {code!r} is not a trimmed lower-case code"
        if kind not in kinds:
            return f"row {number}: subscription_type {kind!r} is not one of {', '.join(kinds)}"
        try:
            first = date.fromisoformat(start)
            last = date.fromisoformat(end) if end else None
        except ValueError:
            return f"row {number}: effective_from/effective_to are not YYYY-MM-DD dates"
        if last is not None and last < first:
            return f"row {number}: effective_to {last} is before effective_from {first}"
        for other_number, other_code, other_kind, other_first, other_last in seen:
            overlapping_kinds = "*" in (kind, other_kind) or kind == other_kind
            overlapping_dates = (last is None or other_first <= last) and (
                other_last is None or first <= other_last
            )
            if other_code == code and overlapping_kinds and overlapping_dates:
                return f"row {number}: {code} {kind} overlaps row {other_number}"
        seen.append((number, code, kind, first, last))
    return None
