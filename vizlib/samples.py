"""Each environment's values as a runs x keys matrix: the samples every comparison starts from.

A *key* is a (metric, param) pair. ``prepare`` reduces the tidy table to one value per run and
key: a value printed more than once in one run (file) becomes the run's statistic of them
(median or mean, the ``statistic`` chosen for the whole analysis), so a run that printed more
weighs no more. Repetitions are nested in runs: the run-to-run units are the runs, and only when
an environment has a single run are its repetitions used instead. The rest of the analysis works
on these matrices.

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
from .errors import NormaliseError, UsageError


STATISTICS = ("median", "mean")  # how each side's runs become one value


@dataclass
class Side:
    """One environment's samples of every key (metric, param).

    ``X`` holds one value per run (file) and key: the run's own statistic of what it printed for
    the key (most runs print a key once). The *units* of run-to-run statistics are the runs that
    hold the key; a key held by a single run that printed it several times (a wrapper's
    ``Run 1: ...`` lines, say) has that run's repetitions as units instead (``rep_units``), which
    describe within-session spread only. ``R`` holds those repetitions.
    """

    name: str
    runs: np.ndarray  # run names, sorted
    keys: np.ndarray  # global key codes, sorted
    X: np.ndarray  # (n_runs, n_keys) per-run statistic, NaN where a run lacks a key
    n: np.ndarray  # runs holding each key
    values: np.ndarray  # values printed for each key, all runs together (repetitions)
    center: np.ndarray  # the statistic over runs (over repetitions for a key of a single run)
    R: np.ndarray  # (max repetitions, n_keys) the repetitions of keys held by one run, NaN elsewhere
    rep_units: np.ndarray  # (n_keys,) the key's units are repetitions, not runs
    n_units: np.ndarray  # units of each key (runs, or repetitions where rep_units)
    cv: np.ndarray  # std/mean of the units, NaN with fewer than two
    low_precision: np.ndarray  # any contributing value flagged
    repeated: np.ndarray  # some run printed the key more than once

    def units(self, cols) -> tuple[np.ndarray, np.ndarray]:
        """(units x len(cols) matrix, rep_units) for key positions ``cols``: runs or repetitions."""
        cols = np.asarray(cols, dtype=np.intp)
        ru = self.rep_units[cols]
        if not ru.any():
            return self.X[:, cols], ru
        rows = max(self.X.shape[0], self.R.shape[0])
        U = np.full((rows, len(cols)), np.nan)
        U[: self.X.shape[0], ~ru] = self.X[:, cols[~ru]]
        U[: self.R.shape[0], ru] = self.R[:, cols[ru]]
        return U, ru


@dataclass
class Prepared:
    keys: pd.DataFrame  # by global key code: metric, param, label, category, unit, direction, rank
    sides: dict  # environment name -> Side
    manifest: manifest_mod.Manifest
    kcols: dict  # the key table as plain arrays, for per-pair lookups without pandas indexing
    statistic: str = "median"


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


def prepare(tidy: pd.DataFrame, man: manifest_mod.Manifest, statistic: str = "median") -> Prepared:
    """Reduce the tidy table to one value per run and key, then split it by environment.

    Everything runs on small integer codes (categorical codes or factorized text) and one sort by
    environment; the rest is done per environment, so a fleet's table of millions of rows costs a
    few passes over compact arrays, never a Python step per value or a copy of the table.
    """
    if statistic not in STATISTICS:
        raise UsageError(f"statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    names = list(man.environments)
    index = {name: i for i, name in enumerate(names)}
    col = tidy["environment"]
    present = col.cat.categories[col.cat.codes.unique()[col.cat.codes.unique() >= 0]] \
        if isinstance(col.dtype, pd.CategoricalDtype) else pd.unique(col)
    unknown = sorted(str(e) for e in present if e not in index)
    if unknown:
        raise NormaliseError(f"the tidy table has environment(s) {', '.join(map(repr, unknown))} that the manifest "
                             f"{man.path} does not name: ingest and normalise with the same raw folder")
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
            sides[name] = _make_side(name, run_c[rows], run_u, key_c[rows], value[rows], lp[rows], statistic)
    kcols = {c: keys[c].to_numpy(dtype=np.int64 if c == "rank" else object) for c in keys}
    return Prepared(keys, sides, man, kcols, statistic)


def _make_side(name: str, run: np.ndarray, run_names: np.ndarray, key: np.ndarray, value: np.ndarray,
               lp: np.ndarray, statistic: str) -> Side:
    """One environment's rows -> its runs x keys matrix (the run's ``statistic`` where it printed a
    key more than once) and the repetitions of keys held by a single run."""
    runs_u, ri = np.unique(run, return_inverse=True)
    keys_u, ki = np.unique(key, return_inverse=True)
    n_runs, K = len(runs_u), len(keys_u)
    cell = ri.astype(np.int64) * K + ki
    counts = np.bincount(cell, minlength=n_runs * K)
    rep = np.zeros(K, bool)
    values = np.bincount(ki, minlength=K)
    raw_ki, raw_value = ki, value
    if counts.max() > 1:
        agg = (pd.DataFrame({"cell": cell, "value": value, "lp": lp})
               .groupby("cell", sort=True).agg(value=("value", statistic), lp=("lp", "max"), k=("value", "size")))
        cell, value, lp = agg.index.to_numpy(), agg["value"].to_numpy(), agg["lp"].to_numpy(bool)
        rep[np.unique(cell[agg["k"].to_numpy() > 1] % K)] = True
        ri, ki = cell // K, cell % K
    X = np.full((n_runs, K), np.nan)
    X[ri, ki] = value
    n = np.bincount(ki, minlength=K)
    rep_units = (n == 1) & (values >= 2)  # one run holds the key, and printed it more than once
    R = np.full((int(values[rep_units].max()) if rep_units.any() else 0, K), np.nan)
    if rep_units.any():  # the repetitions, in file order
        pick = np.flatnonzero(rep_units[raw_ki])
        order = pick[np.argsort(raw_ki[pick], kind="stable")]
        ks = raw_ki[order]
        R[np.arange(len(ks)) - np.searchsorted(ks, ks), ks] = raw_value[order]
    n_units = np.where(rep_units, values, n)
    side = Side(name=name, runs=np.asarray(run_names, dtype=object)[runs_u], keys=keys_u.astype(np.int64), X=X, n=n,
                values=values, center=_center(X, statistic), R=R, rep_units=rep_units, n_units=n_units,
                cv=np.full(K, np.nan), low_precision=np.bincount(ki, weights=lp, minlength=K) > 0, repeated=rep)
    U, _ = side.units(np.arange(K))
    side.cv = _cv(U, n_units)
    return side


def _center(X: np.ndarray, statistic: str) -> np.ndarray:
    if X.shape[0] == 1:
        return X[0].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(X, axis=0) if statistic == "median" else np.nanmean(X, axis=0)


def _cv(U: np.ndarray, n: np.ndarray) -> np.ndarray:
    """std (ddof=1) / mean across units; NaN with fewer than two units or a zero mean."""
    if U.shape[0] < 2:
        return np.full(U.shape[1], np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(U, axis=0)
        std = np.nanstd(U, axis=0, ddof=1)
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
