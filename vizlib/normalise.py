"""Baseline-matched normalisation: every virtual environment against its own baseline.

The source compares each virtual environment only with the physical host that runs the matching
kernel (RHEL with Xen and OpenVZ, Fedora with KVM), so every function here pairs an environment
with the ``baseline`` its manifest names and never with any other.

Per key (metric, param), each side's value is the median over its runs of the within-run values
(``vizlib.samples``). ``slowdown`` is oriented so that > 1 always means the virtual environment
is worse: virtual/baseline for lower-is-better metrics, baseline/virtual for higher-is-better
ones; ratios below 1 are kept. The interval is a percentile bootstrap over runs with joint
replicates (``vizlib.stats``): replicate b of a pair uses one resample of the virtual side's runs
and one of the baseline's for every key, so functions of several slowdowns computed replicate by
replicate (a weighted sum, a geometric mean) have valid intervals.

DataFrames in, DataFrames out: ``overhead``, ``bootstrap_replicates`` and ``normalise_all``
(every table ``vizlib.tables.ANALYSIS_FILES`` names, from one pass over the data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalogue, categories, manifest as manifest_mod, sanity, stats
from .samples import Prepared, check_runs, prepare
from .tables import MISSING_COLUMNS, OVERHEAD_COLUMNS, REPLICATE_COLUMNS

# A run-to-run coefficient of variation above 10% on either side marks a slowdown as noisy. lmbench
# repeats each measurement internally and reports its best or median, so repeated runs on a quiet
# machine agree within a few percent (the shipped lab runs: mostly below 5%); a spread above 10%
# means the environment was disturbed (other guests, frequency scaling, a cold cache) and a
# difference of that size between environments cannot be told from noise.
NOISY_CV = 0.10

NOTE_SINGLE_RUN = "single run: no interval"
NOTE_ZERO_BASELINE = "baseline median is zero: no ratio"
NOTE_ZERO_VIRTUAL = "virtual median is zero: no ratio"
NOTE_ZERO_BOTH = "both medians are zero: no ratio"
NOTE_ZERO_RESAMPLE = "interval undefined: a resampled median is zero"
NOTE_REPEATED = "printed more than once in a run: within-run median used"

_TEXT_OVERHEAD = ("environment", "baseline", "technology", "metric", "param", "label", "category", "unit",
                  "direction", "note")


@dataclass
class Pair:
    """One virtual environment against its baseline: the overhead columns of its keys and their
    joint slowdown replicates ``(n_boot, keys)``, NaN where a replicate is undefined."""

    env: manifest_mod.Environment
    cols: dict  # column name -> array, one entry per key (OVERHEAD_COLUMNS)
    replicates: np.ndarray


def ratio(virtual, baseline, lower):
    """Slowdown oriented so > 1 means the virtual side is worse; NaN (never inf) for a zero divisor."""
    num = np.where(lower, virtual, baseline)
    den = np.where(lower, baseline, virtual)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    return np.where(den == 0, np.nan, r)


def _wanted_keys(prep: Prepared, common: np.ndarray, wanted) -> np.ndarray:
    """The key codes of ``common`` matching (metric, param) pairs; param None picks the metric's
    representative param among those measured on both sides (``catalogue.representative_param``)."""
    if wanted is None:
        return common
    kc = prep.kcols
    chosen = []
    for metric, param in wanted:
        of_metric = common[kc["metric"][common] == metric]
        if not len(of_metric):
            continue
        if param is None:
            param = catalogue.representative_param(metric, kc["param"][of_metric])
        chosen.extend(of_metric[kc["param"][of_metric] == str(param)])
    return np.unique(np.asarray(chosen, np.int64))


def _notes(parts) -> np.ndarray:
    """Join the texts whose masks are true, '; '-separated, per row."""
    out = None
    for mask, text in parts:
        mask = np.asarray(mask, bool)
        if out is None:
            out = np.full(mask.shape, "", object)
        text = np.broadcast_to(np.asarray(text, object), mask.shape)
        joined = np.where(out == "", text, out + "; " + text)
        out = np.where(mask & (text != ""), joined, out)
    return out.astype(str) if out is not None else np.array([], str)


def pair(prep: Prepared, env, n_boot: int = stats.N_REPLICATES, seed: int = 0, keys=None) -> Pair:
    """The comparison of virtual environment ``env`` with its baseline, over the keys measured on
    both sides (restricted to ``keys`` if given; restricting does not change the draws)."""
    kc = prep.kcols
    vs, bs = prep.sides[env.name], prep.sides[env.baseline]
    common = _wanted_keys(prep, np.intersect1d(vs.keys, bs.keys), keys)
    common = common[np.argsort(kc["rank"][common], kind="stable")]
    iv, ib = np.searchsorted(vs.keys, common), np.searchsorted(bs.keys, common)
    K = len(common)
    lower = kc["direction"][common] == catalogue.LOWER
    vm, bm = vs.median[iv], bs.median[ib]
    nv, nb = vs.n[iv], bs.n[ib]
    slowdown = ratio(vm, bm, lower)
    single = (nv < 2) | (nb < 2)
    multi = np.flatnonzero(~single)

    R = np.full((n_boot, K), np.nan)
    zero_rep = np.zeros(K, bool)
    if n_boot > 0 and len(multi):
        Mv = stats.resampled_statistic(vs.X[:, iv[multi]],
                                       stats.resample_indices(len(vs.runs), n_boot, stats.rng(seed, 0, vs.name)))
        Mb = stats.resampled_statistic(bs.X[:, ib[multi]],
                                       stats.resample_indices(len(bs.runs), n_boot, stats.rng(seed, 1, bs.name)))
        low_m = lower[multi]
        # a zero divisor in any replicate makes the ratio unbounded there: no interval at all
        zero_rep[multi] = (((Mb == 0).any(axis=0) & low_m) | ((Mv == 0).any(axis=0) & ~low_m))
        R[:, multi] = ratio(Mv, Mb, low_m)
    dead = single | zero_rep | np.isnan(slowdown)
    R[:, dead] = np.nan
    finite = stats.finite_count(R)
    ci_low, ci_high = np.full(K, np.nan), np.full(K, np.nan)
    live = finite > 0
    if live.any():
        ci_low[live], ci_high[live] = stats.interval(R[:, live])
    partial = ~dead & live & (finite < n_boot)
    notes = _notes([
        (vs.repeated[iv] | bs.repeated[ib], NOTE_REPEATED),
        (lower & (bm == 0) & (vm != 0) | ~lower & (vm == 0) & (bm != 0),
         np.where(lower, NOTE_ZERO_BASELINE, NOTE_ZERO_VIRTUAL)),
        ((vm == 0) & (bm == 0), NOTE_ZERO_BOTH),
        (single, NOTE_SINGLE_RUN),
        (~single & zero_rep & ~np.isnan(slowdown), NOTE_ZERO_RESAMPLE),
        (partial, np.char.add(np.char.add("interval from ", finite.astype(str)),
                              f" of {n_boot} resamples: the others drew no run holding this metric")),
    ])
    cv_v, cv_b = vs.cv[iv], bs.cv[ib]
    with np.errstate(invalid="ignore"):
        noisy = (cv_v > NOISY_CV) | (cv_b > NOISY_CV)
    cols = {
        "environment": np.full(K, env.name, object), "baseline": np.full(K, env.baseline, object),
        "technology": np.full(K, env.technology, object),
        "metric": kc["metric"][common], "param": kc["param"][common], "label": kc["label"][common],
        "category": kc["category"][common], "unit": kc["unit"][common], "direction": kc["direction"][common],
        "virtual_median": vm, "baseline_median": bm, "slowdown": slowdown,
        "ci_low": ci_low, "ci_high": ci_high, "n_virtual": nv.astype(np.int64), "n_baseline": nb.astype(np.int64),
        "cv_virtual": cv_v, "cv_baseline": cv_b, "noisy": noisy,
        "low_precision": vs.low_precision[iv] | bs.low_precision[ib], "note": notes,
    }
    return Pair(env, cols, R)


def _pairs(prep: Prepared, n_boot: int, seed: int, keys=None):
    """``pair`` for every virtual environment of the manifest, in manifest order."""
    check_runs(prep)
    for env in prep.manifest.virtual():
        yield pair(prep, env, n_boot, seed, keys)


def _overhead_frame(cols: list) -> pd.DataFrame:
    """One overhead frame from the pairs' column arrays (one DataFrame, not one per environment)."""
    if not cols:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in OVERHEAD_COLUMNS})
        for c in ("virtual_median", "baseline_median", "slowdown", "ci_low", "ci_high", "cv_virtual", "cv_baseline"):
            df[c] = df[c].astype(float)
        for c in ("n_virtual", "n_baseline"):
            df[c] = df[c].astype(np.int64)
        for c in ("noisy", "low_precision"):
            df[c] = df[c].astype(bool)
        return df
    df = pd.DataFrame({c: np.concatenate([d[c] for d in cols]) for c in OVERHEAD_COLUMNS}, columns=list(OVERHEAD_COLUMNS))
    for c in _TEXT_OVERHEAD:
        df[c] = df[c].astype(str)
    return df


def overhead(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, n_boot: int = stats.N_REPLICATES,
             seed: int = 0) -> pd.DataFrame:
    """Slowdown of every virtual environment against its baseline, per metric and param (``OVERHEAD_COLUMNS``).

    ``ci_low``/``ci_high`` are the 2.5/97.5 percentiles of this key's ``bootstrap_replicates``
    (same ``n_boot`` and ``seed``): NaN with a single run on either side (``note`` says so; never
    a zero-width interval made up) and where a resampled median is zero.
    NormaliseError if a virtual environment or its baseline has no runs.
    """
    prep = prepare(tidy, manifest)
    return _overhead_frame([p.cols for p in _pairs(prep, n_boot, seed) if len(p.cols["metric"])])


def bootstrap_replicates(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, keys=None,
                         n_boot: int = stats.N_REPLICATES, seed: int = 0) -> pd.DataFrame:
    """The joint bootstrap replicates of the slowdowns (``REPLICATE_COLUMNS``), long-form.

    ``keys`` restricts to (metric, param) pairs (param None: the representative param measured on
    both sides). Undefined replicates are NaN: all of them for a key with a single run on a side
    or a zero median in some resample, single ones where a resample drew no run holding the key.
    Memory is n_boot rows per key and environment: restrict ``keys`` on a large fleet.
    """
    prep = prepare(tidy, manifest)
    parts = []
    for p in _pairs(prep, n_boot, seed, keys=None if keys is None else list(keys)):
        K = len(p.cols["metric"])
        if K:
            parts.append((np.full(K * n_boot, p.env.name, object), np.repeat(p.cols["metric"], n_boot),
                          np.repeat(p.cols["param"], n_boot), np.tile(np.arange(n_boot, dtype=np.int64), K),
                          p.replicates.T.ravel()))
    if not parts:
        return pd.DataFrame({"environment": pd.Series(dtype=str), "metric": pd.Series(dtype=str),
                             "param": pd.Series(dtype=str), "replicate": pd.Series(dtype=np.int64),
                             "slowdown": pd.Series(dtype=float)})
    df = pd.DataFrame({c: np.concatenate([part[i] for part in parts]) for i, c in enumerate(REPLICATE_COLUMNS)})
    for c in ("environment", "metric", "param"):
        df[c] = df[c].astype(str)
    return df


def missing_metrics(prep: Prepared) -> pd.DataFrame:
    """Metric+param measured on only one side of a pair (``MISSING_COLUMNS``): listed, never dropped
    silently. ``present_in`` names the environment that has it."""
    check_runs(prep)
    rank, kc = prep.kcols["rank"], prep.kcols
    parts = []
    for env in prep.manifest.virtual():
        vs, bs = prep.sides[env.name], prep.sides[env.baseline]
        for only, where in ((np.setdiff1d(vs.keys, bs.keys), env.name), (np.setdiff1d(bs.keys, vs.keys), env.baseline)):
            if len(only):
                only = only[np.argsort(rank[only], kind="stable")]
                parts.append((env.name, env.baseline, only, where))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in MISSING_COLUMNS})
    lengths = [len(p[2]) for p in parts]
    keys = np.concatenate([p[2] for p in parts])
    return pd.DataFrame({
        "environment": np.repeat([p[0] for p in parts], lengths), "baseline": np.repeat([p[1] for p in parts], lengths),
        "metric": kc["metric"][keys].astype(str), "param": kc["param"][keys].astype(str),
        "present_in": np.repeat([p[3] for p in parts], lengths),
    }, columns=list(MISSING_COLUMNS))


def normalise_all(tidy: pd.DataFrame, runs: pd.DataFrame, manifest: manifest_mod.Manifest,
                  n_boot: int = stats.N_REPLICATES, seed: int = 0,
                  representatives=categories.DEFAULT_REPRESENTATIVES) -> dict:
    """Every normalisation table from one pass over the data, keyed as ``tables.ANALYSIS_FILES``.

    The category summary stacks the representative view (``representatives``) and the geomean
    view, whose intervals come from the same joint replicates as the slowdowns'.
    """
    prep = prepare(tidy, manifest)
    cols, geo = [], []
    for p in _pairs(prep, n_boot, seed):
        if len(p.cols["metric"]):
            cols.append(p.cols)
            geo.extend(categories.geomean_rows(p.cols, p.replicates))
    ov = _overhead_frame(cols)
    summary = pd.concat([categories.category_summary(ov, representatives), categories.summary_frame(geo)],
                        ignore_index=True)
    return {"overhead": ov, "missing_metrics": missing_metrics(prep), "sanity_checks": sanity.sanity_checks(prep, runs),
            "category_summary": summary}
