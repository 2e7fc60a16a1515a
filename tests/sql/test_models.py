"""Every model's cases (tests/sql/<model>/<case>.yaml), run through the pipeline's SQL runner."""

import pytest

from tests.sql.harness import cases, run_case
from transforms.pipeline import sql_runner

CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.model}/{c.name}" for c in CASES])
def test_model_case(case):
    actual, expected = run_case(case)
    assert actual == expected, case.spec.get("description", "")


def test_every_intermediate_and_mart_model_has_cases():
    covered = {c.model for c in CASES}
    models = {
        m.name for m in sql_runner.models() if m.path.parent.name in ("intermediate", "marts")
    }
    assert models - covered == set()
