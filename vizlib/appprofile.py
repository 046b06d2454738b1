"""Application profiles from measured counts: ``strace -c`` and GNU ``time -v``.

Instead of guessing what share of its time an application spends in each
kind of operation, a user can paste two things they can measure:

* the summary table printed by ``strace -c -f`` (calls per syscall), and
* optionally the output of GNU ``/usr/bin/time -v`` (page faults, context
  switches, CPU times).

This module parses both, maps syscall names onto lmbench metric ids and
turns them into operation counts.  The predictor elsewhere in vizlib then
computes ``added time = sum(count * (virtual latency - baseline latency))``.

Design rules:

* Parsing is strict.  A malformed row, a table without its ``total`` row or a
  total that does not add up raises :class:`AppProfileError` naming the
  source and the 1-based line, because a silently truncated paste would
  silently shrink the prediction.
* Syscalls that have no sensible lmbench counterpart are *listed* as
  unknown (:func:`unknown_syscalls`), never guessed.
* Some lmbench metrics time a *pair* of operations (open+close, mmap+munmap,
  fork+exit+wait).  The second half of such a pair is mapped to the same
  metric with weight 0 (:data:`FOLDED_SYSCALLS`) so it is accounted for, not
  reported as unknown, and not counted twice.

The reference layout is the one printed by strace 6.1 (``/usr/bin/strace``
on the machine that captured ``tests/data/strace``); older 4.x/5.x tables
(blank ``usecs/call`` in the total row) and ``-U`` column selections are
accepted too, because the parser reads the column layout from the header and
the dashed separator rather than assuming fixed positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import AppProfileError

__all__ = [
    "AppProfileError",
    "StraceRow",
    "StraceSummary",
    "TimeV",
    "MappedRow",
    "METRIC_IDS",
    "SYSCALL_TO_METRIC",
    "FOLDED_SYSCALLS",
    "METRIC_NOTES",
    "UNMAPPED_NOTES",
    "parse_strace_summary",
    "parse_time_v",
    "mapping_table",
    "map_syscalls",
    "unknown_syscalls",
    "operation_counts",
]


# ---------------------------------------------------------------------------
# strace -c summary table
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StraceRow:
    """One row of the summary table (also used for the ``total`` row).

    ``errors`` is 0 when strace left the column blank (it prints nothing for
    zero).  Time columns are ``None`` when absent from the table (``-U``) or,
    for ``usecs_per_call``, blank (total row of strace < 5).  ``personality``
    is ``None`` for the native table and e.g. ``"32 bit"`` for the extra
    table strace prints for 32-bit tracees.
    """

    syscall: str
    calls: int
    errors: int
    seconds: float | None
    usecs_per_call: int | None
    percent_time: float | None
    min_seconds: float | None
    max_seconds: float | None
    lineno: int
    personality: str | None = None


@dataclass(frozen=True)
class StraceSummary:
    """Parsed ``strace -c`` output: the syscall rows and the ``total`` row(s).

    ``total_calls``/``total_errors``/``total_seconds`` are taken from the
    ``total`` row(s) strace printed (summed over personalities); the parser
    has already checked that the calls and errors add up.
    """

    source: str
    rows: tuple[StraceRow, ...]
    total_rows: tuple[StraceRow, ...]

    @property
    def total_calls(self) -> int:
        return sum(t.calls for t in self.total_rows)

    @property
    def total_errors(self) -> int:
        return sum(t.errors for t in self.total_rows)

    @property
    def total_seconds(self) -> float | None:
        secs = [t.seconds for t in self.total_rows]
        return None if any(s is None for s in secs) else sum(secs)  # type: ignore[arg-type]

    def calls_by_syscall(self) -> dict[str, int]:
        """Calls per syscall name, summed over personalities, table order."""
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.syscall] = out.get(row.syscall, 0) + row.calls
        return out


# Header labels strace prints (src/count.c), and the field each fills.
_COLUMNS = {
    "% time": "percent_time",
    "seconds": "seconds",
    "usecs/call": "usecs_per_call",
    "calls": "calls",
    "errors": "errors",
    "syscall": "syscall",
    "shortest": "min_seconds",
    "longest": "max_seconds",
}
# Columns strace may leave blank: errors when 0 ("%.0" format), and
# usecs/call in the total row of old (4.x) versions.
_MAY_BE_BLANK = {"errors": 0, "usecs_per_call": None}
_DIVIDER_RE = re.compile(r"^-+(?: -+)*$")
_PERSONALITY_RE = re.compile(r"^System call usage summary for (.+) mode:$")
_SYSCALL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _header_fields(line: str) -> list[str] | None:
    """Field names if ``line`` is a summary-table header, else ``None``."""
    tokens = line.replace("% time", "%time").split()
    fields = []
    for tok in tokens:
        label = "% time" if tok == "%time" else tok
        if label not in _COLUMNS:
            return None
        fields.append(_COLUMNS[label])
    if "calls" not in fields or "syscall" not in fields or len(set(fields)) != len(fields):
        return None
    return fields


def _spans(divider: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"-+", divider)]


def _to_float(text: str) -> float:
    # strace honours LC_NUMERIC, so pastes from e.g. de_DE use a comma.
    return float(text.replace(",", "."))


_CONVERT: dict[str, Callable[[str], object]] = {
    "percent_time": _to_float,
    "seconds": _to_float,
    "min_seconds": _to_float,
    "max_seconds": _to_float,
    "usecs_per_call": int,
    "calls": int,
    "errors": int,
    "syscall": str,
}


def _split_row(
    line: str, fields: list[str], spans: list[tuple[int, int]], where: Callable[[str], AppProfileError]
) -> dict[str, object]:
    """Split a data/total line into column values.

    When every column is filled the tokens are taken in order (this also
    copes with numbers wider than their column).  When some are blank the
    tokens are placed by position: numeric columns are right-aligned, the
    syscall column left-aligned, as strace prints them.  Positions are
    re-anchored on the first token so that a paste that lost its leading
    blanks still lines up.
    """
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", line)]
    if len(tokens) > len(fields):
        raise where(f"expected at most {len(fields)} columns, found {len(tokens)}")
    if len(tokens) == len(fields):
        raw = {f: tok[2] for f, tok in zip(fields, tokens)}
    else:
        shift = 0
        if tokens and fields[0] not in _MAY_BE_BLANK:
            if fields[0] == "syscall":
                shift = spans[0][0] - tokens[0][0]
            else:
                shift = spans[0][1] - tokens[0][1]
        raw = {}
        for start, end, text in tokens:
            start, end = start + shift, end + shift
            for i, (field, (c0, c1)) in enumerate(zip(fields, spans)):
                if field == "syscall":
                    last = i == len(fields) - 1
                    hit = c0 <= start and (last or start < c1)
                else:
                    hit = c0 <= end - 1 < c1
                if hit:
                    if field in raw:
                        raise where(f"two values in the {field!r} column")
                    raw[field] = text
                    break
            else:
                raise where(f"value {text!r} does not line up with any column")
        missing = [f for f in fields if f not in raw and f not in _MAY_BE_BLANK]
        if missing:
            raise where(f"missing value for column(s) {', '.join(missing)}")
    values: dict[str, object] = {f: _MAY_BE_BLANK[f] for f in fields if f not in raw}
    for field, text in raw.items():
        try:
            values[field] = _CONVERT[field](text)
        except ValueError:
            raise where(f"bad {field} value {text!r}") from None
        if field in ("calls", "errors", "usecs_per_call") and values[field] < 0:  # type: ignore[operator]
            raise where(f"negative {field} value {text!r}")
    if not _SYSCALL_NAME_RE.match(str(values["syscall"])):
        raise where(f"bad syscall name {values['syscall']!r}")
    return values


def _make_row(values: dict[str, object], lineno: int, personality: str | None) -> StraceRow:
    return StraceRow(
        syscall=values["syscall"],  # type: ignore[arg-type]
        calls=values["calls"],  # type: ignore[arg-type]
        errors=values.get("errors", 0),  # type: ignore[arg-type]
        seconds=values.get("seconds"),  # type: ignore[arg-type]
        usecs_per_call=values.get("usecs_per_call"),  # type: ignore[arg-type]
        percent_time=values.get("percent_time"),  # type: ignore[arg-type]
        min_seconds=values.get("min_seconds"),  # type: ignore[arg-type]
        max_seconds=values.get("max_seconds"),  # type: ignore[arg-type]
        lineno=lineno,
        personality=personality,
    )


def parse_strace_summary(text: str, source: str = "<text>") -> StraceSummary:
    """Parse the summary table of ``strace -c`` / ``strace -c -f``.

    Accepts the whole captured stream: program output and ``strace: Process N
    attached`` lines before the table are skipped, CRLF line ends are fine,
    and a second table introduced by ``System call usage summary for 32 bit
    mode:`` is read as another personality.  Anything that looks like the
    table but is not complete (bad row, missing separator or ``total`` row,
    totals that do not add up) raises :class:`AppProfileError`.
    """
    lines = [ln.expandtabs().rstrip() for ln in text.splitlines()]
    rows: list[StraceRow] = []
    totals: list[StraceRow] = []
    personality: str | None = None
    pending_personality: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _PERSONALITY_RE.match(line.strip())
        if m:
            pending_personality = m.group(1)
            i += 1
            continue
        fields = _header_fields(line)
        if fields is None:
            i += 1
            continue
        header_no = i + 1
        if totals and pending_personality is None:
            raise AppProfileError(
                source, header_no,
                "a second summary table without a 'System call usage summary for ... mode:' "
                "line; paste one strace -c report at a time",
            )
        personality, pending_personality = pending_personality, None
        if i + 1 >= len(lines) or not _DIVIDER_RE.match(lines[i + 1].strip()):
            raise AppProfileError(source, header_no + 1, "expected the dashed separator under the table header")
        divider = lines[i + 1]
        spans = _spans(divider)
        if len(spans) != len(fields):
            raise AppProfileError(
                source, header_no + 1,
                f"separator has {len(spans)} columns but the header has {len(fields)}",
            )
        table_rows: list[StraceRow] = []
        j = i + 2
        while True:
            if j >= len(lines):
                raise AppProfileError(
                    source, len(lines),
                    f"table starting at line {header_no} ends without the closing separator "
                    "and 'total' row (truncated paste?)",
                )
            row_line = lines[j]
            if _DIVIDER_RE.match(row_line.strip()):
                break
            lineno = j + 1
            if not row_line.strip():
                raise AppProfileError(source, lineno, "blank line inside the summary table (truncated paste?)")

            def where(reason: str, _n: int = lineno) -> AppProfileError:
                return AppProfileError(source, _n, f"malformed strace -c row: {reason}")

            values = _split_row(row_line, fields, spans, where)
            if values["syscall"] == "total":
                raise where("'total' row before the closing separator")
            table_rows.append(_make_row(values, lineno, personality))
            j += 1
        total_no = j + 2
        if j + 1 >= len(lines) or not lines[j + 1].strip():
            raise AppProfileError(source, total_no, "expected the 'total' row after the closing separator")

        def where_total(reason: str) -> AppProfileError:
            return AppProfileError(source, total_no, f"malformed strace -c total row: {reason}")

        tvalues = _split_row(lines[j + 1], fields, spans, where_total)
        if tvalues["syscall"] != "total":
            raise where_total(f"expected 'total', found {tvalues['syscall']!r}")
        total = _make_row(tvalues, total_no, personality)
        row_calls = sum(r.calls for r in table_rows)
        row_errors = sum(r.errors for r in table_rows)
        if total.calls != row_calls or total.errors != row_errors:
            raise where_total(
                f"total says {total.calls} calls/{total.errors} errors but the rows add up to "
                f"{row_calls}/{row_errors} (edited or partly pasted table?)"
            )
        rows.extend(table_rows)
        totals.append(total)
        i = j + 2
    if not totals:
        raise AppProfileError(
            source, 1 if not lines else len(lines),
            "no strace -c summary table found (expected a header like "
            "'% time     seconds  usecs/call     calls    errors syscall')",
        )
    return StraceSummary(source=source, rows=tuple(rows), total_rows=tuple(totals))


# ---------------------------------------------------------------------------
# GNU time -v
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeV:
    """The parts of GNU ``time -v`` output vizlib uses.

    Counts cover the timed process and the children it waited for (they come
    from ``wait4``'s rusage).  Measure *without* strace: ptrace stops inflate
    context switches by orders of magnitude.
    """

    source: str
    user_seconds: float
    system_seconds: float
    elapsed_seconds: float
    major_faults: int
    minor_faults: int
    voluntary_ctx_switches: int
    involuntary_ctx_switches: int
    max_rss_kb: int | None = None
    exit_status: int | None = None
    command: str | None = None

    @property
    def page_faults(self) -> int:
        return self.major_faults + self.minor_faults

    @property
    def context_switches(self) -> int:
        return self.voluntary_ctx_switches + self.involuntary_ctx_switches


def _parse_elapsed(text: str) -> float:
    # GNU time prints "h:mm:ss" when an hour or more passed, else "m:ss.cc".
    m = re.fullmatch(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)", text)
    if not m:
        raise ValueError(text)
    hours = int(m.group(1) or 0)
    return hours * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _nonneg_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


# label -> (TimeV field, converter, required)
_TIME_V_FIELDS: dict[str, tuple[str, Callable[[str], object], bool]] = {
    "Command being timed": ("command", lambda s: s.strip('"'), False),
    "User time (seconds)": ("user_seconds", _nonneg_float, True),
    "System time (seconds)": ("system_seconds", _nonneg_float, True),
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": ("elapsed_seconds", _parse_elapsed, True),
    "Maximum resident set size (kbytes)": ("max_rss_kb", _nonneg_int, False),
    "Major (requiring I/O) page faults": ("major_faults", _nonneg_int, True),
    "Minor (reclaiming a frame) page faults": ("minor_faults", _nonneg_int, True),
    "Voluntary context switches": ("voluntary_ctx_switches", _nonneg_int, True),
    "Involuntary context switches": ("involuntary_ctx_switches", _nonneg_int, True),
    "Exit status": ("exit_status", int, False),
}


def parse_time_v(text: str, source: str = "<text>") -> TimeV:
    """Parse GNU ``/usr/bin/time -v`` output (other lines are ignored).

    Fields are recognised by their exact GNU labels.  A field given twice
    (two reports pasted together), a value that does not parse, or a report
    missing one of the counts vizlib needs raises :class:`AppProfileError`.
    """
    lines = text.splitlines()
    values: dict[str, object] = {}
    first_line = last_line = 0
    for n, line in enumerate(lines, start=1):
        stripped = line.strip()
        for label, (field, convert, _required) in _TIME_V_FIELDS.items():
            if not stripped.startswith(label + ":"):
                continue
            if field in values:
                raise AppProfileError(source, n, f"{label!r} appears twice (two time -v reports pasted?)")
            raw = stripped[len(label) + 1:].strip()
            try:
                values[field] = convert(raw)
            except ValueError:
                raise AppProfileError(source, n, f"bad value {raw!r} for {label!r}") from None
            first_line = first_line or n
            last_line = n
            break
    required = [label for label, (field, _c, req) in _TIME_V_FIELDS.items() if req]
    if not any(_TIME_V_FIELDS[label][0] in values for label in required):
        raise AppProfileError(
            source, 1 if not lines else len(lines),
            "no GNU time -v output found (expected lines like 'Minor (reclaiming a frame) page faults: 123')",
        )
    missing = [label for label in required if _TIME_V_FIELDS[label][0] not in values]
    if missing:
        raise AppProfileError(
            source, last_line,
            f"incomplete GNU time -v output (report starts at line {first_line}); missing: "
            + ", ".join(repr(m) for m in missing),
        )
    return TimeV(source=source, **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# syscall -> lmbench metric mapping
# ---------------------------------------------------------------------------

#: Metric ids this module may produce (the contract with the lmbench side).
METRIC_IDS: tuple[str, ...] = (
    "syscall_null",
    "syscall_read",
    "syscall_write",
    "syscall_stat",
    "syscall_fstat",
    "syscall_open_close",
    "select_100_fd",
    "signal_install",
    "signal_catch",
    "proc_fork",
    "proc_exec",
    "pipe_latency",
    "tcp_connect",
    "mmap_latency",
    "pagefault",
    "ctx_switch",
)

#: syscall name (as strace prints it) -> lmbench metric id.  A syscall that is
#: not a key here is reported by :func:`unknown_syscalls`, never guessed.
SYSCALL_TO_METRIC: dict[str, str] = {
    # syscall_null (lmbench "null syscall" = getppid): calls that only read or
    # store a field of the calling task -- no fd table, no path walk, no I/O --
    # so their cost is the bare kernel entry/exit that virtualization taxes.
    "getpid": "syscall_null",
    "getppid": "syscall_null",
    "gettid": "syscall_null",
    "getuid": "syscall_null",
    "geteuid": "syscall_null",
    "getgid": "syscall_null",
    "getegid": "syscall_null",
    "getresuid": "syscall_null",
    "getresgid": "syscall_null",
    "getuid32": "syscall_null",
    "geteuid32": "syscall_null",
    "getgid32": "syscall_null",
    "getegid32": "syscall_null",
    "getresuid32": "syscall_null",
    "getresgid32": "syscall_null",
    "getpgrp": "syscall_null",
    "getpgid": "syscall_null",
    "getsid": "syscall_null",
    "umask": "syscall_null",
    "set_tid_address": "syscall_null",
    "set_robust_list": "syscall_null",
    # syscall_read (lmbench reads 1 byte from /dev/zero): every read variant
    # pays the same entry + fd lookup; data copy and device time are extra and
    # not modelled.
    "read": "syscall_read",
    "pread64": "syscall_read",
    "readv": "syscall_read",
    "preadv": "syscall_read",
    "preadv2": "syscall_read",
    # syscall_write (lmbench writes 1 byte to /dev/null): same reasoning.
    "write": "syscall_write",
    "pwrite64": "syscall_write",
    "writev": "syscall_write",
    "pwritev": "syscall_write",
    "pwritev2": "syscall_write",
    # syscall_stat (lmbench stat()s a file): path walk + inode copy.  The
    # access family does the same walk without the copy.  newfstatat/statx
    # may really be fstat() (see METRIC_NOTES) -- strace -c cannot tell.
    "stat": "syscall_stat",
    "lstat": "syscall_stat",
    "stat64": "syscall_stat",
    "lstat64": "syscall_stat",
    "oldstat": "syscall_stat",
    "oldlstat": "syscall_stat",
    "newfstatat": "syscall_stat",
    "fstatat64": "syscall_stat",
    "statx": "syscall_stat",
    "access": "syscall_stat",
    "faccessat": "syscall_stat",
    "faccessat2": "syscall_stat",
    # syscall_fstat (lmbench fstat()s an open fd): no path walk.
    "fstat": "syscall_fstat",
    "fstat64": "syscall_fstat",
    "oldfstat": "syscall_fstat",
    # syscall_open_close (lmbench times open() + close() as one operation):
    # each open is charged one pair; close is folded in (weight 0, see
    # FOLDED_SYSCALLS) so it is not counted twice.
    "open": "syscall_open_close",
    "openat": "syscall_open_close",
    "openat2": "syscall_open_close",
    "close": "syscall_open_close",
    # select_100_fd (lmbench select() on 100 fds): the closest lmbench figure
    # for "wait for fd readiness"; cost scales with the fd count (see notes).
    "select": "select_100_fd",
    "_newselect": "select_100_fd",
    "pselect6": "select_100_fd",
    "poll": "select_100_fd",
    "ppoll": "select_100_fd",
    "epoll_wait": "select_100_fd",
    "epoll_pwait": "select_100_fd",
    "epoll_pwait2": "select_100_fd",
    # signal_install (lmbench sigaction()).
    "rt_sigaction": "signal_install",
    "sigaction": "signal_install",
    "signal": "signal_install",
    # signal_catch (lmbench: deliver a signal to a handler and return): every
    # caught signal ends in exactly one sigreturn, so sigreturns count them.
    "rt_sigreturn": "signal_catch",
    "sigreturn": "signal_catch",
    # proc_fork (lmbench fork + child exit + parent wait): the wait half is
    # folded in (weight 0).  clone also creates threads (see notes).
    "fork": "proc_fork",
    "vfork": "proc_fork",
    "clone": "proc_fork",
    "clone3": "proc_fork",
    "wait4": "proc_fork",
    "waitpid": "proc_fork",
    "waitid": "proc_fork",
    # proc_exec (lmbench fork + execve + exit + wait).
    "execve": "proc_exec",
    "execveat": "proc_exec",
    # tcp_connect (lmbench TCP connect to localhost).
    "connect": "tcp_connect",
    # mmap_latency (lmbench maps a file of a given size, touches it, unmaps):
    # munmap is folded in (weight 0).
    "mmap": "mmap_latency",
    "mmap2": "mmap_latency",
    "munmap": "mmap_latency",
}

#: Syscalls that are the second half of an operation lmbench times as a
#: pair; they map to that metric with weight 0 (no extra operations).
FOLDED_SYSCALLS: frozenset[str] = frozenset({"close", "munmap", "wait4", "waitpid", "waitid"})

#: Why each metric is (or is not) fed from the data, and its caveats.
METRIC_NOTES: dict[str, str] = {
    "syscall_null": "bare kernel entry/exit (lmbench getppid); only trivial getters/setters of the task are mapped",
    "syscall_read": "lmbench reads 1 byte from /dev/zero: per-call overhead only, data copy and device time not modelled",
    "syscall_write": "lmbench writes 1 byte to /dev/null: per-call overhead only, data copy and device time not modelled",
    "syscall_stat": "path walk; glibc >= 2.33 implements fstat() as newfstatat(fd, \"\", AT_EMPTY_PATH), "
    "which strace -c cannot tell apart, so such fstats are charged as stat (usually a slight overestimate)",
    "syscall_fstat": "fstat on an open fd; with glibc >= 2.33 most fstat() calls show up as newfstatat instead",
    "syscall_open_close": "one open+close pair per open/openat call (failed opens included); close has weight 0, "
    "so closes of pipes/sockets/dups are not charged",
    "select_100_fd": "lmbench figure is for 100 fds; poll/epoll on few fds is cheaper, so this tends to overestimate; "
    "time spent blocked is not overhead and is not counted",
    "signal_install": "one sigaction() per rt_sigaction call",
    "signal_catch": "counted from rt_sigreturn (one per handled signal); lmbench's figure includes the kill() that "
    "raised it",
    "proc_fork": "fork/vfork/clone/clone3 minus the forks already inside proc_exec (see operation_counts); "
    "clone for a thread is much cheaper than a process fork but strace -c cannot tell them apart",
    "proc_exec": "lmbench's fork+execve+exit+wait; includes a fork (see operation_counts)",
    "pipe_latency": "not derived from strace -c: lmbench times a pipe round trip (2 writes, 2 reads, 2 switches), "
    "and pipe reads/writes are already counted as syscall_read/syscall_write and the wakeups as ctx_switch; "
    "pipe/pipe2 (creation) are reported as unknown",
    "tcp_connect": "lmbench's TCP connect to localhost; connect on UNIX or UDP sockets is cheaper (overestimate)",
    "mmap_latency": "lmbench's mmap latency is per mapping of a given SIZE (e.g. 4m) including touching it; strace -c "
    "has no sizes and most mmaps are small (malloc, loader), so pick the lmbench size row accordingly; munmap has "
    "weight 0",
    "pagefault": "minor + major faults from time -v; major faults that wait for I/O cost far more than lmbench's "
    "page-cache fault",
    "ctx_switch": "voluntary + involuntary context switches from time -v",
}

#: Common syscalls deliberately left unmapped, and why (for docs/reports).
UNMAPPED_NOTES: dict[str, str] = {
    "pipe": "creating a pipe is not lmbench's pipe round trip (see METRIC_NOTES['pipe_latency'])",
    "pipe2": "creating a pipe is not lmbench's pipe round trip (see METRIC_NOTES['pipe_latency'])",
    "clock_gettime": "normally served by the vDSO; when it reaches the kernel the clocksource (often slow in VMs) "
    "dominates, so the null syscall would badly underestimate it",
    "gettimeofday": "same as clock_gettime",
    "futex": "cost depends on contention; wakeups show up as context switches",
    "kill": "sending is part of lmbench's signal_catch figure only for self-signals; not counted separately",
    "socket": "no lmbench socket-creation metric",
    "close_range": "closes many fds at once; not an open/close pair",
    "brk": "no lmbench metric for heap growth",
    "mprotect": "VMA split and TLB flush; no lmbench metric",
    "rt_sigprocmask": "no lmbench metric; not a sigaction",
}

_SYSCALL_NOTES: dict[str, str] = {
    "close": "folded into syscall_open_close (weight 0): the open already pays for one close",
    "munmap": "folded into mmap_latency (weight 0): lmbench's mmap figure includes the unmap",
    "wait4": "folded into proc_fork (weight 0): lmbench's fork figure includes the parent's wait",
    "waitpid": "folded into proc_fork (weight 0): lmbench's fork figure includes the parent's wait",
    "waitid": "folded into proc_fork (weight 0): lmbench's fork figure includes the parent's wait",
    "newfstatat": "also how glibc >= 2.33 implements fstat(); charged as stat",
    "statx": "may be an fstat (AT_EMPTY_PATH); charged as stat",
    "access": "path walk + permission check without copying a stat buffer",
    "faccessat": "path walk + permission check without copying a stat buffer",
    "faccessat2": "path walk + permission check without copying a stat buffer",
    "clone": "also used for threads, which are cheaper than a process fork",
    "clone3": "also used for threads, which are cheaper than a process fork",
    "epoll_wait": "cost scales with ready fds, not registered fds",
    "epoll_pwait": "cost scales with ready fds, not registered fds",
    "epoll_pwait2": "cost scales with ready fds, not registered fds",
    "rt_sigreturn": "one per signal handled by a handler",
    "sigreturn": "one per signal handled by a handler",
}


def mapping_table() -> list[tuple[str, str, str]]:
    """The mapping as data for docs: ``(syscall, metric, note)`` rows.

    Ordered by metric (in :data:`METRIC_IDS` order), then syscall name.
    """
    order = {m: i for i, m in enumerate(METRIC_IDS)}
    rows = [
        (name, metric, _SYSCALL_NOTES.get(name, METRIC_NOTES[metric]))
        for name, metric in SYSCALL_TO_METRIC.items()
    ]
    rows.sort(key=lambda r: (order[r[1]], r[0]))
    return rows


@dataclass(frozen=True)
class MappedRow:
    """A syscall from the summary with its metric.

    ``operations`` is what the predictor multiplies by the latency delta:
    ``calls`` normally, 0 for :data:`FOLDED_SYSCALLS` (``folded`` is True).
    """

    syscall: str
    metric: str
    calls: int
    operations: int
    folded: bool


def map_syscalls(summary: StraceSummary) -> tuple[list[MappedRow], list[str]]:
    """Split the summary into mapped rows and unknown syscall names.

    Calls are summed per name over personalities.  Mapped rows keep table
    order; unknown names are sorted by calls (most first), then name, so the
    biggest gaps in the estimate are listed first.
    """
    mapped: list[MappedRow] = []
    unknown: list[tuple[int, str]] = []
    for name, calls in summary.calls_by_syscall().items():
        metric = SYSCALL_TO_METRIC.get(name)
        if metric is None:
            unknown.append((calls, name))
            continue
        folded = name in FOLDED_SYSCALLS
        mapped.append(MappedRow(name, metric, calls, 0 if folded else calls, folded))
    unknown.sort(key=lambda cn: (-cn[0], cn[1]))
    return mapped, [name for _calls, name in unknown]


def unknown_syscalls(summary: StraceSummary) -> list[str]:
    """Syscall names with no lmbench metric (see :func:`map_syscalls`)."""
    return map_syscalls(summary)[1]


def operation_counts(
    strace_summary: StraceSummary,
    time_v: TimeV | None = None,
    *,
    exec_includes_fork: bool = True,
) -> dict[str, int]:
    """Operations per metric id: the counts the predictor multiplies.

    Sum of ``MappedRow.operations`` per metric; with ``time_v``,
    ``pagefault`` = minor + major faults and ``ctx_switch`` = voluntary +
    involuntary switches.  Only metrics with data appear (a present metric
    may be 0).

    Fork/exec double counting: lmbench's exec figure already contains a
    fork, exit and wait.  With ``exec_includes_fork`` (default) each
    execve except the first -- the traced command's own, whose fork happened
    outside the trace -- is assumed to follow a traced fork/clone, and that
    many forks are removed from ``proc_fork`` (never below 0).  Pass
    ``False`` to get the raw fork-family call count.
    """
    counts: dict[str, int] = {}
    for row in map_syscalls(strace_summary)[0]:
        counts[row.metric] = counts.get(row.metric, 0) + row.operations
    if exec_includes_fork and "proc_exec" in counts and "proc_fork" in counts:
        paired = min(counts["proc_fork"], max(counts["proc_exec"] - 1, 0))
        counts["proc_fork"] -= paired
    if time_v is not None:
        counts["pagefault"] = time_v.page_faults
        counts["ctx_switch"] = time_v.context_switches
    order = {m: i for i, m in enumerate(METRIC_IDS)}
    return dict(sorted(counts.items(), key=lambda kv: order[kv[0]]))
