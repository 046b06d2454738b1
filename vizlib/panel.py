"""A self-contained offline panel: the share-based estimate with sliders, in plain HTML + JavaScript.

Widgets need a kernel (or a widget renderer loaded from a CDN) to do anything; an exported HTML
page or a notebook opened without a kernel shows them frozen. This panel is an ordinary
``text/html`` output instead: the category slowdowns and the joint bootstrap replicates are
embedded as JSON, and about a hundred lines of our own JavaScript recompute
``R = sum(w_i * s_i)`` and its 95 % interval per environment as the reader moves the
``<input type="range">`` sliders. No third-party script, no CDN, no request of any kind.

The numbers equal the Python model's (``vizlib.model.evaluate``): the same data, the same
summation order, the same share rule (``vizlib.model.rebalance``: the other categories are
rescaled in proportion to absorb a change, an equal split when they are all zero) and numpy's
default ("linear") percentile. The table is first rendered in Python with the model's numbers,
so a viewer that strips scripts still shows the estimate for the notebook's parameters.

Safety: everything embedded is escaped. The JSON sits in a ``<script type="application/json">``
with ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no
``</script>`` can end it early), static text goes through ``html.escape``, and the script writes
names with ``textContent`` only, never ``innerHTML``. Each panel has its own id (random unless
given) and the script only looks inside its own root, so two panels on a page do not clash.

Replicates are stored as unique rows with their counts (with two runs per side most of the 2000
replicates repeat a handful of resampling outcomes), which the script expands exactly.
"""

from __future__ import annotations

import html
import json
import math
import re
import uuid
from typing import Mapping

import numpy as np

from .model import CATEGORIES, CAVEAT, Prepared, evaluate, format_mix, resolve_mix

__all__ = ["panel_data", "render", "Panel", "recompute", "PANEL_SCRIPT"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def panel_data(prepared: Prepared, mix, environments=None) -> dict:
    """The JSON-able payload the panel embeds (also what the tests compare with the model)."""
    mix = resolve_mix(mix)
    idx = _select(prepared, environments)
    envs = []
    for i in idx:
        rep = None
        if prepared.replicates is not None:
            block = prepared.replicates[i]  # B x C
            # unique rows with counts; NaN rows are kept as their own rows (correct, if less compact)
            key = np.where(np.isnan(block), np.inf, block)
            uniq, counts = np.unique(key, axis=0, return_counts=True)
            rows = [[None if math.isinf(v) else float(v) for v in row] for row in uniq]
            rep = {"rows": rows, "counts": [int(c) for c in counts]}
        envs.append({
            "name": prepared.environments[i],
            "baseline": prepared.baselines[i],
            "slowdown": [_num(v) for v in prepared.slowdown[i]],
            "missing": list(prepared.missing_reason[i]),
            "no_interval": list(prepared.interval_reason[i]),
            "representative": list(prepared.representative[i]),
            "replicates": rep,
        })
    return {
        "categories": list(CATEGORIES),
        "mix": {c: float(mix[c]) for c in CATEGORIES},
        "n_boot": None if prepared.replicates is None else int(prepared.replicates.shape[1]),
        "environments": envs,
    }


def _select(prepared: Prepared, environments) -> list[int]:
    if environments is None:
        return list(range(len(prepared.environments)))
    wanted = list(environments)
    unknown = [e for e in wanted if e not in prepared.environments]
    if unknown:
        raise ValueError(f"unknown environment(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(prepared.environments)}")
    return [prepared.environments.index(e) for e in wanted]


def _json_for_script(data) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' survives literally."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _fmt_rel(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.2f}\u00d7"


def _fmt_pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:+.1f}%"


def _fmt_ci(lo: float, hi: float) -> str:
    return "no interval" if not (math.isfinite(lo) and math.isfinite(hi)) else f"{lo:.2f}\u2013{hi:.2f}\u00d7"


# The panel's script: ours, small, no dependencies. It reads only inside its own root element.
PANEL_SCRIPT = r"""
(function () {
  "use strict";
  var root = document.getElementById(__PANEL_ID__);
  if (!root || root.getAttribute("data-live") === "1") { return; }
  var data = JSON.parse(document.getElementById(__PANEL_ID__ + "-data").textContent);
  var cats = data.categories, n = cats.length;
  var w = cats.map(function (c) { return data.mix[c]; });

  // vizlib.model.rebalance: set one share, rescale the others in proportion (equal split if all zero).
  function rebalance(j, value) {
    value = Math.min(1, Math.max(0, value));
    var rest = 0, k;
    for (k = 0; k < n; k++) { if (k !== j) { rest += w[k]; } }
    var remaining = 1 - value, out = [];
    for (k = 0; k < n; k++) {
      if (k === j) { out.push(value); }
      else if (rest > 0) { out.push(w[k] * remaining / rest); }
      else { out.push(remaining / (n - 1)); }
    }
    w = out;
  }

  // numpy.percentile(..., method="linear") over values expanded by their counts.
  function percentile(vals, counts, total, q) {
    var order = vals.map(function (v, i) { return i; });
    order.sort(function (a, b) { return vals[a] - vals[b]; });
    function at(pos) {
      var acc = 0;
      for (var i = 0; i < order.length; i++) {
        acc += counts[order[i]];
        if (pos < acc) { return vals[order[i]]; }
      }
      return vals[order[order.length - 1]];
    }
    var h = (total - 1) * q / 100, lo = Math.floor(h), t = h - lo;
    var a = at(lo), b = at(Math.min(lo + 1, total - 1)), d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
  }

  function estimate(env) {
    var r = { rel: NaN, lo: NaN, hi: NaN, largest: "", note: "" };
    var active = [], k;
    for (k = 0; k < n; k++) { if (w[k] > 0) { active.push(k); } }
    var missing = active.filter(function (j) { return env.slowdown[j] === null; });
    if (missing.length) {
      r.note = missing.map(function (j) { return env.missing[j]; }).join("; ");
      return r;
    }
    var rel = 0, best = -Infinity;
    active.forEach(function (j) {
      rel += env.slowdown[j] * w[j];
      var c = (env.slowdown[j] - 1) * w[j];
      if (c > best) { best = c; r.largest = cats[j]; }
    });
    r.rel = rel;
    var reasons = active.map(function (j) { return env.no_interval[j]; }).filter(function (s) { return s; });
    if (reasons.length) { r.note = reasons.join("; "); return r; }
    if (!env.replicates) { r.note = "no bootstrap replicates: no interval"; return r; }
    var vals = [], counts = [], total = 0;
    env.replicates.rows.forEach(function (row, i) {
      var s = 0;
      for (var a = 0; a < active.length; a++) {
        var v = row[active[a]];
        if (v === null) { return; }
        s += v * w[active[a]];
      }
      vals.push(s); counts.push(env.replicates.counts[i]); total += env.replicates.counts[i];
    });
    if (total === 0) { r.note = "no usable bootstrap replicate for the weighted categories: no interval"; return r; }
    if (total < data.n_boot) {
      r.note = "interval from " + total + " of " + data.n_boot +
        " replicates (the others are undefined for a weighted category)";
    }
    r.lo = percentile(vals, counts, total, 2.5);
    r.hi = percentile(vals, counts, total, 97.5);
    return r;
  }

  function fmtRel(x) { return isFinite(x) ? x.toFixed(2) + "\u00d7" : "n/a"; }
  function fmtPct(x) { return isFinite(x) ? (x >= 0 ? "+" : "") + x.toFixed(1) + "%" : "n/a"; }
  function fmtCi(lo, hi) {
    return isFinite(lo) && isFinite(hi) ? lo.toFixed(2) + "\u2013" + hi.toFixed(2) + "\u00d7" : "no interval";
  }
  function cell(tr, text, cls, value) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    if (value !== undefined) { td.setAttribute("data-value", isFinite(value) ? String(value) : ""); }
    tr.appendChild(td);
  }

  var sliders = root.querySelectorAll("input.vp-share");
  var outputs = root.querySelectorAll("output.vp-share-out");
  var body = root.querySelector("tbody.vp-rows");
  var table = root.querySelector("table.vp-table");

  function render() {
    for (var k = 0; k < n; k++) {
      sliders[k].value = String(Math.round(w[k] * 100));
      outputs[k].textContent = (w[k] * 100).toFixed(1) + "%";
    }
    table.setAttribute("data-mix", cats.map(function (c, k) { return c + "=" + String(w[k]); }).join(","));
    while (body.firstChild) { body.removeChild(body.firstChild); }
    data.environments.forEach(function (env) {
      var r = estimate(env), tr = document.createElement("tr");
      tr.setAttribute("data-environment", env.name);
      cell(tr, env.name, "vp-env");
      cell(tr, env.baseline, "vp-base");
      cell(tr, fmtRel(r.rel), "vp-rel", r.rel);
      cell(tr, fmtPct((r.rel - 1) * 100), "vp-pct", (r.rel - 1) * 100);
      cell(tr, fmtCi(r.lo, r.hi), "vp-ci");
      tr.lastChild.setAttribute("data-low", isFinite(r.lo) ? String(r.lo) : "");
      tr.lastChild.setAttribute("data-high", isFinite(r.hi) ? String(r.hi) : "");
      cell(tr, r.largest, "vp-largest");
      cell(tr, r.note, "vp-note");
      body.appendChild(tr);
    });
  }

  Array.prototype.forEach.call(sliders, function (el, j) {
    el.disabled = false;
    el.addEventListener("input", function () { rebalance(j, parseFloat(el.value) / 100); render(); });
  });
  root.setAttribute("data-live", "1");
  render();
})();
"""


def render(prepared: Prepared, mix, *, environments=None, panel_id: str | None = None,
           title: str = "Overhead estimate (offline panel)") -> str:
    """The panel as one HTML fragment (no external resource), for a ``text/html`` output.

    The table is pre-filled with the model's numbers for ``mix``; the script takes over when
    the page runs scripts. ``panel_id`` (letters, digits, ``-``, ``_``) defaults to a random one.
    """
    mix = resolve_mix(mix)
    pid = panel_id or f"vizlib-panel-{uuid.uuid4().hex[:12]}"
    if not _ID.match(pid):
        raise ValueError(f"panel id {pid!r} must start with a letter and hold only letters, digits, '-', '_'")
    data = panel_data(prepared, mix, environments)
    idx = _select(prepared, environments)
    res = evaluate(prepared, mix).iloc[idx]
    e = html.escape
    out = [f'<div class="vizlib-panel" id="{e(pid)}">']
    out.append(
        f"<style>#{pid} {{font-family: sans-serif; font-size: 13px; max-width: 60em;}} "
        f"#{pid} label {{display: inline-block; margin: 0 1.2em 0.4em 0;}} "
        f"#{pid} label span {{display: inline-block; width: 5em;}} "
        f"#{pid} input[type=range] {{vertical-align: middle; width: 9em;}} "
        f"#{pid} table {{border-collapse: collapse; margin-top: 0.5em;}} "
        f"#{pid} th, #{pid} td {{padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left;}} "
        f"#{pid} td.vp-rel, #{pid} td.vp-pct, #{pid} td.vp-ci "
        f"{{text-align: right; font-variant-numeric: tabular-nums;}} "
        f"#{pid} .vp-caveat {{color: #555; font-style: italic;}} #{pid} .vp-note {{color: #555;}}</style>"
    )
    out.append(f"<h4>{e(title)}</h4>")
    out.append('<div class="vp-sliders">')
    for c in CATEGORIES:
        v = mix[c]
        out.append(f'<label><span>{e(c)}</span><input class="vp-share" type="range" min="0" max="100" step="1" '
                   f'value="{round(v * 100)}" data-category="{e(c)}" aria-label="{e(c)} share in percent" disabled>'
                   f'<output class="vp-share-out">{v * 100:.1f}%</output></label>')
    out.append("</div>")
    out.append(f'<table class="vp-table" data-mix="{e(format_mix(mix))}"><thead><tr><th>environment</th>'
               "<th>baseline</th><th>relative time</th><th>overhead</th><th>95% interval</th>"
               '<th>largest contributor</th><th>note</th></tr></thead><tbody class="vp-rows">')
    for r in res.itertuples(index=False):
        out.append(
            f'<tr data-environment="{e(r.environment)}"><td class="vp-env">{e(r.environment)}</td>'
            f'<td class="vp-base">{e(r.baseline)}</td>'
            f'<td class="vp-rel" data-value="{_attr(r.relative_time)}">{_fmt_rel(r.relative_time)}</td>'
            f'<td class="vp-pct" data-value="{_attr(r.overhead_pct)}">{_fmt_pct(r.overhead_pct)}</td>'
            f'<td class="vp-ci" data-low="{_attr(r.ci_low)}" data-high="{_attr(r.ci_high)}">'
            f"{_fmt_ci(r.ci_low, r.ci_high)}</td><td class=\"vp-largest\">{e(r.largest_category)}</td>"
            f'<td class="vp-note">{e(r.note)}</td></tr>')
    out.append("</tbody></table>")
    out.append('<p class="vp-help">Move a slider: the other shares are rescaled in proportion so the shares '
               "stay at 100%. relative time = sum(share \u00d7 slowdown of the category's lmbench item); the "
               "interval comes from the bootstrap over the runs. Without JavaScript the table shows the "
               "notebook's mix and the sliders stay disabled.</p>")
    out.append(f'<p class="vp-caveat">{e(CAVEAT)}</p>')
    out.append(f'<script type="application/json" id="{e(pid)}-data">{_json_for_script(data)}</script>')
    out.append("<script>" + PANEL_SCRIPT.replace("__PANEL_ID__", json.dumps(pid)) + "</script>")
    out.append("</div>")
    return "\n".join(out)


def _attr(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ""


class Panel:
    """``render``'s HTML with ``_repr_html_``, so ``display(Panel(...))`` gives a ``text/html`` output."""

    def __init__(self, prepared: Prepared, mix, **kwargs):
        self.html = render(prepared, mix, **kwargs)

    def _repr_html_(self) -> str:
        return self.html


def recompute(data: Mapping, mix) -> list[dict]:
    """The panel script's algorithm in Python, on the embedded payload (for tests and checks).

    Returns per environment ``{"environment", "relative_time", "ci_low", "ci_high",
    "largest_category"}``; it must agree with ``vizlib.model.evaluate``.
    """
    mix = resolve_mix(mix)
    cats = list(data["categories"])
    w = [mix[c] for c in cats]
    active = [j for j in range(len(cats)) if w[j] > 0]
    out = []
    for env in data["environments"]:
        rec = {"environment": env["name"], "relative_time": math.nan, "ci_low": math.nan, "ci_high": math.nan,
               "largest_category": ""}
        if any(env["slowdown"][j] is None for j in active):
            out.append(rec)
            continue
        rel, best = 0.0, -math.inf
        for j in active:
            rel += env["slowdown"][j] * w[j]
            c = (env["slowdown"][j] - 1) * w[j]
            if c > best:
                best, rec["largest_category"] = c, cats[j]
        rec["relative_time"] = rel
        if env["replicates"] and not any(env["no_interval"][j] for j in active):
            vals = []
            for row, count in zip(env["replicates"]["rows"], env["replicates"]["counts"]):
                if any(row[j] is None for j in active):
                    continue
                s = 0.0
                for j in active:
                    s += row[j] * w[j]
                vals.extend([s] * count)
            if vals:
                rec["ci_low"], rec["ci_high"] = (float(v) for v in np.percentile(vals, [2.5, 97.5]))
        out.append(rec)
    return out
