"""The committed corpus of bad inputs (tests/bad_inputs/, built by build_corpus.py).

For each kind: 2025-03 is settled from the good base, then the kind's command (`creditflow
settle`, or `creditflow instruments` for the voucher and coupon inputs) of 2025-04 runs on the
bad dataset. It must exit with the kind's code and one error line naming the problem,
publish nothing, leave the ledgers unchanged, and keep rejected rows (with file and reason)
in the quarantine.

Every kind runs its command's own arguments through the CLI's parser and options and the
same pipeline in this process (the CLI's error line is `creditflow: error: ` and the
error); THROUGH_THE_CLI also run end to end through `creditflow` and Prefect, one kind per
way a run stops (a missing cycle, a broken file, rejected rows, a usage error, an instrument
input, a valid odd case).
"""

import gc
import json
import re
import shutil
import weakref
from pathlib import Path

import duckdb
import pytest

from flows import cli, cli_parser
from tests.helpers import ledger_rows, run_cli
from transforms.errors import CreditflowError
from transforms.pipeline import instruments, settlement, sql_runner

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
KINDS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
THROUGH_THE_CLI = [
    "missing_month_cycle",
    "garbage_parquet",
    "non_usd_currency",
    "rules_other_currency",
    "coupon_usage_zero_amount",
    "upper_case_parquet_extension",
]
AUDITS = ("audits/inputs", "audits/instrument_inputs")


def _audit_rules() -> dict[str, str]:
    """Every rule an input audit can reject a row for (its broken_rule text, up to a bound
    parameter), by the audit that states it."""
    rules = {}
    for folder in AUDITS:
        for audit in sql_runner.folder(folder):
            for rule in re.findall(r"then\s+'([^']+)'|'([^']+)'\s+as broken_rule", audit.code):
                rules["".join(rule).strip()] = audit.name
    return rules


def test_every_input_audit_rule_is_hit_by_a_corpus_kind():
    messages = [json.loads((CORPUS / k / "expected.json").read_text())["message"] for k in KINDS]
    rules = _audit_rules()
    assert len(rules) > 50  # the parse found the rules, not nothing
    missed = [f"{rules[rule]}: {rule}" for rule in rules if not any(rule in m for m in messages)]
    assert missed == []


@pytest.fixture(scope="session")
def published_march(tmp_path_factory):
    out = tmp_path_factory.mktemp("march") / "out"
    code, err = _in_process(
        ["settle", "--month", "2025-03", "--data", str(CORPUS / "base"), "--out", str(out)]
    )
    assert code == 0, err
    return out


@pytest.fixture(scope="session")
def starting_ledgers(published_march, tmp_path_factory):
    """What each command starts from: a settlement of April starts from March published; an
    instrument month April also needs April settled (its friends' welcome rewards)."""
    settled_april = tmp_path_factory.mktemp("april") / "out"
    shutil.copytree(published_march, settled_april)
    args = ["settle", "--month", "2025-04", "--data", str(CORPUS / "base")]
    code, err = _in_process([*args, "--out", str(settled_april)])
    assert code == 0, err
    return {"settle": published_march, "instruments": settled_april}


def _in_process(args: list[str]) -> tuple[int, str]:
    """The command's arguments through the CLI's own parser and options, then the same
    pipeline the flow runs, in this process: the exit code and the error line."""
    parsed = cli_parser.build_parser().parse_args(args)
    try:
        options = cli._options(parsed)
        if parsed.command == "settle":
            settlement.settle(parsed.month, options)
        else:
            instruments.run_month(parsed.month, options)
    except CreditflowError as error:
        return error.exit_code, f"creditflow: error: {error}\n"
    return 0, ""


# where each command publishes a month, and where it keeps the rows it rejected
PUBLISHED = {"settle": Path("batches/2025-04"), "instruments": Path("instruments/2025-04")}
QUARANTINE = {
    "settle": Path("quarantine/2025-04/rejected_rows.parquet"),
    "instruments": Path("quarantine/2025-04/instrument_rejected_rows.parquet"),
}


def _april(starting_ledgers, tmp_path, command, kind, max_rejected=None, extra=(), capsys=None):
    """`creditflow COMMAND --month 2025-04` on the kind's data, over a copy of the ledger
    the command starts from: through the CLI when `capsys` is given, else in process;
    returns (out, exit code, stderr)."""
    out = tmp_path / "out"
    shutil.copytree(starting_ledgers[command], out)
    args = [command, "--month", "2025-04", "--data", str(CORPUS / kind / "data"), "--out", str(out)]
    if command == "settle":
        args.append("--data-moved")  # the kind's data is a re-delivery in a folder of its own
    if max_rejected is not None:
        args += ["--max-rejected", max_rejected]
    args += [arg.replace("{data}", str(CORPUS / kind / "data")) for arg in extra]
    if capsys is None:
        return out, *_in_process(args)
    capsys.readouterr()
    code, _, err = run_cli(args, capsys)
    return out, code, err


def _check_refused(starting_ledgers, tmp_path, kind, capsys=None):
    expected = json.loads((CORPUS / kind / "expected.json").read_text())
    command = expected["command"]
    ledger_before = ledger_rows(starting_ledgers[command])
    out, code, err = _april(
        starting_ledgers, tmp_path, command, kind, extra=expected.get("args", ()), capsys=capsys
    )
    if expected["exit_code"] == 0:
        # a case that looks odd but is valid (a .PARQUET part file, a TIMESTAMPTZ_NS column,
        # CR line ends): settled exactly as the base is
        assert code == 0, err
        base = starting_ledgers["instruments"] / PUBLISHED[command] / "coupons.csv"
        assert (out / PUBLISHED[command] / "coupons.csv").read_bytes() == base.read_bytes()
        return
    error_lines = [line for line in err.splitlines() if line.startswith("creditflow: error:")]
    assert code == expected["exit_code"], err
    assert len(error_lines) == 1, err
    assert expected["message"] in err
    assert "Traceback" not in err
    assert not (out / PUBLISHED[command]).exists()
    assert ledger_rows(out) == ledger_before
    quarantine = out / QUARANTINE[command]
    if quarantine.exists():
        with duckdb.connect() as con:
            rows = con.execute(
                "select source_file, broken_rule from read_parquet($q)", {"q": str(quarantine)}
            ).fetchall()
        assert rows, "a row rule failed but the quarantine is empty"
        assert any(expected["message"] in rule for _, rule in rows)
        assert all(file.startswith(str(CORPUS / kind / "data")) for file, _ in rows)
        assert f"kept in {quarantine}" in err


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_refused_with_one_line_and_nothing_is_published(
    starting_ledgers, tmp_path, kind
):
    _check_refused(starting_ledgers, tmp_path, kind)


@pytest.mark.flow
@pytest.mark.parametrize("kind", THROUGH_THE_CLI)
def test_through_the_cli_and_prefect_too(prefect_harness, starting_ledgers, tmp_path, capsys, kind):
    _check_refused(starting_ledgers, tmp_path, kind, capsys)


class _Held:
    """Stands for what a caller's frame holds while it runs the CLI (a DuckDB connection)."""


def _refused_while_holding(starting_ledgers, tmp_path, capsys) -> weakref.ref:
    held = _Held()
    _check_refused(starting_ledgers, tmp_path, "non_usd_currency", capsys)
    return weakref.ref(held)


@pytest.mark.flow
def test_a_refused_run_keeps_no_frame_of_its_callers_alive(
    prefect_harness, starting_ledgers, tmp_path, capsys
):
    """Prefect keeps a failed run's exception for the life of the process; its traceback
    kept every frame up to the caller's, and the DuckDB connections in them, which DuckDB's
    bindings printed as "nanobind: leaked ..." when the process exited (flows/cli.py
    `_drop_frames`)."""
    held = _refused_while_holding(starting_ledgers, tmp_path, capsys)
    gc.collect()
    assert held() is None, "a caller's frame outlived the refused run"


@pytest.mark.flow
def test_operator_can_accept_rejected_rows_and_the_manifest_records_them(
    prefect_harness, starting_ledgers, tmp_path, capsys
):
    out, code, err = _april(
        starting_ledgers, tmp_path, "settle", "non_usd_currency", "1", capsys=capsys
    )
    assert code == 0, err
    manifest = json.loads((out / "batches" / "2025-04" / "manifest.json").read_text())
    assert manifest["rejected_rows_accepted"] == 1
    assert len(manifest["quarantine_sha256"]) == 64
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        # the rejected EUR line (friend-2's 12.00) is left out: friend-2 stays below 20.00
        spend = con.execute(
            "select eligible_spend_to_date_usd from referee_status "
            "where referee_account_id = 'friend-2' and settlement_month = '2025-04'"
        ).fetchone()[0]
    assert str(spend) == "12.0000"


def test_a_quarantine_names_its_files_alike_however_data_was_spelled(
    starting_ledgers, tmp_path, monkeypatch
):
    """The same inputs give the same quarantine bytes whether --data is absolute or relative
    to where the command runs: each rejected row names its file by the resolved path."""
    kind = "non_usd_currency"
    spellings = ((str(CORPUS / kind / "data"), tmp_path), ("data", CORPUS / kind))
    quarantines = []
    for number, (data, working_dir) in enumerate(spellings):
        out = tmp_path / f"out-{number}"
        shutil.copytree(starting_ledgers["settle"], out)
        monkeypatch.chdir(working_dir)
        args = ["settle", "--month", "2025-04", "--data", data, "--out", str(out)]
        code, err = _in_process([*args, "--data-moved", "--max-rejected", "1"])
        assert code == 0, err
        quarantines.append(out / QUARANTINE["settle"])
    assert quarantines[0].read_bytes() == quarantines[1].read_bytes()
    with duckdb.connect() as con:
        named = con.execute(
            "select distinct source_file from read_parquet($q)", {"q": str(quarantines[1])}
        ).fetchall()
    billing = CORPUS / kind / "data" / "billing"
    assert [Path(file).parent.parent for (file,) in named] == [billing]


@pytest.mark.flow
def test_operator_can_accept_rejected_instrument_rows_and_the_month_records_them(
    prefect_harness, starting_ledgers, tmp_path, capsys
):
    out, code, err = _april(
        starting_ledgers, tmp_path, "instruments", "coupon_usage_zero_amount", "1", capsys=capsys
    )
    assert code == 0, err
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        accepted, digest = con.execute(
            "select rejected_input_rows_accepted, quarantine_sha256 from instrument_months "
            "where instrument_month = '2025-04'"
        ).fetchone()
        listed = con.execute("select count(*) from instrument_events").fetchone()[0]
    # the rejected usage is kept in the quarantine, and never listed or applied
    assert (accepted, len(digest), listed) == (1, 64, 0)


@pytest.mark.flow
@pytest.mark.parametrize("kind", ["tiny_cycle", "lost_referrals"])
def test_operator_can_accept_smaller_inputs_and_the_manifest_records_it(
    prefect_harness, starting_ledgers, tmp_path, capsys, kind
):
    out, code, err = _april(
        starting_ledgers, tmp_path, "settle", kind, extra=["--accept-shrunk-inputs"], capsys=capsys
    )
    assert code == 0, err
    manifest = json.loads((out / "batches" / "2025-04" / "manifest.json").read_text())
    expected = json.loads((CORPUS / kind / "expected.json").read_text())["message"]
    assert expected in manifest["accepted_shrinkage"]
    assert f"accepted (--accept-shrunk-inputs): {CORPUS / kind / 'data'}" in err
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        (recorded,) = con.execute(
            "select accepted_shrinkage from settlements where settlement_month = '2025-04'"
        ).fetchone()
    assert recorded == manifest["accepted_shrinkage"]
