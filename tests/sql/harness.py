"""Per-model tests in the style of bigquery-etl and SQLMesh: each case is a YAML file
tests/sql/<model>/<case>.yaml with tiny input relations and the expected output rows, run
through the pipeline's own SQL runner.

A case names the month (it gives the dates), the rows of each input relation the model
declares (relations not given are empty), and the expected rows, with only the columns it
pins. Amounts are written as strings: a float in a fixture is refused, as everywhere money
is handled.

A case carries the rule numbers it was written against: every one its model reads comes
from the model folder's `query_params.yaml` (bigquery-etl's name) or the case's own
`parameters:` block, which wins. A case never reads config/rules.toml for them, so changing
a rule there moves no case; a model that reads a rule number no case pins is refused.
"""

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import duckdb
import yaml

from transforms import contracts, eligible_products
from transforms.pipeline import sql_runner
from transforms.rules import Rules, load_rules

CASES = Path(__file__).resolve().parent
CONTROL = {
    "rejected_rows": "control/rejected_rows.sql",
    "cached_cycles": "control/cached_cycles.sql",
    "scanned_cycles": "control/scanned_cycles.sql",
    "window_state_month": "control/window_state_month.sql",
}
# what the control scripts bind besides the rules' parameters (their shape, not a run's)
CONTROL_PARAMETERS = {"state_month": "2025-03", "usable": True}


@dataclass(frozen=True)
class Case:
    model: str
    name: str
    path: Path
    spec: dict


def cases() -> list[Case]:
    return [
        Case(path.parent.name, path.stem, path, yaml.safe_load(path.read_text()))
        for path in sorted(CASES.glob("*/*.yaml"))
        if path.name != "query_params.yaml"
    ]


def parameters(month: str, overrides: dict | None = None, rules: Rules | None = None) -> dict:
    """The parameters of a run of `month` (the shipped rules unless given)."""
    rules = rules or load_rules()
    return {
        **rules.sql_parameters(rules.month_dates(month)),
        "previous_instrument_cutoff_date": None,
        "cycles": [""],
        "files_sha256": [""],
        "eligible_products_sha256": "",
        "billing_cycle": month,
        **sql_runner.EVERY_CYCLE,
        **(overrides or {}),
    }


# the numbers of config/rules.toml a model may read (id_pattern belongs to the input
# contract), and the dates derived from one of them
RULE_NUMBERS = frozenset(Rules.__dataclass_fields__) - {"id_pattern"}
_DERIVED_FROM = {"issued_on": "coupon_issue_day_of_month"}


def case_parameters(case: Case, model: sql_runner.SqlFile) -> dict:
    """Every parameter of one case: its month's dates, the rule numbers it pins, the rest."""
    shared = case.path.parent / "query_params.yaml"
    pinned = {
        **((yaml.safe_load(shared.read_text()) or {}) if shared.exists() else {}),
        **(case.spec.get("parameters") or {}),
    }
    _check_no_floats([pinned], f"{case.path}: parameters")
    read = {_DERIVED_FROM.get(name, name) for name in model.parameters} & RULE_NUMBERS
    missing = read - pinned.keys()
    if missing:
        raise ValueError(
            f"{case.path}: {case.model} reads the rule numbers {sorted(missing)}; pin them in "
            f"{shared.name} or the case's parameters (a case never reads config/rules.toml)"
        )
    shipped = load_rules()
    rules = replace(
        shipped,
        **{
            name: type(getattr(shipped, name))(value)
            if not isinstance(value, list)
            else tuple(value)
            for name, value in pinned.items()
            if name in RULE_NUMBERS
        },
    )
    others = {name: value for name, value in pinned.items() if name not in RULE_NUMBERS}
    return parameters(case.spec.get("month", "2025-04"), others, rules)


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute("attach ':memory:' as warehouse")
    sql_runner.script(con, sql_runner.sql_file("schema/warehouse.sql"))
    sql_runner.run_macros(con)
    return con


def _empty_sources(con) -> None:
    """Every raw input as an empty table of the contract's types, and the control relations."""
    for contract in contracts.ALL:
        con.register("empty", contract.arrow_schema(with_optional=True).empty_table())
        extra = "'' as billing_cycle, " if contract is contracts.BILLING else ""
        con.execute(
            f"create temp table {contract.relation} as "
            f"select *, {extra}'' as source_file, cast(0 as bigint) as file_row_number "
            "from empty"
        )
        con.unregister("empty")
    con.execute(
        "create temp table raw_billing_records "
        "(account_id varchar, record_id varchar, billing_date date)"
    )
    con.execute(
        "create temp table raw_eligible_products as select * from (values "
        "('', '', '', date '2000-01-01', date '2000-01-01')) as t("
        + ", ".join(eligible_products.COLUMNS)
        + ") limit 0"
    )
    for control in CONTROL.values():
        sql_runner.script(
            con, sql_runner.sql_file(control), {**parameters("2025-04"), **CONTROL_PARAMETERS}
        )
        con.execute(f"delete from {Path(control).stem}")  # the shape, not the sample value


@cache
def relation_schemas() -> dict[str, list[tuple[str, str]]]:
    """The column names and types of every relation a model may read: built once by running
    the raw models and every model over empty inputs."""
    con = _connection()
    _empty_sources(con)
    run_parameters = parameters("2025-04")
    for raw in sql_runner.folder("raw"):
        sql_runner.create(con, raw, run_parameters)
    for model in sql_runner.models():
        sql_runner.create(con, model, run_parameters)
    schemas = {}
    for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'temp' "
        "union select view_name from duckdb_views() where database_name = 'temp' and not internal"
    ).fetchall():
        schemas[name] = [
            (column, kind)
            for column, kind in con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where database_name = 'temp' and table_name = $name order by column_index",
                {"name": name},
            ).fetchall()
        ]
    con.close()
    return schemas


def _check_no_floats(rows: list[dict], where: str) -> None:
    for row in rows:
        for column, value in row.items():
            if isinstance(value, float):
                raise ValueError(
                    f"{where}: {column} = {value!r} is a float; write amounts as strings"
                )


AUDIT_FOLDERS = (
    "audits/inputs",
    "audits/instrument_inputs",
    "audits/outputs",
    "audits/instruments",
)


def audits() -> list[sql_runner.SqlFile]:
    """Every audit: a case's expected rows are what it reports (none: the inputs pass)."""
    return [audit for folder in AUDIT_FOLDERS for audit in sql_runner.folder(folder)]


def run_case(case: Case) -> tuple[list[tuple], list[tuple]]:
    """Run one case: (actual rows, expected rows), each as sorted tuples of comparable text."""
    spec = case.spec
    model = next(m for m in (*sql_runner.models(), *audits()) if m.name == case.model)
    con = _connection()
    schemas = relation_schemas()
    given = spec.get("inputs") or {}
    unknown = set(given) - model.declared_inputs
    if unknown:
        raise ValueError(f"{case.path}: {sorted(unknown)} are not inputs of {case.model}")
    for relation in sorted(model.declared_inputs):
        rows = given.get(relation) or []
        _check_no_floats(rows, f"{case.path}: {relation}")
        if relation in schemas:  # (warehouse tables exist: the schema script)
            columns = ", ".join(f'"{c}" {t}' for c, t in schemas[relation])
            con.execute(f"create temp table {relation} ({columns})")
        elif not relation.startswith("warehouse."):
            # a relation the instrument engine writes (Python): the shape of its warehouse table
            con.execute(f"create temp table {relation} as from warehouse.{relation} limit 0")
        for row in rows:
            names = list(row)
            con.execute(
                f"insert into {relation} ({', '.join(names)}) values ({', '.join('?' * len(names))})",
                [row[n] for n in names],
            )
    sql_runner.create(con, model, case_parameters(case, model))
    key = grain_key(model.header.get("grain", ""))
    if key and case.model not in GRAIN_NOT_A_KEY:
        repeated = grain_duplicates(con, case.model, key)
        if repeated:
            raise AssertionError(
                f"{case.path}: {case.model} breaks its declared grain {key}: {repeated[:3]}"
            )
    expected = spec.get("expected") or []
    _check_no_floats(expected, f"{case.path}: expected")
    columns = list(expected[0]) if expected else ["*"]
    cursor = con.execute(f"select {', '.join(columns)} from {case.model}")
    numeric = [str(column[1]).startswith(_NUMERIC_TYPES) for column in cursor.description]
    actual = [
        tuple(_text(v, is_number) for v, is_number in zip(row, numeric, strict=True))
        for row in cursor.fetchall()
    ]
    con.close()
    wanted = [
        tuple(_text(row[c], is_number) for c, is_number in zip(columns, numeric, strict=True))
        for row in expected
    ]
    return sorted(actual), sorted(wanted)


# a model's header states its grain in words; the key it names is checked on every case's
# output: the columns in the first parentheses, or the one column of "one row per [word] col"
_IDENTIFIER = r"[a-z_][a-z0-9_]*"
# the grains that name columns but are not a key, and why
GRAIN_NOT_A_KEY = {
    # a voucher listed twice with different content gives two rows here; in a run the
    # voucher_catalog_rules audit has already rejected both (rejected_rows)
    "int_instruments_issued": "one row per key per distinct catalog row",
}


def grain_key(grain: str) -> tuple[str, ...] | None:
    """The key columns a grain names (None: it names none, e.g. "one row per referral")."""
    found = re.search(r"\(([^)]*)\)", grain)
    if found:
        columns = tuple(part.strip() for part in found[1].split(","))
        if all(re.fullmatch(_IDENTIFIER, column) for column in columns):
            return columns
    single = re.fullmatch(rf"one row per (?:[a-z]+ )?({_IDENTIFIER})(?: \(.*\))?", grain)
    if single and "_" in single[1]:
        return (single[1],)
    return None


def grain_duplicates(con, relation: str, key: tuple[str, ...]) -> list[tuple]:
    """The key values that occur more than once in `relation`, with their count."""
    listed = ", ".join(f'"{column}"' for column in key)
    return con.execute(
        f"select {listed}, count(*) from {relation} group by all having count(*) > 1 order by all"
    ).fetchall()


# output columns compared by numeric value ('20.00' = 20.0000); every other column by its
# text, so an id "001" never equals "1"
_NUMERIC_TYPES = ("DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT")


def _text(value, is_number: bool = False) -> str:
    """One comparable text per value: numbers by their value in numeric columns, dates and
    times in ISO form, lists element by element, anything else as written."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if is_number or isinstance(value, Decimal):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)
