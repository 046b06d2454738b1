"""The overhead model: what virtualization is expected to cost an application.

Two estimates, both built on baseline-matched lmbench slowdowns (``vizlib.normalise``):

**Share-based** (the method of the source article). An application spends shares ``w_i`` of
its run time on the baseline in the OS-operation categories ``cpu, memory, disk, network,
kernel`` (the shares sum to 1). Category ``i`` runs ``s_i`` times slower in the virtual
environment, ``s_i`` being the slowdown of the lmbench metric that represents the category
(virtual/baseline for latencies, baseline/virtual for bandwidths). The expected relative run
time is ``R = sum(w_i * s_i)`` and the expected overhead ``(R - 1) * 100`` %. The 95 % interval
of ``R`` comes from the *joint* bootstrap replicates of the slowdowns (the same resampled runs
for every metric of an environment in a replicate): ``R_b = sum(w_i * s_i_b)``, then the 2.5
and 97.5 percentiles. The largest contributor is the category with the largest
``w_i * (s_i - 1)``.

**Count-based.** From measured operation counts (``strace -c -f`` and GNU ``time -v``, parsed
by ``vizlib.appprofile``): added time = sum over operations of ``count * (virtual latency -
baseline latency)``, with the medians of the runs. Syscalls with no lmbench counterpart are
listed, never guessed.

Both are estimates (``CAVEAT``): a rough trend, not a prediction of a measured number.

The pure functions take DataFrames; :func:`load_inputs` does the loading, :func:`cli` is
``python -m vizlib estimate``. For interactive use, :func:`prepare` turns the inputs into
arrays once and :func:`evaluate` computes an estimate from them in well under a millisecond.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .catalogue import CATEGORIES

__all__ = [
    "CAVEAT", "CATEGORIES", "DEFAULT_MIX", "ESTIMATE_COLUMNS", "COUNT_COLUMNS", "MixError", "InputsError",
    "parse_mix", "validate_mix", "format_mix", "resolve_mix", "rebalance",
    "category_slowdowns", "prepare", "evaluate", "estimate", "contributions", "sensitivity",
    "AppProfile", "read_profile", "count_breakdown", "count_estimate",
    "ModelInputs", "load_inputs", "inputs_from_tables", "inputs_from_context", "read_profile_files", "cli",
]

CAVEAT = (
    "This is an estimate, not a measurement. It combines lmbench micro-benchmark slowdowns with "
    "assumed shares of OS work, so it shows a rough trend and hints at the bottleneck. The real "
    "overhead also depends on the share and order of the application's OS work, its load pattern "
    "and the other guests on the host: measure the real application before deciding."
)

DEFAULT_MIX = "cpu=0.4,memory=0.2,disk=0.2,network=0.1,kernel=0.1"
"""The mix used when none is given (notebook 04's default parameter, the CLI without --mix)."""

MIX_TOLERANCE = 1e-6
CI_LEVEL = 0.95
_Q_LOW, _Q_HIGH = 2.5, 97.5  # exact literals: 100 * (1 - 0.95) / 2 is 2.5000000000000022

ESTIMATE_COLUMNS = ["environment", "baseline", "relative_time", "overhead_pct", "ci_low", "ci_high",
                    "largest_category"]
"""The share-based estimate's columns (``estimate`` adds ``note``; the CLI's CSV has exactly these)."""

COUNT_COLUMNS = ["environment", "baseline", "added_seconds", "ci_low_s", "ci_high_s", "app_elapsed_s",
                 "elapsed_increase_pct", "app_cpu_s", "cpu_increase_pct", "largest_metric",
                 "missing_metrics", "unknown_syscalls", "note"]


class MixError(ValueError):
    """A mix that is not a set of non-negative category shares summing to 1."""


class InputsError(ValueError):
    """The processed tables the model needs are missing or unusable."""


# --- mixes ---------------------------------------------------------------------------------------

_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*?)\s*$")
_EXAMPLE = "e.g. 'cpu=0.5,memory=0.2,disk=0.2,network=0.1'"


def validate_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """Check a ``{category: share}`` mapping; return it with every category (left-out ones 0).

    Shares must be finite, non-negative, not all zero, and sum to 1 within ``1e-6``;
    categories must be among ``CATEGORIES``. Anything else raises :class:`MixError`.
    """
    unknown = [c for c in mix if c not in CATEGORIES]
    if unknown:
        raise MixError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
                       f"the categories are {', '.join(CATEGORIES)}")
    out = {}
    for c in CATEGORIES:
        v = mix.get(c, 0.0)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise MixError(f"share of {c} is not a number: {v!r}") from None
        if not math.isfinite(v):
            raise MixError(f"share of {c} is {v}; shares must be finite numbers")
        if v < 0:
            raise MixError(f"share of {c} is negative ({v:g}); shares are fractions of run time, 0 to 1")
        out[c] = v
    total = sum(out.values())
    if total == 0:
        raise MixError(f"all shares are zero; give at least one category a share, {_EXAMPLE}")
    if abs(total - 1.0) > MIX_TOLERANCE:
        hint = (" (they look like percentages: write 0.4 for 40%)" if abs(total - 100) <= 100 * MIX_TOLERANCE
                else "")
        raise MixError(f"shares sum to {total:.6g}, not 1{hint}; categories left out count as 0")
    return out


def parse_mix(text: str) -> dict[str, float]:
    """``"cpu=0.5,memory=0.2,disk=0.2,network=0.1"`` -> ``{cpu: .5, memory: .2, disk: .2, network: .1, kernel: 0}``.

    The one mix syntax of the suite (notebook parameters, the CLI, the widgets' ``data-mix``):
    comma-separated ``category=share`` items, shares as fractions summing to 1 (within 1e-6);
    left-out categories get 0. ``category:share`` is accepted too, because papermill's parameter
    inspection skips a parameters-cell line holding more than one ``=``, so the notebooks write
    their default with colons. Malformed text, an unknown or repeated category, a negative,
    non-numeric or non-finite share, all zeros or a wrong sum raise :class:`MixError`.
    """
    if not isinstance(text, str):
        raise MixError(f"a mix is a string like {_EXAMPLE}, not {type(text).__name__}")
    if not text.strip():
        raise MixError(f"empty mix; give category shares, {_EXAMPLE}")
    shares: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            raise MixError(f"empty item in mix {text!r} (doubled or trailing comma?)")
        m = _ITEM.match(part)
        if not m:
            raise MixError(f"malformed item {part.strip()!r} in mix {text!r}: expected category=share "
                           f"(or category:share), {_EXAMPLE}")
        cat, raw = m.group(1).lower(), m.group(2)
        if cat not in CATEGORIES:
            raise MixError(f"unknown category {cat!r} in mix {text!r}; the categories are {', '.join(CATEGORIES)}")
        if cat in shares:
            raise MixError(f"category {cat!r} appears twice in mix {text!r}")
        try:
            value = float(raw)
        except ValueError:
            pct = " (write fractions: 0.4, not 40%)" if raw.endswith("%") else ""
            raise MixError(f"share of {cat} is not a number: {raw!r}{pct}") from None
        shares[cat] = value
    return validate_mix(shares)


def format_mix(mix: Mapping[str, float], digits: int | None = None) -> str:
    """The mix as ``parse_mix`` text; categories with share 0 are left out.

    ``digits=None`` keeps full precision (``repr``), so ``parse_mix(format_mix(m)) == m``.
    """
    items = []
    for c in CATEGORIES:
        v = float(mix.get(c, 0.0))
        if v > 0:
            items.append(f"{c}={repr(v) if digits is None else format(v, f'.{digits}g')}")
    return ",".join(items)


def resolve_mix(value) -> dict[str, float]:
    """A mix from a dict, ``parse_mix`` text or a preset name (``vizlib.presets.PRESETS``)."""
    if isinstance(value, Mapping):
        return validate_mix(value)
    if isinstance(value, str) and "=" not in value and ":" not in value and value.strip():
        from . import presets

        name = value.strip()
        if name in presets.PRESETS:
            return validate_mix(presets.PRESETS[name].mix)
        raise MixError(f"{name!r} is neither a mix ({_EXAMPLE}) nor a preset ({', '.join(presets.PRESETS)})")
    return parse_mix(value)


def rebalance(mix: Mapping[str, float], category: str, value: float) -> dict[str, float]:
    """Set ``category``'s share to ``value`` and keep the shares summing to 1.

    The rule shared by the widgets, the offline panel and :func:`sensitivity`: the other
    categories are rescaled in proportion to their current shares so that they absorb the
    difference (their ratios are kept). If they are all zero (``category`` had everything),
    the remainder is split equally among them. ``value`` is clipped to [0, 1].
    """
    if category not in CATEGORIES:
        raise MixError(f"unknown category {category!r}; the categories are {', '.join(CATEGORIES)}")
    value = min(1.0, max(0.0, float(value)))
    others = [c for c in CATEGORIES if c != category]
    rest = sum(float(mix.get(c, 0.0)) for c in others)
    remaining = 1.0 - value
    out = {}
    for c in CATEGORIES:
        if c == category:
            out[c] = value
        elif rest > 0:
            out[c] = float(mix.get(c, 0.0)) * remaining / rest
        else:
            out[c] = remaining / len(others)
    return out


# --- category slowdowns --------------------------------------------------------------------------

CATEGORY_COLUMNS = ["environment", "baseline", "category", "metric", "param", "slowdown", "ci_low", "ci_high",
                    "n_virtual", "n_baseline", "note"]


def category_slowdowns(overhead_df: pd.DataFrame, representatives: Mapping | None = None) -> pd.DataFrame:
    """One row per (virtual environment, category): the slowdown of the category's representative.

    ``representatives`` maps category -> ``(metric, param)`` (param ``None`` = the largest size
    measured on both sides); categories left out keep ``vizlib.normalise.DEFAULT_REPRESENTATIVES``.
    Built on ``normalise.category_summary``. A representative not measured on both sides of an
    environment gives a row with ``slowdown`` NaN and a ``note``: never dropped, never taken as 0.
    Columns ``CATEGORY_COLUMNS``.
    """
    from . import normalise

    reps = dict(normalise.DEFAULT_REPRESENTATIVES)
    if representatives is not None:
        unknown = [c for c in representatives if c not in CATEGORIES]
        if unknown:
            raise MixError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))} "
                           f"in representatives; the categories are {', '.join(CATEGORIES)}")
        reps.update(representatives)
    reps = {c: reps[c] for c in CATEGORIES}
    cs = normalise.category_summary(overhead_df, reps)
    notes = []
    for r in cs.itertuples(index=False):
        if _finite(r.slowdown):
            notes.append("")
        else:
            what = r.metric + (f" {r.param}" if r.param else "")
            notes.append(f"no {r.category} value: {what} not measured on both {r.environment} and {r.baseline}")
    cs = cs.assign(note=notes)
    return cs[CATEGORY_COLUMNS].reset_index(drop=True)


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# --- the fast core -------------------------------------------------------------------------------


@dataclass
class Prepared:
    """Category slowdowns and replicates as arrays, for repeated evaluation (widgets, panel)."""

    environments: list[str]
    baselines: list[str]
    slowdown: np.ndarray  # E x C, NaN where the representative is missing
    replicates: np.ndarray | None  # E x B x C, NaN where missing; None = no replicates at all
    interval_reason: list[list[str]]  # E x C: "" or why this category gives no interval
    missing_reason: list[list[str]]  # E x C: "" or why the slowdown is missing
    representative: list[list[str]]  # E x C: "metric param" for messages
    _rep_arrays: tuple | None = field(default=None, repr=False)

    def replicate_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(replicates with NaN as 0, NaN mask), computed once."""
        if self._rep_arrays is None:
            self._rep_arrays = (np.nan_to_num(self.replicates, nan=0.0), np.isnan(self.replicates))
        return self._rep_arrays


def prepare(category_slowdowns: pd.DataFrame, replicates: pd.DataFrame | None) -> Prepared:
    """Arrays from a category-slowdown frame (``category_slowdowns``) and bootstrap replicates.

    ``replicates`` has ``environment, metric, param, replicate, slowdown`` (joint replicates from
    ``vizlib.normalise.bootstrap_replicates``); ``None`` gives NaN intervals.
    """
    cs = category_slowdowns
    envs = list(dict.fromkeys(cs["environment"]))
    base = cs.drop_duplicates("environment").set_index("environment")["baseline"]
    E, C = len(envs), len(CATEGORIES)
    S = np.full((E, C), np.nan)
    interval_reason = [[""] * C for _ in range(E)]
    missing_reason = [[""] * C for _ in range(E)]
    rep_label = [[""] * C for _ in range(E)]
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
        if not _finite(r["slowdown"]):
            missing_reason[i][j] = r.get("note") or f"no {r['category']} representative for {r['environment']}"
            continue
        S[i, j] = float(r["slowdown"])
        nv, nb = r.get("n_virtual"), r.get("n_baseline")
        if nv is not None and nb is not None and _finite(nv) and _finite(nb) and min(nv, nb) < 2:
            side = "virtual" if nv < 2 else "baseline"
            interval_reason[i][j] = (f"only one run on the {side} side of {rep_label[i][j]}: "
                                     "run-to-run spread unknown, no interval")
        keys.setdefault((r["environment"], r["metric"], param), []).append((i, j))

    R = None
    if replicates is not None and len(replicates):
        rp = replicates
        n_boot = int(rp["replicate"].max()) + 1
        R = np.full((E, n_boot, C), np.nan)
        params = rp["param"].fillna("").astype(str)
        groups = rp.assign(param=params).groupby(["environment", "metric", "param"], sort=False)
        for (env, metric, param), grp in groups:
            for i, j in keys.get((env, metric, param), ()):
                R[i, grp["replicate"].to_numpy(dtype=int), j] = grp["slowdown"].to_numpy(dtype=float)
    return Prepared(envs, [str(base[e]) for e in envs], S, R, interval_reason, missing_reason, rep_label)


def _weights(mix: Mapping[str, float]) -> np.ndarray:
    return np.array([float(mix.get(c, 0.0)) for c in CATEGORIES])


def _percentile_pair(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(values, [_Q_LOW, _Q_HIGH])
    return float(lo), float(hi)


def _fast_percentiles(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.percentile(x, [2.5, 97.5], axis=-1)`` (method "linear"), bit for bit, via one partition.

    Uses numpy's own interpolation formula (``_lerp``), so the results equal ``np.percentile``'s.
    """
    n = x.shape[-1]
    out = []
    kth = set()
    pos = []
    for q in (_Q_LOW, _Q_HIGH):
        h = (n - 1) * (q / 100.0)
        lo = int(math.floor(h))
        hi_i = min(lo + 1, n - 1)
        pos.append((lo, hi_i, h - lo))
        kth.update((lo, hi_i))
    part = np.partition(x, sorted(kth), axis=-1)
    for lo, hi_i, t in pos:
        a, b = part[..., lo], part[..., hi_i]
        diff = b - a
        res = a + diff * t
        if t >= 0.5:
            res = b - diff * (1 - t)
        out.append(res)
    return out[0], out[1]


def _core(prep: Prepared, w: np.ndarray, with_notes: bool = True):
    """relative time, interval, largest category and notes per environment for weights ``w``.

    Replicates in which a weighted category is undefined (NaN) are left out of the interval, as
    ``vizlib.normalise`` does for single metrics; the note says how many were used.
    """
    act = np.flatnonzero(w > 0)
    wa = w[act]
    S = prep.slowdown[:, act]
    rel = (S * wa).sum(axis=1)  # NaN where a weighted category is missing
    E = len(prep.environments)
    lo = np.full(E, np.nan)
    hi = np.full(E, np.nan)
    used = np.zeros(E, dtype=int)
    if prep.replicates is not None and len(act):
        rb = (prep.replicates[:, :, act] * wa).sum(axis=2)  # E x B
        fin = ~np.isnan(rb)
        used = fin.sum(axis=1)
        full = used == rb.shape[1]
        if full.all():
            lo, hi = _fast_percentiles(rb)
        else:
            for i in range(E):
                if used[i]:
                    lo[i], hi[i] = _percentile_pair(rb[i, fin[i]])
    largest = []
    notes = []
    contrib = (S - 1.0) * wa
    for i in range(E):
        miss = [prep.missing_reason[i][j] for j in act if np.isnan(prep.slowdown[i, j])]
        if miss:
            rel[i] = lo[i] = hi[i] = np.nan
            largest.append("")
            notes.append("; ".join(miss) if with_notes else "")
            continue
        largest.append(CATEGORIES[act[int(np.argmax(contrib[i]))]] if len(act) else "")
        note = []
        reasons = [prep.interval_reason[i][j] for j in act if prep.interval_reason[i][j]]
        if reasons:
            note.extend(reasons)
            lo[i] = hi[i] = np.nan
        elif prep.replicates is None:
            note.append("no bootstrap replicates: no interval")
        elif used[i] == 0:
            note.append("no usable bootstrap replicate for the weighted categories: no interval")
        elif used[i] < prep.replicates.shape[1]:
            note.append(f"interval from {used[i]} of {prep.replicates.shape[1]} replicates (the others are "
                        "undefined for a weighted category)")
        notes.append("; ".join(note) if with_notes else "")
    return rel, lo, hi, largest, notes


def evaluate(prep: Prepared, mix: Mapping[str, float]) -> pd.DataFrame:
    """The share-based estimate from prepared arrays (``mix`` must already be valid).

    Same result as :func:`estimate`; this is the fast path the widgets call on every change.
    """
    rel, lo, hi, largest, notes = _core(prep, _weights(mix))
    return pd.DataFrame({
        "environment": prep.environments,
        "baseline": prep.baselines,
        "relative_time": rel,
        "overhead_pct": (rel - 1.0) * 100.0,
        "ci_low": lo,
        "ci_high": hi,
        "largest_category": largest,
        "note": notes,
    })


def estimate(category_slowdowns: pd.DataFrame, replicates: pd.DataFrame | None, mix) -> pd.DataFrame:
    """Share-based estimate, one row per virtual environment.

    Columns ``ESTIMATE_COLUMNS`` plus ``note``: ``relative_time`` = ``sum(w_i * s_i)``,
    ``overhead_pct`` = ``(relative_time - 1) * 100``, ``ci_low``/``ci_high`` = the 95 %
    percentile interval of ``relative_time`` over the joint bootstrap replicates,
    ``largest_category`` = argmax of ``w_i * (s_i - 1)`` over weighted categories.

    A weighted category with no representative makes that environment's row NaN with a
    ``note`` (never a silent 0); a representative measured by a single run on either side, or
    missing replicates, gives a NaN interval with a ``note``. ``mix`` is a dict, mix text or
    preset name.
    """
    return evaluate(prepare(category_slowdowns, replicates), resolve_mix(mix))


def contributions(category_slowdowns: pd.DataFrame, mix) -> pd.DataFrame:
    """Per environment and category: ``weight, slowdown, contribution = w * (s - 1)``.

    The contributions of an environment add up to ``relative_time - 1``; the bars of the
    "where does the overhead come from" view.
    """
    mix = resolve_mix(mix)
    df = category_slowdowns[["environment", "baseline", "category", "metric", "param", "slowdown"]].copy()
    df["weight"] = df["category"].map(mix).astype(float)
    df["contribution"] = df["weight"] * (df["slowdown"] - 1.0)
    df.loc[df["weight"] == 0, "contribution"] = 0.0
    return df.reset_index(drop=True)


def sensitivity(category_slowdowns: pd.DataFrame, mix, category: str, steps: int = 21,
                replicates: pd.DataFrame | None = None, prepared: Prepared | None = None) -> pd.DataFrame:
    """Estimate as ``category``'s share goes from 0 to 1 in ``steps`` steps (others rescaled by :func:`rebalance`).

    Columns ``environment, category, share, relative_time, overhead_pct, ci_low, ci_high``.
    Pass ``prepared`` (from :func:`prepare`) to reuse arrays; then the first two arguments are
    ignored.
    """
    mix = resolve_mix(mix)
    if category not in CATEGORIES:
        raise MixError(f"unknown category {category!r}; the categories are {', '.join(CATEGORIES)}")
    if steps < 2:
        raise ValueError("steps must be at least 2")
    prep = prepared if prepared is not None else prepare(category_slowdowns, replicates)
    shares = np.linspace(0.0, 1.0, steps)
    W = np.array([_weights(rebalance(mix, category, x)) for x in shares])  # steps x C
    act = W > 0
    E = len(prep.environments)
    S = prep.slowdown
    missing = (np.isnan(S)[:, None, :] & act[None, :, :]).any(axis=2)  # E x steps
    rel = (np.nan_to_num(S, nan=0.0)[:, None, :] * W[None, :, :]).sum(axis=2)
    rel[missing] = np.nan
    lo = np.full((E, steps), np.nan)
    hi = np.full((E, steps), np.nan)
    if prep.replicates is not None:
        R0, Rnan = prep.replicate_arrays()
        rb = np.ascontiguousarray(np.transpose(R0 @ W.T, (0, 2, 1)))  # E x steps x B
        no_iv = np.array([[bool(x) for x in row] for row in prep.interval_reason], dtype=bool)
        bad = missing | (no_iv[:, None, :] & act[None, :, :]).any(axis=2)
        if Rnan.any():
            undefined = np.transpose(Rnan.astype(float) @ act.T.astype(float), (0, 2, 1)) > 0
            rb[undefined] = np.nan
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanpercentile(rb, [_Q_LOW, _Q_HIGH], axis=2)
        else:
            lo, hi = _fast_percentiles(rb)
        lo[bad] = np.nan
        hi[bad] = np.nan
    return pd.DataFrame({
        "environment": np.repeat(prep.environments, steps),
        "category": category,
        "share": np.tile(shares, E),
        "relative_time": rel.ravel(),
        "overhead_pct": (rel.ravel() - 1.0) * 100.0,
        "ci_low": lo.ravel(),
        "ci_high": hi.ravel(),
    })


# --- count-based estimate ------------------------------------------------------------------------

COUNT_PARAMS: dict[str, str] = {"ctx_switch": "2p/0K", "mmap_latency": "smallest"}
"""Which lmbench row prices an operation counted by ``vizlib.appprofile``.

Metrics not listed use param ``""``. ``ctx_switch``: 2 processes, no working set (the figure
lmbench's own summary shows). ``mmap_latency``: ``"smallest"`` = the smallest mapping size
measured on both sides, because most mappings an application makes (malloc, the loader) are far
smaller than lmbench's sizes; even the smallest size overstates a small mapping's cost.
"""

_TO_US = {"us": 1.0, "ns": 1e-3}


@dataclass(frozen=True)
class AppProfile:
    """Operation counts of one application run, with what could not be mapped."""

    counts: dict  # metric id -> operations
    unknown_syscalls: tuple = ()  # syscall names with no lmbench counterpart (most calls first)
    unknown_calls: int = 0
    total_calls: int = 0
    elapsed_s: float | None = None  # GNU time -v wall clock
    cpu_s: float | None = None  # GNU time -v user + system
    strace_seconds: float | None = None  # strace's total (system time inside syscalls, under ptrace)
    source: str = ""


def read_profile(strace_text: str, time_v_text: str | None = None, *, strace_source: str = "<strace>",
                 time_v_source: str = "<time -v>") -> AppProfile:
    """Parse ``strace -c -f`` (and optionally GNU ``time -v``) output into an :class:`AppProfile`.

    Raises ``vizlib.appprofile.AppProfileError`` (with source and line) for text that is not a
    complete report.
    """
    from . import appprofile

    summary = appprofile.parse_strace_summary(strace_text, source=strace_source)
    tv = appprofile.parse_time_v(time_v_text, source=time_v_source) if time_v_text and time_v_text.strip() else None
    counts = appprofile.operation_counts(summary, tv)
    _mapped, unknown = appprofile.map_syscalls(summary)
    calls = summary.calls_by_syscall()
    return AppProfile(
        counts=dict(counts),
        unknown_syscalls=tuple(unknown),
        unknown_calls=sum(calls[n] for n in unknown),
        total_calls=summary.total_calls,
        elapsed_s=tv.elapsed_seconds if tv else None,
        cpu_s=(tv.user_seconds + tv.system_seconds) if tv else None,
        strace_seconds=summary.total_seconds,
        source=strace_source if tv is None else f"{strace_source} + {time_v_source}",
    )


def _count_rows(overhead_df: pd.DataFrame, counts: Mapping[str, int], params: Mapping[str, str] | None):
    """(env, baseline) -> list of (metric, param, count, row-or-None) for the counted metrics."""
    params = {**COUNT_PARAMS, **(params or {})}
    od = overhead_df.copy()
    od["param"] = od["param"].fillna("").astype(str)
    out = {}
    for (env, base), grp in od.groupby(["environment", "baseline"], sort=False):
        by_metric = {m: g for m, g in grp.groupby("metric", sort=False)}
        items = []
        for metric, count in counts.items():
            if not count:
                continue
            g = by_metric.get(metric)
            want = params.get(metric, "")
            row = None
            if g is not None:
                g = g[np.isfinite(g["virtual_median"].astype(float)) & np.isfinite(g["baseline_median"].astype(float))]
                if want == "smallest":
                    num = pd.to_numeric(g["param"], errors="coerce")
                    if num.notna().any():
                        row = g.loc[num.idxmin()]
                        want = row["param"]
                else:
                    hit = g[g["param"] == want]
                    row = hit.iloc[0] if len(hit) else None
            items.append((metric, "" if want == "smallest" else want, int(count), row))
        out[(env, base)] = items
    return out


def count_breakdown(overhead_df: pd.DataFrame, counts: Mapping[str, int],
                    params: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per environment and counted metric: ``count, baseline_us, virtual_us, delta_us, added_seconds``.

    ``added_seconds = count * (virtual_us - baseline_us) / 1e6`` with the medians of the runs.
    Metrics with no lmbench row on both sides get NaN (``note`` says so).
    """
    rows = []
    for (env, base), items in _count_rows(overhead_df, counts, params).items():
        for metric, param, count, r in items:
            rec = {"environment": env, "baseline": base, "metric": metric, "param": param, "count": count,
                   "baseline_us": np.nan, "virtual_us": np.nan, "delta_us": np.nan, "added_seconds": np.nan,
                   "note": ""}
            if r is None:
                rec["note"] = f"{metric}{' ' + param if param else ''} not measured on both {env} and {base}"
            elif r["unit"] not in _TO_US or r["direction"] != "lower":
                rec["note"] = f"{metric} is not a latency (unit {r['unit']}); not counted"
            else:
                f = _TO_US[r["unit"]]
                rec.update(baseline_us=float(r["baseline_median"]) * f, virtual_us=float(r["virtual_median"]) * f)
                rec["delta_us"] = rec["virtual_us"] - rec["baseline_us"]
                rec["added_seconds"] = count * rec["delta_us"] / 1e6
            rows.append(rec)
    return pd.DataFrame(rows, columns=["environment", "baseline", "metric", "param", "count", "baseline_us",
                                       "virtual_us", "delta_us", "added_seconds", "note"])


def count_estimate(overhead_df: pd.DataFrame, profile: AppProfile, replicates: pd.DataFrame | None = None,
                   params: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Count-based estimate, one row per virtual environment (``COUNT_COLUMNS``).

    ``added_seconds`` = sum over counted operations of ``count * (virtual - baseline latency)``.
    The interval uses the joint bootstrap replicates of the slowdowns: per replicate,
    ``sum(count * baseline_median * (s_b - 1))`` -- the run-to-run spread of each ratio, with
    the baseline latency held at its median.

    Relative figures use the application's times from GNU ``time -v`` (measured without
    strace): ``elapsed_increase_pct = added / elapsed`` answers "how much longer will it run"
    and is the headline; ``cpu_increase_pct = added / (user + sys)`` is shown beside it (for a
    single-threaded CPU-bound program the two agree). strace's own total is not used: it is
    system time inside syscalls only, inflated by ptrace, not the application's run time.
    Without ``time -v`` only added seconds are given.
    """
    bd = count_breakdown(overhead_df, profile.counts, params)
    prep_keys = {}
    if replicates is not None and len(replicates):
        rp = replicates.assign(param=replicates["param"].fillna("").astype(str))
        for key, grp in rp.groupby(["environment", "metric", "param"], sort=False):
            prep_keys[key] = grp.sort_values("replicate")["slowdown"].to_numpy(dtype=float)
    nruns = {}
    od = overhead_df.assign(param=overhead_df["param"].fillna("").astype(str))
    for r in od.itertuples(index=False):
        nruns[(r.environment, r.metric, r.param)] = (getattr(r, "n_virtual", 2), getattr(r, "n_baseline", 2))
    unknown = ", ".join(profile.unknown_syscalls)
    rows = []
    for (env, base), g in bd.groupby(["environment", "baseline"], sort=False):
        ok = g[g["added_seconds"].notna()]
        missing = g[g["added_seconds"].isna()]
        added = float(ok["added_seconds"].sum())
        notes = []
        lo = hi = np.nan
        reps, why = [], ""
        for r in ok.itertuples(index=False):
            nv, nb = nruns.get((env, r.metric, r.param), (2, 2))
            if min(nv, nb) < 2:
                why = f"only one run on a side of {r.metric}: no interval"
                break
            arr = prep_keys.get((env, r.metric, r.param))
            if arr is None:
                why = "no bootstrap replicates: no interval"
                break
            reps.append(r.count * r.baseline_us * (arr - 1.0) / 1e6)
        if why:
            notes.append(why)
        elif reps:
            lo, hi = np.percentile(np.sum(reps, axis=0), [_Q_LOW, _Q_HIGH])
        if len(missing):
            notes.append("not counted: " + "; ".join(missing["note"]))
        if profile.unknown_syscalls:
            notes.append(f"{profile.unknown_calls} of {profile.total_calls} syscalls have no lmbench counterpart "
                         "and are not counted")
        elapsed, cpu = profile.elapsed_s, profile.cpu_s
        ep = cp = np.nan
        if elapsed is None:
            notes.append("no time -v: no relative figure")
        elif elapsed > 0:
            ep = added / elapsed * 100
        else:
            notes.append("time -v elapsed is 0.00 s (below its resolution): no relative figure")
        if cpu is not None and cpu > 0:
            cp = added / cpu * 100
        largest = ok.loc[ok["added_seconds"].idxmax(), "metric"] if len(ok) else ""
        rows.append({
            "environment": env, "baseline": base, "added_seconds": added, "ci_low_s": lo, "ci_high_s": hi,
            "app_elapsed_s": np.nan if elapsed is None else elapsed, "elapsed_increase_pct": ep,
            "app_cpu_s": np.nan if cpu is None else cpu, "cpu_increase_pct": cp, "largest_metric": largest,
            "missing_metrics": ", ".join(missing["metric"]), "unknown_syscalls": unknown, "note": "; ".join(notes),
        })
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


# --- loading -------------------------------------------------------------------------------------


@dataclass
class ModelInputs:
    """Everything the model needs from one processed folder, loaded once.

    Replicates are computed for a set of representatives on first use and cached, so
    switching a category's representative back and forth is cheap.
    """

    processed_dir: Path
    raw_dir: Path
    tidy: pd.DataFrame
    manifest: object
    overhead: pd.DataFrame
    representatives: dict
    n_boot: int = 2000
    seed: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(self.overhead["environment"]))

    def categories(self, representatives: Mapping | None = None) -> pd.DataFrame:
        return category_slowdowns(self.overhead, self.representatives if representatives is None else representatives)

    def replicates(self, keys) -> pd.DataFrame:
        """Joint bootstrap replicates for ``keys`` (``(metric, param)`` pairs with concrete params), cached.

        ``normalise`` seeds its draws per (seed, environment), so replicates computed in separate
        calls are still joint: replicate b uses the same resampled runs for every metric.
        """
        from . import normalise

        keys = sorted({(m, "" if p is None else str(p)) for m, p in keys})
        todo = [k for k in keys if k not in self._cache]
        if todo:
            rp = normalise.bootstrap_replicates(self.tidy, self.manifest, keys=todo, n_boot=self.n_boot,
                                                seed=self.seed)
            for k in todo:
                self._cache[k] = rp.iloc[0:0]
            for k, grp in rp.groupby(["metric", "param"], sort=False):
                self._cache[k] = grp
        parts = [self._cache[k] for k in keys]
        return pd.concat(parts, ignore_index=True) if parts else None

    def prepared(self, representatives: Mapping | None = None) -> tuple[pd.DataFrame, Prepared]:
        cs = self.categories(representatives)
        keys = {(r.metric, r.param) for r in cs.itertuples(index=False) if _finite(r.slowdown)}
        reps = self.replicates(keys) if keys else None
        return cs, prepare(cs, reps)

    def estimate(self, mix, representatives: Mapping | None = None) -> pd.DataFrame:
        return evaluate(self.prepared(representatives)[1], resolve_mix(mix))

    def count_estimate(self, profile: AppProfile, params: Mapping[str, str] | None = None) -> pd.DataFrame:
        bd = count_breakdown(self.overhead, profile.counts, params)
        keys = {(r.metric, r.param) for r in bd.itertuples(index=False) if _finite(r.added_seconds)}
        reps = self.replicates(keys) if keys else None
        return count_estimate(self.overhead, profile, reps, params)


def inputs_from_tables(tidy: pd.DataFrame, manifest, *, processed_dir=None, raw_dir=None, representatives=None,
                       n_boot: int = 2000, seed: int = 0) -> ModelInputs:
    """:class:`ModelInputs` from an already loaded tidy table and manifest (normalised in memory)."""
    from . import normalise, paths

    known = set(manifest.environments)
    stray = sorted(set(tidy["environment"]) - known)
    if stray:
        raise InputsError(f"the tidy table has environments {', '.join(stray)} that the manifest {manifest.path} "
                          "does not name: pass the raw folder these tables were ingested from")
    try:
        overhead = normalise.overhead(tidy, manifest, seed=seed, n_boot=n_boot)
    except normalise.NormaliseError as exc:
        raise InputsError(str(exc)) from None
    if not len(overhead):
        raise InputsError("no virtual environment with a measured baseline: nothing to estimate")
    reps = dict(normalise.DEFAULT_REPRESENTATIVES)
    reps.update(representatives or {})
    return ModelInputs(Path(processed_dir) if processed_dir else paths.PROCESSED,
                       Path(raw_dir) if raw_dir else paths.RAW, tidy, manifest, overhead,
                       {c: reps[c] for c in CATEGORIES}, n_boot, seed)


def inputs_from_context(ctx, *, n_boot: int = 2000, seed: int = 0) -> ModelInputs:
    """:class:`ModelInputs` from a notebook's ``vizlib.notebook.setup`` context (same tables, same representatives)."""
    return inputs_from_tables(ctx.tidy, ctx.manifest, processed_dir=ctx.processed_dir, raw_dir=ctx.raw_dir,
                              representatives=getattr(ctx, "representatives", None), n_boot=n_boot, seed=seed)


def load_inputs(processed_dir=None, raw_dir=None, *, ingest_if_missing: bool = False, representatives=None,
                n_boot: int = 2000, seed: int = 0) -> ModelInputs:
    """Load the tidy table and the manifest and normalise in memory, for the model.

    ``processed_dir`` defaults to ``vizlib.paths.PROCESSED``, ``raw_dir`` (whose manifest names
    the baselines) to ``vizlib.paths.RAW``; relative paths are taken from the project root.
    Missing tables raise :class:`InputsError` (run ``python -m vizlib ingest`` first), unless
    ``ingest_if_missing``, which ingests ``raw_dir`` into ``processed_dir`` first.
    """
    from . import manifest as manifest_mod, normalise, paths
    from .ingest import TIDY

    processed = paths.resolve(processed_dir) if processed_dir not in (None, "") else paths.PROCESSED
    raw = paths.resolve(raw_dir) if raw_dir not in (None, "") else paths.RAW
    if not (processed / TIDY).is_file():
        if not ingest_if_missing:
            raise InputsError(f"no processed tables in {processed} ({TIDY} missing): run `python -m vizlib ingest` "
                              "first")
        from .ingest import ingest

        ingest(raw, processed)
    tidy = normalise.load_tidy(processed)
    man = manifest_mod.load(raw, check_folders=False)
    return inputs_from_tables(tidy, man, processed_dir=processed, raw_dir=raw, representatives=representatives,
                              n_boot=n_boot, seed=seed)


def read_profile_files(strace_file, time_v_file=None) -> AppProfile:
    """:func:`read_profile` from files (paths relative to the project root); OSError if unreadable."""
    from . import paths

    sp = paths.resolve(strace_file)
    tp = paths.resolve(time_v_file) if time_v_file else None
    return read_profile(sp.read_text(encoding="utf-8", errors="replace"),
                        tp.read_text(encoding="utf-8", errors="replace") if tp else None,
                        strace_source=str(strace_file), time_v_source=str(time_v_file or "<time -v>"))


# --- command line --------------------------------------------------------------------------------


def _fmt(x, spec: str) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _print_footer(lines: list[str], out) -> None:
    for line in lines:
        print(line, file=out)


def cli(args) -> int:
    """``python -m vizlib estimate``: one row per virtual environment.

    ``--mix`` (or a preset name; default ``DEFAULT_MIX``) gives the share-based estimate,
    ``--strace FILE [--time-v FILE]`` the count-based one. ``--format csv`` prints the CSV on
    stdout (share-based: exactly ``ESTIMATE_COLUMNS``) and the notes and caveat on stderr.
    """
    from . import paths
    from .appprofile import AppProfileError
    from .cli import UsageError

    strace, time_v = getattr(args, "strace", None), getattr(args, "time_v", None)
    if strace is not None and args.mix:
        raise UsageError("--mix and --strace are two different estimates (shares vs measured counts); pass one")
    if time_v is not None and strace is None:
        raise UsageError("--time-v adds times to a count-based estimate: pass --strace FILE too")
    mix = None
    if strace is None:
        try:
            mix = resolve_mix(args.mix if args.mix else DEFAULT_MIX)
        except MixError as exc:
            raise UsageError(f"bad --mix: {exc}") from None
    profile = None
    if strace is not None:
        texts = []
        for p in (strace, time_v):
            if p is None:
                texts.append(None)
                continue
            try:
                texts.append(Path(p).read_text(encoding="utf-8", errors="replace"))
            except OSError as exc:
                raise UsageError(f"cannot read {p}: {exc.strerror or exc}") from None
        try:
            profile = read_profile(texts[0], texts[1], strace_source=str(strace),
                                   time_v_source=str(time_v) if time_v else "<time -v>")
        except AppProfileError as exc:
            raise UsageError(str(exc)) from None
    # command-line paths are relative to the shell's working directory, not the project root
    processed = Path(getattr(args, "processed", None) or paths.PROCESSED).resolve()
    raw = getattr(args, "raw", None)
    try:
        inputs = load_inputs(processed, Path(raw).resolve() if raw else None)
    except InputsError as exc:
        raise UsageError(str(exc)) from None

    out = sys.stdout
    fmt = getattr(args, "format", "table")
    csv_mode = fmt == "csv"
    footer_out = sys.stderr if csv_mode else out
    footer: list[str] = []
    if profile is None:
        cs, prep = inputs.prepared()
        res = evaluate(prep, mix)
        reps = ", ".join(f"{c}={m} {p if p is not None else '(largest size on both sides)'}".rstrip()
                         for c, (m, p) in inputs.representatives.items())
        footer.append(f"mix: {format_mix(mix)}")
        footer.append(f"representatives: {reps}")
        if csv_mode:
            res[ESTIMATE_COLUMNS].to_csv(out, index=False, lineterminator="\n")
        else:
            table = pd.DataFrame({
                "environment": res["environment"], "baseline": res["baseline"],
                "relative_time": [_fmt(x, ".3f") for x in res["relative_time"]],
                "overhead_pct": [_fmt(x, "+.1f") for x in res["overhead_pct"]],
                "ci_low": [_fmt(x, ".3f") for x in res["ci_low"]],
                "ci_high": [_fmt(x, ".3f") for x in res["ci_high"]],
                "largest_category": res["largest_category"],
            })
            print(table.to_string(index=False), file=out)
            footer.append("relative_time = sum(share x slowdown of the category's lmbench metric); "
                          f"ci = {CI_LEVEL:.0%} bootstrap interval of relative_time over the runs")
        for r in res.itertuples(index=False):
            if r.note:
                footer.append(f"note: {r.environment}: {r.note}")
    else:
        res = inputs.count_estimate(profile)
        if csv_mode:
            res.to_csv(out, index=False, lineterminator="\n")
        else:
            table = pd.DataFrame({
                "environment": res["environment"], "baseline": res["baseline"],
                "added_s": [_fmt(x, ".6f") for x in res["added_seconds"]],
                "ci_low_s": [_fmt(x, ".6f") for x in res["ci_low_s"]],
                "ci_high_s": [_fmt(x, ".6f") for x in res["ci_high_s"]],
                "elapsed_+%": [_fmt(x, "+.1f") for x in res["elapsed_increase_pct"]],
                "cpu_+%": [_fmt(x, "+.1f") for x in res["cpu_increase_pct"]],
                "largest_metric": res["largest_metric"],
            })
            print(table.to_string(index=False), file=out)
            footer.append("added_s = sum(count x (virtual - baseline latency)); "
                          f"ci = {CI_LEVEL:.0%} bootstrap interval")
        footer.append("counted operations: " + ", ".join(f"{m}={n}" for m, n in profile.counts.items()))
        if profile.unknown_syscalls:
            footer.append(f"syscalls with no lmbench counterpart (not counted, {profile.unknown_calls} of "
                          f"{profile.total_calls} calls): {', '.join(profile.unknown_syscalls)}")
        for r in res.itertuples(index=False):
            if r.note:
                footer.append(f"note: {r.environment}: {r.note}")
    footer.append(CAVEAT)
    _print_footer(footer, footer_out)
    return 0
