"""What a what-if shows (creditflow whatif, docs/outputs.md#what-if): one self-contained
HTML page (inline CSS and SVG: the two cost curves month by month, the difference by
component), the same tables as workbook sheets, JSON for scripts and a text summary. Pure
functions of a Comparison (transforms/pipeline/whatif.py)."""

from decimal import Decimal
from html import escape

from transforms.money import format_usd_grouped
from transforms.month_report import CSS, bars, table

LABELS = {
    "coupon_count": "coupons",
    "coupon_total_usd": "coupons (USD)",
    "welcome_count": "welcome rewards",
    "welcome_total_usd": "welcome rewards (USD)",
    "base_usd": "base credits (USD)",
    "bonus_usd": "bonus credits (USD)",
    "breakage_usd": "breakage of coupons and rewards (USD)",
    "carry_out_total_usd": "carried out at the end (USD)",
    "program_liability_usd": "program liability at the end (USD)",
}
# a month's cost to the program: what it credits referrers and gives their friends
COST = ("base_usd", "bonus_usd", "welcome_total_usd")


def text(value) -> str:
    """An amount as USD text with separators, a count with separators, nothing as '-'."""
    if value is None:
        return "-"
    if isinstance(value, Decimal) and value.as_tuple().exponent == -2:
        return format_usd_grouped(value)
    return f"{value:,}"


def percent(value) -> str:
    return "-" if value is None else f"{value:+}%"


def monthly_cost(comparison, side: str) -> list[tuple[str, Decimal]]:
    return [
        (m["settlement_month"], sum((m[c][side] for c in COST), Decimal("0.00")))
        for m in comparison.months
    ]


def format_text(comparison) -> str:
    c = comparison
    out = [
        f"what-if {c.name}: {c.first_month}..{c.last_month}; rules: {c.alternative['rules']}; "
        f"eligible products: {c.alternative['eligible_products']}",
        "",
        f"  {'measure':<40} {'published':>14} {'alternative':>14} {'difference':>14} {'':>8}",
    ]
    for measure, total in c.totals.items():
        out.append(
            f"  {LABELS[measure]:<40} {text(total['published']):>14} "
            f"{text(total['alternative']):>14} {text(total['difference']):>14} "
            f"{percent(total['percent']):>8}"
        )
    for title, rows in (("largest gains", c.gains), ("largest losses", c.losses)):
        if rows:
            out.append("")
            out.append(f"  {title}:")
            out += [
                f"    {r['referrer_account_id']:<16} {text(r['published_usd']):>12} -> "
                f"{text(r['alternative_usd']):>12} ({text(r['difference_usd'])})"
                for r in rows
            ]
    return "\n".join(out)


def as_json(comparison) -> dict:
    def plain(value):
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    c = comparison
    return plain(
        {
            "name": c.name,
            "from": c.first_month,
            "to": c.last_month,
            "alternative": c.alternative,
            "totals": c.totals,
            "months": c.months,
            "reasons": c.reasons,
            "largest_gains": c.gains,
            "largest_losses": c.losses,
        }
    )


def sheets(comparison) -> list:
    """The workbook: the totals, the months, the referrals by reason, the referrers."""
    from transforms.pipeline.export import Sheet

    c = comparison
    months = [
        [m["settlement_month"], LABELS[measure], m[measure]["published"], m[measure]["alternative"]]
        for m in c.months
        for measure in LABELS
    ]
    return [
        Sheet(
            "Totals",
            ["measure", "published", "alternative", "difference", "percent"],
            [
                (LABELS[k], t["published"], t["alternative"], t["difference"], t["percent"])
                for k, t in c.totals.items()
            ],
        ),
        Sheet("Months", ["settlement_month", "measure", "published", "alternative"], months),
        Sheet(
            "Reasons",
            ["settlement_month", "reason_code", "published", "alternative"],
            [
                (r["settlement_month"], r["reason_code"], r["published"], r["alternative"])
                for r in c.reasons
            ],
        ),
        Sheet(
            "Referrers",
            ["referrer_account_id", "published_usd", "alternative_usd", "difference_usd"],
            [tuple(r.values()) for r in (*c.gains, *c.losses)],
        ),
    ]


def render_html(comparison) -> str:
    c = comparison
    title = f"What if: {c.name} ({c.first_month}..{c.last_month})"
    totals = table(
        ["", "published", "alternative", "difference", ""],
        [
            [
                LABELS[k],
                text(t["published"]),
                text(t["alternative"]),
                text(t["difference"]),
                percent(t["percent"]),
            ]
            for k, t in c.totals.items()
        ],
        {1, 2, 3, 4},
    )
    component = [
        (
            k.removesuffix("_usd").removesuffix("_total"),
            abs(t["difference"] or 0),
            text(t["difference"]),
        )
        for k, t in c.totals.items()
        if k.endswith("_usd") and k not in ("carry_out_total_usd", "program_liability_usd")
    ]
    referrers = table(
        ["referrer", "published", "alternative", "difference"],
        [
            [
                r["referrer_account_id"],
                text(r["published_usd"]),
                text(r["alternative_usd"]),
                text(r["difference_usd"]),
            ]
            for r in (*c.gains, *c.losses)
        ],
        {1, 2, 3},
    )
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">rules: {escape(c.alternative["rules"])} · eligible products: '
        f"{escape(c.alternative['eligible_products'])} · amounts only: no coupon was issued "
        "or written</p>",
        "<h2>Over the range</h2>" + totals,
        '<div class="two"><div><h2>Program cost per month (base + bonus + welcome)</h2>'
        + curves(monthly_cost(c, "published"), monthly_cost(c, "alternative"))
        + '<p class="muted">grey: published · blue: the alternative</p></div>'
        + "<div><h2>Difference by component (USD)</h2>"
        + bars(component)
        + "</div></div>",
        "<h2>Referrers most changed</h2>" + referrers,
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )


def curves(published: list, alternative: list, width_px: int = 500, height_px: int = 180) -> str:
    """Two polylines over the same months: published (grey) and the alternative (blue)."""
    values = [v for _m, v in published + alternative] + [Decimal(0)]
    top, bottom = max(values), min(values)
    span = (top - bottom) or Decimal(1)
    step = width_px / max(len(published) - 1, 1)

    def points(series):
        return " ".join(
            f"{i * step:.1f},{10 + float((top - v) / span) * (height_px - 30):.1f}"
            for i, (_m, v) in enumerate(series)
        )

    labels = "".join(
        f'<text x="{i * step:.1f}" y="{height_px - 4}" font-size="10" fill="#5b6475" '
        f'text-anchor="middle">{escape(m[2:])}</text>'
        for i, (m, _v) in enumerate(published)
    )
    dots = "".join(
        f'<circle cx="{i * step:.1f}" cy="{10 + float((top - v) / span) * (height_px - 30):.1f}" '
        f'r="3" fill="#3b6fd4"><title>{escape(m)}: {escape(text(v))}</title></circle>'
        for i, (m, v) in enumerate(alternative)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px + 40}" height="{height_px}" '
        f'role="img"><g transform="translate(20,0)">'
        f'<polyline points="{points(published)}" fill="none" stroke="#9aa3b2" stroke-width="3"/>'
        f'<polyline points="{points(alternative)}" fill="none" stroke="#3b6fd4" stroke-width="2"/>'
        f"{dots}{labels}</g></svg>"
    )
