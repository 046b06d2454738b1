"""One number per OS-operation category: the source's way of reading lmbench.

Two views of the slowdowns of ``vizlib.normalise``, both ``SUMMARY_COLUMNS``:

- **representative** (``category_summary``): one lmbench item stands for each category, by
  default the source's four items plus the null system call (``DEFAULT_REPRESENTATIVES``);
- **geomean** (``geomean_rows``): the geometric mean of all of a category's slowdowns, each metric
  counting once, with an interval from the joint replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import catalogue, stats
from .tables import REPRESENTATIVE_COLUMNS, SUMMARY_COLUMNS

# The source's four items (one per OS operation) plus the null system call for the kernel.
# param None: the representative param measured on both sides (for mmap, the largest size, as
# lmbench's own summary takes it; ``catalogue.representative_param``).
DEFAULT_REPRESENTATIVES = {
    "cpu": ("int_bit", ""),
    "memory": ("pagefault", ""),
    "disk": ("mmap_latency", None),
    "network": ("tcp_latency", ""),
    "kernel": ("syscall_null", ""),
}


def resolve_representatives(overhead_df: pd.DataFrame, representatives=DEFAULT_REPRESENTATIVES) -> pd.DataFrame:
    """The concrete (metric, param) standing for each category in each environment (``REPRESENTATIVE_COLUMNS``).

    A param of None means ``catalogue.representative_param`` over the params present in the
    environment's overhead rows (i.e. measured on both sides); "" if the metric is absent.
    """
    envs = list(pd.unique(overhead_df["environment"]))
    params_of = overhead_df.groupby(["environment", "metric"], sort=False)["param"].agg(list).to_dict()
    rows = []
    for env in envs:
        for category, (metric, param) in representatives.items():
            if param is None:
                measured = params_of.get((env, metric), [])
                param = catalogue.representative_param(metric, measured) if measured else ""
            rows.append((env, category, metric, str(param)))
    return pd.DataFrame(rows, columns=list(REPRESENTATIVE_COLUMNS)).astype(str)


def category_summary(overhead_df: pd.DataFrame, representatives=DEFAULT_REPRESENTATIVES) -> pd.DataFrame:
    """One representative metric per category and environment (``SUMMARY_COLUMNS``, view "representative").

    The representative's own slowdown and interval, as the source reads one lmbench item per OS
    operation. A representative not measured on both sides gives a row with NaN, not no row.
    """
    reps = resolve_representatives(overhead_df, representatives)
    envs = overhead_df.drop_duplicates("environment").set_index("environment")[["baseline", "technology"]]
    cols = ["environment", "metric", "param", "slowdown", "ci_low", "ci_high", "n_virtual", "n_baseline", "noisy"]
    out = reps.merge(overhead_df[cols], on=["environment", "metric", "param"], how="left")
    out["baseline"] = out["environment"].map(envs["baseline"])
    out["technology"] = out["environment"].map(envs["technology"])
    out["n_virtual"] = out["n_virtual"].fillna(0).astype(np.int64)
    out["n_baseline"] = out["n_baseline"].fillna(0).astype(np.int64)
    out["noisy"] = out["noisy"].astype("boolean").fillna(False).astype(bool)
    out["view"] = "representative"
    return out[list(SUMMARY_COLUMNS)].reset_index(drop=True)


def geomean_rows(cols: dict, replicates: np.ndarray | None) -> list[tuple]:
    """Geomean rows (``SUMMARY_COLUMNS``, view "geomean") of one environment, from its overhead
    columns (arrays) and its joint slowdown replicates ``(n_boot, keys)`` (None: no interval).

    Each metric first counts once (geometric mean over its params), so a series such as mmap
    latency at eight sizes weighs as much as the single null system call; then the geometric mean
    over the category's metrics. Slowdowns that are NaN or not positive are left out. The interval
    applies the same formula to each replicate; replicates where a used slowdown is undefined are
    left out, and a category with a key that has no replicates at all gets none. ``noisy``: more
    than half of the weight sits on noisy slowdowns; n_virtual/n_baseline: the smallest run counts.
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
    if replicates is not None and replicates.shape[0]:
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(replicates[:, used])
        bad = ~np.isfinite(logs)
        sums = np.where(bad, 0.0, logs) @ W
        sums[(bad.astype(float) @ (W != 0)) > 0] = np.nan  # a replicate missing a used key
        with np.errstate(over="ignore", invalid="ignore"):
            g = np.exp(sums)
        g[~np.isfinite(g)] = np.nan
        lo, hi = stats.interval(g)
    noisy = np.asarray(cols["noisy"], bool)[used] @ W > 0.5
    nv, nb = np.asarray(cols["n_virtual"])[used], np.asarray(cols["n_baseline"])[used]
    env, base, tech = cols["environment"][0], cols["baseline"][0], cols["technology"][0]
    rows = []
    for c, name in enumerate(catalogue.CATEGORIES):
        if n_metrics[c] == 0:
            continue
        label = f"(geomean of {n_metrics[c]} metrics)"
        in_c = cat[used] == c
        rows.append((env, base, tech, name, label, label, float(point[c]), float(lo[c]), float(hi[c]),
                     int(nv[in_c].min()), int(nb[in_c].min()), bool(noisy[c]), "geomean"))
    return rows


def summary_frame(rows) -> pd.DataFrame:
    """``SUMMARY_COLUMNS`` rows as a frame with the columns' types."""
    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    df["n_virtual"] = df["n_virtual"].astype(np.int64)
    df["n_baseline"] = df["n_baseline"].astype(np.int64)
    df["noisy"] = df["noisy"].astype(bool)
    for c in ("slowdown", "ci_low", "ci_high"):
        df[c] = df[c].astype(float)
    return df
