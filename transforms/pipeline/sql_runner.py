"""The one runner for every SQL file under sql/.

Each file starts with a header comment: its name, then `kind:` (model, audit, query, script,
source or macro), `grain:`, `parameters:` and `inputs:` (relations it reads, control
relations marked `(control)`). A model's file name is the relation it creates; it may say
`materialized: view` (default: table). Parameters are bound by name ($cutoff_date, ...),
never formatted into the text; the one exception is a source's file list and select list (views cannot bind
parameters; the `__files__` and `__columns__` markers), rendered by `create_source` alone. tests/test_sql_files.py checks every header
against the SQL it heads.
"""

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from graphlib import TopologicalSorter
from importlib import metadata
from pathlib import Path

import duckdb

from transforms import identity
from transforms.rules import REPO_ROOT

SQL_ROOT = REPO_ROOT / "sql"
MODEL_LAYERS = ("staging", "intermediate", "marts")
KINDS = ("model", "audit", "query", "script", "source", "macro")
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
_HEADER = re.compile(r"^\s*/\*(.*?)\*/", re.DOTALL)
_FIELD = re.compile(r"^(\s*)([a-z ]+):\s*(.*)$")
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)


@dataclass(frozen=True)
class SqlFile:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return self.path.stem

    @cached_property
    def header(self) -> dict[str, str]:
        """The header's fields (`key: value`, continued on lines indented deeper than the
        key); other lines of the header are free text."""
        found = _HEADER.match(self.text)
        fields: dict[str, str] = {}
        key, key_indent = None, 0
        for line in (found.group(1) if found else "").splitlines()[1:]:
            match = _FIELD.match(line)
            indent = len(line) - len(line.lstrip())
            if match and match.group(2) in HEADER_KEYS:
                key, key_indent = match.group(2), indent
                fields[key] = match.group(3).strip()
            elif key and indent > key_indent and line.strip():
                fields[key] = f"{fields[key]} {line.strip()}"
            else:
                key = None
        return fields

    @property
    def kind(self) -> str:
        return self.header.get("kind", "")

    @property
    def materialization(self) -> str:
        return self.header.get("materialized", "table")

    @property
    def body(self) -> str:
        return self.text.strip().rstrip(";")

    @cached_property
    def code(self) -> str:
        """The SQL without comments (for finding the parameters and relations it uses)."""
        return _COMMENTS.sub(" ", self.text)

    @cached_property
    def parameters(self) -> set[str]:
        return set(_PARAMETER.findall(self.code))

    @cached_property
    def declared_parameters(self) -> set[str]:
        return set(_PARAMETER.findall(self.header.get("parameters", "")))

    @cached_property
    def declared_inputs(self) -> set[str]:
        text = re.sub(r"\([^)]*\)", " ", self.header.get("inputs", ""))
        return {name for name in re.findall(r"[a-z_][a-z0-9_.]*", text) if name != "none"}


HEADER_KEYS = ("kind", "purpose", "grain", "parameters", "inputs", "materialized", "returns")


@cache
def sql_file(relative: str) -> SqlFile:
    """One file by its path under sql/ (e.g. 'queries/settlement_totals.sql')."""
    path = SQL_ROOT / relative
    return SqlFile(path, path.read_text())


def folder(relative: str) -> list[SqlFile]:
    """Every file of a folder under sql/, in name order."""
    return [
        sql_file(p.relative_to(SQL_ROOT).as_posix())
        for p in sorted((SQL_ROOT / relative).glob("*.sql"))
    ]


def all_files() -> list[SqlFile]:
    return [sql_file(p.relative_to(SQL_ROOT).as_posix()) for p in sorted(SQL_ROOT.rglob("*.sql"))]


@cache
def models() -> tuple[SqlFile, ...]:
    """The staging, intermediate and mart models, each after the models it declares as inputs."""
    found = {f.name: f for layer in MODEL_LAYERS for f in folder(layer)}
    graph = {name: f.declared_inputs & found.keys() for name, f in found.items()}
    return tuple(found[name] for name in TopologicalSorter(graph).static_order())


def models_for(targets: tuple[str, ...]) -> list[SqlFile]:
    """The named models and every model they read, each after its inputs: what one
    pipeline runs (the settlement's marts, the instrument models)."""
    by_name = {m.name: m for m in models()}
    needed: set[str] = set()
    pending = list(targets)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += by_name[name].declared_inputs & by_name.keys()
    return [m for m in models() if m.name in needed]


def bind(sql_or_file: str | SqlFile, parameters: dict[str, object]) -> dict[str, object]:
    """The subset of parameters the SQL names; a missing one is an error, not a silent null."""
    names = (
        sql_or_file.parameters
        if isinstance(sql_or_file, SqlFile)
        else set(_PARAMETER.findall(_COMMENTS.sub(" ", sql_or_file)))
    )
    missing = names - parameters.keys()
    if missing:
        raise KeyError(f"SQL needs parameters it was not given: {sorted(missing)}")
    return {name: parameters[name] for name in names}


# the parameters of a model that aggregates the scanned cycles' bill lines from one cycle to
# another (sql/intermediate/int_scanned_eligible_spend.sql): every cycle unless narrowed
EVERY_CYCLE = {"from_cycle": "0000-01", "to_cycle": "9999-12"}


def create(con, model: SqlFile, parameters: dict[str, object], *, each: list | None = None):
    """Create a model's relation as a temp table or view.

    With `each` (parameter sets, each over `parameters`), the model runs once per set and
    its rows are gathered: its working set is one set's, however many there are."""
    kind = model.materialization
    if kind == "view" and model.parameters:
        raise ValueError(f"{model.path}: a view cannot bind parameters {sorted(model.parameters)}")
    with _named(model):
        if each is None:
            con.execute(
                f"create or replace temp {kind} {model.name} as\n{model.body}",
                bind(model, parameters),
            )
            return
        if not each:
            raise ValueError(f"{model.path}: no parameter set to run it with")
        for number, values in enumerate(each):
            verb = (
                f"create or replace temp table {model.name} as"
                if number == 0
                else f"insert into {model.name}"
            )
            con.execute(f"{verb}\n{model.body}", bind(model, {**parameters, **values}))


@contextmanager
def _named(file: SqlFile):
    """DuckDB's messages name no file (an internal error of a join, say): a failure while
    running one of ours carries its path as a note, which the traceback kept under
    OUT/logs/ shows. The one-line error a person reads is unchanged."""
    try:
        yield
    except duckdb.Error as error:
        error.add_note(f"while running {file.path}")
        raise


def query(con, file: SqlFile, parameters: dict[str, object] | None = None):
    """Run a query or audit file; returns the cursor (zero rows from an audit means it passes)."""
    with _named(file):
        return con.execute(file.body, bind(file, parameters or {}))


def rows(con, file: SqlFile, parameters: dict[str, object] | None = None) -> list[dict]:
    """A query's rows as dicts (DECIMAL stays Decimal)."""
    return as_dicts(query(con, file, parameters))


def as_dicts(cursor) -> list[dict]:
    """A cursor's rows as dicts keyed by column name."""
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def script(con, file: SqlFile, parameters: dict[str, object] | None = None) -> None:
    """Run a script: statements without results (one statement when it binds parameters)."""
    bound = bind(file, parameters or {})
    with _named(file):
        con.execute(file.text, bound) if bound else con.execute(file.text)


def run_macros(con) -> None:
    """The SQL macros (sql/macros/), and the one function SQL cannot say: the skeleton that
    identity keys are compared by (transforms/identity.py), which the macro identity_skeleton
    calls for any key that is not plain printable ASCII (sql/macros/identity.sql)."""
    try:
        con.create_function(
            "identity_skeleton_python", identity.identity_skeleton, ["VARCHAR"], "VARCHAR"
        )
    except duckdb.NotImplementedException as error:
        # a connection given the macros again already has it (asking duckdb_functions()
        # first cost 30 ms a connection: a month opens one, and so does every shard)
        if "already created" not in str(error):
            raise
    for file in folder("macros"):
        script(con, file)


def create_source(con, template: SqlFile, relation: str, paths: list[Path], columns: list[str]):
    """Create a raw relation over input files from a source template (sql/sources/).

    The file list and the contract's select list are the only text put into SQL: views
    cannot bind parameters. Paths are quoted as SQL string literals; columns come from the
    input contract (transforms/contracts.py), never from input data."""
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    body = template.body.replace("__files__", files).replace("__columns__", ",\n    ".join(columns))
    con.execute(f"create or replace temp {template.materialization} {relation} as\n{body}")


def insert_into(con, table: str, file: SqlFile, parameters: dict, **constants) -> None:
    """Append a query's rows to a control relation, each row led by the given constants
    (e.g. the audit's name in rejected_rows)."""
    leading = ", ".join(f"${name}" for name in constants)
    with _named(file):
        con.execute(
            f"insert into {table} select {leading}, * from ({file.body})",
            {**constants, **bind(file, parameters)},
        )


def code_version() -> str:
    """Package version plus a digest of the SQL files, recorded with each publication."""
    try:
        version = metadata.version("creditflow")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"{version}+sql.{files_digest(SQL_ROOT, SQL_ROOT.rglob('*.sql'))[:12]}"


def files_digest(root: Path, paths) -> str:
    """SHA-256 over files' relative names and contents, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def arrow(con, file: SqlFile, parameters: dict[str, object] | None = None):
    """A query's rows as an Arrow table (types as DuckDB gives them: DECIMAL stays decimal)."""
    return con.sql(file.body, params=bind(file, parameters or {})).to_arrow_table()
