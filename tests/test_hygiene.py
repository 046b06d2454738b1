"""Committed notebooks are clean, parameterised templates (research notes, section 4.3).

Executed copies belong in reports/ or tmp_path; what is committed has no outputs, no execution
counts, no widget or papermill metadata, exactly one ``parameters`` cell of annotated literals
(each with a help comment papermill can read), kernelspec ``python3``, and no external link that
would make the exported HTML reach the network.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TYPES = {"str", "int", "float", "bool"}


def _ids(paths):
    return [p.name for p in paths]


@pytest.fixture(params=NOTEBOOKS, ids=_ids(NOTEBOOKS))
def notebook(request):
    return request.param, nbformat.read(str(request.param), as_version=4)


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert {"01_ingest.ipynb", "02_overhead.ipynb", "03_compare.ipynb"} <= set(names)
    assert all(re.match(r"^\d\d_[A-Za-z0-9_-]+\.ipynb$", n) for n in names), names


def test_valid_nbformat(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    assert nb.nbformat == 4


def test_no_outputs_or_execution_counts(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i + 1} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i + 1} has an execution count"
        assert "papermill" not in cell.metadata, f"{path.name} cell {i + 1} has papermill metadata"
        assert "execution" not in cell.metadata, f"{path.name} cell {i + 1} has execution timing"


def test_no_widget_or_papermill_metadata(notebook):
    path, nb = notebook
    assert "widgets" not in nb.metadata, path.name
    assert "papermill" not in nb.metadata, path.name


def test_kernelspec_is_python3(notebook):
    path, nb = notebook
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name


def test_exactly_one_parameters_cell_and_no_injected_one(notebook):
    path, nb = notebook
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1, f"{path.name}: need exactly one cell tagged 'parameters'"
    assert not any("injected-parameters" in t for t in tags), f"{path.name}: an executed copy was committed"


def _parameters_cell(nb):
    return next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def test_parameters_are_annotated_literals_with_help(notebook):
    path, nb = notebook
    cell = _parameters_cell(nb)
    tree = ast.parse(cell.source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name), (
            f"{path.name}: parameters cell line {node.lineno}: only `name: type = literal  # help` lines")
        assert isinstance(node.value, ast.Constant), (
            f"{path.name}: {node.target.id} must be a literal; compute derived values in the next cell")
        names.append(node.target.id)
    inspected = papermill.inspect_notebook(str(path))
    # papermill drops lines it cannot parse (e.g. a help comment containing '='): every name must survive
    assert set(inspected) == set(names), f"{path.name}: papermill reads {sorted(inspected)}, the cell has {sorted(names)}"
    for name, info in inspected.items():
        assert info["inferred_type_name"] in TYPES, f"{path.name}: {name} has type {info['inferred_type_name']!r}"
        assert info["help"].strip(), f"{path.name}: {name} has no trailing help comment"
        # the default must have the declared type (a str default must be a quoted literal, ...)
        value = ast.literal_eval(info["default"])
        assert type(value).__name__ == info["inferred_type_name"], (name, info)


def test_path_parameters_are_relative_to_the_project(notebook):
    path, nb = notebook
    for name, info in papermill.inspect_notebook(str(path)).items():
        if name.endswith("_dir") and info["inferred_type_name"] == "str":
            value = ast.literal_eval(info["default"])
            assert not value.startswith("/"), f"{path.name}: {name} default must be relative to the project root"


def test_no_external_links_in_markdown(notebook):
    """Markdown links and bare URLs become href= in the HTML export, which must not reach the network."""
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert not re.search(r"(https?:)?//[\w.-]+\.[a-z]{2,}", cell.source), f"{path.name} cell {i + 1}"
