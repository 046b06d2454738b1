"""What the notebooks and the explorer show as tables: escaped, numbers kept as numbers.

Two kinds of function:

- *frames* (``runs_table``, ``summary_grid``, ``contribution_table``, ...): plain DataFrames of
  numbers and text, for a reader to sort, filter or plot in a new cell;
- *displays* (``table``, ``alert``, ``estimate_table_html``, ``count_table_html``): a frame as a
  pandas Styler, or HTML. Every cell, index label and header is HTML-escaped (lmbench logs and
  user parameters may hold any text); numbers are formatted for display only, right-aligned,
  with their unit in the header.

``estimate_table_html`` is the one estimate table: the notebook, the live explorer and the
offline panel's initial rows all come from it (the panel's script rebuilds the same rows in the
browser).
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from . import catalogue, count_model
from .catalogue import CATEGORIES

CAVEAT = (
    "lmbench times single OS operations, so these slowdowns and the estimates built on them show a rough "
    "trend and hint at the bottleneck; they are not a measurement of your application. Its real overhead also "
    "depends on the share and order of its OS work, its load pattern and the other guests on the host: "
    "measure the real application before deciding."
)

_E = html.escape
_TABLE_CSS = [
    {"selector": "td, th", "props": "text-align: left; vertical-align: top; padding: 2px 8px;"},
    {"selector": "td.vz-num", "props": "text-align: right; font-variant-numeric: tabular-nums;"},
    {"selector": "caption", "props": "caption-side: bottom; text-align: left; color: #555; font-size: 90%;"},
]


# --- displays ------------------------------------------------------------------------------------

def alert(text: str, level: str = "warning"):
    """A prominent HTML box; ``text`` is escaped (it may quote file names or log lines)."""
    from IPython.display import HTML

    colours = {"error": ("#fdecea", "#b71c1c"), "warning": ("#fff4e5", "#8a4b00"), "ok": ("#edf7ed", "#1e4620"),
               "note": ("#eef3fb", "#0d3c61")}
    bg, fg = colours.get(level, colours["note"])
    body = "<br>".join(_E(line) for line in str(text).splitlines())
    return HTML(f'<div class="vizlib-alert" style="background:{bg};color:{fg};border-left:6px solid {fg};'
                f'padding:8px 12px;margin:6px 0;font-weight:500;line-height:1.4">{body}</div>')


def table(df: pd.DataFrame | None, *, empty: str = "None.", index: bool = False, max_rows: int = 300,
          formats: dict | None = None, precision: int = 3):
    """A frame as an escaped Styler: text left, numbers right-aligned with ``precision`` significant
    digits (``formats`` overrides per column: a format string or a callable), NaN as empty.

    An empty frame shows ``empty`` instead of a bare header; beyond ``max_rows`` rows the caption
    counts the rest (the full table is in the processed folder or the bound DataFrame).
    """
    if df is None or len(df) == 0:
        return alert(empty, "note")
    shown = df.head(max_rows)
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and shown[c].dtype != bool]
    fmt = {c: (lambda v, p=precision: _number(v, p)) for c in numeric}
    fmt.update(formats or {})
    styler = (shown.style.format(fmt, na_rep="", escape="html")
              .format_index(escape="html", axis=0).format_index(escape="html", axis=1)
              .set_table_attributes('class="dataframe vizlib-table"').set_table_styles(_TABLE_CSS))
    if numeric:
        classes = [["vz-num" if c in numeric else "" for c in shown.columns]] * len(shown)
        styler = styler.set_td_classes(pd.DataFrame(classes, index=shown.index, columns=shown.columns))
    if not index:
        styler = styler.hide(axis="index")
    if len(df) > max_rows:
        styler = styler.set_caption(f"first {max_rows} of {len(df)} rows")
    return styler


def _number(v, precision: int = 3) -> str:
    """A number for display: ``precision`` significant digits, thousands as 1,234; NaN as empty."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)) or pd.isna(v):
        return ""
    if isinstance(v, (int, np.integer)):
        return f"{v:,d}"
    return f"{v:,.0f}" if abs(v) >= 10 ** precision else f"{v:.{precision}g}"


# --- ingest --------------------------------------------------------------------------------------

RUN_COLUMNS = ["environment", "run", "status", "kernel_release", "hostname", "processors", "lmbench_version", "date",
               "values", "unknown_lines", "invalid_lines", "noise_lines"]


def environments_table(manifest, order) -> pd.DataFrame:
    """The manifest: name, kind, technology, baseline, kernel, description (environments in ``order``)."""
    rows = []
    for name in order:
        e = manifest.environments[name]
        rows.append({"environment": name, "kind": e.kind, "technology": e.technology, "baseline": e.baseline or "",
                     "kernel": str(e.extra.get("kernel", "")), "description": str(e.extra.get("description", ""))})
    return pd.DataFrame(rows)


def runs_table(runs: pd.DataFrame, order) -> pd.DataFrame:
    """One row per raw file of the environments in ``order``, with its lmbench header metadata."""
    r = runs[runs["environment"].isin(order)]
    return r[[c for c in RUN_COLUMNS if c in r]].reset_index(drop=True)


def rejected_table(issues: pd.DataFrame, order) -> pd.DataFrame:
    """Every rejected raw file (of the environments in ``order``) and why."""
    i = issues[(issues["kind"] == "rejected") & issues["environment"].isin(order)]
    return i[["environment", "run", "line", "reason"]].reset_index(drop=True)


def line_issues(issues: pd.DataFrame, order, kinds=("unknown", "invalid")) -> pd.DataFrame:
    """Unknown and invalid lines with file:line, reason and the text as printed."""
    return issues[issues["kind"].isin(kinds) & issues["environment"].isin(order)].reset_index(drop=True)


def ingest_alert(runs: pd.DataFrame, issues: pd.DataFrame, order, problems=()):
    """The ingest outcome as one prominent box: red when files were rejected or a comparison lacks runs."""
    rejected = rejected_table(issues, order)
    shown = runs_table(runs, order)
    lines = [f"{len(rejected)} of {len(shown)} files were REJECTED (see 'Rejected files' below): "
             + ", ".join(rejected["run"].head(10)) + (" ..." if len(rejected) > 10 else "")] if len(rejected) else []
    lines += list(problems)
    counts = line_issues(issues, order)["kind"].value_counts().to_dict()
    detail = (f"{int(shown['values'].sum())} values from {int((shown['status'] == 'ok').sum())} files in "
              f"{shown['environment'].nunique()} environments; unknown lines: {counts.get('unknown', 0)}, "
              f"invalid values refused: {counts.get('invalid', 0)}")
    if lines:
        return alert("\n".join(lines + [detail]), "error")
    return alert("Every file was read. " + detail, "ok")


# --- normalisation -------------------------------------------------------------------------------

def summary_grid(summary: pd.DataFrame, *, view: str = "representative", environments=None) -> pd.DataFrame:
    """The category summary as a grid: one row per category (with the item standing for it), per
    environment the columns ``slowdown``, ``ci_low``, ``ci_high``, ``ci_level`` (numbers),
    ``noisy``, ``low_precision`` and ``note``."""
    s = summary[summary["view"] == view]
    if environments is not None:
        s = s[s["environment"].isin(list(environments))]
    if s.empty:
        return pd.DataFrame()
    envs = list(dict.fromkeys(s["environment"]))
    cats = [c for c in CATEGORIES if c in set(s["category"])]
    items = s.drop_duplicates("category").set_index("category")
    grid = pd.DataFrame(index=pd.Index(cats, name="category"))
    grid["lmbench item"] = [items.loc[c, "metric"] + (f" [{items.loc[c, 'param']}]" if items.loc[c, "param"]
                                                      and not str(items.loc[c, "param"]).startswith("(") else "")
                            for c in cats]
    for env in envs:
        e = s[s["environment"] == env].set_index("category").reindex(cats)
        for col in ("slowdown", "ci_low", "ci_high", "ci_level", "noisy", "low_precision", "note"):
            grid[(env, col)] = e[col].to_numpy()
    grid.columns = pd.MultiIndex.from_tuples([("", c) if isinstance(c, str) else c for c in grid.columns])
    return grid


def interval_text(lo, hi, level) -> str:
    """What an interval is, in words: "1.2 – 3.4" (95%), "zero width: ..." or "no interval"."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "no interval"
    if pd.isna(level) and lo == hi:
        return "zero width: spread below lmbench's print resolution"
    text = f"{_number(lo)} \u2013 {_number(hi)}"
    return text if not pd.isna(level) else f"{text} (not a 95% interval)"


def flags_text(noisy, low_precision, note="") -> str:
    """Short flags of a slowdown: noisy, spread unknown, low precision, a stand-in item."""
    out = []
    if not pd.isna(noisy) and bool(noisy):
        out.append("noisy")
    elif pd.isna(noisy):
        out.append("spread unknown (too few runs)")
    if not pd.isna(low_precision) and bool(low_precision):
        out.append("printed with low precision")
    if isinstance(note, str) and "stands for" in note:
        out.append(note.split(";")[0])
    return "; ".join(out)


def summary_table(summary: pd.DataFrame, *, view: str = "representative", environments=None):
    """The category summary to read: one row per virtual environment (so 40 environments are 40
    rows, not 120 columns), one column per category headed by the lmbench item standing for it.

    A cell is the slowdown, what its interval is and its flags (noisy, spread unknown, low
    precision, a stand-in item): "644 [118 – 3,700] · noisy"; a category nobody measured says
    "not measured". The numbers themselves are in ``summary_grid`` and category_summary.csv.
    """
    s = summary[summary["view"] == view]
    if environments is not None:
        s = s[s["environment"].isin(list(environments))]
    if s.empty:
        return alert("No category summary for this selection.", "note")
    envs = list(dict.fromkeys(s["environment"]))
    cats = [c for c in CATEGORIES if c in set(s["category"])]
    columns = {}
    for c in cats:
        sub = s[s["category"] == c]
        items = {catalogue.item_label(m, p if not str(p).startswith("(") else "")
                 for m, p in zip(sub["metric"], sub["param"].fillna(""))}
        columns[c] = f"{c}: {items.pop()}" if len(items) == 1 else f"{c} (item differs per baseline: see note)"
    rows = []
    for env in envs:
        e = s[s["environment"] == env].set_index("category")
        row = {"baseline": e["baseline"].iloc[0]}
        for c in cats:
            if c not in e.index or pd.isna(e.loc[c, "slowdown"]):
                row[columns[c]] = "not measured"
                continue
            r = e.loc[c]
            flags = flags_text(r["noisy"], r["low_precision"], r["note"])
            row[columns[c]] = (f"{_number(r['slowdown'])} [{interval_text(r['ci_low'], r['ci_high'], r['ci_level'])}]"
                               + (f" \u00b7 {flags}" if flags else ""))
        rows.append(pd.Series(row, name=env))
    shown = pd.DataFrame(rows)
    shown.index.name = "environment"
    return table(shown, index=True).set_caption(
        "slowdown (\u00d7) of each virtual environment vs its baseline (> 1: slower) [its 95% interval over the "
        "runs, README: How the numbers are made]; noisy = run-to-run spread above 10% with 95% confidence; "
        "spread unknown = too few runs to tell")


def noisy_table(overhead: pd.DataFrame, *, environments=None) -> pd.DataFrame:
    """Noisy slowdowns (run-to-run spread above the threshold on either side, with 95% confidence),
    worst spread first."""
    o = overhead[overhead["noisy"].astype("boolean").fillna(False).to_numpy(bool)]
    if environments is not None:
        o = o[o["environment"].isin(list(environments))]
    o = o.assign(cv_max=o[["cv_virtual", "cv_baseline"]].max(axis=1)).sort_values("cv_max", ascending=False)
    return o[["environment", "baseline", "category", "metric", "param", "slowdown", "ci_low", "ci_high",
              "cv_virtual", "cv_baseline"]].reset_index(drop=True)


def missing_summary(missing: pd.DataFrame, environments=None) -> pd.DataFrame:
    """``missing_metrics`` folded to one row per environment, metric and side, its params listed."""
    m = missing if environments is None else missing[missing["environment"].isin(list(environments))]
    cols = ["environment", "baseline", "metric", "present_in", "n", "params"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    g = m.groupby(["environment", "baseline", "metric", "present_in"], sort=False)["param"]
    out = g.agg(lambda p: ", ".join(v if v else "(none)" for v in p)).rename("params").reset_index()
    return out.assign(n=g.size().to_numpy())[cols]


# --- functional comparison -----------------------------------------------------------------------

def _guests(r) -> str:
    kinds = [k for k, col in (("Linux in general", "guest_linux_any"), ("paravirtualized Linux", "guest_linux_pv"),
                              ("Windows", "guest_windows")) if r[col] == "yes"]
    return ", ".join(kinds)


def functional_table(functional_df: pd.DataFrame, manifest=None, order=None) -> pd.DataFrame:
    """The functional comparison with aspects as rows and technologies as columns (as the source prints it).

    With ``manifest`` and ``order``, a last row names the environments of each technology measured here.
    """
    f = functional_df.set_index("technology")

    def with_note(col, note):
        return [v + (f" ({n})" if n else "") for v, n in zip(f[col], f[note])]

    rows = {
        "product": list(f["product"]),
        "architectures": [a.replace(";", ", ") + (f" ({n})" if n else "")
                          for a, n in zip(f["architectures"], f["architectures_note"])],
        "CPU virtualization support (Intel VT / AMD-V) needed": list(f["hw_virt_required"]),
        "guests": [_guests(r) + (f" ({r['guest_os_note']})" if r["guest_os_note"] else "")
                   for r in functional_df.to_dict("records")],
        "impact of a guest OS fault on other guests": with_note("fault_isolation", "fault_isolation_note"),
        "live migration": with_note("live_migration", "live_migration_note"),
        "as of": list(f["as_of"]),
    }
    if manifest is not None and order is not None:
        measured = {t: [n for n in order if manifest.environments[n].technology == t] for t in f.index}
        rows["measured here"] = [", ".join(measured[t]) or "(none)" for t in f.index]
    out = pd.DataFrame(rows, index=f.index).T
    out.columns.name = None
    return out


def step_view(checked: pd.DataFrame, step: int) -> pd.DataFrame:
    """Step ``step`` (1-3) of the source's selection order, one row per technology, from
    ``functional.check_products`` output for the requirements of that step."""
    out = pd.DataFrame({"technology": checked["technology"], "product": checked["product"]})
    if step == 1:
        out["architectures"] = [a.replace(";", ", ") + (f" ({n})" if n else "")
                                for a, n in zip(checked["architectures"], checked["architectures_note"])]
        out["Intel VT / AMD SVM needed"] = checked["hw_virt_required"]
        out["guests"] = [", ".join(k for k, col in (("Linux in general", "guest_linux_any"),
                                                     ("paravirtualized Linux", "guest_linux_pv"),
                                                     ("Windows " + r["guest_windows_min"] + "+", "guest_windows"))
                                   if r[col] == "yes") for r in checked.to_dict("records")]
    elif step == 2:
        out["impact of a guest OS failure"] = [f"{v} ({n})" if n else v for v, n in
                                               zip(checked["fault_isolation"], checked["fault_isolation_note"])]
    else:
        out["live migration"] = [f"{v} ({n})" if n else v for v, n in
                                 zip(checked["live_migration"], checked["live_migration_note"])]
    out["still qualifies"] = np.where(checked["meets"], "yes", "no")
    out["why not"] = checked["reason"]
    out["caveats"] = checked["caveats"]
    return out.set_index("technology")


# --- the overhead model --------------------------------------------------------------------------

def contribution_table(contributions: pd.DataFrame, environments=None) -> pd.DataFrame:
    """Per category: share, the lmbench item standing for it and, per environment, slowdown ``s`` and
    ``w·(s−1)``. An environment's relative time is 1 plus the sum of its w·(s−1) column, so the
    estimate can be checked by hand. ``contributions`` is ``share_model.contributions`` output."""
    con = contributions if environments is None else contributions[contributions["environment"].isin(list(environments))]
    rows = {}
    for r in con.itertuples(index=False):
        row = rows.setdefault(r.category, {"share": r.weight})
        rep = r.metric + (f" {r.param}" if r.param else "")
        row.setdefault("lmbench item", rep)
        if row["lmbench item"] != rep:
            row["lmbench item"] = "(differs per environment)"
        row[f"{r.environment}: s"] = r.slowdown
        row[f"{r.environment}: w\u00b7(s\u22121)"] = r.contribution
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "category"
    return out.reindex([c for c in CATEGORIES if c in out.index])


def preset_table(results: dict, environments) -> pd.DataFrame:
    """Each preset (``{label: (preset, evaluate output)}``): its mix and, per environment, relative time
    and interval (numbers), then its source."""
    from .mix import format_mix

    rows = []
    for label, (preset, res) in results.items():
        res = res.set_index("environment")
        row = {("", "mix"): format_mix(preset.mix, digits=3)}
        for e in environments:
            r = res.loc[e]
            row[(e, "relative time (\u00d7)")] = r.relative_time
            row[(e, "95% low")] = r.ci_low
            row[(e, "95% high")] = r.ci_high
        row[("", "source")] = preset.source
        rows.append(pd.Series(row, name=label))
    out = pd.DataFrame(rows)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "preset"
    return out


def profile_table(profile) -> pd.DataFrame:
    """What the count-based estimate counted (operations per lmbench item) and what it could not map."""
    from .appprofile import METRIC_NOTES

    rows = [{"lmbench item": m, "operations": n, "how it is counted": METRIC_NOTES.get(m, "")}
            for m, n in count_model.priced_counts(profile)[0].items()]
    names, calls = count_model.unpriced(profile)
    if names:
        rows.append({"lmbench item": "(not counted)", "operations": calls,
                     "how it is counted": "syscalls with no lmbench counterpart: " + ", ".join(names)})
    return pd.DataFrame(rows).set_index("lmbench item")


def _num_attr(x) -> str:
    """A number for a ``data-value`` attribute: full precision, "" for NaN."""
    return repr(float(x)) if x is not None and math.isfinite(float(x)) else ""


def _finite(x) -> bool:
    return x is not None and not pd.isna(x) and math.isfinite(float(x))


def _fmt(x, spec, na="n/a") -> str:
    return format(float(x), spec) if _finite(x) else na


def times_number(x) -> str:
    """A ratio's number for a sentence: 1.06, 16.2, 644, 31,504 (panel.js: ``timesText``)."""
    if not _finite(x):
        return "n/a"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def times_text(x) -> str:
    """A slowdown or relative time in a sentence: 1.06×, 16.2×, 644×."""
    return times_number(x) + ("\u00d7" if _finite(x) else "")


def times_interval_text(x, lo=None, hi=None) -> str:
    """A relative time with its interval, in one cell: "1.09× [1.05, 1.13]", "174× [46.7, 31,504]";
    "no estimate" for NaN, "(no interval)" when either end is missing."""
    if not _finite(x):
        return "no estimate"
    if _finite(lo) and _finite(hi):
        return f"{times_text(x)} [{times_number(lo)}, {times_number(hi)}]"
    return f"{times_text(x)} (no interval)"


def rel_text(x) -> str:
    """A relative time in the estimate table (unit in the header): 1.06, 174.28, 1,234.50."""
    return _fmt(x, ",.2f")


def pct_text(x) -> str:
    """An overhead in percent (unit in the header): +6.0, -3.2, +17,328."""
    if not _finite(x):
        return "n/a"
    return f"{float(x):+,.0f}" if abs(float(x)) >= 1000 else f"{float(x):+.1f}"


def interval_brackets(lo, hi, spec=",.2f") -> str:
    """An interval in a table cell: "[1.05, 1.13]"; "no interval" when either end is missing."""
    if not (_finite(lo) and _finite(hi)):
        return "no interval"
    return f"[{format(float(lo), spec)}, {format(float(hi), spec)}]"


NO_LARGEST = "none (no category adds time)"
NO_LARGEST_ITEM = "none (no item adds time)"
EXPLAIN_SHARE = 0.8  # name the largest contributions until they make this share of the added time (at most 3)


def _largest_text(largest: str, relative_time: float) -> str:
    """The largest contributor, or why there is none: with every w*(s-1) <= 0 no category adds time."""
    if largest:
        return largest
    return NO_LARGEST if _finite(relative_time) else ""


def _and(parts) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def explain_estimate(prepared, result: pd.DataFrame, mix, environments=None) -> list[str]:
    """One line per environment naming what makes its estimate: the categories with the largest
    contributions w·(s−1), until they make ``EXPLAIN_SHARE`` of the added time (at most three).

    "uml: 174× — Page fault 644× (memory, share 20%) and mmap latency, 64 MB 162× (disk, share
    20%) dominate (96% of the added time)". The offline panel's script builds the same lines.
    """
    from .mix import display_percentages

    shares = display_percentages(mix)
    w = [float(mix.get(c, 0.0)) for c in CATEGORIES]
    res = result.set_index("environment")
    labels = prepared.item_label or prepared.representative
    lines = []
    for i, env in enumerate(prepared.environments):
        if environments is not None and env not in set(environments):
            continue
        rel = res.loc[env, "relative_time"]
        if not _finite(rel):
            lines.append(f"{env}: no estimate ({res.loc[env, 'note']})")
            continue
        contrib = sorted(((w[j] * (s - 1.0), j) for j, s in enumerate(prepared.slowdown[i])
                          if w[j] > 0 and math.isfinite(s) and w[j] * (s - 1.0) > 0), key=lambda t: (-t[0], t[1]))
        if not contrib:
            lines.append(f"{env}: {times_text(rel)} \u2014 no category adds time: every category with a share "
                         f"runs at least as fast as on {prepared.baselines[i]}")
            continue
        total = sum(c for c, _ in contrib)
        chosen, acc = [], 0.0
        for c, j in contrib:
            chosen.append(j)
            acc += c
            if acc >= EXPLAIN_SHARE * total or len(chosen) == 3:
                break
        parts = [f"{labels[i][j]} {times_text(prepared.slowdown[i][j])} ({CATEGORIES[j]}, share "
                 f"{shares[CATEGORIES[j]]:g}%)" for j in chosen]
        verb = "dominates" if len(chosen) == 1 else "dominate"
        tail = "" if len(chosen) == len(contrib) else f" ({acc / total:.0%} of the added time)"
        lines.append(f"{env}: {times_text(rel)} \u2014 {_and(parts)} {verb}{tail}")
    return lines


def explain_html(lines) -> str:
    """``explain_estimate`` lines as an escaped list."""
    items = "".join(f"<li>{_E(line)}</li>" for line in lines)
    return f'<ul class="vizlib-explain" style="margin:4px 0 8px 0;line-height:1.45">{items}</ul>'


# Inline styles: widget HTML outputs in JupyterLab inherit a 28 px line height and no table
# styling, so the tables carry their own.
_TABLE_STYLE = "border-collapse:collapse;line-height:1.4;margin:6px 0"
_TH = "padding:3px 8px;border-bottom:2px solid #888;text-align:left;vertical-align:bottom"
_TH_NUM = _TH + ";text-align:right"
_TD = "padding:3px 8px;border-bottom:1px solid #ddd;vertical-align:top"
_TD_NUM = _TD + ";text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums"


def _head(columns) -> str:
    """Header cells; a (text, numeric) pair is right-aligned like its numbers."""
    return "<tr>" + "".join(f'<th style="{_TH_NUM if num else _TH}">{_E(text)}</th>' for text, num in columns) + "</tr>"


ESTIMATE_HEAD = (("environment", False), ("baseline", False), ("relative time (\u00d7)", True),
                 ("overhead (%)", True), ("95% interval (\u00d7)", True), ("largest contributor", False))
# A row's note (why a number is missing, what an interval is) gets its own full-width line under
# the row: in a column it made rows tall and pushed the table wider than a notebook at 1100 px.
_NOTE_TD = "padding:0 10px 4px 2em;border-bottom:1px solid #ddd;color:#555;font-size:92%;line-height:1.35"


def estimate_table_html(result: pd.DataFrame, mix, *, environments=None, measured: float | None = None,
                        css_class: str = "vizlib-estimate") -> str:
    """The one estimate table: escaped HTML with full-precision ``data-value`` attributes and the
    exact shares in ``data-mix``. Used by the notebook, the live explorer and the offline panel
    (whose script builds the same cells)."""
    from .mix import format_mix

    df = result if environments is None else result[result["environment"].isin(list(environments))]
    rows = []
    for r in df.itertuples(index=False):
        td = _TD if not r.note else _TD + ";border-bottom:none"
        num = _TD_NUM if not r.note else _TD_NUM + ";border-bottom:none"
        rows.append(
            f'<tr data-environment="{_E(r.environment)}"><td class="vx-env" style="{td}">{_E(r.environment)}</td>'
            f'<td class="vx-base" style="{td}">{_E(r.baseline)}</td>'
            f'<td class="vx-rel" data-value="{_num_attr(r.relative_time)}" style="{num}">'
            f'{rel_text(r.relative_time)}</td>'
            f'<td class="vx-pct" data-value="{_num_attr(r.overhead_pct)}" style="{num}">'
            f'{pct_text(r.overhead_pct)}</td>'
            f'<td class="vx-ci" data-low="{_num_attr(r.ci_low)}" data-high="{_num_attr(r.ci_high)}" '
            f'style="{num}">{interval_brackets(r.ci_low, r.ci_high)}</td>'
            f'<td class="vx-largest" style="{td}">{_E(_largest_text(r.largest_category, r.relative_time))}</td></tr>')
        if r.note:
            rows.append(f'<tr class="vx-note-row" data-note-of="{_E(r.environment)}">'
                        f'<td class="vx-note" colspan="{len(ESTIMATE_HEAD)}" style="{_NOTE_TD}">{_E(r.note)}</td></tr>')
    return (f'<table class="{_E(css_class)}" style="{_TABLE_STYLE}" data-mix="{_E(format_mix(mix))}" '
            f'data-measured="{_num_attr(measured) if measured else ""}">'
            f'<thead>{_head(ESTIMATE_HEAD)}</thead><tbody class="vx-rows">{"".join(rows)}</tbody></table>')


def count_table_html(res: pd.DataFrame, profile=None) -> str:
    """The count-based estimate as an escaped HTML table (added time in ms, interval, +% of the
    application's elapsed and CPU time, largest item, what was not counted)."""
    rows = []
    for r in res.itertuples(index=False):
        ms = (lambda v: v * 1e3 if _finite(v) else math.nan)
        largest = r.largest_metric or (NO_LARGEST_ITEM if _finite(r.added_seconds) else "")
        rows.append(
            f'<tr data-environment="{_E(r.environment)}"><td style="{_TD}">{_E(r.environment)}</td>'
            f'<td class="vx-added" data-value="{_num_attr(r.added_seconds)}" style="{_TD_NUM}">'
            f'{_fmt(ms(r.added_seconds), ",.3f")}</td>'
            f'<td style="{_TD_NUM}">{interval_brackets(ms(r.ci_low_s), ms(r.ci_high_s), ",.3f")}</td>'
            f'<td style="{_TD_NUM}">{pct_text(r.elapsed_increase_pct)}</td>'
            f'<td style="{_TD_NUM}">{pct_text(r.cpu_increase_pct)}</td>'
            f'<td style="{_TD}">{_E(largest)}</td><td style="{_TD}">{_E(r.missing_metrics)}</td>'
            f'<td style="{_TD};color:#555">{_E(r.note)}</td></tr>')
    head = _head((("environment", False), ("added time (ms)", True), ("95% interval (ms)", True),
                  ("elapsed time (+%)", True), ("CPU time (+%)", True), ("largest item", False),
                  ("not counted", False), ("note", False)))
    extra = ""
    if profile is not None:
        counted = ", ".join(f"{_E(m)}={n:,}" for m, n in count_model.priced_counts(profile)[0].items())
        extra = f'<p style="line-height:1.4">Counted operations: {counted}.</p>'
        names, calls = count_model.unpriced(profile)
        if names:
            extra += (f'<p style="line-height:1.4">Not counted ({calls:,} of {profile.total_calls:,} '
                      f"calls have no lmbench counterpart): {_E(', '.join(names))}.</p>")
    return (f'<table class="vizlib-counts" style="{_TABLE_STYLE}"><thead>{head}</thead><tbody>{"".join(rows)}'
            f"</tbody></table>{extra}")


def syscall_mapping_table() -> pd.DataFrame:
    """How the count-based estimate prices each system call: the lmbench item it stands for, and why."""
    from .appprofile import mapping_table

    return pd.DataFrame(mapping_table(), columns=["syscall", "lmbench item", "how it is priced"]).set_index("syscall")


# --- validation ------------------------------------------------------------------------------------

def validation_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """``validation.validation_table`` to read: each slowdown with its interval in one cell."""
    if table is None:
        return None
    out = pd.DataFrame({
        "environment": table["environment"], "app": table["app"],
        "n (virtual / baseline)": [f"{a} / {b}" for a, b in zip(table["n_virtual"], table["n_baseline"])],
        "measured (\u00d7)": [times_interval_text(x, lo, hi) for x, lo, hi in
                             zip(table["measured_slowdown"], table["measured_ci_low"], table["measured_ci_high"])],
        "share-based (\u00d7)": [times_interval_text(x, lo, hi) for x, lo, hi in
                                zip(table["share_estimate"], table["share_ci_low"], table["share_ci_high"])],
        "count-based (\u00d7)": [times_interval_text(x, lo, hi) if not _finite(x) or x > 0 else "impossible (\u2264 0)"
                                for x, lo, hi in zip(table["count_estimate"], table["count_ci_low"],
                                                     table["count_ci_high"])],
        "wait": [f"{w:.0%}" if _finite(w) else "" for w in table["wait_fraction"]],
        "note": table["note"],
    })
    return out


def validation_summary(summary: pd.DataFrame | None) -> pd.DataFrame | None:
    """``validation.summary`` to read: error factor, share within ±25%, interval coverage."""
    if summary is None:
        return None
    return pd.DataFrame({
        "model": summary["model"], "environment": summary["environment"], "apps": summary["apps"],
        "median error (factor)": [f"{x:.2f}\u00d7" if _finite(x) else "n/a" for x in summary["median_error_factor"]],
        "within \u00b125%": [f"{x:.0%}" if _finite(x) else "n/a" for x in summary["within_25pct"]],
        "interval covers measured": [f"{x:.0%}" if _finite(x) else "n/a (no intervals)"
                                     for x in summary["interval_covers_measured"]],
        "no estimate": summary["estimates_missing"],
    })


def refinement_table(steps: pd.DataFrame | None) -> pd.DataFrame | None:
    """``validation.refinement_steps`` as one row per model and step: the error factor and the share
    within ±25% per group and environment."""
    if steps is None or steps.empty:
        return None
    cell = [f"{f:.2f}\u00d7, {w:.0%} within \u00b125%" if _finite(f) else "n/a"
            for f, w in zip(steps["median_error_factor"], steps["within_25pct"])]
    wide = steps.assign(cell=cell).pivot_table(index=["model", "step"], columns=["group", "environment"],
                                               values="cell", aggfunc="first", sort=False)
    return wide.reindex(list(dict.fromkeys(zip(steps["model"], steps["step"]))))
