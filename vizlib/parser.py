"""Parse raw lmbench output, line-accurately, with the standard library only.

One pass over the lines with a small state machine (the current series block and what bare rows
mean at this position) turns a file into measured values, header metadata and issues. Every value
keeps the 1-based line it was printed on. Lines that are not lmbench results are counted as noise;
lines that look like results but that the catalogue does not know are reported as unknown. Neither
ever becomes a value.

Accepted: lmbench 3 and 2 results files, plain stdout logs of a run or of single programs
(including the OS-competition console logs whose bare rows mean something only by position),
terminal typescripts, and wrapper files that quote lmbench lines or ``Run N: value`` lists.
A file with no lmbench content at all raises ``ParseError``.

Speed: the state machine (``_Parser.feed``) is the reference. ``parse_text`` gives it only the
unusual lines and short-cuts the rest (see "fast paths" below): series blocks are converted a block
at a time with C-level string methods and map/zip, labeled lines, bracketed header lines, series
headers and noise with one regex or dict lookup each. Each short cut is taken only where its result
is provably the one ``feed`` would give; ``_parse_text_reference`` runs every line through ``feed``
and tests/test_parser_fast.py checks both agree exactly on the whole corpus, mutants and edge cases.
About 0.55 ms per 16 KB results file on one core (under 1 us per value), about half in series blocks.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from . import catalogue
from .catalogue import HIGHER, Metric
from .errors import ParseError

MAX_FILE_BYTES = 32 * 1024 * 1024  # real results files are 10-60 KB; this guards memory
MAX_LINE_CHARS = 64 * 1024  # longest real lines are overlay [mount: ...] lines of ~1 KB

# Largest plausible value per catalogue unit: beyond these a number is a corrupted line, not a result.
PLAUSIBLE_MAX = {"us": 1e10, "ns": 1e10, "MB/s": 1e8, "KB/s": 1e11, "files/s": 1e10, "x": 1e4, "pages": 1e9}

HEADER_KEYS = {  # results-file header key -> runs-table column
    "RELEASE": "kernel_release",
    "OS": "os",
    "MHZ": "mhz",
    "HOSTNAME": "hostname",
    "LMBENCH VERSION": "lmbench_version",
    "LMBENCH_VER": "lmbench_ver",
    "MB": "mb",
    "PROCESSORS": "processors",
}
META_COLUMNS = ("uname", "kernel_release", "os", "mhz", "hostname", "lmbench_version", "date", "mb", "processors")


class Value(NamedTuple):  # a NamedTuple, not a dataclass: hundreds of thousands are made per fleet
    line: int
    metric: str
    param: str
    value: float
    low_precision: bool
    note: str = ""  # e.g. a unit conversion or where an implicit unit came from


@dataclass(frozen=True)
class Issue:
    line: int
    kind: str  # "noise", "unknown", "invalid" (a result line whose value was rejected), "decode"
    reason: str
    text: str


def _issue(line: int, kind: str, reason: str, text: str) -> Issue:
    """``Issue(line, kind, reason, text)``, without the frozen dataclass __init__ (one
    object.__setattr__ call per field made it the dearest part of a noise line)."""
    issue = _new_object(Issue)
    fields = issue.__dict__
    fields["line"] = line
    fields["kind"] = kind
    fields["reason"] = reason
    fields["text"] = text
    return issue


_new_object = object.__new__
_new_tuple = tuple.__new__  # Value(...) without the Python-level NamedTuple __new__


@dataclass
class ParsedFile:
    source: str
    format: str
    meta: dict
    values: list[Value] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for i in self.issues if i.kind == kind)


# --- text-level regular expressions ---------------------------------------------------------------

# Possessive (++, *+, Python 3.11+): a digit run is never re-split on backtracking, which made
# a long run of digits quadratic (a 64 K line of "0"s: minutes per regex call).
_NUM = r"[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][-+]?\d++)?|[-+]?(?:nan|inf(?:inity)?)"
_UNITS = r"microseconds|nanoseconds|usecs|milliseconds|KB/sec|MB/sec"
_LABELED = re.compile(rf"^(?P<label>[A-Za-z][^:]*?):\s*+(?P<num>{_NUM})\s*+(?P<unit>{_UNITS})?\s*$", re.I)
_TLB = re.compile(rf"^tlb:\s*(?P<num>{_NUM})\s+pages\s*$")
_HTTP = re.compile(rf"^Avg xfer:?\s.*?,\s*(?P<num>{_NUM})\s+(?P<unit>MB/sec|KB/sec)\s*$")
_ROW = re.compile(rf"^\s*(?P<x>{_NUM})\s+(?P<y>{_NUM})(?:\s+(?P<unit>MB/sec))?\s*$", re.I)
_FS_ROW = re.compile(r"^\s*(?P<size>\d+k)\s+(?P<files>\d+)\s+(?P<create>\S+)\s+(?P<delete>\S+)\s*$")
_CTX_HEADER = re.compile(rf"^\"?size=(?P<size>\d+)k\s+ovr=(?P<ovr>{_NUM})\s*$")
_STRIDE_HEADER = re.compile(r"^\"?stride=(?P<stride>\d+)\s*$")
_BRACKET_KEY = re.compile(r"^\[(?P<key>[A-Za-z][A-Za-z0-9_ ]*[A-Za-z0-9]):\s?(?P<value>.*)\]\s*$")
_RESULTS_BANNER = re.compile(r"^\[lmbench(?P<major>\d)\.\d++\S*+ results for (?P<uname>.*)\]\s*$")
_DATE_LINE = re.compile(r"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) .*\d{4}\]\s*$")
_WRAPPER_RUN = re.compile(rf"^Run \d+:\s*(?P<num>{_NUM})\s*$")
_WRAPPER_COMMAND = re.compile(r"^Benchmark Command:\s*(?P<cmd>.+)$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>]")
_TEXT_BYTES = bytes(range(9, 14)) + bytes(range(32, 256))
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_LMBENCH_PROGRAMS = {
    "bw_mem", "bw_tcp", "bw_pipe", "bw_unix", "bw_file_rd", "bw_mmap_rd", "lat_syscall", "lat_sig",
    "lat_proc", "lat_pipe", "lat_unix", "lat_fcntl", "lat_fifo", "lat_ctx", "lat_fs", "lat_mmap",
    "lat_mem_rd", "lat_pagefault", "lat_tcp", "lat_udp", "lat_connect", "lat_select", "lat_ops",
    "par_ops", "par_mem", "lat_rpc", "lat_http", "stream", "tlb", "lmdd", "mhz",
}

_PROGRAM_WORD = re.compile("|".join(sorted(_LMBENCH_PROGRAMS))).search

# What the value of a wrapper's ``Run N: value`` line is, given the lmbench command it quotes.
_SINGLE_VALUE_COMMANDS = {
    ("lat_syscall", "null"): "syscall_null",
    ("lat_syscall", "read"): "syscall_read",
    ("lat_syscall", "write"): "syscall_write",
    ("lat_syscall", "stat"): "syscall_stat",
    ("lat_syscall", "fstat"): "syscall_fstat",
    ("lat_syscall", "open"): "syscall_open_close",
    ("lat_sig", "install"): "signal_install",
    ("lat_sig", "catch"): "signal_catch",
    ("lat_sig", "prot"): "protection_fault",
    ("lat_proc", "fork"): "proc_fork",
    ("lat_proc", "exec"): "proc_exec",
    ("lat_proc", "shell"): "proc_shell",
    ("lat_pipe", ""): "pipe_latency",
    ("lat_unix", ""): "unix_latency",
    ("lat_fcntl", ""): "fcntl_latency",
    ("lat_fifo", ""): "fifo_latency",
}


@dataclass
class _Command:
    """An lmbench program invocation seen in a log: tells what following bare rows are."""

    program: str
    args: list[str]

    def bare_series(self) -> Metric | None:
        if self.program == "bw_mem":
            words = [a for a in self.args if not a.startswith("-")]
            ops = [w for w in words if w in catalogue.BW_MEM_OPS]
            if not ops:
                return None
            if ops[0] == "bcopy" and "conflict" in words:
                return catalogue.METRICS["libc_bcopy_aligned_bw"]
            return catalogue.METRICS[catalogue.BW_MEM_OPS[ops[0]]]
        if self.program == "bw_tcp":
            return catalogue.METRICS["tcp_bw"]
        if self.program == "lat_mmap":
            return catalogue.METRICS["mmap_latency"]
        return None

    def single_value(self) -> tuple[str, str] | None:
        """(metric id, param) for a wrapper's Run values, or None when they cannot be attributed."""
        words = self._positional()
        if self.program == "lat_ctx":
            size = self._option("-s") or "0"
            procs = [w for w in words if w.isdigit()]
            if len(procs) == 1 and size.isdigit():
                return "ctx_switch", f"{procs[0]}p/{size}K"
            return None
        op = words[0] if words else ""
        metric_id = _SINGLE_VALUE_COMMANDS.get((self.program, op)) or _SINGLE_VALUE_COMMANDS.get((self.program, ""))
        return (metric_id, "") if metric_id else None

    def _option(self, name: str) -> str | None:
        if name in self.args:
            i = self.args.index(name)
            return self.args[i + 1] if i + 1 < len(self.args) else None
        return None

    def _positional(self) -> list[str]:
        out, skip = [], False
        for a in self.args:
            if skip:
                skip = False
            elif a.startswith("-"):
                skip = a in ("-P", "-W", "-N", "-s", "-M", "-m", "-p", "-t")
            else:
                out.append(a)
        return out


def _find_command(line: str) -> _Command | None:
    """An lmbench command line (shell prompt, timestamped driver log, wrapper banner), or None."""
    if not _PROGRAM_WORD(line):
        return None
    words = line.split()  # logs rarely quote arguments; shlex was 100x slower on big CSVs
    for i, w in enumerate(words):
        name = w.rsplit("/", 1)[-1]
        if name in _LMBENCH_PROGRAMS and (i == 0 or w.startswith(("./", "/")) or words[i - 1] in ("$", "#", ">")
                                          or re.fullmatch(r"[\d:-]+", words[i - 1]) or words[i - 1].endswith(("$", "#"))):
            return _Command(name, words[i + 1:])
    return None


# --- decoding ----------------------------------------------------------------------------------------


def decode(data: bytes, source: str) -> tuple[str, int]:
    """Text of a raw file and the number of undecodable bytes replaced.

    UTF-16 is accepted only with a BOM (what Windows editors write); everything else is read as
    UTF-8, and bytes that are not UTF-8 (Latin-1 accents, line noise) become U+FFFD and are counted.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(source, 0, too_big_reason(len(data)))
    if not data or data.isspace():  # (bytes.isspace: the ASCII whitespace bytes.strip() removes)
        raise ParseError(source, 0, "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), 0
        except UnicodeDecodeError as exc:
            raise ParseError(source, 0, f"starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason})") from None
    head = data[:8192]
    control = len(head.translate(None, _TEXT_BYTES))  # bytes left after deleting ordinary text bytes
    if head.count(b"\x00") > len(head) // 100 or control > len(head) // 10:
        raise ParseError(source, 0, "binary data, not a text log")
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark, as some Windows editors write
        data = data[3:]
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    if replaced:  # U+FFFD that were in the file are not replacements
        replaced -= data.decode("utf-8", errors="ignore").count("\ufffd")
    return text, replaced


# --- the state machine --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.meta: dict = {}
        self.values: list[Value] = []
        self.issues: list[Issue] = []
        self.major: int | None = None  # lmbench major version from the results banner
        self.wrapper = False
        self.oscomp = False  # inside an OS-competition "latency measurements" console log
        self.series: Metric | None = None  # current series block
        self.series_kind = ""  # "xy", "fs", "ctx", "stride", "unknown"
        self.series_param = ""  # ctx size ("0") or stride ("128")
        self.stride_group = "mem_latency"
        self.bare_queue: list[Metric] = []  # OS-competition log: what the next bare rows mean, in order
        self.bare_default: Metric | None = None  # what bare rows mean after a command line
        self.command: _Command | None = None

    # -- helpers --
    def issue(self, line: int, kind: str, reason: str, text: str) -> None:
        self.issues.append(_issue(line, kind, reason, text[:300]))

    def add(self, line: int, metric: Metric, param: str, token: str, scale: float, text: str, note: str = "") -> None:
        try:
            value = float(token) * scale
        except ValueError:
            self.issue(line, "invalid", f"{metric.id}: value {token!r} is not a number", text)
            return
        if 0 < value <= PLAUSIBLE_MAX[metric.unit]:  # the common case, checked first (also rejects NaN)
            low = _low_precision(metric, token, value)
            self.values.append(_new_tuple(Value, (line, metric.id, param, value, low, note)))
        elif not math.isfinite(value):
            self.issue(line, "invalid", f"{metric.id}: value {token!r} is not finite", text)
        elif value < 0:
            self.issue(line, "invalid", f"{metric.id}: negative value {token}", text)
        elif value == 0 and metric.direction == HIGHER:
            self.issue(line, "invalid", f"{metric.id}: zero {metric.unit} (the benchmark failed; a rate of 0 cannot be compared)", text)
        elif value > PLAUSIBLE_MAX[metric.unit]:
            self.issue(line, "invalid", f"{metric.id}: {value:g} {metric.unit} is beyond any plausible result", text)
        else:
            low = _low_precision(metric, token, value)
            self.values.append(_new_tuple(Value, (line, metric.id, param, value, low, note)))

    def end_series(self) -> None:
        self.series, self.series_kind, self.series_param = None, "", ""

    # -- per line --
    def feed(self, n: int, raw: str) -> None:
        if len(raw) > MAX_LINE_CHARS:
            self.issue(n, "noise", f"line of {len(raw)} characters, longer than any lmbench line", raw)
            return
        line = _CONTROL.sub("", _ANSI.sub("", raw)).strip() if ("\x1b" in raw or _CONTROL.search(raw)) else raw.strip()
        if not line:
            self.end_series()  # a blank line closes a series block
            return
        if line.startswith("["):
            self.bracket(n, line)
            return
        if line[0].isdigit() and self.row(n, line):  # most lines are series rows: try them first
            return
        # "Label: value unit" lines (the next most common): no header, row, tlb or http line can
        # both start like this and match _LABELED, so go straight to labeled() with the match.
        if (line[0] in _LABEL_START and not self.wrapper and not line.startswith(_NOT_LABEL_FAST)
                and (m := _LABELED.match(line))):
            self.labeled(n, line, m)
            return
        if self.header(n, line):
            return
        if self.row(n, line):
            return
        self.labeled(n, line)

    def bracket(self, n: int, line: str) -> None:
        if m := _RESULTS_BANNER.match(line):
            self.major = int(m.group("major"))
            self.meta["uname"] = m.group("uname").strip()
            return
        if _DATE_LINE.match(line):  # before keys: "[Thu Nov 26 06:58:29 ...]" has a colon too
            self.meta.setdefault("date", line[1:-1].strip())
            self.end_series()
            return
        if m := _BRACKET_KEY.match(line):
            col = HEADER_KEYS.get(m.group("key"))
            if col and col not in self.meta:
                self.meta[col] = m.group("value").strip()
            return
        if line.startswith("[ ") and " up " in line:
            return  # uptime header line
        self.issue(n, "noise", "bracketed line that is not an lmbench header", line)

    def header(self, n: int, line: str) -> bool:
        """Series headers, section echoes and command lines; True if the line was one."""
        quoted = line.startswith('"')
        name = line[1:].strip() if quoted else line
        if m := _CTX_HEADER.match(line):
            self.series, self.series_kind, self.series_param = catalogue.METRICS["ctx_switch"], "ctx", m.group("size")
            self.add(n, catalogue.METRICS["ctx_overhead"], f"{m.group('size')}K", m.group("ovr"), 1.0, line)
            return True
        if m := _STRIDE_HEADER.match(line):
            self.series, self.series_kind, self.series_param = catalogue.METRICS[self.stride_group], "stride", m.group("stride")
            return True
        if name in catalogue.STRIDE_GROUPS:
            self.stride_group = catalogue.STRIDE_GROUPS[name]
            self.end_series()
            return True
        if name in catalogue.FS_LATENCY_HEADERS:
            self.series, self.series_kind = None, "fs"
            return True
        if metric := catalogue.match_series(name):
            self.series, self.series_kind, self.series_param = metric, "xy", ""
            return True
        if quoted:
            self.series, self.series_kind = None, "unknown"
            self.issue(n, "unknown", "series header the catalogue does not know", line)
            return True
        if line == "latency measurements":
            self.oscomp, self.bare_queue = True, []
            self.bare_default = catalogue.METRICS["mmap_latency"]  # lat_mmap 512k prints a bare row here
            self.end_series()
            self.issue(n, "noise", "section title of a console log", line)
            return True
        if line == "Bandwidth measurements":
            self.bare_queue = [catalogue.METRICS[i] for i in
                               ("file_reread_bw", "file_open2close_bw", "mmap_reread_bw", "mmap_open2close_bw")]
            self.end_series()
            self.issue(n, "noise", "section title of a console log", line)
            return True
        if m := _WRAPPER_COMMAND.match(line):
            self.wrapper = True
            self.command = _find_command(m.group("cmd"))
            self.issue(n, "noise", "wrapper banner", line)
            return True
        if self.wrapper and (m := _WRAPPER_RUN.match(line)):
            target = self.command.single_value() if self.command else None
            if target is None:
                self.issue(n, "unknown", "wrapper run value whose lmbench command cannot be attributed to a metric", line)
            else:
                metric = catalogue.get(target[0])
                self.add(n, metric, target[1], m.group("num"), 1.0, line,
                         note=f"wrapper Run value; unit {metric.unit} implied by {self.command.program}")
            return True
        if not _ROW.match(line) and not _LABELED.match(line) and (cmd := _find_command(line)):
            self.command = cmd
            self.bare_default = cmd.bare_series()
            self.end_series()
            self.issue(n, "noise", f"{cmd.program} command line", line)
            return True
        return False

    def row(self, n: int, line: str) -> bool:
        """Data rows of the current block, or bare rows whose meaning comes from position."""
        if m := _FS_ROW.match(line):
            # The four-column "<size>k files creates/s deletes/s" shape is lat_fs's alone.
            size = m.group("size")
            self.add(n, catalogue.METRICS["fs_create"], size, m.group("create"), 1.0, line)
            self.add(n, catalogue.METRICS["fs_delete"], size, m.group("delete"), 1.0, line)
            return True
        m = _ROW.match(line)
        if not m:
            return False
        x, y = m.group("x"), m.group("y")
        kind = self.series_kind
        if kind != "unknown" and not _valid_x(x):  # the size/count column becomes a param: check it too
            self.issue(n, "invalid", f"row label {x!r} is not a size or count", line)
            return True
        if kind == "ctx":
            self.add(n, self.series, f"{x}p/{self.series_param}K", y, 1.0, line)
        elif kind == "stride":
            self.add(n, self.series, f"stride={self.series_param}/{x}", y, 1.0, line)
        elif kind == "xy":
            self.add(n, self.series, x, y, 1.0, line)
        elif kind == "unknown":
            self.issue(n, "unknown", "row of a series the catalogue does not know", line)
        elif self.bare_queue:
            self.add(n, self.bare_queue.pop(0), x, y, 1.0, line, note="bare row; metric from its position in the console log")
        elif self.bare_default is not None:
            self.add(n, self.bare_default, x, y, 1.0, line, note="bare row; metric from the preceding command or section")
        else:
            self.issue(n, "unknown", "bare numeric row with no series header or command to say what it measures", line)
        return True

    def labeled(self, n: int, line: str, m: re.Match | None = None) -> None:
        """``m``: a ``_LABELED`` match feed() already made (then the line is neither tlb nor http)."""
        if m is None:
            if t := _TLB.match(line):
                self.add(n, catalogue.METRICS["tlb_pages"], "", t.group("num"), 1.0, line)
                self.end_series()
                return
            if h := _HTTP.match(line):
                scale = 1.0 if h.group("unit") == "MB/sec" else 1 / 1024
                note = "" if scale == 1.0 else "converted from KB/sec (lmbench KB = 1024 bytes)"
                self.add(n, catalogue.METRICS["http_bw"], "", h.group("num"), scale, line, note)
                self.end_series()
                return
            m = _LABELED.match(line)
        if not m:
            self.issue(n, "noise", "not an lmbench result line", line)
            return
        match = catalogue.match_label(m.group("label"))
        unit = m.group("unit")
        if match is None:
            if unit:
                self.issue(n, "unknown", "result line whose label the catalogue does not know", line)
            else:
                self.issue(n, "noise", "label and number without an lmbench unit", line)
            return
        metric = match.metric
        if match.scales and unit is None:
            self.issue(n, "invalid", f"{metric.id}: no unit printed", line)
            return
        if not match.scales and unit is not None:
            self.issue(n, "invalid", f"{metric.id}: unexpected unit {unit}", line)
            return
        scale = match.scales.get(unit, 1.0) if unit else 1.0
        if unit and unit not in match.scales:
            self.issue(n, "invalid", f"{metric.id}: unit {unit} cannot be converted to {metric.unit}", line)
            return
        note = ""
        if unit and scale != 1.0:
            note = f"converted from {unit} to {metric.unit}"
        self.end_series()
        self.add(n, metric, match.param, m.group("num"), scale, line, note)
        if self.oscomp and metric.id == "pagefault":
            self.bare_default = catalogue.METRICS["mmap_latency"]

    def result(self, decode_replaced: int) -> ParsedFile:
        if decode_replaced:
            self.issues.insert(0, Issue(0, "decode", f"{decode_replaced} undecodable byte(s) replaced with U+FFFD", ""))
        if self.major == 3:
            fmt = "lmbench3-results"
        elif self.major is not None:
            fmt = f"lmbench{self.major}-results"
        elif self.wrapper:
            fmt = "wrapper"
        elif self.oscomp:
            fmt = "console-log"
        else:
            fmt = "stdout"
        meta = {k: self.meta.get(k, "") for k in META_COLUMNS}
        if meta["lmbench_version"] == "" and self.meta.get("lmbench_ver"):
            meta["lmbench_version"] = self.meta["lmbench_ver"]
        if meta["mhz"]:
            mhz = re.match(r"\s*(\d+(?:\.\d+)?)", meta["mhz"])
            meta["mhz"] = mhz.group(1) if mhz else ""
        if not meta["kernel_release"] and meta["uname"]:
            words = meta["uname"].split()
            meta["kernel_release"] = words[2] if len(words) > 2 else ""
        return ParsedFile(self.source, fmt, meta, self.values, self.issues)


def _valid_x(token: str) -> bool:
    try:
        x = float(token)
    except ValueError:
        return False
    return 0 <= x < 1e12


_RESOLUTION = [10.0 ** -d for d in range(13)]
_LABEL_START = frozenset("ABCDEFGHJKLMOPQRSTUVWXYZabcdefghjklmopqrstuvwxyz")  # not i/n: "inf 1", "nan 2" are rows
_NOT_LABEL_FAST = ("tlb:", "Avg xfer", "Benchmark Command:", "size=", "stride=", "Run ")
_FAST_KINDS = frozenset(("xy", "stride", "ctx"))
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _low_precision(metric: Metric, token: str, value: float) -> bool:
    """True when the printed number carries less than about 1% resolution.

    lmbench rounds some results hard: lat_mmap prints whole microseconds from 10 us up, lat_ops two
    decimals of a nanosecond (``integer add: 0.00``). Such values are kept as printed, flagged.
    """
    if "e" in token or "E" in token:
        return False
    dot = token.find(".")
    decimals = len(token) - dot - 1 if dot >= 0 else 0
    if decimals == 0 and metric.id == "mmap_latency":
        return True
    return value == 0 or _RESOLUTION[min(decimals, 12)] > 0.01 * value


def _feed_unterminated(p: _Parser, n: int, raw: str) -> None:
    """The last line of a file without a final newline may have been cut mid-number (a run that
    was killed, a partial copy): ``0.524288 581`` cut to ``0.524288 58`` would be a wrong value.
    When the line ends in a digit, a value on it is refused as invalid, never kept; a line that
    ends in its unit (``... microseconds``) cannot have lost digits and is kept."""
    before = len(p.values)
    p.feed(n, raw)
    if len(p.values) > before and raw.rstrip()[-1:] in "0123456789.":
        del p.values[before:]
        p.issue(n, "invalid", "last line has no newline: the run may have been cut mid-number, value not kept", raw)


# --- fast paths ------------------------------------------------------------------------------------------
#
# parse_text() runs the state machine above (``_Parser.feed``) as the reference, and short-cuts the
# lines that make up nearly all of a real results file, each only where the outcome is provably the
# one feed() would give (tests/test_parser_fast.py checks this over the whole corpus and mutations):
#
# - series blocks: the rows under a series header are taken as one block of text; a canonical block
#   ("x y" lines, one space, decimals only) is checked and converted with C-level str methods and
#   map/zip (no Python code per row); anything else in a block goes row by row;
# - "Label: value unit" lines of a label the catalogue knows: one strict regex and a dict lookup;
# - bracketed header lines ("[mount: ...]", "[MB: 4096]"), by their key;
# - series headers (quoted or not) by dict lookup, "size=/stride=" headers by a strict regex;
# - noise (error messages, shell output): a prefilter proves no result pattern can match the line,
#   or the line is one feed() already found to be noise in a way no state can change.
# Anything else, or any doubt (control characters, escape sequences, values out of range, lines over
# MAX_LINE_CHARS), goes to feed().
#
# The caches (labels, bracket keys, x tokens, params, noise lines) hold vocabulary that recurs from
# file to file; each is bounded (_CACHE_MAX entries) and changes no result, only the time.

# Characters of rows ("0.524288 9.824", "0.000064 98.34 MB/sec"): a candidate series block is the run
# of whole lines made of these from the current line on, up to the first blank line.
_ROW_CHARS = re.compile(r"[0-9. \nMB/sec]*+").match
# One plain row: for blocks that are not canonical (the per-line fast path of earlier versions).
_PLAIN_ROW = re.compile(r"[ \t]*(\d+(?:\.\d*)?)[ \t]+(\d+(?:\.\d*)?)(?:[ \t]+MB/sec)?[ \t]*\Z").match
# The same characters as bytes (a row block is ASCII), for C loops far cheaper than a regex or
# str.translate: an ASCII text maps to b"." for row characters and b"x" for others, once per file.
_ROW_MAP = bytes(46 if i in b"0123456789. \nMB/sec" else 120 for i in range(256))  # 46 ".", 120 "x"
_DIGITS_AND_DOTS = b"0123456789."  # deleted from a canonical block, it leaves b" \n" * rows
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DECIMALS_SUFFIX = [b""] + [b"." + b"0" * d + b"\n" for d in range(1, 13)]  # y with d decimals, zero-mapped
_X_OK: set = set()  # x tokens already checked: decimals, float(x) < 1e12 (sizes recur in every file)


def _low_thresholds(mmap: bool) -> list[float]:
    """Per number of decimals d (0-12): the smallest value that is NOT low precision, so that for a
    decimal token without exponent ``_low_precision`` is exactly ``value < thresholds[min(d, 12)]``
    (0.01 * v is monotonic in v, so the boundary found by stepping through the doubles is exact)."""
    out = []
    for d, r in enumerate(_RESOLUTION):
        if mmap and d == 0:
            out.append(math.inf)  # lat_mmap's whole microseconds are always low precision
            continue
        v = r * 100
        while 0.01 * v >= r:
            v = math.nextafter(v, 0.0)
        while 0.01 * v < r:
            v = math.nextafter(v, math.inf)
        out.append(v)
    return out


_LOW_BELOW = _low_thresholds(False)
_LOW_BELOW_MMAP = _low_thresholds(True)

# A labeled line in its plain form: a subset of _LABELED (case-sensitive units, spaces/tabs only,
# plain decimals), whose groups are then _LABELED's groups; the rest goes to feed().
_LABEL_PLAIN = re.compile(rf"([A-Za-z][^:]*):[ \t]*+(\d++(?:\.\d*+)?+)(?:[ \t]++({_UNITS}))?+\Z").match
# The plain forms of the "size=" and "stride=" headers (subsets of _CTX_HEADER, _STRIDE_HEADER).
_CTX_PLAIN = re.compile(r'"size=(\d++)k[ \t]++ovr=(\d++(?:\.\d*+)?+)\Z').match
_STRIDE_PLAIN = re.compile(r'"stride=(\d++)\Z').match

# Prefilter for noise: every line that feed() would turn into anything but "not an lmbench result
# line" noise matches this at its start, or names an lmbench program (a command line), or is one of
# the two console-log section titles, or a known series header (looked up before). It is a prefix of
# each pattern feed() tries: _CTX_HEADER, _STRIDE_HEADER, _WRAPPER_COMMAND, _WRAPPER_RUN, _TLB, _HTTP,
# _ROW and _FS_ROW (a number first), _LABELED (a label, a colon, a number; same IGNORECASE classes).
_MAYBE_RESULT = re.compile(
    r'"?size=|"?stride=|Benchmark Command:|Run \d|tlb:|Avg xfer'
    r"|\s*+[-+]?(?:\d|\.\d|(?i:nan|inf))"
    r"|(?i:[A-Za-z][^:]*+:\s*+[-+]?(?:\d|\.\d|nan|inf))"
).match
# The same, or a line with a control character (feed() would first remove them): one regex call.
_MAYBE_RESULT_OR_CONTROL = re.compile(
    _MAYBE_RESULT.__self__.pattern + r"|[^\x00-\x08\x0b-\x1f\x7f]*+[\x00-\x08\x0b-\x1f\x7f]"
).match
_SECTION_TITLES = frozenset(("latency measurements", "Bandwidth measurements"))
# Every program name contains "_" or is one of these: a line without any cannot be a command line.
assert all("_" in p or p in ("stream", "tlb", "lmdd", "mhz") for p in _LMBENCH_PROGRAMS)

# Header lines by their whole text (without the leading quote): what feed() -> header() does with them.
_HEADER_ACTIONS: dict = {}
_HEADER_ACTIONS.update({name: ("group", group) for name, group in catalogue.STRIDE_GROUPS.items()})
_HEADER_ACTIONS.update({name: ("fs", None) for name in catalogue.FS_LATENCY_HEADERS})
for _name in catalogue.SERIES_HEADERS:
    if catalogue.match_series(_name) is not None:
        _HEADER_ACTIONS.setdefault(_name, ("xy", catalogue.match_series(_name)))

_BRACKET_KEY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ ]*[A-Za-z0-9]\Z").match
_DATE_START = ("Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun ")
_BRACKET_KEYS: dict = {}  # key -> runs-table column, "" for keys feed() ignores, None: not a plain key
_LABEL_FAST: dict = {}  # (label, unit) -> (metric id, param, scale, note, plausible max, mmap) or None
_NOISE_LINES: set = set()  # stripped lines (<= 300 characters) found to be noise in any state
_PARAMS: dict = {}  # ("stride", "128") -> {x: "stride=128/<x>"}, ("ctx", "0") -> {x: "<x>p/0K"}
_PARAMS_SIZE = [0]  # entries added to the _PARAMS dicts, an upper bound of their size (at most _CACHE_MAX)
_CACHE_MAX = 10_000  # the caches are bounded: hostile input cannot grow them without limit
_MISSING = object()


def _bracket_key(key: str):
    """For a clean "[key: ...]" line ending in "]": the runs-table column feed() would fill from it,
    "" if feed() ignores it, None if feed() must decide (it is no key for _BRACKET_KEY, or the
    results banner or a date line, which bracket() tries first, could match)."""
    col = _BRACKET_KEYS.get(key, _MISSING)
    if col is _MISSING:
        col = None
        if _BRACKET_KEY_NAME(key) is not None and not key.startswith(_DATE_START) and not key.startswith("lmbench"):
            col = HEADER_KEYS.get(key, "")
        if len(_BRACKET_KEYS) < _CACHE_MAX:
            _BRACKET_KEYS[key] = col
    return col


def _label_fast(label: str, unit: str | None):
    """What labeled() does with a line of this label and unit when its value is in range, or None
    when the line needs the general path (unknown label, unit problems, control characters)."""
    key = (label, unit)
    info = _LABEL_FAST.get(key, _MISSING)
    if info is not _MISSING:
        return info
    info = None
    if not _CONTROL.search(label):
        match = catalogue.match_label(label)
        if match is not None and bool(match.scales) == (unit is not None) and (unit is None or unit in match.scales):
            metric = match.metric
            scale = match.scales[unit] if unit else 1.0
            note = f"converted from {unit} to {metric.unit}" if unit and scale != 1.0 else ""
            info = (metric.id, match.param, scale, note, PLAUSIBLE_MAX[metric.unit], metric.id == "mmap_latency")
    if len(_LABEL_FAST) < _CACHE_MAX:
        _LABEL_FAST[key] = info
    return info


def _block(p: _Parser, block: str, k: int, n: int) -> int:
    """Values of a block of ``k`` rows of the current series: ``block`` is whole lines (each ending
    in "\\n", none empty) made of digits, dots, spaces and "MB/sec" only, the first at line ``n``.
    Returns how many lines were consumed. Makes exactly the values (and issues) feed() would."""
    metric, kind, sparam = p.series, p.series_kind, p.series_param
    plain = block.replace(" MB/sec\n", "\n") if "M" in block else block
    bplain = plain.encode("ascii")  # (row characters are ASCII)
    # Canonical: every line is "x y", x and y digits and dots (so no exponent, which float() would
    # take but which changes low_precision; no "MB/sec" left in the middle of a line). Exactly one
    # space per line (the separators check) and two tokens per line (the count): no line has a
    # leading or trailing space, so each line is its x, one space, its y.
    if (bplain.translate(None, _DIGITS_AND_DOTS) == b" \n" * k and len(block) <= MAX_LINE_CHARS
            and len(tokens := plain.split()) == 2 * k):
        xs, ys = tokens[0::2], tokens[1::2]
        try:
            # float() takes exactly the [0-9.] tokens _ROW's number takes ("5.", ".5" included);
            # feed() makes the same value of a ".5" as of a "0.5" row, with the token as printed.
            values = list(map(float, ys))
            if not _X_OK.issuperset(xs):
                if max(map(float, xs)) >= 1e12:
                    raise ValueError
                if len(_X_OK) + len(xs) <= _CACHE_MAX:
                    _X_OK.update(xs)
        except ValueError:  # "1.2.3", ".": not a row; x too large: an invalid row
            values = None
        vmin = min(values) if values else 0
        if vmin > 0 and max(values) <= PLAUSIBLE_MAX[metric.unit]:
            lows = None
            if metric.id == "mmap_latency":
                below = _LOW_BELOW_MMAP
            elif vmin >= _LOW_BELOW[0]:
                lows = repeat(False)  # nothing this large is low precision, whatever its decimals
            else:
                below = _LOW_BELOW
                y = ys[-1]
                dot = y.find(".")
                d = len(y) - dot - 1
                if 0 < dot and 0 < d <= 12 and bplain.translate(_DIGITS_TO_ZERO).count(_DECIMALS_SUFFIX[d]) == k:
                    # every y has d decimals (the usual "%.3f" column)
                    lows = repeat(False) if vmin >= below[d] else list(map(below[d].__gt__, values))
            if lows is None:
                decimals = map(len, map(itemgetter(2), map(str.partition, ys, repeat("."))))
                if max(map(len, ys)) < 14:  # at most 12 decimals
                    lows = list(map(float.__gt__, map(below.__getitem__, decimals), values))
            if lows is not None:
                if kind == "xy":
                    params = xs
                else:  # "stride=<stride>/<x>", "<x>p/<size>K": the same few dozen in every file
                    cache = _PARAMS.get((kind, sparam))
                    params = list(map(cache.get, xs)) if cache is not None else [None]
                    if None in params:
                        if kind == "stride":
                            params = list(map(f"stride={sparam}/".__add__, xs))
                        else:
                            params = list(map(str.__add__, xs, repeat(f"p/{sparam}K")))
                        if _PARAMS_SIZE[0] + k <= _CACHE_MAX:
                            if cache is None:
                                cache = _PARAMS[(kind, sparam)] = {}
                            _PARAMS_SIZE[0] += k
                            cache.update(zip(xs, params))
                p.values.extend(map(tuple.__new__, repeat(Value),
                                    zip(range(n, n + k), repeat(metric.id), params, values, lows, repeat(""))))
                return k
    # Row by row: plain rows in range here, the rest through feed().
    pmax = PLAUSIBLE_MAX[metric.unit]
    append = p.values.append
    for i, raw in enumerate(block.split("\n")[:k]):
        if (m := _PLAIN_ROW(raw)) and len(raw) <= MAX_LINE_CHARS:
            x, y = m.groups()
            value = float(y)
            if 0 < value <= pmax and float(x) < 1e12:
                param = x if kind == "xy" else f"stride={sparam}/{x}" if kind == "stride" else f"{x}p/{sparam}K"
                append(tuple.__new__(Value, (n + i, metric.id, param, value, _low_precision(metric, y, value), "")))
                continue
        p.feed(n + i, raw)
        if p.series is not metric or p.series_kind != kind or p.series_param != sparam:
            return i + 1  # that line changed the state: the main loop takes over from the next line
    return k


def parse_text(text: str, source: str = "<text>", decode_replaced: int = 0) -> ParsedFile:
    """Parse the text of one lmbench output. Raises ParseError if it holds no lmbench content."""
    p = _Parser(source)
    # Lines end at "\n" only: str.splitlines() also breaks on lone CR, form feeds and U+2028, which
    # typescripts contain, and would make cited line numbers disagree with editors and grep.
    append = p.values.append
    new_value = tuple.__new__  # builds a Value without the Python-level NamedTuple __new__
    find = text.find
    metrics = catalogue.METRICS
    size = len(text)
    rowmap = text.encode("ascii").translate(_ROW_MAP) if text.isascii() else None
    n = pos = 0
    while pos < size:
        n += 1
        if p.series_kind in _FAST_KINDS and text[pos] != "\n":
            if rowmap is not None:  # whole lines of row characters from here on
                stop = rowmap.find(b"x", pos)
                end = text.rfind("\n", pos, stop if stop >= 0 else size) + 1
            else:
                end = text.rfind("\n", pos, _ROW_CHARS(text, pos).end()) + 1
            if end > pos:
                blank = find("\n\n", pos, end)  # a blank line ends the series
                if blank >= 0:
                    end = blank + 1
                block = text[pos:end]
                rows = block.count("\n")
                k = _block(p, block, rows, n)
                n += k - 1
                if k == rows:
                    pos = end
                else:  # a line of the block changed the state: go on after the lines consumed
                    for _ in range(k):
                        pos = find("\n", pos) + 1
                continue
        end = find("\n", pos)
        if end < 0:  # the last line, without a newline
            _feed_unterminated(p, n, text[pos:])
            break
        raw = text[pos:end]
        pos = end + 1
        if not raw:  # an empty line closes a series block
            p.series, p.series_kind, p.series_param = None, "", ""
            continue
        c = raw[0]
        if c in _LETTERS and not p.wrapper and (m := _LABEL_PLAIN(raw)) and len(raw) <= MAX_LINE_CHARS:
            # "Label: value unit" (already stripped: it starts with a letter and ends in its number
            # or unit). feed() takes a line starting with a letter that _LABELED matches as a
            # labeled line (it tries headers and rows first for i/n/I/N, but none can have a colon),
            # unless it starts like a tlb, http, size=/stride= or wrapper line: no label the
            # catalogue knows does, so those get info None here and go to feed().
            label, num, unit = m.groups()
            info = _LABEL_FAST.get((label, unit), _MISSING)
            if info is _MISSING:
                info = _label_fast(label, unit)
            if info is not None:  # None for labels with control characters, among others
                metric_id, param, scale, note, pmax, mmap = info
                value = float(num) * scale
                if 0 < value <= pmax:
                    if p.series_kind:  # (when it is "", series and param are reset already)
                        p.series, p.series_kind, p.series_param = None, "", ""
                    dot = num.find(".")  # _low_precision, for a plain decimal
                    d = len(num) - dot - 1 if dot >= 0 else 0
                    low = (d == 0 and mmap) or value < _LOW_BELOW[d if d < 12 else 12]
                    append(new_value(Value, (n, metric_id, param, value, low, note)))
                    if p.oscomp and metric_id == "pagefault":
                        p.bare_default = metrics["mmap_latency"]
                    continue
            p.feed(n, raw)
            continue
        if len(raw) > MAX_LINE_CHARS:
            p.feed(n, raw)
            continue
        line = raw.strip()
        if not line:
            p.feed(n, raw)  # whitespace, or control characters that may hide an escape sequence
            continue
        if line is not raw:  # leading or trailing whitespace: try the stripped line as labeled
            c = line[0]
            if c in _LETTERS and not p.wrapper and _LABEL_PLAIN(line):
                p.feed(n, raw)  # rare (CRLF files): the state machine does it
                continue
        if c in _LETTERS:
            action = _HEADER_ACTIONS.get(line)
        elif c == "[":
            if line[-1] == "]" and "\x1b" not in line:
                colon = line.find(":")
                if colon > 0:
                    col = _BRACKET_KEYS.get(line[1:colon], _MISSING)
                    if col is _MISSING:
                        col = _bracket_key(line[1:colon])
                    if col == "":
                        # "[mount: ...]", "[ALL: ...]": nothing to keep. Control characters after
                        # the colon would not matter (feed() removes them and ignores the line too);
                        # an escape sequence could (its removal may take the closing bracket).
                        continue
                    if col is not None and not _CONTROL.search(line):
                        if col not in p.meta:
                            p.meta[col] = line[colon + 1:-1].strip()
                        continue
            if not _CONTROL.search(line):
                p.bracket(n, line)
            else:
                p.feed(n, raw)
            continue
        elif c == '"':
            action = _HEADER_ACTIONS.get(line[1:].strip())
            if action is None:
                if m := _STRIDE_PLAIN(line):
                    p.series, p.series_kind, p.series_param = metrics[p.stride_group], "stride", m.group(1)
                elif m := _CTX_PLAIN(line):
                    size_k, ovr = m.groups()
                    p.series, p.series_kind, p.series_param = metrics["ctx_switch"], "ctx", size_k
                    p.add(n, metrics["ctx_overhead"], f"{size_k}K", ovr, 1.0, line)
                elif not _CONTROL.search(line):
                    p.header(n, line)  # header() takes every quoted line
                else:
                    p.feed(n, raw)
                continue
        elif c.isdigit():
            if line in _NOISE_LINES:  # "1+0 records in" (dd), "8388608 bytes (8.4 MB) copied, ..."
                p.issues.append(_issue(n, "noise", "not an lmbench result line", line))
                continue
            if not _CONTROL.search(line) and p.row(n, line):
                continue  # file system rows, and other rows feed() would also try first
            _feed_learning_noise(p, n, raw, line)
            continue
        else:
            action = _HEADER_ACTIONS.get(line)
        if action is not None:  # a series header (no control character can be in it)
            what, target = action
            if what == "xy":
                p.series, p.series_kind, p.series_param = target, "xy", ""
            elif what == "fs":
                p.series, p.series_kind = None, "fs"
            else:
                p.stride_group = target
                p.series, p.series_kind, p.series_param = None, "", ""
            continue
        if line in _NOISE_LINES or (
                not _MAYBE_RESULT_OR_CONTROL(line) and line not in _SECTION_TITLES
                and not (("_" in line or "stream" in line or "tlb" in line or "lmdd" in line or "mhz" in line)
                         and _PROGRAM_WORD(line))):
            # Noise whatever the state. The same messages recur from run to run (in the corpus,
            # 88% of the noise lines repeat an earlier one), so short ones are remembered.
            if len(line) <= 300:
                if len(_NOISE_LINES) < _CACHE_MAX:
                    _NOISE_LINES.add(line)
            else:
                line = line[:300]
            p.issues.append(_issue(n, "noise", "not an lmbench result line", line))
            continue
        _feed_learning_noise(p, n, raw, line)
    return _finish(p, n, decode_replaced)


def _feed_learning_noise(p: _Parser, n: int, raw: str, line: str) -> None:
    """feed(n, raw), remembering ``line`` (raw stripped) in _NOISE_LINES when feed() found it to be
    noise in a way no state can change: it made just the "not an lmbench result line" issue, so
    none of the row, header, command or labeled patterns matched it (those do not depend on the
    state) and it is no wrapper "Run N:" line (the one check that depends on it)."""
    before = len(p.issues)
    values = len(p.values)
    p.feed(n, raw)
    if (len(p.issues) == before + 1 and len(p.values) == values and len(line) <= 300
            and len(_NOISE_LINES) < _CACHE_MAX):
        issue = p.issues[-1]
        if (issue.reason == "not an lmbench result line" and issue.text == line and issue.line == n
                and not _CONTROL.search(line) and not _WRAPPER_RUN.match(line)):
            _NOISE_LINES.add(line)


def _finish(p: _Parser, lines: int, decode_replaced: int) -> ParsedFile:
    """The ParsedFile of a parser that has seen all ``lines`` lines, or the ParseError of a file
    without any usable value."""
    parsed = p.result(decode_replaced)
    if not parsed.values:
        source = p.source
        if p.major is not None:
            raise ParseError(source, lines, "lmbench results header but no measured value (run truncated or failed)")
        if p.wrapper:
            raise ParseError(source, lines, "wrapper file holds no lmbench value")
        unknown = [i for i in parsed.issues if i.kind in ("unknown", "invalid")]
        if unknown:
            first = unknown[0]
            raise ParseError(source, first.line, f"no usable lmbench value; first unusable result line: {first.reason}")
        if any(i.kind == "noise" and i.text.startswith("L M B E N C H") for i in parsed.issues):
            raise ParseError(source, 0, "not an lmbench log but lmbench's summary table (`make summary`, "
                             "getsummary): ingest the results files it summarises (results/<os>/<host>.<n>)")
        raise ParseError(source, 0, "not an lmbench log: no lmbench result line found")
    return parsed


def _parse_text_reference(text: str, source: str = "<text>", decode_replaced: int = 0) -> ParsedFile:
    """parse_text() without any fast path: every line through the state machine (feed). The
    reference the fast paths are checked against (tests/test_parser_fast.py); not for production."""
    p = _Parser(source)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    unterminated = not text.endswith("\n")
    for n, raw in enumerate(lines, start=1):
        if n == len(lines) and unterminated:
            _feed_unterminated(p, n, raw)
        else:
            p.feed(n, raw)
    return _finish(p, len(lines), decode_replaced)


def parse_bytes(data: bytes, source: str) -> ParsedFile:
    text, replaced = decode(data, source)
    return parse_text(text, source, replaced)


def parse_file(path, source: str | None = None) -> ParsedFile:
    """Parse a file on disk (opened read-only). ``source`` is the name used in messages."""
    source = source if source is not None else str(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_FILE_BYTES:  # checked before reading: a 200 MB file is never loaded
            raise ParseError(source, 0, too_big_reason(size))
        data = fh.read(MAX_FILE_BYTES + 1)
    return parse_bytes(data, source)


def too_big_reason(size: int) -> str:
    """Why a file of ``size`` bytes is refused (shared with ingest, which checks sizes before reading)."""
    return f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit for one lmbench log"
