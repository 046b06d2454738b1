"""What the reader sees in words: the explanation line, number formats, sizes, shown shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vizlib import catalogue, share_model, views
from vizlib.catalogue import CATEGORIES
from vizlib.mix import display_percentages, parse_mix


def hand_prepared(slowdowns: dict, baseline="host"):
    """A Prepared of hand-made category slowdowns (no replicates): {env: [cpu, memory, disk, network, kernel]}."""
    envs = list(slowdowns)
    S = np.array([slowdowns[e] for e in envs], float)
    items = [["integer bit", "Page fault", "mmap latency, 64 MB", "TCP latency", "Null system call"]] * len(envs)
    return share_model.Prepared(envs, [baseline] * len(envs), S, None, [[""] * 5 for _ in envs],
                                [["not measured" if math.isnan(v) else "" for v in row] for row in S],
                                [["x"] * 5 for _ in envs], None, items)


MIX = parse_mix("cpu=0.4,memory=0.2,disk=0.2,network=0.1,kernel=0.1")


def test_explanation_names_the_items_that_make_the_added_time():
    # uml-like: memory adds 0.2*643 = 128.6, disk 0.2*161 = 32.2, kernel 0.1*123 = 12.3, network 0.1*1.75 = 0.175:
    # memory and disk make 160.8 of 173.3 = 93% (>= 80%), so two items are named
    prep = hand_prepared({"uml": [1.03, 644.0, 162.0, 2.75, 124.0]})
    res = share_model.evaluate(prep, MIX)
    (line,) = views.explain_estimate(prep, res, MIX)
    rel = 0.4 * 1.03 + 0.2 * 644 + 0.2 * 162 + 0.1 * 2.75 + 0.1 * 124
    assert line == (f"uml: {rel:,.0f}\u00d7 \u2014 Page fault 644\u00d7 (memory, share 20%) and mmap latency, 64 MB "
                    "162\u00d7 (disk, share 20%) dominate (93% of the added time)")


def test_explanation_with_one_dominant_item_and_with_nothing_added():
    prep = hand_prepared({"tcg": [1.0, 1.0, 5.0, 1.0, 1.0], "container": [0.99, 0.9, 1.0, 0.95, 1.0]})
    res = share_model.evaluate(prep, MIX)
    lines = views.explain_estimate(prep, res, MIX)
    # all added time from disk: named alone, no share-of-added-time tail
    assert lines[0] == "tcg: 1.80\u00d7 \u2014 mmap latency, 64 MB 5.00\u00d7 (disk, share 20%) dominates"
    assert lines[1].startswith("container: 0.97\u00d7 \u2014 no category adds time")  # 0.971
    assert views.explain_estimate(prep, res, MIX, environments=["tcg"]) == lines[:1]


def test_explanation_of_a_missing_estimate_gives_the_reason():
    prep = hand_prepared({"v": [1.0, float("nan"), 2.0, 1.0, 1.0]})
    res = share_model.evaluate(prep, MIX)
    (line,) = views.explain_estimate(prep, res, MIX)
    assert line.startswith("v: no estimate (") and "not measured" in line


def test_largest_contributor_is_none_when_nothing_adds_time():
    prep = hand_prepared({"container": [0.97, 0.9, 1.0, 0.95, 1.0]})
    res = share_model.evaluate(prep, parse_mix("cpu=1"))
    assert res["largest_category"].iat[0] == ""
    html_text = views.estimate_table_html(res, parse_mix("cpu=1"))
    assert views.NO_LARGEST in html_text


@pytest.mark.parametrize("x, rel, pct, times", [
    (1.0649, "1.06", "+6.5", "1.06\u00d7"),
    (0.968, "0.97", "-3.2", "0.97\u00d7"),
    (174.2811, "174.28", "+17,328", "174\u00d7"),
    (16.24, "16.24", "+1,524", "16.2\u00d7"),
    (float("nan"), "n/a", "n/a", "n/a"),
])
def test_number_formats(x, rel, pct, times):
    assert views.rel_text(x) == rel
    assert views.pct_text((x - 1) * 100) == pct
    assert views.times_text(x) == times


def test_interval_in_brackets():
    assert views.interval_brackets(1.049, 1.1312) == "[1.05, 1.13]"
    assert views.interval_brackets(-0.0010553, -0.000964, ",.3f") == "[-0.001, -0.001]"
    assert views.interval_brackets(1.0, float("nan")) == "no interval"


@pytest.mark.parametrize("metric, param, text", [
    ("mmap_latency", "0.524288", "512 KB"),
    ("mmap_latency", "67.108864", "64 MB"),
    ("libc_bcopy_aligned_bw", "0.000512", "512 B"),
    ("tcp_bw", "0.000001", "1 B"),
    ("tcp_bw", "0.001437", "1.4 KB"),
    ("ctx_switch", "16p/8K", "16 processes, 8 KB each"),
    ("fs_create", "10k", "10 KB files"),
    ("mem_latency", "stride=128/0.00049", "stride 128 B, 0.00049 MB"),
    ("pagefault", "", ""),
])
def test_sizes_in_words(metric, param, text):
    assert catalogue.param_text(metric, param) == text


def test_item_text_has_label_size_and_unit():
    assert catalogue.item_text("mmap_latency", "0.524288") == "mmap latency, 512 KB (us)"
    assert catalogue.item_text("pagefault") == "Page fault (us)"


@pytest.mark.parametrize("seed", range(200))
def test_shown_shares_add_to_exactly_100(seed):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(5) * rng.uniform(0.2, 3))
    if seed % 4 == 0:
        w[rng.integers(5)] = 0  # zeros stay zero
        w = w / w.sum()
    mix = dict(zip(CATEGORIES, w))
    shown = display_percentages(mix)
    assert round(sum(shown.values()) * 10) == 1000
    for c in CATEGORIES:  # each within one step of its exact value, and 0 stays 0
        assert abs(shown[c] - mix[c] * 100) < 0.1 + 1e-9
        assert (shown[c] == 0) == (mix[c] == 0) or mix[c] * 100 < 0.1


def test_the_reported_case_adds_to_100():
    """Readouts rounded one by one (the issue saw 21.0/59.2/9.9/4.9/4.9 = 99.9) miss 100."""
    mix = {"cpu": 0.2104, "memory": 0.5924, "disk": 0.0994, "network": 0.0494, "kernel": 0.0484}
    assert sum(mix.values()) == pytest.approx(1.0)
    assert sum(round(v * 100, 1) for v in mix.values()) == pytest.approx(99.8)  # plain rounding misses
    assert sum(display_percentages(mix).values()) == pytest.approx(100.0)


def test_count_table_names_no_largest_item_when_nothing_adds_time():
    res = pd.DataFrame([{"environment": "container", "baseline": "host", "added_seconds": -0.001013,
                         "ci_low_s": -0.001055, "ci_high_s": -0.000964, "app_elapsed_s": 1.0,
                         "elapsed_increase_pct": -0.1, "app_cpu_s": 0.5, "cpu_increase_pct": -0.2,
                         "largest_metric": "", "missing_metrics": "", "unknown_syscalls": "", "note": ""}])
    text = views.count_table_html(res)
    assert views.NO_LARGEST_ITEM in text and "proc_exec" not in text
    assert "[-1.055, -0.964]" in text and "added time (ms)" in text


def test_charts_draw_the_largest_eight_of_many_environments():
    from pathlib import Path

    from vizlib import notebook
    from vizlib.manifest import Environment, Manifest

    envs = {"host": Environment("host", "physical", "physical", None)}
    envs.update({f"v{i:02d}": Environment(f"v{i:02d}", "virtual", "other", "host") for i in range(12)})
    man = Manifest(Path("environments.toml"), envs)
    ctx = notebook.Context(Path("raw"), Path("p"), man, None, None, None, None)
    scores = {f"v{i:02d}": float(i) for i in range(12)}
    scores["v11"] = float("nan")  # no score: ranked last
    shown, note = notebook.chart_environments(ctx, scores)
    assert shown == [f"v{i:02d}" for i in range(3, 11)] and "8 of 12" in note
    ctx.environments = ["v00", "v01"] + [f"v{i:02d}" for i in range(2, 12)]  # named by the user: all drawn
    assert notebook.chart_environments(ctx, scores) == (ctx.virtual, "")
    ctx.environments = None
    few = Manifest(Path("environments.toml"), {k: envs[k] for k in ("host", "v00", "v01")})
    assert notebook.chart_environments(notebook.Context(Path("raw"), Path("p"), few, None, None, None, None),
                                       scores) == (["v00", "v01"], "")
