"""The intervals hold what they claim: simulated runs with a known true ratio, through the real pipeline.

Each case builds a tidy table of two environments whose runs are log-normal around a known value
(every key a separate pair: ``mmap_latency`` at many sizes, lower is better, and ``mem_read_bw``
at many sizes, higher is better), normalises it with ``vizlib.normalise.overhead`` and counts how
often the intervals that claim 0.95 (``ci_level``) contain the true slowdown. The README's
coverage table comes from the same simulation (``python tests/test_stats.py``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizlib import manifest as manifest_mod
from vizlib import normalise, stats

KEYS = 1000  # pairs per direction and case: 2000 per case, binomial s.e. of a 95% coverage 0.5 points
TRUE_RATIO = 1.7


def simulate(n_virtual: int, n_baseline: int, sigma_v: float, sigma_b: float, seed: int, keys: int = KEYS,
             statistic: str = "median") -> pd.DataFrame:
    """overhead() rows of a simulated pair and the true slowdown of each (column ``truth``)."""
    rng = np.random.default_rng(seed)
    params = [f"{0.001 * (i + 1):.6f}" for i in range(keys)]
    base = rng.uniform(1, 1000, size=(2, keys))  # each key its own scale
    rows = []
    for env, n, sigma in (("v", n_virtual, sigma_v), ("b", n_baseline, sigma_b)):
        for r in range(n):
            noise = np.exp(sigma * rng.standard_normal((2, keys)))
            lat = base[0] * (TRUE_RATIO if env == "v" else 1.0) * noise[0]  # latency: virtual is slower
            bw = base[1] / (TRUE_RATIO if env == "v" else 1.0) * noise[1]  # bandwidth: virtual is slower
            for metric, unit, direction, vals in (("mmap_latency", "us", "lower", lat),
                                                  ("mem_read_bw", "MB/s", "higher", bw)):
                rows.append(pd.DataFrame({"environment": env, "run": f"{env}/{r}", "line": 1, "metric": metric,
                                          "param": params, "value": vals, "unit": unit, "category": "x",
                                          "direction": direction, "low_precision": False, "note": ""}))
    tidy = pd.concat(rows, ignore_index=True)
    man = manifest_mod.Manifest(Path("sim"), {
        "b": manifest_mod.Environment("b", "physical", "physical", None),
        "v": manifest_mod.Environment("v", "virtual", "other", "b")})
    ov = normalise.overhead(tidy, man, n_boot=stats.N_REPLICATES, seed=seed, statistic=statistic)
    return ov.assign(truth=TRUE_RATIO)


def coverage(ov: pd.DataFrame) -> tuple[float, int]:
    claims = ov[ov["ci_level"] == 0.95]
    inside = (claims["ci_low"] <= claims["truth"]) & (claims["truth"] <= claims["ci_high"])
    return float(inside.mean()) if len(claims) else math.nan, len(claims)


CASES = [(n, n, s, s) for n in (2, 3, 5, 8, 10) for s in (0.01, 0.05, 0.2)] + [
    (2, 5, 0.05, 0.05), (5, 2, 0.05, 0.05), (3, 3, 0.15, 0.05), (5, 5, 0.05, 0.2), (25, 25, 0.05, 0.05)]


@pytest.mark.slow
@pytest.mark.parametrize("n_v, n_b, sigma_v, sigma_b", CASES)
def test_intervals_claiming_95_contain_the_truth_at_least_93_percent(n_v, n_b, sigma_v, sigma_b):
    ov = simulate(n_v, n_b, sigma_v, sigma_b, seed=n_v * 1000 + n_b * 10 + int(sigma_v * 100))
    cov, claims = coverage(ov)
    assert claims == 2 * KEYS  # every pair with two runs a side claims 0.95
    for direction in ("lower", "higher"):
        d_cov, _ = coverage(ov[ov["direction"] == direction])
        assert d_cov >= 0.93, f"{direction}: coverage {d_cov:.3f}"
    assert cov >= 0.93, f"coverage {cov:.3f} of {claims} intervals claiming 0.95"


@pytest.mark.parametrize("n", [2, 3, 5, 8, 10])
def test_150_pairs_per_n_the_acceptance_check(n):
    """The issue's own check: 150 independent pairs per n, log-normal noise (sigma 0.05)."""
    ov = simulate(n, n, 0.05, 0.05, seed=42 + n, keys=75)
    cov, claims = coverage(ov)
    assert claims == 150 and cov >= 0.90, f"n={n}: {cov:.3f}"


def test_a_single_run_claims_nothing():
    ov = simulate(1, 3, 0.05, 0.05, seed=1, keys=20)
    assert ov["ci_level"].isna().all() and ov["ci_low"].isna().all()
    assert ov["note"].str.contains("single run").all()


def test_mean_statistic_point_estimates_are_ratios_of_means():
    ov = simulate(3, 3, 0.2, 0.2, seed=5, keys=30, statistic="mean")
    assert (ov["statistic"] == "mean").all()
    cov, claims = coverage(ov)
    assert claims == 60 and cov >= 0.8  # few pairs: only a sanity bound here


# --- the building blocks -----------------------------------------------------------------------------

def test_location_draws_are_t_distributed_around_the_mean_of_logs():
    rng = np.random.default_rng(0)
    units = np.array([[1.0, 10.0], [2.0, 10.0], [4.0, 10.0]])  # second column: no spread
    d = stats.location_draws(units, 200_000, rng)
    logs = np.log(units[:, 0])
    m, s = logs.mean(), logs.std(ddof=1)
    # the 97.5th percentile of m + s/sqrt(3) * t(2): t(2, 0.975) = 4.302653
    assert np.percentile(d[:, 0], 97.5) == pytest.approx(m + s / math.sqrt(3) * 4.302653, rel=0.01)
    assert np.median(d[:, 0]) == pytest.approx(m, abs=0.01)
    assert (d[:, 1] == math.log(10.0)).all()  # no spread: every draw is the value


def test_location_draws_do_not_depend_on_the_other_columns():
    rng = np.random.default_rng(3)
    U = rng.lognormal(size=(5, 4))
    U[1, 2] = np.nan  # a key missing in one run
    full = stats.location_draws(U, 500, stats.rng(7, "env"))
    for cols in ([0], [2], [3, 1]):
        part = stats.location_draws(U[:, cols], 500, stats.rng(7, "env"))
        np.testing.assert_array_equal(part, full[:, cols])


@pytest.mark.parametrize("n_draws", [1, 2, 7, 2000])
def test_location_draws_are_the_weighted_sums_they_claim_to_be(n_draws):
    """location_draws sums only the first half of its antithetic draws and negates it for the second
    half; every draw must equal the plain formula mean + (g . D) / sqrt(n (n-1)) / sqrt(chi2/df),
    summed over all units, with the same generator."""
    rng = np.random.default_rng(11)
    U = rng.lognormal(size=(6, 5))
    U[2, 1] = np.nan
    got = stats.location_draws(U, n_draws, stats.rng(3, "env"))

    gen = stats.rng(3, "env")  # the same draws in the same order as location_draws makes them
    half = (n_draws + 1) // 2
    g = gen.standard_normal((half, 6))
    g = np.vstack([g, -g])[:n_draws]
    df = np.arange(1, 6)
    u = np.vstack([gen.chisquare(df, size=(half, 5)) / df] * 2)[:n_draws]
    L = np.log(U)
    for k in range(5):
        ok = np.isfinite(L[:, k])
        n, mean = ok.sum(), L[ok, k].mean()
        z = sum(g[:, j] * (L[j, k] - mean) for j in range(6) if ok[j])
        np.testing.assert_allclose(got[:, k], mean + z / math.sqrt(n * (n - 1)) / np.sqrt(u[:, n - 2]), rtol=1e-12)


def test_location_draws_refuse_zero_and_single_units():
    d = stats.location_draws(np.array([[0.0, 1.0, np.nan], [2.0, np.nan, 3.0]]), 10, np.random.default_rng(0))
    assert np.isnan(d[:, 0]).all() and np.isnan(d[:, 1]).all() and np.isnan(d[:, 2]).all()


@pytest.mark.parametrize("df", [1, 2, 3.5, 7, 40, 200])
@pytest.mark.parametrize("q", [0.025, 0.05, 0.5, 0.95, 0.975])
def test_chi2_cdf_against_numpy_sampling(df, q):
    """chi2_cdf at numpy's sampled quantile gives back the probability (to sampling precision)."""
    x = np.quantile(np.random.default_rng(int(df * 10)).chisquare(df, 400_000), q)
    assert stats.chi2_cdf(float(x), df) == pytest.approx(q, abs=0.004)


def test_chi2_cdf_known_values():
    # exact: chi2(2) is exponential with mean 2
    for x in (0.1, 1.0, 5.0, 30.0):
        assert stats.chi2_cdf(x, 2) == pytest.approx(1 - math.exp(-x / 2), rel=1e-12)
    assert stats.chi2_cdf(3.841459, 1) == pytest.approx(0.95, abs=1e-6)


def test_noisy_is_a_test_with_an_unknown_answer():
    assert stats.noisy(0.30, 2) is True  # a 30% spread: above 10% even with two runs
    assert stats.noisy(0.02, 10) is False  # a 2% spread over ten runs: below 10%
    assert stats.noisy(0.09, 3) is None  # cannot tell with three runs
    assert stats.noisy(0.05, 1) is None and stats.noisy(float("nan"), 5) is None


if __name__ == "__main__":  # the README's coverage table
    print("| runs per side | sigma (log sd) | coverage of intervals claiming 95% | median width (high/low) |")
    print("|---|---|---|---|")
    for n in (2, 3, 5, 8, 10, 25):
        for s in (0.01, 0.05, 0.2, 0.5):
            ov = simulate(n, n, s, s, seed=n * 100 + int(s * 100))
            cov, claims = coverage(ov)
            width = float(np.median(ov["ci_high"] / ov["ci_low"]))
            print(f"| {n} | {s} | {cov:.1%} of {claims} | {width:.3g} |")
