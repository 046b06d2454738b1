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
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
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
        raise ParseError(source, 0, _too_big(len(data)))
    if not data.strip():
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
    replaced = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
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
        self.issues.append(Issue(line, kind, reason, text[:300]))

    def add(self, line: int, metric: Metric, param: str, token: str, scale: float, text: str, note: str = "") -> None:
        try:
            value = float(token) * scale
        except ValueError:
            self.issue(line, "invalid", f"{metric.id}: value {token!r} is not a number", text)
            return
        if 0 < value <= PLAUSIBLE_MAX[metric.unit]:  # the common case, checked first (also rejects NaN)
            self.values.append(Value(line, metric.id, param, value, _low_precision(metric, token, value), note))
        elif not math.isfinite(value):
            self.issue(line, "invalid", f"{metric.id}: value {token!r} is not finite", text)
        elif value < 0:
            self.issue(line, "invalid", f"{metric.id}: negative value {token}", text)
        elif value == 0 and metric.direction == HIGHER:
            self.issue(line, "invalid", f"{metric.id}: zero {metric.unit} (the benchmark failed; a rate of 0 cannot be compared)", text)
        elif value > PLAUSIBLE_MAX[metric.unit]:
            self.issue(line, "invalid", f"{metric.id}: {value:g} {metric.unit} is beyond any plausible result", text)
        else:
            self.values.append(Value(line, metric.id, param, value, _low_precision(metric, token, value), note))

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
_PLAIN_ROW = re.compile(r"[ \t]*(\d+(?:\.\d*)?)[ \t]+(\d+(?:\.\d*)?)(?:[ \t]+MB/sec)?[ \t]*\Z").match


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


def parse_text(text: str, source: str = "<text>", decode_replaced: int = 0) -> ParsedFile:
    """Parse the text of one lmbench output. Raises ParseError if it holds no lmbench content."""
    p = _Parser(source)
    # Split on "\n" only: str.splitlines() also breaks on lone CR, form feeds and U+2028, which
    # typescripts contain, and would make cited line numbers disagree with editors and grep.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    unterminated = not text.endswith("\n")
    last = len(lines)
    append = p.values.append
    new_value = tuple.__new__  # builds a Value without the Python-level NamedTuple __new__
    for n, raw in enumerate(lines, start=1):
        # Fast path for the bulk of every results file: a plain "x y" row inside a known series.
        # It makes exactly the value the general path would; anything unusual takes that path.
        kind = p.series_kind
        if kind in _FAST_KINDS and (m := _PLAIN_ROW(raw)) and n != last:
            x, y = m.groups()
            metric = p.series
            value = float(y)
            if 0 < value <= PLAUSIBLE_MAX[metric.unit] and float(x) < 1e12:
                if kind == "xy":
                    param = x
                elif kind == "stride":
                    param = f"stride={p.series_param}/{x}"
                else:
                    param = f"{x}p/{p.series_param}K"
                dot = y.find(".")  # _low_precision, inlined for plain decimals
                decimals = len(y) - dot - 1 if dot >= 0 else 0
                low = (decimals == 0 and metric.id == "mmap_latency") or _RESOLUTION[min(decimals, 12)] > 0.01 * value
                append(new_value(Value, (n, metric.id, param, value, low, "")))
                continue
        if not raw:  # an empty line closes a series block (the general path does the same)
            p.end_series()
        elif n == last and unterminated:
            _feed_unterminated(p, n, raw)
        else:
            p.feed(n, raw)
    parsed = p.result(decode_replaced)
    if not parsed.values:
        if p.major is not None:
            raise ParseError(source, len(lines), "lmbench results header but no measured value (run truncated or failed)")
        if p.wrapper:
            raise ParseError(source, len(lines), "wrapper file holds no lmbench value")
        unknown = [i for i in parsed.issues if i.kind in ("unknown", "invalid")]
        if unknown:
            first = unknown[0]
            raise ParseError(source, first.line, f"no usable lmbench value; first unusable result line: {first.reason}")
        raise ParseError(source, 0, "not an lmbench log: no lmbench result line found")
    return parsed


def parse_bytes(data: bytes, source: str) -> ParsedFile:
    text, replaced = decode(data, source)
    return parse_text(text, source, replaced)


def parse_file(path, source: str | None = None) -> ParsedFile:
    """Parse a file on disk (opened read-only). ``source`` is the name used in messages."""
    source = source if source is not None else str(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_FILE_BYTES:  # checked before reading: a 200 MB file is never loaded
            raise ParseError(source, 0, _too_big(size))
        data = fh.read(MAX_FILE_BYTES + 1)
    return parse_bytes(data, source)


def _too_big(size: int) -> str:
    return f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit for one lmbench log"
