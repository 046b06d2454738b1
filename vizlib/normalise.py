"""Baseline-matched normalisation: every virtual environment against its own physical baseline.

The source compares each virtual environment only with the physical host that runs the matching
kernel (RHEL with Xen and OpenVZ, Fedora with KVM), so every function here pairs an environment
with the ``baseline`` its manifest names and never with any other physical environment.

Numbers are built in two steps so a run that printed more values does not weigh more: values of a
metric+param printed more than once in one run (file) are reduced to their median within the run,
then the median over runs is taken on each side. ``slowdown`` is oriented so that > 1 always means
the virtual environment is worse (virtual/baseline for lower-is-better metrics, baseline/virtual
for higher-is-better ones); ratios below 1 are kept as they are.

Run-to-run uncertainty comes from a percentile bootstrap over runs. It is *joint*: for replicate b
one resample of a virtual environment's runs and one resample of its baseline's runs are used for
every metric, so any function of several slowdowns (a weighted sum over categories, a geometric
mean) has a valid interval when computed replicate by replicate. ``overhead()`` reports exactly
the 2.5/97.5 percentiles of the replicates ``bootstrap_replicates()`` returns. Draws come from
generators seeded by (seed, role, environment name), so they do not depend on which other
environments or metrics are in the call, and outputs are byte-for-byte reproducible.

Scale: everything is array code over integer codes of the tidy table (no Python step per value).
The resampled medians are exact but never materialise a resample (see ``_resampled_medians``);
with a handful of runs per side only the few distinct resamples are computed and statistics are
weighted by how many replicates drew each. Environments are processed grouped by baseline by a
few threads, so memory holds one baseline's replicates and one pair per thread: the 10,000-file
benchmark fleet (6.2 million values, 80 virtual environments of 100 runs) takes about 3 s to load
and 8 s for ``overhead()`` on 2 cores, and the process stays under 600 MB.

Tables, all tidy long-form DataFrames:

- ``overhead()``: one row per virtual environment, metric and param present on both sides
  (``OVERHEAD_COLUMNS``);
- ``missing_metrics()``: metric+param measured on one side only (``MISSING_COLUMNS``);
- ``sanity_checks()``: CPU-only items and header metadata of the two sides (``SANITY_COLUMNS``);
- ``category_summary()`` / ``category_geomean()``: one number per OS-operation category
  (``SUMMARY_COLUMNS``);
- ``bootstrap_replicates()``: the joint replicates (``REPLICATE_COLUMNS``).
"""

from __future__ import annotations

import math
import os
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic, catalogue
from . import manifest as manifest_mod
from .ingest import RUNS, TIDY

# A run-to-run coefficient of variation above 10% on either side marks a slowdown as noisy. lmbench
# repeats each measurement internally and reports its best or median, so repeated runs on a quiet
# machine agree within a few percent (the shipped lab runs: mostly below 5%); a spread above 10%
# means the environment was disturbed (other guests, frequency scaling, a cold cache) and a
# difference of that size between environments cannot be told from noise.
NOISY_CV = 0.10

# CPU-only lmbench items (integer operations) involve no kernel and no device: any virtualization
# that runs guest code natively should reproduce them within a few percent. A median |log ratio|
# above log(1 + 15%) over these items points to a different clock frequency or CPU model between
# the two sides, which would bias every other ratio, and is flagged.
CPU_MISMATCH = 0.15
CPU_CHECK_METRICS = ("int_bit", "int_add", "int_mul", "int_div", "int_mod")
EMULATED_TECHNOLOGIES = ("qemu-tcg",)  # CPU work is emulated: a CPU mismatch is the point
HEADER_COLUMNS = ("mhz", "processors", "kernel_release", "lmbench_version", "mb")

N_BOOT = 2000
CI_PERCENTILES = (2.5, 97.5)

OVERHEAD = "overhead.csv"
MISSING = "missing_metrics.csv"
SANITY = "sanity_checks.csv"
SUMMARY = "category_summary.csv"
# normalise_all() table key -> file name in the processed folder
TABLE_FILES = {"overhead": OVERHEAD, "missing_metrics": MISSING, "sanity_checks": SANITY, "category_summary": SUMMARY}

OVERHEAD_COLUMNS = ("environment", "baseline", "technology", "metric", "param", "label", "category", "unit",
                    "direction", "virtual_median", "baseline_median", "slowdown", "ci_low", "ci_high",
                    "n_virtual", "n_baseline", "cv_virtual", "cv_baseline", "noisy", "low_precision", "note")
MISSING_COLUMNS = ("environment", "baseline", "metric", "param", "present_in")
SANITY_COLUMNS = ("environment", "baseline", "check", "status", "detail")
SUMMARY_COLUMNS = ("environment", "baseline", "technology", "category", "metric", "param", "slowdown",
                   "ci_low", "ci_high", "n_virtual", "n_baseline", "noisy", "view")
REPLICATE_COLUMNS = ("environment", "metric", "param", "replicate", "slowdown")
REPRESENTATIVE_COLUMNS = ("environment", "category", "metric", "param")

# The source's four items (one per OS operation) plus the null system call for the kernel.
# param None: the largest size measured on both sides (lmbench's own summary takes the largest).
DEFAULT_REPRESENTATIVES = {
    "cpu": ("int_bit", ""),
    "memory": ("pagefault", ""),
    "disk": ("mmap_latency", None),
    "network": ("tcp_latency", ""),
    "kernel": ("syscall_null", ""),
}

NOTE_SINGLE_RUN = "single run: no interval"
NOTE_ZERO_BASELINE = "baseline median is zero: no ratio"
NOTE_ZERO_VIRTUAL = "virtual median is zero: no ratio"
NOTE_ZERO_BOTH = "both medians are zero: no ratio"
NOTE_ZERO_RESAMPLE = "interval undefined: a resampled median is zero"
NOTE_REPEATED = "printed more than once in a run: within-run median used"


class NormaliseError(ValueError):
    """The tidy table cannot be normalised against the manifest (an environment has no runs)."""


# --- loading -------------------------------------------------------------------------------------

TEXT_COLUMNS = ("environment", "run", "metric", "param", "unit", "category", "direction", "note")
_LOAD_CHUNK_ROWS = 500_000


def load_tidy(processed_dir) -> pd.DataFrame:
    """``lmbench_tidy.csv`` with text kept as printed (param "" stays "", "67.108864" stays text,
    never NaN or a float), value as float and low_precision as bool.

    Text columns are categoricals of str: a fleet's table repeats a few hundred distinct strings
    millions of times, and one Python string per cell would take gigabytes (6 million rows for
    10,000 files). They compare, filter and group like str columns (``tidy["param"] == ""``,
    ``.isin``, ``.str``); ``.astype(str)`` gives plain strings.
    """
    path = Path(processed_dir) / TIDY
    header = list(pd.read_csv(path, nrows=0).columns)
    text = [c for c in (*TEXT_COLUMNS, "low_precision") if c in header]
    # read in chunks: the parser's working memory stays that of one chunk, not of the whole file
    chunks = list(pd.read_csv(path, dtype={c: "category" for c in text}, keep_default_na=False,
                              na_values={"value": ["", "nan", "NaN"]}, chunksize=_LOAD_CHUNK_ROWS))
    if len(chunks) == 1:
        df = chunks[0]
    elif not chunks:
        df = pd.read_csv(path, dtype={c: "category" for c in text}, keep_default_na=False)
    else:
        data = {}
        for c in header:
            parts = [ch.pop(c) for ch in chunks]
            data[c] = (pd.api.types.union_categoricals(parts, sort_categories=True) if c in text
                       else np.concatenate([p.to_numpy() for p in parts]))
        df = pd.DataFrame(data, columns=header)
        del chunks
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    lp = df["low_precision"]
    flags = np.asarray(lp.cat.categories.astype(str).str.lower() == "true", bool)
    df["low_precision"] = flags[lp.cat.codes.to_numpy()] if len(flags) else np.zeros(len(df), bool)
    return df


def load_runs(processed_dir) -> pd.DataFrame:
    """``lmbench_runs.csv`` with header metadata kept as text ("" when lmbench did not record it)."""
    df = pd.read_csv(Path(processed_dir) / RUNS, dtype=str, keep_default_na=False)
    for col in ("bytes", "values", "noise_lines", "unknown_lines", "invalid_lines"):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(np.int64)
    return df


# --- per-environment run matrices ----------------------------------------------------------------

@dataclass
class _Side:
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
class _Prepared:
    keys: pd.DataFrame  # by global key code: metric, param, label, category, unit, direction, rank
    sides: dict  # environment name -> _Side
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


def _prepare(tidy: pd.DataFrame, man: manifest_mod.Manifest) -> _Prepared:
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
    return _Prepared(keys, sides, man, kcols)


def _make_side(name: str, run: np.ndarray, run_names: np.ndarray, key: np.ndarray, value: np.ndarray,
               lp: np.ndarray) -> _Side:
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
    return _Side(name=name, runs=np.asarray(run_names, dtype=object)[runs_u], keys=keys_u.astype(np.int64), X=X,
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


def _check_runs(prep: _Prepared) -> None:
    """NormaliseError for a virtual environment, or its baseline, with no runs in the tidy table."""
    for env in prep.manifest.virtual():
        if env.name not in prep.sides:
            raise NormaliseError(f"virtual environment {env.name!r} has no runs in the tidy table "
                                 f"(baseline {env.baseline!r}); ingest its folder or remove it from the manifest")
        if env.baseline not in prep.sides:
            raise NormaliseError(f"baseline {env.baseline!r} of virtual environment {env.name!r} has no runs "
                                 "in the tidy table; ingest the baseline's runs first")


# --- the bootstrap -------------------------------------------------------------------------------

def _rng(seed: int, role: int, name: str) -> np.random.Generator:
    """One generator per (seed, role, environment): draws do not depend on the rest of the call."""
    return np.random.default_rng([int(seed), role, zlib.crc32(name.encode("utf-8"))])


def _draw_counts(n_runs: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_runs) how often each run is drawn in each resample (n_runs draws with replacement)."""
    idx = rng.integers(0, n_runs, size=(n_boot, n_runs))
    flat = (idx + (np.arange(n_boot, dtype=np.int64) * n_runs)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_runs).reshape(n_boot, n_runs)


# Half-width of the walked window in binomial spreads (sqrt(n)/2 positions each): 3 spreads leave
# about 3 crossings in 1000 outside, which are recomputed exactly.
_WINDOW_SPREADS = 3.0


def _resampled_medians(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Median of every column of X (NaN = missing) in every resample; C[b, i] = draws of row i.

    Exact, without materialising the resamples. Per column the rows are sorted once; the median of
    resample b is the sorted value at which the running count of draws first reaches half the
    drawn (non-missing) values. That crossing lies within about sqrt(n)/2 positions of the middle
    (binomial spread), so only a window of 1.5*sqrt(n) positions each side of the middle is walked
    (every position up to 64 runs): the running count just below the window comes from one matrix
    product (indicator(rank < window start) @ counts), then the window is walked position by
    position for all resamples and columns at once, on small integers, in blocks small enough to
    stay in cache. The few crossings outside the window (about 3 in 1000) are recomputed over all
    positions. With an even number of drawn values the two middle ones are averaged, as
    ``numpy.median`` does. Returns (n_boot, n_columns). Cost: about n_boot x columns x
    3*sqrt(n) small-integer operations, instead of n_boot x columns x n for sorting resamples.
    """
    n, K = X.shape
    B = C.shape[0]
    if n == 0 or K == 0 or B == 0:
        return np.full((B, K), np.nan)
    order = np.argsort(X, axis=0, kind="stable")  # NaN last
    XsT = np.ascontiguousarray(np.take_along_axis(X, order, axis=0).T)  # (K, n) sorted values
    valid = ~np.isnan(X)
    complete = bool(valid.all())
    # laid out (column, resample) from here: the walk then copies contiguous rows
    CfT = np.ascontiguousarray(C.T, dtype=np.float32)  # (n, B); sums of counts < 2**24 are exact
    small = np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int64
    CsT = CfT.astype(small)
    if complete:  # every resample draws n values of every column
        T = None
        h1, h2 = small((n + 1) // 2), small(n // 2 + 1)
    else:
        T = np.rint(valid.T.astype(np.float32) @ CfT).astype(np.int32)  # (K, B) values drawn
        h1, h2 = ((T + 1) >> 1).astype(small), ((T >> 1) + 1).astype(small)
        empty = bool((T == 0).any())  # some resample drew no value of some column

    half = int(math.ceil(_WINDOW_SPREADS / 2 * math.sqrt(n))) + 1
    mid = (valid.sum(axis=0) - 1) // 2
    if n <= 64:  # walking every position is cheaper than the matrix product that skips some
        lo, width = np.zeros(K, np.int64), n
    else:
        lo = np.maximum(0, mid - half)
        width = int(min(n, (np.minimum(n - 1, mid + half) - lo).max() + 1))
    whole = bool((lo == 0).all()) and width == n  # the window is every position: no crossing outside
    if whole:
        below = np.zeros((K, B), small)
    else:
        rank = np.empty((n, K), np.int64)
        rank[order, np.arange(K)[None, :]] = np.arange(n)[:, None]
        below = np.rint((rank < lo[None, :]).T.astype(np.float32) @ CfT).astype(small)  # draws before the window
    runs_at = order[np.minimum(lo[None, :] + np.arange(width)[:, None], n - 1), np.arange(K)[None, :]]
    lo_col = (lo + np.arange(K) * n)[:, None].astype(np.intp)  # flat index of the window start in XsT
    XsT_flat = XsT.ravel()

    # The walk tracks (running count - h1) and compares it with 0, so the targets are not read at
    # every step: j1 = first position where it reaches 0; with an even count (h2 = h1 + 1) the
    # second middle value lies as many positions further as the count stays exactly at 0.
    wide = small  # (count - h1) lies in [-n/2 - 1, n]: the type that holds n holds it
    d = h2 - h1  # 0 or 1
    even = bool(np.any(d))
    out = np.empty((B, K))
    misses = []
    block = max(1, min(B, 65536 // K))
    for b0 in range(0, B, block):
        b1 = min(B, b0 + block)
        Cb = np.ascontiguousarray(CsT[:, b0:b1], dtype=wide)
        acc = below[:, b0:b1].astype(wide)
        acc -= h1 if complete else h1[:, b0:b1]
        start = acc.copy() if not whole else None
        j1 = np.broadcast_to(lo_col, acc.shape).copy()
        z = np.zeros(acc.shape, np.intp) if even else None
        c1 = np.zeros(acc.shape, np.int8)  # int8 counters, flushed before they can overflow
        cz = np.zeros(acc.shape, np.int8)
        drawn = np.empty(acc.shape, wide)
        flag = np.empty(acc.shape, bool)
        flag8 = flag.view(np.int8)
        for t in range(width):
            np.take(Cb, runs_at[t], axis=0, out=drawn)
            np.add(acc, drawn, out=acc)
            np.less(acc, 0, out=flag)
            np.add(c1, flag8, out=c1)
            if even:
                np.equal(acc, 0, out=flag)
                np.add(cz, flag8, out=cz)
            if t % 127 == 126 or t == width - 1:
                j1 += c1
                c1[:] = 0
                if even:
                    z += cz
                    cz[:] = 0
        dz = d if complete else d[:, b0:b1]
        j2 = j1 + z * dz if even else j1.copy()
        if not whole:
            outside = (start >= 0) | (acc < dz)  # the crossing is outside the window
            if not complete and empty:
                outside &= T[:, b0:b1] > 0
            if outside.any():
                ki, bi = np.nonzero(outside)
                misses.append((ki, bi + b0))
        if not complete or misses:  # keep indices inside their column; those cells are redone below
            top = (np.arange(K) * n + n - 1)[:, None]
            np.minimum(j1, top, out=j1)
            np.minimum(j2, top, out=j2)
        v = np.take(XsT_flat, j1)
        v += np.take(XsT_flat, j2)
        v *= 0.5
        if not complete and empty:
            v[T[:, b0:b1] == 0] = np.nan
        out[b0:b1] = v.T

    for ki, bi in misses:  # exact, over all positions
        step = max(1, 4_000_000 // n)
        for f0 in range(0, len(bi), step):
            b_, k_ = bi[f0:f0 + step], ki[f0:f0 + step]
            cs = np.cumsum(CsT[order[:, k_].T, b_[:, None]], axis=1, dtype=np.int64)
            t1 = h1 if complete else h1[k_, b_][:, None]
            t2 = h2 if complete else h2[k_, b_][:, None]
            i1 = np.minimum((cs < t1).sum(axis=1), n - 1)
            i2 = np.minimum((cs < t2).sum(axis=1), n - 1)
            out[b_, k_] = 0.5 * (XsT[k_, i1] + XsT[k_, i2])
    return out


# --- pairs -------------------------------------------------------------------------------------

@dataclass
class _Pair:
    """One virtual environment against its baseline, with its joint replicates stored compactly.

    ``Mv``/``Mb`` hold the resampled medians of the distinct resamples of each side for the
    columns ``multi`` (keys with at least two runs on both sides); replicate b drew virtual resample
    ``pv[inverse[b]]`` and baseline resample ``pb[inverse[b]]``, and ``weights`` says how many
    replicates drew each (virtual, baseline) combination (None: each combination once). With a
    handful of runs per side there are only a few distinct resamples, so statistics are computed on
    those instead of on all n_boot replicates; with many runs nothing is saved and nothing lost.
    """

    env: manifest_mod.Environment
    keys: np.ndarray  # global key codes, display order
    cols: dict  # column name -> array, one entry per key (the overhead columns)
    n_boot: int = 0
    multi: np.ndarray | None = None  # columns with replicates
    dead: np.ndarray | None = None  # (K,) columns whose replicates are all undefined
    lower: np.ndarray | None = None  # (K,) lower is better
    Mv: np.ndarray | None = None  # (Uv, len(multi))
    Mb: np.ndarray | None = None  # (Ub, len(multi))
    base: "_Resampled | None" = None  # the baseline's resampled medians (shared), with cached logs
    bcols: np.ndarray | None = None  # columns of ``base`` that ``Mb`` holds
    pv: np.ndarray | None = None  # (P,)
    pb: np.ndarray | None = None  # (P,)
    weights: np.ndarray | None = None  # (P,) or None
    inverse: np.ndarray | None = None  # (n_boot,)

    def combos(self) -> np.ndarray:
        """(P, K) slowdowns of the distinct combinations, NaN where undefined."""
        K = len(self.keys)
        out = np.full((1 if self.pv is None else len(self.pv), K), np.nan)
        if self.pv is not None and len(self.multi):
            r = _ratio(self.Mv[self.pv], self.Mb[self.pb], self.lower[self.multi])
            r[:, self.dead[self.multi]] = np.nan
            out[:, self.multi] = r
        return out

    def reps(self) -> np.ndarray:
        """(n_boot, K) slowdown replicates in replicate order."""
        inverse = np.zeros(self.n_boot, np.int64) if self.inverse is None else self.inverse
        return self.combos()[inverse]

    def log_sums(self, W: np.ndarray) -> np.ndarray | None:
        """(P, C): per distinct combination, sum over keys of W[k, c] * log(slowdown replicate).

        log slowdown = sign * (log virtual - log baseline), so the sums split into one product per
        side and never need the (P, K) slowdowns. A category is undefined (NaN) in a combination
        where one of its keys has no defined replicate there.
        """
        if self.pv is None:
            return None
        K = len(self.keys)
        used = np.any(W != 0, axis=1)
        has = np.zeros(K, bool)
        has[self.multi] = True
        lacking = np.any(W[used & (~has | self.dead)] != 0, axis=0)  # categories using a key without replicates
        keep = np.flatnonzero(used[self.multi] & ~self.dead[self.multi])
        Wm = (W * np.where(self.lower, 1.0, -1.0)[:, None])[self.multi][keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            sv = _masked_log_sums(np.log(self.Mv if len(keep) == self.Mv.shape[1] else self.Mv[:, keep]), Wm)
        sb = _masked_log_sums(self.base.log()[:, self.bcols[keep]], Wm)
        out = sv[self.pv] - sb[self.pb]
        out[:, lacking] = np.nan
        return out


class _Resampled:
    """Resampled medians of one side (distinct resamples x columns) and which one each replicate drew."""

    def __init__(self, M: np.ndarray, inverse: np.ndarray):
        self.M, self.inverse, self._log = M, inverse, None

    def log(self) -> np.ndarray:
        if self._log is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                self._log = np.log(self.M)
        return self._log


def _thin_matmul(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """A @ W for a W with a handful of columns, one matrix-vector product per column (a threaded
    BLAS matrix product is many times slower at this shape)."""
    out = np.empty((A.shape[0], W.shape[1]))
    for c in range(W.shape[1]):
        out[:, c] = A @ W[:, c]
    return out


def _masked_log_sums(L: np.ndarray, W: np.ndarray) -> np.ndarray:
    """L @ W, but NaN where a non-finite log meets a non-zero weight (and 0 * inf stays 0)."""
    bad = ~np.isfinite(L)
    if not bad.any():
        return _thin_matmul(L, W)
    out = _thin_matmul(np.where(bad, 0.0, L), W)
    out[_thin_matmul(bad.astype(np.float64), (W != 0).astype(np.float64)) > 0] = np.nan
    return out


def _ratio(virtual, baseline, lower):
    """Slowdown oriented so > 1 means the virtual side is worse; NaN (never inf) for a zero divisor."""
    num = np.where(lower, virtual, baseline)
    den = np.where(lower, baseline, virtual)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / den
    return np.where(den == 0, np.nan, r)


def _resolve_keys(prep: _Prepared, vkeys: np.ndarray, bkeys: np.ndarray, wanted) -> np.ndarray:
    """Global key codes common to both sides, optionally restricted to ``wanted`` (metric, param) pairs.

    A param of None picks the numerically largest param of that metric measured on both sides.
    """
    common = np.intersect1d(vkeys, bkeys)
    if wanted is None:
        return common
    kt = prep.keys.iloc[common]
    chosen = []
    for metric, param in wanted:
        rows = kt[kt["metric"] == metric]
        if param is None:
            num = pd.to_numeric(rows["param"], errors="coerce")
            if num.notna().any():
                rows = rows[num == num.max()]
            rows = rows.sort_values("param").tail(1)
        else:
            rows = rows[rows["param"] == str(param)]
        chosen.extend(common[np.flatnonzero(kt.index.isin(rows.index))])
    return np.unique(np.asarray(chosen, np.int64))


def _distinct_resamples(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, inverse): a handful of runs has few distinct resamples, each done once."""
    B, n = counts.shape
    if B > 1 and 4 * math.comb(2 * n - 1, n) <= B:
        distinct, inverse = np.unique(counts, axis=0, return_inverse=True)
        return distinct, inverse.ravel()
    return counts, np.arange(B)


def _side_medians(side: _Side, cols, n_boot: int, seed: int, role: int, pool=None, parts: int = 1) -> _Resampled:
    """Resampled medians of ``side`` for columns ``cols`` (role 0 virtual, 1 baseline); with a
    thread ``pool`` the columns are split over its workers (columns are independent)."""
    counts = _draw_counts(len(side.runs), n_boot, _rng(seed, role, side.name))
    distinct, inverse = _distinct_resamples(counts)
    X = side.X[:, cols]
    if pool is None or parts < 2 or X.shape[1] < 64:
        return _Resampled(_resampled_medians(X, distinct), inverse)
    chunks = np.array_split(np.arange(X.shape[1]), parts)
    parts = list(pool.map(lambda c: _resampled_medians(X[:, c], distinct), chunks))
    return _Resampled(np.concatenate(parts, axis=1), inverse)


def _zero_columns(M: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Columns of resampled medians M with a zero in some resample; only a column whose runs
    include a zero can have one (values are never negative), so only those are scanned."""
    out = np.zeros(M.shape[1], bool)
    cand = np.flatnonzero((X == 0).any(axis=0) | (X < 0).any(axis=0))
    if len(cand):
        out[cand] = (M[:, cand] == 0).any(axis=0)
    return out


def _dense_codes(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values per column (K, L) padded with NaN, code of each entry (U, K))."""
    U, K = M.shape
    order = np.argsort(M, axis=0, kind="stable")
    S = np.take_along_axis(M, order, axis=0)
    new = np.ones((U, K), bool)
    new[1:] = S[1:] != S[:-1]
    code_sorted = np.cumsum(new, axis=0) - 1
    codes = np.empty((U, K), np.int64)
    cols = np.arange(K)[None, :]
    codes[order, cols] = code_sorted
    D = np.full((K, int(code_sorted[-1].max()) + 1), np.nan)
    D[np.broadcast_to(cols, (U, K)), code_sorted] = S
    return D, codes


def _pair_intervals(pair: _Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ci_low, ci_high, finite replicates) of the live replicate columns of ``pair``.

    Exactly ``numpy.nanpercentile`` over the n_boot replicates. With few distinct resamples on
    both sides each column's slowdown takes only (distinct virtual medians) x (distinct baseline
    medians) values, so the percentiles come from that small grid and its replicate counts.
    """
    alive = ~pair.dead[pair.multi]
    live = pair.multi[alive]
    if alive.all():
        Mv, Mb = pair.Mv, pair.Mb
    else:
        Mv, Mb = pair.Mv[:, alive], pair.Mb[:, alive]
    lower = pair.lower[live]
    if pair.weights is not None:
        Dv, Cv = _dense_codes(Mv)
        Db, Cb = _dense_codes(Mb)
        Lv, Lb = Dv.shape[1], Db.shape[1]
        if 4 * Lv * Lb <= len(pair.pv):
            K = len(live)
            cell = Cv[pair.pv] * Lb + Cb[pair.pb] + (np.arange(K) * (Lv * Lb))[None, :]
            hist = np.bincount(cell.ravel(), weights=np.repeat(pair.weights, K), minlength=K * Lv * Lb)
            grid = _ratio(Dv[:, :, None], Db[:, None, :], lower[:, None, None]).reshape(K, Lv * Lb)
            return _percentiles(grid.T, hist.reshape(K, Lv * Lb).T.astype(np.int64))
    identity = pair.weights is None and len(pair.pv) == len(Mv) == len(Mb)  # every replicate distinct
    r = _ratio_nonzero(Mv if identity else Mv[pair.pv], Mb if identity else Mb[pair.pb], lower)
    return _percentiles(r, pair.weights)


def _ratio_nonzero(virtual: np.ndarray, baseline: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``_ratio`` for (rows, keys) matrices known to have no zero divisor, without temporaries."""
    r = virtual / baseline
    higher = np.flatnonzero(~lower)
    if len(higher):
        r[:, higher] = baseline[:, higher] / virtual[:, higher]
    return r


def _make_pair(prep: _Prepared, env, n_boot: int, seed: int, keys, replicates: bool, base) -> _Pair:
    """The _Pair of one virtual environment. ``base()`` returns its baseline's shared resampled
    medians over all baseline columns (None: compute them for the needed columns only)."""
    kc = prep.kcols
    vs, bs = prep.sides[env.name], prep.sides[env.baseline]
    common = _resolve_keys(prep, vs.keys, bs.keys, keys)
    common = common[np.argsort(kc["rank"][common], kind="stable")]
    iv = np.searchsorted(vs.keys, common)
    ib = np.searchsorted(bs.keys, common)
    K = len(common)
    lower = kc["direction"][common] == catalogue.LOWER
    vm, bm = vs.median[iv], bs.median[ib]
    nv, nb = vs.n[iv], bs.n[ib]
    slowdown = _ratio(vm, bm, lower)
    single = (nv < 2) | (nb < 2)
    multi = np.flatnonzero(~single)

    pair = _Pair(env, common, {}, n_boot=n_boot, multi=multi, lower=lower)
    ci_low, ci_high = np.full(K, np.nan), np.full(K, np.nan)
    zero_rep = np.zeros(K, bool)
    finite = np.zeros(K, np.int64)
    if replicates and n_boot > 0 and len(multi):
        virt = _side_medians(vs, iv[multi], n_boot, seed, 0)
        if base is not None:
            pair.base, pair.bcols = base(), ib[multi]
        else:
            pair.base, pair.bcols = _side_medians(bs, ib[multi], n_boot, seed, 1), np.arange(len(multi))
        Mv, inv_v = virt.M, virt.inverse
        Mb, inv_b = pair.base.M[:, pair.bcols], pair.base.inverse
        combo, inverse, weights = np.unique(inv_v * len(Mb) + inv_b, return_inverse=True, return_counts=True)
        low_m = lower[multi]
        # a zero divisor in any replicate makes the ratio unbounded there: no interval at all
        zero_rep[multi] = ((_zero_columns(Mb, bs.X[:, ib[multi]]) & low_m)
                           | (_zero_columns(Mv, vs.X[:, iv[multi]]) & ~low_m))
        pair.dead = single | zero_rep | np.isnan(slowdown)
        pair.Mv, pair.Mb, pair.pv, pair.pb = Mv, Mb, combo // len(Mb), combo % len(Mb)
        pair.weights = None if len(combo) == n_boot else weights
        pair.inverse = inverse.ravel()
        live = multi[~pair.dead[multi]]
        if len(live):
            ci_low[live], ci_high[live], finite[live] = _pair_intervals(pair)
    else:
        pair.dead = np.ones(K, bool)
    partial = ~pair.dead & (finite > 0) & (finite < n_boot)
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
    pair.cols = {
        "environment": np.full(K, env.name, object), "baseline": np.full(K, env.baseline, object),
        "technology": np.full(K, env.technology, object),
        "metric": kc["metric"][common], "param": kc["param"][common], "label": kc["label"][common],
        "category": kc["category"][common], "unit": kc["unit"][common], "direction": kc["direction"][common],
        "virtual_median": vm, "baseline_median": bm, "slowdown": slowdown,
        "ci_low": ci_low, "ci_high": ci_high, "n_virtual": nv.astype(np.int64), "n_baseline": nb.astype(np.int64),
        "cv_virtual": cv_v, "cv_baseline": cv_b, "noisy": noisy,
        "low_precision": vs.low_precision[iv] | bs.low_precision[ib], "note": notes,
    }
    return pair


def default_jobs() -> int:
    """Worker threads for the bootstrap: the usable cores (numpy releases the GIL in the heavy loops)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _map_pairs(prep: _Prepared, fn, n_boot: int = N_BOOT, seed: int = 0, keys=None, replicates: bool = True,
               jobs: int | None = None) -> list:
    """``fn(pair)`` for every virtual environment of the manifest, results in manifest order.

    Environments are processed grouped by baseline: a baseline's resampled medians are computed
    once (its columns split over the workers), shared by the environments compared with it and
    dropped before the next baseline, so memory holds one baseline and one pair per worker
    however large the fleet. ``fn`` runs in worker threads (numpy releases the GIL in the heavy
    loops) and should reduce the pair to what the caller keeps. Results do not depend on ``jobs``.
    """
    _check_runs(prep)
    virtual = prep.manifest.virtual()
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    groups: dict = {}
    for i, env in enumerate(virtual):
        groups.setdefault(env.baseline, []).append((i, env))
    results: list = [None] * len(virtual)
    pool = ThreadPoolExecutor(max_workers=jobs) if jobs > 1 and len(virtual) > 0 else None
    try:
        for baseline, members in groups.items():
            base = None
            bs = prep.sides[baseline]
            if replicates and n_boot > 0 and keys is None and len(bs.runs) >= 2:
                resampled = _side_medians(bs, slice(None), n_boot, seed, 1, pool, jobs)
                base = lambda r=resampled: r  # noqa: E731

            def work(item, base=base):
                return fn(_make_pair(prep, item[1], n_boot, seed, keys, replicates, base))

            done = pool.map(work, members) if pool is not None else map(work, members)
            for (i, _), res in zip(members, done):
                results[i] = res
            base = resampled = None
    finally:
        if pool is not None:
            pool.shutdown()
    return results


def _notes(parts) -> np.ndarray:
    """Join the texts whose masks are true, '; '-separated, per row."""
    out = None
    for mask, text in parts:
        mask = np.asarray(mask, bool)
        if out is None:
            out = np.full(mask.shape, "", object)
        text = np.broadcast_to(np.asarray(text, object), mask.shape)
        add = mask & (text != "")
        joined = np.where(out == "", text, out + "; " + text)
        out = np.where(add, joined, out)
    return out.astype(str) if out is not None else np.array([], str)


def _percentiles(values: np.ndarray, weights: np.ndarray | None = None):
    """(2.5th, 97.5th, count) per column over the finite values, NaN left out.

    Identical to ``numpy.nanpercentile`` (linear method) over the expanded replicates, where row p
    of ``values`` stands for ``weights[p]`` (or ``weights[p, k]``) replicates; with weights the
    order statistics are read from cumulative weights instead of expanding.
    """
    K = values.shape[1]
    lo = np.full(K, np.nan)
    hi = np.full(K, np.nan)
    if weights is None:
        finite = values.shape[0] - np.isnan(values).sum(axis=0)
        full = finite == values.shape[0]
        if full.all() and values.shape[0] >= 2:
            return (*_select_percentiles(values), finite)
        if full.any():
            lo[full], hi[full] = np.percentile(values[:, full], CI_PERCENTILES, axis=0)
        part = (finite > 0) & ~full
        if part.any():
            lo[part], hi[part] = np.nanpercentile(values[:, part], CI_PERCENTILES, axis=0)
        return lo, hi, finite
    vt = np.ascontiguousarray(values.T)  # (K, P): sort along contiguous rows
    wt = np.broadcast_to(np.asarray(weights).T if np.ndim(weights) == 2 else np.asarray(weights)[None, :], vt.shape)
    order = np.argsort(vt, axis=1, kind="stable")  # NaN last
    srt = np.take_along_axis(vt, order, axis=1)
    cw = np.cumsum(np.where(np.isnan(srt), 0, np.take_along_axis(wt, order, axis=1)), axis=1)
    finite = cw[:, -1]
    rows = np.arange(K)
    last = np.maximum(finite - 1, 0)
    out = []
    for q in np.true_divide(np.asarray(CI_PERCENTILES, dtype=np.float64), 100):
        # numpy's "linear" method: virtual index (n - 1) * q, then its _lerp between the neighbours
        virtual = (finite - 1) * q
        prev = np.floor(virtual)
        top = virtual >= finite - 1
        prev_i = np.where(top, last, prev).astype(np.int64)
        next_i = np.where(top, last, prev + 1).astype(np.int64)
        gamma = virtual - np.where(top, -1, prev)
        a = srt[rows, np.minimum((cw <= prev_i[:, None]).sum(axis=1), srt.shape[1] - 1)]
        b = srt[rows, np.minimum((cw <= next_i[:, None]).sum(axis=1), srt.shape[1] - 1)]
        out.append(np.where(finite > 0, _lerp_numpy(a, b, gamma), np.nan))
    return out[0], out[1], finite


def _lerp_numpy(a, b, gamma):
    """numpy's ``_lerp`` (quantile "linear" method), so results match ``numpy.percentile`` bit for bit."""
    diff = b - a
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def _select_percentiles(values: np.ndarray):
    """``numpy.percentile(values, CI_PERCENTILES, axis=0)`` for NaN-free columns with one
    ``partition`` at the four order statistics needed (numpy's adds the extremes, to spot NaN)."""
    n = values.shape[0]
    qs = np.true_divide(np.asarray(CI_PERCENTILES, dtype=np.float64), 100)
    virtual = (n - 1) * qs
    prev = np.floor(virtual)
    top = virtual >= n - 1
    prev_i = np.where(top, n - 1, prev).astype(np.intp)
    next_i = np.where(top, n - 1, prev + 1).astype(np.intp)
    gamma = virtual - np.where(top, -1, prev)
    part = np.partition(np.ascontiguousarray(values.T), np.unique(np.concatenate([prev_i, next_i])), axis=1)
    return tuple(_lerp_numpy(part[:, prev_i[i]], part[:, next_i[i]], gamma[i]) for i in range(len(qs)))


_TEXT_OVERHEAD = ("environment", "baseline", "technology", "metric", "param", "label", "category", "unit",
                  "direction", "note")


def _columns_frame(cols: list) -> pd.DataFrame:
    """One overhead frame from the pairs' column arrays (one DataFrame, not one per environment)."""
    data = {c: np.concatenate([d[c] for d in cols]) for c in OVERHEAD_COLUMNS}
    df = pd.DataFrame(data, columns=list(OVERHEAD_COLUMNS))
    for c in _TEXT_OVERHEAD:
        df[c] = df[c].astype(str)
    return df


def _empty_overhead() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in OVERHEAD_COLUMNS})
    for c in ("virtual_median", "baseline_median", "slowdown", "ci_low", "ci_high", "cv_virtual", "cv_baseline"):
        df[c] = df[c].astype(float)
    for c in ("n_virtual", "n_baseline"):
        df[c] = df[c].astype(np.int64)
    for c in ("noisy", "low_precision"):
        df[c] = df[c].astype(bool)
    return df


# --- public tables -------------------------------------------------------------------------------

def overhead(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Slowdown of every virtual environment against its baseline, per metric and param (``OVERHEAD_COLUMNS``).

    ``ci_low``/``ci_high`` are exactly ``numpy.nanpercentile(replicates, [2.5, 97.5])`` of this
    key's ``bootstrap_replicates`` (same ``n_boot`` and ``seed``): NaN with a single run on either
    side (``note`` says so; never a zero-width interval) and where a resampled median is zero.
    NormaliseError if a virtual environment or its baseline has no runs.
    """
    prep = _prepare(tidy, manifest)
    cols = [c for c in _map_pairs(prep, lambda p: p.cols, n_boot, seed) if len(c["metric"])]
    return _columns_frame(cols) if cols else _empty_overhead()


def bootstrap_replicates(tidy: pd.DataFrame, manifest: manifest_mod.Manifest, keys=None, n_boot: int = N_BOOT,
                         seed: int = 0) -> pd.DataFrame:
    """The joint bootstrap replicates of the slowdowns (``REPLICATE_COLUMNS``), long-form.

    Replicate b of an environment uses one resample of its runs and one of its baseline's runs for
    every metric, so a weighted sum of slowdowns computed per replicate has a valid joint interval.
    ``keys`` restricts to (metric, param) pairs (param None: the largest size on both sides);
    restricting does not change the draws. Undefined replicates are NaN: all of them for a key
    with a single run on a side or a zero median in some resample (no interval), single ones where
    a resample drew no run holding the key (left out of the interval). Memory is n_boot rows per
    key and environment: restrict ``keys`` on a large fleet.
    """
    prep = _prepare(tidy, manifest)
    wanted = None if keys is None else [(m, p) for m, p in keys]

    def long_form(p: _Pair):
        K = len(p.keys)
        return (np.full(K * n_boot, p.env.name, object), np.repeat(p.cols["metric"], n_boot),
                np.repeat(p.cols["param"], n_boot), np.tile(np.arange(n_boot, dtype=np.int64), K), p.reps().T.ravel())

    parts = [part for part in _map_pairs(prep, long_form, n_boot, seed, keys=wanted) if len(part[0])]
    if not parts:
        return pd.DataFrame({"environment": pd.Series(dtype=str), "metric": pd.Series(dtype=str),
                             "param": pd.Series(dtype=str), "replicate": pd.Series(dtype=np.int64),
                             "slowdown": pd.Series(dtype=float)})
    df = pd.DataFrame({c: np.concatenate([part[i] for part in parts]) for i, c in enumerate(REPLICATE_COLUMNS)})
    for c in ("environment", "metric", "param"):
        df[c] = df[c].astype(str)
    return df


def missing_metrics(tidy: pd.DataFrame, manifest: manifest_mod.Manifest) -> pd.DataFrame:
    """Metric+param measured on only one side of a pair (``MISSING_COLUMNS``): listed, never dropped silently.

    ``present_in`` names the environment that has it.
    """
    return _missing(_prepare(tidy, manifest))


def _missing(prep: _Prepared) -> pd.DataFrame:
    _check_runs(prep)
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


def sanity_checks(tidy: pd.DataFrame, runs: pd.DataFrame, manifest: manifest_mod.Manifest) -> pd.DataFrame:
    """Checks that a pair is comparable at all (``SANITY_COLUMNS``); status ok/warning/expected/differs/skipped.

    ``cpu_only_items``: integer-operation items should match between the sides (no kernel, no
    device involved); a median |log ratio| above log(1 + CPU_MISMATCH) suggests a clock-frequency
    or CPU-model mismatch ("warning"), except under emulation, where it is "expected". Values
    printed too coarsely (``integer add: 0.00``, low_precision) are left out while precise ones exist.
    ``header_<column>``: the lmbench header metadata of the two sides' runs; "differs" lists both.
    """
    return _sanity(_prepare(tidy, manifest), runs)


def _cpu_check(prep: _Prepared, env) -> tuple[str, str]:
    vs, bs = prep.sides[env.name], prep.sides[env.baseline]
    common = np.intersect1d(vs.keys, bs.keys)
    kc = prep.kcols
    common = common[np.isin(kc["metric"][common], CPU_CHECK_METRICS) & (kc["param"][common] == "")]
    iv, ib = np.searchsorted(vs.keys, common), np.searchsorted(bs.keys, common)
    vm, bm = vs.median[iv], bs.median[ib]
    nonzero = (vm > 0) & (bm > 0)
    precise = nonzero & ~vs.low_precision[iv] & ~bs.low_precision[ib]
    use = precise if precise.any() else nonzero
    if not use.any():
        return "skipped", (f"no integer-operation item ({', '.join(CPU_CHECK_METRICS)}) with a non-zero value "
                           "on both sides")
    names = kc["metric"][common][use]
    ratios = vm[use] / bm[use]
    m = float(np.median(np.abs(np.log(ratios))))
    items = ", ".join(f"{k} x{r:.3f}" for k, r in zip(names, ratios))
    detail = (f"median |log ratio| {m:.3f} (x{math.exp(m):.3f}) over {items}; "
              f"threshold {CPU_MISMATCH:.0%}" + ("" if precise.any() else "; only low-precision values available"))
    if m <= math.log1p(CPU_MISMATCH):
        return "ok", detail
    if env.technology in EMULATED_TECHNOLOGIES:
        return "expected", detail + f"; {env.technology} emulates the CPU, so integer work is expected to differ"
    return "warning", detail + "; likely a clock-frequency or CPU-model mismatch between the two sides"


def _header_sets(runs: pd.DataFrame, col: str) -> dict:
    """environment -> sorted distinct values of header column ``col`` over its ingested runs."""
    if col not in runs or "environment" not in runs:
        return {}
    r = runs[runs["status"] == "ok"] if "status" in runs else runs
    u = r[["environment", col]].astype(str).drop_duplicates().sort_values(["environment", col])
    out: dict = {}
    for env, value in zip(u["environment"].to_numpy(), u[col].to_numpy()):
        out.setdefault(env, []).append(value)
    return out


def _show(values: list[str]) -> str:
    return " | ".join(v if v else "(not recorded)" for v in values) if values else "(no runs)"


def _sanity(prep: _Prepared, runs: pd.DataFrame) -> pd.DataFrame:
    _check_runs(prep)
    rows = []
    headers = {col: _header_sets(runs, col) for col in HEADER_COLUMNS}
    for env in prep.manifest.virtual():
        status, detail = _cpu_check(prep, env)
        rows.append((env.name, env.baseline, "cpu_only_items", status, detail))
        for col in HEADER_COLUMNS:
            vv, bv = headers[col].get(env.name, []), headers[col].get(env.baseline, [])
            if not vv or not bv:
                rows.append((env.name, env.baseline, f"header_{col}", "skipped",
                             f"{col}: no run metadata for {env.name if not vv else env.baseline} in the runs table"))
            elif vv == bv:
                rows.append((env.name, env.baseline, f"header_{col}", "ok", f"{col}: {_show(vv)} on both sides"))
            else:
                rows.append((env.name, env.baseline, f"header_{col}", "differs",
                             f"{col}: {env.name} {_show(vv)}; {env.baseline} {_show(bv)}"))
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


# --- category summaries --------------------------------------------------------------------------

def resolve_representatives(overhead_df: pd.DataFrame, representatives=DEFAULT_REPRESENTATIVES) -> pd.DataFrame:
    """The concrete (metric, param) standing for each category in each environment (``REPRESENTATIVE_COLUMNS``).

    A param of None means the numerically largest param of that metric present in the environment's
    overhead rows (i.e. measured on both sides), e.g. the largest mmap size; "" if the metric is absent.
    """
    envs = pd.unique(overhead_df["environment"])
    frames = []
    for i, (category, (metric, param)) in enumerate(representatives.items()):
        if param is None:
            sub = overhead_df.loc[overhead_df["metric"] == metric, ["environment", "param"]]
            num = pd.to_numeric(sub["param"], errors="coerce").fillna(-np.inf)
            sub = sub.assign(_num=num.to_numpy()).sort_values(["environment", "_num", "param"], kind="stable")
            largest = sub.drop_duplicates("environment", keep="last").set_index("environment")["param"]
            params = pd.Series(envs).map(largest).fillna("").astype(str).to_numpy()
        else:
            params = np.full(len(envs), str(param), object)
        frames.append(pd.DataFrame({"environment": envs, "category": category, "metric": metric, "param": params,
                                    "_env": np.arange(len(envs)), "_cat": i}))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in REPRESENTATIVE_COLUMNS})
    out = pd.concat(frames, ignore_index=True).sort_values(["_env", "_cat"], kind="stable")
    return out[list(REPRESENTATIVE_COLUMNS)].reset_index(drop=True).astype(str)


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


def _geomean_env(cols: dict, log_sums=None, weights: np.ndarray | None = None) -> list[tuple]:
    """Geomean rows of one environment from its overhead columns (arrays). ``log_sums(W)`` gives,
    per (distinct) replicate, the W-weighted sums of log slowdowns (rows standing for ``weights``
    replicates each), or is None for no interval.

    Each metric first counts once (geometric mean over its params), so a series such as mmap
    latency at eight sizes weighs as much as the single null system call; then the geometric mean
    over the category's metrics. Slowdowns that are NaN or not positive are left out. The interval
    applies the same formula to each joint replicate (replicates where a used slowdown is not
    positive and finite are left out). ``noisy``: more than half of the weight sits on noisy slowdowns.
    """
    s = np.asarray(cols["slowdown"], float)
    category = np.asarray(cols["category"], dtype=object)
    cat = np.select([category == c for c in catalogue.CATEGORIES], range(len(catalogue.CATEGORIES)), -1)
    with np.errstate(invalid="ignore"):
        used = np.flatnonzero(np.isfinite(s) & (s > 0) & (cat >= 0))
    if len(used) == 0:
        return []
    metric_code = pd.factorize(np.asarray(cols["metric"], dtype=object)[used])[0]
    group, group_of = np.unique(cat[used].astype(np.int64) * (len(used) + 1) + metric_code, return_inverse=True)
    group_cat = group // (len(used) + 1)
    n_metrics = np.bincount(group_cat, minlength=len(catalogue.CATEGORIES))
    per_group = np.bincount(group_of)
    # weight of each used slowdown in its category's log-mean: mean over params, then over metrics
    W = np.zeros((len(used), len(catalogue.CATEGORIES)))
    W[np.arange(len(used)), cat[used]] = 1.0 / (per_group[group_of] * n_metrics[cat[used]])
    point = np.exp(np.log(s[used]) @ W)
    lo = hi = np.full(len(catalogue.CATEGORIES), np.nan)
    sums = None if log_sums is None else log_sums(_expand_rows(W, used, len(s)))
    if sums is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            g = np.exp(sums)
        g[~np.isfinite(g)] = np.nan
        lo, hi, _ = _percentiles(g, weights)
    noisy = np.asarray(cols["noisy"], bool)[used] @ W > 0.5
    nv, nb = np.asarray(cols["n_virtual"])[used], np.asarray(cols["n_baseline"])[used]
    rows = []
    env, base, tech = cols["environment"][0], cols["baseline"][0], cols["technology"][0]
    for c, name in enumerate(catalogue.CATEGORIES):
        if n_metrics[c] == 0:
            continue
        label = f"(geomean of {n_metrics[c]} metrics)"
        in_c = cat[used] == c
        rows.append((env, base, tech, name, label, label, float(point[c]), float(lo[c]), float(hi[c]),
                     int(nv[in_c].min()), int(nb[in_c].min()), bool(noisy[c]), "geomean"))
    return rows


def _expand_rows(W: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    full = np.zeros((n, W.shape[1]))
    full[rows] = W
    return full


def _matrix_log_sums(R: np.ndarray):
    """log_sums for an explicit (replicates, keys) slowdown matrix."""
    def f(W):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _masked_log_sums(np.log(R), W)
    return f


def category_geomean(overhead_df: pd.DataFrame, replicates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Geometric mean of each category's slowdowns per environment (``SUMMARY_COLUMNS``, view "geomean").

    With ``replicates`` (from ``bootstrap_replicates`` with the same tidy table, manifest, n_boot and
    seed) the interval is the 2.5/97.5 percentile of the geomean over the joint replicates;
    without them it is NaN. ``noisy`` is true when more than half of the geomean's weight sits on
    noisy slowdowns; n_virtual and n_baseline are the smallest run counts behind it.
    """
    rows = []
    for env, ov in overhead_df.groupby("environment", sort=False):
        reps = None
        if replicates is not None:
            r = replicates[replicates["environment"] == env]
            if len(r):
                wide = r.pivot(index="replicate", columns=["metric", "param"], values="slowdown")
                want = pd.MultiIndex.from_arrays([ov["metric"].to_numpy(), ov["param"].to_numpy()])
                reps = _matrix_log_sums(wide.reindex(columns=want).to_numpy(float))
        rows.extend(_geomean_env({c: ov[c].to_numpy() for c in ov.columns}, reps))
    return _summary_frame(rows)


def _summary_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    df["n_virtual"] = df["n_virtual"].astype(np.int64)
    df["n_baseline"] = df["n_baseline"].astype(np.int64)
    df["noisy"] = df["noisy"].astype(bool)
    for c in ("slowdown", "ci_low", "ci_high"):
        df[c] = df[c].astype(float)
    return df


# --- command line --------------------------------------------------------------------------------

def write_tables(processed_dir, tables: dict) -> None:
    """Write the tables of ``normalise_all`` into ``processed_dir`` under ``TABLE_FILES`` names."""
    for key, name in TABLE_FILES.items():
        _write_csv(Path(processed_dir) / name, tables[key])


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    """CSV with booleans as true/false (as the ingest tables) and floats to 6 significant digits."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = np.where(out[c].to_numpy(), "true", "false")
    with atomic.open_atomic(path, "w", encoding="utf-8", newline="") as fh:
        out.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")


def normalise_all(tidy: pd.DataFrame, runs: pd.DataFrame, manifest: manifest_mod.Manifest,
                  n_boot: int = N_BOOT, seed: int = 0, jobs: int | None = None) -> dict:
    """Every normalisation table from one pass over the data (what ``cli`` writes).

    Returns {"overhead", "missing_metrics", "sanity_checks", "category_summary"}; the category
    summary stacks the representative and geomean views, the geomean intervals coming from the
    same joint replicates as overhead's (without keeping them all in memory).
    """
    prep = _prepare(tidy, manifest)
    cols, geo = [], []

    def reduce(p: _Pair):
        return p.cols, _geomean_env(p.cols, p.log_sums if p.pv is not None else None, p.weights)

    for c, g in _map_pairs(prep, reduce, n_boot, seed, jobs=jobs):
        if len(c["metric"]):
            cols.append(c)
            geo.extend(g)
    ov = _columns_frame(cols) if cols else _empty_overhead()
    summary = pd.concat([category_summary(ov), _summary_frame(geo)], ignore_index=True)
    return {"overhead": ov, "missing_metrics": _missing(prep), "sanity_checks": _sanity(prep, runs),
            "category_summary": summary}


def cli(args) -> int:
    """``python -m vizlib normalise``: write overhead.csv, missing_metrics.csv, sanity_checks.csv and
    category_summary.csv into the processed folder.

    The replicates themselves are not written: 2000 per metric and environment is tens of MB even
    for the shipped runs, and ``bootstrap_replicates`` recomputes any subset from the tidy table
    in well under a second, identically.
    """
    from . import paths
    from .cli import UsageError

    processed = Path(args.processed)
    raw = Path(args.raw) if getattr(args, "raw", None) else paths.RAW
    for name in (TIDY, RUNS):
        if not (processed / name).is_file():
            raise UsageError(f"{processed / name} not found: run `python -m vizlib ingest` first")
    man = manifest_mod.load(raw, check_folders=False)
    tidy, runs = load_tidy(processed), load_runs(processed)
    try:
        tables = normalise_all(tidy, runs, man)
    except NormaliseError as exc:
        raise UsageError(str(exc)) from None
    write_tables(processed, tables)

    ov, sanity = tables["overhead"], tables["sanity_checks"]
    print(f"normalised {ov['environment'].nunique()} virtual environments against their baselines: "
          f"{len(ov)} slowdowns -> {processed / OVERHEAD}")
    print(f"  noisy (run-to-run CV > {NOISY_CV:.0%}): {int(ov['noisy'].sum())}; no interval (single run): "
          f"{int(ov['note'].str.contains(NOTE_SINGLE_RUN, regex=False).sum())}; "
          f"measured on one side only: {len(tables['missing_metrics'])} (see {MISSING})")
    warn = sanity[sanity["status"].isin(["warning", "differs"])]
    print(f"  sanity: {int((sanity['status'] == 'warning').sum())} warnings, "
          f"{int((sanity['status'] == 'differs').sum())} header differences (see {SANITY})")
    for row in warn.itertuples():
        if row.status == "warning":
            print(f"  warning: {row.environment} vs {row.baseline}: {row.check}: {row.detail}")
    summ = tables["category_summary"]
    rep = summ[summ["view"] == "representative"]
    groups = list(rep.groupby("environment", sort=False))
    for env, g in groups[:_PRINT_ENVIRONMENTS]:
        parts = ", ".join(f"{r.category} {r.slowdown:.3g}" for r in g.itertuples())
        print(f"  {env}: slowdown {parts}")
    if len(groups) > _PRINT_ENVIRONMENTS:
        print(f"  ... and {len(groups) - _PRINT_ENVIRONMENTS} more environments (see {SUMMARY})")
    return 0


_PRINT_ENVIRONMENTS = 20
