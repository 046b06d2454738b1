"""Baseline-matched normalisation: every virtual environment against its own baseline.

The source compares each virtual environment only with the physical host that runs the matching
kernel (RHEL with Xen and OpenVZ, Fedora with KVM), so every function here pairs an environment
with the ``baseline`` its manifest names and never with any other.

Per key (metric, param), each side's value is the ``statistic`` (median, or mean) over its runs of
the within-run values (``vizlib.samples``). ``slowdown`` is oriented so that > 1 always means the
virtual environment is worse: virtual/baseline for lower-is-better metrics, baseline/virtual for
higher-is-better ones; ratios below 1 are kept. The interval comes from joint draws of each
side's log location (``vizlib.stats``): replicate b of a pair uses the same draw of the virtual
environment and the same of the baseline for every key, so functions of several slowdowns
computed replicate by replicate (a weighted sum, a geometric mean, a product along a chain of
baselines) have valid intervals.

DataFrames in, DataFrames out: ``overhead``, ``joint_replicates`` and ``normalise_all``
(every table ``vizlib.tables.ANALYSIS_FILES`` names, from one pass over the data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalogue, categories, manifest as manifest_mod, sanity, stats
from .samples import Prepared, check_runs, prepare
from .tables import CHAIN_COLUMNS, MISSING_COLUMNS, OVERHEAD_COLUMNS, REPLICATE_COLUMNS

NOTE_SINGLE_RUN = "single run: no interval"
NOTE_ZERO_BASELINE = "baseline value is zero: no ratio"
NOTE_ZERO_VIRTUAL = "virtual value is zero: no ratio"
NOTE_ZERO_BOTH = "both values are zero: no ratio"
NOTE_ZERO_UNIT = "a run printed zero: no interval on the log scale"
NOTE_FLAT = ("every run printed the same value on both sides: the run-to-run spread is below lmbench's print "
             "resolution, so the interval has zero width (not a 95% interval)")
NOTE_OUTSIDE = ("the {statistic} ratio lies outside the interval, which is about the ratio of geometric means: the "
                "runs are skewed or hold an outlier; look at the runs")
NOTE_REP_UNITS = ("interval from the repetitions within one file on the {sides} side{s}: session-to-session "
                  "variation is not captured")

_TEXT_OVERHEAD = ("environment", "baseline", "technology", "metric", "param", "label", "category", "unit",
                  "direction", "statistic", "note")


@dataclass
class Pair:
    """One virtual environment against its baseline: the overhead columns of its keys, their joint
    slowdown replicates ``(n_boot, keys)`` (NaN where a replicate is undefined), and the draws of
    each side's value behind them (in the metric's unit)."""

    env: manifest_mod.Environment
    cols: dict  # column name -> array, one entry per key (OVERHEAD_COLUMNS)
    log_replicates: np.ndarray  # log of the slowdown replicates: finite where defined, however extreme
    virtual_draws: np.ndarray
    baseline_draws: np.ndarray

    @property
    def replicates(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(self.log_replicates)


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


def side_draws(prep: Prepared, name: str, cols, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, len(cols)) joint draws of the log location of environment ``name``'s keys at positions
    ``cols``. Keys measured by several runs share the environment's draws; a key held by one run
    that printed it several times is drawn from its repetitions with a generator of its own."""
    side = prep.sides[name]
    cols = np.asarray(cols, dtype=np.intp)
    out = np.full((n_boot, len(cols)), np.nan)
    if n_boot == 0 or not len(cols):
        return out
    U, rep_units = side.units(cols)
    if (~rep_units).any():
        out[:, ~rep_units] = stats.location_draws(side.X[:, cols[~rep_units]], n_boot, stats.rng(seed, name))
    kc = prep.kcols
    for j in np.flatnonzero(rep_units):
        key = side.keys[cols[j]]
        out[:, j] = stats.location_draws(U[:, [j]], n_boot, stats.rng(seed, name, kc["metric"][key], kc["param"][key]))[:, 0]
    return out


def pair(prep: Prepared, env, n_boot: int = stats.N_REPLICATES, seed: int = 0, keys=None,
         baseline: str | None = None) -> Pair:
    """The comparison of virtual environment ``env`` with its baseline (or with ``baseline``, e.g.
    the root of its chain), over the keys measured on both sides (restricted to ``keys`` if given;
    restricting does not change the draws)."""
    kc = prep.kcols
    base = baseline or env.baseline
    vs, bs = prep.sides[env.name], prep.sides[base]
    common = _wanted_keys(prep, np.intersect1d(vs.keys, bs.keys), keys)
    common = common[np.argsort(kc["rank"][common], kind="stable")]
    iv, ib = np.searchsorted(vs.keys, common), np.searchsorted(bs.keys, common)
    K = len(common)
    lower = kc["direction"][common] == catalogue.LOWER
    vm, bm = vs.center[iv], bs.center[ib]
    uv, ub = vs.n_units[iv], bs.n_units[ib]
    slowdown = ratio(vm, bm, lower)
    single = (uv < 2) | (ub < 2)

    dv, db = side_draws(prep, env.name, iv, n_boot, seed), side_draws(prep, base, ib, n_boot, seed)
    logR = np.where(lower, dv - db, db - dv)
    logR[:, single | np.isnan(slowdown)] = np.nan
    with np.errstate(over="ignore"):
        R = np.exp(logR)
    ci_low, ci_high = np.full(K, np.nan), np.full(K, np.nan)
    live = stats.finite_count(R) > 0
    if live.any():
        ci_low[live], ci_high[live] = stats.interval(R[:, live])
    sd_v, sd_b = stats.log_sd(vs.units(iv)[0]), stats.log_sd(bs.units(ib)[0])
    flat = live & (sd_v == 0) & (sd_b == 0)
    ci_level = np.where(live & ~flat, stats.CI_LEVEL, np.nan)
    zero_unit = ~single & ~live & ~np.isnan(slowdown)
    with np.errstate(invalid="ignore"):
        outside = live & ~flat & ((slowdown < ci_low) | (slowdown > ci_high))
    rep_v, rep_b = vs.rep_units[iv], bs.rep_units[ib]
    notes = _notes([
        (vs.repeated[iv] | bs.repeated[ib], f"printed more than once in a run: the run's {prep.statistic} used"),
        (lower & (bm == 0) & (vm != 0) | ~lower & (vm == 0) & (bm != 0),
         np.where(lower, NOTE_ZERO_BASELINE, NOTE_ZERO_VIRTUAL)),
        ((vm == 0) & (bm == 0), NOTE_ZERO_BOTH),
        (single, NOTE_SINGLE_RUN),
        (zero_unit, NOTE_ZERO_UNIT),
        (flat, NOTE_FLAT),
        (outside, NOTE_OUTSIDE.format(statistic=prep.statistic)),
        (~single & (rep_v | rep_b), np.where(rep_v & rep_b, NOTE_REP_UNITS.format(sides="virtual and baseline", s="s"),
                                             np.where(rep_v, NOTE_REP_UNITS.format(sides="virtual", s=""),
                                                      NOTE_REP_UNITS.format(sides="baseline", s="")))),
    ])
    noisy = pd.array([_either(stats.noisy(a, int(m)), stats.noisy(b, int(n)))
                      for a, m, b, n in zip(sd_v, uv, sd_b, ub)], dtype="boolean")
    cols = {
        "environment": np.full(K, env.name, object), "baseline": np.full(K, base, object),
        "technology": np.full(K, env.technology, object),
        "metric": kc["metric"][common], "param": kc["param"][common], "label": kc["label"][common],
        "category": kc["category"][common], "unit": kc["unit"][common], "direction": kc["direction"][common],
        "statistic": np.full(K, prep.statistic, object), "virtual_value": vm, "baseline_value": bm,
        "slowdown": slowdown, "ci_low": ci_low, "ci_high": ci_high, "ci_level": ci_level,
        "n_virtual": vs.n[iv].astype(np.int64), "n_baseline": bs.n[ib].astype(np.int64),
        "reps_virtual": vs.values[iv].astype(np.int64), "reps_baseline": bs.values[ib].astype(np.int64),
        "complete": (vs.n[iv] == len(vs.runs)) & (bs.n[ib] == len(bs.runs)),
        "cv_virtual": vs.cv[iv], "cv_baseline": bs.cv[ib], "noisy": noisy,
        "low_precision": vs.low_precision[iv] | bs.low_precision[ib], "note": notes,
    }
    with np.errstate(over="ignore"):
        return Pair(env, cols, logR, np.exp(dv), np.exp(db))


def _either(a, b):
    """Tri-state or: True if either is True, False if both are False, else unknown (None)."""
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


def _pairs(prep: Prepared, n_boot: int, seed: int, keys=None):
    """``pair`` for every virtual environment of the manifest, in manifest order."""
    check_runs(prep)
    for env in prep.manifest.virtual():
        yield pair(prep, env, n_boot, seed, keys)


def _overhead_frame(cols: list) -> pd.DataFrame:
    """One overhead frame from the pairs' column arrays (one DataFrame, not one per environment)."""
    if not cols:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in OVERHEAD_COLUMNS})
        for c in ("virtual_value", "baseline_value", "slowdown", "ci_low", "ci_high", "ci_level", "cv_virtual",
                  "cv_baseline"):
            df[c] = df[c].astype(float)
        for c in ("n_virtual", "n_baseline", "reps_virtual", "reps_baseline"):
            df[c] = df[c].astype(np.int64)
        for c in ("complete", "low_precision"):
            df[c] = df[c].astype(bool)
        df["noisy"] = df["noisy"].astype("boolean")
        return df
    df = pd.DataFrame({c: (pd.array(np.concatenate([np.asarray(d[c], dtype=object) for d in cols]), dtype="boolean")
                           if c == "noisy" else np.concatenate([d[c] for d in cols])) for c in OVERHEAD_COLUMNS},
                      columns=list(OVERHEAD_COLUMNS))
    for c in _TEXT_OVERHEAD:
        df[c] = df[c].astype(str)
    return df


def overhead(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, n_boot: int = stats.N_REPLICATES,
             seed: int = 0, statistic: str = "median") -> pd.DataFrame:
    """Slowdown of every virtual environment against its baseline, per metric and param (``OVERHEAD_COLUMNS``).

    ``ci_low``/``ci_high`` are the 2.5/97.5 percentiles of this key's ``joint_replicates`` (same
    ``n_boot`` and ``seed``), ``ci_level`` the coverage they claim (0.95), NaN where there is no
    interval or it is not a confidence interval (``note`` says why). NormaliseError if a virtual
    environment or its baseline has no runs.
    """
    prep = prepare(tidy, manifest, statistic)
    return _overhead_frame([p.cols for p in _pairs(prep, n_boot, seed) if len(p.cols["metric"])])


def joint_replicates(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, keys=None,
                     n_boot: int = stats.N_REPLICATES, seed: int = 0, statistic: str = "median") -> pd.DataFrame:
    """The joint replicates of the slowdowns (``REPLICATE_COLUMNS``), long-form (``vizlib.stats``), with
    the draws of each side's value behind each (``virtual``, ``baseline``, in the metric's unit).

    ``keys`` restricts to (metric, param) pairs (param None: the representative param measured on
    both sides). A key without an interval (a single run on a side, a zero value) has NaN
    replicates. Memory is n_boot rows per key and environment: restrict ``keys`` on a large fleet.
    """
    prep = prepare(tidy, manifest, statistic)
    parts = []
    for p in _pairs(prep, n_boot, seed, keys=None if keys is None else list(keys)):
        K = len(p.cols["metric"])
        if K:
            parts.append((np.full(K * n_boot, p.env.name, object), np.repeat(p.cols["metric"], n_boot),
                          np.repeat(p.cols["param"], n_boot), np.tile(np.arange(n_boot, dtype=np.int64), K),
                          p.replicates.T.ravel(), p.virtual_draws.T.ravel(), p.baseline_draws.T.ravel()))
    if not parts:
        return pd.DataFrame({"environment": pd.Series(dtype=str), "metric": pd.Series(dtype=str),
                             "param": pd.Series(dtype=str), "replicate": pd.Series(dtype=np.int64),
                             "slowdown": pd.Series(dtype=float), "virtual": pd.Series(dtype=float),
                             "baseline": pd.Series(dtype=float)})
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


def roots(manifest: manifest_mod.Manifest) -> dict:
    """environment -> the physical root of its chain of baselines (what ``categories.group_params`` groups by)."""
    return {name: manifest.root(name) for name in manifest.environments}


def chain_table(prep: Prepared, summary: pd.DataFrame, n_boot: int = stats.N_REPLICATES, seed: int = 0) -> pd.DataFrame:
    """Environments whose baseline is virtual, per category representative: every step of the chain
    to the physical root and their product (``CHAIN_COLUMNS``).

    The product's interval comes from the product of the steps' joint replicates: an intermediate
    environment's draws are the same in the two steps it takes part in, so its own spread cancels as
    its values do, and the interval is that of the environment against the root.
    """
    man = prep.manifest
    rows = []
    reps = summary[summary["view"] == "representative"]
    for env in man.virtual():
        path = man.chain(env.name)
        if len(path) < 3:
            continue
        mine = reps[reps["environment"] == env.name]
        keys = [(m, p) for m, p in zip(mine["metric"], mine["param"]) if m]
        steps = [pair(prep, man.environments[a], n_boot, seed, keys=keys, baseline=b) for a, b in zip(path, path[1:])]
        index = [{(m, p): j for j, (m, p) in enumerate(zip(st.cols["metric"], st.cols["param"]))} for st in steps]
        for r in mine.itertuples(index=False):
            where = [ix.get((r.metric, r.param)) for ix in index]
            if any(j is None for j in where):
                rows.append((env.name, path[-1], " > ".join(path), r.category, r.metric, r.param, "", np.nan, np.nan,
                             np.nan, np.nan, f"{r.metric} {r.param} not measured at every step".strip()))
                continue
            values = [float(st.cols["slowdown"][j]) for st, j in zip(steps, where)]
            with np.errstate(over="ignore"):
                draws = np.exp(np.sum([st.log_replicates[:, j] for st, j in zip(steps, where)], axis=0))
            lo, hi = stats.interval(draws[:, None]) if n_boot and np.isfinite(draws).any() else (np.nan, np.nan)
            lo, hi = float(np.ravel(lo)[0]), float(np.ravel(hi)[0])
            level = stats.CI_LEVEL if np.isfinite(lo) and hi > lo else np.nan
            step_text = " \u00d7 ".join(f"{a}/{b} {v:.4g}" for a, b, v in zip(path, path[1:], values))
            rows.append((env.name, path[-1], " > ".join(path), r.category, r.metric, r.param, step_text,
                         float(np.prod(values)), lo, hi, level, "" if np.isfinite(lo) else "no interval at some step"))
    return pd.DataFrame(rows, columns=list(CHAIN_COLUMNS))


def normalise_all(tidy: pd.DataFrame, runs: pd.DataFrame, manifest: manifest_mod.Manifest,
                  n_boot: int = stats.N_REPLICATES, seed: int = 0,
                  representatives=categories.DEFAULT_REPRESENTATIVES, statistic: str = "median") -> dict:
    """Every normalisation table from one pass over the data, keyed as ``tables.ANALYSIS_FILES``.

    The category summary stacks the representative view (``representatives``) and the geomean
    view, whose intervals come from the same joint replicates as the slowdowns'.
    """
    prep = prepare(tidy, manifest, statistic)
    cols, geo = [], []
    for p in _pairs(prep, n_boot, seed):
        if len(p.cols["metric"]):
            cols.append(p.cols)
            geo.extend(categories.geomean_rows(p.cols, p.log_replicates))
    ov = _overhead_frame(cols)
    summary = pd.concat([categories.category_summary(ov, representatives, roots(manifest)),
                         categories.summary_frame(geo)], ignore_index=True)
    return {"overhead": ov, "missing_metrics": missing_metrics(prep), "sanity_checks": sanity.sanity_checks(prep, runs),
            "category_summary": summary, "chain": chain_table(prep, summary, n_boot, seed)}
