"""Every notebooks/*.ipynb runs top to bottom under papermill, as the batch report runs it.

Two variants:

- ``defaults``: the shipped report (``shipped_report``, built once per test session) ran every
  notebook with its own defaults on the shipped data/raw;
- ``host+container``: each notebook on its own (as JupyterLab opens it) on a non-default raw
  folder, a tmp copy of data/raw with only the baseline and the container, starting from the
  tables the earlier notebooks would have written.

Judged by the outputs papermill recorded: every cell ran, none raised, nothing on stderr.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest

from conftest import assert_clean_run, html_outputs
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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_on_the_shipped_data(notebook, shipped_report):
    folder, _ = shipped_report
    assert_clean_run(nbformat.read(str(folder / notebook.name), as_version=4), notebook.name)


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """(raw folder, processed tables) of the host+container subset, prepared once as 01 and 02 would."""
    base = tmp_path_factory.mktemp("subset")
    raw = subset_raw(base / "raw")
    processed = base / "processed"
    assert cli.main(["ingest", "--raw", str(raw), "--out", str(processed)]) == 0
    assert cli.main(["normalise", "--processed", str(processed), "--raw", str(raw)]) == 0
    return raw, processed


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_alone_on_another_raw_folder(notebook, subset, tmp_path):
    raw, tables = subset
    processed = tmp_path / "processed"
    shutil.copytree(tables, processed)
    declared = report.parameters_of(notebook)
    params = {k: v for k, v in {"processed_dir": str(processed), "raw_dir": str(raw)}.items() if k in declared}
    out = tmp_path / notebook.name
    papermill.execute_notebook(str(notebook), str(out), parameters=params, kernel_name="python3", cwd=str(ROOT),
                               progress_bar=False, execution_timeout=300,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = nbformat.read(str(out), as_version=4)
    assert_clean_run(nb, notebook.name)
    html = html_outputs(nb)
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
    html = html_outputs(nbformat.read(str(out), as_version=4))
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
    html = html_outputs(nbformat.read(str(out), as_version=4))
    for env in ("xen", "openvz", "kvm"):
        assert f">{env}<" in html
    if name.startswith("03"):
        assert "xen vs rhel (measured)" in html  # the paper's Xen beside the measured xen-pv environment
        assert ">kvm<" in html and ">xen<" in html  # "measured here" row of the functional table
