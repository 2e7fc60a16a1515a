"""The derived parts of the docs match what they are derived from
(transforms/pipeline/generated_docs.py): a new output path or a model's new input that the
docs do not show fails here, with the command that prints the text to paste."""

from pathlib import Path

from transforms.pipeline import generated_docs, sql_runner

DOCS = Path(__file__).resolve().parent.parent / "docs"
PASTE = "paste the output of `python -m transforms.pipeline.generated_docs`"


def test_the_out_tree_in_outputs_md_is_the_layouts():
    assert generated_docs.out_tree() in (DOCS / "outputs.md").read_text(), PASTE


def test_the_model_graph_in_architecture_md_is_the_headers():
    assert generated_docs.model_graph() in (DOCS / "architecture.md").read_text(), PASTE


def test_the_model_graph_has_every_model_and_every_declared_model_input():
    graph = generated_docs.model_graph()
    models = sql_runner.models()
    names = {m.name for m in models}
    for model in models:
        assert f"    {model.name}\n" in graph
        for source in model.declared_inputs & names:
            assert f"  {source} --> {model.name}\n" in graph


def test_the_out_tree_lists_every_path_of_the_layout():
    tree = generated_docs.out_tree()
    for path in ("warehouse.duckdb", "catalog/", "batches/YYYY-MM/", "instruments/YYYY-MM/"):
        assert f"  {path} " in tree
