"""vizlib.plots and vizlib.references on the shipped lab runs (data/raw, ingested into tmp).

Counts are checked against the tables themselves: a point per run, a point per slowdown row,
one diamond per paper item, and so on. Figures are closed after every test.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vizlib import catalogue, manifest, normalise, notebook, plots, references, tables  # noqa: E402
from vizlib.catalogue import CATEGORIES  # noqa: E402
from vizlib.errors import UsageError  # noqa: E402
from vizlib.ingest import ingest  # noqa: E402
from vizlib.manifest import Environment, Manifest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
SHARED_REFERENCE = ROOT.parent / "shared" / "references" / "barham2003-xen-lmbench.csv"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    ingest(RAW, out, jobs=1)
    man = manifest.load(RAW)
    tidy, runs = tables.load_tidy(out), tables.load_runs(out)
    result = normalise.normalise_all(tidy, runs, man, n_boot=200, seed=0)
    return {"manifest": man, "tidy": tidy, **result}


def _marker_points(ax, prefix):
    """Number of data points in the marker lines whose gid starts with ``prefix``."""
    return sum(len(line.get_xdata()) for line in ax.lines if (line.get_gid() or "").startswith(prefix))


def _marker_values(ax, gid, axis="x"):
    """The data values (x or y) of the marker lines tagged ``gid``, sorted."""
    vals = [v for line in ax.lines if line.get_gid() == gid
            for v in (line.get_xdata() if axis == "x" else line.get_ydata())]
    return sorted(float(v) for v in vals)


def _two_group_manifest():
    envs = {
        "rhel": Environment("rhel", "physical", "physical", None),
        "fedora": Environment("fedora", "physical", "physical", None),
        "kvm": Environment("kvm", "virtual", "kvm", "fedora"),
        "xen": Environment("xen", "virtual", "xen-pv", "rhel"),
        "openvz": Environment("openvz", "virtual", "openvz", "rhel"),
    }
    return Manifest(Path("environments.toml"), envs)


# --- order, colours, selection ------------------------------------------------------------------

def test_display_order_puts_each_baseline_before_its_virtual_environments():
    man = _two_group_manifest()
    assert manifest.display_order(man) == ["rhel", "xen", "openvz", "fedora", "kvm"]
    assert manifest.display_order(man, ["kvm"]) == ["fedora", "kvm"]  # a virtual env brings its baseline
    assert manifest.display_order(man, ["openvz", "fedora"]) == ["rhel", "openvz", "fedora"]


def test_palette_is_stable_across_subsets_and_baselines_are_grey(lab):
    man = lab["manifest"]
    pal = plots.environment_palette(man)
    assert pal["host"] in plots.BASELINE_GREYS
    assert len({tuple(np.atleast_1d(pal[n])) for n in ("container", "tcg", "uml")}) == 3
    fig_all = plots.item_plot(lab["tidy"], metric="pagefault", manifest=man)
    fig_one = plots.item_plot(lab["tidy"], metric="pagefault", manifest=man, environments=["uml"])
    colours = lambda ax: {tuple(np.round(c.get_facecolor()[0], 3)) for c in ax.collections if isinstance(c, PathCollection)}  # noqa: E731
    assert colours(fig_one) <= colours(fig_all)


@pytest.mark.parametrize("metric, params, expected", [
    ("mmap_latency", ["0.524288", "67.108864", "8.388608"], "67.108864"),
    ("ctx_switch", ["16p/64K", "2p/0K", "2p/16K"], "2p/0K"),
    ("fs_create", ["10k", "0k", "4k"], "0k"),
    ("tcp_latency", ["", "10.0.0.2"], ""),
    ("pagefault", [""], ""),
    ("tcp_bw", ["0.000064", "10.485760", "0.001024"], "10.485760"),
])
def test_representative_param(metric, params, expected):
    assert catalogue.representative_param(metric, params) == expected


def test_select_metrics_default_is_one_row_per_metric_and_environment(lab):
    ov = lab["overhead"]
    sel = plots.select_metrics(ov)
    assert not sel.duplicated(["environment", "metric"]).any()
    assert set(sel["metric"]) == set(ov["metric"])
    mmap = sel[sel["metric"] == "mmap_latency"]
    assert set(mmap["param"]) == {"67.108864"}


def test_select_metrics_by_name_param_and_all_params(lab):
    ov = lab["overhead"]
    every = plots.select_metrics(ov, notebook.parse_metric_list("mmap_latency@*"))
    assert len(every) == len(ov[ov["metric"] == "mmap_latency"])
    one = plots.select_metrics(ov, notebook.parse_metric_list("pagefault, mmap_latency@0.524288"))
    assert set(zip(one["metric"], one["param"])) == {("pagefault", ""), ("mmap_latency", "0.524288")}
    with pytest.raises(UsageError, match="no_such_metric"):
        notebook.parse_metric_list("pagefault, no_such_metric")


# --- the source's four items --------------------------------------------------------------------------

def test_item_plot_shows_every_run_and_a_median_per_environment(lab):
    tidy, man = lab["tidy"], lab["manifest"]
    ax = plots.item_plot(tidy, metric="pagefault", manifest=man)
    runs = tidy[tidy["metric"] == "pagefault"]
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert points == len(runs) == runs["run"].nunique()  # one value per run file
    drawn = sorted(float(y) for c in ax.collections if isinstance(c, PathCollection) for _x, y in c.get_offsets())
    assert drawn == sorted(runs["value"].astype(float))  # every run where its value is, not just counted
    medians = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(medians) == 4
    ticks = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert ticks == ["host", "container", "tcg", "uml"]
    assert "lower is better" in ax.get_title()
    assert "(us)" in ax.get_ylabel()
    assert ax.get_yscale() == "log"  # uml's page faults are ~600x the host's


def test_item_plot_higher_is_better_and_missing_environment(lab):
    tidy, man = lab["tidy"], lab["manifest"]
    tidy = tidy[~((tidy["environment"] == "tcg") & (tidy["metric"] == "fs_create"))]
    ax = plots.item_plot(tidy, metric="fs_create", manifest=man)
    assert "higher is better" in ax.get_title()
    assert "files/s" in ax.get_ylabel()
    assert any(t.get_text() == "no data" for t in ax.texts)


def test_item_plot_selection(lab):
    ax = plots.item_plot(lab["tidy"], metric="tcp_latency", param="", manifest=lab["manifest"],
                         environments=["container"])
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["host", "container"]
    shown = lab["tidy"][(lab["tidy"]["metric"] == "tcp_latency") & lab["tidy"]["environment"].isin(["host", "container"])]
    assert sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)) == len(shown) > 0


def test_source_figures_are_the_four_items(lab):
    figs = plots.source_figures(lab["tidy"], manifest=lab["manifest"])
    assert len(figs) == 4
    titles = [f.axes[0].get_title() for f in figs]
    assert [t.split(":")[0] for t in titles] == ["integer bit", "Page fault", "mmap latency at 64 MB", "TCP latency"]
    assert all("lower is better" in t for t in titles)
    ops = [f._suptitle.get_text().split(":")[0] for f in figs]
    assert ops == ["CPU", "memory", "disk I/O", "network I/O"]


# --- slowdown and category plots ------------------------------------------------------------------------

def test_slowdown_plot_draws_a_point_per_row_with_noisy_hollow(lab):
    ov, man = lab["overhead"], lab["manifest"]
    sel = plots.select_metrics(ov)
    sel = sel[np.isfinite(sel["slowdown"])]
    ax = plots.slowdown_plot(ov, manifest=man)
    assert _marker_points(ax, "slowdown:") == len(sel)
    for env in ("container", "tcg", "uml"):  # each dot sits at its slowdown
        assert _marker_values(ax, f"slowdown:{env}") == sorted(sel.loc[sel["environment"] == env, "slowdown"])
    hollow = sum(len(line.get_xdata()) for line in ax.lines
                 if (line.get_gid() or "").startswith("slowdown:") and line.get_markerfacecolor() == "white")
    assert hollow == int(sel["noisy"].sum()) > 0
    assert len(ax.get_yticks()) == sel[["metric", "param"]].drop_duplicates().shape[0]
    assert ax.get_xscale() == "log"
    assert any(list(line.get_xdata()) == [1, 1] for line in ax.lines)  # the line at 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("noisy" in t for t in legend) and "uml vs host" in legend


def test_slowdown_plot_selection_of_environments_and_metrics(lab):
    ax = plots.slowdown_plot(lab["overhead"], manifest=lab["manifest"], environments=["tcg"],
                             metrics=notebook.parse_metric_list("pagefault, mmap_latency@*"))
    n_mmap = int((lab["overhead"].query("environment == 'tcg' and metric == 'mmap_latency'")).shape[0])
    assert _marker_points(ax, "slowdown:tcg") == 1 + n_mmap
    assert _marker_points(ax, "slowdown:") == 1 + n_mmap


def test_slowdown_plot_empty_selection_says_so(lab):
    ax = plots.slowdown_plot(lab["overhead"], manifest=lab["manifest"], environments=["host"])
    assert any("no slowdown" in t.get_text() for t in ax.texts)


def test_category_plot(lab):
    summ = lab["category_summary"]
    rep = summ[(summ["view"] == "representative") & np.isfinite(summ["slowdown"])]
    ax = plots.category_plot(summ, manifest=lab["manifest"])
    assert _marker_points(ax, "category:") == len(rep) == 3 * len(catalogue.CATEGORIES)  # 3 virtual environments
    for env in ("container", "tcg", "uml"):
        assert _marker_values(ax, f"category:{env}", "y") == sorted(rep.loc[rep["environment"] == env, "slowdown"])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == list(catalogue.CATEGORIES)
    assert "Page fault" in ticks[1]
    geo = plots.category_plot(summ, manifest=lab["manifest"], view="geomean", environments=["uml"])
    assert _marker_points(geo, "category:") == 5


# --- literature ---------------------------------------------------------------------------------------------

def test_shipped_reference_is_the_shared_file_with_its_citation():
    shipped = ROOT / "vizlib" / "data" / "barham2003_xen_lmbench.csv"
    if SHARED_REFERENCE.is_file():
        assert hashlib.sha256(shipped.read_bytes()).digest() == hashlib.sha256(SHARED_REFERENCE.read_bytes()).digest()
    citation = (ROOT / "vizlib" / "data" / "barham2003_xen_lmbench.md").read_text()
    for text in ("Xen and the Art of Virtualization", "SOSP 2003", "10.1145/945445.945462", "Tables 3 to 5"):
        assert text in citation
    assert "10.1145/945445.945462" in references.load_barham2003.__doc__


def test_barham_ratios_match_the_published_table():
    r = references.barham2003_ratios(("xen",)).set_index(["metric", "param"])["ratio"]
    # Xen / L-UP ratios the reference README lists
    expected = {("syscall_null", ""): 1.02, ("proc_fork", ""): 1.80, ("proc_exec", ""): 1.45,
                ("ctx_switch", "2p/0K"): 2.56, ("mmap_latency", ""): 2.04, ("pagefault", ""): 1.92,
                ("signal_catch", ""): 0.70}
    for key, value in expected.items():
        assert r[key] == pytest.approx(value, abs=0.006), key
    uml = references.barham2003_ratios(("uml",)).set_index(["metric", "param"])
    assert uml.loc[("fs_create", "10k"), "ratio"] == pytest.approx(250 / 66.0)
    assert set(uml["technology"]) == {"uml"} and set(uml["baseline"]) == {"linux_up"}


def test_null_io_is_kept_but_unmatched():
    r = references.barham2003_ratios()
    null_io = r[r["metric"] == "null_io"]
    assert len(null_io) == 2 and not null_io["matched"].any()
    assert r[r["metric"] != "null_io"]["matched"].all()
    with pytest.raises(ValueError, match="unknown"):
        references.barham2003_ratios(("kvm",))


def test_literature_comparison_matches_technology_and_largest_mmap_size(lab):
    comp = references.literature_comparison(lab["overhead"])
    measured = comp[comp["source"] == "measured"]
    assert set(measured["environment"]) == {"uml"}  # the lab has no xen-pv environment
    assert set(measured["system"]) == {"uml"}
    mmap = measured[measured["metric"] == "mmap_latency"]
    assert list(mmap["measured_param"]) == ["67.108864"]
    assert "null_io" not in set(measured["metric"])
    table = references.comparison_table(comp)
    assert any("Barham et al. 2003 (literature)" in c for c in table.columns)
    assert "uml vs host (measured)" in table.columns


def test_literature_figure_marks_literature_and_matches_measured(lab):
    comp = references.literature_comparison(lab["overhead"])
    fig = plots.literature_figure(comp, manifest=lab["manifest"])
    xen_ax, uml_ax = fig.axes
    n_items = len(references.load_barham2003())
    assert _marker_points(xen_ax, "literature") == n_items == _marker_points(uml_ax, "literature")
    assert _marker_points(xen_ax, "measured") == 0
    assert any("no measured environment" in t.get_text() for t in xen_ax.texts)
    n_uml = int(((comp["source"] == "measured") & (comp["environment"] == "uml")).sum())
    assert _marker_points(uml_ax, "measured:uml") == n_uml > 10
    legend = [t.get_text() for t in uml_ax.get_legend().get_texts()]
    assert any(t.startswith(references.LITERATURE_LABEL) for t in legend)
    assert any("(measured)" in t for t in legend)


def test_literature_figure_with_a_xen_pv_environment(lab):
    ov = lab["overhead"]
    xen = ov[ov["environment"] == "container"].assign(environment="xen", technology="xen-pv")
    comp = references.literature_comparison(pd.concat([ov, xen], ignore_index=True))
    fig = plots.literature_figure(comp, systems=["xen"])
    (ax,) = fig.axes
    assert _marker_points(ax, "measured:xen") == int(((comp["environment"] == "xen")).sum()) > 10


def test_many_environments_stay_drawable(lab):
    """Twelve environments in two baseline groups: every run and slowdown is drawn, labels rotate."""
    tidy, ov = lab["tidy"], lab["overhead"]
    envs = {"b1": Environment("b1", "physical", "physical", None), "b2": Environment("b2", "physical", "physical", None)}
    tidy_parts = [tidy[tidy["environment"] == "host"].assign(environment=b) for b in ("b1", "b2")]
    ov_parts = []
    sources = ["container", "tcg", "uml"]
    for i in range(10):
        name, base, src = f"v{i}", ("b1", "b2")[i % 2], sources[i % 3]
        envs[name] = Environment(name, "virtual", "other", base)
        tidy_parts.append(tidy[tidy["environment"] == src].assign(environment=name))
        ov_parts.append(ov[ov["environment"] == src].assign(environment=name, baseline=base))
    man = Manifest(Path("environments.toml"), envs)
    big_tidy, big_ov = pd.concat(tidy_parts), pd.concat(ov_parts)
    assert manifest.display_order(man)[:3] == ["b1", "v0", "v2"]
    ax = plots.item_plot(big_tidy, metric="tcp_latency", manifest=man)
    assert len(ax.get_xticklabels()) == 12
    assert ax.get_xticklabels()[0].get_rotation() == 30
    assert sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)) == \
        (big_tidy["metric"] == "tcp_latency").sum()
    ax = plots.slowdown_plot(big_ov, manifest=man, metrics=notebook.parse_metric_list("pagefault, tcp_latency, mmap_latency"))
    assert _marker_points(ax, "slowdown:") == 30
    ax = plots.slowdown_plot(big_ov, manifest=man, environments=["v3", "v4"], metrics=[("pagefault", None)])
    assert _marker_points(ax, "slowdown:") == 2


# --- readability ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, expected", [
    (1.0, 200.0, [1, 2, 5, 10, 20, 50, 100, 200]),  # the sensitivity axis that showed only 10^0 and 10^1
    (0.8, 3.0, [1, 1.5, 2, 3]),
    (0.5, 5000.0, [1, 10, 100, 1000]),
])
def test_log_axes_have_readable_ticks(lo, hi, expected):
    fig = Figure()
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    plots.log_axis(ax.xaxis, lo, hi)
    ticks = [t for t in ax.xaxis.get_majorticklocs() if lo <= t <= hi]
    assert [float(t) for t in ticks] == pytest.approx([float(e) for e in expected])
    labels = [ax.xaxis.get_major_formatter()(t) for t in ticks]
    assert all("10^" not in t and "$" not in t for t in labels)
    if hi > 1000:
        assert "1,000" in labels


def test_slowdown_figure_is_one_facet_per_category_on_one_scale(lab):
    ov, man = lab["overhead"], lab["manifest"]
    sel = plots.select_metrics(ov)
    sel = sel[np.isfinite(sel["slowdown"])]
    fig = plots.slowdown_figure(ov, manifest=man)
    axes = fig.axes
    cats = [c for c in CATEGORIES if c in set(sel["category"])]
    assert [ax.get_title(loc="left") for ax in axes] == cats
    assert sum(_marker_points(ax, "slowdown:") for ax in axes) == len(sel)
    for ax, cat in zip(axes, cats):  # each facet: its own rows, and scale labels under it
        assert len(ax.get_yticks()) == sel.loc[sel["category"] == cat, ["metric", "param"]].drop_duplicates().shape[0]
        assert ax.xaxis.get_tick_params()["labelbottom"]
        assert ax.get_xlim() == axes[0].get_xlim() and ax.get_xscale() == "log"
    width_px = fig.get_size_inches()[0] * fig.dpi
    assert width_px <= 900 and fig.legends  # the legend heads the figure, not the right margin


def test_tick_labels_are_at_least_10_px_at_a_700_px_output_area(lab):
    """Figures are at most 9 in wide at 100 dpi: scaled down to 700 px, a TICK_PT label is still >= 10 px."""
    figs = [plots.slowdown_figure(lab["overhead"], manifest=lab["manifest"]),
            plots.category_plot(lab["category_summary"], manifest=lab["manifest"]).figure,
            plots.literature_figure(references.literature_comparison(lab["overhead"]), manifest=lab["manifest"])] + \
        plots.source_figures(lab["tidy"], manifest=lab["manifest"])
    for fig in figs:
        natural = fig.get_size_inches()[0] * 100
        scale = min(1.0, 700 / natural)
        for ax in fig.axes:
            for label in ax.get_xticklabels() + ax.get_yticklabels():
                if label.get_text():
                    assert label.get_fontsize() * 100 / 72 * scale >= 10, (fig, label.get_text())
