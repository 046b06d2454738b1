"""Every notebooks/*.ipynb runs top to bottom under papermill, as the batch report runs it.

Two variants per notebook:

- ``defaults``: the notebook's own defaults (the shipped data/raw), except ``processed_dir``,
  which points into tmp_path so a test never writes data/processed;
- ``host+container``: a non-default raw folder, a tmp copy of data/raw with only the baseline
  and the container (and a manifest listing just those two).

Each run starts from the tables the earlier notebooks would have written (ingest + normalise,
prepared once per variant and copied per test), because each notebook is also opened on its own
in JupyterLab. Judged by the exception papermill raises, never by the output notebook.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest

from vizlib import cli, report

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SUBSET = ("host", "container")

pytestmark = pytest.mark.slow


def subset_raw(dest: Path, keep=SUBSET) -> Path:
    """A copy of data/raw with only the ``keep`` environments and a manifest naming just them."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in keep:
        shutil.copytree(RAW / name, dest / name)
    text = (RAW / "environments.toml").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^(?=\[environments\.)", text)
    kept = [s for s in sections[1:] if re.match(r"\[environments\.(\w+)\]", s).group(1) in keep]
    (dest / "environments.toml").write_text(sections[0] + "".join(kept), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """{variant: (raw_dir, processed tables)} built once: ingest then normalise, as 01 and 02 do."""
    base = tmp_path_factory.mktemp("prepared")
    out = {}
    for variant, raw in (("defaults", RAW), ("host+container", subset_raw(base / "raw-subset"))):
        processed = base / f"processed-{variant}"
        assert cli.main(["ingest", "--raw", str(raw), "--out", str(processed)]) == 0
        assert cli.main(["normalise", "--processed", str(processed), "--raw", str(raw)]) == 0
        out[variant] = (raw, processed)
    return out


def _html_outputs(nb) -> str:
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


@pytest.mark.parametrize("variant", ["defaults", "host+container"])
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(notebook, variant, prepared, tmp_path):
    raw, tables = prepared[variant]
    processed = tmp_path / "processed"
    shutil.copytree(tables, processed)
    declared = report.parameters_of(notebook)
    params = {"processed_dir": str(processed)}
    if variant != "defaults":
        params["raw_dir"] = str(raw)
    params = {k: v for k, v in params.items() if k in declared}
    out = tmp_path / notebook.name
    papermill.execute_notebook(str(notebook), str(out), parameters=params, kernel_name="python3", cwd=str(ROOT),
                               progress_bar=False, execution_timeout=300,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = nbformat.read(str(out), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "every code cell ran"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    stderr = [o.text for c in code for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"warnings or errors printed: {stderr}"
    html = _html_outputs(nb)
    if variant != "defaults":
        for gone in ("tcg", "uml"):  # not in this raw folder: no table may list them
            assert f">{gone}<" not in html, f"{notebook.name} shows {gone} although the raw folder lacks it"



def test_strings_from_logs_are_escaped(tmp_path):
    """A host name from a log file is shown as text, never as markup (in the notebook and its HTML export)."""
    raw = subset_raw(tmp_path / "raw")
    evil = "<script>alert(1)</script>"
    log = raw / "host" / "host.3"
    log.write_text(log.read_text().replace("[HOSTNAME: vm]", f"[HOSTNAME: {evil}]"))
    out = tmp_path / "01_ingest.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "01_ingest.ipynb"), str(out),
                               parameters={"raw_dir": str(raw), "processed_dir": str(tmp_path / "p")},
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False, execution_timeout=300,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    html = _html_outputs(nbformat.read(str(out), as_version=4))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    report.export_html(out, tmp_path / "01.html")
    page = (tmp_path / "01.html").read_text()
    assert evil not in html and evil not in page


SOURCE_LAYOUT = """# The source article's layout: two physical baselines, each with its own virtual environments.
[environments.rhel]
kind = "physical"
technology = "physical"
kernel = "2.6.18-128.el5"

[environments.xen]
kind = "virtual"
technology = "xen-pv"
baseline = "rhel"

[environments.openvz]
kind = "virtual"
technology = "openvz"
baseline = "rhel"

[environments.fedora]
kind = "physical"
technology = "physical"
kernel = "2.6.29.4-167"

[environments.kvm]
kind = "virtual"
technology = "kvm"
baseline = "fedora"
"""


@pytest.mark.parametrize("name", ["02_overhead.ipynb", "03_compare.ipynb"])
def test_two_baseline_layout(name, tmp_path):
    """Five environments, two baselines (lab runs standing in for the source's machines)."""
    raw = tmp_path / "raw"
    for env, source in (("rhel", "host"), ("xen", "uml"), ("openvz", "container"), ("fedora", "host"), ("kvm", "tcg")):
        shutil.copytree(RAW / source, raw / env)
    (raw / "environments.toml").write_text(SOURCE_LAYOUT)
    out = tmp_path / name
    papermill.execute_notebook(str(ROOT / "notebooks" / name), str(out),
                               parameters={"raw_dir": str(raw), "processed_dir": str(tmp_path / "p")},
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False, execution_timeout=300,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    html = _html_outputs(nbformat.read(str(out), as_version=4))
    for env in ("xen", "openvz", "kvm"):
        assert f">{env}<" in html
    if name.startswith("03"):
        assert "xen vs rhel (measured)" in html  # the paper's Xen beside the measured xen-pv environment
        assert ">kvm<" in html and ">xen<" in html  # "measured here" row of the functional table
