"""The count-based overhead model: price each operation an application performed.

From measured operation counts (``strace -c -f`` and GNU ``time -v``, parsed by
``vizlib.appprofile``): added time = sum over operations of ``count * (virtual latency -
baseline latency)``, with the medians of the runs, plus (``Pricing``) user time slowed by the cpu
items and send/receive calls priced as a quarter of a TCP round trip. Other syscalls with no
lmbench counterpart are listed, never guessed. Relative figures use the application's own times
from ``time -v``.
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
class Pricing:
    """Refinements of the count-based model, each checked against the lab's applications
    (``06_validation`` shows the error with and without each; README: Validation).

    - ``user_time``: user-mode time also slows down, by the geometric mean of the cpu category's
      lmbench slowdowns (integer, float and double operations): added ``user × (s_cpu − 1)``.
      Without it, the model prices only kernel operations and misses emulated computation.
    - ``mmap_without_faults``: lmbench's mmap figure includes touching the mapping
      (``lat_mmap`` touches size/10 at 16 KB strides); those faults are already counted from
      ``time -v``, so each mmap is priced without them.
    - ``socket_calls``: ``send*``/``recv*`` (and ``sendmsg``/``recvmsg``...) are priced as a quarter
      of lmbench's TCP round trip each (a round trip is two sends and two receives) instead of
      being listed as unknown.
    """

    user_time: bool = True
    mmap_without_faults: bool = True
    socket_calls: bool = True


ORIGINAL = Pricing(False, False, False)  # the model before the validation's refinements
SOCKET_CALLS = frozenset({"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "send", "recv"})
SOCKET_SHARE_OF_ROUND_TRIP = 0.25
MMAP_TOUCH_STRIDE = 16 << 10  # lat_mmap.c: PSIZE
MMAP_TOUCH_PART = 10  # lat_mmap.c: N (it touches size / N)


def mmap_touches(param: str) -> int:
    """Pages ``lat_mmap`` touches in a mapping of ``param`` (MB as printed, i.e. bytes / 10^6)."""
    try:
        size = float(param) * 1e6
    except ValueError:
        return 0
    return int(np.ceil(size / MMAP_TOUCH_PART / MMAP_TOUCH_STRIDE)) if size > 0 else 0


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
    syscalls: tuple = ()  # (name, calls) of the strace summary, table order
    user_s: float | None = None  # GNU time -v user time


def read_profile(strace_text: str, time_v_text: str | None = None, *, strace_source: str = "<strace>",
                 time_v_source: str = "<time -v>") -> AppProfile:
    """Parse ``strace -c -f`` (and optionally GNU ``time -v``) output into an :class:`AppProfile`.

    Raises ``vizlib.appprofile.AppProfileError`` (with source and line) for text that is not a
    complete report.
    """
    summary = appprofile.parse_strace_summary(strace_text, source=strace_source)
    tv = appprofile.parse_time_v(time_v_text, source=time_v_source) if time_v_text and time_v_text.strip() else None
    return profile_of(summary, tv)


def profile_of(summary: appprofile.StraceSummary, tv: appprofile.TimeV | None = None) -> AppProfile:
    """The :class:`AppProfile` of parsed ``strace -c -f`` (and ``time -v``) reports."""
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
        source=summary.source if tv is None else f"{summary.source} + {tv.source}",
        syscalls=tuple(calls.items()),
        user_s=tv.user_seconds if tv else None,
    )


def priced_counts(profile: AppProfile, pricing: Pricing = Pricing()) -> tuple[dict, tuple]:
    """(operations per metric, syscalls still unpriced) under ``pricing``."""
    counts = dict(profile.counts)
    unknown = profile.unknown_syscalls
    if pricing.socket_calls:
        calls = dict(profile.syscalls)
        socket = sum(calls.get(n, 0) for n in SOCKET_CALLS)
        if socket:
            counts["tcp_latency"] = counts.get("tcp_latency", 0) + int(np.ceil(socket * SOCKET_SHARE_OF_ROUND_TRIP))
            unknown = tuple(n for n in unknown if n not in SOCKET_CALLS)
    return counts, unknown


def unpriced(profile: AppProfile, pricing: Pricing = Pricing()) -> tuple[tuple, int]:
    """(syscall names ``pricing`` leaves unpriced, how many calls they made)."""
    _counts, names = priced_counts(profile, pricing)
    calls = dict(profile.syscalls)
    return names, (sum(calls.get(n, 0) for n in names) if profile.syscalls else profile.unknown_calls)


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
                    params: Mapping[str, str] | None = None, pricing: Pricing = ORIGINAL) -> pd.DataFrame:
    """Per environment and counted metric: ``count, baseline_us, virtual_us, delta_us, added_seconds``.

    ``added_seconds = count * (virtual_us - baseline_us) / 1e6`` with the medians of the runs.
    Metrics with no lmbench row on both sides get NaN (``note`` says so). With
    ``pricing.mmap_without_faults``, an mmap's price leaves out the page faults lmbench's figure
    includes (``mmap_touches`` of them at the environment's ``pagefault`` latencies).
    """
    faults = {}
    if pricing.mmap_without_faults:
        pf = overhead_df[(overhead_df["metric"] == "pagefault")]
        faults = {r.environment: (float(r.baseline_value), float(r.virtual_value)) for r in pf.itertuples(index=False)
                  if np.isfinite(r.baseline_value) and np.isfinite(r.virtual_value)}
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
                b, v = float(r["baseline_value"]) * f, float(r["virtual_value"]) * f
                if metric == "mmap_latency" and env in faults:
                    touched = mmap_touches(str(r["param"]))
                    b, v = b - touched * faults[env][0], v - touched * faults[env][1]
                    rec["param"] = str(r["param"])
                    rec["note"] = f"priced without the {touched} page faults lmbench's mmap figure includes"
                rec.update(baseline_us=b, virtual_us=v, delta_us=v - b, added_seconds=count * (v - b) / 1e6)
            rows.append(rec)
    return pd.DataFrame(rows, columns=["environment", "baseline", "metric", "param", "count", "baseline_us",
                                       "virtual_us", "delta_us", "added_seconds", "note"])


def cpu_keys(overhead_df: pd.DataFrame) -> list[tuple[str, str]]:
    """The cpu category's (metric, param) pairs with a slowdown: what ``Pricing.user_time`` averages."""
    cpu = overhead_df[(overhead_df["category"] == "cpu") & np.isfinite(overhead_df["slowdown"].astype(float))]
    return sorted(set(zip(cpu["metric"], cpu["param"].fillna("").astype(str))))


def replicate_keys(overhead_df: pd.DataFrame, profile: AppProfile, params=None, pricing: Pricing = Pricing()) -> set:
    """The (metric, param) pairs whose joint replicates ``count_estimate`` needs."""
    counts, _unknown = priced_counts(profile, pricing)
    bd = count_breakdown(overhead_df, counts, params, pricing)
    keys = {(r.metric, r.param) for r in bd.itertuples(index=False) if np.isfinite(r.added_seconds)}
    if pricing.mmap_without_faults and "mmap_latency" in {k[0] for k in keys}:
        keys.add(("pagefault", ""))
    if pricing.user_time and profile.user_s:
        keys.update(cpu_keys(overhead_df))
    return keys


def count_estimate(overhead_df: pd.DataFrame, profile: AppProfile, replicates: pd.DataFrame | None = None,
                   params: Mapping[str, str] | None = None, pricing: Pricing = Pricing()) -> pd.DataFrame:
    """Count-based estimate, one row per virtual environment (``COUNT_COLUMNS``).

    ``added_seconds`` = sum over counted operations of ``count * (virtual - baseline latency)``,
    plus, with ``pricing.user_time``, ``user * (s_cpu - 1)``. The interval comes from the joint
    replicates of both sides' latencies (``joint_replicates``' ``virtual`` and ``baseline`` draws):
    per replicate the same sum with that replicate's values, so the run-to-run spread of the
    baseline counts as much as the virtual side's.

    Relative figures use the application's times from GNU ``time -v`` (measured without
    strace): ``elapsed_increase_pct = added / elapsed`` answers "how much longer will it run"
    and is the headline; ``cpu_increase_pct = added / (user + sys)`` is shown beside it (for a
    single-threaded CPU-bound program the two agree). strace's own total is not used: it is
    system time inside syscalls only, inflated by ptrace, not the application's run time.
    Without ``time -v`` only added seconds are given.
    """
    counts, unknown_names = priced_counts(profile, pricing)
    bd = count_breakdown(overhead_df, counts, params, pricing)
    draws, slow = {}, {}
    if replicates is not None and len(replicates):
        rp = replicates.assign(param=replicates["param"].fillna("").astype(str))
        for key, grp in rp.groupby(["environment", "metric", "param"], sort=False):
            grp = grp.sort_values("replicate")
            draws[key] = (grp["virtual"].to_numpy(dtype=float), grp["baseline"].to_numpy(dtype=float))
            slow[key] = grp["slowdown"].to_numpy(dtype=float)
    user_s = profile.user_s if pricing.user_time else None
    keys_cpu = cpu_keys(overhead_df) if user_s else []
    unknown = ", ".join(unknown_names)
    unknown_calls = unpriced(profile, pricing)[1]
    rows = []
    for (env, base), g in bd.groupby(["environment", "baseline"], sort=False):
        ok = g[g["added_seconds"].notna()]
        missing = g[g["added_seconds"].isna()]
        added = float(ok["added_seconds"].sum())
        notes = []
        reps, why = [], ""
        for r in ok.itertuples(index=False):
            d = draws.get((env, r.metric, r.param))
            if d is None or np.isnan(d[0] - d[1]).all():
                why = f"no interval for {r.metric}{' ' + r.param if r.param else ''} (a single run on a side?)"
                break
            f = _TO_US[catalogue.get(r.metric).unit]
            delta = (d[0] - d[1]) * f
            if r.metric == "mmap_latency" and pricing.mmap_without_faults and (env, "pagefault", "") in draws:
                pv, pb = draws[(env, "pagefault", "")]
                delta = delta - mmap_touches(r.param) * (pv - pb) * _TO_US[catalogue.get("pagefault").unit]
            reps.append(r.count * delta / 1e6)
        env_cpu = [k for k in keys_cpu if (env, *k) in slow]
        if user_s and env_cpu:
            point = overhead_df[(overhead_df["environment"] == env) & (overhead_df["category"] == "cpu")]
            point = point[np.isfinite(point["slowdown"].astype(float)) & (point["slowdown"].astype(float) > 0)]
            s_cpu = float(np.exp(np.log(point["slowdown"].astype(float)).mean()))
            added += user_s * (s_cpu - 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.vstack([np.log(slow[(env, *k)]) for k in env_cpu])
            reps.append(user_s * (np.exp(np.nanmean(logs, axis=0)) - 1.0))
            notes.append(f"user time {user_s:.2f} s slowed by the cpu items' geometric mean {s_cpu:.3g}\u00d7")
        lo = hi = np.nan
        if why:
            notes.append(why)
        elif reps:
            with np.errstate(invalid="ignore"):  # +inf and -inf extreme draws in one replicate: undefined
                lo, hi = stats.interval(np.sum(reps, axis=0))
        if len(missing):
            notes.append("not counted: " + "; ".join(missing["note"]))
        if unknown_names:
            notes.append(f"{unknown_calls} of {profile.total_calls} syscalls have no lmbench counterpart "
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
