"""Money is Decimal here and DECIMAL in SQL, never a float.

Rounding happens in exactly one place, the SQL macro `round_half_up_cents`
(sql/macros/money.sql). Python only parses exact amounts and formats amounts that
are already whole cents; it refuses to round silently.
"""

from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_usd(value: str | Decimal | int) -> Decimal:
    """An exact amount from text (or Decimal/int). Floats are refused: they are not exact."""
    if isinstance(value, float | bool):
        raise TypeError(f"money must not be a float or bool: {value!r}")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return amount


def format_usd(amount: Decimal) -> str:
    """Two-decimal text of an amount that is already whole cents ('12.30')."""
    amount = parse_usd(amount)
    cents = amount.quantize(CENT)
    if amount != cents:
        raise ValueError(f"{amount} is not a whole number of cents; round in SQL first")
    return f"{cents:f}"


def format_usd_grouped(amount: Decimal) -> str:
    """Two-decimal text with thousands separators, for people to read ('-1,560.00')."""
    text = format_usd(amount)
    whole, cents = text.lstrip("-").split(".")
    return ("-" if text.startswith("-") else "") + f"{int(whole):,}.{cents}"
