"""Every SQL file says what it is: a header with its kind, grain, parameters and inputs that
match the SQL it heads (docs/architecture.md#sql-files)."""

import re

import duckdb
import pytest

from transforms import contracts
from transforms.pipeline import sql_runner

FILES = sql_runner.all_files()
# the control relations: each created by the script of the same name under sql/control/
CONTROL = {f.name for f in sql_runner.folder("control")}


def _relations() -> set[str]:
    """Every relation a file may read: models, raw relations, control relations, the
    warehouse's tables and the relations the instrument engine stages."""
    names = {f.name for f in FILES if f.kind == "model"}
    names |= (
        {c.relation for c in contracts.ALL}
        | {"raw_eligible_products", "raw_billing_records"}
        | CONTROL
    )
    warehouse = sql_runner.sql_file("schema/warehouse.sql").code
    tables = set(re.findall(r"create table if not exists warehouse\.(\w+)", warehouse))
    names |= {f"warehouse.{t}" for t in tables}
    # the view every run creates from sql/queries/liability_by_month.sql
    names.add("warehouse.liability_by_month")
    return names | {"instrument_state", "instrument_events", "instrument_rollforward"}


RELATIONS = _relations()


@pytest.mark.parametrize(
    "file", FILES, ids=[f.path.relative_to(sql_runner.SQL_ROOT).as_posix() for f in FILES]
)
def test_header_states_kind_grain_parameters_and_inputs(file):
    header = file.header
    assert file.kind in sql_runner.KINDS, f"{file.path}: kind must be one of {sql_runner.KINDS}"
    for key in ("purpose", "grain", "parameters", "inputs"):
        assert header.get(key), f"{file.path}: the header has no '{key}:'"


@pytest.mark.parametrize(
    "file", FILES, ids=[f.path.relative_to(sql_runner.SQL_ROOT).as_posix() for f in FILES]
)
def test_declared_parameters_and_inputs_are_the_ones_used(file):
    assert file.declared_parameters == file.parameters, file.path
    code = re.sub(r"'[^']*'", "''", file.code)
    used = {name for name in RELATIONS if re.search(rf"(?<![\w.]){re.escape(name)}\b", code)}
    if file.kind == "model":
        used.discard(file.name)
    declared = file.declared_inputs
    if file.kind in ("source", "macro"):
        # a source reads files (its header names them), a macro reads nothing: neither may
        # read a relation behind its header's back
        assert used == set(), file.path
        if file.kind == "macro":
            assert declared == set(), file.path
    elif file.path.parent.name in ("schema", "control"):
        # a script that creates tables names them too; it must declare what it reads
        assert declared <= used, file.path
    else:
        assert used == declared, file.path


def test_models_are_one_per_file_and_named_after_their_relation():
    for file in FILES:
        if file.kind == "model":
            first_line = file.text.lstrip("/* \n").splitlines()[0].strip()
            assert first_line == file.name, file.path


def test_sources_over_parquet_are_views():
    """A source over the input files must stay a view: a table would copy every input line
    into memory before any filter (the billing lines are the largest input by far)."""
    for file in FILES:
        if file.kind == "source" and "read_parquet" in file.code:
            assert file.materialization == "view", file.path


@pytest.mark.parametrize(
    ("amount", "cents"), [("0.015", "0.02"), ("0.025", "0.03"), ("12.344", "12.34"), ("0", "0.00")]
)
def test_round_half_up_cents_is_the_one_rounding(amount, cents):
    con = duckdb.connect()
    sql_runner.run_macros(con)
    (got,) = con.execute(
        "select round_half_up_cents(cast($a as decimal(18, 4)))", {"a": amount}
    ).fetchone()
    assert str(got) == cents


def test_to_cents_types_whole_cents_and_refuses_anything_finer():
    """Every amount becoming the ledger's DECIMAL(18, 2) goes through to_cents (sql/macros/
    money.sql): a value finer than a cent there would be a second, silent rounding."""
    con = duckdb.connect()
    sql_runner.run_macros(con)
    (got,) = con.execute("select to_cents(cast('-20.10' as decimal(18, 4)))").fetchone()
    assert (str(got), con.execute("select typeof(to_cents(1.5))").fetchone()[0]) == (
        "-20.10",
        "DECIMAL(18,2)",
    )
    with pytest.raises(duckdb.Error, match=r"to_cents: 20\.1050 is not a whole number of cents"):
        con.execute("select to_cents(cast('20.105' as decimal(18, 4)))").fetchone()


# the files that may type an amount as cents with a plain cast: the schema and the staging
# casts of input columns (the input audits check them), the macros themselves, and a view
# stored in the warehouse (it is read by sessions that never define the macros)
PLAIN_CENTS_CASTS = {"schema", "staging", "macros", "queries/liability_by_month.sql"}


def test_no_model_casts_an_amount_to_cents_but_the_money_macros():
    casts = {
        path: file.body.count("as decimal(18, 2)")
        for file in sql_runner.all_files()
        for path in [file.path.relative_to(sql_runner.SQL_ROOT).as_posix()]
        if path.split("/")[0] not in PLAIN_CENTS_CASTS and path not in PLAIN_CENTS_CASTS
    }
    assert {path: n for path, n in casts.items() if n} == {}


def test_a_sql_file_that_fails_is_named_in_the_traceback_kept_for_the_operator(tmp_path):
    """DuckDB's own message names no file (an internal error of a join, say): the traceback
    written under OUT/logs/ must say which model or audit failed."""
    from transforms.pipeline.files import write_traceback

    model = sql_runner.sql_file("intermediate/int_referee_daily_spend.sql")
    audit = sql_runner.folder("audits/outputs")[0]
    con = duckdb.connect()  # none of their inputs exist
    for run, file in (
        (lambda: sql_runner.create(con, model, {"cutoff_date": "2026-01-31"}), model),
        (lambda: sql_runner.rows(con, audit, {"cutoff_date": "2026-01-31"}), audit),
    ):
        with pytest.raises(duckdb.Error) as raised:
            run()
        log = write_traceback(tmp_path, raised.value)
        assert f"while running {file.path}" in log.read_text()
        assert str(file.path) not in str(raised.value)  # the one-line error is DuckDB's own
