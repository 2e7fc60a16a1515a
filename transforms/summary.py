"""What a person reads: the progress lines of a run and the short summary it ends with."""

import logging
import sys
from decimal import Decimal
from pathlib import Path

from transforms.money import format_usd_grouped
from transforms.pipeline.layout import COUPONS_FILE, WELCOME_FILE


def progress(message: str, level: int = logging.INFO) -> None:
    """One progress line on stderr (stdout carries the summary), and the same line as a log
    record at its level (a warning or an error is one): inside a Prefect run,
    flows/run_record.py sends it to the run's logs."""
    print(f"creditflow: {message}", file=sys.stderr, flush=True)
    PROGRESS_LOG.log(level, message)


PROGRESS_LOG = logging.getLogger("creditflow.progress")
SLOW_STAGE_S = 5.0  # a stage slower than this says how long it took (on a terminal)


def stage_line(month: str, name: str, doing: str) -> str:
    """The line a stage starts with: which month, which stage, and what it is doing."""
    return f"{month}: {name}" + (f" ({doing})" if doing else "")


def range_line(kind: str, number: int, total: int, elapsed_s: float) -> str:
    """Where a range run stands before its month `number` of `total`, with an estimate of the
    time left from the months done so far (none before the first is done)."""
    line = f"{kind} month {number}/{total}"
    done = number - 1
    if done and elapsed_s > 0:
        left_s = elapsed_s / done * (total - done)
        line += f", {done} done in {_duration(elapsed_s)}, about {_duration(left_s)} left"
    return line


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def is_terminal() -> bool:
    return sys.stderr.isatty()


def _usd(amount: Decimal) -> str:
    return format_usd_grouped(amount)


def format_outcome(outcome) -> str:
    """A few lines on what one month's run did."""
    reasons = (
        ", ".join(f"{code} {count}" for code, count in outcome.reason_counts.items()) or "none"
    )
    lines = [
        f"{outcome.month}: {outcome.action} - {outcome.coupon_count} coupon(s), "
        f"USD {_usd(outcome.coupon_total_usd)} -> {outcome.batch_dir / COUPONS_FILE}",
        f"  ledger deltas USD {_usd(outcome.ledger_delta_total_usd)}, "
        f"carried forward USD {_usd(outcome.carry_out_total_usd)}",
        f"  welcome rewards: {outcome.welcome_count}, USD {_usd(outcome.welcome_total_usd)} "
        f"-> {outcome.batch_dir / WELCOME_FILE}",
        f"  referrals by status: {reasons}",
    ]
    if outcome.scanned_cycles:
        lines.append(
            f"  scanned {len(outcome.scanned_cycles)} of {outcome.visible_cycles} billing cycle(s)"
            f" ({', '.join(outcome.scanned_cycles)}); the rest came from the incremental state"
            if len(outcome.scanned_cycles) < outcome.visible_cycles
            else f"  scanned all {outcome.visible_cycles} billing cycle(s)"
        )
    if outcome.carried_referees:
        lines.append(
            f"  windows: {outcome.carried_referees} of {outcome.referee_count} referee(s) "
            "advanced from last month's state by their new days; the rest summed from all days"
        )
    if outcome.report_index:
        lines.append(f"  month report: {outcome.report_index}")
    lines.append(f"  took {outcome.seconds:.1f} s")
    return "\n".join(lines)


def format_run(outcomes, seconds: float, key_kind: str) -> str:
    """Closing block of a settle or backfill run."""
    total = sum((o.coupon_total_usd for o in outcomes if o.action == "published"), Decimal(0))
    issued = sum(o.coupon_count for o in outcomes if o.action == "published")
    lines = [format_outcome(o) for o in outcomes]
    lines.append(
        f"done: {len(outcomes)} month(s) in {seconds:.1f} s; newly issued {issued} coupon(s), "
        f"USD {_usd(total)}"
    )
    if key_kind == "development":
        lines.append(DEVELOPMENT_KEY_WARNING)
    return "\n".join(lines)


DEVELOPMENT_KEY_WARNING = (
    "WARNING: DEVELOPMENT coupon key in use (CREDITFLOW_COUPON_KEY is not set): these "
    "coupons are not real and must not be issued"
)


def format_instruments(outcomes, seconds: float) -> str:
    """Closing block of an instruments run: events, rejections, breakage, roll-forward."""
    lines = []
    for o in outcomes:
        lines.append(
            f"{o.month}: instruments {o.action} - {o.event_count} event(s), "
            f"{o.rejected_event_count} rejected, breakage USD {_usd(o.breakage_usd)} -> {o.folder}"
        )
        for row in o.rollforward:
            lines.append(
                f"  {row['instrument_kind']}: opening {_usd(row['opening_outstanding_usd'])} "
                f"+ issued {_usd(row['issued_usd'])} - used {_usd(row['redeemed_or_used_usd'])} "
                f"- expired {_usd(row['expired_usd'])} = closing {_usd(row['closing_outstanding_usd'])}"
            )
        lines.append("  " + program_cost_line(o))
    lines.append(f"done: {len(outcomes)} instrument month(s) in {seconds:.1f} s")
    return "\n".join(lines)


def program_cost_line(outcome) -> str:
    """What the program cost in the instrument month: the referral coupons and the welcome
    rewards that entered the ledger, and the breakage (issued value that expired unused)."""
    issued = {row["instrument_kind"]: row["issued_usd"] for row in outcome.rollforward}
    coupons = issued.get("referral_coupon", Decimal(0))
    welcome = issued.get("welcome_credit", Decimal(0)) + issued.get("welcome_discount", Decimal(0))
    program_breakage = sum(
        (r["expired_usd"] for r in outcome.rollforward if r["instrument_kind"] != "voucher"),
        Decimal(0),
    )
    return (
        f"program cost: referral coupons USD {_usd(coupons)} + welcome rewards "
        f"USD {_usd(welcome)} = USD {_usd(coupons + welcome)} issued; "
        f"program breakage USD {_usd(program_breakage)}"
    )


def settlement_closing_line(outcome) -> str:
    """The last line of a settlement run's log: what it issued and what it left owed."""
    return (
        f"{outcome.month}: {outcome.action} - {outcome.coupon_count} coupon(s), "
        f"USD {_usd(outcome.coupon_total_usd)}; welcome rewards {outcome.welcome_count}, "
        f"USD {_usd(outcome.welcome_total_usd)}; liability: settled, not yet issued "
        f"USD {_usd(outcome.coupon_total_usd)}, carried forward USD {_usd(outcome.carry_out_total_usd)}"
    )


def instruments_closing_line(outcome) -> str:
    """The last line of an instrument run's log: events, breakage, what is outstanding."""
    closing = sum((row["closing_outstanding_usd"] for row in outcome.rollforward), Decimal(0))
    return (
        f"{outcome.month}: instruments {outcome.action} - {outcome.event_count} event(s), "
        f"{outcome.rejected_event_count} rejected, breakage USD {_usd(outcome.breakage_usd)}; "
        f"liability: outstanding instruments USD {_usd(closing)}"
    )


def _link(label: str, path: Path) -> str:
    # the path as text: the UI runs in an operator's browser, where a file:// link to the
    # batch machine opens nothing; a path can be copied into a shell there
    return f"{label}: `{Path(path).resolve()}`"


def settlement_markdown(outcome, quarantine: Path | None) -> str:
    """The month's summary as the Prefect run's markdown artifact (no account ids, no codes)."""
    links = [_link("coupon batch", outcome.batch_dir / "coupons.csv")]
    if outcome.report_index:
        links.append(_link("month report", outcome.report_index))
    if quarantine is not None:
        links.append(_link("quarantine", quarantine))
    return "\n".join(
        [
            f"# Settlement {outcome.month}: {outcome.action}",
            "",
            "| measure | value |",
            "|---|---|",
            f"| coupons | {outcome.coupon_count} |",
            f"| coupon total | USD {_usd(outcome.coupon_total_usd)} |",
            f"| welcome rewards | {outcome.welcome_count}, USD {_usd(outcome.welcome_total_usd)} |",
            f"| ledger deltas | USD {_usd(outcome.ledger_delta_total_usd)} |",
            f"| carried forward | USD {_usd(outcome.carry_out_total_usd)} |",
            f"| coupon key | {outcome.coupon_key_kind} |",
            "",
            # the liability this month adds: the batch is owed from the issue date (the 5th
            # of the next month), and negative carries are recovered from later credits
            f"**Liability**: settled, not yet issued USD {_usd(outcome.coupon_total_usd)}; "
            f"carried forward USD {_usd(outcome.carry_out_total_usd)}.",
            "",
            "Files on the run's machine:",
            "",
            *(f"- {link}" for link in links),
        ]
    )


def status_table(outcome) -> list[dict]:
    """Referrals of the month by status (the run's table artifact)."""
    total = sum(outcome.reason_counts.values())
    return [
        {"status": code, "referrals": count, "share": f"{count / total:.1%}"}
        for code, count in sorted(outcome.reason_counts.items())
    ]


def instruments_markdown(outcome, quarantine: Path | None) -> str:
    """The instrument month's roll-forward as the Prefect run's markdown artifact."""
    rows = [
        f"| {row['instrument_kind']} | {_usd(row['opening_outstanding_usd'])} "
        f"| {_usd(row['issued_usd'])} | {_usd(row['redeemed_or_used_usd'])} "
        f"| {_usd(row['expired_usd'])} | {_usd(row['closing_outstanding_usd'])} |"
        for row in outcome.rollforward
    ]
    closing = sum((row["closing_outstanding_usd"] for row in outcome.rollforward), Decimal(0))
    links = [_link("instrument month", outcome.folder)]
    if quarantine is not None:
        links.append(_link("quarantine", quarantine))
    return "\n".join(
        [
            f"# Instruments {outcome.month}: {outcome.action}",
            "",
            f"{outcome.event_count} event(s), {outcome.rejected_event_count} rejected; "
            f"breakage USD {_usd(outcome.breakage_usd)}.",
            "",
            program_cost_line(outcome) + ".",
            "",
            "| kind | opening | issued | used | expired | closing |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"**Liability**: outstanding instruments USD {_usd(closing)} at the month's end.",
            "",
            "Files on the run's machine:",
            "",
            *(f"- {link}" for link in links),
        ]
    )


def rollforward_table(outcome) -> list[dict]:
    """The roll-forward by kind (the instrument run's table artifact); amounts as text."""
    columns = (
        "opening_outstanding_usd",
        "issued_usd",
        "redeemed_or_used_usd",
        "expired_usd",
        "closing_outstanding_usd",
    )
    return [
        {"instrument_kind": row["instrument_kind"]} | {c: _usd(row[c]) for c in columns}
        for row in outcome.rollforward
    ]
