"""The batch report (papermill + nbconvert) and the small helpers the notebooks share.

Batch report: ``run_report`` (``python -m vizlib report``) validates everything first (report
name, raw folder and manifest, every ``-p`` parameter against the notebooks' declared
parameters and types, environment names), then executes every ``notebooks/NN_*.ipynb`` in order
with papermill into a staging folder ``reports/.NAME.staging-<pid>/`` (its tables go to
``processed/`` inside it, never to ``data/processed``), exports each executed notebook to a
self-contained HTML file (no code, figures inline, no external URL: see
``vizlib/templates/vizlib_offline.html.j2``), writes ``index.html`` with the provenance, and only
then replaces ``reports/NAME/``. A failing notebook stops the report (``ReportError``, exit 1),
and the partial output is kept in ``reports/NAME.failed/``. One report per name at a time:
``reports/.NAME.lock`` holds the builder's pid.

Notebook helpers: ``setup`` (the notebooks' one setup cell: resolve paths, ingest when the
tables are missing or stale, validate the parameters, fail early with one clear error),
``normalise_tables`` / ``load_tables`` and a few small table views for display. They import
nothing heavy, so the CLI validation path stays fast.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import fcntl
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, atomic, paths
from . import manifest as manifest_mod

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
NOTEBOOK_RE = re.compile(r"^\d\d_[A-Za-z0-9_-]+\.ipynb$")
KERNEL = "python3"
TIMEOUT = 600  # seconds per cell
TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_TEMPLATE = "vizlib_offline.html.j2"
RESERVED = ("raw_dir", "processed_dir")  # set by the report itself
CAVEAT = ("lmbench items are microbenchmarks of single OS operations: the slowdowns here show a rough "
          "trend, not a precise prediction of how a real application will run. Measure the application itself.")


class ReportError(RuntimeError):
    """A notebook of the report failed (exit 1); the partial output is in ``failed_dir``."""

    def __init__(self, message: str, notebook: str = "", cell: int | None = None, failed_dir: Path | None = None):
        super().__init__(message)
        self.notebook, self.cell, self.failed_dir = notebook, cell, failed_dir


def _usage_error(message: str) -> Exception:
    from .cli import UsageError  # cli imports this module lazily; import back lazily too

    return UsageError(message)


# =================================================================================================
# Notebook helpers
# =================================================================================================

def rel(path) -> str:
    """``path`` relative to the project root ("../.." steps when it lies outside), posix style.

    Everything the report passes to notebooks or writes names paths this way, so no absolute
    path of this machine ends up in a shared report; ``paths.resolve`` reads them back.
    """
    p = Path(path).resolve()
    try:
        return p.relative_to(paths.PROJECT_ROOT).as_posix() or "."
    except ValueError:
        return Path(os.path.relpath(p, paths.PROJECT_ROOT)).as_posix()


def resolve_dirs(raw_dir="data/raw", processed_dir="") -> tuple[Path, Path]:
    """(raw, processed) as absolute paths; relative ones are taken from the project root.

    An empty ``processed_dir`` means ``data/processed`` for the shipped ``data/raw``, and for any
    other raw folder ``data/processed/by-raw/<folder name>-<8 hex of its path>``, so exploring
    another raw folder never overwrites the tables of the shipped one. The report always passes
    its own folder.
    """
    raw = paths.resolve(raw_dir or paths.RAW)
    if processed_dir:
        return raw, paths.resolve(processed_dir)
    if raw.resolve() == paths.RAW.resolve():
        return raw, paths.PROCESSED
    digest = hashlib.sha256(str(raw.resolve()).encode("utf-8")).hexdigest()[:8]
    return raw, paths.PROCESSED / "by-raw" / f"{raw.resolve().name}-{digest}"


def split_list(text) -> list[str]:
    """``"a, b,,c"`` -> ["a", "b", "c"]; lists pass through; None/"" -> []."""
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    return [t.strip() for t in str(text).split(",") if t.strip()]


def display_order(manifest=None, environments=None, *, present=None) -> list[str]:
    """Environments in display order: each baseline, then its virtual environments, then the next group.

    ``environments`` (iterable of names, None = all) selects; a selected virtual environment
    brings its baseline along, since its values mean little without it. ``present`` (names that
    have data) limits the result when no manifest is given, and keeps its order.
    """
    wanted = None if environments is None else list(environments)
    if manifest is None:
        names = list(dict.fromkeys(present or []))
        return names if wanted is None else [n for n in names if n in wanted]
    envs = manifest.environments
    if wanted is not None:
        keep = set(wanted) | {envs[n].baseline for n in wanted if n in envs and envs[n].baseline}
    else:
        keep = set(envs)
    order = []
    for phys in manifest.physical():
        group = [phys.name] + [e.name for e in manifest.virtual() if e.baseline == phys.name]
        order += [n for n in group if n in keep]
    return order


def parse_environments(manifest, environments) -> list[str] | None:
    """The chosen environment names (None = all); UsageError naming any that the manifest lacks."""
    names = split_list(environments)
    if not names:
        return None
    unknown = [n for n in names if n not in manifest.environments]
    if unknown:
        raise _usage_error(f"unknown environment(s) {', '.join(unknown)}; the manifest has "
                           f"{', '.join(manifest.environments)}")
    return list(dict.fromkeys(names))


def parse_representatives(text) -> dict:
    """``"disk:mmap_latency, network=udp_latency"`` -> DEFAULT_REPRESENTATIVES with those overrides.

    ``category:metric`` or ``category=metric``. ``metric`` alone lets normalise pick the param
    (the largest size for a series, "" otherwise); ``metric@param`` fixes it. UsageError for an
    unknown category or metric id.
    """
    from . import catalogue
    from .normalise import DEFAULT_REPRESENTATIVES

    reps = dict(DEFAULT_REPRESENTATIVES)
    for item in split_list(text):
        category, sep, spec = re.split(r"([=:])", item, maxsplit=1) if re.search(r"[=:]", item) else (item, "", "")
        category, spec = category.strip(), spec.strip()
        if not sep or not spec:
            raise _usage_error(f"representatives: {item!r} is not category:metric (e.g. disk:mmap_latency)")
        if category not in catalogue.CATEGORIES:
            raise _usage_error(f"representatives: unknown category {category!r}; "
                               f"choose from {', '.join(catalogue.CATEGORIES)}")
        metric, has_param, param = spec.partition("@")
        try:
            catalogue.get(metric.strip())
        except KeyError:
            raise _usage_error(f"representatives: unknown metric id {metric.strip()!r} for {category}") from None
        reps[category] = (metric.strip(), param.strip() if has_param else None)
    return reps


def _tables_current(raw: Path, processed: Path, man) -> bool:
    """True when the ingest tables exist and list the raw folder's files with their sizes."""
    from .ingest import ISSUES, RUNS, TIDY, raw_files
    from .normalise import load_runs

    if not all((processed / name).is_file() for name in (TIDY, RUNS, ISSUES)):
        return False
    runs = load_runs(processed)
    want = set()
    for _env, path, run in raw_files(raw, man):
        with contextlib.suppress(OSError):
            want.add((run, os.path.getsize(path) if path else 0))
    have = set(zip(runs["run"], runs["bytes"].astype(int)))
    return want == have


@dataclass
class Context:
    """What the setup cell of a notebook knows: folders, manifest, selection and the ingest tables."""

    raw_dir: Path
    processed_dir: Path
    manifest: object
    environments: list | None  # chosen names (None = all)
    tidy: object
    runs: object
    issues: object
    representatives: dict = field(default_factory=dict)
    metrics: list | None = None  # the all-metrics plot's choice (None = one representative param each)
    ingested: object = None  # IngestSummary when this setup ran the ingest

    @property
    def order(self) -> list[str]:
        """Chosen environments in display order (baseline, its virtual ones, next group)."""
        return display_order(self.manifest, self.environments)

    @property
    def virtual(self) -> list[str]:
        return [n for n in self.order if self.manifest.environments[n].is_virtual]


def setup(raw_dir="data/raw", processed_dir="", environments="", *, representatives="", metrics="",
          ingest="missing") -> Context:
    """The setup cell of every notebook: paths, manifest, ingest tables, validated parameters.

    ``ingest``: "always" (the ingest notebook), "missing" (ingest when the tables are absent or do
    not list the raw folder's current files) or "never". Fails early with one clear error:
    ``ManifestError`` for the raw folder, ``UsageError`` for an unknown environment or
    representative, ``NormaliseError`` when a virtual environment or its baseline has no ingested
    run, or a representative metric was measured nowhere.
    """
    from .ingest import ISSUES, ingest as run_ingest
    from .normalise import NormaliseError, load_runs, load_tidy

    import pandas as pd

    raw, processed = resolve_dirs(raw_dir, processed_dir)
    man = manifest_mod.load(raw)
    chosen = parse_environments(man, environments)
    reps = parse_representatives(representatives)
    chosen_metrics = None
    if split_list(metrics):
        from .plots import parse_metric_list  # matplotlib: only when the notebook plots metrics anyway

        try:
            chosen_metrics = parse_metric_list(metrics)
        except ValueError as exc:
            raise _usage_error(f"metrics: {exc}") from None
    summary = None
    if ingest == "always" or (ingest == "missing" and not _tables_current(raw, processed, man)):
        summary = run_ingest(raw, processed)
    tidy, runs = load_tidy(processed), load_runs(processed)
    issues = pd.read_csv(processed / ISSUES, dtype=str, keep_default_na=False)
    ctx = Context(raw, processed, man, chosen, tidy, runs, issues, reps, chosen_metrics, summary)
    if ingest != "always":
        require_runs(ctx)
        measured = set(tidy["metric"])
        for category, (metric, _param) in reps.items():
            if metric not in measured:
                raise NormaliseError(f"representative of {category!r}, {metric!r}, was measured in no environment; "
                                     f"choose another with the representatives parameter")
    return ctx


def missing_runs(ctx: Context) -> list[str]:
    """One line per virtual environment that cannot be compared: it or its baseline has no ingested run."""
    have = set(ctx.tidy["environment"])
    out = []
    for env in ctx.manifest.virtual():
        if env.name not in have:
            out.append(f"virtual environment {env.name!r} has no ingested run (baseline {env.baseline!r})")
        elif env.baseline not in have:
            out.append(f"baseline {env.baseline!r} of virtual environment {env.name!r} has no ingested run")
    return out


def require_runs(ctx: Context) -> None:
    """NormaliseError (one line) when any virtual environment or its baseline has no ingested run."""
    from .normalise import NormaliseError

    problems = missing_runs(ctx)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NormaliseError(f"{problems[0]}{more}: check the raw folder and the rejected files in 01_ingest")


def _read_table(path: Path):
    """A normalise table written as CSV: text kept, numbers and true/false converted."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    text = {"environment", "baseline", "technology", "metric", "param", "label", "category", "unit", "direction",
            "note", "check", "status", "detail", "present_in", "view"}
    for col in df.columns:
        if col in text:
            continue
        vals = df[col].str.lower()
        if vals.isin(["true", "false"]).all() and len(df):
            df[col] = vals.eq("true")
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def normalise_tables(ctx: Context, *, seed: int = 0, n_boot: int = 2000, write: bool = True) -> dict:
    """Every normalisation table (``normalise.normalise_all``), written to the processed folder.

    The category summary uses ``ctx.representatives``: the representative view is recomputed
    with them, the geomean view is normalise's.
    """
    import pandas as pd

    from . import normalise

    tables = normalise.normalise_all(ctx.tidy, ctx.runs, ctx.manifest, n_boot=n_boot, seed=seed)
    if ctx.representatives != normalise.DEFAULT_REPRESENTATIVES:
        summ = tables["category_summary"]
        tables["category_summary"] = pd.concat(
            [normalise.category_summary(tables["overhead"], ctx.representatives), summ[summ["view"] != "representative"]],
            ignore_index=True)
    if write:
        files = {"overhead": normalise.OVERHEAD, "missing_metrics": normalise.MISSING,
                 "sanity_checks": normalise.SANITY, "category_summary": normalise.SUMMARY}
        for key, name in files.items():
            normalise._write_csv(ctx.processed_dir / name, tables[key])
    return tables


def load_tables(ctx: Context, *, seed: int = 0, n_boot: int = 2000) -> dict:
    """The normalisation tables 02_overhead wrote, or freshly computed if absent or older than the tidy table."""
    from . import normalise
    from .ingest import TIDY

    files = {"overhead": normalise.OVERHEAD, "missing_metrics": normalise.MISSING,
             "sanity_checks": normalise.SANITY, "category_summary": normalise.SUMMARY}
    tidy_time = (ctx.processed_dir / TIDY).stat().st_mtime
    paths_ = {k: ctx.processed_dir / v for k, v in files.items()}
    if all(p.is_file() and p.stat().st_mtime >= tidy_time for p in paths_.values()):
        return {k: _read_table(p) for k, p in paths_.items()}
    return normalise_tables(ctx, seed=seed, n_boot=n_boot)


# --- small views for display (plain DataFrames: their HTML is escaped) ---------------------------------

def environments_table(ctx: Context):
    """The manifest: name, kind, technology, baseline, kernel, description (chosen environments only)."""
    import pandas as pd

    rows = []
    for name in ctx.order:
        e = ctx.manifest.environments[name]
        rows.append({"environment": name, "kind": e.kind, "technology": e.technology, "baseline": e.baseline or "",
                     "kernel": str(e.extra.get("kernel", "")), "description": str(e.extra.get("description", ""))})
    return pd.DataFrame(rows)


RUN_COLUMNS = ["environment", "run", "status", "kernel_release", "hostname", "processors", "lmbench_version", "date",
               "values", "unknown_lines", "invalid_lines", "noise_lines"]


def runs_table(ctx: Context):
    """One row per raw file of the chosen environments, with its lmbench header metadata."""
    r = ctx.runs[ctx.runs["environment"].isin(ctx.order)]
    return r[[c for c in RUN_COLUMNS if c in r]].reset_index(drop=True)


def rejected_table(ctx: Context):
    """Every rejected raw file (of the chosen environments) and why."""
    i = ctx.issues
    i = i[(i["kind"] == "rejected") & i["environment"].isin(ctx.order)]
    return i[["environment", "run", "line", "reason"]].reset_index(drop=True)


def line_issues(ctx: Context, kinds=("unknown", "invalid")):
    """Unknown and invalid lines with file:line, reason and the text as printed (escaped when displayed)."""
    i = ctx.issues
    return i[i["kind"].isin(kinds) & i["environment"].isin(ctx.order)].reset_index(drop=True)


def for_environments(df, ctx: Context, column: str = "environment"):
    """Rows of ``df`` that belong to the chosen environments."""
    return df[df[column].isin(ctx.order)].reset_index(drop=True)


def ingest_alert(ctx: Context):
    """The ingest outcome as one prominent box: red when files were rejected or a comparison lacks runs."""
    rejected = rejected_table(ctx)
    runs = runs_table(ctx)
    problems = [f"{len(rejected)} of {len(runs)} files were REJECTED (see 'Rejected files' below): "
                + ", ".join(rejected["run"].head(10)) + (" ..." if len(rejected) > 10 else "")] if len(rejected) else []
    problems += missing_runs(ctx)
    lines = line_issues(ctx)
    counts = lines["kind"].value_counts().to_dict()
    detail = (f"{int(runs['values'].sum())} values from {int((runs['status'] == 'ok').sum())} files in "
              f"{runs['environment'].nunique()} environments; unknown lines: {counts.get('unknown', 0)}, "
              f"invalid values refused: {counts.get('invalid', 0)}")
    if problems:
        return alert("\n".join(problems + [detail]), "error")
    return alert("Every file was read. " + detail, "ok")


def functional_table(functional_df, ctx: Context | None = None):
    """The functional comparison with aspects as rows and technologies as columns (as the source prints it).

    With ``ctx``, a last row names the environments of each technology measured in this raw folder.
    """
    import pandas as pd

    f = functional_df.set_index("technology")

    def with_note(col, note):
        return [v + (f" ({n})" if n else "") for v, n in zip(f[col], f[note])]

    guests = []
    for r in f.itertuples():
        kinds = [k for k, col in (("Linux in general", "guest_linux_any"), ("paravirtualized Linux", "guest_linux_pv"),
                                  ("Windows", "guest_windows")) if getattr(r, col) == "yes"]
        guests.append(", ".join(kinds) + (f" ({r.guest_os_note})" if r.guest_os_note else ""))
    rows = {
        "product": list(f["product"]),
        "architectures": [a.replace(";", ", ") + (f" ({n})" if n else "")
                          for a, n in zip(f["architectures"], f["architectures_note"])],
        "CPU virtualization support (Intel VT / AMD-V) needed": list(f["hw_virt_required"]),
        "guests": guests,
        "impact of a guest OS fault on other guests": with_note("fault_isolation", "fault_isolation_note"),
        "live migration": with_note("live_migration", "live_migration_note"),
        "as of": list(f["as_of"]),
    }
    if ctx is not None:
        measured = {t: [n for n in ctx.order if ctx.manifest.environments[n].technology == t] for t in f.index}
        rows["measured here"] = [", ".join(measured[t]) or "(none)" for t in f.index]
    table = pd.DataFrame(rows, index=f.index).T
    table.columns.name = None
    return table


def missing_summary(missing, ctx: Context | None = None):
    """``missing_metrics`` folded to one row per environment, metric and side, its params listed."""
    import pandas as pd

    m = missing if ctx is None else for_environments(missing, ctx)
    cols = ["environment", "baseline", "metric", "present_in", "params"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    g = m.groupby(["environment", "baseline", "metric", "present_in"], sort=False)["param"]
    out = g.agg(lambda p: ", ".join(v if v else "(none)" for v in p)).rename("params").reset_index()
    return out.assign(n=g.size().to_numpy())[cols[:4] + ["n", "params"]]


def table(df, *, empty: str = "None.", index: bool = False, max_rows: int = 300):
    """A DataFrame as report HTML: every cell escaped, text left-aligned and never cut short.

    An empty frame shows ``empty`` instead of a bare header row; beyond ``max_rows`` rows the
    rest is counted (the full table is in the processed folder).
    """
    from IPython.display import HTML

    if df is None or len(df) == 0:
        return alert(empty, "note")
    body = df.head(max_rows).to_html(escape=True, index=index, na_rep="", border=0,
                                     classes="dataframe vizlib-table")
    more = f"<p>... and {len(df) - max_rows} more rows</p>" if len(df) > max_rows else ""
    style = ("<style>table.vizlib-table td, table.vizlib-table th "
             "{text-align: left !important; vertical-align: top !important}</style>")
    return HTML(style + body + more)


def alert(text: str, level: str = "warning"):
    """A prominent HTML box; ``text`` is escaped (it may quote file names or log lines)."""
    from IPython.display import HTML

    colours = {"error": ("#fdecea", "#b71c1c"), "warning": ("#fff4e5", "#8a4b00"), "ok": ("#edf7ed", "#1e4620"),
               "note": ("#eef3fb", "#0d3c61")}
    bg, fg = colours.get(level, colours["note"])
    body = "<br>".join(html.escape(line) for line in str(text).splitlines())
    return HTML(f'<div style="background:{bg};color:{fg};border-left:6px solid {fg};padding:8px 12px;'
                f'margin:6px 0;font-weight:500">{body}</div>')


def summary_table(summary, *, view: str = "representative", environments=None):
    """Category summary as a category x environment grid of "slowdown [low-high]" (noisy marked *)."""
    import pandas as pd

    s = summary[summary["view"] == view]
    if environments is not None:
        s = s[s["environment"].isin(list(environments))]
    if s.empty:
        return pd.DataFrame()

    def cell(r):
        if pd.isna(r.slowdown):
            return "not measured"
        ci = f" [{r.ci_low:.3g}-{r.ci_high:.3g}]" if pd.notna(r.ci_low) and pd.notna(r.ci_high) else ""
        return f"{r.slowdown:.3g}{ci}" + (" *" if r.noisy else "")

    s = s.assign(value=[cell(r) for r in s.itertuples()])
    order = list(dict.fromkeys(s["environment"]))
    grid = s.pivot(index="category", columns="environment", values="value")[order]
    metric = s.drop_duplicates("category").set_index("category")[["metric", "param"]]
    from .catalogue import CATEGORIES

    grid = grid.reindex([c for c in CATEGORIES if c in grid.index])
    grid.insert(0, "representative", [(m + (f" [{p}]" if p and not str(p).startswith("(") else ""))
                                      for m, p in metric.loc[grid.index].itertuples(index=False)])
    grid.columns.name = None
    return grid


def noisy_table(overhead, *, environments=None):
    """Noisy slowdowns (run-to-run CV above the threshold on either side), worst spread first."""
    o = overhead[overhead["noisy"].astype(bool)]
    if environments is not None:
        o = o[o["environment"].isin(list(environments))]
    o = o.assign(cv_max=o[["cv_virtual", "cv_baseline"]].max(axis=1)).sort_values("cv_max", ascending=False)
    return o[["environment", "baseline", "category", "metric", "param", "slowdown", "ci_low", "ci_high",
              "cv_virtual", "cv_baseline"]].reset_index(drop=True)


# =================================================================================================
# The batch report
# =================================================================================================

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
        raise _usage_error(f"{Path(notebook).name}: the parameters cell is not valid Python ({exc.msg}, "
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
            raise _usage_error(f"parameter {name}: value cannot be passed safely as a string")
        return value
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        v = str(value).strip().lower()
        if v in _TRUE | _FALSE:
            return v in _TRUE
        raise _usage_error(f"parameter {name} is a bool: use true or false, not {value!r}")
    if type_name == "int":
        if isinstance(value, bool):
            raise _usage_error(f"parameter {name} is an int, not {value!r}")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise _usage_error(f"parameter {name} is an int, not {value!r}") from None
    if type_name == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise _usage_error(f"parameter {name} is a float, not {value!r}") from None
    raise _usage_error(f"parameter {name} has type {type_name!r} in its notebook; the report passes only "
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
            raise _usage_error(f"parameter {item!r}: expected KEY VALUE")
        key, value = item
        if key in RESERVED:
            raise _usage_error(f"parameter {key} is set by the report itself (use --raw for the raw folder)")
        owners = [nb for nb, params in declared.items() if key in params]
        if not owners:
            known = sorted({k for params in declared.values() for k in params} - set(RESERVED))
            raise _usage_error(f"unknown parameter {key!r}; the notebooks take: {', '.join(known)}")
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
                        raise _usage_error(f"report {name!r} is being built by process {holder} "
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
    try:
        return p.relative_to(paths.PROJECT_ROOT).as_posix() or "."
    except ValueError:
        return OUTSIDE + p.name


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

    e = html.escape
    processed = folder / "processed"
    runs = pd.read_csv(processed / "lmbench_runs.csv", dtype=str, keep_default_na=False) \
        if (processed / "lmbench_runs.csv").is_file() else pd.DataFrame()
    issues = pd.read_csv(processed / "ingest_issues.csv", dtype=str, keep_default_na=False) \
        if (processed / "ingest_issues.csv").is_file() else pd.DataFrame()
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
        parts.append("<p>Tables used: " + ", ".join(f'<a href="processed/{e(t)}">{e(t)}</a>' for t in tables) + "</p>")
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
        file_rows = [[e(r["environment"]), f'<span class="mono">{e(r["run"])}</span>', e(r["status"]), e(r["bytes"]),
                      f'<span class="mono">{e(r["sha256"])}</span>'] for _, r in runs.iterrows()]
        parts += ["<h3>Input files</h3>", _table(["environment", "file", "status", "bytes", "sha256"], file_rows)]
    rejected = issues[issues["kind"] == "rejected"] if len(issues) else issues
    parts.append("<h3>Rejected files</h3>")
    if len(rejected):
        parts.append(_table(["environment", "file", "line", "why"],
                            [[e(r["environment"]), f'<span class="mono">{e(r["run"])}</span>', e(r["line"]), e(r["reason"])]
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
        raise _usage_error(f"report name {name!r}: use letters, digits, '-' and '_' only")
    raw = paths.resolve(raw_dir)
    man = manifest_mod.load(raw)
    nbs = [Path(n) for n in notebooks] if notebooks is not None else discover_notebooks()
    if not nbs:
        raise _usage_error(f"no notebooks to run (none matches NN_*.ipynb in {rel(paths.NOTEBOOKS)})")
    for nb in nbs:
        if not nb.is_file():
            raise _usage_error(f"notebook {nb} not found")
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


def cli(args) -> int:
    """``python -m vizlib report --raw DIR --name NAME [-p KEY VALUE ...]``: 0 ok, 1 a notebook failed, 2 usage."""
    try:
        run_report(args.raw, name=args.name, parameters=[tuple(p) for p in (args.parameter or [])],
                   reports_dir=getattr(args, "reports_dir", None) or paths.REPORTS)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
