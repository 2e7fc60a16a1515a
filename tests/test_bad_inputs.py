"""The committed corpus of bad inputs (tests/bad_inputs/, built by build_corpus.py).

For each kind: 2025-03 is settled from the good base, then the kind's command (`creditflow
settle`, or `creditflow instruments` for the voucher and coupon inputs) of 2025-04 runs on the
bad dataset. It must exit with the kind's code and one error line naming the problem,
publish nothing, leave the ledgers unchanged, and keep rejected rows (with file and reason)
in the quarantine.
"""

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.test_cli import run_cli

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
KINDS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def test_the_corpus_has_at_least_25_kinds():
    assert len(KINDS) >= 25


@pytest.fixture(scope="module")
def published_march(prefect_harness, tmp_path_factory):
    out = tmp_path_factory.mktemp("march") / "out"
    code = _settle(["--month", "2025-03", "--data", str(CORPUS / "base"), "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def starting_ledgers(published_march, tmp_path_factory):
    """What each command starts from: a settlement of April starts from March published; an
    instrument month April also needs April settled (its friends' welcome rewards)."""
    settled_april = tmp_path_factory.mktemp("april") / "out"
    shutil.copytree(published_march, settled_april)
    code = _settle(
        ["--month", "2025-04", "--data", str(CORPUS / "base"), "--out", str(settled_april)]
    )
    assert code == 0
    return {"settle": published_march, "instruments": settled_april}


def _settle(args):
    try:
        from flows import cli

        cli.main(["settle", *args])
    except SystemExit as exited:
        return exited.code
    return None


def _ledger(out: Path):
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        return (
            con.execute("select * from ledger_entries order by all").fetchall(),
            con.execute("select settlement_month from settlements order by 1").fetchall(),
            con.execute("select * from instrument_events order by all").fetchall(),
            con.execute("select instrument_month from instrument_months order by 1").fetchall(),
        )


# where each command publishes a month, and where it keeps the rows it rejected
PUBLISHED = {"settle": Path("batches/2025-04"), "instruments": Path("instruments/2025-04")}
QUARANTINE = {
    "settle": Path("quarantine/2025-04/rejected_rows.parquet"),
    "instruments": Path("quarantine/2025-04/instrument_rejected_rows.parquet"),
}


def _april(starting_ledgers, tmp_path, capsys, command, kind, max_rejected=None, extra=()):
    """`creditflow COMMAND --month 2025-04` on the kind's data, over a copy of the ledger
    the command starts from; returns (out, exit code, stderr)."""
    out = tmp_path / "out"
    shutil.copytree(starting_ledgers[command], out)
    capsys.readouterr()
    args = [command, "--month", "2025-04", "--data", str(CORPUS / kind / "data"), "--out", str(out)]
    if command == "settle":
        args.append("--data-moved")  # the kind's data is a re-delivery in a folder of its own
    if max_rejected is not None:
        args += ["--max-rejected", max_rejected]
    args += [arg.replace("{data}", str(CORPUS / kind / "data")) for arg in extra]
    code, _, err = run_cli(args, capsys)
    return out, code, err


@pytest.mark.flow
@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_is_refused_with_one_line_and_nothing_is_published(
    starting_ledgers, tmp_path, capsys, kind
):
    expected = json.loads((CORPUS / kind / "expected.json").read_text())
    command = expected["command"]
    ledger_before = _ledger(starting_ledgers[command])
    out, code, err = _april(
        starting_ledgers, tmp_path, capsys, command, kind, extra=expected.get("args", ())
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
    assert _ledger(out) == ledger_before
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


@pytest.mark.flow
def test_operator_can_accept_rejected_rows_and_the_manifest_records_them(
    starting_ledgers, tmp_path, capsys
):
    out, code, err = _april(starting_ledgers, tmp_path, capsys, "settle", "non_usd_currency", "1")
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


@pytest.mark.flow
def test_operator_can_accept_rejected_instrument_rows_and_the_month_records_them(
    starting_ledgers, tmp_path, capsys
):
    out, code, err = _april(
        starting_ledgers, tmp_path, capsys, "instruments", "coupon_usage_zero_amount", "1"
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
    starting_ledgers, tmp_path, capsys, kind
):
    out, code, err = _april(
        starting_ledgers, tmp_path, capsys, "settle", kind, extra=["--accept-shrunk-inputs"]
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
