"""The offline HTML/JS panel: its embedded data are the model's, everything embedded is escaped, and
nbconvert's HTML export keeps it working. The browser tests run its script against the model."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import nbformat
import numpy as np
import pytest

from vizlib import inputs as inputs_mod, panel, share_model
from vizlib.errors import UsageError
from vizlib.mix import DEFAULT_MIX, parse_mix
from vizlib.views import CAVEAT
from vizlib.catalogue import CATEGORIES

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from vizlib import paths

    inputs = inputs_mod.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW)
    return inputs.prepared()[1]


class _Doc(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self._in_script, self.text = [], [], None, []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = [dict(attrs), ""]

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script[1] += data
        else:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append(tuple(self._in_script))
            self._in_script = None


def parse(html_text):
    d = _Doc()
    d.feed(html_text)
    d.close()
    return d


def test_replicates_are_compressed_exactly(prepared):
    data = panel.panel_data(prepared, DEFAULT_MIX)
    for i, env in enumerate(data["environments"]):
        rows, counts = np.array(env["replicates"]["rows"], dtype=float), env["replicates"]["counts"]
        assert sum(counts) == data["n_boot"]
        expanded = np.repeat(rows, counts, axis=0)
        original = prepared.replicates[i]
        order = lambda a: a[np.lexsort(np.nan_to_num(a, nan=-1.0, posinf=1e308).T[::-1])]  # noqa: E731
        np.testing.assert_array_equal(order(expanded), order(original))  # NaN and inf kept, exactly


def test_panel_html_is_self_contained_and_prefilled(prepared):
    html_text = panel.render(prepared, DEFAULT_MIX, panel_id="p-test")
    assert "http://" not in html_text and "https://" not in html_text and " src=" not in html_text
    doc = parse(html_text)
    ids = [a.get("id") for _t, a in doc.tags if a.get("id")]
    assert ids == ["p-test", "p-test-data"]
    ranges = [a for t, a in doc.tags if t == "input"]
    assert [a["data-category"] for a in ranges] == list(CATEGORIES)
    assert all(a["type"] == "range" and "disabled" in a for a in ranges)  # enabled by the script
    ev = share_model.evaluate(prepared, parse_mix(DEFAULT_MIX)).set_index("environment")
    rel = [a for t, a in doc.tags if t == "td" and a.get("class") == "vx-rel"]
    assert [float(a["data-value"]) for a in rel] == list(ev["relative_time"])
    assert CAVEAT in "".join(doc.text)


def test_two_panels_have_distinct_ids(prepared):
    a = parse(panel.render(prepared, DEFAULT_MIX))
    b = parse(panel.render(prepared, DEFAULT_MIX))
    ida = {x.get("id") for _t, x in a.tags} - {None}
    idb = {x.get("id") for _t, x in b.tags} - {None}
    assert not ida & idb
    root = next(i for i in ida if not i.endswith("-data"))
    assert json.dumps(root) in a.scripts[1][1]  # the script only looks up its own root


def test_bad_panel_id_is_refused(prepared):
    with pytest.raises(UsageError):
        panel.render(prepared, DEFAULT_MIX, panel_id='x" onload="alert(1)')


def hostile_prepared(prepared):
    p = share_model.Prepared(
        environments=[HOSTILE, "a&b", "</script><img src=x onerror=alert(2)>"],
        baselines=["<b>host</b>"] * 3,
        slowdown=prepared.slowdown[[0, 1, 2]].copy(),
        replicates=prepared.replicates[[0, 1, 2]].copy(),
        interval_reason=[[""] * 5 for _ in range(3)],
        missing_reason=[["<i>why</i>"] * 5 for _ in range(3)],
        representative=[["x<y"] * 5 for _ in range(3)],
    )
    p.slowdown[2, 1] = np.nan  # a missing category: its (hostile) reason is shown as a note
    return p


def test_hostile_environment_names_are_escaped(prepared):
    hp = hostile_prepared(prepared)
    html_text = panel.render(hp, DEFAULT_MIX, panel_id="evil")
    doc = parse(html_text)
    tags = [t for t, _a in doc.tags]
    assert tags.count("script") == 2 and "img" not in tags and "b" not in tags and "i" not in tags
    (data_attrs, data_text), (code_attrs, code_text) = doc.scripts
    assert data_attrs == {"type": "application/json", "id": "evil-data"}
    assert code_attrs == {}
    assert "<" not in data_text and ">" not in data_text and "&" not in data_text
    payload = json.loads(data_text)
    assert [e["name"] for e in payload["environments"]] == hp.environments  # intact after escaping
    assert "innerHTML" not in code_text and "textContent" in code_text
    visible = "".join(doc.text)
    assert HOSTILE in visible  # shown as text, not as markup
    # no live element came from a name: every tag is one the panel itself writes
    assert set(tags) <= {"div", "style", "h4", "label", "span", "input", "output", "table", "thead", "tr", "th",
                         "tbody", "td", "p", "script", "ul", "li"}


def test_nbconvert_html_export_keeps_the_panel_script(prepared, tmp_path):
    """nbconvert does not sanitize text/html outputs by default: the panel's script survives export,
    with the default lab template and with the suite's offline report template."""
    from nbconvert import HTMLExporter

    from vizlib import report

    html_text = panel.render(prepared, DEFAULT_MIX, panel_id="p-export")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("panel", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": html_text, "text/plain": "<panel>"})])])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert panel._script().replace("__PANEL_ID__", json.dumps("p-export")) in body
    path = tmp_path / "p.ipynb"
    nbformat.write(nb, str(path))
    report.export_html(path, tmp_path / "p.html")
    exported = (tmp_path / "p.html").read_text()
    assert 'id="p-export-data"' in exported and "JSON.parse" in exported


def test_missing_category_in_panel(prepared):
    """A category without a slowdown: its row says why (escaped) instead of a number."""
    hp = hostile_prepared(prepared)
    doc = parse(panel.render(hp, DEFAULT_MIX, panel_id="miss"))
    rel = [a for t, a in doc.tags if t == "td" and a.get("class") == "vx-rel"]
    assert [a["data-value"] == "" for a in rel] == [False, False, True]
    assert "<i>why</i>" in "".join(doc.text)


def test_panel_rows_are_the_chosen_environments(prepared):
    doc = parse(panel.render(prepared, DEFAULT_MIX, environments=["uml", "tcg"], panel_id="sel"))
    rows = [a["data-environment"] for t, a in doc.tags if t == "tr" and "data-environment" in a]
    assert rows == ["uml", "tcg"]
    payload = json.loads(doc.scripts[0][1])
    assert [e["name"] for e in payload["environments"]] == ["uml", "tcg"]
    with pytest.raises(UsageError, match="nowhere"):
        panel.render(prepared, DEFAULT_MIX, environments=["nowhere"])
