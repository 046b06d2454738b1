"""Charts of the suite, in seaborn's style: tidy DataFrames in, ``ax=`` in, Axes or Figure out.

No function here reads a file, calls ``plt.show()`` or changes global matplotlib state; the
notebooks pass in the tables ``vizlib.normalise`` and ``vizlib.references`` build. Column names
are keyword-only arguments with the suite's defaults.

Axes-level functions (draw into ``ax``, return it):

- ``item_plot``: absolute values of one lmbench item per environment, every run a point and the
  median a bar, each baseline beside its virtual environments;
- ``slowdown_plot``: direction-aware slowdown of many metrics for every virtual environment,
  a dot plot grouped by category, intervals as error bars, noisy metrics hollow;
- ``category_plot``: the representative slowdown of each OS-operation category;
- ``literature_plot``: Barham et al. 2003's ratios beside measured slowdowns of the same technology;
- ``estimate_plot``: expected relative run time per environment with its interval;
- ``sensitivity_plot``: relative run time as one category's share goes from 0 to 100 %.

Figure-level wrappers: ``source_figures`` (the source article's four items, one figure each),
``literature_figure`` (one panel per paper system) and ``estimate_figure`` (estimate and
sensitivity side by side). ``EstimateArtists`` and ``SensitivityArtists`` keep their handles so the
live explorer can move bars and lines in place instead of redrawing.

Environments: every function takes ``environments`` (names, None = all) and, where it helps,
``manifest`` (``vizlib.manifest.Manifest``) for the order "baseline, then its virtual
environments, then the next baseline group" and for stable colours: baselines grey, virtual
environments from the colour-blind palette in manifest order.

Which metrics the all-metrics plot shows: by default one param per metric, the catalogue's rule
(``catalogue.representative_param``). Callers pick others with ``metrics``.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

from . import catalogue
from .manifest import display_order
from .references import LITERATURE_LABEL

BASELINE_GREYS = ("#3b3b3b", "#7a7a7a", "#a6a6a6", "#5c5c5c", "#909090")
LITERATURE_COLOR = "#000000"
LOG_SPAN = 8.0  # use a log scale once max/min of what is drawn exceeds this
# Font sizes in points. Figures are at most ~9 in wide at matplotlib's 100 dpi, so a chart scaled
# down to a 700 px output area (JupyterLab at 1100 px with the file browser open) still shows
# tick labels of at least 10 px.
TICK_PT = 10.0
SMALL_PT = 9.0


# --- environments, order and colours ----------------------------------------------------------

def environment_palette(manifest=None, names=None) -> dict:
    """name -> colour: baselines in greys, virtual environments from seaborn's colour-blind palette.

    Colours follow manifest order, so an environment keeps its colour whichever subset is shown.
    Without a manifest, ``names`` are all coloured from the palette in the order given.
    """
    colors = [c for i, c in enumerate(sns.color_palette("colorblind", 10)) if i != 7]  # 7 is grey
    if manifest is None:
        return {n: colors[i % len(colors)] for i, n in enumerate(names or [])}
    pal = {}
    for i, env in enumerate(manifest.physical()):
        pal[env.name] = BASELINE_GREYS[i % len(BASELINE_GREYS)]
    for i, env in enumerate(manifest.virtual()):
        pal[env.name] = colors[i % len(colors)]
    return pal


def _virtual_order(data, manifest, environments, env_col="environment"):
    present = list(dict.fromkeys(data[env_col]))
    if manifest is not None:
        order = [n for n in display_order(manifest, environments) if manifest.environments[n].is_virtual]
        return [n for n in order if n in present]
    return [n for n in present if environments is None or n in set(environments)]


# --- metric selection ---------------------------------------------------------------------------

def select_metrics(overhead: pd.DataFrame, metrics=None, *, metric="metric", param="param") -> pd.DataFrame:
    """Rows of ``overhead`` for the chosen metrics.

    ``metrics``: None = every metric at its representative param (``catalogue.representative_param``);
    otherwise (metric, param) pairs, param None for the representative one and "*" for every param
    (``vizlib.notebook.parse_metric_list`` reads them from the notebook parameter).
    """
    df = overhead.copy()
    df[param] = df[param].fillna("").astype(str)
    wanted = list(metrics) if metrics else [(m, None) for m in dict.fromkeys(df[metric])]
    keep = np.zeros(len(df), dtype=bool)
    for m, p in wanted:
        rows = (df[metric] == m).to_numpy()
        if not rows.any():
            continue
        if p == "*":
            keep |= rows
        else:
            chosen = catalogue.representative_param(m, df.loc[rows, param]) if p is None else p
            keep |= rows & (df[param] == chosen).to_numpy()
    return df[keep]


# --- shared drawing helpers -------------------------------------------------------------------

def log_axis(axis, lo: float, hi: float) -> None:
    """Ticks a reader can use on a log axis spanning ``lo``..``hi``: 1-1.5-2-3-5-7 within about a
    decade, 1-2-5 up to 2.5 decades, powers of ten (unlabelled minor ticks between) beyond, and
    labels as plain numbers (0.5, 20, 1,000), never 10^1."""
    decades = math.log10(hi / lo) if 0 < lo < hi else 1.0
    subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if decades <= 1.2 else (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=60))
    axis.set_major_formatter(FuncFormatter(_tick_text))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10)), numticks=60) if subs == (1.0,)
                           else NullLocator())
    axis.set_minor_formatter(NullFormatter())


def _tick_text(v, _pos=None) -> str:
    return f"{v:,.0f}" if v >= 1000 else f"{v:g}"


def _want_log(values) -> bool:
    """The suite's one log-scale rule: switch once what is drawn spans more than ``LOG_SPAN`` x."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    return v.size > 1 and v.max() / v.min() > LOG_SPAN


def _palette(names, palette=None) -> dict:
    """``palette`` (a name -> colour mapping, e.g. ``environment_palette(manifest)``) for ``names``,
    else colours from ``environment_palette`` in the order given."""
    if palette is None:
        return environment_palette(None, names)
    return {n: palette.get(n, "#4c72b0") for n in names}


def _direction_text(direction: str) -> str:
    return "higher is better" if direction == catalogue.HIGHER else "lower is better"


def _row_label(metric_id: str, param: str) -> str:
    try:
        label = catalogue.get(metric_id).label
    except KeyError:
        label = metric_id
    return f"{label} [{catalogue.param_text(metric_id, param)}]" if param else label


def _fmt_value(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _col(df, name):
    return df[name].to_numpy(float) if name in df else None


def _flags(df, name):
    """A boolean column as a numpy array (missing column or NA -> False)."""
    if name not in df:
        return np.zeros(len(df), bool)
    return df[name].astype("boolean").fillna(False).to_numpy(bool)


def _errbars(ax, pos, val, lo, hi, noisy, *, color, horizontal, marker="o", size=6.0, zorder=3, gid=None):
    """Points with intervals, one errorbar call per fill style (filled; hollow = noisy).

    ``pos`` is the categorical position, ``val`` the value; ``lo``/``hi`` the interval (NaN = none).
    Returns the number of points drawn. ``gid`` tags the marker lines (tests count points by it).
    """
    pos, val = np.asarray(pos, float), np.asarray(val, float)
    lo = np.asarray(lo, float) if lo is not None else np.full(len(val), np.nan)
    hi = np.asarray(hi, float) if hi is not None else np.full(len(val), np.nan)
    noisy = np.asarray(noisy, bool) if noisy is not None else np.zeros(len(val), bool)
    for hollow in (False, True):
        m = (noisy == hollow) & np.isfinite(val)
        if not m.any():
            continue
        has = np.isfinite(lo[m]) & np.isfinite(hi[m])
        err = np.vstack([np.where(has, np.maximum(val[m] - lo[m], 0), 0.0),
                         np.where(has, np.maximum(hi[m] - val[m], 0), 0.0)])
        xs, ys = (val[m], pos[m]) if horizontal else (pos[m], val[m])
        container = ax.errorbar(xs, ys, xerr=err if horizontal else None, yerr=None if horizontal else err, fmt=marker,
                                color=color, ecolor=color, elinewidth=1.2, capsize=2.5, markersize=size, zorder=zorder,
                                markeredgecolor=color, markerfacecolor="white" if hollow else color,
                                markeredgewidth=1.4)
        container.lines[0].set_gid(gid)
    return int(np.isfinite(val).sum())


def _noisy_handle():
    return Line2D([], [], marker="o", linestyle="", markerfacecolor="white", markeredgecolor="0.3",
                  markeredgewidth=1.4, color="0.3", label="noisy (run-to-run spread above 10%): hollow")


def _ensure_ax(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.tick_params(labelsize=TICK_PT)
    return ax


def _legend(ax, handles) -> None:
    """A legend that takes no plot width: below the figure when the chart owns its figure (one
    Axes, constrained layout), else at the Axes' upper right outside."""
    fig = ax.figure
    if len(fig.axes) == 1 and fig.get_layout_engine() is not None:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), fontsize=SMALL_PT,
                   frameon=False)
    else:
        ax.legend(handles=handles, fontsize=SMALL_PT, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))


def _finish_log(ax, which: str) -> None:
    """Readable ticks on a log axis once its limits are final (``which``: "x" or "y")."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    log_axis(axis, *sorted((ax.get_xlim() if which == "x" else ax.get_ylim())))


# --- the source's four items -------------------------------------------------------------------

@dataclass(frozen=True)
class SourceItem:
    operation: str  # the OS operation it stands for
    metric: str
    param: str | None  # None: the representative param (the largest size for mmap)
    program: str


SOURCE_ITEMS = (
    SourceItem("CPU", "int_bit", None, "lat_ops"),
    SourceItem("memory", "pagefault", None, "lat_pagefault"),
    SourceItem("disk I/O", "mmap_latency", None, "lat_mmap, largest size"),
    SourceItem("network I/O", "tcp_latency", "", "lat_tcp, localhost"),
)


def item_values(tidy: pd.DataFrame, *, metric: str, param: str | None = None, environments=None,
                metric_col="metric", param_col="param", env_col="environment") -> tuple[pd.DataFrame, str]:
    """The rows of one item and the param used.

    ``param=None`` picks the representative param; for a size series that is the largest size
    present in every run of every shown environment (the rule ``categories.group_params`` applies
    to the tables and the model), else the one most runs hold.
    """
    rows = tidy[tidy[metric_col] == metric].copy()
    rows[param_col] = rows[param_col].fillna("").astype(str)
    if environments is not None:
        rows = rows[rows[env_col].isin(list(environments))]
    if rows.empty:
        return rows, "" if param is None else param
    if param is None:
        params = list(dict.fromkeys(rows[param_col]))
        if "" in params or len(params) == 1:
            param = catalogue.representative_param(metric, params)
        else:
            runs = tidy[tidy[env_col].isin(set(rows[env_col]))].groupby(env_col, observed=True)["run"].nunique()
            held = rows.groupby([param_col, env_col], observed=True)["run"].nunique().unstack(env_col)
            held = held.reindex(columns=runs.index).fillna(0)
            share = (held / runs).min(axis=1)  # the worst environment's share of runs holding the size
            best = [p for p, v in share.items() if v == share.max()]
            param = catalogue.representative_param(metric, best)
    return rows[rows[param_col] == param], param


def item_plot(tidy: pd.DataFrame, *, metric: str, param: str | None = None, manifest=None, environments=None,
              x: str = "environment", y: str = "value", run: str = "run", log: bool | None = None,
              title: str | None = None, ax: Axes | None = None) -> Axes:
    """Absolute values of one lmbench item per environment: every run a point, the median a bar.

    Environments are ordered baseline first, then its virtual environments (``manifest.display_order``);
    an environment with no value for the item is labelled "no data". The y axis carries the
    catalogue unit, the title says which direction is better. ``log=None`` switches to a log
    axis when values span more than ``LOG_SPAN``.
    """
    meta = catalogue.get(metric)
    order = display_order(manifest, environments, present=list(dict.fromkeys(tidy[x])))
    rows, used = item_values(tidy, metric=metric, param=param, environments=order, env_col=x)
    ax = _ensure_ax(ax, (max(4.5, 1.0 * len(order) + 2.0), 3.8))
    pal = environment_palette(manifest, order)
    positions = {name: i for i, name in enumerate(order)}
    if not rows.empty:
        sns.stripplot(data=rows, x=x, y=y, hue=x, order=order, hue_order=order, palette=pal, jitter=0.12, size=6,
                      edgecolor="white", linewidth=0.6, legend=False, ax=ax, zorder=3)
    medians = rows.groupby(x)[y].median() if not rows.empty else pd.Series(dtype=float)
    for name, i in positions.items():
        if name in medians.index:
            med = medians[name]
            ax.hlines(med, i - 0.32, i + 0.32, color=pal.get(name, "0.2"), linewidth=2.6, zorder=2)
            ax.annotate(_fmt_value(med), (i + 0.34, med), xytext=(2, 0), textcoords="offset points", va="center",
                        fontsize=SMALL_PT, color="0.25")
        else:
            ax.text(i, 0.5, "no data", transform=ax.get_xaxis_transform(), ha="center", va="center",
                    fontsize=9, color="0.4", style="italic")
    # separators between baseline groups
    if manifest is not None:
        for i in range(1, len(order)):
            if not manifest.environments[order[i]].is_virtual:
                ax.axvline(i - 0.5, color="0.75", linewidth=1, linestyle=":")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([_env_tick(name, manifest) for name in order], rotation=30 if len(order) > 6 else 0,
                       ha="right" if len(order) > 6 else "center")
    ax.set_xlim(-0.6, len(order) - 0.4)
    values = rows[y].to_numpy(dtype=float) if not rows.empty else np.array([])
    use_log = _want_log(values) if log is None else log
    if use_log:
        ax.set_yscale("log")
        _finish_log(ax, "y")
    elif values.size:
        ax.set_ylim(0, values.max() * 1.15 if values.max() > 0 else 1)
    size = f" at {catalogue.param_text(metric, used)}" if used else ""
    ax.set_ylabel(f"{meta.label} ({meta.unit})" + (", log scale" if use_log else ""))
    ax.set_xlabel("")
    ax.set_title(title or f"{meta.label}{size}: {_direction_text(meta.direction)}")
    sns.despine(ax=ax)
    return ax


def _env_tick(name, manifest):
    if manifest is None or name not in manifest.environments:
        return name
    env = manifest.environments[name]
    if not env.is_virtual:
        return f"{name}\n(baseline)"
    return name if env.technology == name else f"{name}\n{env.technology}"


def unmeasured_items(tidy: pd.DataFrame, items=SOURCE_ITEMS) -> list[SourceItem]:
    """The items no environment measured (a partial run): they get no figure."""
    measured = set(tidy["metric"].astype(str))
    return [item for item in items if item.metric not in measured]


def source_figures(tidy: pd.DataFrame, *, manifest=None, environments=None, items=SOURCE_ITEMS) -> list[Figure]:
    """The source article's four comparisons, one figure per item (CPU, memory, disk I/O, network I/O)
    that some environment measured (``unmeasured_items`` names the others)."""
    figs = []
    skip = {item.metric for item in unmeasured_items(tidy, items)}
    for item in items:
        if item.metric in skip:
            continue
        meta = catalogue.get(item.metric)
        n = len(display_order(manifest, environments, present=list(dict.fromkeys(tidy["environment"]))))
        fig, ax = plt.subplots(figsize=(max(4.5, 1.0 * n + 2.0), 3.8), layout="constrained")
        item_plot(tidy, metric=item.metric, param=item.param, manifest=manifest, environments=environments, ax=ax)
        fig.suptitle(f"{item.operation}: {meta.label.lower()} ({item.program})", fontsize=11, fontweight="bold")
        figs.append(fig)
    return figs


# --- slowdown of every metric --------------------------------------------------------------------

def _slowdown_data(overhead, metrics, environments, manifest, x, env_col):
    """The rows the slowdown charts draw: chosen metrics with a slowdown, virtual environments in order."""
    data = select_metrics(overhead, metrics)
    data = data[np.isfinite(data[x].to_numpy(dtype=float))]
    envs = _virtual_order(data, manifest, environments, env_col)
    data = data[data[env_col].isin(envs)]
    cat_rank = {c: i for i, c in enumerate(catalogue.CATEGORIES)}
    rows = (data[["category", "metric", "param"]].drop_duplicates()
            .assign(_rank=lambda d: d["category"].map(cat_rank).fillna(99),
                    _label=lambda d: [_row_label(m, p) for m, p in zip(d["metric"], d["param"])])
            .sort_values(["_rank", "_label"]).reset_index(drop=True))
    return data, envs, rows


def _slowdown_axes(ax, data, envs, rows, pal, *, x, low, high, noisy, env_col, bands: bool) -> None:
    """Draw the dot rows of ``rows`` (already chosen) into ``ax``; ``bands`` shades and names categories."""
    ypos = {(r.metric, r.param): i for i, r in rows.iterrows()}
    in_rows = np.array([(m, p) in ypos for m, p in zip(data["metric"], data["param"])], bool)
    width = 0.7
    step = width / max(1, len(envs))
    for k, env in enumerate(envs):
        offset = -width / 2 + step * (k + 0.5)
        sub = data[(data[env_col].to_numpy() == env) & in_rows]
        yy = np.array([ypos[(m, p)] for m, p in zip(sub["metric"], sub["param"])], float) + offset
        _errbars(ax, yy, sub[x], _col(sub, low), _col(sub, high), _flags(sub, noisy), color=pal[env],
                 horizontal=True, size=5, gid=f"slowdown:{env}")
    if bands:
        for i, (cat, grp) in enumerate(rows.groupby("_rank", sort=True)):
            lo, hi = grp.index.min() - 0.5, grp.index.max() + 0.5
            if i % 2 == 0:
                ax.axhspan(lo, hi, color="0.94", zorder=0)
            ax.text(1.005, (lo + hi) / 2, grp["category"].iloc[0], transform=ax.get_yaxis_transform(),
                    rotation=-90, va="center", ha="left", fontsize=SMALL_PT, fontweight="bold", color="0.3")
    ax.axvline(1.0, color="0.2", linestyle="--", linewidth=1, zorder=1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows["_label"], fontsize=TICK_PT)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3, which="major")


def _slowdown_handles(envs, data, pal, env_col):
    handles = [Line2D([], [], marker="o", linestyle="", color=pal[e], label=_env_legend(e, data, env_col)) for e in envs]
    return handles + [_noisy_handle(), Line2D([], [], color="0.2", linestyle="--", label="1 = as fast as the baseline")]


def _slowdown_log(data, x, low, high, log):
    vals = np.concatenate([data[c].to_numpy(dtype=float) for c in (x, low, high) if c in data] + [np.array([1.0])])
    return _want_log(vals) if log is None else log


SLOWDOWN_XLABEL = "slowdown vs baseline (×; > 1 = virtual slower, direction-aware)"


def slowdown_plot(overhead: pd.DataFrame, *, metrics=None, environments=None, manifest=None,
                  x: str = "slowdown", low: str = "ci_low", high: str = "ci_high", noisy: str = "noisy",
                  env_col: str = "environment", log: bool | None = None, ax: Axes | None = None) -> Axes:
    """Direction-aware slowdown of many metrics for every virtual environment, in one Axes.

    One row per (metric, param), grouped by OS-operation category (shaded bands); one dot per
    environment, dodged within the row, with its interval as an error bar. Hollow dots are noisy
    metrics. The dashed line at 1 is "as fast as the baseline"; right of it the virtual
    environment is slower. ``metrics`` as in ``select_metrics`` (None = one representative param
    per metric). For many rows, ``slowdown_figure`` (one facet per category) reads better.
    """
    data, envs, rows = _slowdown_data(overhead, metrics, environments, manifest, x, env_col)
    ax = _ensure_ax(ax, (8.5, max(2.5, 0.26 * len(rows) * max(1, len(envs) / 3) ** 0.5 + 1.6)))
    pal = environment_palette(manifest, envs)
    if rows.empty or not envs:
        ax.text(0.5, 0.5, "no slowdown to show for this selection", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    _slowdown_axes(ax, data, envs, rows, pal, x=x, low=low, high=high, noisy=noisy, env_col=env_col, bands=True)
    use_log = _slowdown_log(data, x, low, high, log)
    if use_log:
        ax.set_xscale("log")
        _finish_log(ax, "x")
    ax.set_xlabel(SLOWDOWN_XLABEL + (", log scale" if use_log else ""))
    ax.legend(handles=_slowdown_handles(envs, data, pal, env_col), loc="upper left", bbox_to_anchor=(1.05, 1),
              fontsize=SMALL_PT, frameon=False)
    ax.set_title("Slowdown of each metric vs its baseline (bars: interval)")
    return ax


def slowdown_figure(overhead: pd.DataFrame, *, metrics=None, environments=None, manifest=None,
                    x: str = "slowdown", low: str = "ci_low", high: str = "ci_high", noisy: str = "noisy",
                    env_col: str = "environment", log: bool | None = None, width: float = 8.5) -> Figure:
    """``slowdown_plot`` as one facet per OS-operation category, stacked, sharing one x scale.

    Every facet carries its own scale labels, so no row is far from a readable axis, and the
    legend sits above the facets instead of taking width at the side.
    """
    data, envs, rows = _slowdown_data(overhead, metrics, environments, manifest, x, env_col)
    pal = environment_palette(manifest, envs)
    if rows.empty or not envs:
        fig, ax = plt.subplots(figsize=(width, 2.0), layout="constrained")
        ax.text(0.5, 0.5, "no slowdown to show for this selection", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    dodge = max(1.0, len(envs) / 3) ** 0.5
    groups = [(cat, grp.reset_index(drop=True)) for _, grp in rows.groupby("_rank", sort=True)
              for cat in [grp["category"].iloc[0]]]
    heights = [0.24 * len(g) * dodge + 0.75 for _, g in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(width, sum(heights) + 1.0), sharex=True, squeeze=False,
                             layout="constrained", gridspec_kw={"height_ratios": heights})
    use_log = _slowdown_log(data, x, low, high, log)
    for ax, (cat, grp) in zip(axes[:, 0], groups):
        ax.tick_params(labelsize=TICK_PT, labelbottom=True)
        _slowdown_axes(ax, data, envs, grp, pal, x=x, low=low, high=high, noisy=noisy, env_col=env_col, bands=False)
        ax.set_title(cat, loc="left", fontsize=TICK_PT + 1, fontweight="bold")
        if use_log:
            ax.set_xscale("log")
    if use_log:
        _finish_log(axes[-1, 0], "x")  # shared: one locator serves every facet
    axes[-1, 0].set_xlabel(SLOWDOWN_XLABEL + (", log scale" if use_log else ""))
    # the legend heads the figure (a suptitle would compete with it for the same place)
    fig.legend(handles=_slowdown_handles(envs, data, pal, env_col), loc="outside upper center",
               ncol=min(3, len(envs) + 2), fontsize=SMALL_PT, frameon=False,
               title="Slowdown of each metric vs its baseline, by category (bars: interval)",
               title_fontproperties={"size": TICK_PT + 1, "weight": "bold"})
    return fig


def _env_legend(env, data, env_col):
    base = data.loc[data[env_col] == env, "baseline"] if "baseline" in data else pd.Series(dtype=str)
    return f"{env} vs {base.iloc[0]}" if len(base) else env


# --- category summary --------------------------------------------------------------------------

def category_plot(summary: pd.DataFrame, *, environments=None, manifest=None, view: str | None = None,
                  x: str = "category", y: str = "slowdown", low: str = "ci_low", high: str = "ci_high",
                  noisy: str = "noisy", env_col: str = "environment", log: bool | None = None,
                  ax: Axes | None = None) -> Axes:
    """Representative slowdown per OS-operation category and environment, with intervals.

    ``summary`` is ``normalise.category_summary`` output; ``view`` picks one of its views
    (None = the first present). The metric standing for each category is written under its name.
    """
    data = summary.copy()
    if view is not None and "view" in data:
        data = data[data["view"] == view]
    elif "view" in data and data["view"].nunique() > 1:
        data = data[data["view"] == data["view"].iloc[0]]
    data = data[np.isfinite(data[y].to_numpy(dtype=float))]
    envs = _virtual_order(data, manifest, environments, env_col)
    data = data[data[env_col].isin(envs)]
    cats = [c for c in catalogue.CATEGORIES if c in set(data[x])] + sorted(set(data[x]) - set(catalogue.CATEGORIES))
    ax = _ensure_ax(ax, (min(9.0, 1.3 * len(cats) + 2.5), 4.6))
    if data.empty:
        ax.text(0.5, 0.5, "no category summary for this selection", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    pal = environment_palette(manifest, envs)
    width = 0.7
    step = width / max(1, len(envs))
    for k, env in enumerate(envs):
        off = -width / 2 + step * (k + 0.5)
        sub = data[data[env_col] == env]
        xs = np.array([cats.index(c) for c in sub[x]], float) + off
        _errbars(ax, xs, sub[y], _col(sub, low), _col(sub, high), _flags(sub, noisy), color=pal[env],
                 horizontal=False, size=7, gid=f"category:{env}")
        for xx, yy in zip(xs, sub[y].to_numpy(float)):
            ax.annotate(f"{yy:.3g}", (xx, yy), xytext=(5, 0), textcoords="offset points", va="center", fontsize=SMALL_PT,
                        color="0.3")
    ticks = []
    for c in cats:
        sub = data[data[x] == c]
        names = sorted({_row_label(m, p) for m, p in zip(sub.get("metric", []), sub.get("param", ""))})
        ticks.append(f"{c}\n" + "\n".join(textwrap.fill(n, 16) for n in names) if names else c)
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels(ticks, fontsize=TICK_PT)
    ax.set_xlim(-0.6, len(cats) - 0.4)
    ax.axhline(1.0, color="0.2", linestyle="--", linewidth=1, zorder=1)
    vals = np.concatenate([data[c].to_numpy(dtype=float) for c in (y, low, high) if c in data] + [np.array([1.0])])
    use_log = _want_log(vals) if log is None else log
    if use_log:
        ax.set_yscale("log")
        _finish_log(ax, "y")
    ax.set_ylabel("slowdown vs baseline (\u00d7; > 1 = slower)" + (", log scale" if use_log else ""))
    handles = [Line2D([], [], marker="o", linestyle="", color=pal[e], label=_env_legend(e, data, env_col)) for e in envs]
    handles.append(_noisy_handle())
    _legend(ax, handles)
    ax.set_title("Representative slowdown per OS-operation category")
    sns.despine(ax=ax)
    return ax


# --- literature vs measured ----------------------------------------------------------------------

def literature_plot(comparison: pd.DataFrame, *, system: str, environments=None, manifest=None,
                    x: str = "slowdown", low: str = "ci_low", high: str = "ci_high", log: bool | None = None,
                    ax: Axes | None = None) -> Axes:
    """One paper system's published ratios (black diamonds) beside measured slowdowns (dots).

    ``comparison`` is ``vizlib.references.literature_comparison`` output. Rows are the paper's
    items in its order; items with no suite metric say so. Measured environments are those whose
    technology the paper system stands for; if there are none the panel says it.
    """
    data = comparison[comparison["system"] == system].copy()
    lit = data[data["source"] == "literature"].sort_values("row")
    meas = data[data["source"] == "measured"]
    if environments is not None:
        meas = meas[meas["environment"].isin(list(environments))]
    envs = [e for e in (display_order(manifest, None) if manifest is not None else []) if e in set(meas["environment"])]
    envs += [e for e in dict.fromkeys(meas["environment"]) if e not in envs]
    rows = lit["row"].tolist()
    ypos = {r: i for i, r in enumerate(rows)}
    ax = _ensure_ax(ax, (6.5, 0.3 * len(rows) + 1.8))
    name = lit["system_name"].iloc[0] if len(lit) else system
    tech = lit["technology"].iloc[0] if len(lit) else None
    pal = environment_palette(manifest, envs)
    n_series = 1 + len(envs)
    step = 0.6 / n_series
    lit_label = f"{LITERATURE_LABEL}: {system} / linux_up"
    for matched in (True, False):
        sub = lit[lit["matched"].astype(bool) == matched]
        if len(sub):
            ax.plot(sub[x].to_numpy(float), [ypos[r] - 0.3 + step * 0.5 for r in sub["row"]], marker="D", linestyle="",
                    color=LITERATURE_COLOR, markerfacecolor=LITERATURE_COLOR if matched else "white", markersize=6,
                    zorder=4, gid="literature")
    for k, env in enumerate(envs, start=1):
        sub = meas[meas["environment"] == env]
        yy = np.array([ypos[r] for r in sub["row"]], float) - 0.3 + step * (k + 0.5)
        _errbars(ax, yy, sub[x], _col(sub, low), _col(sub, high), _flags(sub, "noisy"), color=pal[env],
                 horizontal=True, size=5, gid=f"measured:{env}")
    labels = []
    all_meas = comparison[comparison["source"] == "measured"]
    for r in lit.itertuples(index=False):
        lab = r.paper_label + ("  (no suite metric)" if not r.matched else "")
        mp = all_meas.loc[(all_meas["row"] == r.row) & (all_meas["measured_param"] != ""), "measured_param"]
        if not r.param and len(mp):
            lab += f"  (measured at {catalogue.param_text(r.metric, mp.iloc[0])})"
        labels.append(lab)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=TICK_PT)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axvline(1.0, color="0.2", linestyle="--", linewidth=1, zorder=1)
    vals = np.concatenate([lit[x].to_numpy(dtype=float)] + [meas[c].to_numpy(dtype=float) for c in (x, low, high)]
                          + [np.array([1.0])])
    use_log = _want_log(vals) if log is None else log
    if use_log:
        ax.set_xscale("log")
        _finish_log(ax, "x")
    ax.set_xlabel("slowdown vs native (\u00d7; > 1 = slower)" + (", log scale" if use_log else ""))
    handles = [Line2D([], [], marker="D", linestyle="", color=LITERATURE_COLOR, label=lit_label)]
    handles += [Line2D([], [], marker="o", linestyle="", color=pal[e], label=f"{_env_legend(e, meas, 'environment')} (measured)")
                for e in envs]
    if not envs:
        ax.text(0.98, 0.02, f"no measured environment of technology {tech or system!r}", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=SMALL_PT, style="italic", color="0.35")
    if (~lit["matched"].astype(bool)).any():
        handles.append(Line2D([], [], marker="D", linestyle="", color=LITERATURE_COLOR, markerfacecolor="white",
                              label="literature only: no matching suite metric"))
    if len(meas) and meas["noisy"].astype("boolean").fillna(False).any():
        handles.append(_noisy_handle())
    ax.legend(handles=handles, fontsize=SMALL_PT, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.12), ncol=1)
    ax.set_title(f"{name}\nvs native Linux" + (f"; measured: technology {tech}" if tech else ""), fontsize=10)
    return ax


def literature_figure(comparison: pd.DataFrame, *, systems=None, environments=None, manifest=None) -> Figure:
    """One ``literature_plot`` panel per paper system, stacked (each at a readable width)."""
    systems = list(systems or dict.fromkeys(comparison["system"]))
    n_rows = comparison.loc[comparison["source"] == "literature", "row"].nunique()
    fig, axes = plt.subplots(len(systems), 1, figsize=(8.5, (0.3 * n_rows + 2.8) * len(systems)), squeeze=False,
                             layout="constrained")
    for ax, system in zip(axes[:, 0], systems):
        literature_plot(comparison, system=system, environments=environments, manifest=manifest, ax=ax)
    fig.suptitle(f"Published ratios, {LITERATURE_LABEL}, beside measured slowdowns", fontsize=11, fontweight="bold")
    return fig


# --- the overhead estimate --------------------------------------------------------------------------------------
#
# Each chart is drawn by a small artist class that keeps its handles, so the live explorer can
# move bars, intervals, labels and lines in place (no new ticks, no new axes) when only numbers
# change; ``update`` returns False when the structure changed (other environments, a scale
# switching between linear and log) and the caller redraws from scratch.


def _finite_positive(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]


class EstimateArtists:
    def __init__(self, ax: Axes, df: pd.DataFrame, measured, palette):
        self.ax = ax
        self.names = list(df["environment"])
        pal = _palette(self.names, palette)
        rel, lo, hi = (df[c].to_numpy(float) for c in ("relative_time", "ci_low", "ci_high"))
        self.ok = np.isfinite(rel)
        self.iv = self.ok & np.isfinite(lo) & np.isfinite(hi)
        self.has_measured = bool(measured)
        self.log = self._want_log(rel, lo, hi, measured)
        y = np.arange(len(self.names))
        if self.log:
            ax.set_xscale("log")
        # bars start at 1 (the baseline) and end at the estimate: their length is the overhead
        self.bars = ax.barh(y, np.where(self.ok, rel - 1.0, 0), left=1.0, color=[pal[n] for n in self.names],
                            height=0.55, zorder=2)
        self.ci = ax.hlines(y[self.iv], lo[self.iv], hi[self.iv], color="black", linewidth=1.2, zorder=3)
        self.caps = ax.plot(np.r_[lo[self.iv], hi[self.iv]], np.r_[y[self.iv], y[self.iv]], linestyle="none",
                            marker="|", markersize=9, color="black", zorder=3)[0]
        ax.axvline(1.0, color="0.3", linestyle="--", linewidth=1, zorder=1)
        self.measured_line = None
        if self.has_measured:
            self.measured_line = ax.axvline(measured, color="#d62728", linewidth=1.5, zorder=4,
                                            label=f"measured {measured:.2f}\u00d7")
            ax.legend(loc="lower right", fontsize=SMALL_PT, frameon=False)
        self.labels = [ax.annotate("", (1.0, yi), xytext=(6, 0), textcoords="offset points", va="center",
                                   fontsize=SMALL_PT, zorder=5) for yi in y]
        ax.set_yticks(y, self.names)
        ax.set_ylim(max(len(self.names), 1) - 0.5, -0.5)
        ax.set_xlabel("expected relative run time (virtual / baseline)" + (", log scale" if self.log else ""))
        ax.set_title("Estimated run time vs baseline (95% interval)", fontsize=TICK_PT + 1)
        ax.tick_params(labelsize=TICK_PT)
        ax.grid(axis="x", alpha=0.3, zorder=0)
        ax.grid(axis="y", visible=False)
        self._set_numbers(rel, lo, hi, measured)

    @staticmethod
    def _want_log(rel, lo, hi, measured) -> bool:
        return _want_log(list(rel) + list(lo) + list(hi) + [1.0] + ([measured] if measured else []))

    def _set_numbers(self, rel, lo, hi, measured):
        for bar, r, k in zip(self.bars, rel, self.ok):
            bar.set_width(r - 1.0 if k else 0)
        y = np.arange(len(self.names))
        self.ci.set_segments([[(a, yi), (b, yi)] for a, b, yi in zip(lo[self.iv], hi[self.iv], y[self.iv])])
        self.caps.set_data(np.r_[lo[self.iv], hi[self.iv]], np.r_[y[self.iv], y[self.iv]])
        right = np.where(self.iv, np.fmax(rel, hi), rel)
        for lab, r, k, yi, x in zip(self.labels, rel, self.ok, y, right):
            lab.xy = (x if k else 1.0, yi)
            lab.set_text(f"{r:.2f}\u00d7" if k else "n/a (see note)")
        if self.measured_line is not None:
            self.measured_line.set_xdata([measured, measured])
            self.measured_line.set_label(f"measured {measured:.2f}\u00d7")
        vals = _finite_positive(list(rel[self.ok]) + list(lo[self.iv]) + list(hi[self.iv]) + [1.0]
                                + ([measured] if measured else []))
        lo_x, hi_x = min(vals), max(vals)
        if self.log:
            self.ax.set_xlim(lo_x / 1.5, hi_x * 4.0)
            log_axis(self.ax.xaxis, lo_x / 1.5, hi_x * 4.0)
        else:
            self.ax.set_xlim(min(0.0, lo_x), hi_x * 1.3)

    def update(self, df: pd.DataFrame, measured) -> bool:
        rel, lo, hi = (df[c].to_numpy(float) for c in ("relative_time", "ci_low", "ci_high"))
        ok = np.isfinite(rel)
        iv = ok & np.isfinite(lo) & np.isfinite(hi)
        if (list(df["environment"]) != self.names or not np.array_equal(ok, self.ok)
                or not np.array_equal(iv, self.iv) or bool(measured) != self.has_measured
                or self._want_log(rel, lo, hi, measured) != self.log):
            return False
        self._set_numbers(rel, lo, hi, measured)
        return True


class SensitivityArtists:
    def __init__(self, ax: Axes, df: pd.DataFrame, current_share, palette):
        self.ax = ax
        self.names = list(dict.fromkeys(df["environment"]))
        self.category = df["category"].iat[0] if len(df) else ""
        self.pal = _palette(self.names, palette)
        self.log = self._want_log(df)
        if self.log:
            ax.set_yscale("log")
        self.lines = {}
        self.bands = {}
        for name in self.names:
            self.lines[name] = ax.plot([], [], color=self.pal[name], label=name, linewidth=1.8)[0]
        ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1)
        self.share_line = ax.axvline(0 if current_share is None else current_share * 100, color="0.5", linewidth=1,
                                     linestyle=":", visible=current_share is not None)
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"share of {self.category} in run time (%), other shares rescaled")
        ax.set_ylabel("relative run time")
        ax.set_title(f"Sensitivity to the {self.category} share", fontsize=TICK_PT + 1)
        ax.tick_params(labelsize=TICK_PT)
        ax.grid(alpha=0.3)
        if self.names:
            ax.legend(fontsize=SMALL_PT, frameon=False)
        self._set_numbers(df, current_share)

    @staticmethod
    def _want_log(df) -> bool:
        return _want_log(list(df["relative_time"]) + [1.0])

    def _set_numbers(self, df, current_share):
        vals = [1.0]
        for name in self.names:
            g = df[df["environment"] == name]
            x = g["share"].to_numpy(float) * 100
            r = g["relative_time"].to_numpy(float)
            self.lines[name].set_data(x, r)
            old = self.bands.pop(name, None)
            if old is not None:
                old.remove()
            lo, hi = g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float)
            band = np.isfinite(lo) & np.isfinite(hi)
            if band.any():
                self.bands[name] = self.ax.fill_between(x[band], lo[band], hi[band], color=self.pal[name], alpha=0.2,
                                                        linewidth=0)
                vals += list(lo[band]) + list(hi[band])
            vals += list(r[np.isfinite(r)])
        if current_share is not None:
            self.share_line.set_xdata([current_share * 100] * 2)
        vals = _finite_positive(vals)
        lo_y, hi_y = min(vals), max(vals)
        if self.log:
            self.ax.set_ylim(lo_y / 1.3, hi_y * 1.3)
            log_axis(self.ax.yaxis, lo_y / 1.3, hi_y * 1.3)
        else:
            self.ax.set_ylim(min(0.0, lo_y), hi_y * 1.08)

    def update(self, df: pd.DataFrame, current_share) -> bool:
        names = list(dict.fromkeys(df["environment"]))
        cat = df["category"].iat[0] if len(df) else ""
        if names != self.names or cat != self.category or self._want_log(df) != self.log:
            return False
        self._set_numbers(df, current_share)
        return True


def estimate_plot(estimate_df: pd.DataFrame, *, environments=None, measured: float | None = None, palette=None,
                  ax: Axes | None = None) -> Axes:
    """Horizontal bars of ``relative_time`` per environment with the 95 % interval as error bars.

    A dashed line marks 1 (as fast as the baseline); ``measured`` (> 0) adds a line for a
    slowdown the user measured with the real application. Log scale when values span more than
    ``LOG_SPAN``x. Environments without an estimate are listed with "n/a".
    """
    if ax is None:
        ax = Figure(figsize=(6, 3)).subplots()
    df = estimate_df if environments is None else estimate_df[estimate_df["environment"].isin(list(environments))]
    EstimateArtists(ax, df, measured if measured and measured > 0 else None, palette)
    return ax


def sensitivity_plot(sens_df: pd.DataFrame, *, environments=None, current_share: float | None = None, palette=None,
                     ax: Axes | None = None) -> Axes:
    """Relative run time per environment as one category's share goes 0 -> 100 %, interval as a band."""
    if ax is None:
        ax = Figure(figsize=(6, 3)).subplots()
    df = sens_df if environments is None else sens_df[sens_df["environment"].isin(list(environments))]
    SensitivityArtists(ax, df, current_share, palette)
    return ax


def estimate_figure(estimate_df: pd.DataFrame, sens_df: pd.DataFrame | None = None, *, environments=None,
                    measured: float | None = None, current_share: float | None = None, palette=None,
                    figsize=(9, 3.4)) -> Figure:
    """Both charts side by side in a new pyplot figure (shown once by the inline backend; end the cell with ``;``)."""
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, 2 if sens_df is not None else 1, figsize=figsize, layout="constrained",
                                 squeeze=False)
        axes = axes[0]
        estimate_plot(estimate_df, environments=environments, measured=measured, palette=palette, ax=axes[0])
        if sens_df is not None:
            sensitivity_plot(sens_df, environments=environments, current_share=current_share, palette=palette,
                             ax=axes[1])
    return fig


# --- validation -------------------------------------------------------------------------------------

VALIDATION_MARKERS = {"share": "o", "count": "^"}


def validation_plot(table: pd.DataFrame, *, models=("share", "count"), environments=None, manifest=None,
                    within: float = 0.25, ax: Axes | None = None) -> Axes:
    """Estimate against measured slowdown, log-log: one colour per environment, one marker per model.

    The line is y = x (a perfect estimate) and the grey band ±``within``; bars are the intervals
    (horizontal: the measurement's, vertical: the estimate's; one whose lower end is <= 0 runs off
    the bottom). A point missing from a model (no estimate, or an impossible one <= 0) is not
    drawn; the table lists it.
    """
    envs = _virtual_order(table, manifest, environments, "environment")
    data = table[table["environment"].isin(envs)]
    ax = _ensure_ax(ax, (7.5, 6.2))
    pal = environment_palette(manifest, envs)
    vals = [1.0]
    for model in models:
        for env in envs:
            sub = data[data["environment"] == env]
            x, y = sub["measured_slowdown"].to_numpy(float), sub[f"{model}_estimate"].to_numpy(float)
            ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
            if not ok.any():
                continue
            xl, xh = sub["measured_ci_low"].to_numpy(float), sub["measured_ci_high"].to_numpy(float)
            yl, yh = sub[f"{model}_ci_low"].to_numpy(float), sub[f"{model}_ci_high"].to_numpy(float)
            xerr = np.vstack([np.where(np.isfinite(xl), np.maximum(x - xl, 0), 0), np.where(np.isfinite(xh), np.maximum(xh - x, 0), 0)])
            # an interval reaching 0 or below (count-based: the virtual side prices items below the
            # baseline) runs off the bottom of the log axis rather than looking tight
            yerr = np.vstack([np.where(np.isfinite(yl), np.where(yl > 0, np.maximum(y - yl, 0), y * (1 - 1e-6)), 0),
                              np.where(np.isfinite(yh), np.maximum(yh - y, 0), 0)])
            cont = ax.errorbar(x[ok], y[ok], xerr=xerr[:, ok], yerr=yerr[:, ok], fmt=VALIDATION_MARKERS[model],
                               color=pal[env], ecolor=pal[env], elinewidth=0.8, alpha=0.9, capsize=2, markersize=7,
                               markerfacecolor=pal[env] if model == "share" else "white", markeredgewidth=1.4)
            cont.lines[0].set_gid(f"validation:{model}:{env}")
            vals += list(x[ok]) + list(y[ok])
    lo, hi = min(vals) / 1.6, max(vals) * 1.6
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    grid = np.geomspace(lo, hi, 50)
    ax.plot(grid, grid, color="0.2", linewidth=1, zorder=1)
    ax.fill_between(grid, grid * (1 - within), grid * (1 + within), color="0.85", zorder=0, linewidth=0)
    _finish_log(ax, "x")
    _finish_log(ax, "y")
    ax.set_xlabel("measured slowdown (\u00d7, application wall time vs baseline), log scale")
    ax.set_ylabel("estimated slowdown (\u00d7), log scale")
    ax.set_title("Estimate against measurement (line: perfect; band: \u00b1%d%%)" % round(within * 100))
    handles = [Line2D([], [], marker="s", linestyle="", color=pal[e], label=e) for e in envs]
    handles += [Line2D([], [], marker=VALIDATION_MARKERS[m], linestyle="", color="0.3",
                       markerfacecolor="0.3" if m == "share" else "white", label=f"{m}-based estimate")
                for m in models]
    _legend(ax, handles)
    return ax
