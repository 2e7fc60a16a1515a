"""GX's import defers scipy.stats and altair (transforms/pipeline/deferred_imports.py): the
named modules load on first use, nothing else changes, and the suite still validates."""

import os
import subprocess
import sys
import textwrap

import pytest

from transforms.pipeline.deferred_imports import deferred
from transforms.rules import REPO_ROOT


@pytest.fixture
def packages(tmp_path, monkeypatch):
    """Three tiny modules that count, in a list on `sys`, each time their code runs."""
    for name in ("heavy", "other", "later"):
        (tmp_path / f"{name}.py").write_text(
            f"import sys\nsys.creditflow_loaded.append({name!r})\nVALUE = {name!r}\n"
        )
    monkeypatch.setattr(sys, "creditflow_loaded", [], raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield sys.creditflow_loaded
    for name in ("heavy", "other", "later"):
        sys.modules.pop(name, None)


def test_a_named_module_runs_its_code_on_first_use_and_others_at_once(packages):
    with deferred("heavy", "later"):
        import heavy
        import other

    assert packages == ["other"]
    assert (heavy.VALUE, other.VALUE) == ("heavy", "other")
    assert packages == ["other", "heavy"]


def test_after_the_block_the_same_name_imports_as_usual(packages):
    with deferred("heavy"):
        pass
    import heavy

    assert packages == ["heavy"]
    assert heavy.VALUE == "heavy"


def test_a_module_loaded_before_the_block_stays_the_loaded_one(packages):
    import heavy

    with deferred("heavy"):
        import heavy as again

    assert again is heavy
    assert packages == ["heavy"]


def test_gx_validates_without_loading_scipy_stats_or_altair_and_they_still_load_on_use():
    # a fresh process: this test session may have loaded scipy.stats already
    script = textwrap.dedent(
        """
        import sys
        from transforms.pipeline import gx_validation
        assert gx_validation.prepare(), "the sample coupon failed the suite"
        loaded = [m for m in ("scipy.stats._stats_py", "narwhals") if m in sys.modules]
        assert not loaded, f"GX's import loaded {loaded}"
        from scipy import stats
        assert round(float(stats.entropy([0.5, 0.5], base=2)), 6) == 1.0
        assert "scipy.stats._stats_py" in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
