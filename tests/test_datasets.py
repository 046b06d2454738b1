"""Real collections of other people's lmbench runs, end to end (issue: real-world datasets).

- kylin-lmbench (../shared/lmbench-corpus/tomgoh-kylin-lmbench): bare metal (KVM off) <- nvhe VM
  <- pKVM protected VM, ten iterations each. With ``statistic = mean`` the slowdowns reproduce the
  published ``n90_pkvm_pvm_over_nvhe_vm_ratio`` column, and the chain is shown in two steps.
- atharva0300-lmbench3-container-perf: host / docker / k8s wrapper files (one lmbench program per
  file, 25 ``Run N:`` repetitions each), read from their own nested layout with ``runs`` patterns.

Corpus tests skip with a reason without ../shared; the chain and repetition features are also
tested on the shipped runs and on built tables, so a fresh clone still covers them.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CORPUS, RAW, require_corpus
from vizlib import manifest as manifest_mod
from vizlib import normalise, samples, tables
from vizlib.ingest import ingest

KYLIN = CORPUS / "tomgoh-kylin-lmbench"
KYLIN_RUNS = {
    "baremetal": ("results/n90-day3", "n90-kvmoff-noLSM-full-cpu0-iter{}.txt"),
    "nvhe": ("results/xkernel-n90-kvm-nvhe-20260606-133103", "xkernel-kvm-nvhe-cpu0-iter{}.txt"),
    "pvm": ("results/xkernel-n90-pkvm-pvm-20260605-163040", "xkernel-pkvm-np-cpu0-iter{}.txt"),
}
KYLIN_MANIFEST = """# kylin-lmbench N90: bare metal (KVM off) <- nvhe VM <- pKVM protected VM (x-kernel guests)
[environments.baremetal]
kind = "physical"
technology = "physical"

[environments.nvhe]
kind = "virtual"
technology = "kvm"
baseline = "baremetal"

[environments.pvm]
kind = "virtual"
technology = "other"
baseline = "nvhe"
description = "pKVM protected VM; its baseline is the nvhe VM, as kylin's ratio column compares them"
"""

OPS = {"integer": "int", "int64": "int64", "uint64": "uint64", "float": "float", "double": "double"}
BWMEM = {"bcopy_aligned": "libc_bcopy_aligned_bw", "bcopy_unaligned": "libc_bcopy_unaligned_bw",
         "bzero": "mem_bzero_bw", "fcp": "unrolled_bcopy_unaligned_bw", "cp": "unrolled_partial_bcopy_unaligned_bw",
         "frd": "mem_read_bw", "rd": "mem_partial_read_bw", "fwr": "mem_write_bw", "wr": "mem_partial_write_bw",
         "rdwr": "mem_partial_rdwr_bw"}


def kylin_key(bench: str, variant: str):
    """kylin's (bench, variant) -> vizlib's (metric, param), or None for a column that is not a result."""
    simple = {"lat_pipe": "pipe_latency", "lat_unix": "unix_latency", "lat_connect": "tcp_connect",
              "lat_tcp": "tcp_latency", "lat_udp": "udp_latency", "lat_pagefault": "pagefault", "bw_pipe": "pipe_bw",
              "bw_unix": "unix_bw", "lmdd": "file_write_bw", "tlb": "tlb_pages"}
    if bench in simple:
        return simple[bench], ""
    if bench == "lat_proc":
        return f"proc_{variant}", ""
    if bench == "lat_select":
        kind, n = re.fullmatch(r"(file|tcp)_n(\d+)", variant).groups()
        return f"select_{n}_{'fd' if kind == 'file' else 'tcp'}", ""
    if bench == "lat_sig":
        return {"catch": "signal_catch", "install": "signal_install", "prot": "protection_fault"}[variant], ""
    if bench == "lat_syscall":
        return ("syscall_open_close" if variant == "open" else f"syscall_{variant}"), ""
    if bench in ("lat_ops", "par_ops"):
        pfx, op = variant.split("_", 1)
        return f"{OPS[pfx]}_{op}" + ("_parallelism" if bench == "par_ops" else ""), ""
    if bench == "lat_ctx":
        size, procs = re.fullmatch(r"sz(\d+)k_p(\d+)", variant).groups()
        return "ctx_switch", f"{procs}p/{size}K"
    if bench == "lat_fs":
        size, what = re.fullmatch(r"sz(\d+)K_(\w+)", variant).groups()
        return None if what == "niters" else ({"create": "fs_create", "unlink": "fs_delete"}[what], f"{size}k")
    if bench == "lat_mmap":
        return "mmap_latency", variant[2:-2]
    if bench == "bw_tcp":
        return "tcp_bw", variant[3:-2]
    if bench in ("bw_file_rd", "bw_file_rd_o2c", "bw_mmap_rd", "bw_mmap_rd_o2c"):
        return {"bw_file_rd": "file_reread_bw", "bw_file_rd_o2c": "file_open2close_bw", "bw_mmap_rd": "mmap_reread_bw",
                "bw_mmap_rd_o2c": "mmap_open2close_bw"}[bench], variant[2:]
    if bench.startswith("bw_mem_"):
        return BWMEM[bench[7:]], variant[2:]
    if bench in ("stream", "stream2"):
        op, kind = variant.rsplit("_", 1)
        return f"{bench}_{op}_{'latency' if kind == 'lat' else 'bw'}", ""
    if bench in ("lat_mem_rd_load", "lat_mem_rd_rand"):
        stride, size = re.fullmatch(r"stride(\d+)_sz([\d.]+)MB", variant).groups()
        return ("mem_latency" if bench.endswith("load") else "mem_random_latency"), f"stride={stride}/{size}"
    if bench == "par_mem":
        return "mem_parallelism", variant[2:-2]
    raise AssertionError(f"no mapping for kylin item {bench} {variant}")


@pytest.fixture(scope="module")
def kylin(tmp_path_factory):
    base = require_corpus() / "tomgoh-kylin-lmbench"
    raw = tmp_path_factory.mktemp("kylin-raw")
    for env, (folder, name) in KYLIN_RUNS.items():
        (raw / env).mkdir()
        for i in range(1, 11):
            shutil.copy(base / folder / name.format(i), raw / env / name.format(i))
    (raw / "environments.toml").write_text(KYLIN_MANIFEST)
    out = tmp_path_factory.mktemp("kylin-processed")
    assert ingest(raw, out, jobs=1).exit_code == 0
    man = manifest_mod.load(raw)
    return normalise.normalise_all(tables.load_tidy(out), tables.load_runs(out), man, statistic="mean", n_boot=500)


def test_mean_statistic_reproduces_kylins_published_ratios(kylin):
    ov = kylin["overhead"]
    pvm = ov[ov["environment"] == "pvm"].set_index(["metric", "param"])
    assert set(pvm["baseline"]) == {"nvhe"} and (pvm["statistic"] == "mean").all()
    with open(KYLIN / "docs" / "vm-ratio-comparison.csv", newline="") as fh:
        published = list(csv.DictReader(fh))
    compared, skipped = 0, []
    for row in published:
        key = kylin_key(row["bench"], row["variant"])
        ratio = row["n90_pkvm_pvm_over_nvhe_vm_ratio"]
        if key is None or ratio == "" or key not in pvm.index:
            skipped.append((row["bench"], row["variant"]))
            continue
        r = pvm.loc[key]
        # kylin prints pvm / nvhe for every item; the suite orients by direction (> 1 = pvm worse)
        ours = r["slowdown"] if r["direction"] == "lower" else 1 / r["slowdown"]
        assert f"{ours:.6f}" == ratio, (row["bench"], row["variant"], ours, ratio)
        assert r["n_virtual"] == r["n_baseline"] == 10
        compared += 1
    assert compared >= 670, compared  # 672 comparable items (the lat_fs file counts are not results)
    assert len(skipped) <= 6, skipped


def test_the_kylin_chain_reads_as_two_steps_and_their_product(kylin):
    chain = kylin["chain"]
    pvm = chain[chain["environment"] == "pvm"].set_index("category")
    assert set(pvm["chain"]) == {"pvm > nvhe > baremetal"} and set(pvm["root"]) == {"baremetal"}
    ov = kylin["overhead"].set_index(["environment", "metric", "param"])
    for category, r in pvm.iterrows():
        if not r["metric"] or pd.isna(r["slowdown"]):
            continue
        step1 = ov.loc[("pvm", r["metric"], r["param"]), "slowdown"]
        step2 = ov.loc[("nvhe", r["metric"], r["param"]), "slowdown"]
        assert r["slowdown"] == pytest.approx(step1 * step2, rel=1e-12), category
        assert "pvm/nvhe" in r["steps"] and "nvhe/baremetal" in r["steps"]
        if r["ci_level"] == 0.95:
            assert r["ci_low"] <= r["slowdown"] <= r["ci_high"] or "outside" in r["note"]


# --- chains on the shipped runs (no corpus needed) --------------------------------------------------

CHAIN_MANIFEST = """[environments.host]
kind = "physical"
technology = "physical"

[environments.tcg]
kind = "virtual"
technology = "qemu-tcg"
baseline = "host"

[environments.uml]
kind = "virtual"
technology = "uml"
baseline = "tcg"
description = "a test chain: the uml runs compared with the tcg runs, as a guest inside a guest"
"""


def test_a_chain_product_has_the_direct_comparisons_interval(tmp_path):
    """Along host <- tcg <- uml the intermediate environment's draws cancel: the product of the two
    steps' replicates is, draw for draw, uml against host directly."""
    raw = tmp_path / "raw"
    for env in ("host", "tcg", "uml"):
        shutil.copytree(RAW / env, raw / env)
    (raw / "environments.toml").write_text(CHAIN_MANIFEST)
    out = tmp_path / "p"
    ingest(raw, out, jobs=1)
    man = manifest_mod.load(raw)
    tidy = tables.load_tidy(out)
    result = normalise.normalise_all(tidy, tables.load_runs(out), man, n_boot=400)
    chain = result["chain"].set_index("category")
    assert list(result["chain"]["environment"].unique()) == ["uml"]
    prep = samples.prepare(tidy, man)
    for category, r in chain.iterrows():
        direct = normalise.pair(prep, man.environments["uml"], 400, 0, keys=[(r["metric"], r["param"])], baseline="host")
        assert r["slowdown"] == pytest.approx(float(direct.cols["slowdown"][0]), rel=1e-12)
        if math.isfinite(r["ci_low"]):
            assert (r["ci_low"], r["ci_high"]) == pytest.approx((direct.cols["ci_low"][0], direct.cols["ci_high"][0]),
                                                               rel=1e-9)


# --- atharva: wrapper files, one program per file, 25 repetitions ----------------------------------

ATHARVA_MANIFEST = """[environments.host]
kind = "physical"
technology = "physical"
runs = ["host/*/lat_*.txt"]

[environments.docker]
kind = "virtual"
technology = "container"
baseline = "host"
runs = ["docker/*/lat_*.txt"]

[environments.k8s]
kind = "virtual"
technology = "container"
baseline = "host"
runs = ["k8s/*/lat_*.txt"]
"""


@pytest.fixture(scope="module")
def atharva_raw(tmp_path_factory):
    src = require_corpus() / "atharva0300-lmbench3-container-perf" / "results"
    raw = tmp_path_factory.mktemp("atharva")
    for env in ("host", "docker", "k8s"):
        shutil.copytree(src / env, raw / env)
    (raw / "environments.toml").write_text(ATHARVA_MANIFEST)
    return raw


def wrapper_runs(path: Path) -> list[float]:
    """The ``Run N: value`` lines of a wrapper file, read by hand."""
    return [float(m.group(1)) for m in re.finditer(r"(?m)^Run \d+:\s*([\d.]+)\s*$", path.read_text(errors="replace"))]


@pytest.mark.slow
def test_atharva_report_completes_with_both_containers_null_syscall(atharva_raw, tmp_path):
    from vizlib import report

    folder = report.run_report(atharva_raw, name="atharva", reports_dir=tmp_path / "reports", progress=None)
    ov = tables.read_table(folder / "processed" / tables.OVERHEAD)
    null = ov[ov["metric"] == "syscall_null"].set_index("environment")
    assert set(null.index) == {"docker", "k8s"}
    for env in ("docker", "k8s"):
        v = wrapper_runs(atharva_raw / env / "lat_syscall_null" / "lat_syscall_null.txt")
        b = wrapper_runs(atharva_raw / "host" / "lat_syscall_null" / "lat_syscall_null.txt")
        assert len(v) == len(b) == 25
        r = null.loc[env]
        # overhead.csv stores 6 significant digits
        assert r["slowdown"] == pytest.approx(np.median(v) / np.median(b), rel=1e-5)
        assert (r["reps_virtual"], r["reps_baseline"], r["n_virtual"]) == (25, 25, 1)
        assert r["ci_level"] == 0.95 and "session-to-session variation is not captured" in r["note"]
    summary = tables.read_table(folder / "processed" / tables.SUMMARY)
    rep = summary[summary["view"] == "representative"]
    assert set(rep.loc[rep["slowdown"].isna(), "note"]) == {"not measured"}  # cpu, memory, disk, network
    assert set(rep.loc[rep["slowdown"].notna(), "category"]) == {"kernel"}
    assert (folder / "04_overhead_explorer.html").is_file() and (folder / "index.html").is_file()


def test_repetitions_of_a_single_run_are_its_units():
    """One file per side that printed a metric k times: k repetitions give the interval, with the note."""
    rng = np.random.default_rng(0)
    rows = []
    for env, scale in (("b", 1.0), ("v", 1.2)):
        for i, value in enumerate(scale * np.exp(0.02 * rng.standard_normal(25))):
            rows.append({"environment": env, "run": f"{env}/one.txt", "line": i + 1, "metric": "syscall_null",
                         "param": "", "value": value, "unit": "us", "category": "kernel", "direction": "lower",
                         "low_precision": False, "note": ""})
    man = manifest_mod.Manifest(Path("t"), {"b": manifest_mod.Environment("b", "physical", "physical", None),
                                            "v": manifest_mod.Environment("v", "virtual", "other", "b")})
    r = normalise.overhead(pd.DataFrame(rows), man, n_boot=500).iloc[0]
    assert (r["n_virtual"], r["reps_virtual"]) == (1, 25) and r["ci_level"] == 0.95
    assert r["ci_low"] < 1.2 < r["ci_high"] and r["ci_high"] / r["ci_low"] < 1.05
    assert "session-to-session variation is not captured" in r["note"]
