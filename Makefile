# Two commands get a fresh clone to a result:
#   make run   - set up, then settle every sample month (2025-11..2026-10) into out/
#   make test  - set up, then lint (ruff, sqlfluff) and run the whole test suite (what CI runs)
#   make check - lint and every test but the integration ones: the edit-test loop
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out
FIRST_MONTH ?= 2025-11
LAST_MONTH ?= 2026-10

export PREFECT_SERVER_ANALYTICS_ENABLED = false
export GX_ANALYTICS_ENABLED = false

.PHONY: setup run test check lint sample bench clean golden

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: setup
	$(BIN)/creditflow backfill --from $(FIRST_MONTH) --to $(LAST_MONTH) --data sample_data --out $(OUT)
	$(BIN)/creditflow instruments --from $(FIRST_MONTH) --to $(LAST_MONTH) --data sample_data --out $(OUT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql --processes 2

# two workers (the machine's two cores), a test file to one worker: the files that share an
# expensive session fixture (the sample year, a real Prefect server, a Dask cluster) build
# it once. (--dist loadgroup would balance better, but with pytest 9.2 it silently stops
# grouping: pytest-xdist issue 1386; docs/testing.md)
PYTEST_PARALLEL = -n 2 --dist loadfile --no-loadscope-reorder

# extra pytest arguments, e.g. make test PYTEST_ARGS=--durations=0 (docs/testing.md)
PYTEST_ARGS ?=

test: lint
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

check: lint
	HYPOTHESIS_PROFILE=dev $(BIN)/pytest $(PYTEST_PARALLEL) -m "not integration" $(PYTEST_ARGS)

sample: setup
	$(BIN)/python sample_data/generate.py

# the benchmark (docs/performance.md): every row SAMPLES times, both data shapes
LINES ?= 1000000
SAMPLES ?= 3
bench: setup
	$(BIN)/python bench/run.py --lines $(LINES) --samples $(SAMPLES)

clean:
	rm -rf $(VENV) $(OUT)

golden: setup
	CREDITFLOW_COUPON_KEY=test-key-for-creditflow-golden-files $(BIN)/python -m tests.golden_year
