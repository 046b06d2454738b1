"""Product selection as analysis: the two functional tables as data (validated, every cell of
today's table cited), the source article's rules one by one on small hand-made tables, and the
ranking of measured environments (vizlib.functional)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizlib import functional, tables
from vizlib.errors import FunctionalDataError, UsageError
from vizlib.manifest import TECHNOLOGIES

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "vizlib" / "data"
TODAY_TECHS = {"kvm", "xen-pv", "xen-hvm", "xen-pvh", "container", "openvz", "qemu-tcg", "uml", "gvisor", "firecracker"}


@pytest.fixture(scope="module")
def table():
    return functional.load_functional("2009")


@pytest.fixture(scope="module")
def today():
    return functional.load_functional("today")


# --- the shipped tables --------------------------------------------------------------------------

def test_2009_table_carries_the_source_facts(table):
    t = table.set_index("technology")
    assert list(t.index) == ["xen-pv", "xen-hvm", "kvm", "openvz"]
    assert t.loc["kvm", "architectures"] == "x86;x86_64"
    assert t.loc["openvz", "architectures"] == "x86;x86_64;ia64"
    assert t.loc["xen-pv", "architectures"] == "x86;x86_64;ia64;ppc"
    assert "no ppc" in t.loc["xen-pv", "architectures_note"]
    assert (t["hw_virt_required"] == ["no", "yes", "yes", "no"]).all()
    assert (t["guest_windows"] == ["no", "yes", "yes", "no"]).all()
    assert t.loc["xen-pv", "guest_linux_any"] == "no" and t.loc["xen-pv", "guest_linux_pv"] == "yes"
    assert t.loc["openvz", "guest_kernel"] == "shared with host"
    assert "2000" in t.loc["kvm", "guest_windows_min"] and "2003" in t.loc["xen-hvm", "guest_windows_min"]
    assert (t["fault_isolation"] == ["limited", "limited", "limited", "affects_others"]).all()
    assert (t["live_migration"] == ["yes", "yes", "yes", "no"]).all()
    assert "x86_64" in t.loc["xen-pv", "live_migration_note"] and "rsync" in t.loc["openvz", "live_migration_note"]
    assert (t["as_of"] == "2009-07-16").all()
    assert t["source"].str.contains("seed/000_4c57cc15291d66b5.txt").all()


def test_the_default_load_is_still_the_2009_snapshot(table):
    """03_compare and older callers load the 2009 table without arguments; the ranking's default is today's."""
    assert functional.load_functional().equals(table)
    assert functional.DEFAULT_TABLE == "today"
    assert table.attrs["table"] == "2009" and functional.table_label(table).startswith("the 2009")


def test_today_table_covers_todays_technologies_with_citations(today):
    t = today.set_index("technology")
    assert set(t.index) == TODAY_TECHS and set(t.index) <= set(TECHNOLOGIES)
    raw = list(csv.DictReader((DATA / "functional_today.csv").open(encoding="utf-8")))
    assert len(raw) == len(today)
    for row in raw:
        for col in functional.SOURCE_COLUMNS:
            cites = row[col].split(" | ")
            assert cites and all(re.search(r"seen \d{4}-\d{2}-\d{2}\)$", c) for c in cites), (row["technology"], col)
        pd.Timestamp(row["as_of"])  # a date
    # the facts the rules turn on, as the cited documentation states them
    assert t.loc["qemu-tcg", "hw_virt_required"] == "no" and t.loc["kvm", "hw_virt_required"] == "yes"
    assert t.loc["xen-pv", "hw_virt_required"] == "no" and t.loc["xen-pvh", "hw_virt_required"] == "yes"
    assert t.loc["container", "guest_kernel"] == "shared with host"
    assert t.loc["container", "fault_isolation"] == "affects_others"
    assert t.loc["uml", "guest_linux_any"] == "no" and t.loc["uml", "guest_linux_pv"] == "yes"
    assert t.loc["firecracker", "guest_linux_any"] == "no"  # needs a kernel built for it (KVM guest, virtio-mmio)
    assert t.loc["gvisor", "guest_kernel"] == "user-space kernel"


@pytest.mark.parametrize("name", ["functional_comparison", "functional_today"])
def test_documentation_names_every_column(name):
    df = functional.load_functional(DATA / f"{name}.csv")
    md = (DATA / f"{name}.md").read_text(encoding="utf-8")
    for col in df.columns:
        assert f"`{col}`" in md, col


def test_today_documentation_names_the_as_of_dates_and_ids(today):
    md = (DATA / "functional_today.md").read_text(encoding="utf-8")
    for date in set(today["as_of"]):
        assert date in md
    for arch in ("arm64", "ppc64le", "s390x", "riscv64"):
        assert f"`{arch}`" in md and arch in functional.ARCHITECTURES
    for tech in ("xen-pvh", "gvisor", "firecracker"):
        assert f"`{tech}`" in md and tech in TECHNOLOGIES


def test_unknown_table_name_is_a_usage_error():
    with pytest.raises(UsageError, match="choose 'today' or '2009'"):
        functional.load_functional("2010")


# --- hand-made tables ----------------------------------------------------------------------------

BASE = {"product": "test product", "architectures": "x86_64", "architectures_note": "", "hw_virt_required": "no",
        "guest_linux_any": "yes", "guest_linux_pv": "yes", "guest_windows": "no", "guest_windows_min": "",
        "guest_kernel": "own", "guest_os_note": "", "fault_isolation": "limited", "fault_isolation_note": "",
        "live_migration": "yes", "live_migration_note": "", "as_of": "2020-01-02", "source": "hand-made for a test"}
CITE = 'https://example.org/{t}/{c} "a page" (v1; seen 2020-01-02)'


def write_table(path: Path, rows: list[dict], cited: bool = False, drop: tuple = ()) -> Path:
    cols = [c for c in functional.COLUMNS + (tuple(functional.SOURCE_COLUMNS) if cited else ()) if c not in drop]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            full = {**BASE, **{c: CITE.format(t=r["technology"], c=c) for c in functional.SOURCE_COLUMNS}, **r}
            w.writerow(full)
    return path


def hand(tmp_path, *rows, cited=False) -> pd.DataFrame:
    return functional.load_functional(write_table(tmp_path / "t.csv", list(rows), cited))


def passing(checked) -> list[str]:
    return list(checked.loc[checked["meets"], "technology"])


def reasons(checked) -> dict:
    return dict(zip(checked["technology"], checked["reason"]))


def test_rule_architecture(tmp_path):
    t = hand(tmp_path, {"technology": "kvm", "architectures": "x86_64;arm64"}, {"technology": "uml"})
    assert passing(functional.check_products(t)) == ["kvm", "uml"]  # no requirement
    c = functional.check_products(t, arch="arm64")
    assert passing(c) == ["kvm"]
    assert reasons(c)["uml"] == "architecture: no arm64 host support (supports x86_64)"
    assert not c.set_index("technology").loc["uml", "arch_ok"]


def test_rule_hardware_virtualization(tmp_path):
    t = hand(tmp_path, {"technology": "kvm", "hw_virt_required": "yes"}, {"technology": "qemu-tcg"})
    assert passing(functional.check_products(t, hw_virt_available=True)) == ["kvm", "qemu-tcg"]
    c = functional.check_products(t, hw_virt_available=False)
    assert passing(c) == ["qemu-tcg"]  # software emulation needs no VT-x / AMD-V
    assert reasons(c)["kvm"].startswith("hardware virtualization: needs a CPU with hardware virtualization")
    assert c.set_index("technology").loc["kvm", "failed"] == "hardware virtualization"


def test_rule_guest_os_current_linux(tmp_path):
    t = hand(tmp_path, {"technology": "xen-pv", "guest_linux_any": "no"},
             {"technology": "vmware", "guest_linux_any": "no", "guest_linux_pv": "no", "guest_windows": "yes"})
    c = functional.check_products(t, guest_os="linux")
    assert passing(c) == ["xen-pv"]
    assert reasons(c)["vmware"] == "guest OS: runs no Linux guests"
    # the 2009 notebook's name for a paravirtualization-enabled Linux is still accepted
    assert passing(functional.check_products(t, guest_os="linux-pv")) == ["xen-pv"]


def test_rule_legacy_linux_only_under_full_virtualization(tmp_path):
    t = hand(tmp_path, {"technology": "kvm"},
             {"technology": "xen-pv", "guest_linux_any": "no"},
             {"technology": "container", "guest_kernel": "shared with host"},
             {"technology": "gvisor", "guest_kernel": "user-space kernel"})
    c = functional.check_products(t, guest_os="linux-legacy")
    assert passing(c) == ["kvm"]
    why = reasons(c)
    assert "only under full virtualization" in why["xen-pv"]
    assert "guest kernel = the host's" in why["container"] and "cannot boot" in why["container"]
    assert "user-space kernel" in why["gvisor"]
    assert passing(functional.check_products(t, guest_os="linux")) == ["kvm", "xen-pv", "container", "gvisor"]


def test_rule_windows_and_the_shared_kernel(tmp_path):
    t = hand(tmp_path, {"technology": "kvm", "guest_windows": "yes"}, {"technology": "xen-pv"},
             {"technology": "openvz", "guest_kernel": "shared with host"})
    c = functional.check_products(t, guest_os="windows")
    assert passing(c) == ["kvm"]
    assert reasons(c)["xen-pv"] == "guest OS: runs no Windows guests"
    assert "share the host's Linux kernel" in reasons(c)["openvz"]
    assert "guest kernel = the host's kernel" in c.set_index("technology").loc["openvz", "applies"]


def test_rule_fault_isolation(tmp_path):
    t = hand(tmp_path, {"technology": "kvm"},
             {"technology": "openvz", "fault_isolation": "affects_others", "fault_isolation_note": "one kernel"})
    assert passing(functional.check_products(t)) == ["kvm", "openvz"]
    c = functional.check_products(t, need_fault_isolation=True)
    assert passing(c) == ["kvm"]
    assert reasons(c)["openvz"] == "fault isolation: a guest OS failure affects the other guests (one kernel)"


def test_rule_live_migration(tmp_path):
    t = hand(tmp_path, {"technology": "kvm", "live_migration_note": "same devices on both sides"},
             {"technology": "uml", "live_migration": "no", "live_migration_note": "not stated"})
    assert passing(functional.check_products(t)) == ["kvm", "uml"]
    c = functional.check_products(t, need_live_migration=True)
    assert passing(c) == ["kvm"]
    assert reasons(c)["uml"] == "live migration: a running guest cannot be moved to another host (not stated)"
    assert c.set_index("technology").loc["kvm", "applies"] == "same devices on both sides"


def test_rules_apply_in_the_source_order(tmp_path):
    t = hand(tmp_path,
             {"technology": "openvz", "architectures": "x86", "fault_isolation": "affects_others",
              "live_migration": "no", "guest_kernel": "shared with host"},
             {"technology": "kvm", "hw_virt_required": "yes", "live_migration": "no"},
             {"technology": "uml", "guest_linux_any": "no", "fault_isolation": "affects_others"})
    c = functional.check_products(t, arch="x86_64", guest_os="linux-legacy", need_fault_isolation=True,
                                  need_live_migration=True, hw_virt_available=False).set_index("technology")
    assert c.loc["openvz", "failed"] == "architecture"
    assert c.loc["openvz", "also_fails"] == "guest OS, fault isolation, live migration"
    assert c.loc["kvm", "failed"] == "hardware virtualization" and c.loc["kvm", "also_fails"] == "live migration"
    assert c.loc["uml", "failed"] == "guest OS" and c.loc["uml", "also_fails"] == "fault isolation"
    # the steps: 1 architecture / hardware / guest, 2 adds fault isolation, 3 adds live migration
    req = dict(need_fault_isolation=True, need_live_migration=True)
    assert passing(functional.check_step(t, 1, **req)) == ["openvz", "kvm", "uml"]
    assert passing(functional.check_step(t, 2, **req)) == ["kvm"]
    assert passing(functional.check_step(t, 3, **req)) == []


def test_2009_rules_on_the_source_table(table):
    c = functional.check_products(table, arch="ppc", guest_os="windows", need_fault_isolation=True,
                                  need_live_migration=True).set_index("technology")
    assert c.loc["kvm", "failed"] == c.loc["openvz", "failed"] == "architecture"
    assert c.loc["xen-pv", "failed"] == "guest OS" and c.loc["xen-hvm", "meets"]
    assert passing(functional.check_products(table, hw_virt_available=False)) == ["xen-pv", "openvz"]
    assert passing(functional.check_products(table, guest_os="linux-legacy")) == ["xen-hvm", "kvm"]
    assert passing(functional.check_products(table, need_live_migration=True)) == ["xen-pv", "xen-hvm", "kvm"]


@pytest.mark.parametrize("kwargs", [{"arch": "sparc"}, {"guest_os": "solaris"}])
def test_unknown_requirement_values_are_refused(table, kwargs):
    with pytest.raises(UsageError, match="choose one of"):
        functional.check_products(table, **kwargs)


# --- validation: file and line -------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"fault_isolation": "partial"}, "fault_isolation = 'partial', expected one of limited, affects_others"),
    ({"architectures": "x86_64;sparc"}, "architectures = 'x86_64;sparc', expected one of x86, x86_64"),
    ({"technology": "hyperv"}, "technology = 'hyperv', expected one of"),
    ({"technology": "physical"}, "technology = 'physical', expected one of"),
    ({"guest_kernel": "none"}, "guest_kernel = 'none', expected one of own, shared with host, user-space kernel"),
    ({"live_migration": "maybe"}, "live_migration = 'maybe', expected one of yes, no"),
    ({"as_of": "2009-13-40"}, "as_of = '2009-13-40', expected a date"),
    ({"guest_linux_any": "yes", "guest_linux_pv": "no"}, "guest_linux_any = yes needs guest_linux_pv = yes"),
    ({"guest_kernel": "shared with host", "guest_windows": "yes"}, "guest_kernel = 'shared with host' with guest_windows = yes"),
    ({"source": " "}, "every row needs a source"),
    ({"source_guests": ""}, "source_guests is empty: every aspect needs a citation"),
    ({"source_hw_virt": "see the docs"}, "source_hw_virt: 'see the docs' is not a citation"),
    ({"source_live_migration": CITE.format(t="x", c="y") + " | https://example.org no title"},
     "source_live_migration: 'https://example.org no title' is not a citation"),
])
def test_malformed_table_names_file_and_line(tmp_path, change, message):
    rows = [{"technology": "kvm"}, {"technology": "uml"}, {"technology": "xen-pv", "guest_linux_any": "no", **change}]
    path = write_table(tmp_path / "f.csv", rows, cited=True)
    with pytest.raises(FunctionalDataError, match=re.escape(f"{path}:4: {message}")):
        functional.load_functional(path)


def test_duplicate_and_missing_columns_name_the_line(tmp_path):
    path = write_table(tmp_path / "d.csv", [{"technology": "kvm"}, {"technology": "uml"}, {"technology": "kvm"}])
    with pytest.raises(FunctionalDataError, match=re.escape(f"{path}:4: technology 'kvm' has a second row (first on "
                                                            "line 2)")):
        functional.load_functional(path)
    path = write_table(tmp_path / "m.csv", [{"technology": "kvm"}], cited=True, drop=("source_guests",))
    with pytest.raises(FunctionalDataError, match=re.escape(f"{path}:1: missing column(s) source_guests")):
        functional.load_functional(path)
    path = write_table(tmp_path / "n.csv", [{"technology": "kvm"}], drop=("guest_kernel",))
    with pytest.raises(FunctionalDataError, match=re.escape(f"{path}:1: missing column(s) guest_kernel")):
        functional.load_functional(path)


def test_a_table_without_source_columns_needs_only_its_source(tmp_path):
    t = functional.load_functional(write_table(tmp_path / "s.csv", [{"technology": "kvm"}]))
    assert list(t.columns) == list(functional.COLUMNS) and t.attrs["table"] == "custom"
    assert str(tmp_path / "s.csv") in functional.table_label(t)


# --- the ranking ---------------------------------------------------------------------------------

def estimate_frame(values: dict, notes: dict | None = None) -> pd.DataFrame:
    v = list(values.values())
    return pd.DataFrame({"environment": list(values), "baseline": "host", "relative_time": v,
                         "overhead_pct": [(x - 1) * 100 for x in v], "ci_low": [x * 0.9 for x in v],
                         "ci_high": [x * 1.1 for x in v], "ci_level": 0.95, "largest_category": "memory",
                         "note": [(notes or {}).get(k, "") for k in values]})


def test_ranking_ranks_the_passing_environments_and_explains_the_rest(tmp_path):
    t = hand(tmp_path, {"technology": "kvm", "hw_virt_required": "yes"}, {"technology": "qemu-tcg"},
             {"technology": "uml", "guest_linux_any": "no"},
             {"technology": "container", "fault_isolation": "affects_others", "guest_kernel": "shared with host"},
             cited=True)
    envs = {"k": "kvm", "q1": "qemu-tcg", "q2": "qemu-tcg", "u": "uml", "c": "container", "v": "vmware"}
    est = estimate_frame({"k": 1.2, "q1": 4.0, "q2": 3.0, "u": 170.0, "c": 0.97, "v": 1.1})
    r = functional.ranking(envs, est, table=t, need_fault_isolation=True)
    assert tuple(r.columns) == tables.RANKING_COLUMNS
    assert r["passes"].dtype == bool and str(r["rank"].dtype) == "Int64"
    by = r.set_index("environment")
    assert list(r["environment"]) == ["k", "q2", "q1", "u", "c", "v"]  # ranked, then excluded, then no data
    assert [by.loc[e, "rank"] for e in ("k", "q2", "q1", "u")] == [1, 2, 3, 4]
    assert by.loc["c", "passes"] == False and pd.isna(by.loc["c", "rank"])  # noqa: E712
    assert by.loc["c", "reason"].startswith("excluded by the fault isolation rule (step 2 of the source's order)")
    assert "https://example.org/container/source_fault_isolation; as of 2020-01-02" in by.loc["c", "reason"]
    assert by.loc["c", "relative_time"] == 0.97  # shown with its estimate, not dropped
    assert by.loc["v", "reason"].startswith("no functional data: the functional table") and "'vmware'" in by.loc["v", "reason"]
    assert not by.loc["v", "passes"] and pd.isna(by.loc["v", "rank"])
    # the passing rows say what still applies
    assert "needs Intel VT-x / AMD-V" in by.loc["k", "reason"]
    # without VT-x / AMD-V on the host KVM is excluded, QEMU TCG is not
    r = functional.ranking(envs, est, table=t, hw_virt_available=False).set_index("environment")
    assert r.loc["k", "reason"].startswith("excluded by the hardware virtualization rule (step 1")
    assert r.loc["c", "rank"] == 1 and r.loc["q2", "rank"] == 2  # no fault isolation asked: the container passes


def test_ranking_ties_and_missing_estimates_are_explicit(tmp_path):
    t = hand(tmp_path, {"technology": "kvm"}, {"technology": "uml"})
    envs = {"a": "kvm", "b": "kvm", "c": "uml", "d": "uml", "e": "kvm"}
    est = estimate_frame({"a": 1.5, "b": 1.2, "c": 1.2, "d": np.nan}, notes={"d": "no memory value (pagefault)"})
    r = functional.ranking(envs, est, table=t).set_index("environment")
    assert r.loc["b", "rank"] == r.loc["c", "rank"] == 1 and r.loc["a", "rank"] == 3  # 1, 1, 3
    assert "tied with c" in r.loc["b", "reason"] and "tied with b" in r.loc["c", "reason"]
    assert "tied" not in r.loc["a", "reason"]
    assert r.loc["d", "passes"] and pd.isna(r.loc["d", "rank"])
    assert "no rank: no overhead estimate (no memory value (pagefault))" in r.loc["d", "reason"]
    assert r.loc["e", "passes"] and pd.isna(r.loc["e", "rank"]) and "not in the overhead estimate" in r.loc["e", "reason"]
    assert list(r.index) == ["b", "c", "a", "d", "e"]


def test_ranking_with_the_2009_table_has_no_data_for_the_lab_technologies():
    envs = {"container": "container", "tcg": "qemu-tcg", "uml": "uml"}
    r = functional.ranking(envs, estimate_frame({"container": 1.0, "tcg": 4.0, "uml": 170.0}), table="2009")
    assert not r["passes"].any() and r["rank"].isna().all()
    assert all(x.startswith("no functional data: the 2009 source's functional table") for x in r["reason"])
    assert "closest row of the source, for orientation only: openvz" in r.loc[0, "reason"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped data's share estimate for the notebook's default mix (tests never write data/processed)."""
    from vizlib import inputs, manifest, paths
    from vizlib.mix import DEFAULT_MIX

    inp = inputs.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW, n_boot=400)
    man = manifest.load(paths.RAW, check_folders=False)
    return {e.name: e.technology for e in man.virtual()}, inp.estimate(DEFAULT_MIX)


def test_shipped_data_every_environment_gets_a_rank_with_default_requirements(shipped):
    techs, est = shipped
    assert set(techs) == {"container", "tcg", "uml"}
    for req in ({}, {"arch": "x86_64", "guest_os": "linux"}):  # the function's and notebook 05's defaults
        r = functional.ranking(techs, est, **req)
        assert r["passes"].all() and r["rank"].notna().all()
        expected = est.set_index("environment")["relative_time"].rank(method="min").astype(int)
        assert {e: int(k) for e, k in zip(r["environment"], r["rank"])} == expected.to_dict()
        assert sorted(r["rank"]) == [1, 2, 3]
        got = r.set_index("environment")
        for col in ("relative_time", "ci_low", "ci_high"):
            assert np.allclose(got[col], est.set_index("environment").loc[got.index, col])


def test_ranking_csv_round_trip(shipped, tmp_path):
    techs, est = shipped
    r = functional.ranking(techs, est, need_fault_isolation=True)  # the container is excluded: no rank
    path = tmp_path / tables.RANKING
    tables.write_table(path, r)
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(tables.RANKING_COLUMNS)
    back = tables.read_table(path)
    assert tuple(back.columns) == tables.RANKING_COLUMNS and back["passes"].dtype == bool
    assert list(back["passes"]) == list(r["passes"])
    assert back["rank"].isna().tolist() == r["rank"].isna().tolist()
    assert list(back["rank"].dropna()) == [float(x) for x in r["rank"].dropna()]
    assert list(back["reason"]) == list(r["reason"])
    assert np.allclose(back["relative_time"], r["relative_time"], rtol=1e-5)
