// The offline panel's script (vizlib/panel.py embeds it once per panel; __PANEL_ID__ is replaced
// by the panel's id as a JSON string). It recomputes the share-based estimate of
// vizlib.share_model in the browser from the JSON payload: the same data, the same summation
// order, the same share rule (vizlib.mix.rebalance) and numpy's default ("linear") percentile.
// It reads and writes only inside its own root element and writes text with textContent only.
(function () {
  "use strict";
  var root = document.getElementById(__PANEL_ID__);
  if (!root || root.getAttribute("data-live") === "1") { return; }
  var data = JSON.parse(document.getElementById(__PANEL_ID__ + "-data").textContent, function (k, v) {
    return v === "Infinity" ? Infinity : (v === "-Infinity" ? -Infinity : v);  // extreme draws that overflowed
  });
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
    if (!(best > 0)) { r.largest = ""; }  // no category adds time: no largest contributor
    r.rel = rel;
    var coarse = active.filter(function (j) { return env.low_precision[j]; })
      .map(function (j) { return env.representative[j]; });
    var lowNote = coarse.length ? "printed with low precision: " + coarse.join(", ") : "";
    function withLow(text) { return [text, lowNote].filter(function (x) { return x; }).join("; "); }
    var reasons = active.map(function (j) { return env.no_interval[j]; }).filter(function (s) { return s; });
    if (reasons.length) { r.note = withLow(reasons.join("; ")); return r; }
    if (!env.replicates) { r.note = withLow("no replicates: no interval"); return r; }
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
    if (total === 0) {
      r.note = withLow("no usable replicate for the weighted categories: no interval");
      return r;
    }
    if (total < data.n_boot) {
      r.note = "interval from " + total + " of " + data.n_boot +
        " replicates (the others are undefined for a weighted category)";
    }
    r.note = withLow(r.note);
    r.lo = percentile(vals, counts, total, 2.5);
    r.hi = percentile(vals, counts, total, 97.5);
    return r;
  }

  var NO_LARGEST = "none (no category adds time)";
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
  var body = root.querySelector("tbody.vx-rows");
  var table = root.querySelector("table.vizlib-estimate");

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
      cell(tr, env.name, "vx-env");
      cell(tr, env.baseline, "vx-base");
      cell(tr, fmtRel(r.rel), "vx-rel", r.rel);
      cell(tr, fmtPct((r.rel - 1) * 100), "vx-pct", (r.rel - 1) * 100);
      cell(tr, fmtCi(r.lo, r.hi), "vx-ci");
      tr.lastChild.setAttribute("data-low", isFinite(r.lo) ? String(r.lo) : "");
      tr.lastChild.setAttribute("data-high", isFinite(r.hi) ? String(r.hi) : "");
      cell(tr, r.largest || (isFinite(r.rel) ? NO_LARGEST : ""), "vx-largest");
      cell(tr, r.note, "vx-note");
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
