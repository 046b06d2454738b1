"""Run-to-run statistics: resampling and intervals, in one place.

Everything that turns repeated lmbench runs into an uncertainty goes through here, so the
slowdowns, the category summaries and the overhead model use the same draws and the same
interval rule:

- ``rng(seed, role, name)``: one random generator per (seed, side, environment), so the draws of
  an environment do not depend on which other environments or metrics are in a call, and the
  same seed gives byte-identical outputs;
- ``resample_indices`` / ``resampled_statistic``: the bootstrap over runs. Replicate ``b`` draws
  one resample of an environment's runs and uses it for every metric, which makes the replicates
  *joint*: any function of several metrics computed replicate by replicate (a weighted sum over
  categories, a geometric mean) gets a valid interval;
- ``interval``: the 2.5th and 97.5th percentiles of replicates (numpy's default "linear" method),
  NaN left out.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np

N_REPLICATES = 2000  # bootstrap replicates per interval (the notebooks' n_boot default)
CI_LEVEL = 0.95
CI_PERCENTILES = (2.5, 97.5)  # exact literals: 100 * (1 - 0.95) / 2 is 2.5000000000000022
_CHUNK_VALUES = 4_000_000  # resampled values materialised at once (32 MB of float64)


def rng(seed: int, role: int, name: str) -> np.random.Generator:
    """The generator of one side (role 0 virtual, 1 baseline) of environment ``name``."""
    return np.random.default_rng([int(seed), role, zlib.crc32(name.encode("utf-8"))])


def resample_indices(n: int, n_replicates: int, generator: np.random.Generator) -> np.ndarray:
    """(n_replicates, n) run indices: each row is one resample of ``n`` runs with replacement."""
    return generator.integers(0, n, size=(n_replicates, n))


def resampled_statistic(X: np.ndarray, indices: np.ndarray, statistic: str = "median") -> np.ndarray:
    """(replicates, keys): ``statistic`` of every column of ``X`` (runs x keys, NaN = not measured in
    that run) over every resample's rows; NaN where a resample drew no run holding the key."""
    B, n = indices.shape
    K = X.shape[1]
    out = np.empty((B, K))
    if B == 0 or K == 0:
        return out
    complete = not np.isnan(X).any()
    fn = {"median": np.median if complete else np.nanmedian, "mean": np.mean if complete else np.nanmean}[statistic]
    step = max(1, _CHUNK_VALUES // max(1, n * K))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as wanted
        for b0 in range(0, B, step):
            out[b0:b0 + step] = fn(X[indices[b0:b0 + step]], axis=1)
    return out


def interval(replicates: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): the 2.5th and 97.5th percentiles along ``axis``, NaN left out (NaN if all are)."""
    R = np.asarray(replicates, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if np.isnan(R).any():
            lo, hi = np.nanpercentile(R, CI_PERCENTILES, axis=axis)
        else:
            lo, hi = np.percentile(R, CI_PERCENTILES, axis=axis)
    return lo, hi


def finite_count(replicates: np.ndarray, axis: int = 0) -> np.ndarray:
    """How many replicates along ``axis`` are defined (not NaN)."""
    return np.sum(~np.isnan(replicates), axis=axis)
