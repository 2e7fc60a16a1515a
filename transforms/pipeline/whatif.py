"""`creditflow whatif`: replay the program's published history under other rules (another
rules file, another eligible-products list, or both) into a sandbox of its own,
OUT/whatif/NAME/, and compare it with what was published (docs/outputs.md#what-if).

The replay is the settlement and instrument pipelines themselves, run month by month from
the ledger's first month, on the inputs each published month recorded, with
`what_if=True`: the sandbox ledger commits as usual, no coupon file is written and the
coupon key is never read (transforms/coupon_codes.WHAT_IF_KEY). The published ledger, its
catalog and its files are only read (the catalog, attached read-only: a monthly close may
run meanwhile and neither waits). The alternative rules go through the rules file's own
validation.
"""

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from transforms import months
from transforms.errors import StateConflict, UsageError
from transforms.pipeline import (
    catalog,
    instruments,
    ledger_start,
    settlement,
    sql_runner,
    warehouse,
)
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions
from transforms.rules import DEFAULT_RULES_PATH, RulesError, load_rules
from transforms.summary import progress

# the replay takes the inputs as the published months took them: whatever their audits
# refuse is left out, as it was (the months were published on them)
ACCEPT_ANY_REJECTED = 10**12
# compared month by month; the flows are summed over the range, the balances (carries,
# liability) are compared at its end
FLOWS = (
    "coupon_count",
    "coupon_total_usd",
    "welcome_count",
    "welcome_total_usd",
    "base_usd",
    "bonus_usd",
    "breakage_usd",
)
BALANCES = ("carry_out_total_usd", "program_liability_usd")
TOP_REFERRERS = 10


@dataclass(frozen=True)
class Comparison:
    name: str
    first_month: str
    last_month: str
    alternative: dict[str, str]  # what changed: the rules file and/or the eligible products
    months: list[dict]  # per month: {"settlement_month", measure: {"published", "alternative"}}
    totals: dict[str, dict]  # per measure: published, alternative, difference, percent
    reasons: list[dict]  # per month and reason code: published and alternative counts
    gains: list[dict] = field(default_factory=list)  # referrers paid more, largest first
    losses: list[dict] = field(default_factory=list)  # referrers paid less, largest first


def whatif(
    out: Path,
    first: str,
    last: str,
    name: str,
    config: Path | None,
    eligible_products: Path | None,
    data_dir: Path | None = None,
    executor: dict | None = None,
) -> Comparison:
    """Replay the published months up to `last` under the alternative rules into
    OUT/whatif/NAME/, and compare first..last with what was published."""
    if config is None and eligible_products is None:
        raise UsageError(
            "usage: whatif needs --config ALT.toml, --eligible-products ALT.csv, or both"
        )
    try:
        load_rules(config)  # the same validation as the real rules, before anything runs
    except RulesError as error:
        raise UsageError(str(error)) from None
    layout = OutputLayout(Path(out))
    with catalog.reader(layout) as con:
        settled = warehouse.published_months(con)
        instrument_months = set(
            warehouse.published_months(con, "instrument_months", "instrument_month")
        )
        recorded = warehouse.month_record(con, "settlements", "settlement_month", last)
    wanted = months.month_range(first, last)
    missing = sorted(set(wanted) - set(settled))
    if missing:
        raise UsageError(
            f"usage: {missing[0]} is not settled in {layout.root}: a what-if replays published months"
        )
    data = Path(data_dir or recorded.get("data_dir") or "")
    if not data.is_dir():
        raise UsageError(
            f"usage: {data}: the data directory {last} was settled from is not there; pass --data"
        )
    if config is None and load_rules(None).sha256() != recorded["rules_sha256"]:
        raise UsageError(
            f"usage: {last} was published with other rules than {DEFAULT_RULES_PATH}: pass "
            "--config with the rules to compare (the replay changes only what you pass)"
        )
    products = Path(eligible_products or recorded["eligible_products_file"])
    sandbox = OutputLayout(layout.whatif_dir(name))
    options = RunOptions(
        data_dir=data,
        out_dir=sandbox.root,
        eligible_products=products,
        config=config,
        max_rejected=ACCEPT_ANY_REJECTED,
        accept_shrunk_inputs=True,
        what_if=True,
        **(executor or {}),
    )
    with _one_replay_at_a_time(sandbox.root):
        _replay(options, sandbox, months.month_range(settled[0], last), instrument_months)
    changed = {
        "rules": str(config) if config else "the published rules",
        "eligible_products": str(eligible_products) if eligible_products else "the published list",
    }
    return compare(layout, sandbox, first, last, name, changed)


def _replay(
    options: RunOptions, sandbox: OutputLayout, replayed: list[str], instrument_months
) -> None:
    """Every month from the ledger's first, so that what each month carries in (credited
    to date, carries, instruments outstanding) is the alternative history's own."""
    shutil.rmtree(sandbox.root, ignore_errors=True)  # a what-if is replayed whole each time
    sandbox.root.mkdir(parents=True)
    ledger_start.start(sandbox, options.data_dir, replayed[0], started_by="whatif")
    for number, month in enumerate(replayed, start=1):
        progress(f"what-if {sandbox.root.name}: {month} ({number}/{len(replayed)})")
        settlement.settle(month, options)
        if month in instrument_months:
            instruments.run_month(month, options)


@contextmanager
def _one_replay_at_a_time(root: Path) -> Iterator[None]:
    """Two replays of one name would delete each other's ledger: the second stops."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateConflict(
                f"{root}: another what-if of this name is running; wait for it, or use --name"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def compare(
    layout: OutputLayout, sandbox: OutputLayout, first: str, last: str, name: str, changed: dict
) -> Comparison:
    """Published against alternative, read the same way from both catalogs."""
    parameters = {"first_month": first, "last_month": last}
    found = {}
    for side, where in (("published", layout), ("alternative", sandbox)):
        with catalog.reader(where) as con:
            found[side] = {
                query: sql_runner.rows(con, sql_runner.sql_file(f"queries/{query}.sql"), parameters)
                for query in ("whatif_month_measures", "whatif_referrer_coupons", "whatif_reasons")
            }
    return Comparison(
        name=name,
        first_month=first,
        last_month=last,
        alternative=changed,
        months=_months(found),
        totals=_totals(found),
        reasons=_reasons(found),
        **_referrers(found),
    )


def _months(found: dict) -> list[dict]:
    alternative = {r["settlement_month"]: r for r in found["alternative"]["whatif_month_measures"]}
    return [
        {
            "settlement_month": row["settlement_month"],
            **{
                measure: {
                    "published": row[measure],
                    "alternative": alternative[row["settlement_month"]][measure],
                }
                for measure in (*FLOWS, *BALANCES)
            },
        }
        for row in found["published"]["whatif_month_measures"]
    ]


def _totals(found: dict) -> dict[str, dict]:
    totals = {}
    for measure in (*FLOWS, *BALANCES):
        sides = {}
        for side in ("published", "alternative"):
            rows = found[side]["whatif_month_measures"]
            values = [r[measure] for r in rows]
            if measure in BALANCES:
                sides[side] = values[-1] if values else None
            else:
                sides[side] = None if None in values else sum(values)
        totals[measure] = {**sides, **difference(sides["published"], sides["alternative"])}
    return totals


def difference(published, alternative) -> dict:
    """Alternative minus published, and that as a percentage of published (one decimal)."""
    if published is None or alternative is None:
        return {"difference": None, "percent": None}
    diff = alternative - published
    percent = (
        None
        if not published
        else (Decimal(diff) * 100 / abs(Decimal(published))).quantize(Decimal("0.1"))
    )
    return {"difference": diff, "percent": percent}


def _reasons(found: dict) -> list[dict]:
    counts: dict[tuple, dict] = {}
    for side in ("published", "alternative"):
        for row in found[side]["whatif_reasons"]:
            key = (row["settlement_month"], row["reason_code"])
            counts.setdefault(key, {"published": 0, "alternative": 0})[side] = row["referral_count"]
    return [{"settlement_month": m, "reason_code": r, **c} for (m, r), c in sorted(counts.items())]


def _referrers(found: dict) -> dict[str, list[dict]]:
    zero = Decimal("0.00")
    paid = {
        side: {
            r["referrer_account_id"]: r["coupons_usd"]
            for r in found[side]["whatif_referrer_coupons"]
        }
        for side in found
    }
    rows = [
        {
            "referrer_account_id": referrer,
            "published_usd": paid["published"].get(referrer, zero),
            "alternative_usd": paid["alternative"].get(referrer, zero),
            "difference_usd": paid["alternative"].get(referrer, zero)
            - paid["published"].get(referrer, zero),
        }
        for referrer in sorted(paid["published"].keys() | paid["alternative"].keys())
    ]
    gains = sorted(
        (r for r in rows if r["difference_usd"] > 0),
        key=lambda r: (-r["difference_usd"], r["referrer_account_id"]),
    )
    losses = sorted(
        (r for r in rows if r["difference_usd"] < 0),
        key=lambda r: (r["difference_usd"], r["referrer_account_id"]),
    )
    return {"gains": gains[:TOP_REFERRERS], "losses": losses[:TOP_REFERRERS]}
