"""The count-based overhead model: price each operation an application performed.

From measured operation counts (``strace -c -f`` and GNU ``time -v``, parsed by
``vizlib.appprofile``): added time = sum over operations of ``count * (virtual latency -
baseline latency)``, with the medians of the runs. Syscalls with no lmbench counterpart are
listed, never guessed. Relative figures use the application's own times from ``time -v``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from . import appprofile, catalogue, paths, stats
from .tables import COUNT_COLUMNS

COUNT_PARAMS: dict[str, str] = {"mmap_latency": "smallest"}
"""Which lmbench row prices an operation counted by ``vizlib.appprofile``.

Metrics not listed use their ``catalogue.DEFAULT_PARAMS`` entry (``ctx_switch``: 2 processes, no
working set, the figure lmbench's own summary shows), else param ``""``. ``mmap_latency``: ``"smallest"`` = the smallest mapping size
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
    params = {**catalogue.DEFAULT_PARAMS, **COUNT_PARAMS, **(params or {})}
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
                g = g[np.isfinite(g["virtual_value"].astype(float)) & np.isfinite(g["baseline_value"].astype(float))]
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
                rec.update(baseline_us=float(r["baseline_value"]) * f, virtual_us=float(r["virtual_value"]) * f)
                rec["delta_us"] = rec["virtual_us"] - rec["baseline_us"]
                rec["added_seconds"] = count * rec["delta_us"] / 1e6
            rows.append(rec)
    return pd.DataFrame(rows, columns=["environment", "baseline", "metric", "param", "count", "baseline_us",
                                       "virtual_us", "delta_us", "added_seconds", "note"])


def count_estimate(overhead_df: pd.DataFrame, profile: AppProfile, replicates: pd.DataFrame | None = None,
                   params: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Count-based estimate, one row per virtual environment (``COUNT_COLUMNS``).

    ``added_seconds`` = sum over counted operations of ``count * (virtual - baseline latency)``.
    The interval comes from the joint replicates of both sides' latencies (``joint_replicates``'
    ``virtual`` and ``baseline`` draws): per replicate ``sum(count * (virtual_b - baseline_b))``, so
    the run-to-run spread of the baseline counts as much as the virtual side's.

    Relative figures use the application's times from GNU ``time -v`` (measured without
    strace): ``elapsed_increase_pct = added / elapsed`` answers "how much longer will it run"
    and is the headline; ``cpu_increase_pct = added / (user + sys)`` is shown beside it (for a
    single-threaded CPU-bound program the two agree). strace's own total is not used: it is
    system time inside syscalls only, inflated by ptrace, not the application's run time.
    Without ``time -v`` only added seconds are given.
    """
    bd = count_breakdown(overhead_df, profile.counts, params)
    draws = {}
    if replicates is not None and len(replicates):
        rp = replicates.assign(param=replicates["param"].fillna("").astype(str))
        for key, grp in rp.groupby(["environment", "metric", "param"], sort=False):
            grp = grp.sort_values("replicate")
            draws[key] = grp["virtual"].to_numpy(dtype=float) - grp["baseline"].to_numpy(dtype=float)
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
            delta = draws.get((env, r.metric, r.param))
            if delta is None or np.isnan(delta).all():
                why = f"no interval for {r.metric}{' ' + r.param if r.param else ''} (a single run on a side?)"
                break
            reps.append(r.count * delta * _TO_US[catalogue.get(r.metric).unit] / 1e6)
        if why:
            notes.append(why)
        elif reps:
            lo, hi = stats.interval(np.sum(reps, axis=0))
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
        # the largest item only when something adds time (never a "largest" of negative additions)
        largest = ok.loc[ok["added_seconds"].idxmax(), "metric"] if len(ok) and ok["added_seconds"].max() > 0 else ""
        rows.append({
            "environment": env, "baseline": base, "added_seconds": added, "ci_low_s": lo, "ci_high_s": hi,
            "app_elapsed_s": np.nan if elapsed is None else elapsed, "elapsed_increase_pct": ep,
            "app_cpu_s": np.nan if cpu is None else cpu, "cpu_increase_pct": cp, "largest_metric": largest,
            "missing_metrics": ", ".join(missing["metric"]), "unknown_syscalls": unknown, "note": "; ".join(notes),
        })
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def read_profile_files(strace_file, time_v_file=None) -> AppProfile:
    """:func:`read_profile` from files (paths relative to the project root); OSError if unreadable."""
    sp = paths.resolve(strace_file)
    tp = paths.resolve(time_v_file) if time_v_file else None
    return read_profile(sp.read_text(encoding="utf-8", errors="replace"),
                        tp.read_text(encoding="utf-8", errors="replace") if tp else None,
                        strace_source=str(strace_file), time_v_source=str(time_v_file or "<time -v>"))
