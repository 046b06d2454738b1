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

  // The number formats of vizlib.views (rel_text, pct_text, interval_brackets, times_text).
  var NO_LARGEST = "none (no category adds time)";
  function grouped(x, digits) {  // Python's format(x, ",.{digits}f")
    var parts = Math.abs(x).toFixed(digits).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (x < 0 || Object.is(x, -0) ? "-" : "") + parts.join(".");
  }
  function fmtRel(x) { return isFinite(x) ? grouped(x, 2) : "n/a"; }
  function fmtPct(x) {
    if (!isFinite(x)) { return "n/a"; }
    var text = Math.abs(x) >= 1000 ? grouped(x, 0) : grouped(x, 1);
    return text.charAt(0) === "-" ? text : "+" + text;
  }
  function fmtCi(lo, hi) {
    return isFinite(lo) && isFinite(hi) ? "[" + grouped(lo, 2) + ", " + grouped(hi, 2) + "]" : "no interval";
  }
  function timesText(x) {
    if (!isFinite(x)) { return "n/a"; }
    var a = Math.abs(x);
    return (a >= 100 ? grouped(x, 0) : a >= 10 ? x.toFixed(1) : x.toFixed(2)) + "\u00d7";
  }

  // vizlib.mix.display_percentages: one decimal, largest remainder, so the shown shares add to 100.
  function shownShares() {
    var raw = w.map(function (x) { return x * 100 * 10; });
    var floors = raw.map(function (x) { return Math.floor(x); });
    var short = 1000 - floors.reduce(function (a, b) { return a + b; }, 0);
    var order = raw.map(function (x, k) { return k; });
    order.sort(function (a, b) { return (raw[b] - floors[b]) - (raw[a] - floors[a]) || a - b; });
    for (var i = 0; i < Math.max(0, short) && i < n; i++) { floors[order[i]] += 1; }
    return floors.map(function (f) { return f / 10; });
  }

  // vizlib.views.explain_estimate: what makes each estimate, in one line.
  function explain(env, r, shares) {
    if (!isFinite(r.rel)) { return env.name + ": no estimate (" + r.note + ")"; }
    var contrib = [], k;
    for (k = 0; k < n; k++) {
      var s = env.slowdown[k];
      if (w[k] > 0 && s !== null && isFinite(s) && w[k] * (s - 1) > 0) { contrib.push([w[k] * (s - 1), k]); }
    }
    if (!contrib.length) {
      return env.name + ": " + timesText(r.rel) + " \u2014 no category adds time: every category with a share " +
        "runs at least as fast as on " + env.baseline;
    }
    contrib.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    var total = contrib.reduce(function (a, c) { return a + c[0]; }, 0), acc = 0, chosen = [];
    for (k = 0; k < contrib.length; k++) {
      chosen.push(contrib[k][1]);
      acc += contrib[k][0];
      if (acc >= data.explain_share * total || chosen.length === 3) { break; }
    }
    var parts = chosen.map(function (j) {
      return env.item_label[j] + " " + timesText(env.slowdown[j]) + " (" + cats[j] + ", share " +
        String(shares[j]) + "%)";
    });
    var text = parts.length === 1 ? parts[0] :
      parts.slice(0, -1).join(", ") + " and " + parts[parts.length - 1];
    var tail = chosen.length === contrib.length ? "" :
      " (" + Math.round(100 * acc / total) + "% of the added time)";
    return env.name + ": " + timesText(r.rel) + " \u2014 " + text + (chosen.length === 1 ? " dominates" : " dominate") + tail;
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
  var explained = root.querySelector("ul.vizlib-explain");

  function render() {
    var shares = shownShares();
    for (var k = 0; k < n; k++) {
      sliders[k].value = String(Math.round(w[k] * 100));
      outputs[k].textContent = shares[k].toFixed(1) + "%";
    }
    while (explained.firstChild) { explained.removeChild(explained.firstChild); }
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
      body.appendChild(tr);
      if (r.note) {  // views.estimate_table_html: the note on its own line under the row
        var noteRow = document.createElement("tr");
        noteRow.className = "vx-note-row";
        noteRow.setAttribute("data-note-of", env.name);
        cell(noteRow, r.note, "vx-note");
        noteRow.lastChild.setAttribute("colspan", "6");
        body.appendChild(noteRow);
      }
      var li = document.createElement("li");
      li.textContent = explain(env, r, shares);
      explained.appendChild(li);
    });
  }

  Array.prototype.forEach.call(sliders, function (el, j) {
    el.disabled = false;
    el.addEventListener("input", function () { rebalance(j, parseFloat(el.value) / 100); render(); });
    // keys belong to the slider: JupyterLab's notebook shortcuts must not see them
    el.addEventListener("keydown", function (ev) { ev.stopPropagation(); });
  });
  root.setAttribute("data-live", "1");
  render();
})();
