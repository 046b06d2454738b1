"""The batch report (papermill + nbconvert): ``python -m vizlib report``.

``run_report`` validates everything first (report name, raw folder and manifest, every ``-p``
parameter against the notebooks' declared parameters and types, environment names), then
executes every ``notebooks/NN_*.ipynb`` in order with papermill into a staging folder
``reports/.NAME.staging-<pid>/`` (its tables go to ``processed/`` inside it, never to
``data/processed``), exports each executed notebook to a self-contained HTML file (no code,
figures inline, no external URL: see ``vizlib/templates/vizlib_offline.html.j2``), writes
``index.html`` with the provenance, and only then replaces ``reports/NAME/``. A failing notebook
stops the report (``ReportError``, exit 1), and the partial output is kept in
``reports/NAME.failed/``. One report per name at a time: ``reports/.NAME.lock`` holds the
builder's pid.

What the notebooks themselves call (``setup``, the table views) is ``vizlib.notebook``.
"""
from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import fcntl
import html
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from . import __version__, atomic, paths
from . import manifest as manifest_mod
from .errors import ReportError, UsageError
from .notebook import parse_environments, rel
from .views import CAVEAT

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
NOTEBOOK_RE = re.compile(r"^\d\d_[A-Za-z0-9_-]+\.ipynb$")
KERNEL = "python3"
TIMEOUT = 600  # seconds per cell
TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_TEMPLATE = "vizlib_offline.html.j2"
RESERVED = ("raw_dir", "processed_dir")  # set by the report itself


# --- the notebooks and their parameters -----------------------------------------------------------

def discover_notebooks(folder=paths.NOTEBOOKS) -> list[Path]:
    """Every ``NN_*.ipynb`` of the notebooks folder, in order."""
    return sorted(p for p in Path(folder).iterdir() if NOTEBOOK_RE.match(p.name))


def parameters_of(notebook) -> dict:
    """{name: {"type", "default", "help"}} of a notebook's ``parameters`` cell.

    The same fields as ``papermill.inspect_notebook``, read with ``ast`` and ``tokenize`` instead
    of papermill's line regex, which silently skips any line holding more than one ``=`` (for
    example a default such as ``"cpu=0.5,memory=0.5"``) although papermill still injects it.
    ``type`` is the annotation ("None" when there is none); ``help`` the trailing comment.
    """
    import io
    import tokenize

    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise UsageError(f"{Path(notebook).name}: the parameters cell is not valid Python ({exc.msg}, "
                         f"line {exc.lineno})") from None
    comments = {}
    with contextlib.suppress(tokenize.TokenError):
        for tok in tokenize.generate_tokens(io.StringIO(cell.source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, type_name = node.target.id, ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, type_name = node.targets[0].id, "None"
        else:
            continue
        default = ast.unparse(node.value) if node.value is not None else ""
        out[name] = {"type": type_name, "default": default, "help": comments.get(node.end_lineno, "")}
    return out


def notebook_parameters(notebooks) -> dict:
    """{notebook path: parameters_of(notebook)} for every notebook."""
    return {Path(nb): parameters_of(nb) for nb in notebooks}


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def convert_value(name: str, value, type_name: str):
    """``value`` (a CLI string or a Python value) as the declared type; UsageError if it is not one."""
    if type_name == "str":
        if not isinstance(value, str):
            value = str(value)
        from papermill.translators import PythonTranslator

        # papermill writes strings as escaped literals; make sure this one reads back unchanged
        if ast.literal_eval(PythonTranslator.translate(value)) != value:
            raise UsageError(f"parameter {name}: value cannot be passed safely as a string")
        return value
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        v = str(value).strip().lower()
        if v in _TRUE | _FALSE:
            return v in _TRUE
        raise UsageError(f"parameter {name} is a bool: use true or false, not {value!r}")
    if type_name == "int":
        if isinstance(value, bool):
            raise UsageError(f"parameter {name} is an int, not {value!r}")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise UsageError(f"parameter {name} is an int, not {value!r}") from None
    if type_name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise UsageError(f"parameter {name} is a float, not {value!r}") from None
    raise UsageError(f"parameter {name} has type {type_name!r} in its notebook; the report passes only "
                     "annotated str, int, float and bool parameters")


def resolve_parameters(given, declared: dict) -> tuple[dict, dict]:
    """(per-notebook parameters, the report-level view {name: value}) from ``given``.

    ``given``: a dict or a list of [KEY, VALUE] pairs. Every key must be a parameter of at least
    one notebook; its value is converted to each declaring notebook's type. ``raw_dir`` and
    ``processed_dir`` are the report's own (use --raw).
    """
    pairs = list(given.items()) if isinstance(given, dict) else [tuple(p) for p in (given or [])]
    per_nb = {nb: {} for nb in declared}
    shown = {}
    for item in pairs:
        if len(item) != 2:
            raise UsageError(f"parameter {item!r}: expected KEY VALUE")
        key, value = item
        if key in RESERVED:
            raise UsageError(f"parameter {key} is set by the report itself (use --raw for the raw folder)")
        owners = [nb for nb, params in declared.items() if key in params]
        if not owners:
            known = sorted({k for params in declared.values() for k in params} - set(RESERVED))
            raise UsageError(f"unknown parameter {key!r}; the notebooks take: {', '.join(known)}")
        for nb in owners:
            per_nb[nb][key] = convert_value(key, value, declared[nb][key]["type"])
        shown[key] = per_nb[owners[0]][key]
    return per_nb, shown


# --- lock ------------------------------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _report_lock(reports_dir: Path, name: str):
    """``reports/.NAME.lock`` (O_CREAT|O_EXCL, holding our pid) for the whole build.

    A lock whose pid is alive refuses the second report (UsageError); a lock left by a dead
    process is taken over. The check-and-take is serialised with flock on the reports folder,
    so two builders cannot both take over the same stale lock.
    """
    lock = reports_dir / f".{name}.lock"
    dir_fd = os.open(reports_dir, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        try:
            for _attempt in range(2):
                try:
                    fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    try:
                        holder = int(lock.read_text().strip() or "0")
                    except (OSError, ValueError):
                        holder = 0
                    if _pid_alive(holder) and holder != os.getpid():
                        raise UsageError(f"report {name!r} is being built by process {holder} "
                                         f"(lock {_for_terminal(lock)}); wait for it to finish") from None
                    lock.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                with os.fdopen(fd, "w") as fh:
                    fh.write(f"{os.getpid()}\n")
                break
        finally:
            fcntl.flock(dir_fd, fcntl.LOCK_UN)
    finally:
        os.close(dir_fd)
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(lock.read_text().strip()) == os.getpid():
                lock.unlink()


def _clean_stale_staging(reports_dir: Path, name: str) -> None:
    for old in reports_dir.glob(f".{name}.staging-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


# --- provenance --------------------------------------------------------------------------------------

def git_revision(root=paths.PROJECT_ROOT) -> str:
    """``git rev-parse HEAD`` (+ " (dirty)" with uncommitted changes), or "unknown"."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True,
                                timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (dirty)" if status else head


# --- execution and export ----------------------------------------------------------------------------

def _source_cell_number(source_nb: Path, cell_source: str) -> int | None:
    """1-based position of the cell with this source in the notebook as committed."""
    import nbformat

    nb = nbformat.read(str(source_nb), as_version=4)
    for i, cell in enumerate(nb.cells, start=1):
        if cell.source == cell_source:
            return i
    return None


def _first_line(text: str, limit: int = 80) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _timed_out_cell(output: Path):
    """The cell papermill had started last in a partial output (used to name a timed-out cell)."""
    import nbformat

    with contextlib.suppress(Exception):
        nb = nbformat.read(str(output), as_version=4)
        started = [c for c in nb.cells if c.cell_type == "code" and c.get("metadata", {}).get("papermill", {})
                   .get("start_time")]
        if started:
            return started[-1]
    return None


def _execute(nb: Path, out: Path, params: dict, timeout: int) -> None:
    """Run one notebook; ReportError (naming notebook and cell) if it fails, judged by the exception."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    try:
        papermill.execute_notebook(str(nb), str(out), parameters=params, kernel_name=KERNEL, cwd=str(paths.PROJECT_ROOT),
                                   progress_bar=False, execution_timeout=timeout, log_output=False,
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except papermill.PapermillExecutionError as exc:
        number = _source_cell_number(nb, exc.source)
        where = f"cell {number}" if number else f"cell index {exc.cell_index}"
        raise ReportError(f"notebook {nb.name} failed at {where} (In [{exc.exec_count}]: {_first_line(exc.source)}): "
                          f"{exc.ename}: {_first_line(exc.evalue, 300)}", nb.name, number) from None
    except CellTimeoutError:
        cell = _timed_out_cell(out)
        number = _source_cell_number(nb, cell.source) if cell is not None else None
        what = f"cell {number} ({_first_line(cell.source)})" if number else "a cell"
        raise ReportError(f"notebook {nb.name} timed out: {what} ran longer than {timeout} s", nb.name, number) from None
    except DeadKernelError as exc:
        raise ReportError(f"notebook {nb.name}: the kernel died ({_first_line(exc, 200)})", nb.name) from None


OUTSIDE = "\u2026/"  # marks a folder outside the project, shortened to its name in a finished report


def shown_path(path) -> str:
    """How a finished report names a folder: relative to the project root when inside it (runnable),
    else ``…/<name>``, so a report never spells out where the machine that built it keeps its files."""
    p = Path(path).resolve()
    inside = paths.project_relative(p)
    return inside if inside is not None else OUTSIDE + p.name


def _scrub_paths(out: Path, nb: Path, replacements: dict) -> None:
    """Make the executed notebook name paths as the finished report has them.

    papermill records the absolute input and output paths; they become ``notebooks/NN_x.ipynb``
    and the file name. The path parameters the notebook ran with (``replacements``: as passed ->
    as shown) name the staging folder, which is renamed once the report is complete, and may lie
    outside the project; the injected cell and the recorded parameters show them as
    ``shown_path`` does.
    """
    import nbformat

    doc = nbformat.read(str(out), as_version=4)
    pm = doc.metadata.get("papermill", {})
    if pm:
        pm["input_path"] = rel(nb)
        pm["output_path"] = out.name

    def fix(text: str) -> str:
        for old, new in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(old, new)
        return text

    for cell in doc.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            fixed = fix(cell.source)
            if OUTSIDE in fixed and OUTSIDE not in cell.source:
                fixed += f"# {OUTSIDE}: a folder outside the project, named without its location\n"
            cell.source = fixed
    for key, value in pm.get("parameters", {}).items():
        if isinstance(value, str):
            pm["parameters"][key] = fix(value)
    nbformat.write(doc, str(out))


def _scrub_provenance(processed: Path, raw: Path) -> None:
    """The report's copy of ``provenance.json`` names the raw folder as the report does (``shown_path``)."""
    import json

    path = processed / "provenance.json"
    if path.is_file():
        record = json.loads(path.read_text(encoding="utf-8"))
        record["raw_dir"] = shown_path(raw)
        atomic.write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def export_html(ipynb: Path, html_path: Path) -> None:
    """Self-contained HTML of an executed notebook: no code, figures inline, nothing loaded from the network."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", extra_template_paths=[str(TEMPLATES)], template_file=HTML_TEMPLATE,
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True, mathjax_url="", require_js_url="", widget_renderer_url="")
    nb = nbformat.read(str(ipynb), as_version=4)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": ipynb.stem}})
    atomic.write_text(html_path, body)


# --- index.html ---------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.mono{font-family:ui-monospace,monospace;font-size:90%}.fail{color:#b71c1c;font-weight:600}
.caveat{background:#fff4e5;border-left:6px solid #8a4b00;padding:6px 12px}"""


def _table(headers, rows) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_index(folder: Path, *, name: str, raw: Path, man, parameters: dict, notebooks: list, timings: dict,
                status: str = "complete", error: str = "") -> None:
    """``index.html``: links to every notebook (HTML and .ipynb) and the provenance of the report.

    Provenance: suite version, git commit, date, raw folder (name only), the manifest, the
    parameters, every input file with its sha256 (paths relative to the raw folder), rejected
    files and why. Every string is escaped.
    """
    import pandas as pd

    from .tables import ISSUES, RUNS, TIDY, read_table, tidy_files

    e = html.escape
    processed = folder / "processed"
    runs = read_table(processed / RUNS) if (processed / RUNS).is_file() else pd.DataFrame()
    issues = read_table(processed / ISSUES) if (processed / ISSUES).is_file() else pd.DataFrame()
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(name)}: lmbench overhead report"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>Virtualization overhead report: {e(name)}</h1>"]
    if status != "complete":
        parts.append(f'<p class="fail">This report FAILED: {e(error)}</p>')
    parts.append(f'<p class="caveat">{e(CAVEAT)}</p>')
    nb_rows = []
    for nb in notebooks:
        stem = nb.stem
        links = []
        for ext in ("html", "ipynb"):
            if (folder / f"{stem}.{ext}").is_file():
                links.append(f'<a href="{e(stem)}.{ext}">{e(stem)}.{ext}</a>')
        t = timings.get(nb.name)
        nb_rows.append([e(nb.name), " &middot; ".join(links) or "(not run)", e(f"{t:.1f} s") if t is not None else ""])
    parts += ["<h2>Notebooks</h2>", _table(["notebook", "output", "execution time"], nb_rows)]
    if (processed).is_dir():
        tables = sorted(p.name for p in processed.glob("*.csv"))
        tidy = [p.relative_to(processed).as_posix() for p in tidy_files(processed)] if (processed / TIDY).is_dir() else []
        parts.append("<p>Tables used: " + ", ".join(f'<a href="processed/{e(t)}">{e(t)}</a>' for t in tables) + "</p>")
        if tidy:
            parts.append("<p>The tidy table, one file per environment: "
                         + ", ".join(f'<a href="processed/{e(t)}">{e(t)}</a>' for t in tidy) + "</p>")
    prov = [["suite version", e(f"vizlib {__version__}")], ["git commit", f'<span class="mono">{e(git_revision())}</span>'],
            ["date", e(now)], ["raw folder", e(raw.name) + " (file paths below are relative to it)"],
            ["kernel", e(KERNEL)]]
    parts += ["<h2>Provenance</h2>", _table(["", ""], prov)]
    parts.append("<h3>Parameters</h3>")
    parts.append(_table(["parameter", "value"], [[e(k), f'<span class="mono">{e(repr(v))}</span>'] for k, v in parameters.items()])
                 if parameters else "<p>All notebook defaults (no -p parameter).</p>")
    env_rows = [[e(n), e(v.kind), e(v.technology), e(v.baseline or ""), e(str(v.extra.get("kernel", "")))]
                for n, v in man.environments.items()]
    parts += ["<h3>Environments (manifest)</h3>", _table(["environment", "kind", "technology", "baseline", "kernel"], env_rows)]
    if len(runs):
        file_rows = [[e(r["environment"]), f'<span class="mono">{e(r["run"])}</span>', e(r["status"]), e(str(r["bytes"])),
                      f'<span class="mono">{e(r["sha256"])}</span>'] for _, r in runs.iterrows()]
        parts += ["<h3>Input files</h3>", _table(["environment", "file", "status", "bytes", "sha256"], file_rows)]
    rejected = issues[issues["kind"] == "rejected"] if len(issues) else issues
    parts.append("<h3>Rejected files</h3>")
    if len(rejected):
        parts.append(_table(["environment", "file", "line", "why"],
                            [[e(r["environment"]), f'<span class="mono">{e(r["run"])}</span>', e(str(r["line"])), e(r["reason"])]
                             for _, r in rejected.iterrows()]))
    else:
        parts.append("<p>None: every file was read.</p>" if len(runs) else "<p>(ingest did not run)</p>")
    parts.append("</body></html>\n")
    atomic.write_text(folder / "index.html", "\n".join(parts))


# --- run_report ---------------------------------------------------------------------------------------

def run_report(raw_dir=paths.RAW, name: str = "default", parameters=None, reports_dir=paths.REPORTS, notebooks=None,
               progress=print, *, timeout: int = TIMEOUT) -> Path:
    """Execute the notebooks into ``reports_dir/NAME/`` and return that folder.

    Raises UsageError (exit 2, nothing run) for a bad name, parameter or environment and
    ManifestError for a bad raw folder; ReportError (exit 1) when a notebook fails, after moving
    the partial output to ``reports_dir/NAME.failed/``.
    """
    t_start = time.perf_counter()
    progress = progress or (lambda *_a, **_k: None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise UsageError(f"report name {name!r}: use letters, digits, '-' and '_' only")
    raw = paths.resolve(raw_dir)
    man = manifest_mod.load(raw)
    nbs = [Path(n) for n in notebooks] if notebooks is not None else discover_notebooks()
    if not nbs:
        raise UsageError(f"no notebooks to run (none matches NN_*.ipynb in {rel(paths.NOTEBOOKS)})")
    for nb in nbs:
        if not nb.is_file():
            raise UsageError(f"notebook {nb} not found")
    declared = notebook_parameters(nbs)
    per_nb, shown = resolve_parameters(parameters, declared)
    if "environments" in shown:
        parse_environments(man, shown["environments"])
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)

    with _report_lock(reports_dir, name):
        _clean_stale_staging(reports_dir, name)
        staging = reports_dir / f".{name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "processed").mkdir(parents=True)
        common = {"raw_dir": rel(raw), "processed_dir": rel(staging / "processed")}
        path_names = {common["raw_dir"]: shown_path(raw),
                      common["processed_dir"]: shown_path(reports_dir / name / "processed")}
        timings, t_exec, t_export = {}, 0.0, 0.0
        progress(f"report {name!r}: {len(nbs)} notebooks, raw folder {_for_terminal(raw)}")
        try:
            for nb in nbs:
                params = {k: v for k, v in common.items() if k in declared[nb]} | per_nb[nb]
                out = staging / nb.name
                t0 = time.perf_counter()
                try:
                    _execute(nb, out, params, timeout)
                finally:
                    timings[nb.name] = time.perf_counter() - t0
                    t_exec += timings[nb.name]
                    if out.is_file():
                        _scrub_paths(out, nb, path_names)
                t1 = time.perf_counter()
                export_html(out, staging / f"{nb.stem}.html")
                t_export += time.perf_counter() - t1
                progress(f"  {nb.name:<32} {timings[nb.name]:6.1f} s  (+ HTML {time.perf_counter() - t1:.1f} s)")
            _scrub_provenance(staging / "processed", raw)
            write_index(staging, name=name, raw=raw, man=man, parameters=shown, notebooks=nbs, timings=timings)
        except BaseException as exc:
            failed = reports_dir / f"{name}.failed"
            with contextlib.suppress(Exception):
                for nb in nbs:  # keep what ran readable without Jupyter
                    out = staging / nb.name
                    if out.is_file() and not (staging / f"{nb.stem}.html").is_file():
                        export_html(out, staging / f"{nb.stem}.html")
                write_index(staging, name=name, raw=raw, man=man, parameters=shown, notebooks=nbs, timings=timings,
                            status="failed", error=str(exc) or type(exc).__name__)
            if staging.is_dir():
                atomic.replace_dir(staging, failed)
            if isinstance(exc, ReportError):
                exc.failed_dir = failed
                raise ReportError(f"{exc} (partial output in {_for_terminal(failed)})", exc.notebook, exc.cell,
                                  failed) from None
            raise
        final = reports_dir / name
        atomic.replace_dir(staging, final)
        with contextlib.suppress(OSError):
            shutil.rmtree(reports_dir / f"{name}.failed")
    total = time.perf_counter() - t_start
    progress(f"report written: {_for_terminal(final / 'index.html')}")
    progress(f"wall time {total:.1f} s: notebook execution {t_exec:.1f} s, HTML export {t_export:.1f} s, "
             f"other {total - t_exec - t_export:.1f} s")
    return final


def _for_terminal(path: Path) -> str:
    """A path for the console (never written into a report): relative to the cwd when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())
