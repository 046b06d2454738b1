"""The metric catalogue: every lmbench result the suite knows, under a stable snake_case id.

The ids are a contract: processed tables, reports, presets and users' scripts name metrics by
them. Each metric carries the unit its values are stored in (``UNITS``), which direction is
better, and the OS-operation category it stands for in the overhead model.

The parser finds metrics through ``match_label`` (single-value lines) and ``match_series``
(headers of quoted series blocks); both return ``None`` for text the catalogue does not know,
which the parser then reports as an unknown line instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = ("cpu", "memory", "disk", "network", "kernel")
UNITS = ("us", "ns", "MB/s", "KB/s", "files/s", "x", "pages")
LOWER, HIGHER = "lower", "higher"


@dataclass(frozen=True)
class Metric:
    id: str
    label: str  # readable, for charts
    unit: str  # one of UNITS: the unit of the stored value
    direction: str  # LOWER or HIGHER is better
    category: str  # one of CATEGORIES
    program: str  # the lmbench program that measures it
    param: str = ""  # what the param column holds for this metric, if anything


def _m(id, label, unit, direction, category, program, param=""):
    return Metric(id, label, unit, direction, category, program, param)


_LAT_OPS = [
    (_m(f"{pfx}_{op}", f"{name} {op}", "ns", LOWER, "cpu", "lat_ops"))
    for pfx, name in (("int", "integer"), ("int64", "int64"), ("uint64", "uint64"), ("float", "float"), ("double", "double"))
    for op in (("add", "mul", "div", "bogomflops") if pfx in ("float", "double") else ("bit", "add", "mul", "div", "mod"))
]
_PAR_OPS = [
    _m(f"{m.id}_parallelism", f"{m.label} parallelism", "x", HIGHER, "cpu", "par_ops")
    for m in _LAT_OPS
    if not m.id.endswith("bogomflops")
]

_BW_SERIES = [
    # (id, label, category, program); params are the size in MB as printed
    ("file_reread_bw", "File reread bandwidth", "disk", "bw_file_rd io_only"),
    ("file_open2close_bw", "File open-read-close bandwidth", "disk", "bw_file_rd open2close"),
    ("mmap_reread_bw", "Mmap reread bandwidth", "disk", "bw_mmap_rd mmap_only"),
    ("mmap_open2close_bw", "Mmap open-read-close bandwidth", "disk", "bw_mmap_rd open2close"),
    ("libc_bcopy_unaligned_bw", "libc bcopy unaligned", "memory", "bw_mem bcopy"),
    ("libc_bcopy_aligned_bw", "libc bcopy aligned", "memory", "bw_mem bcopy conflict"),
    ("mem_bzero_bw", "Memory bzero bandwidth", "memory", "bw_mem bzero"),
    ("unrolled_bcopy_unaligned_bw", "Unrolled bcopy unaligned", "memory", "bw_mem fcp"),
    ("unrolled_partial_bcopy_unaligned_bw", "Unrolled partial bcopy unaligned", "memory", "bw_mem cp"),
    ("mem_read_bw", "Memory read bandwidth", "memory", "bw_mem frd"),
    ("mem_partial_read_bw", "Memory partial read bandwidth", "memory", "bw_mem rd"),
    ("mem_write_bw", "Memory write bandwidth", "memory", "bw_mem fwr"),
    ("mem_partial_write_bw", "Memory partial write bandwidth", "memory", "bw_mem wr"),
    ("mem_partial_rdwr_bw", "Memory partial read/write bandwidth", "memory", "bw_mem rdwr"),
]

_STREAM = [
    (f"{suite.lower()}_{op}", f"{suite} {op}")
    for suite, ops in (("STREAM", ("copy", "scale", "add", "triad")), ("STREAM2", ("fill", "copy", "daxpy", "sum")))
    for op in ops
]

_ALL = (
    [
        _m("syscall_null", "Null system call", "us", LOWER, "kernel", "lat_syscall null"),
        _m("syscall_read", "read() system call", "us", LOWER, "kernel", "lat_syscall read"),
        _m("syscall_write", "write() system call", "us", LOWER, "kernel", "lat_syscall write"),
        _m("syscall_stat", "stat() system call", "us", LOWER, "kernel", "lat_syscall stat"),
        _m("syscall_fstat", "fstat() system call", "us", LOWER, "kernel", "lat_syscall fstat"),
        _m("syscall_open_close", "open()+close()", "us", LOWER, "kernel", "lat_syscall open"),
        _m("signal_install", "Signal handler installation", "us", LOWER, "kernel", "lat_sig install"),
        _m("signal_catch", "Signal handler overhead", "us", LOWER, "kernel", "lat_sig catch"),
        _m("protection_fault", "Protection fault", "us", LOWER, "memory", "lat_sig prot"),
        _m("proc_fork", "Process fork+exit", "us", LOWER, "kernel", "lat_proc fork"),
        _m("proc_exec", "Process fork+execve", "us", LOWER, "kernel", "lat_proc exec"),
        _m("proc_shell", "Process fork+/bin/sh -c", "us", LOWER, "kernel", "lat_proc shell"),
        _m("pipe_latency", "Pipe latency", "us", LOWER, "kernel", "lat_pipe"),
        _m("unix_latency", "AF_UNIX stream latency", "us", LOWER, "kernel", "lat_unix"),
        _m("fifo_latency", "FIFO latency", "us", LOWER, "kernel", "lat_fifo"),
        _m("fcntl_latency", "Fcntl lock latency", "us", LOWER, "kernel", "lat_fcntl"),
        _m("ctx_switch", "Context switch", "us", LOWER, "kernel", "lat_ctx", "<procs>p/<size>K"),
        _m("ctx_overhead", "Context switch loop overhead", "us", LOWER, "kernel", "lat_ctx", "<size>K"),
        _m("pagefault", "Page fault", "us", LOWER, "memory", "lat_pagefault"),
        _m("mmap_latency", "mmap latency", "us", LOWER, "disk", "lat_mmap", "size in MB as printed"),
        _m("fs_create", "File create rate", "files/s", HIGHER, "disk", "lat_fs", "file size as printed"),
        _m("fs_delete", "File delete rate", "files/s", HIGHER, "disk", "lat_fs", "file size as printed"),
        _m("file_write_bw", "File write bandwidth (lmdd)", "KB/s", HIGHER, "disk", "lmdd"),
        _m("udp_latency", "UDP latency", "us", LOWER, "network", "lat_udp", "remote host, empty for localhost"),
        _m("tcp_latency", "TCP latency", "us", LOWER, "network", "lat_tcp", "remote host, empty for localhost"),
        _m("rpc_udp_latency", "RPC/UDP latency", "us", LOWER, "network", "lat_rpc -p udp", "remote host, empty for localhost"),
        _m("rpc_tcp_latency", "RPC/TCP latency", "us", LOWER, "network", "lat_rpc -p tcp", "remote host, empty for localhost"),
        _m("tcp_connect", "TCP connection cost", "us", LOWER, "network", "lat_connect", "remote host, empty for localhost"),
        _m("tcp_bw", "TCP socket bandwidth", "MB/s", HIGHER, "network", "bw_tcp", "message size in MB as printed"),
        _m("http_bw", "HTTP transfer bandwidth", "MB/s", HIGHER, "network", "lat_http"),
        _m("pipe_bw", "Pipe bandwidth", "MB/s", HIGHER, "kernel", "bw_pipe"),
        _m("unix_bw", "AF_UNIX stream bandwidth", "MB/s", HIGHER, "kernel", "bw_unix"),
        _m("mem_latency", "Memory load latency", "ns", LOWER, "memory", "lat_mem_rd", "stride=<bytes>/<size MB as printed>"),
        _m("mem_random_latency", "Random load latency", "ns", LOWER, "memory", "lat_mem_rd -t", "stride=<bytes>/<size MB as printed>"),
        _m("mem_parallelism", "Memory load parallelism", "x", HIGHER, "memory", "par_mem", "size in MB as printed"),
        _m("tlb_pages", "TLB size", "pages", HIGHER, "memory", "tlb"),
    ]
    + _LAT_OPS
    + _PAR_OPS
    + [_m(i, label, "MB/s", HIGHER, cat, prog, "size in MB as printed") for i, label, cat, prog in _BW_SERIES]
    + [_m(f"{i}_latency", f"{label} latency", "ns", LOWER, "memory", "stream") for i, label in _STREAM]
    + [_m(f"{i}_bw", f"{label} bandwidth", "MB/s", HIGHER, "memory", "stream") for i, label in _STREAM]
)

METRICS: dict[str, Metric] = {m.id: m for m in _ALL}

# select_<n>_fd / select_<n>_tcp: lmbench prints any descriptor count it was asked for
# (10, 100, 250, 500 in lmbench 3; 200 in lmbench 2), so these ids are made on demand.
_SELECT_ID = re.compile(r"^select_(\d+)_(fd|tcp)$")


def get(metric_id: str) -> Metric:
    """The catalogue entry of ``metric_id``; KeyError if the catalogue does not know it."""
    if metric_id in METRICS:
        return METRICS[metric_id]
    m = _SELECT_ID.match(metric_id)
    if m:
        n, kind = m.groups()
        if kind == "fd":
            return _m(metric_id, f"Select on {n} file fds", "us", LOWER, "kernel", f"lat_select -n {n} file")
        return _m(metric_id, f"Select on {n} TCP fds", "us", LOWER, "network", f"lat_select -n {n} tcp")
    raise KeyError(metric_id)


# --- which param stands for a metric ------------------------------------------------------------

# Series whose default is not their largest size: the smallest-file rates and the two-process,
# no-working-set context switch that lmbench's own summary starts with.
DEFAULT_PARAMS = {"ctx_switch": "2p/0K", "ctx_overhead": "0K", "fs_create": "0k", "fs_delete": "0k"}


def size_key(param: str):
    """Sort key of a param: numbers (sizes in MB) numerically, then other text by its numbers."""
    try:
        return (0, float(param))
    except ValueError:
        nums = re.findall(r"[\d.]+", param)
        return (1, tuple(float(n) for n in nums if n.replace(".", "", 1).isdigit()), param)


def representative_param(metric_id: str, params) -> str:
    """The one param that stands for ``metric_id`` among the ``params`` measured: the suite's one rule.

    Plain metrics: "" (their only value). Network metrics: "" (localhost). ``DEFAULT_PARAMS``
    where measured. Size series (mmap latency, bandwidth sweeps): the largest size, the value
    lmbench's own summary reports. ValueError when nothing was measured.
    """
    params = [str(p) for p in dict.fromkeys(params)]
    if not params:
        raise ValueError(f"{metric_id}: no params measured")
    if "" in params or len(params) == 1:
        return "" if "" in params else params[0]
    special = DEFAULT_PARAMS.get(metric_id)
    if special in params:
        return special
    return max(params, key=size_key)


def _bytes_text(n: float) -> str:
    """A byte count as lmbench's users say it: 512 B, 64 KB, 1.5 MB (binary units, as lmbench sizes are)."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if abs(v - round(v)) < 1e-9 else f"{v:.3g} {unit}"
    return f"{n:.0f} B"


_STRIDE = re.compile(r"^stride=(\d+)/([\d.]+)$")
_CTX = re.compile(r"^(\d+)p/(\d+)K$")


def param_text(metric_id: str, param: str) -> str:
    """A param as a reader wants it: "0.524288" (MB as printed) -> "512 KB", "16p/8K" -> "16
    processes, 8 KB each", "stride=128/0.00049" -> "stride 128 B, 0.00049 MB"; other params as printed.

    lmbench prints sizes of its bandwidth and mmap series as bytes / 10^6, so 0.524288 is exactly
    512 KB; the stride series print MB of 2^20 with five decimals, too coarse to name bytes, so
    they are shown as printed.
    """
    param = str(param)
    try:
        meta = get(metric_id)
    except KeyError:
        return param
    if not param:
        return ""
    if "size in MB" in meta.param:
        try:
            return _bytes_text(round(float(param) * 1e6))
        except ValueError:
            return param
    if m := _CTX.match(param):
        procs, kb = m.groups()
        return f"{procs} processes, {kb} KB each"
    if m := _STRIDE.match(param):
        return f"stride {m.group(1)} B, {m.group(2)} MB"
    if meta.id in ("fs_create", "fs_delete") and param.lower().endswith("k"):
        return f"{param[:-1]} KB files"
    return param


def item_label(metric_id: str, param: str = "") -> str:
    """An lmbench item for a reader: its label and the param in words ("Page fault",
    "mmap latency, 512 KB"); an id the catalogue does not know as given."""
    try:
        meta = get(metric_id)
    except KeyError:
        return f"{metric_id} {param}".strip()
    size = param_text(metric_id, param)
    return f"{meta.label}{', ' + size if size else ''}"


def item_text(metric_id: str, param: str = "") -> str:
    """``item_label`` with the unit: "mmap latency, 512 KB (us)"."""
    try:
        unit = get(metric_id).unit
    except KeyError:
        return item_label(metric_id, param)
    return f"{item_label(metric_id, param)} ({unit})"


# --- single-value lines --------------------------------------------------------------------------

# Where lmbench prints a unit other than the catalogue's, the value is scaled to it. ``None`` means
# the printed unit is not one this label can carry, and the parser rejects the line.
_TIME_SCALE_TO_US = {"microseconds": 1.0, "usecs": 1.0, "nanoseconds": 1e-3, "milliseconds": 1e3}
_TIME_SCALE_TO_NS = {"nanoseconds": 1.0, "microseconds": 1e3}
_BW_SCALE_TO_MBS = {"MB/sec": 1.0}
_BW_SCALE_TO_KBS = {"KB/sec": 1.0}

_FIXED_LABELS = {
    "Simple syscall": "syscall_null",
    "Null syscall": "syscall_null",  # lmbench 2
    "Simple read": "syscall_read",
    "Simple write": "syscall_write",
    "Simple stat": "syscall_stat",
    "Simple fstat": "syscall_fstat",
    "Simple open/close": "syscall_open_close",
    "Signal handler installation": "signal_install",
    "Signal handler overhead": "signal_catch",
    "Protection fault": "protection_fault",
    "Process fork+exit": "proc_fork",
    "Process fork+execve": "proc_exec",
    "Process fork+/bin/sh -c": "proc_shell",
    "Pipe latency": "pipe_latency",
    "AF_UNIX sock stream latency": "unix_latency",
    "FIFO latency": "fifo_latency",  # lmbench 2
    "Fcntl lock latency": "fcntl_latency",  # lmbench 2
    "Pipe bandwidth": "pipe_bw",
    "AF_UNIX sock stream bandwidth": "unix_bw",
}

_NET_LABEL = re.compile(
    r"^(?:(UDP latency|TCP latency|RPC/udp latency|RPC/tcp latency) using|(TCP/IP connection cost) to) (\S+)$"
)
_NET_IDS = {
    "UDP latency": "udp_latency",
    "TCP latency": "tcp_latency",
    "RPC/udp latency": "rpc_udp_latency",
    "RPC/tcp latency": "rpc_tcp_latency",
    "TCP/IP connection cost": "tcp_connect",
}
_SELECT_LABEL = re.compile(r"^Select on (\d+) (tcp )?fd's$")
_OPS_LABEL = re.compile(r"^(integer|u?int64|float|double) (bit|add|mul|div|mod|bogomflops)( parallelism)?$")
_OPS_PREFIX = {"integer": "int", "int64": "int64", "uint64": "uint64", "float": "float", "double": "double"}
_STREAM_LABEL = re.compile(r"^(STREAM2?) (\w+) (latency|bandwidth)$")


@dataclass(frozen=True)
class LabelMatch:
    metric: Metric
    param: str
    scales: dict  # printed unit -> factor to the catalogue unit; {} for unit-less lines


def _scales_for(metric: Metric) -> dict:
    return {
        "us": _TIME_SCALE_TO_US,
        "ns": _TIME_SCALE_TO_NS,
        "MB/s": _BW_SCALE_TO_MBS,
        "KB/s": _BW_SCALE_TO_KBS,
    }.get(metric.unit, {})


_LABEL_CACHE: dict = {}


def match_label(label: str) -> LabelMatch | None:
    """Catalogue entry for the label of a ``Label: value unit`` line, or None if unknown."""
    label = label.strip()
    try:
        return _LABEL_CACHE[label]  # the same few dozen labels recur in every file of a fleet
    except KeyError:
        pass
    match = _match_label(label)
    if len(_LABEL_CACHE) < 10_000:  # bounded: hostile input cannot grow it without limit
        _LABEL_CACHE[label] = match
    return match


def _match_label(label: str) -> LabelMatch | None:
    metric_id, param = _FIXED_LABELS.get(label), ""
    if metric_id is None:
        if label.startswith("Pagefaults on "):
            metric_id = "pagefault"
        elif label.startswith("File ") and label.endswith(" write bandwidth"):
            metric_id = "file_write_bw"
        elif m := _NET_LABEL.match(label):
            metric_id = _NET_IDS[m.group(1) or m.group(2)]
            host = m.group(3)
            param = "" if host == "localhost" else host
        elif m := _SELECT_LABEL.match(label):
            metric_id = f"select_{m.group(1)}_{'tcp' if m.group(2) else 'fd'}"
        elif m := _OPS_LABEL.match(label):
            metric_id = f"{_OPS_PREFIX[m.group(1)]}_{m.group(2)}" + ("_parallelism" if m.group(3) else "")
        elif m := _STREAM_LABEL.match(label):
            suffix = "latency" if m.group(3) == "latency" else "bw"
            metric_id = f"{m.group(1).lower()}_{m.group(2)}_{suffix}"
        else:
            return None
    try:
        metric = get(metric_id)
    except KeyError:
        return None
    return LabelMatch(metric, param, _scales_for(metric))


# --- series headers ------------------------------------------------------------------------------

SERIES_HEADERS = {
    "mappings": "mmap_latency",
    "read bandwidth": "file_reread_bw",
    "read open2close bandwidth": "file_open2close_bw",
    "Mmap read bandwidth": "mmap_reread_bw",
    "Mmap read open2close bandwidth": "mmap_open2close_bw",
    "libc bcopy unaligned": "libc_bcopy_unaligned_bw",
    "libc bcopy aligned": "libc_bcopy_aligned_bw",
    "Memory bzero bandwidth": "mem_bzero_bw",
    "unrolled bcopy unaligned": "unrolled_bcopy_unaligned_bw",
    "unrolled partial bcopy unaligned": "unrolled_partial_bcopy_unaligned_bw",
    "Memory read bandwidth": "mem_read_bw",
    "Memory partial read bandwidth": "mem_partial_read_bw",
    "Memory write bandwidth": "mem_write_bw",
    "Memory partial write bandwidth": "mem_partial_write_bw",
    "Memory partial read/write bandwidth": "mem_partial_rdwr_bw",
    "Socket bandwidth using localhost": "tcp_bw",
    "Memory load parallelism": "mem_parallelism",
}
# Headers that open a group of "stride=N blocks rather than a series of their own.
STRIDE_GROUPS = {"Memory load latency": "mem_latency", "Random load latency": "mem_random_latency"}
FS_LATENCY_HEADERS = ("File system latency", "file system latency")


def match_series(header: str) -> Metric | None:
    """Catalogue entry for a series header (leading quote already removed), or None."""
    metric_id = SERIES_HEADERS.get(header.strip())
    return METRICS[metric_id] if metric_id else None


# bw_mem's operation argument -> the series lmbench's own script prints it under
# (scripts/lmbench: "Memory read bandwidth" runs frd, "Memory partial read bandwidth" runs rd, ...).
BW_MEM_OPS = {
    "frd": "mem_read_bw",
    "rd": "mem_partial_read_bw",
    "fwr": "mem_write_bw",
    "wr": "mem_partial_write_bw",
    "rdwr": "mem_partial_rdwr_bw",
    "fcp": "unrolled_bcopy_unaligned_bw",
    "cp": "unrolled_partial_bcopy_unaligned_bw",
    "bcopy": "libc_bcopy_unaligned_bw",
    "bzero": "mem_bzero_bw",
}
