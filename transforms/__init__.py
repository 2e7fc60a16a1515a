"""Pure pieces of creditflow: money, months, rules, coupon codes, batch rendering, SQL models."""
