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
    """``summary_grid`` displayed: slowdown x, what its interval is, and its flags (noisy, low
    precision, a stand-in item); a category nobody measured says "not measured"."""
    grid = summary_grid(summary, view=view, environments=environments)
    if grid.empty:
        return alert("No category summary for this selection.", "note")
    envs = [e for e in dict.fromkeys(c[0] for c in grid.columns) if e]
    shown = pd.DataFrame({"lmbench item": grid[("", "lmbench item")]}, index=grid.index)
    for env in envs:
        v = grid[(env, "slowdown")]
        shown[(env, "slowdown (\u00d7)")] = v
        shown[(env, "95% interval (\u00d7)")] = [
            "" if pd.isna(x) else interval_text(lo, hi, lev)
            for x, lo, hi, lev in zip(v, grid[(env, "ci_low")], grid[(env, "ci_high")], grid[(env, "ci_level")])]
        shown[(env, "flags")] = ["" if pd.isna(x) else flags_text(n, lp, note) for x, n, lp, note in
                                 zip(v, grid[(env, "noisy")], grid[(env, "low_precision")], grid[(env, "note")])]
    shown.columns = pd.MultiIndex.from_tuples([("", c) if isinstance(c, str) else c for c in shown.columns])
    fmt = {(env, "slowdown (\u00d7)"): (lambda x: "not measured" if pd.isna(x) else _number(x)) for env in envs}
    return table(shown, index=True, formats=fmt).set_caption(
        "slowdown = virtual vs its baseline (> 1: slower); the interval is a 95% interval over the runs "
        "(README: How the numbers are made); noisy = run-to-run spread above 10% with 95% confidence")


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
            for m, n in profile.counts.items()]
    if profile.unknown_syscalls:
        rows.append({"lmbench item": "(not counted)", "operations": profile.unknown_calls,
                     "how it is counted": "syscalls with no lmbench counterpart: " + ", ".join(profile.unknown_syscalls)})
    return pd.DataFrame(rows).set_index("lmbench item")


def _num_attr(x) -> str:
    """A number for a ``data-value`` attribute: full precision, "" for NaN."""
    return repr(float(x)) if x is not None and math.isfinite(float(x)) else ""


def _fmt(x, spec, na="n/a") -> str:
    return na if x is None or not math.isfinite(float(x)) else format(float(x), spec)


NO_LARGEST = "none (no category adds time)"


def _largest_text(largest: str, relative_time: float) -> str:
    """The largest contributor, or why there is none: with every w*(s-1) <= 0 no category adds time."""
    if largest:
        return largest
    return NO_LARGEST if relative_time is not None and math.isfinite(relative_time) else ""


def estimate_table_html(result: pd.DataFrame, mix, *, environments=None, measured: float | None = None,
                        css_class: str = "vizlib-estimate") -> str:
    """The one estimate table: escaped HTML with full-precision ``data-value`` attributes and the
    exact shares in ``data-mix``. Used by the notebook, the live explorer and the offline panel."""
    from .mix import format_mix

    df = result if environments is None else result[result["environment"].isin(list(environments))]
    rows = []
    for r in df.itertuples(index=False):
        ci = ("no interval" if not (math.isfinite(r.ci_low) and math.isfinite(r.ci_high))
              else f"{r.ci_low:.2f}\u2013{r.ci_high:.2f}\u00d7")
        rows.append(
            f'<tr data-environment="{_E(r.environment)}"><td class="vx-env">{_E(r.environment)}</td>'
            f'<td class="vx-base">{_E(r.baseline)}</td>'
            f'<td class="vx-rel" data-value="{_num_attr(r.relative_time)}" style="text-align:right">'
            f'{_fmt(r.relative_time, ".2f")}{"" if not math.isfinite(r.relative_time) else chr(215)}</td>'
            f'<td class="vx-pct" data-value="{_num_attr(r.overhead_pct)}" style="text-align:right">'
            f'{_fmt(r.overhead_pct, "+.1f")}{"" if not math.isfinite(r.overhead_pct) else "%"}</td>'
            f'<td class="vx-ci" data-low="{_num_attr(r.ci_low)}" data-high="{_num_attr(r.ci_high)}" '
            f'style="text-align:right">{ci}</td>'
            f'<td class="vx-largest">{_E(_largest_text(r.largest_category, r.relative_time))}</td>'
            f'<td class="vx-note">{_E(r.note)}</td></tr>')
    head = ("<tr><th>environment</th><th>baseline</th><th>relative time</th><th>overhead</th>"
            "<th>95% interval</th><th>largest contributor</th><th>note</th></tr>")
    return (f'<table class="{_E(css_class)}" data-mix="{_E(format_mix(mix))}" '
            f'data-measured="{_num_attr(measured) if measured else ""}">'
            f'<thead>{head}</thead><tbody class="vx-rows">{"".join(rows)}</tbody></table>')


def count_table_html(res: pd.DataFrame, profile=None) -> str:
    """The count-based estimate as an escaped HTML table (added time in ms, interval, +% of the
    application's elapsed and CPU time, largest item, what was not counted)."""
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
            f"<td>{_E(r.largest_metric)}</td><td>{_E(r.missing_metrics)}</td><td>{_E(r.note)}</td></tr>")
    head = ("<tr><th>environment</th><th>added time</th><th>95% interval</th><th>+% of elapsed</th>"
            "<th>+% of CPU time</th><th>largest</th><th>not counted</th><th>note</th></tr>")
    extra = ""
    if profile is not None:
        counted = ", ".join(f"{_E(m)}={n}" for m, n in profile.counts.items())
        extra = f"<p>Counted operations: {counted}.</p>"
        if profile.unknown_syscalls:
            extra += (f"<p>Not counted ({profile.unknown_calls} of {profile.total_calls} calls have no lmbench "
                      f"counterpart): {_E(', '.join(profile.unknown_syscalls))}.</p>")
    return f'<table class="vizlib-counts"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>{extra}'


def syscall_mapping_table() -> pd.DataFrame:
    """How the count-based estimate prices each system call: the lmbench item it stands for, and why."""
    from .appprofile import mapping_table

    return pd.DataFrame(mapping_table(), columns=["syscall", "lmbench item", "how it is priced"]).set_index("syscall")
