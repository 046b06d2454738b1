"""An application's mix derived from its profile on the baseline, not guessed.

Inputs: GNU ``time -v`` of one run (user, system and elapsed time, page faults, context switches;
run without strace) and ``strace -c -f`` of a separate run (calls per system call). The rule:

1. **cpu** = user time. lmbench's integer items stand for user-mode computation.
2. **system time** is split over the kinds of kernel work in proportion to what each costs on the
   baseline at ``count_model``'s prices (the same operation counts and refinements as the
   count-based estimate: a fork+exec pair is one ``proc_exec``, an mmap is priced without the page
   faults ``time -v`` already counts, send/receive calls as a share of a TCP round trip; a call
   with no lmbench item costs a null system call). The kinds, as the validation issue defines
   them (not lmbench's own categories: there ``mmap`` is disk and ``read`` kernel):
   - **memory**: page faults (``time -v``), ``mmap``/``munmap``/``brk``/``mprotect``/``madvise``...;
   - **disk**: file I/O and metadata: ``read``/``write`` and friends, ``open``/``close``,
     ``stat``, ``getdents``, ``fsync``, ``unlink``, ``rename``...;
   - **network**: socket calls and readiness waits (``socket``, ``connect``, ``accept``,
     ``send*``/``recv*``, ``poll``/``select``/``epoll``);
   - **kernel**: everything else, process creation and context switches included.
   ``strace -c`` cannot tell a ``read`` of a file from one of a socket or pipe: all count as disk.
3. **waiting** = elapsed − user − system (never below 0): time the application was neither
   computing nor in the kernel (device I/O, sleeping, waiting for a peer). Nothing in the share
   model slows it down, so the expected relative time is
   ``R = wait + (1 − wait) · Σ w_i s_i``, with ``wait`` as a fraction of the elapsed time and
   the mix ``w`` over the busy time. The interval is transformed the same way (it is linear).

strace's own time column is not used: under ptrace it is inflated, and for blocking calls
(``wait4``, ``poll``) it is waiting, not kernel work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from . import appprofile, count_model, share_model
from .catalogue import CATEGORIES
from .errors import AppProfileError, VizlibError
from .mix import format_mix
from .tables import DERIVED_ESTIMATE_COLUMNS

MEMORY_SYSCALLS = frozenset({
    "mmap", "mmap2", "munmap", "mremap", "brk", "mprotect", "madvise", "mlock", "mlock2", "munlock", "mlockall",
    "munlockall", "msync", "mincore", "membarrier", "userfaultfd", "pkey_mprotect"})
DISK_SYSCALLS = frozenset({
    "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
    "open", "openat", "openat2", "creat", "close", "close_range", "stat", "lstat", "fstat", "newfstatat", "statx",
    "fstatat64", "stat64", "lstat64", "fstat64", "access", "faccessat", "faccessat2", "getdents", "getdents64",
    "lseek", "_llseek", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "truncate", "ftruncate", "fallocate", "chmod", "fchmod",
    "fchmodat", "chown", "fchown", "fchownat", "lchown", "utimensat", "utime", "utimes", "futimesat", "readlink",
    "readlinkat", "link", "linkat", "symlink", "symlinkat", "copy_file_range", "sendfile", "splice", "tee",
    "fadvise64", "flock", "statfs", "fstatfs", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr",
    "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr", "chdir", "fchdir", "getcwd", "dup", "dup2",
    "dup3", "fcntl", "ioctl", "io_uring_enter", "io_submit", "io_getevents"})
NETWORK_SYSCALLS = frozenset({
    "socket", "socketpair", "connect", "accept", "accept4", "bind", "listen", "sendto", "sendmsg", "sendmmsg",
    "recvfrom", "recvmsg", "recvmmsg", "shutdown", "setsockopt", "getsockopt", "getsockname", "getpeername", "poll",
    "ppoll", "select", "pselect6", "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2"})


def syscall_category(name: str) -> str:
    """The kind of OS work a system call is, for the derived mix (see the module's rule)."""
    if name in MEMORY_SYSCALLS:
        return "memory"
    if name in DISK_SYSCALLS:
        return "disk"
    if name in NETWORK_SYSCALLS:
        return "network"
    return "kernel"


@dataclass(frozen=True)
class DerivedMix:
    """A mix derived from a profile: shares of the busy time, and the waiting fraction."""

    mix: dict  # category -> share of user + system time (sums to 1)
    wait_fraction: float  # share of the elapsed time spent neither computing nor in the kernel
    seconds: dict = field(default_factory=dict)  # user, system, elapsed, wait and each category's seconds
    note: str = ""


def metric_kind(metric: str) -> str:
    """The kind of OS work an lmbench item prices in the derived mix: that of the system calls
    mapped to it (``appprofile.SYSCALL_TO_METRIC``); faults are memory, switches kernel."""
    fixed = {"pagefault": "memory", "ctx_switch": "kernel", "tcp_latency": "network"}
    if metric in fixed:
        return fixed[metric]
    names = [name for name, m in appprofile.SYSCALL_TO_METRIC.items() if m == metric]
    return syscall_category(names[0]) if names else "kernel"


def kernel_weights(profile: count_model.AppProfile, prices: Mapping[str, float], null_us: float,
                   pricing: count_model.Pricing = count_model.Pricing()) -> dict[str, float]:
    """Microseconds of kernel work per kind by lmbench's baseline prices (rule step 2).

    ``prices`` maps an lmbench metric id to the baseline latency in us (as ``count_model`` prices
    it); an operation whose metric has no price costs ``null_us``, as does each call with no lmbench
    item. Calls lmbench times as the second half of a pair (``close``, ``munmap``, ``wait4``) and
    the fork of a fork+exec pair cost nothing, as in the count-based model.
    """
    counts, unpriced = count_model.priced_counts(profile, pricing)
    weights = dict.fromkeys(CATEGORIES, 0.0)
    for metric, n in counts.items():
        price = prices.get(metric, null_us)
        weights[metric_kind(metric)] += n * (price if np.isfinite(price) else null_us)
    calls = dict(profile.syscalls)
    for name in unpriced:
        weights[syscall_category(name)] += calls.get(name, 0) * null_us
    return weights


def derive_mix(time_v: appprofile.TimeV, profile: count_model.AppProfile, prices: Mapping[str, float],
               baseline: str = "the baseline", pricing: count_model.Pricing = count_model.Pricing()) -> DerivedMix:
    """The mix of one application on one baseline (``profile``: its operation counts,
    ``count_model.profile_of``; ``prices``: that baseline's lmbench latencies, us)."""
    user, system, elapsed = time_v.user_seconds, time_v.system_seconds, time_v.elapsed_seconds
    busy = user + system
    if busy <= 0:
        raise AppProfileError(time_v.source, 0, "user + system time is 0.00 s (below time -v's resolution): "
                                                "no mix can be derived")
    null_us = prices.get("syscall_null", np.nan)
    if not np.isfinite(null_us):
        raise VizlibError(f"{baseline} has no null system call (syscall_null) measured to price kernel work "
                          "with: no mix can be derived")
    weights = kernel_weights(profile, prices, null_us, pricing)
    total = sum(weights.values())
    note = ""
    if total <= 0:
        weights, total = {**dict.fromkeys(CATEGORIES, 0.0), "kernel": 1.0}, 1.0
        note = "no counted kernel work: system time counted as kernel"
    seconds = {c: system * weights[c] / total for c in CATEGORIES}
    seconds["cpu"] += user
    mix = {c: seconds[c] / busy for c in CATEGORIES}
    wait = max(0.0, elapsed - busy)
    span = max(elapsed, busy)
    return DerivedMix(mix, wait / span if span > 0 else 0.0,
                      {"user": user, "system": system, "elapsed": elapsed, "wait": wait, **seconds}, note)


def _prices(breakdown: pd.DataFrame) -> dict[str, float]:
    return {r.metric: r.baseline_us for r in breakdown.itertuples(index=False) if np.isfinite(r.baseline_us)}


PRICED_METRICS = tuple(dict.fromkeys(list(appprofile.SYSCALL_TO_METRIC.values()) + ["pagefault", "ctx_switch",
                                                                                     "syscall_null", "tcp_latency"]))


def derived_estimates(inputs, time_v: appprofile.TimeV, strace: appprofile.StraceSummary,
                      environments=None, pricing: count_model.Pricing = count_model.Pricing()
                      ) -> tuple[pd.DataFrame, dict]:
    """The share-based estimate for an application's derived mix, per virtual environment of ``inputs``
    (``vizlib.inputs.ModelInputs``; ``environments``: only these): ``DERIVED_ESTIMATE_COLUMNS`` (the
    estimate's columns, the waiting fraction and the mix), and the ``DerivedMix`` of each
    environment (each is derived with its own baseline's prices, by ``pricing``). An environment whose mix cannot
    be derived gets a row of missing numbers whose ``note`` says why."""
    profile = count_model.profile_of(strace, time_v)
    bd = count_model.count_breakdown(inputs.overhead, {m: 1 for m in PRICED_METRICS}, pricing=pricing)
    _cs, prep = inputs.prepared()
    envs = [e for e in prep.environments if environments is None or e in set(environments)]
    rows, mixes = [], {}
    for env in envs:
        baseline = inputs.manifest.environments[env].baseline
        try:
            d = derive_mix(time_v, profile, _prices(bd[bd["environment"] == env]), baseline, pricing)
        except VizlibError as exc:
            rows.append({"environment": env, "baseline": baseline, "relative_time": np.nan,
                         "overhead_pct": np.nan, "ci_low": np.nan, "ci_high": np.nan, "ci_level": np.nan,
                         "largest_category": "", "wait_fraction": np.nan, "mix": "", "note": str(exc)})
            continue
        mixes[env] = d
        r = share_model.evaluate(prep.select([env]), d.mix).iloc[0]
        f = d.wait_fraction
        scale = (lambda x: f + (1.0 - f) * x)
        rel = scale(r["relative_time"])
        rows.append({"environment": env, "baseline": r["baseline"], "relative_time": rel,
                     "overhead_pct": (rel - 1.0) * 100.0, "ci_low": scale(r["ci_low"]), "ci_high": scale(r["ci_high"]),
                     "ci_level": r["ci_level"], "largest_category": r["largest_category"], "wait_fraction": f,
                     "mix": format_mix(d.mix, digits=4), "note": "; ".join(x for x in (r["note"], d.note) if x)})
    return pd.DataFrame(rows, columns=DERIVED_ESTIMATE_COLUMNS), mixes
