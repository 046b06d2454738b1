"""What the notebooks call to set up and to show tables.

``setup`` is the notebooks' one setup cell: resolve paths, ingest when the tables are missing or
stale, validate the parameters, fail early with one clear error. ``normalise_tables`` /
``load_tables`` give the normalisation tables, and a few small table views (``table``, ``alert``,
``runs_table``, ``summary_table``, ...) show them. Nothing heavy is imported at module level, so
the CLI validation path (``vizlib.report`` uses ``parse_environments`` and ``rel``) stays fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import manifest as manifest_mod
from . import paths
from .cli import UsageError
from .manifest import display_order


def rel(path) -> str:
    """``path`` relative to the project root ("../.." steps when it lies outside), posix style.

    Everything the report passes to notebooks or writes names paths this way, so no absolute
    path of this machine ends up in a shared report; ``paths.resolve`` reads them back.
    """
    p = Path(path).resolve()
    inside = paths.project_relative(p)
    return inside if inside is not None else Path(os.path.relpath(p, paths.PROJECT_ROOT)).as_posix()


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


def parse_environments(manifest, environments) -> list[str] | None:
    """The chosen environment names (None = all); UsageError naming any that the manifest lacks."""
    names = split_list(environments)
    if not names:
        return None
    unknown = [n for n in names if n not in manifest.environments]
    if unknown:
        raise UsageError(f"unknown environment(s) {', '.join(unknown)}; the manifest has "
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
            raise UsageError(f"representatives: {item!r} is not category:metric (e.g. disk:mmap_latency)")
        if category not in catalogue.CATEGORIES:
            raise UsageError(f"representatives: unknown category {category!r}; "
                             f"choose from {', '.join(catalogue.CATEGORIES)}")
        metric, has_param, param = spec.partition("@")
        try:
            catalogue.get(metric.strip())
        except KeyError:
            raise UsageError(f"representatives: unknown metric id {metric.strip()!r} for {category}") from None
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
            raise UsageError(f"metrics: {exc}") from None
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
        normalise.write_tables(ctx.processed_dir, tables)
    return tables


def load_tables(ctx: Context, *, seed: int = 0, n_boot: int = 2000) -> dict:
    """The normalisation tables 02_overhead wrote, or freshly computed if absent or older than the tidy table."""
    from .ingest import TIDY
    from .normalise import TABLE_FILES

    tidy_time = (ctx.processed_dir / TIDY).stat().st_mtime
    paths_ = {k: ctx.processed_dir / v for k, v in TABLE_FILES.items()}
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
