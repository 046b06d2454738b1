"""The overhead explorer: ipywidgets wired to ``vizlib.model``, plus the charts the notebook shows.

Charts (seaborn style: DataFrame in, ``ax=`` in, Axes out; no pyplot state, no file I/O):

- ``estimate_plot``: expected relative run time per environment, 95 % interval as error bars,
  optionally a measured slowdown as a reference line;
- ``sensitivity_plot``: relative run time as one category's share goes from 0 to 100 %;
- ``estimate_figure``: both side by side in a new ``Figure`` (for ordinary notebook outputs).

``OverheadExplorer`` is the live explorer (controller pattern: it owns the widgets and only
wires their values to model functions):

- one ``FloatSlider`` per category (percent). **The shares always add up to 100 %**: when one
  slider moves, the other categories are rescaled in proportion to their current shares so that
  they absorb the difference (``vizlib.model.rebalance``; if they are all zero the remainder is
  split equally). The controller sets the other sliders itself under a guard flag (``_busy``)
  so their change events do not rebalance again, and keeps the exact shares in ``mix`` (the
  sliders show them rounded);
- a preset ``Dropdown`` (``vizlib.presets``), an environment ``SelectMultiple``, an "advanced"
  ``Accordion`` with a ``Dropdown`` per category choosing which lmbench metric (and size)
  represents it, a measured-slowdown ``FloatText`` (0 = none), the category whose share the
  sensitivity view varies, and for the count-based estimate an strace ``Textarea`` (paste), a
  ``FileUpload`` that fills it, and a GNU ``time -v`` ``Textarea``;
- outputs: ``table`` (``HTML``: the estimate with interval and largest contributor, plus a
  ``data-mix`` attribute with the exact shares), ``summary`` (``HTML``), ``chart`` (an
  ``Output`` holding exactly one PNG, replaced in one state update: no duplicate figures, no
  flicker), ``counts`` (``HTML``: the count-based estimate), ``status`` (``HTML``: errors and
  the timings).

Timings of the last update are kept in ``last_model_ms`` (model functions: estimate +
sensitivity) and ``last_draw_ms`` (redrawing the chart into the ``Output``, PNG included).
"""

from __future__ import annotations

import base64
import html
import io
import math
import time

import ipywidgets as W
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from . import model, presets
from .catalogue import CATEGORIES

__all__ = ["estimate_plot", "sensitivity_plot", "estimate_figure", "OverheadExplorer", "CUSTOM",
           "estimate_table_html", "count_table_html", "estimate_view", "contribution_view", "count_view",
           "largest_contributor", "manifest_palette", "preset_view", "profile_view", "read_text",
           "selected_virtual"]

CUSTOM = "(custom)"
LOG_SPAN = 8.0  # log scale once the largest value drawn is more than this many times the smallest


def _palette(names, palette=None) -> dict:
    if palette is not None:
        return {n: palette.get(n, "#4c72b0") for n in names}
    import seaborn as sns

    colors = [c for i, c in enumerate(sns.color_palette("colorblind", 10)) if i != 7]
    return {n: colors[i % len(colors)] for i, n in enumerate(names)}


def _want_log(values) -> bool:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x) and x > 0])
    return len(v) > 0 and v.max() / v.min() > LOG_SPAN


# --- charts --------------------------------------------------------------------------------------
#
# Each chart is drawn by a small artist class that keeps its handles, so the live explorer can
# move bars, intervals, labels and lines in place (no new ticks, no new axes) when only numbers
# change; ``update`` returns False when the structure changed (other environments, a scale
# switching between linear and log) and the caller redraws from scratch.


def _finite_positive(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]


class _EstimateArtists:
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
            ax.xaxis.set_minor_locator(NullLocator())
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
            ax.legend(loc="lower right", fontsize=8, frameon=False)
        self.labels = [ax.annotate("", (1.0, yi), xytext=(6, 0), textcoords="offset points", va="center",
                                   fontsize=8, zorder=5) for yi in y]
        ax.set_yticks(y, self.names)
        ax.set_ylim(max(len(self.names), 1) - 0.5, -0.5)
        ax.set_xlabel("expected relative run time (virtual / baseline)" + (", log scale" if self.log else ""))
        ax.set_title("Estimated run time vs baseline (95% interval)", fontsize=10)
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
        self.ax.set_xlim((lo_x / 1.5, hi_x * 4.0) if self.log else (min(0.0, lo_x), hi_x * 1.3))

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


class _SensitivityArtists:
    def __init__(self, ax: Axes, df: pd.DataFrame, current_share, palette):
        self.ax = ax
        self.names = list(dict.fromkeys(df["environment"]))
        self.category = df["category"].iat[0] if len(df) else ""
        self.pal = _palette(self.names, palette)
        self.log = self._want_log(df)
        if self.log:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(NullLocator())
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
        ax.set_title(f"Sensitivity to the {self.category} share", fontsize=10)
        ax.grid(alpha=0.3)
        if self.names:
            ax.legend(fontsize=8, frameon=False)
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
        self.ax.set_ylim((lo_y / 1.3, hi_y * 1.3) if self.log else (min(0.0, lo_y), hi_y * 1.08))

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
    _EstimateArtists(ax, df, measured if measured and measured > 0 else None, palette)
    return ax


def sensitivity_plot(sens_df: pd.DataFrame, *, environments=None, current_share: float | None = None, palette=None,
                     ax: Axes | None = None) -> Axes:
    """Relative run time per environment as one category's share goes 0 -> 100 %, interval as a band."""
    if ax is None:
        ax = Figure(figsize=(6, 3)).subplots()
    df = sens_df if environments is None else sens_df[sens_df["environment"].isin(list(environments))]
    _SensitivityArtists(ax, df, current_share, palette)
    return ax


def estimate_figure(estimate_df: pd.DataFrame, sens_df: pd.DataFrame | None = None, *, environments=None,
                    measured: float | None = None, current_share: float | None = None, palette=None,
                    figsize=(11, 3.6)) -> Figure:
    """Both charts side by side in a new pyplot figure (shown once by the inline backend; end the cell with ``;``)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, 2 if sens_df is not None else 1, figsize=figsize, layout="constrained",
                                 squeeze=False)
        axes = axes[0]
        estimate_plot(estimate_df, environments=environments, measured=measured, palette=palette, ax=axes[0])
        if sens_df is not None:
            sensitivity_plot(sens_df, environments=environments, current_share=current_share, palette=palette,
                             ax=axes[1])
    return fig


# --- tables for ordinary notebook outputs (plain DataFrames: pandas escapes their HTML) ----------

def estimate_view(result: pd.DataFrame, environments=None) -> pd.DataFrame:
    """The share-based estimate as a readable table, one row per environment (numbers rounded)."""
    df = result if environments is None else result[result["environment"].isin(list(environments))]
    out = pd.DataFrame({
        "environment": df["environment"],
        "baseline": df["baseline"],
        "relative time (\u00d7)": df["relative_time"].round(3),
        "overhead (%)": df["overhead_pct"].round(1),
        "95% interval (\u00d7)": [("" if not (math.isfinite(a) and math.isfinite(b)) else f"{a:.3f} \u2013 {b:.3f}")
                                   for a, b in zip(df["ci_low"], df["ci_high"])],
        "largest contributor": df["largest_category"],
        "note": df["note"],
    })
    return out.set_index("environment")


def contribution_view(categories: pd.DataFrame, mix, environments=None) -> pd.DataFrame:
    """Per category: share, representative item and, per environment, slowdown s and w*(s-1).

    The relative time of an environment is 1 plus the sum of its w*(s-1) column, so the
    estimate can be checked by hand from this table.
    """
    con = model.contributions(categories, mix)
    if environments is not None:
        con = con[con["environment"].isin(list(environments))]
    rows = {}
    for r in con.itertuples(index=False):
        row = rows.setdefault(r.category, {"share": r.weight})
        rep = r.metric + (f" {r.param}" if r.param else "")
        row.setdefault("lmbench item", rep)
        if row["lmbench item"] != rep:
            row["lmbench item"] = "(differs per environment)"
        row[f"{r.environment}: s"] = round(r.slowdown, 4) if math.isfinite(r.slowdown) else np.nan
        row[f"{r.environment}: w\u00b7(s\u22121)"] = (round(r.contribution, 4) if math.isfinite(r.contribution)
                                                     else np.nan)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "category"
    return out.reindex([c for c in CATEGORIES if c in out.index])


def count_view(count_result: pd.DataFrame, environments=None) -> pd.DataFrame:
    """The count-based estimate as a readable table (added time in milliseconds)."""
    df = count_result if environments is None else count_result[count_result["environment"].isin(list(environments))]
    return pd.DataFrame({
        "environment": df["environment"],
        "baseline": df["baseline"],
        "added time (ms)": (df["added_seconds"] * 1e3).round(3),
        "95% interval (ms)": [("" if not (math.isfinite(a) and math.isfinite(b))
                               else f"{a * 1e3:.3f} \u2013 {b * 1e3:.3f}")
                              for a, b in zip(df["ci_low_s"], df["ci_high_s"])],
        "+% of elapsed": df["elapsed_increase_pct"].round(1),
        "+% of CPU time": df["cpu_increase_pct"].round(1),
        "largest": df["largest_metric"],
        "not counted": df["missing_metrics"],
        "note": df["note"],
    }).set_index("environment")


def selected_virtual(ctx) -> list[str]:
    """The virtual environments a notebook's ``environments`` parameter selects (``notebook.setup`` context).

    ValueError when the selection holds no virtual environment (only baselines, say): there is
    nothing to estimate then, and an empty table would look like a result.
    """
    shown = list(ctx.virtual)
    if not shown:
        chosen = ", ".join(ctx.environments or []) or "(none)"
        virtual = ", ".join(e.name for e in ctx.manifest.virtual()) or "(none)"
        raise ValueError(f"environments selects no virtual environment ({chosen}); the manifest's virtual "
                         f"environments are: {virtual}")
    return shown


def largest_contributor(result: pd.DataFrame, environments=None) -> str:
    """The category that is the largest contributor in most of the shown environments (ties: first in order)."""
    df = result if environments is None else result[result["environment"].isin(list(environments))]
    vals = [c for c in df["largest_category"] if c]
    if not vals:
        return CATEGORIES[0]
    return max(CATEGORIES, key=lambda c: (vals.count(c), -CATEGORIES.index(c)))


def manifest_palette(manifest) -> dict:
    """Environment colours shared with the other notebooks' charts (``vizlib.plots``)."""
    from .plots import environment_palette

    return environment_palette(manifest)


def preset_view(inputs: model.ModelInputs, prepared: model.Prepared | None = None, environments=None) -> pd.DataFrame:
    """Each preset: its mix, the estimated relative time per environment (with interval) and its source."""
    prep = prepared if prepared is not None else inputs.prepared()[1]
    envs = prep.environments if environments is None else [e for e in prep.environments if e in set(environments)]
    rows = []
    for name, p in presets.PRESETS.items():
        res = model.evaluate(prep, p.mix).set_index("environment")
        row = {"preset": p.label, "mix": model.format_mix(p.mix, digits=3)}
        for e in envs:
            r = res.loc[e]
            row[e] = ("n/a" if not math.isfinite(r.relative_time) else
                      f"{r.relative_time:.2f}\u00d7" + ("" if not math.isfinite(r.ci_low)
                                                         else f" ({r.ci_low:.2f}\u2013{r.ci_high:.2f})"))
        row["source"] = p.source
        rows.append(row)
    return pd.DataFrame(rows).set_index("preset")


def profile_view(profile: model.AppProfile) -> pd.DataFrame:
    """What the count-based estimate counted (operations per lmbench item) and what it could not map."""
    from .appprofile import METRIC_NOTES

    rows = [{"lmbench item": m, "operations": n, "how it is counted": METRIC_NOTES.get(m, "")}
            for m, n in profile.counts.items()]
    if profile.unknown_syscalls:
        rows.append({"lmbench item": "(not counted)", "operations": profile.unknown_calls,
                     "how it is counted": "syscalls with no lmbench counterpart: "
                                          + ", ".join(profile.unknown_syscalls)})
    return pd.DataFrame(rows).set_index("lmbench item")


def read_text(path) -> str:
    """The text of ``path`` (relative to the project root), or "" for an empty path."""
    if not path:
        return ""
    from . import paths

    return paths.resolve(path).read_text(encoding="utf-8", errors="replace")


# --- HTML tables ---------------------------------------------------------------------------------

_E = html.escape


def _num_attr(x) -> str:
    return repr(float(x)) if x is not None and math.isfinite(float(x)) else ""


def _fmt(x, spec, na="n/a"):
    return na if x is None or not math.isfinite(float(x)) else format(float(x), spec)


def estimate_table_html(result: pd.DataFrame, mix, *, environments=None, measured: float | None = None) -> str:
    """The estimate as an HTML table with full-precision ``data-value`` attributes (for tests).

    All text is escaped; the exact shares are in the table's ``data-mix`` attribute.
    """
    df = result if environments is None else result[result["environment"].isin(list(environments))]
    rows = []
    for r in df.itertuples(index=False):
        ci = ("no interval" if not (math.isfinite(r.ci_low) and math.isfinite(r.ci_high))
              else f"{r.ci_low:.2f}\u2013{r.ci_high:.2f}\u00d7")
        rows.append(
            f'<tr data-environment="{_E(r.environment)}"><td>{_E(r.environment)}</td><td>{_E(r.baseline)}</td>'
            f'<td class="vx-rel" data-value="{_num_attr(r.relative_time)}" style="text-align:right">'
            f'{_fmt(r.relative_time, ".2f")}{"" if not math.isfinite(r.relative_time) else chr(215)}</td>'
            f'<td class="vx-pct" data-value="{_num_attr(r.overhead_pct)}" style="text-align:right">'
            f'{_fmt(r.overhead_pct, "+.1f")}{"" if not math.isfinite(r.overhead_pct) else "%"}</td>'
            f'<td class="vx-ci" data-low="{_num_attr(r.ci_low)}" data-high="{_num_attr(r.ci_high)}" '
            f'style="text-align:right">{ci}</td>'
            f'<td class="vx-largest">{_E(r.largest_category)}</td><td class="vx-note">{_E(r.note)}</td></tr>')
    head = ("<tr><th>environment</th><th>baseline</th><th>relative time</th><th>overhead</th>"
            "<th>95% interval</th><th>largest contributor</th><th>note</th></tr>")
    mix_text = model.format_mix(mix)
    return (f'<table class="vizlib-estimate" data-mix="{_E(mix_text)}" '
            f'data-measured="{_num_attr(measured) if measured else ""}">'
            f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")


def count_table_html(res: pd.DataFrame, profile: model.AppProfile | None = None) -> str:
    """The count-based estimate as an escaped HTML table."""
    rows = []
    for r in res.itertuples(index=False):
        ci = ("no interval" if not (math.isfinite(r.ci_low_s) and math.isfinite(r.ci_high_s))
              else f"{r.ci_low_s * 1e3:.3f}\u2013{r.ci_high_s * 1e3:.3f} ms")
        rows.append(
            f'<tr data-environment="{_E(r.environment)}"><td>{_E(r.environment)}</td>'
            f'<td class="vx-added" data-value="{_num_attr(r.added_seconds)}" style="text-align:right">'
            f'{_fmt(r.added_seconds * 1e3, ".3f")} ms</td><td style="text-align:right">{ci}</td>'
            f'<td style="text-align:right">{_fmt(r.elapsed_increase_pct, "+.1f")}</td>'
            f'<td style="text-align:right">{_fmt(r.cpu_increase_pct, "+.1f")}</td>'
            f"<td>{_E(r.largest_metric)}</td><td>{_E(r.note)}</td></tr>")
    head = ("<tr><th>environment</th><th>added time</th><th>95% interval</th><th>+% of elapsed</th>"
            "<th>+% of CPU time</th><th>largest</th><th>note</th></tr>")
    extra = ""
    if profile is not None:
        counted = ", ".join(f"{_E(m)}={n}" for m, n in profile.counts.items())
        extra = f"<p>Counted operations: {counted}.</p>"
        if profile.unknown_syscalls:
            extra += (f"<p>Not counted ({profile.unknown_calls} of {profile.total_calls} calls have no lmbench "
                      f"counterpart): {_E(', '.join(profile.unknown_syscalls))}.</p>")
    return f'<table class="vizlib-counts"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>{extra}'


# --- the explorer --------------------------------------------------------------------------------

def _rep_options(overhead: pd.DataFrame, category: str) -> list[tuple[str, tuple]]:
    """(label, (metric, param or None)) for every metric of ``category`` measured on both sides somewhere."""
    sub = overhead[overhead["category"] == category].drop_duplicates(["metric", "param"])
    opts = []
    for metric, g in sub.groupby("metric", sort=True):
        params = list(g["param"].astype(str))
        if len(params) == 1:
            p = params[0]
            opts.append((metric + (f" {p}" if p else ""), (metric, p)))
            continue
        num = pd.to_numeric(pd.Series(params), errors="coerce")
        if num.notna().all():
            opts.append((f"{metric} (largest size on both sides)", (metric, None)))
            params = [p for _, p in sorted(zip(num, params))]
        for p in params:
            opts.append((f"{metric} {p}", (metric, p)))
    return opts


class OverheadExplorer:
    """Live explorer of the share-based (and count-based) estimate; display it in a notebook.

    ``inputs`` comes from ``vizlib.model.load_inputs``. ``mix`` is a mix, mix text or preset
    name; ``environments`` the virtual environments to show (None = all);
    ``measured_slowdown`` a relative run time measured with the real application (0 = none);
    ``strace_text``/``time_v_text`` pre-fill the count-based estimate.
    """

    def __init__(self, inputs: model.ModelInputs, mix=model.DEFAULT_MIX, *, environments=None,
                 measured_slowdown: float = 0.0, strace_text: str = "", time_v_text: str = "",
                 sensitivity_category: str | None = None, palette=None, dpi: int = 80):
        self.inputs = inputs
        self.mix = model.resolve_mix(mix)
        self.representatives = dict(inputs.representatives)
        self.dpi = dpi
        self._busy = False
        self.last_model_ms = math.nan
        self.last_table_ms = math.nan
        self.last_draw_ms = math.nan
        self.result: pd.DataFrame | None = None
        self.sens: pd.DataFrame | None = None
        self.count_result: pd.DataFrame | None = None
        self.profile: model.AppProfile | None = None
        self.cs, self.prepared = inputs.prepared(self.representatives)
        all_envs = list(self.prepared.environments)
        if palette is None:
            from .plots import environment_palette

            palette = environment_palette(inputs.manifest)
        self.palette = palette

        style = {"description_width": "5em"}
        self.sliders = {}
        for c in CATEGORIES:
            s = W.FloatSlider(value=self.mix[c] * 100, min=0, max=100, step=1, description=c, readout_format=".1f",
                              continuous_update=False, style=style, layout=W.Layout(width="26em"))
            s.observe(self._make_slider_handler(c), names="value")
            self.sliders[c] = s
        preset_opts = [(CUSTOM, CUSTOM)] + [(p.label, name) for name, p in presets.PRESETS.items()]
        self.preset = W.Dropdown(options=preset_opts, value=self._matching_preset(), description="preset",
                                 style=style, layout=W.Layout(width="26em"))
        self.preset.observe(self._on_preset, names="value")
        self.preset_note = W.HTML()
        if environments is not None and not list(environments):
            raise ValueError("environments is empty: pass None for all environments")
        envs = all_envs if environments is None else [e for e in environments if e in all_envs]
        bad = [e for e in (environments or []) if e not in all_envs]
        if bad:
            raise ValueError(f"unknown environment(s) {', '.join(map(repr, bad))}; known: {', '.join(all_envs)}")
        right = {"description_width": "8.5em"}
        self.environments = W.SelectMultiple(options=all_envs, value=tuple(envs), description="environments",
                                             rows=min(6, max(2, len(all_envs))), style=right,
                                             layout=W.Layout(width="24em"))
        self.environments.observe(lambda ch: self.update(), names="value")
        self.measured = W.FloatText(value=float(measured_slowdown or 0.0), description="measured (\u00d7)",
                                    step=0.01, style=right, layout=W.Layout(width="16em"),
                                    tooltip="relative run time you measured with the real application; 0 = none")
        self.measured.observe(lambda ch: self.update(), names="value")
        self.sens_category = W.Dropdown(options=list(CATEGORIES), value=sensitivity_category or None,
                                        description="sensitivity of", style=right,
                                        layout=W.Layout(width="18em"))
        self.sens_category.observe(lambda ch: self.update(), names="value")

        self.representative = {}
        rows = []
        for c in CATEGORIES:
            opts = _rep_options(inputs.overhead, c)
            cur = self.representatives[c]
            values = [v for _, v in opts]
            if cur not in values:
                same = [v for v in values if v[0] == cur[0]]
                if cur[1] is None and len(same) == 1:  # "metric" alone: its only measured param
                    cur = self.representatives[c] = same[0]
                else:
                    opts.insert(0, (f"{cur[0]} {cur[1] if cur[1] is not None else '(largest size)'} (not measured "
                                    "on both sides anywhere)", cur))
            dd = W.Dropdown(options=opts, value=cur, description=c, style=style, layout=W.Layout(width="32em"))
            dd.observe(self._make_rep_handler(c), names="value")
            self.representative[c] = dd
            rows.append(dd)
        self.advanced = W.Accordion(children=[W.VBox([W.HTML(
            "Which lmbench item stands for each category (default: the source's items plus the null system "
            "call). The list holds every item of the category measured on both sides in some environment.")]
            + rows)], selected_index=None)
        self.advanced.set_title(0, "advanced: representative lmbench items")

        self.strace = W.Textarea(value=strace_text or "", placeholder="paste the output of: strace -c -f -o out.txt "
                                 "your-command  (the summary table)", layout=W.Layout(width="48em", height="8em"),
                                 continuous_update=False)
        self.time_v = W.Textarea(value=time_v_text or "", placeholder="optional: paste the output of "
                                 "/usr/bin/time -v your-command (run without strace)",
                                 layout=W.Layout(width="48em", height="5em"), continuous_update=False)
        self.upload = W.FileUpload(accept=".txt,text/plain", multiple=False, description="strace file")
        self.upload.observe(self._on_upload, names="value")
        self.strace.observe(lambda ch: self.update_counts(), names="value")
        self.time_v.observe(lambda ch: self.update_counts(), names="value")

        self.table = W.HTML()
        self.summary = W.HTML()
        self.chart = W.Output(layout=W.Layout(min_height="300px"))
        self.counts = W.HTML()
        self.status = W.HTML()
        # One figure for the explorer's lifetime, drawn straight to PNG by Agg. A fixed layout (no
        # constrained layout, which draws the figure several times) keeps a redraw well under 200 ms.
        self._fig = Figure(figsize=(10.5, 3.4), dpi=dpi)
        self._canvas = FigureCanvasAgg(self._fig)
        self._axes = self._fig.subplots(1, 2)
        self._fig.subplots_adjust(left=0.09, right=0.985, bottom=0.16, top=0.9, wspace=0.28)
        self._est_art: _EstimateArtists | None = None
        self._sens_art: _SensitivityArtists | None = None

        self.widget = W.VBox([
            W.HTML("<b>Shares of run time</b> (always 100%: moving one rescales the others in proportion)"),
            W.HBox([W.VBox(list(self.sliders.values()) + [self.preset, self.preset_note]),
                    W.VBox([self.environments, self.measured, self.sens_category])]),
            self.advanced, self.table, self.summary, self.chart,
            W.Accordion(children=[W.VBox([self.upload, self.strace, self.time_v, self.counts])],
                        titles=("count-based estimate from strace -c -f (and time -v)",),
                        selected_index=0 if self.strace.value.strip() else None),
            self.status,
        ])
        if self.sens_category.value is None:
            self._busy = True
            try:
                self.sens_category.value = self._largest_category()
            finally:
                self._busy = False
        self.update()
        if self.strace.value.strip():
            self.update_counts()

    # -- display
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- wiring
    def _matching_preset(self) -> str:
        for name, p in presets.PRESETS.items():
            if all(abs(p.mix.get(c, 0.0) - self.mix[c]) < 1e-9 for c in CATEGORIES):
                return name
        return CUSTOM

    def _largest_category(self) -> str:
        res = model.evaluate(self.prepared, self.mix)
        vals = [c for c in res["largest_category"] if c]
        return max(set(vals), key=vals.count) if vals else CATEGORIES[0]

    def _make_slider_handler(self, category):
        def handler(change):
            if self._busy:
                return
            self.set_mix(model.rebalance(self.mix, category, change["new"] / 100.0), keep_preset=False)
        return handler

    def _make_rep_handler(self, category):
        def handler(change):
            if self._busy:
                return
            self.representatives[category] = change["new"]
            self.cs, self.prepared = self.inputs.prepared(self.representatives)
            self.update()
        return handler

    def _on_preset(self, change):
        if self._busy or change["new"] == CUSTOM:
            self._show_preset_note()
            return
        self.set_mix(presets.PRESETS[change["new"]].mix, keep_preset=True)

    def _show_preset_note(self):
        name = self.preset.value
        if name == CUSTOM:
            self.preset_note.value = ""
        else:
            p = presets.PRESETS[name]
            self.preset_note.value = (f'<div style="max-width:26em;font-size:90%;color:#555">{_E(p.rationale)} '
                                      f"<i>Source: {_E(p.source)}.</i></div>")

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        content = f["content"] if isinstance(f, dict) else f.content
        self.strace.value = bytes(content).decode("utf-8", errors="replace")

    def set_mix(self, mix, keep_preset: bool = False) -> None:
        """Set all shares (validated) and update; the sliders follow without rebalancing again."""
        self.mix = model.resolve_mix(mix)
        self._busy = True
        try:
            with self.widget.hold_sync() if hasattr(self, "widget") else _nullcontext():
                for c, s in self.sliders.items():
                    s.value = self.mix[c] * 100
                if not keep_preset:
                    self.preset.value = self._matching_preset()
        finally:
            self._busy = False
        self._show_preset_note()
        self.update()

    # -- computing and drawing
    def update(self) -> None:
        """Recompute the model for the current inputs and refresh the table, summary and chart."""
        if self._busy:
            return
        envs = list(self.environments.value)
        cat = self.sens_category.value or CATEGORIES[0]
        t0 = time.perf_counter()
        self.result = model.evaluate(self.prepared, self.mix)
        self.sens = model.sensitivity(None, self.mix, cat, prepared=self.prepared)
        t1 = time.perf_counter()
        self.last_model_ms = (t1 - t0) * 1e3
        measured = self.measured.value if self.measured.value and self.measured.value > 0 else None
        self.table.value = estimate_table_html(self.result, self.mix, environments=envs, measured=measured)
        self.summary.value = self._summary_html(envs, measured)
        t2 = time.perf_counter()
        self.last_table_ms = (t2 - t1) * 1e3
        self.redraw(envs, measured, cat)
        self.status.value = (f'<span style="color:#777;font-size:85%">model {self.last_model_ms:.1f} ms, '
                             f"table {self.last_table_ms:.1f} ms, chart {self.last_draw_ms:.0f} ms</span>")

    def _summary_html(self, envs, measured) -> str:
        res = self.result[self.result["environment"].isin(envs)]
        parts = []
        for r in res.itertuples(index=False):
            if r.largest_category:
                parts.append(f"<b>{_E(r.environment)}</b>: largest contributor <b>{_E(r.largest_category)}</b>")
        text = "; ".join(parts)
        if measured:
            inside = [r.environment for r in res.itertuples(index=False)
                      if math.isfinite(r.ci_low) and r.ci_low <= measured <= r.ci_high]
            text += (f"<br>Your measured slowdown {measured:.2f}\u00d7 lies inside the 95% interval of: "
                     f"{_E(', '.join(inside)) if inside else 'none'} (compare it with the environment you "
                     "measured it in).")
        return f"<p>{text}</p><p style='color:#555;font-style:italic'>{_E(model.CAVEAT)}</p>"

    def redraw(self, envs=None, measured=None, cat=None) -> None:
        """Redraw the chart on the one reused figure and replace the Output's single PNG.

        When only numbers changed, the existing artists are moved in place; a new selection of
        environments, another sensitivity category or a linear/log switch redraws the axes.
        """
        t0 = time.perf_counter()
        envs = list(self.environments.value) if envs is None else envs
        est = self.result[self.result["environment"].isin(envs)]
        sens = self.sens[self.sens["environment"].isin(envs)]
        share = self.mix[cat or self.sens["category"].iat[0]]
        if self._est_art is None or not self._est_art.update(est, measured):
            ax = self._axes[0]
            ax.clear()
            ax.set_xscale("linear")
            self._est_art = _EstimateArtists(ax, est, measured, self.palette)
        if self._sens_art is None or not self._sens_art.update(sens, share):
            ax = self._axes[1]
            ax.clear()
            ax.set_yscale("linear")
            self._sens_art = _SensitivityArtists(ax, sens, share, self.palette)
        buf = io.BytesIO()
        self._canvas.print_png(buf)
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.chart.outputs = ({"output_type": "display_data", "metadata": {},
                               "data": {"image/png": png, "text/plain": "<overhead chart>"}},)
        self.last_draw_ms = (time.perf_counter() - t0) * 1e3

    def update_counts(self) -> None:
        """Parse the pasted strace (and time -v) text and show the count-based estimate."""
        from .appprofile import AppProfileError

        text = self.strace.value
        if not text.strip():
            self.profile = self.count_result = None
            self.counts.value = ""
            return
        try:
            self.profile = model.read_profile(text, self.time_v.value, strace_source="strace paste",
                                              time_v_source="time -v paste")
        except AppProfileError as exc:
            self.profile = self.count_result = None
            self.counts.value = f'<p style="color:#b00">Cannot use this paste: {_E(str(exc))}</p>'
            return
        self.count_result = self.inputs.count_estimate(self.profile)
        res = self.count_result[self.count_result["environment"].isin(list(self.environments.value))]
        self.counts.value = count_table_html(res, self.profile)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
