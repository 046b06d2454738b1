"""Product selection: the functional table as data, the requirement filter in the source's order,
and the join of environments to products; notebook 05 under papermill."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from vizlib import functional
from vizlib.errors import FunctionalDataError, UsageError
from vizlib.functional import STATUS_EXCLUDED, STATUS_MEETS, STATUS_NO_DATA
from vizlib.manifest import TECHNOLOGIES

REPO = Path(__file__).resolve().parents[1]
NB05 = REPO / "notebooks" / "05_product_selection.ipynb"


@pytest.fixture(scope="module")
def table():
    return functional.load_functional()


def test_table_carries_the_source_facts(table):
    t = table.set_index("technology")
    assert list(t.index) == ["xen-pv", "xen-hvm", "kvm", "openvz"]
    assert set(t.index) <= set(TECHNOLOGIES)
    assert t.loc["kvm", "architectures"] == "x86;x86_64"
    assert t.loc["openvz", "architectures"] == "x86;x86_64;ia64"
    assert t.loc["xen-pv", "architectures"] == "x86;x86_64;ia64;ppc"
    assert "no ppc" in t.loc["xen-pv", "architectures_note"]
    assert (t["hw_virt_required"] == ["no", "yes", "yes", "no"]).all()
    assert (t["guest_windows"] == ["no", "yes", "yes", "no"]).all()
    assert t.loc["xen-pv", "guest_linux_any"] == "no" and t.loc["xen-pv", "guest_linux_pv"] == "yes"
    assert "2000" in t.loc["kvm", "guest_windows_min"] and "2003" in t.loc["xen-hvm", "guest_windows_min"]
    assert (t["fault_isolation"] == ["limited", "limited", "limited", "affects_others"]).all()
    assert (t["live_migration"] == ["yes", "yes", "yes", "no"]).all()
    assert "x86_64" in t.loc["xen-pv", "live_migration_note"] and "rsync" in t.loc["openvz", "live_migration_note"]
    assert (t["as_of"] == "2009-07-16").all()
    assert t["source"].str.contains("seed/000_4c57cc15291d66b5.txt").all()


def test_documentation_names_every_column(table):
    md = (REPO / "vizlib" / "data" / "functional_comparison.md").read_text()
    for col in table.columns:
        assert f"`{col}`" in md, col


@pytest.mark.parametrize("kwargs, expected", [
    ({}, ["xen-pv", "xen-hvm", "kvm", "openvz"]),
    ({"arch": "ppc"}, ["xen-pv", "xen-hvm"]),
    ({"arch": "ia64"}, ["xen-pv", "xen-hvm", "openvz"]),
    ({"arch": "x86_64", "guest_os": "windows"}, ["xen-hvm", "kvm"]),
    ({"arch": "x86_64", "guest_os": "linux"}, ["xen-hvm", "kvm", "openvz"]),
    ({"arch": "x86_64", "guest_os": "linux-pv"}, ["xen-pv", "xen-hvm", "kvm", "openvz"]),
    ({"arch": "x86", "guest_os": "linux-pv", "need_fault_isolation": True}, ["xen-pv", "xen-hvm", "kvm"]),
    ({"need_live_migration": True}, ["xen-pv", "xen-hvm", "kvm"]),
    ({"arch": "ia64", "guest_os": "windows", "need_live_migration": True}, ["xen-hvm"]),
])
def test_check_products_passes(table, kwargs, expected):
    checked = functional.check_products(table, **kwargs)
    assert list(checked.loc[checked["meets"], "technology"]) == expected


def test_reasons_follow_the_source_order(table):
    c = functional.check_products(table, arch="ppc", guest_os="windows", need_fault_isolation=True,
                                  need_live_migration=True).set_index("technology")
    assert c.loc["kvm", "reason"].startswith("architecture")  # fails arch first, though it also lacks nothing else
    assert c.loc["openvz", "reason"].startswith("architecture")
    assert c.loc["xen-pv", "reason"].startswith("guest OS")
    c = functional.check_products(table, arch="x86", need_fault_isolation=True).set_index("technology")
    assert c.loc["openvz", "reason"].startswith("fault isolation")
    c = functional.check_products(table, arch="x86", guest_os="windows", need_live_migration=True)
    caveats = c.set_index("technology")["caveats"]
    assert "x86_64" in caveats["xen-hvm"] and "Intel VT" in caveats["kvm"]


@pytest.mark.parametrize("kwargs", [{"arch": "arm64"}, {"guest_os": "solaris"}])
def test_unknown_requirement_values_are_refused(table, kwargs):
    with pytest.raises(UsageError, match="choose one of"):
        functional.check_products(table, **kwargs)


def test_malformed_table_is_refused(tmp_path, table):
    bad = table.copy()
    bad.loc[0, "fault_isolation"] = "partial"
    path = tmp_path / "f.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(FunctionalDataError, match=r"f.csv:2: fault_isolation"):
        functional.load_functional(path)


def estimate_frame(values):
    return pd.DataFrame({"environment": list(values), "baseline": "host",
                         "relative_time": [v for v in values.values()],
                         "overhead_pct": [(v - 1) * 100 for v in values.values()],
                         "ci_low": [v * 0.9 for v in values.values()], "ci_high": [v * 1.1 for v in values.values()],
                         "largest_category": "memory", "note": ""})


def test_rank_environments(table):
    envs = {"xen1": "xen-pv", "kvm1": "kvm", "kvm2": "kvm", "ovz": "openvz", "lab": "container", "emu": "qemu-tcg"}
    est = estimate_frame({"xen1": 1.3, "kvm1": 1.5, "kvm2": 1.2, "ovz": 1.05, "lab": 1.01, "emu": 4.0})
    checked = functional.check_products(table, arch="x86_64", guest_os="linux", need_fault_isolation=True)
    r = functional.rank_environments(envs, checked, est).set_index("environment")
    assert list(r.index) == ["kvm2", "kvm1", "lab", "emu", "ovz", "xen1"]  # then by relative time
    assert r.loc["kvm2", "rank"] == 1 and r.loc["kvm1", "rank"] == 2
    assert r.loc["lab", "status"] == STATUS_NO_DATA and pd.isna(r.loc["lab", "rank"])
    assert r.loc["lab", "relative_time"] == 1.01  # shown with its estimate, not dropped
    assert "openvz" in r.loc["lab", "reason"]  # the closest source row, for orientation
    assert r.loc["xen1", "status"] == STATUS_EXCLUDED and r.loc["xen1", "reason"].startswith("guest OS")
    assert r.loc["ovz", "status"] == STATUS_EXCLUDED and r.loc["ovz", "reason"].startswith("fault isolation")
    assert set(r["status"]) == {STATUS_MEETS, STATUS_NO_DATA, STATUS_EXCLUDED}


def test_rank_environments_with_filtered_rows_and_ties(table):
    envs = {"a": "kvm", "b": "xen-hvm", "c": "openvz"}
    est = estimate_frame({"a": 1.2, "b": 1.2, "c": 1.1})
    checked = functional.check_products(table, guest_os="windows")
    r = functional.rank_environments(envs, checked, est).set_index("environment")
    assert r.loc["a", "rank"] == r.loc["b", "rank"] == 1
    assert r.loc["c", "status"] == STATUS_EXCLUDED


def test_environment_without_estimate_is_listed(table):
    r = functional.rank_environments({"a": "kvm"}, functional.check_products(table), estimate_frame({"zzz": 1.0}))
    assert r.loc[0, "status"] == STATUS_MEETS and math.isnan(r.loc[0, "relative_time"]) and pd.isna(r.loc[0, "rank"])
    assert "no overhead estimate" in r.loc[0, "reason"]


def test_rank_environments_from_a_manifest(table):
    from vizlib import manifest

    man = manifest.load(REPO / "data" / "raw", check_folders=False)
    techs = {e.name: e.technology for e in man.virtual()}
    r = functional.rank_environments(techs, functional.check_products(table),
                                     estimate_frame({"container": 1.0, "tcg": 4.0, "uml": 170.0}))
    assert set(r["status"]) == {STATUS_NO_DATA}  # the shipped lab's technologies are not in the source
    assert list(r["environment"]) == ["container", "tcg", "uml"]


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
def test_notebook_05_ranks_the_remaining_products(tmp_path, mapped_raw):
    import papermill as pm

    out = tmp_path / "05.ipynb"
    params = {"arch": "x86_64", "guest_os": "linux", "need_fault_isolation": True, "need_live_migration": False,
              "mix": "database", "raw_dir": str(mapped_raw), "processed_dir": str(tmp_path / "processed")}
    nb = pm.execute_notebook(str(NB05), str(out), parameters=params, kernel_name="python3", cwd=str(REPO),
                             progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    html_out = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    ranking = next(h for h in html_out if "meets requirements" in h)
    # kvm meets everything and is ranked; xen-pv fails the guest OS step, openvz the fault isolation step
    assert ranking.index("kvm") < ranking.index("excluded")
    assert "guest OS: cannot run Linux in general" in ranking
    assert "fault isolation: a guest OS failure affects other guests" in ranking
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
    assert (tmp_path / "processed" / "lmbench_tidy.csv").is_file()  # ingested standalone
    assert not any(p.is_file() and p.stat().st_mtime < 0 for p in mapped_raw.rglob("*"))
