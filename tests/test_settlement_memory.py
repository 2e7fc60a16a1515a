"""What a month's run lets go of once nothing later reads it
(transforms/pipeline/settlement.py DROPPED_AFTER_LAST_READER; docs/performance.md, target 3)."""

import re
from pathlib import Path

import pytest

from transforms.pipeline import settlement, settlement_run, sql_runner
from transforms.pipeline.options import RunOptions
from transforms.pipeline.settlement_inputs import register_inputs

REPO = Path(__file__).resolve().parents[1]
DROPPED = sorted(settlement.DROPPED_AFTER_LAST_READER.items())


def _temp_tables(con) -> set[str]:
    return {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}


def test_the_day_rows_are_gone_once_the_windows_are_computed(tmp_path):
    options = RunOptions(data_dir=REPO / "sample_data", out_dir=tmp_path, incremental=False)
    run = settlement_run.open_run("2025-12", options)
    try:
        registered = settlement.stage(run, register_inputs(run))
        settlement.compute(run, registered)
        present = _temp_tables(run.con)
    finally:
        run.con.close()
    for relation, last_reader in DROPPED:
        assert last_reader in present
        assert relation not in present


@pytest.mark.parametrize(("relation", "last_reader"), DROPPED)
def test_a_dropped_relation_has_no_other_reader(relation, last_reader):
    """Any SQL file that declares it as an input, or any Python that names it, would find it
    gone: only its last reader may read it (the shards compute their own copy)."""
    readers = {f.name for f in sql_runner.all_files() if relation in f.declared_inputs}
    assert readers == {last_reader}
    assert sql_runner.sql_file(f"intermediate/{relation}.sql").materialization == "table"
    named_in = {
        path.relative_to(REPO).as_posix()
        for folder in ("transforms", "flows")
        for path in (REPO / folder).rglob("*.py")
        if re.search(rf"\b{relation}\b", path.read_text())
    }
    assert named_in <= {"transforms/pipeline/shards.py", "transforms/pipeline/settlement.py"}
