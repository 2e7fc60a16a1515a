"""The month report a person reads (OUT/reports/M/index.html): one self-contained page, inline
CSS and inline SVG, no CDN and no JavaScript. A pure function of the facts gathered by
transforms/pipeline/report.py, so the same month renders the same bytes."""

from decimal import Decimal
from html import escape

from transforms.money import format_usd_grouped

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;
border-bottom:1px solid #dde2ea;padding-bottom:4px}
.sub{color:#5b6475;margin:0 0 16px}.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.card{border:1px solid #dde2ea;border-radius:6px;padding:10px 12px}
.card .k{color:#5b6475;font-size:12px}.card .v{font-size:18px;font-weight:600}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{border-bottom:1px solid #eef1f5;padding:4px 8px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828;font-weight:600}.muted{color:#5b6475}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}code{font-size:12px}
.banner{background:#c62828;color:#fff;font-weight:700;font-size:16px;padding:12px 16px;
border-radius:6px;margin:0 0 16px}
"""


def usd(amount: Decimal | None) -> str:
    return "—" if amount is None else "USD " + format_usd_grouped(amount)


def table(columns: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(
        f'<th class="n">{escape(c)}</th>' if i in numeric else f"<th>{escape(c)}</th>"
        for i, c in enumerate(columns)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(v))}</td>' if i in numeric else f"<td>{escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def bars(items: list[tuple[str, Decimal | int, str]], width_px: int = 380) -> str:
    """A horizontal bar chart as inline SVG: (label, value, value text) per bar."""
    if not items:
        return '<p class="muted">none</p>'
    top = max((Decimal(value) for _, value, _ in items), default=Decimal(0)) or Decimal(1)
    row_px, label_px = 22, 180
    parts = []
    for index, (label, value, text) in enumerate(items):
        y = index * row_px
        length = int(Decimal(value) * width_px / top) if value else 0
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_px}" y="{y + 4}" width="{max(length, 1)}" height="14" '
            f'fill="#3b6fd8" rx="2"/>'
            f'<text x="{label_px + length + 6}" y="{y + 15}" font-size="12">{escape(text)}</text>'
        )
    height = len(items) * row_px
    total_width = label_px + width_px + 150
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{height}" '
        f'viewBox="0 0 {total_width} {height}" style="max-width:100%;height:auto" '
        f'role="img">{"".join(parts)}</svg>'
    )


def render(facts: dict) -> str:
    """The page. `facts` holds what transforms/pipeline/report.py gathered; a month that is
    not published (its validation failed) shows only its checks."""
    month = facts["month"]
    published = facts.get("settlement") is not None
    title = f"Refer a Friend — {month}" + ("" if published else " (not published)")
    sections = [f"<h1>{escape(title)}</h1>"]
    if published:
        s = facts["settlement"]
        if s["coupon_key_kind"] == "development":
            sections.append(
                '<p class="banner">DEVELOPMENT coupon key: these coupons are not real and '
                "must not be issued</p>"
            )
        sections.append(
            f'<p class="sub">cutoff {s["cutoff_date"]} · coupons issued on {s["issued_on"]} · '
            f"coupon key: {escape(s['coupon_key_kind'])}</p>"
        )
        cards = [
            ("coupons", f"{s['coupon_count']:,}"),
            ("coupon total", usd(s["coupon_total_usd"])),
            ("welcome rewards", f"{s['welcome_count'] or 0:,} · {usd(s['welcome_total_usd'])}"),
            ("ledger deltas", usd(s["ledger_delta_total_usd"])),
            ("carried in", usd(s["carry_in_total_usd"])),
            ("carried out", usd(s["carry_out_total_usd"])),
            (
                "program liability",
                usd((facts.get("liability") or {}).get("program_liability_usd")),
            ),
            ("rejected rows accepted", f"{s['rejected_rows_accepted']:,}"),
        ]
        sections.append(
            '<div class="grid">'
            + "".join(
                f'<div class="card"><div class="k">{escape(k)}</div>'
                f'<div class="v">{escape(v)}</div></div>'
                for k, v in cards
            )
            + "</div>"
        )
        sections.append(_liability(facts))
        sections.append(_trend(facts))
        sections.append(
            '<div class="two"><div><h2>Coupons by amount</h2>'
            + bars([(b, c, f"{c} · {usd(t)}") for b, c, t in facts["coupon_bands"]])
            + "</div><div><h2>Hold pipeline (earned, not yet payable)</h2>"
            + bars([(label, amount, usd(amount)) for label, amount in facts["hold_pipeline"]])
            + "</div></div>"
        )
        sections.append(
            "<h2>Referrals by reason</h2>"
            + bars([(code, count, f"{count:,}") for code, count in facts["reasons"]])
        )
    sections.append(_quality(facts))
    if published:
        s = facts["settlement"]
        sections.append(
            "<h2>Provenance</h2>"
            + table(
                ["what", "value"],
                [
                    ["input fingerprint", s["input_fingerprint"]],
                    ["rules SHA-256", s["rules_sha256"]],
                    ["code version", s["code_version"]],
                    ["coupons.csv SHA-256", s["coupons_csv_sha256"]],
                ],
            )
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _liability(facts: dict) -> str:
    liability = facts.get("liability")
    parts = ["<h2>Liability at the cutoff</h2>"]
    if liability:
        rows = [
            ["bases on hold", usd(liability["on_hold_base_usd"])],
            ["bonuses accrued", usd(liability["accrued_bonus_usd"])],
            ["settled, not yet issued (this batch)", usd(liability["settled_not_issued_usd"])],
            ["referral coupons outstanding", usd(liability["outstanding_referral_coupons_usd"])],
            ["welcome rewards outstanding", usd(liability["outstanding_welcome_usd"])],
            ["less negative carries", usd(liability["negative_carries_usd"])],
            ["program liability", usd(liability["program_liability_usd"])],
            [
                "customer-prepaid vouchers outstanding (not program cost)",
                usd(liability["outstanding_vouchers_usd"]),
            ],
            ["total outstanding", usd(liability["total_liability_usd"])],
        ]
        parts.append(table(["", "amount"], rows, {1}))
    rollforward = facts.get("rollforward") or []
    if rollforward:
        parts.append("<h2>Instrument bridge (opening + issued − used − expired = closing)</h2>")
        parts.append(
            table(
                ["kind", "opening", "issued", "used", "expired", "closing"],
                [
                    [
                        r["instrument_kind"],
                        usd(r["opening_outstanding_usd"]),
                        usd(r["issued_usd"]),
                        usd(r["redeemed_or_used_usd"]),
                        usd(r["expired_usd"]),
                        usd(r["closing_outstanding_usd"]),
                    ]
                    for r in rollforward
                ],
                {1, 2, 3, 4, 5},
            )
        )
        coupons = next((r for r in rollforward if r["instrument_kind"] == "referral_coupon"), None)
        if coupons is not None:
            s = facts["settlement"]
            parts.append(
                f'<p class="muted">One month apart: the referral coupons issued in {month_of(s)} '
                f"({usd(coupons['issued_usd'])}) are the batch settled the month before, issued "
                f"on the 5th; this month's batch ({usd(s['coupon_total_usd'])}) is issued on "
                f"{s['issued_on']} and is in “settled, not yet issued” until then. Expired is "
                "net of breakage reversed by late facts.</p>"
            )
    else:
        parts.append(
            '<p class="muted">The instrument month is not published yet: run '
            "<code>creditflow instruments</code> for this month to complete the liability.</p>"
        )
    return "".join(parts)


def month_of(settlement: dict) -> str:
    return settlement["settlement_month"]


def _trend(facts: dict) -> str:
    """The last twelve settled months: the program's liability at each cutoff and its cost
    in the month (ledger deltas + welcome rewards issued), as inline SVG columns."""
    trend = facts.get("trend") or []
    if len(trend) < 2:
        return ""
    liability = [(m, amount) for m, amount, _cost in trend if amount is not None]
    cost = [(m, c) for m, _amount, c in trend]
    return (
        '<div class="two"><div><h2>Program liability, last 12 months</h2>'
        + columns(liability)
        + "</div><div><h2>Program cost per month (deltas + welcome rewards)</h2>"
        + columns(cost)
        + "</div></div>"
    )


def columns(points: list[tuple[str, Decimal]], width_px: int = 500, height_px: int = 160) -> str:
    """Vertical bars, one per month, labelled with the month and the amount on hover; a
    negative amount goes below the axis."""
    if not points:
        return '<p class="muted">not known yet</p>'
    top = max([amount for _m, amount in points] + [Decimal(0)])
    bottom = min([amount for _m, amount in points] + [Decimal(0)])
    span = (top - bottom) or Decimal(1)
    step = width_px / len(points)
    zero_y = 10 + float(top / span) * (height_px - 30)
    parts = []
    for number, (month, amount) in enumerate(points):
        bar = float(abs(amount) / span) * (height_px - 30)
        y = zero_y - bar if amount >= 0 else zero_y
        x = number * step + 4
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step - 8:.1f}" height="{bar:.1f}" '
            f'fill="#3b6fd4"><title>{escape(month)}: {escape(usd(amount))}</title></rect>'
            f'<text x="{x + (step - 8) / 2:.1f}" y="{height_px - 4}" font-size="10" '
            f'text-anchor="middle" fill="#5b6475">{escape(month[2:])}</text>'
        )
    parts.append(
        f'<line x1="0" y1="{zero_y:.1f}" x2="{width_px}" y2="{zero_y:.1f}" stroke="#9aa3b2"/>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'role="img">{"".join(parts)}</svg>'
    )


def _quality(facts: dict) -> str:
    parts = ["<h2>Data quality</h2>"]
    validation = facts.get("validation")
    if validation:
        failed = [c for c in validation["checks"] if not c[2]]
        verdict = (
            f'<span class="ok">all {len(validation["checks"])} checks passed</span>'
            if not failed
            else f'<span class="bad">{len(failed)} of {len(validation["checks"])} checks failed'
            "</span>"
        )
        parts.append(
            f"<p>Great Expectations suite <code>{escape(validation['suite'])}</code> over the "
            f"{validation['rows']:,} rows of coupons.csv: {verdict}.</p>"
        )
        parts.append(
            table(
                ["expectation", "column", "result", "unexpected rows"],
                [[e, c, "pass" if ok else "FAIL", n] for e, c, ok, n in validation["checks"]],
                {3},
            )
        )
    else:
        parts.append('<p class="muted">No validation recorded for this month.</p>')
    for problem in facts.get("invariant_failures") or []:
        parts.append(f'<p class="bad">{escape(problem)}</p>')
    quarantine = facts.get("quarantine") or []
    parts.append("<h2>Quarantined input rows</h2>")
    if quarantine:
        parts.append(table(["input audit", "rule", "rows"], [list(row) for row in quarantine], {2}))
    else:
        parts.append('<p class="muted">None: every input row passed its audits.</p>')
    return "".join(parts)
