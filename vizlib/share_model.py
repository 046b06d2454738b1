"""The share-based overhead model: the source article's method.

An application spends shares ``w_i`` of its run time on the baseline in the OS-operation
categories ``cpu, memory, disk, network, kernel`` (a mix, ``vizlib.mix``; the shares sum to 1).
Category ``i`` runs ``s_i`` times slower in the virtual environment, ``s_i`` being the slowdown
of the lmbench item that represents it (``vizlib.categories``). The expected relative run time
is ``R = sum(w_i * s_i)``, the expected overhead ``(R - 1) * 100`` %. The interval of ``R`` comes
from the joint replicates of the slowdowns (the same resampled runs for every category of an
environment in a replicate): ``R_b = sum(w_i * s_i_b)``, then ``stats.interval``. The largest
contributor is the category with the largest ``w_i * (s_i - 1)``.

``prepare`` turns the inputs into arrays once; ``evaluate`` (one mix) and ``sensitivity`` (one
share swept from 0 to 1) both call the one core, ``_core``, on a matrix of weight vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from . import catalogue, categories, stats
from .catalogue import CATEGORIES
from .errors import MixError
from .mix import rebalance, resolve_mix
from .tables import CATEGORY_COLUMNS, ESTIMATE_COLUMNS


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def category_slowdowns(overhead_df: pd.DataFrame, representatives: Mapping | None = None,
                        roots: dict | None = None) -> pd.DataFrame:
    """One row per (virtual environment, category): the slowdown of the category's representative
    (``categories.category_summary``, columns ``CATEGORY_COLUMNS``).

    ``representatives`` maps category -> ``(metric, param)`` (param ``None`` = the size
    ``categories.group_params`` chooses); categories left out keep the defaults. A representative
    not measured on both sides gives a row with ``slowdown`` NaN and a ``note``: never dropped,
    never taken as 0.
    """
    reps = dict(categories.DEFAULT_REPRESENTATIVES)
    if representatives is not None:
        unknown = [c for c in representatives if c not in CATEGORIES]
        if unknown:
            raise MixError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))} "
                           f"in representatives; the categories are {', '.join(CATEGORIES)}")
        reps.update(representatives)
    cs = categories.category_summary(overhead_df, {c: reps[c] for c in CATEGORIES}, roots)
    return cs[list(CATEGORY_COLUMNS)].reset_index(drop=True)


@dataclass
class Prepared:
    """Category slowdowns and replicates as arrays, for repeated evaluation (widgets, panel)."""

    environments: list[str]
    baselines: list[str]
    slowdown: np.ndarray  # E x C, NaN where the representative is missing
    replicates: np.ndarray | None  # E x B x C, NaN where undefined; None = no replicates at all
    interval_reason: list[list[str]]  # E x C: "" or why this category gives no interval
    missing_reason: list[list[str]]  # E x C: "" or why the slowdown is missing
    representative: list[list[str]]  # E x C: "metric param" for messages
    low_precision: np.ndarray | None = None  # E x C: the representative is printed with low precision
    item_label: list[list[str]] | None = None  # E x C: the representative for a reader ("mmap latency, 64 MB")

    def select(self, environments) -> "Prepared":
        """The same arrays for ``environments`` only (names, in that order)."""
        idx = [self.environments.index(e) for e in environments]
        return Prepared([self.environments[i] for i in idx], [self.baselines[i] for i in idx], self.slowdown[idx],
                        None if self.replicates is None else self.replicates[idx],
                        [self.interval_reason[i] for i in idx], [self.missing_reason[i] for i in idx],
                        [self.representative[i] for i in idx],
                        None if self.low_precision is None else self.low_precision[idx],
                        None if self.item_label is None else [self.item_label[i] for i in idx])


def prepare(category_slowdowns: pd.DataFrame, replicates: pd.DataFrame | None) -> Prepared:
    """Arrays from a ``category_slowdowns`` frame and joint replicates (``normalise.joint_replicates``
    long-form: ``environment, metric, param, replicate, slowdown``); ``None`` gives NaN intervals."""
    cs = category_slowdowns
    envs = list(dict.fromkeys(cs["environment"]))
    base = cs.drop_duplicates("environment").set_index("environment")["baseline"]
    E, C = len(envs), len(CATEGORIES)
    S = np.full((E, C), np.nan)
    interval_reason = [[""] * C for _ in range(E)]
    missing_reason = [[""] * C for _ in range(E)]
    rep_label = [[""] * C for _ in range(E)]
    item_label = [[""] * C for _ in range(E)]
    low = np.zeros((E, C), bool)
    reason = {}  # (i, j) -> why a category would have no interval (used when its replicates are all undefined)
    ei = {e: i for i, e in enumerate(envs)}
    ci = {c: j for j, c in enumerate(CATEGORIES)}
    keys = {}  # (env, metric, param) -> (i, j) list
    for r in cs.to_dict("records"):
        if r["category"] not in ci:
            continue
        i, j = ei[r["environment"]], ci[r["category"]]
        param = "" if r.get("param") is None or (isinstance(r.get("param"), float) and math.isnan(r["param"])) \
            else str(r["param"])
        rep_label[i][j] = r["metric"] + (f" {param}" if param else "")
        item_label[i][j] = catalogue.item_label(r["metric"], param)
        if not _finite(r["slowdown"]):
            missing_reason[i][j] = f"no {r['category']} value ({rep_label[i][j]}): {r.get('note') or 'not measured'}"
            continue
        S[i, j] = float(r["slowdown"])
        low[i, j] = r.get("low_precision") is True or r.get("low_precision") == 1
        reason[(i, j)] = r.get("note") or f"no interval for {rep_label[i][j]}"
        keys.setdefault((r["environment"], r["metric"], param), []).append((i, j))

    R = None
    if replicates is not None and len(replicates):
        n_boot = int(replicates["replicate"].max()) + 1
        R = np.full((E, n_boot, C), np.nan)
        rp = replicates.assign(param=replicates["param"].fillna("").astype(str))
        for (env, metric, param), grp in rp.groupby(["environment", "metric", "param"], sort=False):
            for i, j in keys.get((env, metric, param), ()):
                R[i, grp["replicate"].to_numpy(dtype=int), j] = grp["slowdown"].to_numpy(dtype=float)
    for (i, j), why in reason.items():  # a category whose replicates are all undefined has no interval
        if R is not None and np.isnan(R[i, :, j]).all():
            interval_reason[i][j] = why
    return Prepared(envs, [str(base[e]) for e in envs], S, R, interval_reason, missing_reason, rep_label, low,
                    item_label)


def _weights(mix: Mapping[str, float]) -> np.ndarray:
    return np.array([float(mix.get(c, 0.0)) for c in CATEGORIES])


def _weighted_sum(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(E, S, B): for E x B x C values, the sum over categories of X[e, b, c] * W[s, c] for every
    weight vector, adding the categories one after the other (the same rounding for every mix; a
    weight 0 adds nothing). B last: each interval's draws are contiguous, which its percentiles need."""
    out = np.zeros((X.shape[0], W.shape[0], X.shape[1]))
    for c in range(W.shape[1]):
        out += X[:, None, :, c] * W[None, :, c, None]
    return out


def _core(prep: Prepared, W: np.ndarray):
    """Relative time, its interval and the number of draws behind it, per environment (rows) and
    weight vector (columns of the results; W is (S, C)).

    A weighted category with no slowdown makes the estimate NaN (``_labels`` says why: never a
    silent 0). Draws in which a weighted category is undefined are left out of the interval, as
    ``vizlib.normalise`` does for single metrics.
    """
    E, S = len(prep.environments), W.shape[0]
    active = W > 0  # S x C
    missing = (np.isnan(prep.slowdown)[:, None, :] & active[None]).any(axis=2)  # E x S
    rel = _weighted_sum(np.nan_to_num(prep.slowdown, nan=0.0)[:, None, :], W)[:, :, 0]  # E x S
    rel[missing] = np.nan
    lo = np.full((E, S), np.nan)
    hi = np.full((E, S), np.nan)
    used = np.zeros((E, S), dtype=int)
    n_boot = 0 if prep.replicates is None else prep.replicates.shape[1]
    no_interval = np.array([[bool(x) for x in row] for row in prep.interval_reason], bool).reshape(E, -1)
    blocked = missing | (no_interval[:, None, :] & active[None]).any(axis=2)
    if n_boot and S:
        R = prep.replicates  # E x B x C
        if np.isfinite(R).all():  # the usual case, and the explorer's hot path: no copies, no mask
            rb = _weighted_sum(R, W)  # E x S x B
        else:  # (nan_to_num also turns an infinite draw into the largest float, as it always did here)
            rb = _weighted_sum(np.nan_to_num(R, nan=0.0), W)
            rb[_weighted_sum(np.isnan(R).astype(float), active.astype(float)) > 0] = np.nan
        used = stats.finite_count(rb, axis=2)  # E x S
        ok = ~blocked & (used > 0)
        if ok.any():
            # percentiles of every (environment, weights) row, kept where ``ok``: masking the others
            # with NaN first would send every row down numpy's much slower NaN-aware path
            lo_all, hi_all = stats.interval(rb, axis=2, overwrite_input=True)
            lo[ok], hi[ok] = lo_all[ok], hi_all[ok]
    return rel, lo, hi, used


def _labels(prep: Prepared, W: np.ndarray, used: np.ndarray) -> tuple[list, list]:
    """The largest category and the note of each estimate of ``_core`` (environments x weight vectors)."""
    E, S = len(prep.environments), W.shape[0]
    active = W > 0  # S x C
    missing_cat = np.isnan(prep.slowdown)  # E x C
    missing = (missing_cat[:, None, :] & active[None]).any(axis=2)  # E x S
    contrib = (np.nan_to_num(prep.slowdown, nan=0.0)[:, None, :] - 1.0) * W[None]  # E x S x C
    contrib[:, ~active] = -np.inf
    largest = np.argmax(contrib, axis=2)  # E x S
    adds_time = np.take_along_axis(contrib, largest[:, :, None], axis=2)[:, :, 0] > 0
    n_boot = 0 if prep.replicates is None else prep.replicates.shape[1]
    # the largest contributor only when some category adds time: with every w*(s-1) <= 0 there is none
    largest_names = [["" if missing[i, s] or not adds_time[i, s] else CATEGORIES[largest[i, s]] for s in range(S)]
                     for i in range(E)]
    notes = []
    for i in range(E):
        row = []
        for s in range(S):
            act = np.flatnonzero(active[s])
            miss = [prep.missing_reason[i][j] for j in act if missing_cat[i, j]]
            if miss:
                row.append("; ".join(miss))
                continue
            reasons = [prep.interval_reason[i][j] for j in act if prep.interval_reason[i][j]]
            if reasons:
                row.append("; ".join(reasons))
            elif prep.replicates is None:
                row.append("no replicates: no interval")
            elif used[i, s] == 0:
                row.append("no usable replicate for the weighted categories: no interval")
            elif used[i, s] < n_boot:
                row.append(f"interval from {used[i, s]} of {n_boot} replicates (the others are undefined for a "
                           "weighted category)")
            else:
                row.append("")
            if prep.low_precision is not None:
                coarse = [prep.representative[i][j] for j in act if prep.low_precision[i, j]]
                if coarse:
                    row[-1] = "; ".join(x for x in (row[-1], f"printed with low precision: {', '.join(coarse)}") if x)
        notes.append(row)
    return largest_names, notes


def evaluate(prep: Prepared, mix: Mapping[str, float]) -> pd.DataFrame:
    """The share-based estimate for a valid ``mix``: ``ESTIMATE_COLUMNS`` plus ``note``, one row per environment.

    ``relative_time`` = ``sum(w_i * s_i)``, ``overhead_pct`` = ``(relative_time - 1) * 100``,
    ``ci_low``/``ci_high`` = the 95 % interval of ``relative_time`` over the joint replicates,
    ``largest_category`` = argmax of ``w_i * (s_i - 1)`` over weighted categories.
    """
    W = _weights(mix)[None, :]
    rel, lo, hi, used = _core(prep, W)
    largest, notes = _labels(prep, W, used)
    has = np.isfinite(lo[:, 0]) & np.isfinite(hi[:, 0]) & (hi[:, 0] > lo[:, 0])
    return pd.DataFrame({
        "environment": prep.environments,
        "baseline": prep.baselines,
        "relative_time": rel[:, 0],
        "overhead_pct": (rel[:, 0] - 1.0) * 100.0,
        "ci_low": lo[:, 0],
        "ci_high": hi[:, 0],
        "ci_level": np.where(has, stats.CI_LEVEL, np.nan),
        "largest_category": [row[0] for row in largest],
        "note": [row[0] for row in notes],
    }, columns=list(ESTIMATE_COLUMNS) + ["note"])


def estimate(category_slowdowns: pd.DataFrame, replicates: pd.DataFrame | None, mix) -> pd.DataFrame:
    """``evaluate`` from frames; ``mix`` is a dict, mix text or preset name."""
    return evaluate(prepare(category_slowdowns, replicates), resolve_mix(mix))


def contributions(category_slowdowns: pd.DataFrame, mix) -> pd.DataFrame:
    """Per environment and category: ``weight, slowdown, contribution = w * (s - 1)``.

    The contributions of an environment add up to ``relative_time - 1``.
    """
    mix = resolve_mix(mix)
    df = category_slowdowns[["environment", "baseline", "category", "metric", "param", "slowdown"]].copy()
    df["weight"] = df["category"].map(mix).astype(float)
    df["contribution"] = df["weight"] * (df["slowdown"] - 1.0)
    df.loc[df["weight"] == 0, "contribution"] = 0.0
    return df.reset_index(drop=True)


def sensitivity(prep: Prepared, mix, category: str, steps: int = 21) -> pd.DataFrame:
    """The estimate as ``category``'s share goes from 0 to 1 in ``steps`` steps, the other shares
    rescaled by ``mix.rebalance``. Columns ``environment, category, share, relative_time,
    overhead_pct, ci_low, ci_high``."""
    mix = resolve_mix(mix)
    if category not in CATEGORIES:
        raise MixError(f"unknown category {category!r}; the categories are {', '.join(CATEGORIES)}")
    if steps < 2:
        raise MixError("steps must be at least 2")
    shares = np.linspace(0.0, 1.0, steps)
    W = np.array([_weights(rebalance(mix, category, x)) for x in shares])
    rel, lo, hi, _used = _core(prep, W)  # (no labels: the view shows none)
    E = len(prep.environments)
    return pd.DataFrame({
        "environment": np.repeat(prep.environments, steps),
        "category": category,
        "share": np.tile(shares, E),
        "relative_time": rel.ravel(),
        "overhead_pct": (rel.ravel() - 1.0) * 100.0,
        "ci_low": lo.ravel(),
        "ci_high": hi.ravel(),
    })


def largest_contributor(result: pd.DataFrame, environments=None) -> str:
    """The category that is the largest contributor in most of the shown environments (ties: first in
    catalogue order); the first category when no environment has one."""
    df = result if environments is None else result[result["environment"].isin(list(environments))]
    vals = [c for c in df["largest_category"] if c]
    if not vals:
        return CATEGORIES[0]
    return max(CATEGORIES, key=lambda c: (vals.count(c), -CATEGORIES.index(c)))


def measured_categories(prep: Prepared) -> list[str]:
    """The categories with a slowdown in at least one environment of ``prep``."""
    if not len(prep.environments):
        return []
    return [c for j, c in enumerate(CATEGORIES) if np.isfinite(prep.slowdown[:, j]).any()]
