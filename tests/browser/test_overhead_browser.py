"""Notebook 04 in a real browser: the live explorer in JupyterLab, and the offline panel in an
exported HTML page opened from a file:// URL with the network cut off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vizlib import inputs as inputs_mod, share_model
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


# --- (a) the live explorer in JupyterLab ---------------------------------------------------------

TABLE = ".widget-html table.vizlib-estimate"  # the explorer's table, not the static one above it


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


def test_live_explorer_slider_updates_the_estimate(page, jupyter_lab, prepared):
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
    before = _table_state(page)
    assert before["mix"] == format_mix(parse_mix(DEFAULT_MIX))
    exp = expected(prepared, before["mix"])
    for env, (value, text) in before["rows"].items():
        assert float(value) == pytest.approx(exp.loc[env, "relative_time"], rel=1e-12)

    handle = page.locator(".widget-hslider .noUi-handle").first  # the cpu slider comes first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"""() => {{
        const t = document.querySelector('{TABLE}');
        return t && t.getAttribute('data-mix') !== {json.dumps(before['mix'])};
    }}""", timeout=60_000)
    after = _table_state(page)
    mix = parse_mix(after["mix"])
    assert mix["cpu"] == pytest.approx(0.41)
    assert sum(mix.values()) == pytest.approx(1.0, abs=1e-9)
    assert mix == pytest.approx(rebalance(parse_mix(before["mix"]), "cpu", 0.41), abs=1e-12)
    exp = expected(prepared, after["mix"])
    changed = False
    for env, (value, text) in after["rows"].items():
        assert float(value) == pytest.approx(exp.loc[env, "relative_time"], rel=1e-12)
        assert text == f"{exp.loc[env, 'relative_time']:.2f}\u00d7"
        changed |= value != before["rows"][env][0]
    assert changed
    # the other sliders followed: their readouts sum to ~100 (rounded to one decimal each)
    readouts = page.locator(".widget-hslider .widget-readout").all_inner_texts()[:5]
    assert sum(float(r) for r in readouts) == pytest.approx(100, abs=0.3)
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
            assert text == f"{e['relative_time']:.2f}\u00d7"
            assert float(lo) == pytest.approx(e["ci_low"], rel=1e-12)
            assert float(hi) == pytest.approx(e["ci_high"], rel=1e-12)
    # the shares stay at 100 %
    outputs = root.locator("output.vp-share-out").all_inner_texts()
    assert sum(float(o.rstrip("%")) for o in outputs) == pytest.approx(100, abs=0.3)
    assert not page.errors
