"""The scale generator writes valid, deterministic inputs in the contract."""

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from bench.generate import generate
from tests.world import start_ledger
from transforms import contracts
from transforms.pipeline import settlement
from transforms.pipeline.options import RunOptions


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.parquet")):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_bytes_and_the_output_settles(tmp_path):
    quiet = lambda message: None  # noqa: E731
    generate(tmp_path / "a", referees=300, cycles=13, lines_per_month=3000, seed=5, progress=quiet)
    generate(tmp_path / "b", referees=300, cycles=13, lines_per_month=3000, seed=5, progress=quiet)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    start_ledger(tmp_path / "out", tmp_path / "a", "2026-01")
    outcome = settlement.settle(
        "2026-01", RunOptions(data_dir=tmp_path / "a", out_dir=tmp_path / "out")
    )
    assert outcome.action == "published"
    assert outcome.coupon_count > 0
    assert outcome.reason_counts["ok"] > 0


def test_generated_files_have_the_contract_schema(tmp_path):
    generate(tmp_path, referees=50, cycles=2, lines_per_month=200, seed=2, progress=lambda m: None)
    assert list(tmp_path.glob("billing/*/part-1-refunds.parquet"))  # linked refunds
    for contract, pattern in (
        (contracts.BILLING, "billing/*/*.parquet"),
        (contracts.REFERRALS, "referrals/*.parquet"),
        (contracts.ACCOUNTS, "accounts/*.parquet"),
    ):
        for path in tmp_path.glob(pattern):
            # the one column beyond the contract: kept to benchmark the commits before issue 12
            written = [
                (f.name, f.type) for f in pq.read_schema(path) if f.name != "payment_verified"
            ]
            expected = contract.arrow_schema(with_optional=True)
            assert written == [(f.name, f.type) for f in expected], path
