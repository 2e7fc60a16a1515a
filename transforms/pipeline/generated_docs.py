"""The parts of the docs that are derived, so that they cannot drift: the OUT tree of
docs/outputs.md (from OutputLayout) and the model graph of docs/architecture.md (from the
SQL headers' `inputs:`). tests/test_generated_docs.py checks that both docs hold them.

    .venv/bin/python -m transforms.pipeline.generated_docs    # prints both, to paste
"""

import inspect
from pathlib import Path

from transforms.pipeline import sql_runner
from transforms.pipeline.instruments_publish import INSTRUMENT_FILES
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.settlement_publish import BATCH_FILES

MONTH = "YYYY-MM"
# the folders whose files are declared as published files, listed below them
DECLARED_FILES = {"batch_dir": BATCH_FILES, "instruments_dir": INSTRUMENT_FILES}
LAYERS = ("staging", "intermediate", "marts")


def out_tree() -> str:
    """Every path OutputLayout builds, relative to OUT, with the first sentence of its
    docstring, in the class's order; below a month folder of published files, each file
    with what it holds, in writing order."""
    layout = OutputLayout(Path("OUT"))
    rows = []
    for name, member in vars(OutputLayout).items():
        if isinstance(member, property):
            path = getattr(layout, name)
            doc = member.fget.__doc__
        elif inspect.isfunction(member) and list(inspect.signature(member).parameters) == [
            "self",
            "month",
        ]:
            path = member(layout, MONTH)
            doc = member.__doc__
        else:
            continue
        relative = path.relative_to(layout.root).as_posix()
        suffix = "" if path.suffix else "/"
        rows.append((relative + suffix, _first_sentence(doc or "")))
        rows += [(f"  {file.name}", file.about) for file in DECLARED_FILES.get(name, ())]
    width = max(len(path) for path, _ in rows) + 2
    lines = ["OUT/"] + [f"  {path:<{width}}{text}".rstrip() for path, text in rows]
    return "```\n" + "\n".join(lines) + "\n```"


def model_graph() -> str:
    """The staging, intermediate and mart models as a Mermaid flowchart: an arrow from each
    model to the models that declare it as an input, one box per layer."""
    found = sql_runner.models()
    names = {m.name for m in found}
    lines = ["```mermaid", "flowchart LR"]
    for layer in LAYERS:
        lines.append(f"  subgraph {layer}")
        lines += [f"    {m.name}" for m in found if m.path.parent.name == layer]
        lines.append("  end")
    for model in sorted(found, key=lambda m: m.name):
        for source in sorted(model.declared_inputs & names):
            lines.append(f"  {source} --> {model.name}")
    lines.append("```")
    return "\n".join(lines)


def _first_sentence(doc: str) -> str:
    text = " ".join(doc.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


if __name__ == "__main__":
    print(out_tree())
    print()
    print(model_graph())
