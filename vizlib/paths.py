"""Project folders, resolved from the package location so every runner (papermill, JupyterLab,
pytest, the CLI) sees the same paths whatever its working directory is."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RAW = PROJECT_ROOT / "data" / "raw"
PROCESSED = PROJECT_ROOT / "data" / "processed"
REPORTS = PROJECT_ROOT / "reports"
NOTEBOOKS = PROJECT_ROOT / "notebooks"


def resolve(path) -> Path:
    """A user-given path: absolute as is, relative ones against the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


def project_relative(path) -> str | None:
    """``path`` relative to the project root, posix style ("." for the root itself); None when it lies outside."""
    p = Path(path).resolve()
    try:
        return p.relative_to(PROJECT_ROOT).as_posix() or "."
    except ValueError:
        return None
