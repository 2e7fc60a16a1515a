"""What dbt-duckdb would cost here: our staging, intermediate and mart models translated
mechanically into a dbt project (`$param` -> var, model names -> ref, inputs -> source),
then `dbt parse` and `dbt run` timed against our own runner creating the same models over
the same inputs (docs/architecture.md#why-the-runner-is-ours).

The inputs are every raw and control relation, empty, with the types a run gives them
(the model-case harness builds them): the figures are the fixed cost of one month's model
run, which is what a monthly batch of a few thousand referrals pays; the per-row work is
DuckDB's either way.

    .venv/bin/python -m bench.dbt_measure --dbt /path/to/venv-with-dbt-duckdb/bin/dbt

dbt-duckdb is not a dependency of creditflow: install it in a venv of its own.
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.sql import harness
from transforms.pipeline import sql_runner

MONTH = "2025-04"
RUNS = 3
REPO = Path(__file__).resolve().parents[1]


def _literal(value) -> str:
    """A parameter value as SQL text (dbt vars are rendered into the SQL, not bound)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def build_inputs(path: Path, parameters: dict) -> list[str]:
    """A DuckDB file holding every model input as a table (main, and the warehouse schema)
    and our macros; returns the names of the main inputs."""
    con = harness._connection()
    harness._empty_sources(con)
    for raw in sql_runner.folder("raw"):
        sql_runner.create(con, raw, parameters)
    con.execute(f"attach '{path}' as target")
    con.execute("create schema target.warehouse")
    inputs = []
    for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'temp' "
        "union select view_name from duckdb_views() where database_name = 'temp' and not internal"
    ).fetchall():
        con.execute(f"create table target.main.{name} as select * from {name}")
        inputs.append(name)
    for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'warehouse'"
    ).fetchall():
        con.execute(f"create table target.warehouse.{name} as select * from warehouse.{name}")
    con.execute("detach target")
    con.close()
    with duckdb.connect(str(path)) as target:
        sql_runner.run_macros(target)
    return inputs


def build_project(root: Path, database: Path, inputs: list[str], parameters: dict) -> int:
    """The dbt project: one model file per model; returns the number of models."""
    models = sql_runner.models()
    names = {m.name for m in models}
    for model in models:
        body = model.body
        body = re.sub(r"\bwarehouse\.([a-z_]+)\b", r"{{ source('warehouse', '\1') }}", body)

        def relation(match, names=names):
            name = match[2]
            if name in names:
                return f"{match[1]} {{{{ ref('{name}') }}}}"
            if name in inputs:
                return f"{match[1]} {{{{ source('inputs', '{name}') }}}}"
            return match[0]

        body = re.sub(r"\b(from|join)\s+([a-z_][a-z0-9_]*)\b", relation, body)
        body = re.sub(r"\$([a-z_][a-z0-9_]*)", r"{{ var('\1') }}", body)
        folder = root / "models" / model.path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{model.name}.sql").write_text(body)
    warehouse_tables = sorted(
        name
        for (name,) in duckdb.connect(str(database), read_only=True)
        .execute("select table_name from duckdb_tables() where schema_name = 'warehouse'")
        .fetchall()
    )
    sources = {
        "version": 2,
        "sources": [
            {"name": "inputs", "schema": "main", "tables": [{"name": n} for n in inputs]},
            {
                "name": "warehouse",
                "schema": "warehouse",
                "tables": [{"name": n} for n in warehouse_tables],
            },
        ],
    }
    (root / "models" / "sources.yml").write_text(json.dumps(sources))
    variables = {name: _literal(value) for name, value in parameters.items()}
    project = {
        "name": "creditflow_measure",
        "version": "1.0.0",
        "profile": "creditflow_measure",
        "model-paths": ["models"],
        "vars": variables,
        "models": {"creditflow_measure": {"+materialized": "table"}},
    }
    (root / "dbt_project.yml").write_text(json.dumps(project))
    profile = {
        "creditflow_measure": {
            "target": "dev",
            "outputs": {"dev": {"type": "duckdb", "path": str(database), "threads": 1}},
        }
    }
    (root / "profiles.yml").write_text(json.dumps(profile))
    return len(models)


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return seconds


def ours(database: Path, parameters: dict) -> float:
    """Our runner: every model created in one connection over the same inputs."""
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("begin")
        for model in sql_runner.models():
            sql_runner.create(con, model, parameters)
        con.execute("rollback")
    return time.perf_counter() - started


def ours_in_a_new_process(database: Path) -> float:
    """The same, counting a fresh Python's start and imports, as dbt's figures do."""
    code = (
        "import sys; from pathlib import Path; from bench.dbt_measure import MONTH, ours; "
        "from tests.sql import harness; "
        "ours(Path(sys.argv[1]), {**harness.parameters(MONTH), 'billing_cycle': MONTH})"
    )
    return _timed([sys.executable, "-c", code, str(database)], REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dbt", required=True, help="the dbt executable (with dbt-duckdb)")
    args = parser.parse_args()
    parameters = {**harness.parameters(MONTH), "billing_cycle": MONTH}
    work = Path(tempfile.mkdtemp(prefix="creditflow-dbt-"))
    try:
        database = work / "inputs.duckdb"
        inputs = build_inputs(database, parameters)
        count = build_project(work, database, inputs, parameters)
        dbt = [args.dbt, "--no-send-anonymous-usage-stats", "--no-use-colors"]
        flags = ["--profiles-dir", str(work), "--project-dir", str(work)]
        version = subprocess.run([args.dbt, "--version"], capture_output=True, text=True).stdout
        parse = [_timed([*dbt, "parse", *flags], work) for _ in range(RUNS)]
        run = [_timed([*dbt, "run", *flags], work) for _ in range(RUNS)]
        own = [ours(database, parameters) for _ in range(RUNS)]
        cold = [ours_in_a_new_process(database) for _ in range(RUNS)]
        print(f"{count} models over empty inputs; median of {RUNS} runs (wall seconds)")
        print(f"dbt parse                 {statistics.median(parse):6.2f}  {parse}")
        print(f"dbt run (parse included)  {statistics.median(run):6.2f}  {run}")
        print(f"our runner, in process    {statistics.median(own):6.2f}  {own}")
        print(f"our runner, new process   {statistics.median(cold):6.2f}  {cold}")
        print(" ".join(line.strip() for line in version.splitlines() if line.strip())[:300])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
