"""The package's layering, read from the source with ``ast`` (README, "Development").

foundations <- analysis <- presentation <- the command line: a module imports only modules of
its own layer or below, the import graph has no cycle, only ``cli`` and ``__main__`` import
``cli``, and every exception class vizlib defines derives from ``vizlib.VizlibError``.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import vizlib

PACKAGE = Path(vizlib.__file__).resolve().parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))

LAYERS = {
    0: {"__init__", "errors", "paths", "atomic", "catalogue", "manifest", "parser", "appprofile", "tables", "ingest", "validation_data",
        "ingest_cache"},
    1: {"stats", "samples", "normalise", "sanity", "categories", "presets", "mix", "share_model", "count_model",
        "inputs", "references", "functional", "profile_mix", "validation"},
    2: {"plots", "views", "explorer", "selection", "panel", "notebook", "report"},
    3: {"cli", "__main__"},
}
LAYER_OF = {m: layer for layer, mods in LAYERS.items() for m in mods}


def _imports(module: str) -> set[str]:
    """vizlib modules that ``module`` imports, at any depth of its code (functions included)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .x import y
                out.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x, y
                out.update(a.name for a in node.names)
            elif node.module and node.module.split(".")[0] == "vizlib":
                parts = node.module.split(".")
                out.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("vizlib."))
    return {m for m in out if m in MODULES}


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    assert set(MODULES) == set(LAYER_OF), f"add new modules to LAYERS: {sorted(set(MODULES) ^ set(LAYER_OF))}"


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module):
    up = sorted(m for m in GRAPH[module] if LAYER_OF[m] > LAYER_OF[module])
    assert not up, f"{module} (layer {LAYER_OF[module]}) imports {up} from a higher layer"


def test_only_the_command_line_imports_cli():
    importers = sorted(m for m, deps in GRAPH.items() if "cli" in deps and m not in ("cli", "__main__"))
    assert importers == []


def _cycle(graph: dict) -> list[str] | None:
    """One import cycle of ``graph`` (module -> imported modules) as a path, or None."""
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return path + [m, d]
            if d not in state and (found := visit(d, path + [m])):
                return found
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m, [])):
            return found
    return None


def test_no_import_cycle():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH))


def test_the_checkers_see_cycles_and_imports_inside_functions(tmp_path, monkeypatch):
    """The graph reader and the cycle finder themselves, on a fake package."""
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import x\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path)
    monkeypatch.setattr(__import__(__name__), "MODULES", ["a", "b"])
    assert _imports("a") == {"b"} and _imports("b") == {"a"}
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_exception_derives_from_the_base():
    import importlib

    found = []
    for m in MODULES:
        if m == "__main__":
            continue
        mod = importlib.import_module(f"vizlib.{m}")
        for _name, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("vizlib"):
                found.append(obj)
                assert issubclass(obj, vizlib.VizlibError), f"{obj.__module__}.{obj.__name__}"
    assert len(set(found)) >= 9
