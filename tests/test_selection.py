"""Product selection as a person uses it (vizlib.selection): the readable views (escaped, no raw
floats, 900 px), the requirement widgets that re-rank live, and notebook 05 under papermill."""

from __future__ import annotations

import ast
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizlib import views, functional, selection, tables
from vizlib.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
NB05 = REPO / "notebooks" / "05_product_selection.ipynb"
EVIL = '<img src=x onerror="alert(1)">&amp;'


class _Rows(HTMLParser):
    """Text of every cell of a table, per row; attributes of each row."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[dict, list[str]]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append((dict(attrs), []))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html_text: str) -> _Rows:
    p = _Rows()
    p.feed(html_text)
    p.close()
    return p


def ranking_frame(**over) -> pd.DataFrame:
    rows = [
        {"environment": "b", "technology": "kvm", "passes": True, "reason": "meets every requirement", "rank": 1,
         "relative_time": 1.0934, "ci_low": 1.0512, "ci_high": 1.1298},
        {"environment": "a", "technology": "uml", "passes": True, "reason": "meets every requirement", "rank": 2,
         "relative_time": 174.2797, "ci_low": 46.7265, "ci_high": 31503.71},
        {"environment": "c", "technology": "openvz", "passes": False, "reason": "excluded by the fault isolation rule",
         "rank": pd.NA, "relative_time": 0.96803, "ci_low": np.nan, "ci_high": np.nan},
        {"environment": "d", "technology": "vmware", "passes": False, "reason": "no functional data: no row",
         "rank": pd.NA, "relative_time": np.nan, "ci_low": np.nan, "ci_high": np.nan},
    ]
    df = pd.DataFrame(rows, columns=tables.RANKING_COLUMNS)
    for k, v in over.items():
        df[k] = v
    df["rank"] = df["rank"].astype("Int64")
    return df


@pytest.mark.parametrize("args, text", [
    ((1.0934, 1.0512, 1.1298), "1.09\u00d7 [1.05, 1.13]"),
    ((174.2797, 46.7265, 31503.71), "174\u00d7 [46.7, 31,504]"),
    ((0.96803, np.nan, np.nan), "0.97\u00d7 (no interval)"),
    ((np.nan, np.nan, np.nan), "no estimate"),
    ((None,), "no estimate"),
])
def test_times_interval_text(args, text):
    assert views.times_interval_text(*args) == text


def test_ranking_html_is_readable():
    page = selection.ranking_html(ranking_frame())
    p = parse(page)
    header, *body = p.rows
    assert header[1][0] == "rank" and header[1][3].startswith("expected relative time")
    cells = {attrs["data-environment"]: c for attrs, c in body}
    assert cells["b"] == ["1", "b", "kvm", "1.09\u00d7 [1.05, 1.13]", "passes", "meets every requirement"]
    assert cells["c"][0] == "\u2013" and cells["c"][4] == "fails" and cells["c"][3] == "0.97\u00d7 (no interval)"
    assert cells["d"][4] == "no functional data" and cells["d"][3] == "no estimate"
    assert "31503.71" not in page and "0.96803" not in page and "174.2797" not in page  # no raw floats
    assert "max-width:900px" in page and "table-layout:fixed" in page


def test_ranking_html_escapes_every_string():
    page = selection.ranking_html(ranking_frame(environment=EVIL, technology=EVIL, reason=EVIL))
    assert "<img" not in page and "onerror=\"" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in page
    rows = parse(page).rows[1:]
    assert all(c[1] == EVIL and c[2] == EVIL and c[5] == EVIL for _, c in rows)


def test_functional_html_shows_both_tables_with_sources():
    today = functional.load_functional("today")
    page = selection.functional_html(today)
    p = parse(page)
    techs = [a["data-technology"] for a, _ in p.rows if "data-technology" in a]
    assert techs == list(today["technology"])
    for date in set(today["as_of"]):
        assert date in page
    assert page.count("<details>") == len(today)
    # every citation of the table is shown, as text: a shared report links nothing outside itself
    urls = {c.split(" ")[0] for col in functional.SOURCE_COLUMNS for cell in today[col] for c in cell.split(" | ")
            if c.startswith("http")}
    assert urls and all(f"<code" in page and selection._E(url) in page for url in urls)
    assert "href=" not in page and "src=" not in page
    old = selection.functional_html(functional.load_functional("2009"))
    assert "2009-07-16" in old and "seed/000_4c57cc15291d66b5.txt" in old and "the 2009 source" in old


def test_functional_html_escapes_table_text(tmp_path):
    from test_functional import write_table

    path = write_table(tmp_path / "t.csv", [{"technology": "kvm", "product": EVIL, "guest_os_note": EVIL}], cited=True)
    page = selection.functional_html(functional.load_functional(path))
    assert "<img" not in page and page.count("&lt;img") == 2


def test_functional_html_names_the_measured_environments():
    from vizlib import manifest, paths

    man = manifest.load(paths.RAW, check_folders=False)
    page = selection.functional_html(functional.load_functional("today"), manifest=man, order=list(man.environments))
    row = next(c for a, c in parse(page).rows if a.get("data-technology") == "qemu-tcg")
    assert "measured here: tcg" in row[0]


def test_checks_html_one_column_per_rule():
    checked = functional.check_products(functional.load_functional("2009"), arch="ia64", need_live_migration=True)
    p = parse(selection.checks_html(checked))
    header, *body = p.rows
    assert len(header[1]) == 1 + len(functional.RULES) + 1
    kvm = next(c for a, c in body if a.get("data-technology") == "kvm")
    assert kvm[0] == "kvm: excluded" and kvm[1] == "fails" and kvm[-1].startswith("architecture: no ia64")
    assert next(c for a, c in body if a.get("data-technology") == "xen-hvm")[0] == "xen-hvm: passes"
    openvz = next(c for a, c in body if a.get("data-technology") == "openvz")
    assert openvz[5] == "fails" and openvz[-1].startswith("live migration") and openvz[1] == "ok"


# --- the widgets ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    from vizlib import inputs, manifest, paths
    from vizlib.mix import DEFAULT_MIX

    inp = inputs.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW, n_boot=400)
    man = manifest.load(paths.RAW, check_folders=False)
    return {e.name: e.technology for e in man.virtual()}, inp.estimate(DEFAULT_MIX)


def ranks(panel) -> dict:
    return {e: (None if pd.isna(k) else int(k)) for e, k in zip(panel.ranking["environment"], panel.ranking["rank"])}


def test_panel_starts_from_the_parameters_and_re_ranks_live(shipped):
    techs, est = shipped
    panel = selection.SelectionPanel(techs, est)  # the notebook's defaults
    expected = functional.ranking(techs, est, arch="x86_64", guest_os="linux")
    pd.testing.assert_frame_equal(panel.ranking, expected)
    assert set(ranks(panel)) == {"container", "tcg", "uml"} and None not in ranks(panel).values()
    assert parse(panel.output.value).rows[1][0]["data-environment"] == expected.loc[0, "environment"]
    # fault isolation: the container shares the host's kernel and drops out
    panel.fault.value = True
    assert ranks(panel)["container"] is None
    row = panel.ranking.set_index("environment").loc["container"]
    assert row["reason"].startswith("excluded by the fault isolation rule")
    assert "excluded by the fault isolation rule" in panel.output.value
    # a legacy Linux kernel: only full virtualization (QEMU TCG here) keeps a rank
    panel.guest_os.value = "linux-legacy"
    assert ranks(panel) == {"tcg": 1, "container": None, "uml": None}
    # the 2009 snapshot has no row for the lab's technologies
    panel.table.value = "2009"
    assert set(panel.ranking["reason"].str[:18]) == {"no functional data"}
    assert "the 2009 source&#x27;s functional table: 0 of 3 environments ranked" in panel.summary.value
    panel.table.value = "today"
    panel.guest_os.value = None
    panel.fault.value = False
    pd.testing.assert_frame_equal(panel.ranking, functional.ranking(techs, est, arch="x86_64"))


def test_panel_hardware_virtualization_and_architecture(shipped):
    techs, est = shipped
    techs = {**techs, "kvm-guest": "kvm"}
    panel = selection.SelectionPanel(techs, est, hw_virt_available=False, arch="arm64")
    r = panel.ranking.set_index("environment")
    assert r.loc["uml", "reason"].startswith("excluded by the architecture rule")  # UML: x86 hosts only
    assert r.loc["kvm-guest", "reason"].startswith("excluded by the hardware virtualization rule")
    assert r.loc["tcg", "passes"]  # QEMU TCG needs no VT-x / AMD-V
    panel.hw_virt.value = True
    assert "not in the overhead estimate" in panel.ranking.set_index("environment").loc["kvm-guest", "reason"]


def test_panel_refuses_an_unknown_table(shipped):
    with pytest.raises(UsageError, match="functional_table is one of today, 2009"):
        selection.SelectionPanel(*shipped, functional_table="2010")


def test_selection_is_presentation_and_functional_is_analysis():
    """The layer rule of README "Development" for the two product-selection modules."""
    foundations = {"errors", "paths", "atomic", "catalogue", "manifest", "parser", "appprofile", "tables", "ingest"}
    analysis = {"stats", "samples", "normalise", "sanity", "categories", "presets", "mix", "share_model",
                "count_model", "inputs", "references", "functional"}
    presentation = {"plots", "views", "explorer", "panel", "notebook", "report", "selection"}

    def imported(name):
        tree = ast.parse((REPO / "vizlib" / f"{name}.py").read_text(encoding="utf-8"))
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                out |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        return out

    assert imported("functional") <= foundations | analysis
    assert imported("selection") <= foundations | analysis | presentation
    assert "cli" not in imported("selection")


# --- notebook 05 ---------------------------------------------------------------------------------

MAPPED_MANIFEST = """
[environments.host]
kind = "physical"
technology = "physical"

[environments.ovz]
kind = "virtual"
baseline = "host"
technology = "openvz"
description = "test mapping: the lab's container runs labelled as OpenVZ"

[environments.xen]
kind = "virtual"
baseline = "host"
technology = "xen-pv"
description = "test mapping: the lab's UML runs labelled as Xen PV"

[environments.kvm]
kind = "virtual"
baseline = "host"
technology = "kvm"
description = "test mapping: the lab's QEMU TCG runs labelled as KVM"
"""


@pytest.fixture
def mapped_raw(tmp_path):
    raw = tmp_path / "raw"
    src = REPO / "data" / "raw"
    for new, old in (("host", "host"), ("ovz", "container"), ("xen", "uml"), ("kvm", "tcg")):
        shutil.copytree(src / old, raw / new)
    (raw / "environments.toml").write_text(MAPPED_MANIFEST)
    return raw


@pytest.mark.slow
def test_notebook_05_runs_with_non_default_parameters(tmp_path, mapped_raw):
    import papermill as pm

    from conftest import assert_clean_run
    from vizlib import inputs as inputs_mod

    processed = tmp_path / "processed"
    out = tmp_path / "05.ipynb"
    params = {"arch": "x86_64", "guest_os": "linux", "hw_virt_available": False, "need_fault_isolation": True,
              "need_live_migration": False, "functional_table": "2009", "mix": "database", "n_boot": 300, "seed": 3,
              "raw_dir": str(mapped_raw), "processed_dir": str(processed)}
    nb = pm.execute_notebook(str(NB05), str(out), parameters=params, kernel_name="python3", cwd=str(REPO),
                             progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    assert_clean_run(nb, "05")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    html_out = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    # ranking.csv in the processed folder: the ranking of the same inputs, written atomically as a table
    written = tables.read_table(processed / tables.RANKING)
    assert tuple(written.columns) == tables.RANKING_COLUMNS
    inp = inputs_mod.load_inputs(processed, mapped_raw, n_boot=300, seed=3)
    expected = functional.ranking({"ovz": "openvz", "xen": "xen-pv", "kvm": "kvm"}, inp.estimate("database"),
                                  table="2009", arch="x86_64", guest_os="linux", need_fault_isolation=True,
                                  hw_virt_available=False)
    assert list(written["environment"]) == list(expected["environment"])
    assert list(written["reason"]) == list(expected["reason"])
    assert written["rank"].isna().tolist() == expected["rank"].isna().tolist()
    assert np.allclose(written["relative_time"], expected["relative_time"], rtol=1e-5)
    # what the parameters mean: KVM needs VT-x / AMD-V, OpenVZ fails fault isolation, Xen PV passes
    by = written.set_index("environment")
    assert by.loc["xen", "rank"] == 1 and by.loc["xen", "passes"]
    assert by.loc["kvm", "reason"].startswith("excluded by the hardware virtualization rule")
    assert by.loc["ovz", "reason"].startswith("excluded by the fault isolation rule")
    # the readable ranking is an ordinary output; both functional tables are shown
    page = next(h for h in html_out if "vizlib-ranking" in h)
    rows = {a["data-environment"]: c for a, c in parse(page).rows[1:]}
    assert rows["xen"][0] == "1" and rows["kvm"][4] == "fails"
    assert sum("vizlib-functional" in h for h in html_out) == 2
    assert any('data-table="today"' in h for h in html_out) and any('data-table="2009"' in h for h in html_out)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
    # the live requirements: a widget whose stored state starts from the parameters
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    toggles = [m["state"] for m in state.values() if m.get("model_name") == "ToggleButtonsModel"]
    assert [t["_options_labels"][t["index"]] for t in toggles] == ["2009 snapshot"]
    checkboxes = {m["state"]["description"]: m["state"]["value"] for m in state.values()
                  if m.get("model_name") == "CheckboxModel"}
    assert checkboxes == {"host CPU has Intel VT-x / AMD-V": False,
                          "a failing guest OS must not affect the other guests": True, "need live migration": False}
    assert nb.metadata.papermill.parameters["functional_table"] == "2009"
    assert re.search(r"functional table: the 2009 source", "".join(html_out))


@pytest.mark.slow
def test_the_report_writes_a_ranking_of_every_shipped_environment(shipped_report):
    """Issue 12, "done when": the report's processed/ranking.csv ranks container, tcg and uml with the
    default requirements."""
    folder, _ = shipped_report
    r = tables.read_table(folder / "processed" / tables.RANKING)
    assert tuple(r.columns) == tables.RANKING_COLUMNS
    assert set(r["environment"]) == {"container", "tcg", "uml"}
    assert r["passes"].all() and r["rank"].notna().all()
    assert sorted(r["rank"]) == [1, 2, 3] and r["relative_time"].is_monotonic_increasing
    assert all("today's functional table" in x for x in r["reason"])
