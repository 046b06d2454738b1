"""The live overhead explorer: ipywidgets wired to the overhead models (controller pattern).

``OverheadExplorer`` owns the widgets and only wires their values to model functions
(``vizlib.share_model``, ``vizlib.count_model``); charts come from ``vizlib.plots`` and tables
from ``vizlib.views``:

- one ``FloatSlider`` per category (percent; its readout is our own label, the shares rounded by
  ``mix.display_percentages`` so the shown numbers add up to exactly 100). **The shares always add up to 100 %**: when one
  slider moves, the other categories are rescaled in proportion to their current shares so that
  they absorb the difference (``vizlib.mix.rebalance``; if they are all zero the remainder is
  split equally). The controller sets the other sliders itself under a guard flag (``_busy``)
  so their change events do not rebalance again, and keeps the exact shares in ``mix`` (the
  sliders show them rounded);
- a preset ``Dropdown`` (``vizlib.presets``; its source and rationale in a collapsed
  ``<details>`` below the controls, so choosing one never pushes the answer off screen), an
  environment ``SelectMultiple``, an "advanced" ``Accordion`` with an ``ItemPicker`` per category
  (the lmbench item by label and unit, then its size in words) choosing what represents it, a measured-slowdown ``FloatText`` (0 = none), the category whose share the
  sensitivity view varies, and for the count-based estimate an strace ``Textarea`` (paste), a
  ``FileUpload`` that fills it, and a GNU ``time -v`` ``Textarea``;
- outputs: ``table`` (the estimate table of ``views.estimate_table_html``), ``summary`` (one
  line per environment naming what makes its estimate, ``views.explain_estimate``),
  ``chart`` (an ``Output`` holding exactly one PNG, replaced in one state update: no duplicate
  figures, no flicker), ``counts`` (the count-based estimate) and ``status`` (errors, timings).

Timings of the last update are kept in ``last_model_ms`` (model functions: estimate +
sensitivity), ``last_table_ms`` and ``last_draw_ms`` (redrawing the chart into the ``Output``,
PNG included).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import time

import ipywidgets as W
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import appprofile, catalogue, count_model, presets, profile_mix, share_model
from .catalogue import CATEGORIES
from .errors import AppProfileError, UsageError
from .inputs import ModelInputs
from .mix import DEFAULT_MIX, display_percentages, format_mix, rebalance, resolve_mix
from .notebook import CHART_LIMIT
from .plots import EstimateArtists, SensitivityArtists, environment_palette
from .views import count_table_html, estimate_table_html, explain_estimate, explain_html

__all__ = ["OverheadExplorer", "ItemPicker", "CUSTOM"]

CUSTOM = "(custom)"
CHART_WIDTH_IN = 8.6  # the live chart, shown at most 860 CSS px wide (100 px per inch, whatever ``dpi``)
SHORT_CAVEAT = ("An estimate from lmbench microbenchmarks, not a measurement of your application: read the "
                "caveat above, and measure the real application before deciding.")
_E = html.escape


# --- the explorer --------------------------------------------------------------------------------

def _item_choices(overhead: pd.DataFrame, category: str) -> dict[str, list[tuple[str, str | None]]]:
    """metric -> [(size in words, param or None)] for every metric of ``category`` measured on both
    sides somewhere. None is the default size (the rule of ``categories.group_params``), offered
    where a metric has several sizes."""
    sub = overhead[overhead["category"] == category].drop_duplicates(["metric", "param"])
    out = {}
    for metric, g in sub.groupby("metric", sort=False):
        params = sorted(dict.fromkeys(g["param"].astype(str)), key=catalogue.size_key)
        if len(params) == 1:
            out[metric] = [(catalogue.param_text(metric, params[0]) or "(one value)", params[0])]
            continue
        numeric = all(catalogue.size_key(p)[0] == 0 for p in params)
        default = ("largest size measured on both sides" if numeric else
                   f"default: {catalogue.param_text(metric, catalogue.representative_param(metric, params))}")
        out[metric] = [(default, None)] + [(catalogue.param_text(metric, p), p) for p in params]
    return dict(sorted(out.items(), key=lambda kv: _metric_text(kv[0]).lower()))


def _metric_text(metric: str) -> str:
    try:
        m = catalogue.get(metric)
        return f"{m.label} ({m.unit}) \u00b7 {metric}"
    except KeyError:
        return metric


class ItemPicker:
    """Which lmbench item stands for one category: a metric dropdown (label, unit and id, sorted by
    label) and a size dropdown (sizes in words: 512 KB, not 0.524288). ``value`` is the
    ``(metric, param or None)`` the models take; ``on_change(value)`` is called once per change."""

    NOT_MEASURED = " (not measured on both sides anywhere)"

    def __init__(self, category: str, overhead: pd.DataFrame, current: tuple, on_change):
        self.choices = _item_choices(overhead, category)
        self._on_change = on_change
        self._busy = False
        metric, param = current
        labels = [(_metric_text(m), m) for m in self.choices]
        if metric not in self.choices:  # an explicit choice nobody measured: shown, and said so
            self.choices = {metric: [(catalogue.param_text(metric, param or "") or "(as given)", param)],
                            **self.choices}
            labels.insert(0, (_metric_text(metric) + self.NOT_MEASURED, metric))
        self.metric = W.Dropdown(options=labels, value=metric, description=category,
                                 style={"description_width": "5em"}, layout=W.Layout(width="30em"))
        self.size = W.Dropdown(options=self.choices[metric], value=self._valid(metric, param), description="size",
                               style={"description_width": "3em"}, layout=W.Layout(width="22em"))
        self.metric.observe(self._on_metric, names="value")
        self.size.observe(self._on_size, names="value")
        self.widget = W.HBox([self.metric, self.size])

    def _valid(self, metric, param):
        values = [v for _, v in self.choices[metric]]
        if param in values:
            return param
        return values[0]  # None (the default size) where offered, else the only size

    @property
    def value(self) -> tuple:
        return (self.metric.value, self.size.value)

    @value.setter
    def value(self, value) -> None:
        metric, param = value
        self._busy = True
        try:
            self.metric.value = metric
            self.size.options = self.choices[metric]
            self.size.value = self._valid(metric, param)
        finally:
            self._busy = False
        self._on_change(self.value)

    @property
    def options(self) -> list[tuple]:
        """Every (metric, param) the picker offers."""
        return [(m, v) for m, sizes in self.choices.items() for _, v in sizes]

    def _on_metric(self, change):
        if self._busy:
            return
        self._busy = True
        try:
            self.size.options = self.choices[change["new"]]
            self.size.value = self._valid(change["new"], None)
        finally:
            self._busy = False
        self._on_change(self.value)

    def _on_size(self, change):
        if not self._busy:
            self._on_change(self.value)


class OverheadExplorer:
    """Live explorer of the share-based (and count-based) estimate; display it in a notebook.

    ``inputs`` comes from ``vizlib.inputs.load_inputs``. ``mix`` is a mix, mix text or preset
    name; ``environments`` the virtual environments to show (None = all);
    ``measured_slowdown`` a relative run time measured with the real application (0 = none);
    ``strace_text``/``time_v_text`` pre-fill the count-based estimate.
    """

    def __init__(self, inputs: ModelInputs, mix=DEFAULT_MIX, *, environments=None,
                 measured_slowdown: float = 0.0, strace_text: str = "", time_v_text: str = "",
                 sensitivity_category: str | None = None, palette=None, dpi: int = 100):
        self.inputs = inputs
        self.mix = resolve_mix(mix)
        self.representatives = dict(inputs.representatives)
        self._busy = False
        self.last_model_ms = math.nan
        self.last_table_ms = math.nan
        self.last_draw_ms = math.nan
        self.result: pd.DataFrame | None = None
        self.sens: pd.DataFrame | None = None
        self.count_result: pd.DataFrame | None = None
        self.profile: count_model.AppProfile | None = None
        self.cs, self.prepared = inputs.prepared(self.representatives)
        all_envs = list(self.prepared.environments)
        self.palette = palette if palette is not None else environment_palette(inputs.manifest)

        style = {"description_width": "5em"}
        self.sliders, self.share_labels = {}, {}
        for c in CATEGORIES:
            s = W.FloatSlider(value=self.mix[c] * 100, min=0, max=100, step=1, description=c, readout=False,
                              continuous_update=False, style=style, layout=W.Layout(width="21em"))
            s.observe(self._make_slider_handler(c), names="value")
            self.sliders[c] = s
            self.share_labels[c] = W.HTML(layout=W.Layout(width="4.5em"))
        preset_opts = [(CUSTOM, CUSTOM)] + [(p.label, name) for name, p in presets.PRESETS.items()]
        self.preset = W.Dropdown(options=preset_opts, value=self._matching_preset(), description="preset",
                                 style=style, layout=W.Layout(width="26em"))
        self.preset.observe(self._on_preset, names="value")
        self.preset_note = W.HTML()
        if environments is not None and not list(environments):
            raise UsageError("environments is empty: pass None for all environments")
        envs = all_envs if environments is None else [e for e in environments if e in all_envs]
        self.selection_note = ""
        if environments is None and len(all_envs) > CHART_LIMIT:  # as the notebooks' charts: the largest first
            rel = share_model.evaluate(self.prepared, self.mix).set_index("environment")["relative_time"]
            top = set(rel.fillna(float("-inf")).sort_values(ascending=False, kind="stable").index[:CHART_LIMIT])
            envs = [e for e in all_envs if e in top]
            self.selection_note = (f"Showing the {CHART_LIMIT} of {len(all_envs)} virtual environments with the largest "
                                   "estimates for the starting mix; choose others in the environments list.")
        bad = [e for e in (environments or []) if e not in all_envs]
        if bad:
            raise UsageError(f"unknown environment(s) {', '.join(map(repr, bad))}; known: {', '.join(all_envs)}")
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
        for c in CATEGORIES:
            picker = ItemPicker(c, inputs.overhead, self.representatives[c], self._make_rep_handler(c))
            self.representatives[c] = picker.value  # "metric" alone with one measured size: that size
            self.representative[c] = picker
        self.advanced = W.Accordion(children=[W.VBox([W.HTML(
            '<div style="line-height:1.4">Which lmbench item stands for each category (default: the source\'s '
            "items plus the null system call): every item of the category measured on both sides in some "
            "environment, by name and unit, then its size.</div>")]
            + [p.widget for p in self.representative.values()])], selected_index=None)
        self.advanced.set_title(0, "advanced: representative lmbench items")

        self.strace = W.Textarea(value=strace_text or "", placeholder="paste the output of: strace -c -f -o out.txt "
                                 "your-command  (the summary table)", layout=W.Layout(width="48em", height="8em"),
                                 continuous_update=False)
        self.time_v = W.Textarea(value=time_v_text or "", placeholder="optional: paste the output of "
                                 "/usr/bin/time -v your-command (run without strace)",
                                 layout=W.Layout(width="48em", height="5em"), continuous_update=False)
        self.upload = W.FileUpload(accept=".txt,text/plain", multiple=False, description="strace file")
        self.upload.observe(self._on_upload, names="value")
        self.use_profile_mix = W.Button(description="set the shares to the profile's mix", disabled=True,
                                        layout=W.Layout(width="22em"),
                                        tooltip="the mix derived from the pasted strace -c -f and time -v")
        self.use_profile_mix.on_click(self._on_use_profile_mix)
        self.derived = None
        self.strace.observe(lambda ch: self.update_counts(), names="value")
        self.time_v.observe(lambda ch: self.update_counts(), names="value")

        self.table = W.HTML()
        self.summary = W.HTML()
        self.chart = W.Output(layout=W.Layout(min_height="300px"))
        self.counts = W.HTML()
        self.status = W.HTML()
        # One figure for the explorer's lifetime, drawn straight to PNG by Agg. A fixed layout (no
        # constrained layout, which draws the figure several times) keeps a redraw well under 200 ms.
        # At most CHART_CSS_PX wide on screen, narrower when the output area is (the image scales
        # down with it); its tick labels (plots.TICK_PT) stay at 10 px or more from a 650 px area up.
        self.dpi = dpi
        self._fig = Figure(figsize=(CHART_WIDTH_IN, 3.3), dpi=dpi)
        self._canvas = FigureCanvasAgg(self._fig)
        self._axes = self._fig.subplots(1, 2)
        self._fig.subplots_adjust(left=0.1, right=0.985, bottom=0.17, top=0.9, wspace=0.3)
        self._est_art: EstimateArtists | None = None
        self._sens_art: SensitivityArtists | None = None

        sliders = W.VBox([W.HBox([self.sliders[c], self.share_labels[c]]) for c in CATEGORIES] + [self.preset])
        self.widget = W.VBox([
            W.HTML("<b>Shares of run time</b> (always 100%: moving one rescales the others in proportion)"),
            W.HBox([sliders, W.VBox([self.environments, self.measured, self.sens_category])],
                   layout=W.Layout(flex_flow="row wrap")),
            self.preset_note, self.table, self.summary, self.chart, self.advanced,
            W.Accordion(children=[W.VBox([self.upload, self.strace, self.time_v, self.counts, self.use_profile_mix])],
                        titles=("count-based estimate from strace -c -f (and time -v)",),
                        selected_index=0 if self.strace.value.strip() else None),
            self.status,
        ])
        self._show_shares()
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

    def _shown_prepared(self, envs) -> share_model.Prepared:
        """The prepared arrays of the environments shown: the estimate and the sensitivity view are
        computed for them only (selected once per choice of environments, not per slider move)."""
        key = (tuple(envs), self.prepared)  # a new representative makes a new ``prepared``
        cached = getattr(self, "_shown", None)
        if cached is None or cached[0][0] != key[0] or cached[0][1] is not key[1]:
            self._shown = (key, self.prepared.select([e for e in self.prepared.environments if e in set(envs)]))
        return self._shown[1]

    def _largest_category(self) -> str:
        res = share_model.evaluate(self.prepared, self.mix)
        vals = [c for c in res["largest_category"] if c]
        return max(set(vals), key=vals.count) if vals else CATEGORIES[0]

    def _make_slider_handler(self, category):
        def handler(change):
            if self._busy:
                return
            self.set_mix(rebalance(self.mix, category, change["new"] / 100.0), keep_preset=False)
        return handler

    def _make_rep_handler(self, category):
        def handler(value):
            if self._busy:
                return
            self.representatives[category] = value
            self.cs, self.prepared = self.inputs.prepared(self.representatives)
            self.update()
        return handler

    def _on_preset(self, change):
        if self._busy or change["new"] == CUSTOM:
            self._show_preset_note()
            return
        self.set_mix(presets.PRESETS[change["new"]].mix, keep_preset=True)

    def _show_preset_note(self):
        """The preset's source in one line, its rationale folded away: the answer stays in view."""
        name = self.preset.value
        if name == CUSTOM:
            self.preset_note.value = ""
        else:
            p = presets.PRESETS[name]
            self.preset_note.value = (
                '<details class="vizlib-preset-note" style="line-height:1.4;font-size:92%;color:#444;margin:2px 0">'
                f"<summary>Preset <b>{_E(p.label)}</b>: where its shares come from</summary>"
                f'<div style="max-width:60em;margin:4px 0 4px 1.2em">{_E(p.rationale)} <i>Source: {_E(p.source)}.</i>'
                "</div></details>")

    def _show_shares(self):
        """Each slider's share as a label, rounded so that the five add up to exactly 100%."""
        for c, pct in display_percentages(self.mix).items():
            self.share_labels[c].value = f'<span class="vizlib-share" data-category="{_E(c)}">{pct:.1f}%</span>'

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        content = f["content"] if isinstance(f, dict) else f.content
        self.strace.value = bytes(content).decode("utf-8", errors="replace")

    def set_mix(self, mix, keep_preset: bool = False) -> None:
        """Set all shares (validated) and update; the sliders follow without rebalancing again."""
        self.mix = resolve_mix(mix)
        self._busy = True
        try:
            with self.widget.hold_sync() if hasattr(self, "widget") else contextlib.nullcontext():
                for c, s in self.sliders.items():
                    s.value = self.mix[c] * 100
                if not keep_preset:
                    self.preset.value = self._matching_preset()
        finally:
            self._busy = False
        self._show_preset_note()
        self._show_shares()
        self.update()

    # -- computing and drawing
    def update(self) -> None:
        """Recompute the model for the current inputs and refresh the table, summary and chart."""
        if self._busy:
            return
        envs = list(self.environments.value)
        cat = self.sens_category.value or CATEGORIES[0]
        t0 = time.perf_counter()
        shown = self._shown_prepared(envs)  # only what is shown is computed (40 environments stay fast)
        self.result = share_model.evaluate(shown, self.mix)
        self.sens = share_model.sensitivity(shown, self.mix, cat)
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
        """What makes each estimate, one line per environment, and where a measured slowdown falls."""
        res = self.result[self.result["environment"].isin(envs)]
        text = explain_html(explain_estimate(self.prepared, self.result, self.mix, envs))
        if self.selection_note and len(envs) < len(self.environments.options):
            text = f'<p style="line-height:1.4;color:#555">{_E(self.selection_note)}</p>' + text
        if measured:
            inside = [r.environment for r in res.itertuples(index=False)
                      if math.isfinite(r.ci_low) and r.ci_low <= measured <= r.ci_high]
            text += (f'<p style="line-height:1.4">Your measured slowdown {measured:.2f}\u00d7 lies inside the 95% '
                     f"interval of: {_E(', '.join(inside)) if inside else 'none'} (compare it with the environment "
                     "you measured it in).</p>")
        return text + f"<p style='line-height:1.4;color:#555;font-style:italic;margin:0'>{_E(SHORT_CAVEAT)}</p>"

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
            self._est_art = EstimateArtists(ax, est, measured, self.palette)
        if self._sens_art is None or not self._sens_art.update(sens, share):
            ax = self._axes[1]
            ax.clear()
            ax.set_yscale("linear")
            self._sens_art = SensitivityArtists(ax, sens, share, self.palette)
        buf = io.BytesIO()
        self._canvas.print_png(buf)
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.chart.outputs = ({"output_type": "display_data",
                               "metadata": {"image/png": {"width": round(CHART_WIDTH_IN * 100)}},
                               "data": {"image/png": png, "text/plain": "<overhead chart>"}},)
        self.last_draw_ms = (time.perf_counter() - t0) * 1e3

    def update_counts(self) -> None:
        """Parse the pasted strace (and time -v) text and show the count-based estimate."""
        text = self.strace.value
        if not text.strip():
            self.profile = self.count_result = None
            self.counts.value = ""
            return
        try:
            self.profile = count_model.read_profile(text, self.time_v.value, strace_source="strace paste",
                                              time_v_source="time -v paste")
        except AppProfileError as exc:
            self.profile = self.count_result = None
            self.counts.value = f'<p style="color:#b00">Cannot use this paste: {_E(str(exc))}</p>'
            return
        self.count_result = self.inputs.count_estimate(self.profile)
        res = self.count_result[self.count_result["environment"].isin(list(self.environments.value))]
        self.counts.value = count_table_html(res, self.profile) + self._derived_html(text)

    def _derived_html(self, strace_text: str) -> str:
        """With a time -v paste too: the mix derived from the profile (``profile_mix``), its estimate,
        and the button that sets the sliders to it."""
        self.derived = None
        self.use_profile_mix.disabled = True
        if not self.time_v.value.strip():
            return ('<p style="line-height:1.4">Paste the time -v output of the same application as well to '
                    "derive its mix (shares of run time) from the profile instead of setting it by hand.</p>")
        try:
            strace = appprofile.parse_strace_summary(strace_text, source="strace paste")
            time_v = appprofile.parse_time_v(self.time_v.value, source="time -v paste")
            res, mixes = profile_mix.derived_estimates(self.inputs, time_v, strace)
        except AppProfileError as exc:
            return f'<p style="color:#b00">No mix from this profile: {_E(str(exc))}</p>'
        shown = res[res["environment"].isin(list(self.environments.value))]
        derived = [mixes[e] for e in shown["environment"] if e in mixes]
        if not derived:
            why = "; ".join(dict.fromkeys(n for n in shown["note"] if n)) or "no environment shown"
            return f'<p style="color:#b00">No mix from this profile: {_E(why)}</p>'
        self.derived = derived[0]  # the mix of the first environment shown (its baseline's prices)
        self.use_profile_mix.disabled = False
        return (f'<p style="line-height:1.4"><b>Mix derived from this profile</b> (README: How the numbers are '
                f"made; priced on {_E(shown['baseline'].iat[0])}): {_E(format_mix(self.derived.mix, digits=3))}; "
                f"waiting {self.derived.wait_fraction:.0%} of the run time, not slowed. Share-based estimate for "
                "the whole run, waiting included (the button sets the sliders to the mix; the table above then "
                "leaves the waiting out, so it shows more overhead than this one):</p>"
                + estimate_table_html(shown, self.derived.mix, css_class="vizlib-derived"))

    def _on_use_profile_mix(self, _button) -> None:
        if self.derived is not None:
            self.set_mix(self.derived.mix)
