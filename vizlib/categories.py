"""One number per OS-operation category: the source's way of reading lmbench.

Two views of the slowdowns of ``vizlib.normalise``, both ``SUMMARY_COLUMNS``:

- **representative** (``category_summary``): one lmbench item stands for each category, by
  default the source's four items plus the null system call (``DEFAULT_REPRESENTATIVES``). Where a
  default item was not measured, the first measured item of ``FALLBACKS`` stands in and the note
  says so; a category nobody measured is a row marked "not measured", never a number;
- **geomean** (``geomean_rows``): the geometric mean of all of a category's slowdowns, each metric
  counting once, with an interval from the joint replicates.

Series items (mmap latency at several sizes) are represented by one size, chosen once per group of
environments sharing a physical root (``group_params``): the largest size present in every run of
every environment of the group, so the figures, the tables and the model all use the same size and
it has its full run count; when no size is in every run, the largest in most runs, and the note
says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import catalogue, stats
from .tables import REPRESENTATIVE_COLUMNS, SUMMARY_COLUMNS

# The source's four items (one per OS operation) plus the null system call for the kernel.
# param None: the size ``group_params`` chooses for series items.
DEFAULT_REPRESENTATIVES = {
    "cpu": ("int_bit", ""),
    "memory": ("pagefault", ""),
    "disk": ("mmap_latency", None),
    "network": ("tcp_latency", ""),
    "kernel": ("syscall_null", ""),
}

# What stands in, in this order, where a default representative was not measured (partial runs:
# single lmbench programs, SUBSET=OS, a run that died halfway). Each is the closest item of the
# same kind of OS work; a user-chosen representative never falls back.
FALLBACKS = {
    "cpu": ("int_add", "int_mul", "int64_add", "int_div", "double_add", "float_add"),
    "memory": ("protection_fault", "mem_read_bw", "mem_latency"),
    "disk": ("file_reread_bw", "fs_create", "file_write_bw", "mmap_reread_bw"),
    "network": ("udp_latency", "tcp_connect", "tcp_bw"),
    "kernel": ("syscall_read", "syscall_write", "signal_catch", "proc_fork", "pipe_latency", "ctx_switch",
               "fcntl_latency"),
}

NOT_MEASURED = "not measured"


def group_params(overhead_df: pd.DataFrame, metric: str, roots: dict | None = None) -> dict:
    """environment -> (param, note) standing for series ``metric``, one choice per group of environments
    sharing a root (``roots``: environment -> root; None: each environment on its own).

    The largest param (``catalogue.representative_param``) that is ``complete`` (in every run on both
    sides) in every pair of the group; else the one most runs hold in the group (note says so).
    """
    rows = overhead_df[overhead_df["metric"] == metric]
    if rows.empty:
        return {}
    roots = roots or {}
    group_of = rows["environment"].map(lambda e: roots.get(e, e))
    out = {}
    for _group, g in rows.groupby(group_of.to_numpy(), sort=False):
        envs = list(dict.fromkeys(g["environment"]))
        by_param = g.groupby("param", sort=False)
        everywhere = [p for p, pg in by_param if pg["environment"].nunique() == len(envs) and pg["complete"].all()]
        if everywhere:
            choice, note = catalogue.representative_param(metric, everywhere), ""
        else:
            support = by_param.apply(lambda pg: int(np.minimum(pg["n_virtual"], pg["n_baseline"]).min())
                                     if pg["environment"].nunique() == len(envs) else -1)
            best = [p for p, v in support.items() if v == support.max()]
            choice = catalogue.representative_param(metric, best)
            note = (f"no {metric} size is in every run of {', '.join(envs)}: the size most runs hold "
                    f"({choice}) stands for it")
        for env in envs:
            out[env] = (choice, note)
    return out


def resolve_representatives(overhead_df: pd.DataFrame, representatives=DEFAULT_REPRESENTATIVES,
                            roots: dict | None = None) -> pd.DataFrame:
    """The concrete (metric, param) standing for each category in each environment (``REPRESENTATIVE_COLUMNS``).

    A param of None means ``group_params``' choice. A default representative that an environment
    did not measure falls back to ``FALLBACKS``; a category with nothing measured keeps its item
    with the note "not measured".
    """
    envs = list(pd.unique(overhead_df["environment"]))
    measured = overhead_df.groupby("environment", sort=False)["metric"].agg(set).to_dict()
    params_of = overhead_df.groupby(["environment", "metric"], sort=False)["param"].agg(list).to_dict()
    series_cache: dict = {}
    rows = []
    for env in envs:
        have = measured.get(env, set())
        for category, (metric, param) in representatives.items():
            note = ""
            if metric not in have and (metric, param) == DEFAULT_REPRESENTATIVES.get(category):
                stand_in = next((m for m in FALLBACKS.get(category, ()) if m in have), None)
                if stand_in is None:
                    rows.append((env, category, metric, "" if param is None else str(param), NOT_MEASURED))
                    continue
                note = f"{metric} not measured: {stand_in} stands for {category}"
                metric, param = stand_in, None
            elif metric not in have:
                rows.append((env, category, metric, "" if param is None else str(param), NOT_MEASURED))
                continue
            if param is None:
                options = params_of.get((env, metric), [])
                if "" in options or len(set(options)) <= 1:
                    param = catalogue.representative_param(metric, options)
                else:
                    if metric not in series_cache:
                        series_cache[metric] = group_params(overhead_df, metric, roots)
                    param, size_note = series_cache[metric].get(env, ("", ""))
                    note = "; ".join(n for n in (note, size_note) if n)
            rows.append((env, category, metric, str(param), note))
    return pd.DataFrame(rows, columns=list(REPRESENTATIVE_COLUMNS))


def category_summary(overhead_df: pd.DataFrame, representatives=DEFAULT_REPRESENTATIVES,
                     roots: dict | None = None) -> pd.DataFrame:
    """One representative metric per category and environment (``SUMMARY_COLUMNS``, view "representative").

    The representative's own slowdown and interval, as the source reads one lmbench item per OS
    operation. A representative not measured on both sides gives a row with NaN and a note, not
    no row and never a zero.
    """
    reps = resolve_representatives(overhead_df, representatives, roots)
    envs = overhead_df.drop_duplicates("environment").set_index("environment")[["baseline", "technology"]]
    cols = ["environment", "metric", "param", "slowdown", "ci_low", "ci_high", "ci_level", "n_virtual", "n_baseline",
            "noisy", "low_precision", "note"]
    out = reps.merge(overhead_df[cols].rename(columns={"note": "row_note"}), on=["environment", "metric", "param"],
                     how="left")
    out["baseline"] = out["environment"].map(envs["baseline"])
    out["technology"] = out["environment"].map(envs["technology"])
    out["n_virtual"] = out["n_virtual"].fillna(0).astype(np.int64)
    out["n_baseline"] = out["n_baseline"].fillna(0).astype(np.int64)
    out["noisy"] = out["noisy"].astype("boolean")
    out["low_precision"] = out["low_precision"].astype("boolean").fillna(False).astype(bool)
    missing = out["slowdown"].isna() & (out["note"] != NOT_MEASURED)
    out.loc[missing & out["row_note"].isna(), "note"] = [
        f"{r.metric}{' ' + r.param if r.param else ''} not measured on both {r.environment} and {r.baseline}"
        for r in out[missing & out["row_note"].isna()].itertuples()]
    out["note"] = ["; ".join(n for n in (a, b if isinstance(b, str) else "") if n)
                   for a, b in zip(out["note"], out["row_note"])]
    out["view"] = "representative"
    return out[list(SUMMARY_COLUMNS)].reset_index(drop=True)


def geomean_rows(cols: dict, log_replicates: np.ndarray | None) -> list[tuple]:
    """Geomean rows (``SUMMARY_COLUMNS``, view "geomean") of one environment, from its overhead
    columns (arrays) and the log of its joint slowdown replicates ``(n_boot, keys)`` (None: no interval).

    Each metric first counts once (geometric mean over its params), so a series such as mmap
    latency at eight sizes weighs as much as the single null system call; then the geometric mean
    over the category's metrics. Slowdowns that are NaN or not positive are left out. The interval
    applies the same formula to each replicate; replicates where a used slowdown is undefined are
    left out, and a category with a key that has no replicates at all gets none. ``noisy``: true
    when more than half of the weight sits on noisy slowdowns, false when more than half sits on
    ones known not to be, else unknown; ``low_precision`` when any used slowdown is.
    """
    s = np.asarray(cols["slowdown"], float)
    category = np.asarray(cols["category"], dtype=object)
    C = len(catalogue.CATEGORIES)
    cat = np.select([category == c for c in catalogue.CATEGORIES], range(C), -1)
    with np.errstate(invalid="ignore"):
        used = np.flatnonzero(np.isfinite(s) & (s > 0) & (cat >= 0))
    if len(used) == 0:
        return []
    metric_code = pd.factorize(np.asarray(cols["metric"], dtype=object)[used])[0]
    group, group_of = np.unique(cat[used].astype(np.int64) * (len(used) + 1) + metric_code, return_inverse=True)
    n_metrics = np.bincount(group // (len(used) + 1), minlength=C)
    per_group = np.bincount(group_of)
    # weight of each used slowdown in its category's log-mean: mean over params, then over metrics
    W = np.zeros((len(used), C))
    W[np.arange(len(used)), cat[used]] = 1.0 / (per_group[group_of] * n_metrics[cat[used]])
    point = np.exp(np.log(s[used]) @ W)
    lo = hi = np.full(C, np.nan)
    if log_replicates is not None and log_replicates.shape[0]:
        logs = log_replicates[:, used]
        bad = ~np.isfinite(logs)
        sums = np.where(bad, 0.0, logs) @ W
        sums[(bad.astype(float) @ (W != 0)) > 0] = np.nan  # a replicate missing a used key
        with np.errstate(over="ignore"):
            g = np.exp(sums)  # an extreme draw may overflow to inf: still a draw, beyond the percentiles used
        lo, hi = stats.interval(g)
    noisy = pd.array(cols["noisy"], dtype="boolean")[used]
    w_true = np.asarray(noisy.fillna(False), float) @ W
    w_false = np.asarray((~noisy).fillna(False), float) @ W
    low = np.asarray(cols["low_precision"], bool)[used].astype(float) @ W > 0
    nv, nb = np.asarray(cols["n_virtual"])[used], np.asarray(cols["n_baseline"])[used]
    env, base, tech = cols["environment"][0], cols["baseline"][0], cols["technology"][0]
    rows = []
    for c, name in enumerate(catalogue.CATEGORIES):
        if n_metrics[c] == 0:
            continue
        label = f"(geomean of {n_metrics[c]} metrics)"
        in_c = cat[used] == c
        has = np.isfinite(lo[c]) and np.isfinite(hi[c])
        level = stats.CI_LEVEL if has and hi[c] > lo[c] else np.nan
        flag = True if w_true[c] > 0.5 else (False if w_false[c] > 0.5 else None)
        note = "" if has else "no interval: a metric of the category has none"
        rows.append((env, base, tech, name, label, label, float(point[c]), float(lo[c]), float(hi[c]), level,
                     int(nv[in_c].min()), int(nb[in_c].min()), flag, bool(low[c]), "geomean", note))
    return rows


def summary_frame(rows) -> pd.DataFrame:
    """``SUMMARY_COLUMNS`` rows as a frame with the columns' types."""
    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    df["n_virtual"] = df["n_virtual"].astype(np.int64)
    df["n_baseline"] = df["n_baseline"].astype(np.int64)
    df["noisy"] = df["noisy"].astype("boolean")
    df["low_precision"] = df["low_precision"].astype(bool)
    for c in ("slowdown", "ci_low", "ci_high", "ci_level"):
        df[c] = df[c].astype(float)
    return df


def representative_geomean(summary: pd.DataFrame) -> pd.Series:
    """Per virtual environment, the geometric mean of its representative category slowdowns (the
    measured ones): one number to rank many environments by, e.g. for which ones a chart shows."""
    rep = summary[(summary["view"] == "representative") & np.isfinite(summary["slowdown"].to_numpy(float))
                  & (summary["slowdown"].to_numpy(float) > 0)]
    return rep.groupby("environment", sort=False)["slowdown"].apply(lambda v: float(np.exp(np.log(v).mean())))
