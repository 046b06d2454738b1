"""Run-to-run statistics: joint draws, intervals and the spread test, in one place.

Everything that turns repeated lmbench runs into an uncertainty goes through here, so the
slowdowns, the category summaries, the chains of baselines and the overhead models use the same
draws and the same interval rule.

**The interval.** lmbench results vary multiplicatively from run to run, so each environment's
typical value of a metric is estimated on the log scale. ``location_draws`` draws the location
(the mean of the log values over the units: runs, or repetitions of a single run) from its
posterior under a normal model with unknown spread (Jeffreys prior): ``mean + s/sqrt(n) * t(n-1)``,
drawn as ``mean + (g . D) / sqrt(n (n-1)) / sqrt(chi2(n-1)/(n-1))`` with ``D`` the centred log
values and ``g`` standard normal weights *per unit*, in antithetic pairs (``g`` and ``-g``). A slowdown draw is the ratio of two sides'
draws; its 2.5th and 97.5th percentiles are the interval (the Behrens-Fisher interval of the ratio
of geometric means). ``tests/test_stats.py`` simulates known truths: the interval holds its 95%
claim from two runs per side up; the README gives the coverage table.

**Joint.** The weights ``g`` are drawn once per environment and run and used for every metric of
that run, so replicate b of every metric of an environment comes from the same draw: a function
of several slowdowns computed replicate by replicate (a weighted sum over categories, a geometric
mean, the product along a chain of baselines) gets a valid interval. Draws come from a generator
seeded by (seed, environment), never by role or by which metrics are asked for, so an environment
that is one pair's baseline and another's virtual side has the same draws in both: along a chain
its draws cancel, as its values do.

**Noisy.** ``noisy`` is a test, not a bare threshold: true when the run-to-run spread (the sd of
the log values, about the coefficient of variation) exceeds ``NOISY_CV`` with 95% confidence given
the number of units, false when it is below with 95% confidence, unknown otherwise or with fewer
than two units.
"""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np

N_REPLICATES = 2000  # draws per interval (the notebooks' n_boot parameter)
CI_LEVEL = 0.95
CI_PERCENTILES = (2.5, 97.5)  # exact literals: 100 * (1 - 0.95) / 2 is 2.5000000000000022
NOISY_CV = 0.10  # a run-to-run spread above 10% cannot be told from a 10% difference between environments


def rng(seed: int, *names: str) -> np.random.Generator:
    """The generator of one environment (or of one of its metrics): its draws depend on nothing else."""
    return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode("utf-8")) for n in names])


def location_draws(units: np.ndarray, n_draws: int, generator: np.random.Generator) -> np.ndarray:
    """(n_draws, K) joint draws of the log location of every column of ``units`` (n x K, NaN = missing).

    One normal weight per unit (row) and draw, shared by all columns: the draws are joint. The
    chi-square factor is drawn for every degree of freedom 1..n-1 in a fixed order, so a column's
    draws do not depend on which other columns are present. Columns with fewer than two finite,
    positive units are NaN; a column with no spread has its mean as every draw.
    """
    U = np.asarray(units, float)
    n_rows, K = U.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.where(U > 0, np.log(U), np.nan)
    ok = np.isfinite(L)
    n = ok.sum(axis=0)
    # antithetic pairs: draw b + half is draw b with every weight negated, so the draws of a pair of
    # environments are exactly symmetric around the ratio of geometric means (less Monte Carlo noise)
    half = (n_draws + 1) // 2
    g = generator.standard_normal((half, n_rows))
    g = np.vstack([g, -g])[:n_draws]
    df = np.arange(1, max(n_rows, 2))
    u = generator.chisquare(df, size=(half, len(df))) / df  # column d-1: chi2(d)/d
    u = np.vstack([u, u])[:n_draws]
    out = np.full((n_draws, K), np.nan)
    live = (n >= 2) & (ok | np.isnan(U)).all(axis=0)  # a zero or negative unit: no log location
    if not live.any():
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(L[:, live], axis=0)
    D = np.where(ok[:, live], L[:, live] - mean, 0.0)
    nl = n[live]
    # g @ D, one unit after the other: every column's draws are the same whichever columns come with it
    # (a BLAS product would round differently with the matrix shape). Only the first half of the
    # draws is summed: the antithetic half is its exact negation (rounding is symmetric in sign).
    z = np.empty((n_draws, D.shape[1]))
    zh = z[:half]
    zh[:] = 0.0
    term = np.empty_like(zh)
    for j in range(n_rows):
        zh += np.multiply(g[:half, j, None], D[j], out=term)
    np.negative(z[:n_draws - half], out=z[half:])
    out[:, live] = mean + z / np.sqrt(nl * (nl - 1.0)) / np.sqrt(u[:, nl - 2])
    return out


def interval(replicates: np.ndarray, axis: int = 0, overwrite_input: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): the 2.5th and 97.5th percentiles along ``axis``, NaN left out (NaN if all are).
    ``overwrite_input``: the replicates may be reordered in place (no copy: for a temporary array)."""
    R = np.asarray(replicates, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if np.isnan(R).any():
            lo, hi = np.nanpercentile(R, CI_PERCENTILES, axis=axis, overwrite_input=overwrite_input)
        else:
            lo, hi = np.percentile(R, CI_PERCENTILES, axis=axis, overwrite_input=overwrite_input)
    return lo, hi


def finite_count(replicates: np.ndarray, axis: int = 0) -> np.ndarray:
    """How many replicates along ``axis`` are defined (not NaN)."""
    return np.sum(~np.isnan(replicates), axis=axis)


def chi2_cdf(x: float, df: float) -> float:
    """P(chi-square(df) <= x), from the regularized lower incomplete gamma function (standard library only)."""
    if x <= 0:
        return 0.0
    a, z = df / 2.0, x / 2.0
    if z < a + 1:  # series
        term = total = 1.0 / a
        k = a
        for _ in range(1000):
            k += 1
            term *= z / k
            total += term
            if term < total * 1e-15:
                break
        return min(1.0, total * math.exp(-z + a * math.log(z) - math.lgamma(a)))
    # continued fraction for the upper tail (Lentz)
    tiny = 1e-300
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(-z + a * math.log(z) - math.lgamma(a)) * h)


def noisy(log_sd: float, n: int, threshold: float = NOISY_CV, confidence: float = 0.95):
    """True / False / None (unknown): is the spread sigma of the log values above ``threshold``?

    ``log_sd`` is the sample sd (ddof 1) of ``n`` log values; (n-1) s^2 / sigma^2 is chi-square with
    n-1 degrees of freedom, so P(sigma > t) = P(chi2(n-1) < (n-1) s^2 / t^2).
    """
    if n < 2 or not math.isfinite(log_sd):
        return None
    p_above = chi2_cdf((n - 1) * log_sd ** 2 / threshold ** 2, n - 1)
    if p_above >= confidence:
        return True
    if 1 - p_above >= confidence:
        return False
    return None


def log_sd(units: np.ndarray) -> np.ndarray:
    """Per column: the sd (ddof 1) of the log of the positive units; NaN with fewer than two."""
    U = np.asarray(units, float)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        L = np.where(U > 0, np.log(U), np.nan)
        n = np.isfinite(L).sum(axis=0)
        sd = np.nanstd(L, axis=0, ddof=1)
    return np.where(n >= 2, sd, np.nan)
