"""The overhead explorer through the ipywidgets Python API (no kernel, no browser), and notebook 04
under papermill with non-default parameters."""

from __future__ import annotations

import base64
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from vizlib import count_model, explorer, notebook, plots, presets, share_model, views
from vizlib import inputs as inputs_mod
from vizlib.errors import UsageError
from vizlib.mix import DEFAULT_MIX, parse_mix, rebalance, validate_mix
from vizlib.catalogue import CATEGORIES

REPO = Path(__file__).resolve().parents[1]
STRACE = REPO / "tests" / "data" / "strace"
NB04 = REPO / "notebooks" / "04_overhead_explorer.ipynb"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The shipped raw runs ingested into a scratch folder (tests never write data/processed)."""
    from vizlib import paths

    return inputs_mod.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW)


@pytest.fixture
def ex(inputs):
    return explorer.OverheadExplorer(inputs, DEFAULT_MIX)


class _Cells(HTMLParser):
    """Rows of an explorer table: {environment: {class: (text, attrs)}}."""

    def __init__(self):
        super().__init__()
        self.rows, self.table_attrs, self._row, self._cell = {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table_attrs = a
        elif tag == "tr" and "data-environment" in a:
            self._row = self.rows.setdefault(a["data-environment"], {})
        elif tag == "td" and self._row is not None:
            self._cell = [a.get("class", f"col{len(self._row)}"), "", a]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row[self._cell[0]] = (self._cell[1], self._cell[2])
            self._cell = None
        elif tag == "tr":
            self._row = None


def cells(html_text):
    p = _Cells()
    p.feed(html_text)
    return p


def slider_mix(ex):
    return {c: s.value / 100 for c, s in ex.sliders.items()}


def test_initial_state_matches_the_model(ex, inputs):
    assert ex.mix == parse_mix(DEFAULT_MIX)
    assert slider_mix(ex) == pytest.approx(ex.mix)
    assert ex.preset.value == explorer.CUSTOM
    exp = inputs.estimate(ex.mix).set_index("environment")
    rows = cells(ex.table.value).rows
    assert set(rows) == {"container", "tcg", "uml"}
    for env, r in rows.items():
        assert float(r["vx-rel"][1]["data-value"]) == exp.loc[env, "relative_time"]
        assert r["vx-rel"][0] == f"{exp.loc[env, 'relative_time']:,.2f}"  # unit in the header
        assert r["vx-largest"][0] == (exp.loc[env, "largest_category"] or views.NO_LARGEST)


def test_moving_a_slider_rescales_the_others_and_updates_the_table(ex, inputs):
    before = dict(ex.mix)
    old_table = ex.table.value
    ex.sliders["cpu"].value = 60
    assert ex.mix["cpu"] == 0.6
    assert sum(ex.mix.values()) == pytest.approx(1.0, abs=1e-12)
    assert sum(s.value for s in ex.sliders.values()) == pytest.approx(100.0, abs=1e-9)
    # the others keep their ratios: each is scaled by (1 - 0.6) / (1 - 0.4)
    for c in ("memory", "disk", "network", "kernel"):
        assert ex.mix[c] == pytest.approx(before[c] * 0.4 / 0.6)
        assert ex.sliders[c].value == pytest.approx(ex.mix[c] * 100)
    assert ex.table.value != old_table
    expected = share_model.evaluate(inputs.prepared()[1], rebalance(before, "cpu", 0.6)).set_index("environment")
    parsed = cells(ex.table.value)
    assert parse_mix(parsed.table_attrs["data-mix"]) == ex.mix
    for env, r in parsed.rows.items():
        assert float(r["vx-rel"][1]["data-value"]) == expected.loc[env, "relative_time"]
        assert float(r["vx-ci"][1]["data-low"]) == expected.loc[env, "ci_low"]
        assert r["vx-rel"][0] == f"{expected.loc[env, 'relative_time']:,.2f}"  # unit in the header


def test_one_model_update_per_slider_move(ex, monkeypatch):
    calls = []
    real = ex.update
    monkeypatch.setattr(ex, "update", lambda: (calls.append(1), real()))
    ex.sliders["memory"].value = 35
    assert len(calls) == 1  # the other four sliders were set under the guard flag


def test_slider_to_100_then_back_splits_equally(ex):
    ex.sliders["network"].value = 100
    assert ex.mix == {"cpu": 0.0, "memory": 0.0, "disk": 0.0, "network": 1.0, "kernel": 0.0}
    ex.sliders["network"].value = 60
    assert ex.mix == pytest.approx({"cpu": 0.1, "memory": 0.1, "disk": 0.1, "network": 0.6, "kernel": 0.1})
    assert sum(s.value for s in ex.sliders.values()) == pytest.approx(100)


def test_many_moves_keep_the_sum(ex):
    rng = np.random.default_rng(7)
    for _ in range(40):
        c = CATEGORIES[rng.integers(5)]
        ex.sliders[c].value = float(rng.integers(0, 101))
        assert sum(ex.mix.values()) == pytest.approx(1.0, abs=1e-9)
        assert min(ex.mix.values()) >= 0


def test_preset_sets_the_sliders_and_a_move_returns_to_custom(ex, inputs):
    ex.preset.value = "web_server"
    assert ex.mix == validate_mix(presets.PRESETS["web_server"].mix)
    assert slider_mix(ex) == pytest.approx(ex.mix)
    assert "Hu, Nanda" in ex.preset_note.value
    exp = inputs.estimate("web_server").set_index("environment")
    for env, r in cells(ex.table.value).rows.items():
        assert float(r["vx-rel"][1]["data-value"]) == exp.loc[env, "relative_time"]
    ex.sliders["cpu"].value = 30
    assert ex.preset.value == explorer.CUSTOM


def test_environment_selection_filters_table_and_chart(ex):
    ex.environments.value = ("tcg",)
    assert set(cells(ex.table.value).rows) == {"tcg"}
    assert len(ex.chart.outputs) == 1


def test_representative_dropdown_changes_the_estimate(ex, inputs):
    opts = ex.representative["disk"].options
    assert ("mmap_latency", None) in opts and ("mmap_latency", "0.524288") in opts
    sizes = dict((v, text) for text, v in ex.representative["disk"].choices["mmap_latency"])
    assert sizes["0.524288"] == "512 KB" and sizes["67.108864"] == "64 MB"  # sizes in words, not MB as printed
    ex.representative["disk"].value = ("mmap_latency", "0.524288")
    reps = dict(inputs.representatives, disk=("mmap_latency", "0.524288"))
    exp = inputs.estimate(ex.mix, reps).set_index("environment")
    for env, r in cells(ex.table.value).rows.items():
        assert float(r["vx-rel"][1]["data-value"]) == exp.loc[env, "relative_time"]
    assert exp.loc["uml", "relative_time"] != inputs.estimate(ex.mix).set_index("environment").loc["uml",
                                                                                                   "relative_time"]


def test_measured_slowdown_is_shown_beside_the_estimate(ex):
    ex.measured.value = 4.0
    assert cells(ex.table.value).table_attrs["data-measured"] == "4.0"
    assert "4.00\u00d7" in ex.summary.value and "tcg" in ex.summary.value.split("interval of:")[1]


def test_strace_paste_gives_the_count_based_estimate(ex, inputs):
    text = (STRACE / "workload.strace.txt").read_text()
    ex.time_v.value = (STRACE / "workload.time-v.txt").read_text()
    ex.strace.value = text
    prof = count_model.read_profile(text, ex.time_v.value)
    exp = inputs.count_estimate(prof).set_index("environment")
    rows = cells(ex.counts.value).rows
    assert set(rows) == {"container", "tcg", "uml"}
    for env, r in rows.items():
        assert float(r["vx-added"][1]["data-value"]) == exp.loc[env, "added_seconds"]
    assert "bind" in ex.counts.value  # unknown syscalls are listed


def test_bad_strace_paste_shows_an_escaped_error(ex):
    ex.strace.value = "<b>not strace</b>\n"
    assert "Cannot use this paste" in ex.counts.value and "<b>not" not in ex.counts.value
    assert ex.count_result is None


def test_file_upload_fills_the_textarea(ex):
    content = (STRACE / "workload.strace-U.txt").read_bytes()
    ex._on_upload({"new": ({"name": "s.txt", "type": "text/plain", "size": len(content),
                            "content": memoryview(content), "last_modified": 0},)})
    assert ex.strace.value == content.decode()
    assert "vx-added" in ex.counts.value


def test_chart_is_one_png_replaced_in_place(ex):
    for v in (10, 20, 30, 40):
        ex.sliders["kernel"].value = v
    assert len(ex.chart.outputs) == 1
    png = base64.b64decode(ex.chart.outputs[0]["data"]["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_timings_are_measured(ex):
    """The explorer reports its own timings (model, table, chart); their budgets are benchmark figures."""
    ex.sliders["cpu"].value = 23
    for t in (ex.last_model_ms, ex.last_table_ms, ex.last_draw_ms):
        assert math.isfinite(t) and t > 0
    assert f"model {ex.last_model_ms:.1f} ms" in ex.status.value


def test_hostile_environment_name_is_escaped_in_the_tables():
    import pandas as pd

    res = pd.DataFrame({"environment": ["<script>alert(1)</script>"], "baseline": ["h&<"],
                              "relative_time": [2.0], "overhead_pct": [100.0], "ci_low": [1.5], "ci_high": [2.5],
                              "largest_category": ["cpu"], "note": ["<img src=x onerror=alert(2)>"]})
    out = views.estimate_table_html(res, {"cpu": 1.0})
    assert "<script>" not in out and "<img" not in out and "&lt;script&gt;" in out


def test_plots_work_standalone(inputs):
    cs, prep = inputs.prepared()
    mix = parse_mix(DEFAULT_MIX)
    res = share_model.evaluate(prep, mix)
    sens = share_model.sensitivity(prep, mix, "memory")
    ax = plots.estimate_plot(res, measured=2.0)
    assert ax.get_xscale() == "log"  # uml is ~170x
    assert [t.get_text() for t in ax.get_yticklabels()] == ["container", "tcg", "uml"]
    ax2 = plots.sensitivity_plot(sens[sens.environment == "container"])
    assert ax2.get_yscale() == "linear"


# --- notebook 04 under papermill -------------------------------------------------------------------

@pytest.mark.slow
def test_notebook_04_runs_with_non_default_parameters(tmp_path, inputs):
    import papermill as pm

    out = tmp_path / "04.ipynb"
    params = {"mix": "cpu=0.3,memory=0.1,disk=0.3,network=0.2,kernel=0.1", "environments": "tcg,container",
              "strace_file": "tests/data/strace/workload.strace.txt",
              "time_v_file": "tests/data/strace/workload.time-v.txt", "measured_slowdown": 2.5,
              "processed_dir": str(inputs.processed_dir)}
    nb = pm.execute_notebook(str(NB04), str(out), parameters=params, kernel_name="python3", cwd=str(REPO),
                             progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html_out = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    # the estimate table is an ordinary output, before any widget, with the model's numbers
    exp = inputs.estimate(params["mix"]).set_index("environment")
    table = next(h for h in html_out if "relative time" in h and "largest contributor" in h)
    assert "uml" not in table
    rows = cells(table).rows
    for env in ("tcg", "container"):
        assert float(rows[env]["vx-rel"][1]["data-value"]) == exp.loc[env, "relative_time"]
    # a seaborn/matplotlib chart as an ordinary PNG output, once
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    # the count-based estimate ran on the strace file
    assert any("vizlib-counts" in h and "vx-added" in h for h in html_out)
    # the widget state was stored, and the panel is an ordinary text/html output
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
    widget_mime = "application/vnd.jupyter.widget-view+json"
    first_widget = next(i for i, o in enumerate(outputs) if widget_mime in o.get("data", {}))
    first_png = next(i for i, o in enumerate(outputs) if "image/png" in o.get("data", {}))
    assert first_png < first_widget
    panel_html = next(h for h in html_out if "vizlib-panel" in h)
    assert re.search(r'data-mix="cpu=0.3,memory=0.1,disk=0.3,network=0.2,kernel=0.1"', panel_html)
    assert nb.metadata.papermill.parameters["mix"] == params["mix"]


def test_a_selection_without_virtual_environments_is_refused(inputs):
    from types import SimpleNamespace

    ctx = SimpleNamespace(virtual=[], environments=["host"], manifest=inputs.manifest)
    with pytest.raises(UsageError, match="selects no virtual environment.*container, tcg, uml"):
        notebook.selected_virtual(ctx)
    with pytest.raises(UsageError, match="environments is empty"):
        explorer.OverheadExplorer(inputs, environments=[])
    with pytest.raises(UsageError, match="unknown environment"):
        explorer.OverheadExplorer(inputs, environments=["nope"])


# --- what the reader sees -------------------------------------------------------------------------

def shown_shares(ex) -> dict:
    return {c: re.search(r">([\d.]+)%<", ex.share_labels[c].value).group(1) for c in CATEGORIES}


def test_shown_shares_carry_percent_and_add_to_exactly_100(ex):
    rng = np.random.default_rng(11)
    for _ in range(25):
        ex.sliders[CATEGORIES[rng.integers(5)]].value = float(rng.integers(0, 101))
        shares = shown_shares(ex)
        assert sum(round(float(v) * 10) for v in shares.values()) == 1000, shares
        for c in CATEGORIES:
            assert not ex.sliders[c].readout  # the slider's own readout rounds each share alone
            assert abs(float(shares[c]) - ex.mix[c] * 100) <= 0.1 + 1e-9


def test_preset_note_is_folded_and_the_table_follows_the_controls(ex):
    ex.preset.value = "web_server"
    note = ex.preset_note.value
    assert note.startswith("<details") and "<summary>" in note and "Hu, Nanda" in note
    kids = list(ex.widget.children)
    # the answer comes right after the controls and the one-line preset summary
    assert kids.index(ex.table) == kids.index(ex.preset_note) + 1
    assert kids.index(ex.chart) < kids.index(ex.advanced)


def test_summary_explains_the_biggest_numbers(ex, inputs):
    ex.set_mix(parse_mix(DEFAULT_MIX))
    lines = re.findall(r"<li>(.*?)</li>", ex.summary.value)
    expected = views.explain_estimate(ex.prepared, ex.result, ex.mix, list(ex.environments.value))
    assert [html_unescape(x) for x in lines] == expected
    uml = next(x for x in expected if x.startswith("uml:"))
    assert "Page fault" in uml and "(memory, share 20%)" in uml


def html_unescape(text):
    import html

    return html.unescape(text)


def test_live_chart_is_shown_at_most_860_px_wide_and_sharp(ex):
    out = ex.chart.outputs[0]
    assert out["metadata"]["image/png"]["width"] == 860
    png = base64.b64decode(out["data"]["image/png"])
    width = int.from_bytes(png[16:20], "big")
    assert width == round(explorer.CHART_WIDTH_IN * ex.dpi) >= 860
    # tick labels: TICK_PT points at 100 CSS px per inch, scaled down to a 650 px output area
    assert plots.TICK_PT * 100 / 72 * 650 / 860 >= 10
    for ax in ex._axes:
        assert all(t.get_fontsize() >= plots.TICK_PT for t in ax.get_xticklabels() + ax.get_yticklabels())


def test_a_pasted_profile_gives_its_derived_mix_and_sets_the_shares(ex, inputs):
    from vizlib import appprofile, profile_mix

    strace_text = (STRACE / "workload.strace.txt").read_text()
    # the workload fixture ran too briefly for time -v's resolution (0.00 s): give it measurable times
    time_v_text = (STRACE / "workload.time-v.txt").read_text()
    ex.time_v.value = time_v_text
    ex.strace.value = strace_text
    assert ex.use_profile_mix.disabled and "below time -v" in ex.counts.value
    time_v_text = re.sub(r"User time \(seconds\): [\d.]+", "User time (seconds): 1.50",
                         re.sub(r"System time \(seconds\): [\d.]+", "System time (seconds): 0.50",
                                re.sub(r"\): 0:00\.00", "): 0:02.50", time_v_text)))
    ex.time_v.value = ""
    assert ex.use_profile_mix.disabled and "Paste the time -v output" in ex.counts.value
    ex.time_v.value = time_v_text
    assert not ex.use_profile_mix.disabled
    res, mixes = profile_mix.derived_estimates(inputs, appprofile.parse_time_v(time_v_text, "t"),
                                               appprofile.parse_strace_summary(strace_text, "s"))
    rows = cells(ex.counts.value.split("vizlib-derived", 1)[1].join(["<table class=\"vizlib-derived", ""])).rows
    for env, r in rows.items():
        assert float(r["vx-rel"][1]["data-value"]) == res.set_index("environment").loc[env, "relative_time"]
    ex.use_profile_mix.click()
    assert ex.mix == pytest.approx(mixes["container"].mix, abs=1e-12)
