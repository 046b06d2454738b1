"""What the machine is doing while a benchmark runs: usable cores, the CPU time other processes take,
and waiting for a child process with its resource usage. Shared by ``bench.py`` and ``getsummary.py``."""

from __future__ import annotations

import os
import subprocess
import time


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_busy() -> float:
    """Busy CPU-seconds of the whole machine since boot, all cores (/proc/stat; 0 where unavailable)."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def foreign_load(seconds: float = 2.0) -> float:
    """Cores kept busy by other processes over ``seconds`` (this process sleeps meanwhile)."""
    b = cpu_busy()
    time.sleep(seconds)
    return (cpu_busy() - b) / seconds


def wait4(proc: subprocess.Popen, timeout: float):
    """``os.wait4`` of ``proc`` with a timeout: (pid, status, rusage); the rusage covers the child and
    its waited-for descendants (an ingest's worker processes). subprocess.TimeoutExpired after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, ru
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.005)
