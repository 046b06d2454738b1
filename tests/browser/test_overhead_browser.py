"""Notebook 04 in a real browser: the live explorer in JupyterLab, and the offline panel in an
exported HTML page opened from a file:// URL with the network cut off."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vizlib import inputs as inputs_mod, presets, share_model, views
from vizlib.catalogue import CATEGORIES
from vizlib.mix import DEFAULT_MIX, format_mix, parse_mix, rebalance

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NB04 = REPO / "notebooks" / "04_overhead_explorer.ipynb"


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """The shipped raw runs ingested into a scratch folder (tests never write data/processed)."""
    from vizlib import ingest, paths

    folder = tmp_path_factory.mktemp("processed")
    ingest.ingest(paths.RAW, folder)
    return folder


@pytest.fixture(scope="module")
def prepared(processed):
    from vizlib import paths

    return inputs_mod.load_inputs(processed, paths.RAW).prepared()[1]


def expected(prepared, mix_text):
    return share_model.evaluate(prepared, parse_mix(mix_text)).set_index("environment")


# --- (a) the live explorer in JupyterLab, at 1100 x 800 -------------------------------------------

TABLE = ".widget-html table.vizlib-estimate"  # the explorer's table, not the static one above it
VIEWPORT = {"width": 1100, "height": 800}
SCREENSHOT_DIR = os.environ.get("VIZLIB_SCREENSHOT_DIR", "")  # set: the explorer's screenshot is saved there


def _table_state(page):
    return page.evaluate("""() => {
        const t = document.querySelector('.widget-html table.vizlib-estimate');
        if (!t) return null;
        const rows = {};
        t.querySelectorAll('tr[data-environment]').forEach(tr => {
            const td = tr.querySelector('td.vx-rel');
            rows[tr.getAttribute('data-environment')] = [td.getAttribute('data-value'), td.textContent];
        });
        return {mix: t.getAttribute('data-mix'), rows: rows};
    }""")


def _wait_mix_change(page, before_mix):
    page.wait_for_function(f"""() => {{
        const t = document.querySelector('{TABLE}');
        return t && t.getAttribute('data-mix') !== {json.dumps(before_mix)};
    }}""", timeout=60_000)


@pytest.fixture(scope="module")
def lab_page(browser_context, jupyter_lab):
    """Notebook 04 opened in JupyterLab at 1100 x 800 (file browser as JupyterLab opens it) and run once."""
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.set_viewport_size(VIEWPORT)
    page.set_default_timeout(120_000)
    page.goto(f"{jupyter_lab['url']}/lab/tree/04_overhead_explorer.ipynb?reset")
    page.wait_for_function("""() => {
        const app = window.jupyterapp;
        const w = app && app.shell.currentWidget;
        const s = w && w.sessionContext && w.sessionContext.session;
        return !!(s && s.kernel && s.kernel.status === 'idle');
    }""", timeout=120_000)
    # fire and forget: awaiting run-all from evaluate() can hang
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
    page.wait_for_selector(TABLE, timeout=180_000)
    page.wait_for_selector(".widget-hslider .noUi-handle", timeout=60_000)
    page.wait_for_selector("div.vizlib-panel[data-live='1']", timeout=60_000)
    try:
        yield page
    finally:
        page.close()


def _shares(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('span.vizlib-share'))
        .map(s => [s.getAttribute('data-category'), s.textContent]))""")


def test_live_explorer_slider_updates_the_estimate(lab_page, prepared):
    page = lab_page
    before = _table_state(page)
    exp = expected(prepared, before["mix"])
    for env, (value, text) in before["rows"].items():
        assert float(value) == pytest.approx(exp.loc[env, "relative_time"], rel=1e-12)
    cpu_before = parse_mix(before["mix"])["cpu"]

    handle = page.locator(".widget-hslider .noUi-handle").first  # the cpu slider comes first
    handle.focus()
    page.keyboard.press("ArrowRight")
    _wait_mix_change(page, before["mix"])
    after = _table_state(page)
    mix = parse_mix(after["mix"])
    assert mix["cpu"] == pytest.approx(round(cpu_before * 100 + 1) / 100)
    assert sum(mix.values()) == pytest.approx(1.0, abs=1e-9)
    assert mix == pytest.approx(rebalance(parse_mix(before["mix"]), "cpu", mix["cpu"]), abs=1e-12)
    exp = expected(prepared, after["mix"])
    changed = False
    for env, (value, text) in after["rows"].items():
        assert float(value) == pytest.approx(exp.loc[env, "relative_time"], rel=1e-12)
        assert text == f"{exp.loc[env, 'relative_time']:,.2f}"  # unit in the header
        changed |= value != before["rows"][env][0]
    assert changed
    # the shown shares follow, carry "%", and add up to exactly 100
    shares = _shares(page)
    assert set(shares) == set(CATEGORIES) and all(v.endswith("%") for v in shares.values())
    assert sum(round(float(v.rstrip("%")) * 10) for v in shares.values()) == 1000
    for c, v in shares.items():
        assert abs(float(v.rstrip("%")) - mix[c] * 100) <= 0.1 + 1e-9
    assert not page.errors


def test_choosing_a_preset_keeps_the_estimate_in_view(lab_page):
    page = lab_page
    label = presets.PRESETS["web_server"].label
    select = page.locator(".widget-dropdown select").filter(has=page.locator("option", has_text=label))
    # the explorer's top at the top of the notebook panel, as a reader who scrolled to it sees it
    page.locator(".widget-html b", has_text="Shares of run time").first.evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    before = _table_state(page)["mix"]
    select.select_option(label=label)
    _wait_mix_change(page, before)
    assert parse_mix(_table_state(page)["mix"]) == pytest.approx(presets.PRESETS["web_server"].mix, abs=1e-12)
    box = page.locator(TABLE).bounding_box()
    height = page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)
    # the preset's explanation is folded to one line, at normal line spacing
    note = page.locator("details.vizlib-preset-note")
    assert note.count() == 1 and note.bounding_box()["height"] < 36
    font, line = note.evaluate("e => [parseFloat(getComputedStyle(e).fontSize), parseFloat(getComputedStyle(e).lineHeight)]")
    assert line <= 1.5 * font
    shares = _shares(page)
    assert sum(round(float(v.rstrip("%")) * 10) for v in shares.values()) == 1000
    if SCREENSHOT_DIR:  # the README's screenshot (see README: What each notebook shows)
        out = Path(SCREENSHOT_DIR)
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / "explorer.png"))


def test_live_chart_tick_labels_are_at_least_10_px(lab_page):
    from vizlib import explorer, plots

    page = lab_page
    # the chart's <img> is replaced on every redraw: measure whichever one is there once it has loaded
    size = page.wait_for_function("""() => {
        const i = document.querySelector('.widget-output img');
        if (!i || !i.complete || !i.naturalWidth) return null;
        i.scrollIntoView({block: 'center'});
        const w = i.getBoundingClientRect().width;
        return w > 0 ? {shown: w, natural: i.naturalWidth} : null;
    }""", timeout=60_000).json_value()
    assert size["natural"] == round(explorer.CHART_WIDTH_IN * 100)
    tick_px = plots.TICK_PT * 100 / 72 * size["shown"] / size["natural"]  # 100 dpi: the PNG's own scale
    assert tick_px >= 10, (size, tick_px)


def test_offline_panel_keyboard_works_inside_jupyterlab(lab_page):
    page = lab_page
    root = page.locator("div.vizlib-panel[data-live='1']").first
    slider = root.locator("input.vp-share[data-category='memory']")
    slider.scroll_into_view_if_needed()
    before = root.locator("table.vizlib-estimate").get_attribute("data-mix")
    slider.focus()  # focusing makes the panel's cell the active one
    active_cell = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    after = root.locator("table.vizlib-estimate").get_attribute("data-mix")
    assert after != before
    assert parse_mix(after)["memory"] == pytest.approx(int(slider.input_value()) / 100)
    # the keys moved the slider, not the notebook's cell selection
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active_cell
    assert not page.errors


# --- (b) the offline panel in exported HTML ------------------------------------------------------

@pytest.fixture(scope="module")
def executed_04(shipped_report):
    """Notebook 04 as the shipped report executed it (every virtual environment, default mix)."""
    folder, _ = shipped_report
    return folder / "04_overhead_explorer.ipynb"


def _export(executed, how, folder):
    html_path = folder / f"04-{how}.html"
    if how == "nbconvert":
        import nbformat
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(str(executed), as_version=4))
        html_path.write_text(body, encoding="utf-8")
    else:
        from vizlib import report

        report.export_html(executed, html_path)
    return html_path


@pytest.mark.parametrize("how", ["nbconvert", "report"])
def test_offline_panel_in_exported_html(page, executed_04, tmp_path, prepared, how):
    html_path = _export(executed_04, how, tmp_path)
    page.set_viewport_size(VIEWPORT)
    page.goto(html_path.as_uri())
    root = page.locator("div.vizlib-panel[data-live='1']")
    root.wait_for(timeout=30_000)

    def state():
        return root.evaluate("""r => ({
            mix: r.querySelector('table.vizlib-estimate').getAttribute('data-mix'),
            rows: Array.from(r.querySelectorAll('tr[data-environment]')).map(tr => [
                tr.getAttribute('data-environment'),
                tr.querySelector('td.vx-rel').getAttribute('data-value'),
                tr.querySelector('td.vx-rel').textContent,
                tr.querySelector('td.vx-ci').getAttribute('data-low'),
                tr.querySelector('td.vx-ci').getAttribute('data-high')])
        })""")

    before = state()
    exp = expected(prepared, before["mix"])
    for env, value, text, lo, hi in before["rows"]:
        assert float(value) == exp.loc[env, "relative_time"]

    # keyboard moves on several sliders: after each, every row equals the Python model for the new mix
    mix = parse_mix(DEFAULT_MIX)
    for category, key, presses in (("cpu", "ArrowRight", 1), ("memory", "ArrowLeft", 20), ("disk", "End", 1),
                                   ("network", "ArrowRight", 37), ("kernel", "Home", 1)):
        root.locator(f"input.vp-share[data-category='{category}']").focus()
        for _ in range(presses):
            page.keyboard.press(key)
        after = state()
        got = parse_mix(after["mix"])
        slider = int(root.locator(f"input.vp-share[data-category='{category}']").input_value())
        mix = rebalance(mix, category, slider / 100)
        assert got == pytest.approx(mix, abs=1e-12), (category, got, mix)
        exp = expected(prepared, after["mix"])
        assert [r[0] for r in after["rows"]] == ["container", "tcg", "uml"]
        for env, value, text, lo, hi in after["rows"]:
            e = exp.loc[env]
            assert float(value) == pytest.approx(e["relative_time"], rel=1e-14)
            assert text == f"{e['relative_time']:,.2f}"  # unit in the header
            assert float(lo) == pytest.approx(e["ci_low"], rel=1e-12)
            assert float(hi) == pytest.approx(e["ci_high"], rel=1e-12)
    # the shown shares add up to exactly 100 %, and the explanation lines are the Python ones
    outputs = root.locator("output.vp-share-out").all_inner_texts()
    assert sum(round(float(o.rstrip("%")) * 10) for o in outputs) == 1000
    mix = parse_mix(root.locator("table.vizlib-estimate").get_attribute("data-mix"))
    lines = root.locator("ul.vizlib-explain li").all_inner_texts()
    assert lines == views.explain_estimate(prepared, share_model.evaluate(prepared, mix), mix)
    assert not page.errors
