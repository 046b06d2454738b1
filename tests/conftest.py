"""Shared helpers for the parser, corpus, ingest, manifest and CLI tests.

The shared corpus of real lmbench outputs lives beside the repository in ``../shared`` (it is not
copied into the project). Tests that read it skip, saying why, when it is absent; the shipped lab
files in ``data/raw`` (the lab campaign, the default dataset) and ``data/raw-lmbench-lab`` (the
earlier lab runs, whose lines the parser tests pin) are always there.

Nothing here parses lmbench text itself beyond what the tests need to check the parser
independently: ``physical_lines`` gives the file's lines as every editor counts them (split on
``\\n``), and ``NUMBER`` finds the numeric tokens of a line.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import pytest

from vizlib.parser import ParseError, parse_file

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "lmbench-corpus"
PROVENANCE = CORPUS / "PROVENANCE.csv"
RAW = REPO / "data" / "raw"  # the default dataset
LAB_RAW = REPO / "data" / "raw-lmbench-lab"  # the earlier lab runs: fixed files whose lines tests pin
BAD = Path(__file__).resolve().parent / "data" / "bad"

CORPUS_MISSING = f"../shared/lmbench-corpus not found: {CORPUS} (clone the shared folder beside the repo to run corpus tests)"

# A numeric token as printed by lmbench (no sign: lmbench prints none, and "-" is noise in a row).
NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def corpus_available() -> bool:
    return PROVENANCE.is_file()


def require_corpus() -> Path:
    """The corpus folder, or skip the calling test with a visible reason."""
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    return CORPUS


@pytest.fixture
def corpus() -> Path:
    return require_corpus()


def corpus_file(rel: str) -> Path:
    """A corpus file by its PROVENANCE path; skips when the corpus is absent, fails when the file is."""
    base = require_corpus()
    path = base / rel
    assert path.is_file(), f"corpus file {rel} is listed in the tests but missing from {base}"
    return path


@functools.lru_cache(maxsize=None)
def provenance_rows() -> tuple[dict, ...]:
    if not corpus_available():
        return ()
    with open(PROVENANCE, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def corpus_params(kinds, marks: dict | None = None) -> list:
    """pytest params (id = corpus path) for every PROVENANCE row of the given kinds.

    Without the corpus, one param that skips with the reason, so the skip shows in the report.
    ``marks`` maps a corpus path to extra marks (e.g. a strict xfail naming a parser bug).
    """
    rows = [r["file"] for r in provenance_rows() if r["kind"] in kinds]
    if not rows:
        return [pytest.param(None, id="corpus-absent", marks=pytest.mark.skip(reason=CORPUS_MISSING))]
    marks = marks or {}
    return [pytest.param(f, id=f, marks=marks.get(f, ())) for f in rows]


def lab_files() -> list[Path]:
    """The shipped lab runs: every file of every environment folder of both shipped raw folders."""
    return sorted(p for raw in (RAW, LAB_RAW) for p in raw.glob("*/*") if p.is_file())


def lab_params(marks: dict | None = None) -> list:
    marks = marks or {}
    return [pytest.param(p, id=p.relative_to(RAW.parent).as_posix(), marks=marks.get(p.name, ())) for p in lab_files()]


@functools.lru_cache(maxsize=None)
def parse_cached(path: str):
    """parse_file(path), or the ParseError it raised; cached so parametrized tests parse each file once.

    The result is shared between tests: never mutate it.
    """
    try:
        return parse_file(path)
    except ParseError as exc:
        return exc


def parsed(path) -> "object":
    """The ParsedFile of ``path``; fails the test if the file was rejected."""
    result = parse_cached(str(path))
    if isinstance(result, ParseError):
        pytest.fail(f"{path} was rejected: {result}")
    return result


@functools.lru_cache(maxsize=None)
def physical_lines(path: str) -> tuple[str, ...]:
    """The file's lines as editors, grep and ``sed -n Np`` count them: split on LF only.

    Index 0 is line 1. A trailing CR (CRLF files) is kept; callers strip as needed.
    """
    data = Path(path).read_bytes()
    return tuple(data.decode("utf-8", errors="replace").split("\n"))


def line_text(path, n: int) -> str:
    lines = physical_lines(str(path))
    assert 1 <= n <= len(lines), f"{path}: line {n} is outside the file ({len(lines)} lines)"
    return lines[n - 1]


def values_at(pf, line: int, metric: str | None = None) -> list:
    return [v for v in pf.values if v.line == line and (metric is None or v.metric == metric)]


def find_value(pf, line: int, metric: str, param: str):
    hits = [v for v in pf.values if v.line == line and v.metric == metric and v.param == param]
    assert len(hits) == 1, (
        f"expected one {metric} [{param}] value on line {line}, got {hits}; "
        f"values on that line: {values_at(pf, line)}"
    )
    return hits[0]


# --- one executed report of the shipped data, shared by every test that reads notebook outputs ---------

@pytest.fixture(scope="session")
def shipped_report(tmp_path_factory):
    """(report folder, progress lines) of ``run_report`` on the shipped data/raw, built once per session:
    the notebook, report and browser tests all read this one execution."""
    from vizlib import report

    lines: list[str] = []
    folder = report.run_report(RAW, name="shipped", reports_dir=tmp_path_factory.mktemp("reports"),
                               progress=lines.append)
    return folder, lines


def html_outputs(nb) -> str:
    """Every text/html output of an executed notebook, joined."""
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def assert_clean_run(nb, name: str) -> None:
    """Every code cell ran, raised nothing and printed nothing on stderr."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{name}: not every code cell ran"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{name}: {errors}"
    stderr = [o.text for c in code for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{name}: warnings or errors printed: {stderr}"


# --- what ingest writes ---------------------------------------------------------------------------------

INGEST_TABLES = ("lmbench_runs.csv", "ingest_issues.csv", "environments.toml", "provenance.json")


def ingest_outputs(out: Path) -> dict[str, bytes]:
    """Every table ingest published in ``out``, by path relative to it (the tidy table as
    ``lmbench_tidy/<environment>.csv``), with its bytes."""
    files = {f"lmbench_tidy/{p.name}": p for p in sorted((out / "lmbench_tidy").glob("*.csv"))}
    files.update({name: out / name for name in INGEST_TABLES})
    return {name: p.read_bytes() for name, p in files.items()}


def tidy_rows(out: Path) -> list[dict]:
    """The rows of every tidy file in ``out``, as text (by environment name, as ``load_tidy`` reads them)."""
    rows: list[dict] = []
    for p in sorted((out / "lmbench_tidy").glob("*.csv"), key=lambda p: p.stem):
        with open(p, newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows
