"""The install path: pyproject, constraints, environment.yml and the runtime import rule agree."""

import ast
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Runtime code may import the five declared packages, what they guarantee, and the stdlib.
ALLOWED_THIRD_PARTY = {
    "pandas", "seaborn", "papermill", "ipywidgets", "jupyterlab",
    "numpy", "matplotlib", "nbformat", "nbclient", "nbconvert", "ipykernel", "tqdm",
    "IPython",  # ipykernel's own dependency; display() comes from it
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_is_the_pip_path_with_the_same_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    assert sorted(_name(d) for d in conda) == ["pip", "python"]
    assert "python=3.11" in conda
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip_section == ["-c constraints.txt", "-e .[test]"]


def test_constraints_pin_every_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    for req in declared:
        assert pins.get(_name(req).replace("_", "-")), f"{req} is not pinned in constraints.txt"
    assert sorted(_name(d) for d in project["dependencies"]) == ["ipywidgets", "jupyterlab", "pandas", "papermill", "seaborn"]


def test_makefile_installs_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in makefile
    assert re.search(r"^test:.*\n\t.*pytest", makefile, re.M)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme


def test_runtime_code_imports_only_allowed_packages():
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in sorted((ROOT / "vizlib").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in ALLOWED_THIRD_PARTY and top != "vizlib":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert not offenders, "runtime imports outside the allowed set:\n" + "\n".join(offenders)


def test_parser_uses_the_standard_library_only():
    for module in ("parser.py", "catalogue.py", "manifest.py"):
        tree = ast.parse((ROOT / "vizlib" / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert node.module.split(".")[0] in sys.stdlib_module_names, (module, node.module)
            if isinstance(node, ast.Import):
                for a in node.names:
                    assert a.name.split(".")[0] in sys.stdlib_module_names, (module, a.name)
