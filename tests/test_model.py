"""The overhead model: mixes, the share-based and count-based estimates, sensitivity, the CLI.

Hand computations use small category frames built here; the shipped-data test recomputes
sum(w * s) from numbers read out of the raw lmbench files with its own regexes.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizlib import count_model, errors, inputs as inputs_mod, presets, share_model, tables, views
from vizlib import mix as mix_mod
from vizlib.catalogue import CATEGORIES

REPO = Path(__file__).resolve().parents[1]
STRACE = REPO / "tests" / "data" / "strace"


# --- hand-built inputs ---------------------------------------------------------------------------

REPS = {"cpu": ("int_bit", ""), "memory": ("pagefault", ""), "disk": ("mmap_latency", "67.108864"),
        "network": ("tcp_latency", ""), "kernel": ("syscall_null", "")}
S = {  # env -> category -> slowdown
    "a": {"cpu": 1.0, "memory": 2.0, "disk": 3.0, "network": 4.0, "kernel": 5.0},
    "b": {"cpu": 1.1, "memory": 0.9, "disk": 1.5, "network": 1.2, "kernel": 10.0},
}


def cat_frame(slowdowns=S, n_virtual=2, n_baseline=2, drop=()):
    rows = []
    for env, cats in slowdowns.items():
        for c in CATEGORIES:
            metric, param = REPS[c]
            s = np.nan if (env, c) in drop else cats[c]
            rows.append({"environment": env, "baseline": "host", "category": c, "metric": metric, "param": param,
                         "slowdown": s, "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan, "n_virtual": n_virtual,
                         "n_baseline": n_baseline, "low_precision": False,
                         "note": "" if not np.isnan(s) else f"no {c} value"})
    return pd.DataFrame(rows, columns=list(tables.CATEGORY_COLUMNS))


def rep_frame(n_boot=50, seed=3, slowdowns=S):
    rng = np.random.default_rng(seed)
    rows = []
    for env, cats in slowdowns.items():
        for c in CATEGORIES:
            metric, param = REPS[c]
            vals = cats[c] * rng.uniform(0.8, 1.2, n_boot)
            rows.append(pd.DataFrame({"environment": env, "metric": metric, "param": param,
                                      "replicate": np.arange(n_boot), "slowdown": vals}))
    return pd.concat(rows, ignore_index=True)


MIX = {"cpu": 0.5, "memory": 0.2, "disk": 0.2, "network": 0.1}


# --- mixes ---------------------------------------------------------------------------------------

def test_parse_mix_fills_left_out_categories_with_zero():
    mix = mix_mod.parse_mix("cpu=0.5,memory=0.2,disk=0.2,network=0.1")
    assert mix == {"cpu": 0.5, "memory": 0.2, "disk": 0.2, "network": 0.1, "kernel": 0.0}
    assert list(mix) == list(CATEGORIES)


def test_parse_mix_accepts_colons_like_the_notebook_defaults():
    assert mix_mod.parse_mix("cpu:0.4,memory:0.2,disk:0.2,network:0.1,kernel:0.1") == mix_mod.parse_mix(mix_mod.DEFAULT_MIX)


def test_notebook_mix_defaults_equal_the_model_default():
    import nbformat

    for name in ("04_overhead_explorer", "05_product_selection"):
        nb = nbformat.read(str(REPO / "notebooks" / f"{name}.ipynb"), as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        line = next(line for line in cell.source.splitlines() if line.startswith("mix:"))
        default = re.match(r'mix: str = "([^"]*)"', line).group(1)
        assert "=" not in default  # papermill's inspection skips lines with more than one '='
        assert mix_mod.parse_mix(default) == mix_mod.parse_mix(mix_mod.DEFAULT_MIX)


def test_parse_mix_accepts_spaces_case_and_tolerance():
    mix = mix_mod.parse_mix(" CPU = 0.3333333 , Kernel=0.6666667 ")
    assert mix["cpu"] == pytest.approx(0.3333333) and mix["kernel"] == pytest.approx(0.6666667)
    mix_mod.parse_mix("cpu=0.5000005,kernel=0.5")  # 5e-7 off: within 1e-6


@pytest.mark.parametrize("text, message", [
    ("cpu=0.6,memory=-0.1,disk=0.5", "negative"),
    ("cpu=0,memory=0", "all shares are zero"),
    ("cpu=0.5,gpu=0.5", "unknown category 'gpu'"),
    ("cpu 0.5,memory 0.5", "malformed item"),
    ("cpu=0.5,memory", "malformed item"),
    ("cpu=0.5,,memory=0.5", "empty item"),
    ("cpu=0.5,memory=0.5,", "empty item"),
    ("cpu=0.5,cpu=0.5", "appears twice"),
    ("cpu=half,memory=0.5", "not a number"),
    ("cpu=50%,memory=50%", "write fractions"),
    ("cpu=40,memory=60", "look like percentages"),
    ("cpu=0.5,memory=0.4", "sum to 0.9"),
    ("cpu=0.5000011,kernel=0.5", "not 1"),
    ("cpu=nan,memory=1", "finite"),
    ("cpu=inf,memory=0", "finite"),
    ("", "empty mix"),
    ("   ", "empty mix"),
])
def test_bad_mixes_give_clear_errors(text, message):
    with pytest.raises(errors.MixError, match=re.escape(message)):
        mix_mod.parse_mix(text)


def test_a_non_string_mix_is_a_mix_error():
    with pytest.raises(errors.MixError):
        mix_mod.parse_mix(None)


def test_format_mix_round_trips_exactly():
    mix = mix_mod.rebalance(mix_mod.parse_mix(mix_mod.DEFAULT_MIX), "cpu", 0.37)
    assert mix_mod.parse_mix(mix_mod.format_mix(mix)) == mix
    assert mix_mod.format_mix({"cpu": 1.0}) == "cpu=1.0"


def test_resolve_mix_takes_preset_names_dicts_and_text():
    assert mix_mod.resolve_mix("web_server") == mix_mod.validate_mix(presets.PRESETS["web_server"].mix)
    assert mix_mod.resolve_mix({"cpu": 1}) == {"cpu": 1.0, "memory": 0.0, "disk": 0.0, "network": 0.0, "kernel": 0.0}
    with pytest.raises(errors.MixError, match="neither a mix"):
        mix_mod.resolve_mix("webserver")


def test_rebalance_keeps_ratios_and_sum():
    mix = mix_mod.parse_mix("cpu=0.4,memory=0.2,disk=0.2,network=0.1,kernel=0.1")
    out = mix_mod.rebalance(mix, "cpu", 0.7)
    assert out["cpu"] == 0.7
    assert sum(out.values()) == pytest.approx(1.0, abs=1e-12)
    assert out["memory"] / out["network"] == pytest.approx(2.0)
    assert out["memory"] == pytest.approx(0.2 * 0.3 / 0.6)


def test_rebalance_splits_equally_when_others_are_zero_and_clips():
    out = mix_mod.rebalance({"cpu": 1.0}, "cpu", 0.6)
    assert out == pytest.approx({"cpu": 0.6, "memory": 0.1, "disk": 0.1, "network": 0.1, "kernel": 0.1})
    assert mix_mod.rebalance({"cpu": 1.0}, "cpu", 1.7)["cpu"] == 1.0
    assert mix_mod.rebalance({"cpu": 1.0}, "cpu", -1)["cpu"] == 0.0


# --- share-based estimate ------------------------------------------------------------------------

def test_estimate_matches_hand_computation():
    cs, reps = cat_frame(), rep_frame()
    res = share_model.estimate(cs, reps, MIX).set_index("environment")
    assert list(res.reset_index().columns[:8]) == list(tables.ESTIMATE_COLUMNS)
    for env in ("a", "b"):
        r = sum(MIX.get(c, 0) * S[env][c] for c in CATEGORIES)
        assert res.loc[env, "relative_time"] == pytest.approx(r, rel=1e-12)
        assert res.loc[env, "overhead_pct"] == pytest.approx((r - 1) * 100, rel=1e-12)
        # interval: percentiles of sum(w * s_b) over replicates, by hand
        wide = reps[reps.environment == env].pivot(index="replicate", columns="metric", values="slowdown")
        rb = sum(MIX.get(c, 0) * wide[REPS[c][0]] for c in CATEGORIES)
        lo, hi = np.percentile(rb, [2.5, 97.5])
        assert res.loc[env, "ci_low"] == pytest.approx(lo, rel=1e-12)
        assert res.loc[env, "ci_high"] == pytest.approx(hi, rel=1e-12)
        assert res.loc[env, "note"] == ""
    # a: contributions 0, .2, .4, .3 -> disk; b: .05, -.02, .1, .02 -> disk
    assert res.loc["a", "largest_category"] == "disk"
    assert res.loc["b", "largest_category"] == "disk"
    res2 = share_model.estimate(cs, reps, {"kernel": 0.5, "cpu": 0.5}).set_index("environment")
    assert res2.loc["b", "largest_category"] == "kernel"
    assert res2.loc["b", "relative_time"] == pytest.approx(0.5 * 10 + 0.5 * 1.1)


def test_missing_representative_with_weight_is_nan_with_note_never_zero():
    cs = cat_frame(drop={("a", "network")})
    res = share_model.estimate(cs, rep_frame(), MIX).set_index("environment")
    assert math.isnan(res.loc["a", "relative_time"]) and math.isnan(res.loc["a", "ci_low"])
    assert "no network value" in res.loc["a", "note"]
    assert res.loc["a", "largest_category"] == ""
    assert math.isfinite(res.loc["b", "relative_time"])
    # the same missing category with weight 0 does not matter
    res0 = share_model.estimate(cs, rep_frame(), {"cpu": 0.5, "memory": 0.5}).set_index("environment")
    assert res0.loc["a", "relative_time"] == pytest.approx(0.5 * 1.0 + 0.5 * 2.0)


def test_a_category_without_replicates_gives_no_interval_and_says_why():
    """normalise gives no replicates for a single run (or a zero value): the estimate has no interval,
    with the category's own reason, while its relative time is still computed."""
    cs = cat_frame()
    cs.loc[cs["category"] == "cpu", "note"] = "single run: no interval"
    reps = rep_frame()
    reps.loc[reps["metric"] == "int_bit", "slowdown"] = np.nan
    res = share_model.estimate(cs, reps, MIX)
    assert res["ci_low"].isna().all() and res["ci_high"].isna().all() and res["ci_level"].isna().all()
    assert res["relative_time"].notna().all()
    assert res["note"].str.contains("single run: no interval").all()
    # with no share on cpu the interval is back
    res = share_model.estimate(cs, reps, {"memory": 0.5, "disk": 0.5})
    assert res["ci_low"].notna().all() and (res["ci_level"] == 0.95).all()


def test_low_precision_travels_into_the_estimate():
    cs = cat_frame()
    cs.loc[cs["category"] == "cpu", "low_precision"] = True
    res = share_model.estimate(cs, rep_frame(), MIX)
    assert res["note"].str.contains("printed with low precision: int_bit").all()
    assert not share_model.estimate(cs, rep_frame(), {"memory": 1.0})["note"].str.contains("low precision").any()


def test_no_replicates_gives_nan_interval_with_note():
    res = share_model.estimate(cat_frame(), None, MIX)
    assert res["ci_low"].isna().all() and res["note"].str.contains("no replicates: no interval").all()


def test_undefined_replicates_are_left_out_of_the_interval():
    reps = rep_frame()
    bad = (reps.environment == "a") & (reps.metric == "pagefault") & (reps.replicate < 5)
    reps.loc[bad, "slowdown"] = np.nan
    res = share_model.estimate(cat_frame(), reps, MIX).set_index("environment")
    wide = reps[reps.environment == "a"].pivot(index="replicate", columns="metric", values="slowdown")
    rb = sum(MIX.get(c, 0) * wide[REPS[c][0]] for c in CATEGORIES).dropna()
    assert len(rb) == 45
    assert res.loc["a", "ci_low"] == pytest.approx(np.percentile(rb, 2.5))
    assert "45 of 50" in res.loc["a", "note"]


def test_contributions_add_up_to_relative_time_minus_one():
    cs = cat_frame()
    con = share_model.contributions(cs, MIX)
    res = share_model.estimate(cs, None, MIX).set_index("environment")
    for env, g in con.groupby("environment"):
        assert g["contribution"].sum() == pytest.approx(res.loc[env, "relative_time"] - 1)


def test_sensitivity_endpoints_and_current_share():
    cs, reps = cat_frame(), rep_frame()
    sens = share_model.sensitivity(share_model.prepare(cs, reps), MIX, "memory", steps=11)
    assert list(sens.columns) == ["environment", "category", "share", "relative_time", "overhead_pct", "ci_low",
                                  "ci_high"]
    a = sens[sens.environment == "a"].set_index("share")
    assert a.loc[1.0, "relative_time"] == pytest.approx(S["a"]["memory"])
    # share 0: the others keep their proportions, rescaled to 1 (cpu .5, disk .2, network .1 of .8)
    assert a.loc[0.0, "relative_time"] == pytest.approx((0.5 * 1 + 0.2 * 3 + 0.1 * 4) / 0.8)
    est = share_model.estimate(cs, reps, MIX).set_index("environment")
    row = a.iloc[2]  # share 0.2 = the current one
    assert row.name == pytest.approx(0.2)
    for col in ("relative_time", "ci_low", "ci_high"):
        assert row[col] == pytest.approx(est.loc["a", col], rel=1e-12)
    # R is linear in the varied share
    assert np.allclose(np.diff(a["relative_time"].to_numpy(), 2), 0, atol=1e-12)


def test_sensitivity_matches_evaluate_at_every_step():
    cs, reps = cat_frame(drop={("b", "kernel")}), rep_frame()
    prep = share_model.prepare(cs, reps)
    sens = share_model.sensitivity(prep, MIX, "kernel", steps=21)
    for x, g in sens.groupby("share"):
        ev = share_model.evaluate(prep, mix_mod.rebalance(MIX, "kernel", x))
        assert np.allclose(g["relative_time"], ev["relative_time"], rtol=1e-12, equal_nan=True)
        assert np.allclose(g["ci_high"], ev["ci_high"], rtol=1e-12, equal_nan=True)
    # b has no kernel value: NaN as soon as kernel has a share
    b = sens[sens.environment == "b"].set_index("share")
    assert math.isfinite(b.loc[0.0, "relative_time"]) and b.loc[0.05:, "relative_time"].isna().all()


# --- shipped data --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped raw runs ingested into a scratch folder (tests never write data/processed)."""
    from vizlib import paths

    return inputs_mod.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW)


def _raw_number(path: Path, pattern: str) -> float:
    m = re.search(pattern, path.read_text(errors="replace"), re.M)
    assert m, f"{pattern!r} not in {path}"
    return float(m.group(1))


def _raw_mmap_largest(path: Path) -> tuple[float, float]:
    text = path.read_text(errors="replace")
    block = text.split('"mappings', 1)[1].split("\n\n", 1)[0]
    pairs = [tuple(map(float, line.split())) for line in block.strip().splitlines()]
    return max(pairs)


def test_shipped_estimate_equals_hand_computation_from_raw_files(shipped):
    raw = REPO / "data" / "raw"
    pats = {"cpu": r"^integer bit: ([\d.]+) nanoseconds", "memory": r"^Pagefaults on \S+: ([\d.]+) microseconds",
            "network": r"^TCP latency using localhost: ([\d.]+) microseconds",
            "kernel": r"^Simple syscall: ([\d.]+) microseconds"}

    def median(env, cat):
        files = sorted((raw / env).iterdir())
        vals = [(_raw_mmap_largest(f)[1] if cat == "disk" else _raw_number(f, pats[cat])) for f in files]
        return float(np.median(vals))

    mix = mix_mod.parse_mix(mix_mod.DEFAULT_MIX)
    by_hand = sum(mix[c] * median("tcg", c) / median("host", c) for c in CATEGORIES)  # all lower-is-better
    res = shipped.estimate(mix).set_index("environment")
    assert res.loc["tcg", "relative_time"] == pytest.approx(by_hand, rel=1e-9)
    assert res.loc["tcg", "ci_low"] < by_hand < res.loc["tcg", "ci_high"]
    assert set(res.index) == {"container", "tcg", "uml"}


def test_shipped_presets_give_finite_estimates(shipped):
    cs, prep = shipped.prepared()
    for name, p in presets.PRESETS.items():
        res = share_model.evaluate(prep, mix_mod.validate_mix(p.mix))
        assert res["relative_time"].notna().all(), name
        assert (res["ci_low"] <= res["relative_time"]).all() and (res["relative_time"] <= res["ci_high"]).all()


def test_replicates_cached_per_key_are_joint(shipped):
    """Replicates fetched one key at a time equal those of one joint call (same resampled runs)."""
    from vizlib import normalise

    keys = [("pagefault", ""), ("syscall_null", "")]
    one = shipped.replicates(keys[:1])
    both = shipped.replicates(keys)
    joint = normalise.joint_replicates(shipped.tidy, shipped.manifest, keys=keys, n_boot=shipped.n_boot, seed=0)
    key = ["environment", "metric", "param", "replicate"]
    merged = both.merge(joint, on=key, suffixes=("", "_joint"))
    assert len(merged) == len(joint) and np.allclose(merged["slowdown"], merged["slowdown_joint"], equal_nan=True)
    assert len(one) == len(joint) // 2


# --- count-based estimate ------------------------------------------------------------------------

def test_count_estimate_on_captured_strace(shipped):
    profile = count_model.read_profile((STRACE / "workload.strace.txt").read_text(),
                                 (STRACE / "workload.time-v.txt").read_text())
    assert profile.counts["syscall_null"] == 116  # 100 getppid + 10 getpid + 2 set_tid_address + 4 set_robust_list
    assert profile.counts["pagefault"] == 311 and profile.counts["ctx_switch"] == 46
    assert "bind" in profile.unknown_syscalls and "kill" in profile.unknown_syscalls
    res = shipped.count_estimate(profile, pricing=count_model.ORIGINAL).set_index("environment")
    assert list(res.reset_index().columns) == list(tables.COUNT_COLUMNS)
    bd = count_model.count_breakdown(shipped.overhead, profile.counts)
    for env in ("container", "tcg", "uml"):
        g = bd[bd.environment == env]
        # by hand from the medians in the overhead table
        ov = shipped.overhead[shipped.overhead.environment == env].set_index(["metric", "param"])
        total = 0.0
        for m, n in profile.counts.items():
            param = {"ctx_switch": "2p/0K", "mmap_latency": "0.524288"}.get(m, "")
            r = ov.loc[(m, param)]
            total += n * (r["virtual_value"] - r["baseline_value"]) / 1e6
        assert res.loc[env, "added_seconds"] == pytest.approx(total, rel=1e-12)
        assert g["added_seconds"].sum() == pytest.approx(total, rel=1e-12)
        assert res.loc[env, "ci_low_s"] <= res.loc[env, "added_seconds"] <= res.loc[env, "ci_high_s"]
        # the captured run took 0.00 s by time -v: no relative figure, and the note says why
        assert math.isnan(res.loc[env, "elapsed_increase_pct"]) and "below its resolution" in res.loc[env, "note"]
        assert "bind" in res.loc[env, "unknown_syscalls"]
    assert res.loc["uml", "added_seconds"] > res.loc["tcg", "added_seconds"] > 0


def test_refined_pricing_by_hand(shipped):
    """Each refinement of Pricing, recomputed from the overhead table's medians."""
    tv = (STRACE / "workload.time-v.txt").read_text().replace("User time (seconds): 0.00", "User time (seconds): 2.00")
    strace = (STRACE / "workload.strace.txt").read_text()
    strace = strace.replace("\n------ ----------- ----------- --------- --------- ----------------\n100.00",
                            "\n  0.00    0.000000           0       400           sendto\n"
                            "------ ----------- ----------- --------- --------- ----------------\n100.00", 1)
    strace = strace.replace("4       602         8 total", "2      1002         8 total")
    profile = count_model.read_profile(strace, tv)
    assert dict(profile.syscalls)["sendto"] == 400 and "sendto" in profile.unknown_syscalls
    base = shipped.count_estimate(profile, pricing=count_model.ORIGINAL).set_index("environment")
    full = shipped.count_estimate(profile).set_index("environment")
    for env in ("container", "tcg", "uml"):
        ov = shipped.overhead[shipped.overhead.environment == env].set_index(["metric", "param"])
        delta = lambda m, p="": ov.loc[(m, p), "virtual_value"] - ov.loc[(m, p), "baseline_value"]  # noqa: E731
        cpu = ov[(ov["category"] == "cpu") & ov["slowdown"].notna()]["slowdown"]
        s_cpu = float(np.exp(np.log(cpu).mean()))
        touched = 4  # lat_mmap on 0.524288 MB touches size/10 at 16 KB strides: 0, 16K, 32K, 48K
        extra = (2.0 * (s_cpu - 1)  # user time
                 - profile.counts["mmap_latency"] * touched * delta("pagefault") / 1e6  # faults counted once
                 + 100 * delta("tcp_latency") / 1e6)  # 400 sends = 100 round trips
        assert full.loc[env, "added_seconds"] == pytest.approx(base.loc[env, "added_seconds"] + extra, rel=1e-9)
        assert full.loc[env, "ci_low_s"] <= full.loc[env, "added_seconds"] <= full.loc[env, "ci_high_s"]
        assert "sendto" not in full.loc[env, "unknown_syscalls"] and "sendto" in base.loc[env, "unknown_syscalls"]


def test_count_estimate_relative_to_elapsed_and_cpu(shipped):
    tv = (STRACE / "workload.time-v.txt").read_text()
    tv = (tv.replace("Elapsed (wall clock) time (h:mm:ss or m:ss): 0:00.00",
                     "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:02.00")
          .replace("User time (seconds): 0.00", "User time (seconds): 0.50")
          .replace("System time (seconds): 0.00", "System time (seconds): 0.50"))
    profile = count_model.read_profile((STRACE / "workload.strace.txt").read_text(), tv)
    assert profile.elapsed_s == 2.0 and profile.cpu_s == 1.0
    res = shipped.count_estimate(profile).set_index("environment")
    for env, r in res.iterrows():
        assert r["elapsed_increase_pct"] == pytest.approx(r["added_seconds"] / 2.0 * 100)
        assert r["cpu_increase_pct"] == pytest.approx(r["added_seconds"] / 1.0 * 100)


def test_count_estimate_without_time_v_has_no_relative_figure(shipped):
    profile = count_model.read_profile((STRACE / "workload.strace-stderr.txt").read_text())
    res = shipped.count_estimate(profile)
    assert res["elapsed_increase_pct"].isna().all() and res["note"].str.contains("no time -v").all()
    assert "pagefault" not in profile.counts


# --- CLI -----------------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    from vizlib import cli

    code = cli.main(["estimate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_csv_has_exactly_the_columns(capsys, shipped):
    code, out, err = run_cli(capsys, "--processed", str(shipped.processed_dir), "--format", "csv", "--mix",
                             "cpu=0.5,memory=0.2,disk=0.2,network=0.1")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == ",".join(tables.ESTIMATE_COLUMNS)
    assert len(lines) == 4
    df = pd.read_csv(__import__("io").StringIO(out))
    exp = shipped.estimate("cpu=0.5,memory=0.2,disk=0.2,network=0.1").set_index("environment")
    for r in df.itertuples():
        assert r.relative_time == pytest.approx(exp.loc[r.environment, "relative_time"], rel=1e-12)
    assert views.CAVEAT in err  # the caveat goes to stderr so the CSV stays clean


def test_cli_table_says_it_is_an_estimate(capsys, shipped):
    code, out, err = run_cli(capsys, "--processed", str(shipped.processed_dir), "--mix", "web_server")
    assert code == 0 and views.CAVEAT in out and "relative_time" in out and "tcg" in out


@pytest.mark.parametrize("argv, message", [
    (["--mix", "cpu=0.5"], "bad --mix: shares sum to 0.5"),
    (["--mix", "cpu=2,memory=-1"], "negative"),
    (["--mix", "gpu=1"], "unknown category"),
    (["--time-v", str(STRACE / "workload.time-v.txt")], "--time-v adds times"),
    (["--profile-strace", str(STRACE / "workload.strace.txt")], "needs both --profile-strace"),
    (["--profile-strace", str(STRACE / "workload.strace.txt"), "--profile-time-v", str(STRACE / "workload.time-v.txt"),
      "--time-v", str(STRACE / "workload.time-v.txt")], "--time-v belongs to the count-based"),
])
def test_cli_usage_errors_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and out == ""


def test_cli_missing_tables_are_ingested_on_demand(capsys, tmp_path):
    """After `make report` the tables live in reports/default/processed: estimate ingests what it needs."""
    code, out, err = run_cli(capsys, "--processed", str(tmp_path), "--format", "csv")
    assert code == 0 and "note: ingested" in err and out.startswith("environment,")
    assert (tmp_path / "lmbench_tidy").is_dir()


def test_cli_strace_variant(capsys, shipped):
    code, out, err = run_cli(capsys, "--processed", str(shipped.processed_dir), "--strace",
                             str(STRACE / "workload.strace.txt"), "--time-v",
                             str(STRACE / "workload.time-v.txt"), "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == ",".join(tables.COUNT_COLUMNS)
    assert "syscalls with no lmbench counterpart" in err and views.CAVEAT in err


def test_cli_bad_strace_file_is_a_usage_error(capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not strace output\n")
    code, out, err = run_cli(capsys, "--strace", str(bad))
    assert code == 2 and "no strace -c summary table found" in err




def test_cli_profile_variant_is_the_derived_mix_estimate(capsys, shipped, tmp_path):
    from vizlib import appprofile, profile_mix

    tv = tmp_path / "time-v.txt"
    tv.write_text((STRACE / "workload.time-v.txt").read_text()
                  .replace("User time (seconds): 0.00", "User time (seconds): 1.00")
                  .replace("System time (seconds): 0.00", "System time (seconds): 0.50")
                  .replace("Elapsed (wall clock) time (h:mm:ss or m:ss): 0:00.00",
                           "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:03.00"))
    code, out, err = run_cli(capsys, "--processed", str(shipped.processed_dir), "--profile-strace",
                             str(STRACE / "workload.strace.txt"), "--profile-time-v", str(tv), "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(__import__("io").StringIO(out)).set_index("environment")
    want, _ = profile_mix.derived_estimates(shipped, appprofile.parse_time_v(tv.read_text(), "t"),
                                            appprofile.parse_strace_summary((STRACE / "workload.strace.txt").read_text(), "s"))
    assert set(got.index) == set(want["environment"])
    for r in want.itertuples(index=False):
        assert got.loc[r.environment, "relative_time"] == pytest.approx(r.relative_time, rel=1e-9)
        assert got.loc[r.environment, "wait_fraction"] == pytest.approx(0.5)  # 3 s elapsed, 1.5 s busy
