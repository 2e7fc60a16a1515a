"""How the tests drive creditflow as its users do: the command line, in this process, and
the ledger read back from the warehouse."""

from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest
from hypothesis import strategies as st

from flows import cli


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


def run_cli(args: list[str], capsys) -> CliResult:
    """`creditflow ARGS` in this process: the exit code and what it printed."""
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    captured = capsys.readouterr()
    return CliResult(exited.value.code, captured.out, captured.err)


LEDGER_TABLES = ("ledger_entries", "settlements", "instrument_events", "instrument_months")


def ledger_rows(out: Path, tables: tuple[str, ...] = LEDGER_TABLES) -> dict[str, list[tuple]]:
    """The ledger's rows, table by table, in a stable order (to compare a ledger before and
    after something that must not change it)."""
    with duckdb.connect(str(Path(out) / "warehouse.duckdb"), read_only=True) as con:
        return {
            table: con.execute(f"select * from {table} order by all").fetchall() for table in tables
        }


# how many random examples a hypothesis test draws: the CI budget, a quick share of it for
# the edit-test loop (make check), ten times it for a nightly run (HYPOTHESIS_PROFILE)
_EXAMPLE_SCALE = {"dev": 0.2, "ci": 1, "nightly": 10}


def examples(ci_budget: int) -> int:
    """The number of examples for a test whose CI budget is `ci_budget`."""
    import os

    scale = _EXAMPLE_SCALE[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
    return max(1, round(ci_budget * scale))


def screenshot(page: Path, shot: Path) -> Path:
    """A page as headless Chromium draws it (offline: a file URI), at 1280x900."""
    import subprocess

    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,900",
            f"--screenshot={shot}",
            Path(page).resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return shot


# a random world's bill line amount: a refund down to -60, a purchase up to 400, never zero
line_amounts = st.decimals(min_value=Decimal("-60"), max_value=Decimal("400"), places=2).filter(
    lambda a: a != 0
)
