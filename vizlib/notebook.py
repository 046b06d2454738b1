"""What the notebooks call to set up: folders, parameters, tables.

``setup`` is the notebooks' one setup cell: resolve paths, ingest when the tables are missing or
stale, validate the parameters, fail early with one clear error. ``normalise_tables`` /
``load_tables`` give the normalisation tables. The parameter parsers (``parse_environments``,
``parse_representatives``, ``parse_metric_list``) raise ``UsageError`` naming what is wrong.
Nothing heavy is imported at module level, so the report's validation path stays fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import catalogue, manifest as manifest_mod, paths
from .categories import DEFAULT_REPRESENTATIVES
from .errors import NormaliseError, UsageError
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


def parse_metric_list(text) -> list[tuple[str, str | None]]:
    """``"pagefault, mmap_latency@0.524288, ctx_switch@*"`` -> [(metric, param or None), ...].

    ``None`` as param means "the representative param"; ``metric@*`` means every param.
    UsageError naming unknown metric ids.
    """
    out, unknown = [], []
    for item in split_list(text):
        metric, _, param = item.partition("@")
        metric = metric.strip()
        try:
            catalogue.get(metric)
        except KeyError:
            unknown.append(metric)
        out.append((metric, param.strip() if "@" in item else None))
    if unknown:
        raise UsageError(f"metrics: unknown metric id(s) {', '.join(unknown)} (see vizlib.catalogue)")
    return out


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

    def select(self, df, column: str = "environment"):
        """The rows of ``df`` that belong to the chosen environments."""
        return df[df[column].isin(self.order)].reset_index(drop=True)


def setup(raw_dir="data/raw", processed_dir="", environments="", *, representatives="", metrics="",
          ingest="missing") -> Context:
    """The setup cell of every notebook: paths, manifest, ingest tables, validated parameters.

    ``ingest``: "always" (the ingest notebook), "missing" (ingest when the tables are absent or do
    not list the raw folder's current files) or "never". Fails early with one clear error:
    ``ManifestError`` for the raw folder, ``UsageError`` for an unknown environment or
    representative, ``NormaliseError`` when a virtual environment cannot be compared with its baseline
    (``missing_runs``), or a representative metric was measured nowhere.
    """
    from .ingest import ensure_tables, ingest as run_ingest
    from .tables import load_issues, load_runs, load_tidy

    raw, processed = resolve_dirs(raw_dir, processed_dir)
    man = manifest_mod.load(raw)
    chosen = parse_environments(man, environments)
    reps = parse_representatives(representatives)
    chosen_metrics = parse_metric_list(metrics) or None
    if ingest == "always":
        summary = run_ingest(raw, processed)
    else:
        summary = ensure_tables(processed, raw, refresh=ingest == "missing").ingested
    tidy, runs = load_tidy(processed), load_runs(processed)
    issues = load_issues(processed)
    ctx = Context(raw, processed, man, chosen, tidy, runs, issues, reps, chosen_metrics, summary)
    if ingest != "always":
        require_runs(ctx)
        measured = set(tidy["metric"])
        for category, (metric, param) in reps.items():  # a default that nobody measured falls back instead
            if metric not in measured and (metric, param) != DEFAULT_REPRESENTATIVES[category]:
                raise NormaliseError(f"representative of {category!r}, {metric!r}, was measured in no environment; "
                                     f"choose another with the representatives parameter")
    return ctx


def missing_runs(ctx: Context) -> list[str]:
    """One line per virtual environment that cannot be compared: it or its baseline has no ingested
    run, or the two have no lmbench item (metric and size) in common."""
    have = set(ctx.tidy["environment"])
    keys = None
    out = []
    for env in ctx.manifest.virtual():
        if env.name not in have:
            out.append(f"virtual environment {env.name!r} has no ingested run (baseline {env.baseline!r})")
        elif env.baseline not in have:
            out.append(f"baseline {env.baseline!r} of virtual environment {env.name!r} has no ingested run")
        else:
            if keys is None:  # (metric, param) pairs measured per environment, once
                combos = ctx.tidy.groupby(["environment", "metric", "param"], observed=True).size().index
                keys = {}
                for e, m, p in combos:
                    keys.setdefault(e, set()).add((m, p))
            if not keys.get(env.name, set()) & keys.get(env.baseline, set()):
                out.append(f"virtual environment {env.name!r} and its baseline {env.baseline!r} have no lmbench item "
                           "(metric and size) in common, so nothing can be compared: give them runs of the same "
                           "benchmarks (the tidy table, lmbench_tidy/, lists what each measured)")
    return out


def require_runs(ctx: Context) -> None:
    """NormaliseError (one line) when a virtual environment cannot be compared (``missing_runs``)."""
    problems = missing_runs(ctx)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NormaliseError(f"{problems[0]}{more}: check the raw folder, the manifest and the rejected files in "
                             "01_ingest")


def normalise_tables(ctx: Context, *, seed: int = 0, n_boot: int | None = None, statistic: str = "median",
                     write: bool = True) -> dict:
    """Every normalisation table (``normalise.normalise_all``, with ``ctx.representatives``),
    written to the processed folder."""
    from . import normalise, stats, tables

    result = normalise.normalise_all(ctx.tidy, ctx.runs, ctx.manifest, n_boot=n_boot or stats.N_REPLICATES,
                                     seed=seed, representatives=ctx.representatives, statistic=statistic)
    if write:
        tables.write_analysis(ctx.processed_dir, result)
    return result


def load_tables(ctx: Context, *, seed: int = 0, n_boot: int | None = None, statistic: str = "median") -> dict:
    """The normalisation tables 02_overhead wrote (if they are newer than the last ingest and made with
    ``statistic``), else freshly computed."""
    from .tables import ANALYSIS_FILES, PROVENANCE, load_analysis

    tidy_time = (ctx.processed_dir / PROVENANCE).stat().st_mtime  # ingest rewrites it every time
    files = [ctx.processed_dir / name for name in ANALYSIS_FILES.values()]
    if all(p.is_file() and p.stat().st_mtime >= tidy_time for p in files):
        tables = load_analysis(ctx.processed_dir)
        made_with = set(tables["overhead"]["statistic"]) if "statistic" in tables["overhead"] else set()
        if made_with <= {statistic}:
            return tables
    return normalise_tables(ctx, seed=seed, n_boot=n_boot, statistic=statistic)


def selected_virtual(ctx: Context) -> list[str]:
    """The virtual environments the ``environments`` parameter selects; UsageError when it selects
    none (only baselines, say): there is nothing to estimate then, and an empty table would look
    like a result."""
    shown = list(ctx.virtual)
    if not shown:
        chosen = ", ".join(ctx.environments or []) or "(none)"
        virtual = ", ".join(e.name for e in ctx.manifest.virtual()) or "(none)"
        raise UsageError(f"environments selects no virtual environment ({chosen}); the manifest's virtual "
                         f"environments are: {virtual}")
    return shown


CHART_LIMIT = 8  # virtual environments one chart shows; beyond it, dots and ticks stop being readable


def chart_environments(ctx: Context, scores) -> tuple[list[str], str]:
    """The virtual environments the charts draw, and a note when that is not all of them.

    All chosen ones when at most ``CHART_LIMIT`` or when the ``environments`` parameter named them;
    otherwise the ``CHART_LIMIT`` with the largest ``scores`` (a mapping environment -> number,
    e.g. the expected relative time; a missing or NaN score ranks last), in display order. The
    tables keep every environment; the note says which charts leave out what.
    """
    shown = list(ctx.virtual)
    if len(shown) <= CHART_LIMIT or ctx.environments:
        return shown, ""
    def key(name):
        v = scores.get(name) if hasattr(scores, "get") else None
        return -(float(v) if v is not None and v == v else float("-inf"))
    top = set(sorted(shown, key=key)[:CHART_LIMIT])
    chosen = [n for n in shown if n in top]
    return chosen, (f"The charts show the {CHART_LIMIT} of {len(shown)} virtual environments with the largest "
                    f"values ({', '.join(chosen)}); the tables list all of them. Name the ones to draw with the "
                    "environments parameter.")


def read_text(path) -> str:
    """The text of ``path`` (relative to the project root), or "" for an empty path."""
    if not path:
        return ""
    return paths.resolve(path).read_text(encoding="utf-8", errors="replace")
