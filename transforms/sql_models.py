"""Discover the layered SQL models, order them by their references, and run them.

A model is one file under sql/{staging,intermediate,marts}/; its file name is the
name of the relation it creates. Its header comment states purpose and grain, and
may say `materialized: view` (default: table). Parameters are bound by name
($cutoff_date, ...), never formatted into the text.
"""

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

from transforms.rules import REPO_ROOT

SQL_ROOT = REPO_ROOT / "sql"
LAYERS = ("staging", "intermediate", "marts")
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")
_MATERIALIZED = re.compile(r"materialized:\s*(view|table)")
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str

    @property
    def materialization(self) -> str:
        found = _MATERIALIZED.search(self.sql.split("*/", 1)[0])
        return found.group(1) if found else "table"

    @property
    def parameters(self) -> set[str]:
        return set(_PARAMETER.findall(self.sql))


def load_models(root: Path = SQL_ROOT) -> list[Model]:
    """All models in dependency order (a model runs after every model its SQL names)."""
    models = {
        path.stem: Model(path.stem, layer, path, path.read_text())
        for layer in LAYERS
        for path in sorted((root / layer).glob("*.sql"))
    }
    code = {name: _COMMENTS.sub(" ", model.sql) for name, model in models.items()}
    graph = {
        name: {
            other
            for other in models
            if other != name and re.search(rf"(?<![.\w]){other}\b", code[name])
        }
        for name in models
    }
    return [models[name] for name in TopologicalSorter(graph).static_order()]


def bind(sql: str, parameters: dict[str, object]) -> dict[str, object]:
    """The subset of parameters this SQL names; a missing one is an error, not a silent null."""
    names = set(_PARAMETER.findall(sql))
    missing = names - parameters.keys()
    if missing:
        raise KeyError(f"SQL needs parameters it was not given: {sorted(missing)}")
    return {name: parameters[name] for name in names}


def run_model(con, model: Model, parameters: dict[str, object]) -> None:
    kind = model.materialization
    body = model.sql.strip().rstrip(";")
    if kind == "view" and model.parameters:
        raise ValueError(f"{model.path}: a view cannot bind parameters {sorted(model.parameters)}")
    con.execute(f"create or replace temp {kind} {model.name} as\n{body}", bind(body, parameters))


def run_macros(con, root: Path = SQL_ROOT) -> None:
    for path in sorted((root / "macros").glob("*.sql")):
        con.execute(path.read_text())


def run_audit(con, path: Path, parameters: dict[str, object]):
    """Rows returned by an audit query (zero rows means the rule holds)."""
    sql = path.read_text().strip().rstrip(";")
    cursor = con.execute(sql, bind(sql, parameters))
    columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()
