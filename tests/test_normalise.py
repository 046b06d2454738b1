"""Tests for vizlib.normalise against numbers computed by hand from the shipped lab runs.

Expected values are read straight from the raw lmbench files with plain string search
(``Simple syscall: X microseconds``, the ``"mappings`` block, ...) and reduced with the
``statistics`` module, independently of the parser and of vizlib. The interval's coverage is
tested by simulation in ``test_stats.py``; here its construction is checked against the runs:
it is centred on the ratio of geometric means, and every replicate of a pair comes from one
draw per side shared by all metrics.
"""

from __future__ import annotations

import math
import shutil
import statistics
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vizlib import categories, normalise, samples, sanity, stats, tables
from vizlib import manifest as manifest_mod
from vizlib.categories import DEFAULT_REPRESENTATIVES
from vizlib.cli import main as cli_main
from vizlib.errors import NormaliseError
from vizlib.ingest import ingest
from vizlib.normalise import NOTE_FLAT, NOTE_SINGLE_RUN, NOTE_ZERO_BASELINE, NOTE_ZERO_BOTH
from vizlib.tables import (
    MISSING_COLUMNS,
    OVERHEAD_COLUMNS,
    REPLICATE_COLUMNS,
    SANITY_COLUMNS,
    SUMMARY_COLUMNS,
)

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw-lmbench-lab"  # fixed real runs whose files these tests name
SHARED = ROOT.parent / "shared"
KYLIN = SHARED / "lmbench-corpus" / "tomgoh-kylin-lmbench" / "results"
RUNS = {"host": ["host.3", "host.4"], "container": ["container.0", "container.1"],
        "tcg": ["tcg.1", "tcg.2"], "uml": ["uml.0", "uml.2"]}
VIRTUAL = ("container", "tcg", "uml")
TEXT = ("environment", "run", "metric", "param", "unit", "category", "direction", "note")
N_BOOT = 2000


# --- reading raw files by hand ---------------------------------------------------------------------

def raw_lines(env: str, run: str) -> list[str]:
    return (RAW / env / run).read_text(errors="replace").splitlines()


def single(env: str, run: str, label: str) -> float:
    """The number after ``label:`` on the line that starts with it (exactly one such line)."""
    hits = [ln for ln in raw_lines(env, run) if ln.startswith(label + ":")]
    assert len(hits) == 1, (env, run, label, hits)
    return float(hits[0].split(":", 1)[1].split()[0])


def mmap_at(env: str, run: str, size: str) -> float:
    """The latency printed for ``size`` in the ``"mappings`` block."""
    lines = raw_lines(env, run)
    start = lines.index('"mappings')
    for ln in lines[start + 1:]:
        if not ln.strip():
            break
        s, v = ln.split()
        if s == size:
            return float(v)
    raise AssertionError(f"{size} not in the mappings block of {env}/{run}")


def by_hand(label_or_size: str, env: str, series: bool = False) -> list[float]:
    read = mmap_at if series else single
    return [read(env, run, label_or_size) for run in RUNS[env]]


def expected(virtual: list[float], baseline: list[float], lower: bool) -> tuple[float, float]:
    """(slowdown of the medians, ratio of the geometric means) by hand."""
    vm, bm = statistics.median(virtual), statistics.median(baseline)
    gv, gb = statistics.geometric_mean(virtual), statistics.geometric_mean(baseline)
    return (vm / bm, gv / gb) if lower else (bm / vm, gb / gv)


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The shipped runs ingested into a private folder, and their normalisation."""
    out = tmp_path_factory.mktemp("lab-processed")
    ingest(RAW, out, jobs=1)
    tidy, runs = tables.load_tidy(out), tables.load_runs(out)
    man = manifest_mod.load(RAW, check_folders=False)
    ov = normalise.overhead(tidy, man)
    return {"out": out, "tidy": tidy, "runs": runs, "man": man, "ov": ov}


def row(ov: pd.DataFrame, env: str, metric: str, param: str = "") -> pd.Series:
    hit = ov[(ov["environment"] == env) & (ov["metric"] == metric) & (ov["param"] == param)]
    assert len(hit) == 1, (env, metric, param, len(hit))
    return hit.iloc[0]


# --- the overhead table: hand-computed numbers ---------------------------------------------------------

CASES = [
    # (label in the file, metric id, param, lower is better, series)
    ("Simple syscall", "syscall_null", "", True, False),
    ("Pipe bandwidth", "pipe_bw", "", False, False),
    ("TCP latency using localhost", "tcp_latency", "", True, False),
    ("Pagefaults on /var/tmp/XXX", "pagefault", "", True, False),
    ("integer bit", "int_bit", "", True, False),
    ("67.108864", "mmap_latency", "67.108864", True, True),
]


@pytest.mark.parametrize("env", VIRTUAL)
@pytest.mark.parametrize("label,metric,param,lower,series", CASES)
def test_slowdown_and_interval_by_hand(lab, env, label, metric, param, lower, series):
    v, b = by_hand(label, env, series), by_hand(label, "host", series)
    slowdown, geo = expected(v, b, lower)
    r = row(lab["ov"], env, metric, param)
    assert r["virtual_value"] == pytest.approx(statistics.median(v), rel=1e-12)
    assert r["baseline_value"] == pytest.approx(statistics.median(b), rel=1e-12)
    assert r["slowdown"] == pytest.approx(slowdown, rel=1e-12)
    assert (r["n_virtual"], r["n_baseline"]) == (2, 2) and r["statistic"] == "median"
    assert r["direction"] == ("lower" if lower else "higher") and r["baseline"] == "host"
    if len(set(v)) == 1 and len(set(b)) == 1:  # both sides printed one value: no spread to speak of
        assert r["ci_low"] == r["ci_high"] == pytest.approx(slowdown) and math.isnan(r["ci_level"])
        assert NOTE_FLAT in r["note"]
        return
    assert r["ci_level"] == 0.95 and r["note"] == ""
    assert r["ci_low"] < geo < r["ci_high"]  # the interval is about the ratio of geometric means
    # symmetric on the log scale around it (draws of a sum of two scaled t's), to Monte Carlo precision
    assert math.log(geo / r["ci_low"]) == pytest.approx(math.log(r["ci_high"] / geo), rel=0.15)


@pytest.mark.parametrize("env", VIRTUAL)
def test_noisy_is_a_test_of_the_spread_by_hand(lab, env):
    """With two runs, (n-1) s^2/sigma^2 is chi-square(1): noisy (sigma > 10% with 95% confidence) when
    s >= 0.1 * sqrt(3.841) = 0.196; not noisy when s <= 0.1 * sqrt(0.00393) = 0.0063; else unknown."""
    r = row(lab["ov"], env, "pagefault")
    sds = [statistics.stdev([math.log(x) for x in by_hand("Pagefaults on /var/tmp/XXX", e)]) for e in (env, "host")]
    verdicts = [True if sd >= 0.196 else (False if sd <= 0.0063 else None) for sd in sds]
    want = True if True in verdicts else (False if verdicts == [False, False] else None)
    assert (None if pd.isna(r["noisy"]) else bool(r["noisy"])) is want
    v, b = by_hand("Pagefaults on /var/tmp/XXX", env), by_hand("Pagefaults on /var/tmp/XXX", "host")
    assert r["cv_virtual"] == pytest.approx(statistics.stdev(v) / statistics.mean(v), rel=1e-9)
    assert r["cv_baseline"] == pytest.approx(statistics.stdev(b) / statistics.mean(b), rel=1e-9)


def test_table_shape(lab):
    ov, tidy = lab["ov"], lab["tidy"]
    assert tuple(ov.columns) == OVERHEAD_COLUMNS
    assert set(ov["environment"]) == set(VIRTUAL)  # physical environments are not compared
    assert not ov.duplicated(["environment", "metric", "param"]).any()
    assert set(ov["baseline"]) == {"host"}
    assert (ov["technology"] == ov["environment"].map({"container": "container", "tcg": "qemu-tcg", "uml": "uml"})).all()
    # one row per metric+param present on both sides, counted independently of vizlib
    keys = {e: set(zip(g["metric"].astype(str), g["param"].astype(str))) for e, g in tidy.groupby("environment", observed=True)}
    for env in VIRTUAL:
        assert len(ov[ov["environment"] == env]) == len(keys[env] & keys["host"])
    assert ov["slowdown"].replace([np.inf, -np.inf], np.nan).notna().sum() == ov["slowdown"].notna().sum()  # never inf
    assert ov["low_precision"].dtype == bool and str(ov["noisy"].dtype) == "boolean"  # noisy may be unknown


def test_ratio_below_one_is_kept(lab):
    v, b = by_hand("Pagefaults on /var/tmp/XXX", "container"), by_hand("Pagefaults on /var/tmp/XXX", "host")
    r = row(lab["ov"], "container", "pagefault")
    assert statistics.median(v) / statistics.median(b) < 1
    assert r["slowdown"] == pytest.approx(statistics.median(v) / statistics.median(b), rel=1e-12)
    assert (lab["ov"]["slowdown"] < 1).sum() > 10  # no clamping anywhere


def test_zero_baseline_gives_nan_and_a_note_never_inf(lab):
    assert by_hand("integer add", "host") == [0.0, 0.0]  # lmbench printed 0.00
    assert by_hand("integer add", "tcg") == [0.01, 0.01]
    r = row(lab["ov"], "tcg", "int_add")
    assert math.isnan(r["slowdown"]) and math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])
    assert NOTE_ZERO_BASELINE in r["note"]
    assert bool(r["low_precision"])
    both = row(lab["ov"], "container", "int_add")  # 0.00 on both sides
    assert math.isnan(both["slowdown"]) and NOTE_ZERO_BOTH in both["note"]


def test_low_precision_from_the_tidy_table(lab):
    tidy = lab["tidy"]
    flagged = tidy.groupby(["environment", "metric", "param"], observed=True)["low_precision"].any()
    ov = lab["ov"]
    for r in ov.sample(200, random_state=1).itertuples():
        want = flagged.get((r.environment, r.metric, r.param), False) or flagged.get(("host", r.metric, r.param), False)
        assert r.low_precision == want


# --- reproducibility ---------------------------------------------------------------------------------

def test_two_calls_give_identical_frames(lab):
    again = normalise.overhead(lab["tidy"], lab["man"])
    pd.testing.assert_frame_equal(lab["ov"], again)


def copy_processed(src: Path, dst: Path) -> Path:
    """The ingest outputs of ``src`` (tables, recorded manifest, provenance) copied to ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src / tables.TIDY, dst / tables.TIDY)
    for name in (tables.RUNS, tables.ISSUES, tables.MANIFEST_COPY, tables.PROVENANCE):
        shutil.copy(src / name, dst / name)
    return dst


OUTPUTS = tuple(tables.ANALYSIS_FILES.values())


def test_cli_writes_byte_identical_files_twice(lab, tmp_path, capsys):
    out = copy_processed(lab["out"], tmp_path / "p")
    assert cli_main(["normalise", "--processed", str(out), "--raw", str(RAW)]) == 0
    first = {name: (out / name).read_bytes() for name in OUTPUTS}
    printed = capsys.readouterr().out
    assert "noisy" in printed and "sanity" in printed and "one side only" in printed
    assert cli_main(["normalise", "--processed", str(out), "--raw", str(RAW)]) == 0
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == first
    ov = pd.read_csv(out / tables.OVERHEAD, dtype=str, keep_default_na=False)
    assert tuple(ov.columns) == OVERHEAD_COLUMNS
    assert set(ov["noisy"]) == {"true", "false", ""} and set(ov["low_precision"]) == {"true", "false"}  # "": unknown
    r = ov[(ov["environment"] == "tcg") & (ov["metric"] == "syscall_null")].iloc[0]
    assert float(r["slowdown"]) == pytest.approx(row(lab["ov"], "tcg", "syscall_null")["slowdown"], rel=1e-5)
    assert ov.loc[(ov["environment"] == "tcg") & (ov["metric"] == "int_add"), "slowdown"].iloc[0] == ""  # NaN
    assert tuple(pd.read_csv(out / tables.SUMMARY).columns) == SUMMARY_COLUMNS
    assert tuple(pd.read_csv(out / tables.MISSING).columns) == MISSING_COLUMNS
    assert tuple(pd.read_csv(out / tables.SANITY).columns) == SANITY_COLUMNS
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary behind


def test_cli_without_tables_ingests_first_and_says_so(tmp_path, capsys):
    assert cli_main(["normalise", "--processed", str(tmp_path), "--raw", str(RAW)]) == 0
    err = capsys.readouterr().err
    assert "ingested" in err
    assert (tmp_path / tables.TIDY).is_dir() and (tmp_path / tables.OVERHEAD).is_file()


def test_cli_uses_the_raw_folder_recorded_by_ingest(tmp_path, capsys):
    """ingest --raw R --out P, then normalise --processed P: R's manifest, every virtual environment of R."""
    raw = tmp_path / "raw"
    for env, src in (("bare", "host"), ("a", "container"), ("b", "tcg"), ("c", "uml"), ("d", "container"),
                     ("e", "tcg")):
        shutil.copytree(RAW / src, raw / env)
    (raw / "environments.toml").write_text('[environments.bare]\nkind = "physical"\ntechnology = "physical"\n' + "".join(
        f'[environments.{v}]\nkind = "virtual"\ntechnology = "other"\nbaseline = "bare"\n' for v in "abcde"))
    out = tmp_path / "p"
    assert cli_main(["ingest", "--raw", str(raw), "--out", str(out)]) == 0
    assert cli_main(["normalise", "--processed", str(out)]) == 0
    assert "normalised 5 virtual environments" in capsys.readouterr().out
    ov = tables.read_table(out / tables.OVERHEAD)
    assert set(ov["environment"]) == set("abcde") and set(ov["baseline"]) == {"bare"}
    # another raw folder for these tables: exit 2 naming both
    assert cli_main(["normalise", "--processed", str(out), "--raw", str(RAW)]) == 2
    err = capsys.readouterr().err
    assert str(raw) in err and str(RAW) in err


def test_an_environment_the_manifest_does_not_know_is_an_error(lab):
    man = lab["man"]
    envs = {k: v for k, v in man.environments.items() if k != "tcg"}
    with pytest.raises(NormaliseError, match="'tcg'.*does not name"):
        normalise.overhead(lab["tidy"], manifest_mod.Manifest(man.path, envs))


def test_cli_baseline_without_runs_exits_2_naming_both(lab, tmp_path, capsys):
    out = tmp_path / "p"
    out.mkdir()
    copy_processed(lab["out"], out)
    host = out / tables.tidy_file("host")
    host.write_text(host.read_text().splitlines(keepends=True)[0])  # the tidy table without the baseline's rows
    assert cli_main(["normalise", "--processed", str(out), "--raw", str(RAW)]) == 2
    err = capsys.readouterr().err
    assert "'host'" in err and "'container'" in err
    assert not (out / tables.OVERHEAD).exists()


# --- single runs, missing runs, repeated values ------------------------------------------------------------

def test_single_run_has_no_interval(lab):
    tidy = lab["tidy"]
    one = tidy[tidy["run"] != "container/container.1"]
    ov = normalise.overhead(one, lab["man"], n_boot=300)
    r = row(ov, "container", "syscall_null")
    assert r["n_virtual"] == 1 and r["n_baseline"] == 2
    assert r["virtual_value"] == single("container", "container.0", "Simple syscall")
    assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"]) and math.isnan(r["cv_virtual"])
    assert NOTE_SINGLE_RUN in r["note"]
    assert pd.isna(r["noisy"]) or bool(r["noisy"])  # one run: cannot tell it is not noisy
    # the other environments keep their intervals
    assert row(ov, "tcg", "syscall_null")["ci_low"] < row(ov, "tcg", "syscall_null")["ci_high"]
    reps = normalise.joint_replicates(one, lab["man"], keys=[("syscall_null", "")], n_boot=300)
    assert reps[reps["environment"] == "container"]["slowdown"].isna().all()


def test_environment_without_runs_is_an_error(lab):
    tidy = lab["tidy"]
    with pytest.raises(NormaliseError, match="'uml'"):
        normalise.overhead(tidy[tidy["environment"] != "uml"], lab["man"])
    with pytest.raises(NormaliseError, match="baseline 'host'"):
        normalise.overhead(tidy[tidy["environment"] != "host"], lab["man"])
    with pytest.raises(NormaliseError):
        normalise.missing_metrics(samples.prepare(tidy[tidy["environment"] != "host"], lab["man"]))


def test_value_printed_twice_in_a_run_uses_the_within_run_median(lab):
    tidy = lab["tidy"].astype({c: str for c in TEXT})
    extra = tidy[(tidy["run"] == "container/container.0") & (tidy["metric"] == "syscall_null")].copy()
    a = single("container", "container.0", "Simple syscall")
    extra["value"] = [a * 3]  # a second print in the same file
    extra2 = extra.copy()
    extra2["value"] = [a * 5]
    doubled = pd.concat([tidy, extra, extra2], ignore_index=True)
    ov = normalise.overhead(doubled, lab["man"], n_boot=200)
    r = row(ov, "container", "syscall_null")
    run0 = statistics.median([a, a * 3, a * 5])  # within the run first
    run1 = single("container", "container.1", "Simple syscall")
    assert r["virtual_value"] == pytest.approx(statistics.median([run0, run1]), rel=1e-12)
    assert r["n_virtual"] == 2  # still two runs, not four values
    assert "more than once" in r["note"]


# --- missing metrics -------------------------------------------------------------------------------

def test_missing_metrics_are_listed(lab):
    mm = normalise.missing_metrics(samples.prepare(lab["tidy"], lab["man"]))
    assert tuple(mm.columns) == MISSING_COLUMNS
    tidy = lab["tidy"]
    keys = {e: set(zip(g["metric"].astype(str), g["param"].astype(str))) for e, g in tidy.groupby("environment", observed=True)}
    for env in VIRTUAL:
        got = mm[mm["environment"] == env]
        assert set(zip(got.loc[got["present_in"] == "host", "metric"], got.loc[got["present_in"] == "host", "param"])) \
            == keys["host"] - keys[env]
        assert set(zip(got.loc[got["present_in"] == env, "metric"], got.loc[got["present_in"] == env, "param"])) \
            == keys[env] - keys["host"]
    uml = mm[mm["environment"] == "uml"]
    assert len(uml) > 0 and (uml["baseline"] == "host").all()  # UML (1 CPU) lacks some lat_ctx sizes
    listed = set(zip(uml["metric"], uml["param"]))
    shown = set(zip(*[lab["ov"].loc[lab["ov"]["environment"] == "uml", c] for c in ("metric", "param")]))
    assert not listed & shown


# --- sanity checks -------------------------------------------------------------------------------------

def test_sanity_checks(lab):
    sc = sanity.sanity_checks(samples.prepare(lab["tidy"], lab["man"]), lab["runs"])
    assert tuple(sc.columns) == SANITY_COLUMNS
    status = sc.set_index(["environment", "check"])["status"]
    assert status[("container", "cpu_only_items")] == "ok"
    assert status[("uml", "cpu_only_items")] == "ok"
    assert status[("tcg", "cpu_only_items")] == "expected"  # emulation: integer work is slower by design
    # by hand: integer div/mod on tcg are about twice the host's
    div = statistics.median(by_hand("integer div", "tcg")) / statistics.median(by_hand("integer div", "host"))
    assert div > 1 + sanity.CPU_MISMATCH
    assert status[("container", "header_kernel_release")] == "ok"
    assert status[("tcg", "header_kernel_release")] == "differs"
    assert status[("uml", "header_processors")] == "differs"
    detail = sc.set_index(["environment", "check"])["detail"]
    assert "uml 1" in detail[("uml", "header_processors")] and "host 2" in detail[("uml", "header_processors")]
    assert "6.1.0-56-amd64" in detail[("tcg", "header_kernel_release")]
    assert status[("tcg", "header_mhz")] == "ok"  # not recorded on either side


def test_cpu_mismatch_on_a_hypervisor_is_a_warning(lab):
    # the tcg runs relabelled as a KVM guest: a CPU twice as slow is then suspicious, not expected
    man = lab["man"]
    envs = dict(man.environments)
    envs["tcg"] = manifest_mod.Environment("tcg", "virtual", "kvm", "host")
    sc = sanity.sanity_checks(samples.prepare(lab["tidy"], manifest_mod.Manifest(man.path, envs)), lab["runs"])
    r = sc[(sc["environment"] == "tcg") & (sc["check"] == "cpu_only_items")].iloc[0]
    assert r["status"] == "warning" and "clock-frequency or CPU-model" in r["detail"]


# --- the joint bootstrap -------------------------------------------------------------------------------

def test_intervals_are_the_percentiles_of_the_replicates(lab):
    reps = normalise.joint_replicates(lab["tidy"], lab["man"])
    assert tuple(reps.columns) == REPLICATE_COLUMNS
    assert reps.groupby(["environment", "metric", "param"]).size().eq(N_BOOT).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = reps.groupby(["environment", "metric", "param"], sort=False)["slowdown"].agg(
            lo=lambda s: np.nanpercentile(s.to_numpy(), 2.5), hi=lambda s: np.nanpercentile(s.to_numpy(), 97.5))
    ov = lab["ov"].set_index(["environment", "metric", "param"])
    q = q.loc[ov.index]
    np.testing.assert_array_equal(q["lo"].to_numpy(), ov["ci_low"].to_numpy())
    np.testing.assert_array_equal(q["hi"].to_numpy(), ov["ci_high"].to_numpy())


def test_restricting_keys_does_not_change_the_draws(lab):
    full = normalise.joint_replicates(lab["tidy"], lab["man"])
    keys = [("pagefault", ""), ("mmap_latency", None), ("tcp_latency", "")]
    sub = normalise.joint_replicates(lab["tidy"], lab["man"], keys=keys)
    assert set(sub["param"][sub["metric"] == "mmap_latency"]) == {"67.108864"}  # largest size, numerically
    merged = sub.merge(full, on=["environment", "metric", "param", "replicate"], suffixes=("", "_full"))
    assert len(merged) == len(sub) == 3 * len(VIRTUAL) * N_BOOT
    np.testing.assert_array_equal(merged["slowdown"].to_numpy(), merged["slowdown_full"].to_numpy())


def test_replicates_are_joint_across_metrics(lab):
    """Replicate b of a pair comes from ONE draw per side shared by every metric.

    With two runs a side's log draw of metric k is m_k + z * d_k, where d_k is half the difference of
    the two runs' logs and z is the same for every metric of that side in that replicate; so
    log slowdown_k - log(geomean ratio)_k = z_v * dv_k - z_b * db_k with two numbers (z_v, z_b) per
    replicate fitting every metric at once.
    """
    metrics = [("Simple syscall", "syscall_null"), ("Pagefaults on /var/tmp/XXX", "pagefault"),
               ("TCP latency using localhost", "tcp_latency"), ("Process fork+exit", "proc_fork")]
    keys = [(m, "") for _, m in metrics]
    reps = normalise.joint_replicates(lab["tidy"], lab["man"], keys=keys, n_boot=300)
    for env in VIRTUAL:
        wide = reps[reps["environment"] == env].pivot(index="replicate", columns="metric", values="slowdown")
        A, y = [], []
        for label, m in metrics:
            v, b = by_hand(label, env), by_hand(label, "host")
            geo = statistics.geometric_mean(v) / statistics.geometric_mean(b)
            A.append([math.log(v[1] / v[0]) / 2, -math.log(b[1] / b[0]) / 2])
            y.append(np.log(wide[m].to_numpy()) - math.log(geo))
        A, Y = np.array(A), np.array(y)  # (4 metrics, 2 unknowns), (4 metrics, 300 replicates)
        z, *_ = np.linalg.lstsq(A, Y, rcond=None)
        assert np.allclose(A @ z, Y, atol=1e-9), env  # one (z_v, z_b) per replicate fits all four metrics
        assert np.std(z[0]) > 0.1 and np.std(z[1]) > 0.1  # and the draws do vary


def test_seed_changes_draws_but_not_point_estimates(lab):
    keys = [("syscall_null", ""), ("pagefault", "")]
    zero = normalise.joint_replicates(lab["tidy"], lab["man"], keys=keys, n_boot=300, seed=0)
    one = normalise.joint_replicates(lab["tidy"], lab["man"], keys=keys, n_boot=300, seed=1)
    again = normalise.joint_replicates(lab["tidy"], lab["man"], keys=keys, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(one, again)  # the same seed, the same draws
    assert (zero["slowdown"].to_numpy() != one["slowdown"].to_numpy()).mean() > 0.3  # another seed, other draws
    other = normalise.overhead(lab["tidy"], lab["man"], n_boot=300, seed=1)
    np.testing.assert_array_equal(other["slowdown"].to_numpy(), lab["ov"]["slowdown"].to_numpy())


# --- two independent baselines ------------------------------------------------------------------------

TWO_BASELINES = """
[environments.rhel]
kind = "physical"
technology = "physical"

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

[environments.kvm]
kind = "virtual"
technology = "kvm"
baseline = "fedora"
"""

KVM_HOST = [KYLIN / "n90-day3" / f"n90-vhe-noLSM-full-cpu0-iter{i}.txt" for i in (1, 2, 3)]
KVM_GUEST = [KYLIN / "xkernel-n90-kvm-vhe-20260605-201819" / f"xkernel-kvm-cpu0-iter{i}.txt" for i in (1, 2, 3)]


def kylin_values(paths, label) -> list[float]:
    out = []
    for p in paths:
        hits = [ln for ln in p.read_text(errors="replace").splitlines() if ln.startswith(label + ":")]
        assert len(hits) == 1
        out.append(float(hits[0].split(":", 1)[1].split()[0]))
    return out


@pytest.fixture(scope="module")
def two_baselines(tmp_path_factory):
    if not all(p.is_file() for p in KVM_HOST + KVM_GUEST):
        pytest.skip(f"lmbench corpus not found under {KYLIN} (the kylin host/guest runs are needed)")
    raw = tmp_path_factory.mktemp("two-raw")
    (raw / manifest_mod.MANIFEST_NAME).write_text(TWO_BASELINES)
    for env, src in (("rhel", "host"), ("openvz", "container"), ("xen", "uml")):
        (raw / env).mkdir()
        for run in RUNS[src]:
            shutil.copy(RAW / src / run, raw / env / run)
    for env, paths in (("fedora", KVM_HOST), ("kvm", KVM_GUEST)):
        (raw / env).mkdir()
        for p in paths:
            shutil.copy(p, raw / env / p.name)
    out = tmp_path_factory.mktemp("two-processed")
    ingest(raw, out, jobs=1)
    tidy, runs = tables.load_tidy(out), tables.load_runs(out)
    man = manifest_mod.load(raw)
    return {"raw": raw, "out": out, "tidy": tidy, "runs": runs, "man": man, "ov": normalise.overhead(tidy, man)}


def test_each_virtual_environment_only_against_its_own_baseline(two_baselines):
    ov = two_baselines["ov"]
    assert ov.groupby("environment")["baseline"].unique().map(list).to_dict() == \
        {"kvm": ["fedora"], "openvz": ["rhel"], "xen": ["rhel"]}
    # kvm by hand against fedora (three runs a side)
    g, h = kylin_values(KVM_GUEST, "Simple syscall"), kylin_values(KVM_HOST, "Simple syscall")
    r = row(ov, "kvm", "syscall_null")
    assert (r["n_virtual"], r["n_baseline"]) == (3, 3)
    assert r["slowdown"] == pytest.approx(statistics.median(g) / statistics.median(h), rel=1e-12)
    assert r["ci_low"] <= r["slowdown"] <= r["ci_high"]
    # had kvm been compared with the RHEL host, the number would be different
    rhel = statistics.median(by_hand("Simple syscall", "host"))
    assert not math.isclose(r["slowdown"], statistics.median(g) / rhel, rel_tol=1e-3)
    # xen (the UML runs) against rhel (the host runs): the lab numbers, unchanged
    want, _geo = expected(by_hand("Simple syscall", "uml"), by_hand("Simple syscall", "host"), True)
    x = row(ov, "xen", "syscall_null")
    assert x["slowdown"] == pytest.approx(want, rel=1e-12)
    tcp = row(ov, "kvm", "tcp_latency")
    g, h = kylin_values(KVM_GUEST, "TCP latency using localhost"), kylin_values(KVM_HOST, "TCP latency using localhost")
    assert tcp["slowdown"] == pytest.approx(statistics.median(g) / statistics.median(h), rel=1e-12)


def test_two_baselines_tables(two_baselines, tmp_path):
    t = two_baselines
    sc = sanity.sanity_checks(samples.prepare(t["tidy"], t["man"]), t["runs"])
    kernel = sc[(sc["environment"] == "kvm") & (sc["check"] == "header_kernel_release")].iloc[0]
    assert kernel["baseline"] == "fedora" and kernel["status"] == "differs"
    assert "10.0.0" in kernel["detail"] and "6.6.0-73-generic" in kernel["detail"]
    assert set(sc.loc[sc["environment"] == "openvz", "baseline"]) == {"rhel"}
    mm = normalise.missing_metrics(samples.prepare(t["tidy"], t["man"]))
    assert set(mm.loc[mm["environment"] == "kvm", "present_in"]) <= {"kvm", "fedora"}
    summary = categories.category_summary(t["ov"])
    assert set(summary["baseline"]) == {"rhel", "fedora"}
    out = copy_processed(t["out"], tmp_path / "p")
    assert cli_main(["normalise", "--processed", str(out), "--raw", str(t["raw"])]) == 0


# --- category summaries --------------------------------------------------------------------------------

def test_category_summary_representatives(lab):
    cs = categories.category_summary(lab["ov"])
    assert tuple(cs.columns) == SUMMARY_COLUMNS
    assert (cs["view"] == "representative").all()
    assert len(cs) == len(VIRTUAL) * len(DEFAULT_REPRESENTATIVES)
    disk = cs[cs["category"] == "disk"]
    assert set(disk["param"]) == {"67.108864"}  # largest size numerically, not "8.388608" as text would say
    for r in cs.itertuples():
        o = row(lab["ov"], r.environment, r.metric, r.param)
        assert (r.slowdown, r.ci_low, r.ci_high, r.n_virtual, r.noisy) == \
            (o["slowdown"], o["ci_low"], o["ci_high"], o["n_virtual"], o["noisy"])
    resolved = categories.resolve_representatives(lab["ov"])
    assert tuple(resolved.columns) == tables.REPRESENTATIVE_COLUMNS
    assert resolved.set_index(["environment", "category"]).loc[("uml", "disk"), "param"] == "67.108864"


def test_missing_representative_gives_a_nan_row(lab):
    reps = dict(DEFAULT_REPRESENTATIVES, network=("udp_latency", "no-such-host"))
    cs = categories.category_summary(lab["ov"], reps)
    net = cs[cs["category"] == "network"]
    assert len(net) == len(VIRTUAL) and net["slowdown"].isna().all() and (net["n_virtual"] == 0).all()


def test_category_geomean_by_hand(lab):
    """The geomean view: each metric counts once (geomean over its params), then the geomean over the
    category's metrics; its interval applies the same formula to every joint replicate."""
    ov = lab["ov"]
    tabs = normalise.normalise_all(lab["tidy"], lab["runs"], lab["man"])
    pd.testing.assert_frame_equal(tabs["overhead"], ov)
    geo = tabs["category_summary"]
    geo = geo[geo["view"] == "geomean"]
    assert tuple(geo.columns) == SUMMARY_COLUMNS and len(geo) == len(VIRTUAL) * 5
    prep = samples.prepare(lab["tidy"], lab["man"])
    logs_of = {}
    for env in lab["man"].virtual():
        p = normalise.pair(prep, env)
        logs_of[env.name] = pd.DataFrame(p.log_replicates, columns=pd.MultiIndex.from_arrays(
            [p.cols["metric"], p.cols["param"]], names=["metric", "param"]))
    for r in geo.itertuples():
        sub = ov[(ov["environment"] == r.environment) & (ov["category"] == r.category)]
        sub = sub[np.isfinite(sub["slowdown"]) & (sub["slowdown"] > 0)]
        per_metric = sub.groupby("metric")["slowdown"].apply(lambda s: np.exp(np.log(s).mean()))
        assert r.slowdown == pytest.approx(float(np.exp(np.log(per_metric).mean())), rel=1e-12)
        assert r.metric == f"(geomean of {len(per_metric)} metrics)"
        # the interval, replicate by replicate, from the pair's log replicates
        logs = logs_of[r.environment][list(zip(sub["metric"], sub["param"]))]
        if logs.isna().all().any():  # a used slowdown with no replicate at all: no interval for the category
            assert math.isnan(r.ci_low) and math.isnan(r.ci_high)
            continue
        per_m = logs.T.groupby(level="metric").agg(lambda c: c.mean(skipna=False)).T  # mean log over params
        with np.errstate(over="ignore"):  # a two-run pair's t(1) draws reach inf; percentiles keep them
            g = np.exp(per_m.mean(axis=1, skipna=False)).to_numpy()  # then over metrics
        g = g[~np.isnan(g)]  # a replicate missing a used slowdown is left out
        lo, hi = np.percentile(g, stats.CI_PERCENTILES)
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)


def test_geomean_without_replicates_has_no_interval(lab):
    ov = lab["ov"]
    cols = {c: ov.loc[ov["environment"] == "tcg", c].to_numpy() for c in ov.columns}
    rows = categories.summary_frame(categories.geomean_rows(cols, None))
    assert rows["ci_low"].isna().all() and rows["slowdown"].notna().all()


# --- scale ----------------------------------------------------------------------------------------------

def synthetic_fleet(lab, envs: int, runs: int):
    """``envs`` environments (a fifth of them baselines) of ``runs`` copies of host.3, values jittered."""
    base = lab["tidy"]
    one = base[base["run"] == "host/host.3"].astype({c: str for c in TEXT})
    names = [f"e{i:03d}" for i in range(envs)]
    n_base = max(1, envs // 5)
    table = {}
    for i, name in enumerate(names):
        if i < n_base:
            table[name] = manifest_mod.Environment(name, "physical", "physical", None)
        else:
            table[name] = manifest_mod.Environment(name, "virtual", "kvm", names[i % n_base])
    reps = envs * runs
    tidy = pd.DataFrame({c: np.tile(one[c].to_numpy(), reps) for c in one.columns})
    tidy["environment"] = np.repeat(names, runs * len(one))
    tidy["run"] = np.repeat([f"{e}/r{j:04d}" for e in names for j in range(runs)], len(one))
    tidy["value"] = tidy["value"].to_numpy() * np.random.default_rng(0).lognormal(0, 0.05, len(tidy))
    return tidy, manifest_mod.Manifest(Path("fleet"), table)


def test_a_fleet_of_runs_normalises(lab):
    """Many environments and runs: every pair against its own baseline, intervals where there are runs.
    (Its speed is a benchmark figure, ``make bench``, not a test.)"""
    tidy, man = synthetic_fleet(lab, envs=10, runs=40)
    ov = normalise.overhead(tidy, man, n_boot=200)
    assert len(ov) == 8 * 390 and ov["ci_low"].notna().sum() > 7 * 390
    assert set(ov["baseline"]) == {"e000", "e001"}
    assert (ov["n_virtual"] == 40).all()
