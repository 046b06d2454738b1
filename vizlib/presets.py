"""Example application mixes: shares of run time per OS-operation category.

A preset is a starting point for the overhead explorer, not a measurement of your application.
Each says where its shares come from. Where a published profile exists it is cited, and the
shares are our reading of it mapped onto the suite's five categories; where none is cited the
shares are illustrative assumptions, and the rationale says so. Measure your own application
(``strace -c -f`` and ``time -v`` give the count-based estimate) whenever you can.

What the categories stand for in the model (one lmbench metric each, see
``vizlib.normalise.DEFAULT_REPRESENTATIVES``): ``cpu`` = plain user-mode computation
(integer bit operation), ``memory`` = memory-management work of the kernel (page faults),
``disk`` = file mapping / file I/O (mmap latency), ``network`` = TCP round trips, ``kernel`` =
other system-call entry and exit (null syscall). A share is the fraction of the application's
run time *on the baseline* spent in that kind of work.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Preset", "PRESETS", "BARHAM_2003", "HU_1999"]

BARHAM_2003 = ('P. Barham et al., "Xen and the Art of Virtualization", SOSP 2003, doi:10.1145/945445.945462, '
               "section 4.1 (relative performance: SPEC CPU2000, OSDB, SPEC WEB99)")
HU_1999 = ('Y. Hu, A. Nanda, Q. Yang, "Measurement, Analysis and Performance Improvement of the Apache Web '
           'Server", IEEE IPCCC 1999 (Apache under SPECweb96 and WebStone on AIX)')


@dataclass(frozen=True)
class Preset:
    name: str  # the key, usable as a mix parameter (``mix="web_server"``)
    label: str  # for menus
    mix: dict  # category -> share, summing to 1
    rationale: str
    source: str  # a citation, or "illustrative assumption"


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        name="cpu_batch",
        label="CPU-bound batch job",
        mix={"cpu": 0.95, "memory": 0.03, "disk": 0.01, "network": 0.0, "kernel": 0.01},
        rationale=(
            "A compute job (simulation, compression, a compiler's back end) runs almost entirely in "
            "user mode: its kernel work is start-up, a few page faults while the heap grows, and reading "
            "input and writing results once. Barham et al. describe SPEC CPU2000 as long-running, "
            "computationally intensive programs with little I/O and OS interaction that spend almost all "
            "their time in user space, which is why every virtualization system they measured was close "
            "to native on it. The split of the remaining few percent is an illustrative assumption."
        ),
        source=BARHAM_2003 + "; the 0.95 user share is our reading of it, the rest is assumed",
    ),
    Preset(
        name="web_server",
        label="Web server (static content)",
        mix={"cpu": 0.25, "memory": 0.05, "disk": 0.10, "network": 0.35, "kernel": 0.25},
        rationale=(
            "Hu, Nanda and Yang traced Apache serving SPECweb96/WebStone and report that it spends about "
            "20-25 % of CPU time in user code, 35-50 % in system calls and 25-40 % in interrupt handling. "
            "We take user code as cpu (0.25), the interrupt time (mostly the TCP/IP stack and network "
            "interrupts) plus the socket sends and receives as network (0.35), and split the rest of the "
            "system calls between file access (open/stat/read of the documents: disk 0.10), "
            "memory management (0.05) and other syscalls (kernel 0.25). The split inside the "
            "system-call share is our assumption; the paper's figures are from 1999 AIX hardware."
        ),
        source=HU_1999 + "; category split of the syscall share is assumed",
    ),
    Preset(
        name="database",
        label="Database server (OLTP)",
        mix={"cpu": 0.45, "memory": 0.10, "disk": 0.25, "network": 0.10, "kernel": 0.10},
        rationale=(
            "Illustrative assumption. An OLTP database spends much of its time in its own code "
            "(query execution, buffer-pool and lock management: cpu), issues many small synchronous "
            "reads and log writes (disk), touches a large buffer cache (page faults while it warms up "
            "and under memory pressure: memory), and answers clients over TCP (network). Barham et al. "
            "report that the OSDB-OLTP PostgreSQL benchmark puts considerable load on the operating "
            "system and showed large overheads under the systems with expensive kernel transitions, "
            "but give no time breakdown, so the shares here are not taken from it."
        ),
        source="illustrative assumption (qualitative support: " + BARHAM_2003 + ")",
    ),
    Preset(
        name="file_server",
        label="File server (NFS/Samba-like)",
        mix={"cpu": 0.15, "memory": 0.10, "disk": 0.40, "network": 0.25, "kernel": 0.10},
        rationale=(
            "Illustrative assumption. A file server mostly moves data between disk and network: the "
            "largest shares are file access (disk) and the network transfer, with metadata operations "
            "(stat/open/close: kernel) and page-cache management (memory); little user-mode work."
        ),
        source="illustrative assumption",
    ),
    Preset(
        name="network_proxy",
        label="Network proxy / load balancer",
        mix={"cpu": 0.20, "memory": 0.05, "disk": 0.0, "network": 0.55, "kernel": 0.20},
        rationale=(
            "Illustrative assumption. A proxy relays bytes between two TCP connections per request: "
            "most of its time is in the network stack (network), with readiness polling and other "
            "syscalls (kernel), some header parsing (cpu) and almost no disk I/O beyond logging."
        ),
        source="illustrative assumption",
    ),
)}
