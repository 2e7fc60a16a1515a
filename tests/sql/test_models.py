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


def test_the_harness_compares_ids_as_text_and_amounts_by_value():
    from decimal import Decimal

    from tests.sql.harness import _text

    assert _text("001") != _text("1")  # an id column: "001" is not "1"
    assert _text("20.00", is_number=True) == _text(Decimal("20.0000"), is_number=True)
    assert _text(20, is_number=True) == _text("20.0", is_number=True)
