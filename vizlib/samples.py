"""Each environment's values as a runs x keys matrix: the samples every comparison starts from.

A *key* is a (metric, param) pair. ``prepare`` reduces the tidy table to one value per run and
key: a value printed more than once in one run (file) becomes its within-run median, so a run
that printed more weighs no more. The rest of the analysis works on these matrices.

Scale: everything runs on integer codes of the tidy table's text columns (no Python step per
value), so the 10,000-file benchmark fleet's 6 million values take a few seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import catalogue
from . import manifest as manifest_mod
from .errors import NormaliseError


@dataclass
class Side:
    """One environment: its per-run values as a runs x keys matrix (NaN where a run lacks a key)."""

    name: str
    runs: np.ndarray  # run names, sorted
    keys: np.ndarray  # global key codes, sorted
    X: np.ndarray  # (n_runs, n_keys) per-run values
    n: np.ndarray  # runs holding each key
    median: np.ndarray
    cv: np.ndarray
    low_precision: np.ndarray  # any contributing value flagged
    repeated: np.ndarray  # some run printed the key more than once


@dataclass
class Prepared:
    keys: pd.DataFrame  # by global key code: metric, param, label, category, unit, direction, rank
    sides: dict  # environment name -> Side
    manifest: manifest_mod.Manifest
    kcols: dict  # the key table as plain arrays, for per-pair lookups without pandas indexing


def _key_rank(keys: pd.DataFrame) -> np.ndarray:
    """Display order of keys: category (catalogue order), metric, then param numerically."""
    cat = keys["category"].map({c: i for i, c in enumerate(catalogue.CATEGORIES)}).fillna(len(catalogue.CATEGORIES))
    num = pd.to_numeric(keys["param"], errors="coerce").fillna(np.inf)
    order = np.lexsort((keys["param"].to_numpy(), num.to_numpy(), keys["metric"].to_numpy(), cat.to_numpy()))
    rank = np.empty(len(keys), np.int64)
    rank[order] = np.arange(len(keys))
    return rank


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (int32) of a text column and its uniques in sorted order; for a categorical the
    codes are remapped, not recomputed, so a fleet's table costs one small lookup per row."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = np.asarray(col.cat.categories.astype(str), dtype=object)
        srt = np.argsort(cats, kind="stable")
        remap = np.empty(len(cats) + 1, np.int32)
        remap[srt] = np.arange(len(cats))
        remap[-1] = -1
        return remap[col.cat.codes.to_numpy()], cats[srt]
    codes, uniques = pd.factorize(col, sort=True)
    return codes.astype(np.int32), np.asarray(uniques, dtype=object)


def _per_value(col: pd.Series, fn, default, dtype) -> np.ndarray:
    """``fn`` applied to the distinct values of a column only, then spread back to the rows."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes, uniques = col.cat.codes.to_numpy(), list(col.cat.categories)
    else:
        codes, uniques = pd.factorize(col)
        uniques = list(uniques)
    table = np.append(np.asarray(fn(uniques), dtype=dtype), np.asarray(default, dtype=dtype))
    return table[codes]  # code -1 (missing) picks the default at the end


def _key_table(metrics: np.ndarray, params: np.ndarray, tidy: pd.DataFrame, key_rows) -> pd.DataFrame:
    """metric, param, label, category, unit, direction and display rank of every key; the
    attributes come from the catalogue (which ingest wrote them from), else from a row of the key."""
    attrs = {}
    for m in pd.unique(metrics):
        try:
            c = catalogue.get(m)
            attrs[m] = (c.label, c.category, c.unit, c.direction)
        except KeyError:
            attrs[m] = None
    missing = [i for i, m in enumerate(metrics) if attrs[m] is None]
    rows = key_rows(missing) if missing else {}
    table = []
    for i, m in enumerate(metrics):
        if attrs[m] is not None:
            table.append(attrs[m])
        else:
            r = rows[i]
            table.append((m, str(tidy["category"].iloc[r]), str(tidy["unit"].iloc[r]), str(tidy["direction"].iloc[r])))
    keys = pd.DataFrame(table, columns=["label", "category", "unit", "direction"])
    keys.insert(0, "param", np.asarray(params, dtype=object).astype(str))
    keys.insert(0, "metric", np.asarray(metrics, dtype=object).astype(str))
    keys["rank"] = _key_rank(keys)
    return keys


def prepare(tidy: pd.DataFrame, man: manifest_mod.Manifest) -> Prepared:
    """Reduce the tidy table to one value per run and key, then split it by environment.

    Everything runs on small integer codes (categorical codes or factorized text) and one sort by
    environment; the rest is done per environment, so a fleet's table of millions of rows costs a
    few passes over compact arrays, never a Python step per value or a copy of the table.
    """
    names = list(man.environments)
    index = {name: i for i, name in enumerate(names)}
    env = _per_value(tidy["environment"], lambda u: [index.get(x, -1) for x in u], -1, np.int32)
    run_c, run_u = _codes(tidy["run"])
    metric_c, metric_u = _codes(tidy["metric"])
    param_c, param_u = _codes(tidy["param"])
    value = tidy["value"].to_numpy(np.float64, na_value=np.nan)
    lp_col = tidy["low_precision"]
    lp = lp_col.to_numpy(bool) if lp_col.dtype == bool else \
        _per_value(lp_col, lambda u: [str(x).lower() == "true" for x in u], False, bool)

    # keys: the (metric, param) combinations present, numbered in sorted order through a dense table
    n_param = max(1, len(param_u))
    combo = metric_c.astype(np.int64) * n_param + param_c
    present = np.zeros(max(1, len(metric_u)) * n_param, bool)
    present[combo[env >= 0]] = True
    key_of_combo = (np.cumsum(present) - 1).astype(np.int32)
    key_c = key_of_combo[combo]
    del combo
    combos = np.flatnonzero(present)
    n_keys = max(1, len(combos))

    def key_rows(which):
        want = np.zeros(n_keys, bool)
        want[which] = True
        hit = np.flatnonzero(want[key_c] & (env >= 0))
        first = {}
        for r in hit:  # only for keys the catalogue does not know: few rows
            first.setdefault(int(key_c[r]), int(r))
        return first

    keys = _key_table(np.asarray(metric_u, dtype=object)[combos // n_param],
                      np.asarray(param_u, dtype=object)[combos % n_param], tidy, key_rows)

    order = np.argsort(env, kind="stable")  # grouped by environment, row order kept within
    bounds = np.searchsorted(env, np.arange(len(names) + 1), sorter=order)
    sides = {}
    for e, name in enumerate(names):
        rows = order[bounds[e]:bounds[e + 1]]
        rows = rows[~np.isnan(value[rows])]
        if len(rows):
            sides[name] = _make_side(name, run_c[rows], run_u, key_c[rows], value[rows], lp[rows])
    kcols = {c: keys[c].to_numpy(dtype=np.int64 if c == "rank" else object) for c in keys}
    return Prepared(keys, sides, man, kcols)


def _make_side(name: str, run: np.ndarray, run_names: np.ndarray, key: np.ndarray, value: np.ndarray,
               lp: np.ndarray) -> Side:
    """One environment's rows -> its runs x keys matrix, with the within-run median where a run
    printed a key more than once."""
    runs_u, ri = np.unique(run, return_inverse=True)
    keys_u, ki = np.unique(key, return_inverse=True)
    R, K = len(runs_u), len(keys_u)
    cell = ri.astype(np.int64) * K + ki
    counts = np.bincount(cell, minlength=R * K)
    rep = np.zeros(K, bool)
    if counts.max() > 1:
        agg = (pd.DataFrame({"cell": cell, "value": value, "lp": lp})
               .groupby("cell", sort=True).agg(value=("value", "median"), lp=("lp", "max"), k=("value", "size")))
        cell, value, lp = agg.index.to_numpy(), agg["value"].to_numpy(), agg["lp"].to_numpy(bool)
        rep[np.unique(cell[agg["k"].to_numpy() > 1] % K)] = True
        ri, ki = cell // K, cell % K
    X = np.full((R, K), np.nan)
    X[ri, ki] = value
    n = np.bincount(ki, minlength=K)
    return Side(name=name, runs=np.asarray(run_names, dtype=object)[runs_u], keys=keys_u.astype(np.int64), X=X,
                 n=n, median=_nanmedian(X), cv=_cv(X, n),
                 low_precision=np.bincount(ki, weights=lp, minlength=K) > 0, repeated=rep)


def _nanmedian(X: np.ndarray) -> np.ndarray:
    if X.shape[0] == 1:
        return X[0].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(X, axis=0)


def _cv(X: np.ndarray, n: np.ndarray) -> np.ndarray:
    """std (ddof=1) / mean across runs; NaN with fewer than two runs or a zero mean."""
    if X.shape[0] < 2:
        return np.full(X.shape[1], np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(X, axis=0)
        std = np.nanstd(X, axis=0, ddof=1)
        cv = std / np.abs(mean)
    return np.where((n >= 2) & (mean != 0), cv, np.nan)


def check_runs(prep: Prepared) -> None:
    """NormaliseError for a virtual environment, or its baseline, with no runs in the tidy table."""
    for env in prep.manifest.virtual():
        if env.name not in prep.sides:
            raise NormaliseError(f"virtual environment {env.name!r} has no runs in the tidy table "
                                 f"(baseline {env.baseline!r}); ingest its folder or remove it from the manifest")
        if env.baseline not in prep.sides:
            raise NormaliseError(f"baseline {env.baseline!r} of virtual environment {env.name!r} has no runs "
                                 "in the tidy table; ingest the baseline's runs first")
