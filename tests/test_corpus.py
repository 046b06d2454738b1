"""The parser against real lmbench outputs published by others (../shared/lmbench-corpus).

Three kinds of checks:

1. every lmbench output of the corpus and the lab parses, except an explicit list of files that hold
   no lmbench value (with the reason for each); peer-summary files are rejected;
2. value accuracy, independent of the parser: every parsed value is found on the line it cites
   (``physical_lines``: the file split on LF, as editors count), under the series header or
   context-switch/stride block that the raw text puts above it; plus hand-written expectations per
   format, read from the files (the raw text of each cited line is part of the expectation);
3. noise is never a value.

Everything skips with a visible reason when ../shared/lmbench-corpus is absent.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path

import pytest

from vizlib.parser import ParseError

from conftest import (
    CORPUS, corpus_file, corpus_params, find_value, lab_params, line_text, parse_cached, parsed,
    physical_lines, provenance_rows, require_corpus, values_at,
)

PARSEABLE = ("results3", "results2", "stdout", "single-benchmark")

K = "tomgoh-kylin-lmbench/results/"
A = "atharva0300-lmbench3-container-perf/results/"
VC = "microsoft-virtualclient/src/VirtualClient/VirtualClient.Actions.UnitTests/Examples/LMbench/"
D3000 = "tomgoh-kylin-lmbench/experiments/d3000-pkvm-apps/results/d3000-apps-20260713-111300/pair-1/"

# FORMATS.md section 6 describes these two console logs, but PROVENANCE.csv does not list them.
UNLISTED_CONSOLE_LOGS = ["byte-os-byteos/docs/lmbench.md", "unresolved-oscomp-d1-doc/qemu.extracted.txt"]

# The documented exceptions: lmbench outputs that hold no lmbench value at all, so the parser must
# reject them (ParseError) instead of returning an empty or invented table.
# file -> (fragment of the ParseError message, why the file has no value)
NO_VALUE_FILES = {
    A + "lat_ctx_docker_production_terminal_output.txt": (
        "not an lmbench log",
        "typescript whose captured output is perf/strace/bpftrace text only: no lat_ctx line reached it"),
    A + "docker/lat_sig/strace.txt": (
        "not an lmbench log",
        "strace attach lines and an strace -c table only; the lat_sig result line is not in this capture"),
    A + "host/lat_proc.txt": (
        "no lmbench value",
        "wrapper file whose RAW RESULTS section is empty"),
    "hubzhangxj-lmbench/files/lmbench-1620-bw.log": (
        "no usable lmbench value",
        "bare bw_mem rows under '****local die Ncore****' banners: no command line names the operation"),
    "hubzhangxj-lmbench/files/lmbench_bw.log": (
        "no usable lmbench value",
        "bare bw_mem rows under '****local die Ncore****' banners: no command line names the operation"),
}



def _parse_or_error(rel: str):
    return parse_cached(str(corpus_file(rel)))


def _corpus_parsed(rel: str):
    return parsed(corpus_file(rel))


# --- 1. everything parses ------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", corpus_params(PARSEABLE) + UNLISTED_CONSOLE_LOGS)
def test_corpus_output_parses(rel):
    result = _parse_or_error(rel)
    if rel in NO_VALUE_FILES:
        fragment, why = NO_VALUE_FILES[rel]
        assert isinstance(result, ParseError), f"expected a rejection ({why}), got {len(result.values)} values"
        assert fragment in str(result)
    else:
        assert not isinstance(result, ParseError), f"rejected: {result}"
        assert result.values, "no value"


def test_no_value_list_names_parseable_corpus_files():
    # The exception list cannot go stale: each entry is a PROVENANCE row of a parseable kind.
    require_corpus()
    kinds = {r["file"]: r["kind"] for r in provenance_rows()}
    for rel in NO_VALUE_FILES:
        assert kinds.get(rel) in PARSEABLE, rel
        corpus_file(rel)


@pytest.mark.parametrize("path", lab_params())
def test_lab_output_parses(path):
    assert parsed(path).values


@pytest.mark.parametrize("rel", corpus_params(("results3",)))
def test_results3_file(rel):
    """Per results3 file: no unknown line; no value lost (section 2a); nothing after the closing
    date is a value (section 3)."""
    path = corpus_file(rel)
    pf = _corpus_parsed(rel)
    assert pf.format == "lmbench3-results"
    assert pf.count("unknown") == 0, [(i.line, i.text) for i in pf.issues if i.kind == "unknown"]
    _check_complete(path, pf)
    _check_nothing_after_closing_date(path, pf)


# An lmbench result line, recognised independently of the parser (labels of lmbench 2 and 3, series
# headers, header banner). Used to tell which peer-summary files contain no lmbench line at all.
_LMBENCH_LINE = re.compile(r"""^\s*(?:
    (?:Simple\ \w+|Select\ on|Signal\ handler|Protection\ fault|Pipe|AF_UNIX|Process\ fork|UDP\ latency
      |TCP\ latency|RPC/|TCP/IP|Pagefaults\ on|File\ \S+\ write\ bandwidth|FIFO\ latency|Fcntl\ lock)
      [^:]*:\s*[\d.]+
  | (?:integer|u?int64|float|double)\ \w+(?:\ parallelism)?:\s*[\d.]+
  | "?(?:mappings|size=\d+k\ ovr=|stride=\d+|File\ system\ latency|read\ bandwidth|Mmap\ read|libc\ bcopy)
  | (?:Memory\ [\w/]+(?:\ [\w/]+)?\ (?:bandwidth|latency|parallelism)|Socket\ bandwidth\ using)\s*$
  | tlb:\ \d+\ pages | STREAM2?\ \w+\ (?:latency|bandwidth): | \[lmbench\d | Avg\ xfer
)""", re.X)


@pytest.mark.parametrize("path", lab_params())
def test_lmbench_line_detector_sees_lab_results(path):
    # Sanity check of the detector used below: it must see the result lines of a real results file.
    hits = [t for t in physical_lines(str(path)) if _LMBENCH_LINE.match(t)]
    assert len(hits) > 80


@pytest.mark.parametrize("rel", corpus_params(("peer-summary",)))
def test_peer_summary_without_lmbench_line_rejected(rel):
    path = corpus_file(rel)
    data = path.read_bytes()
    has_lmbench_line = any(_LMBENCH_LINE.match(line) for line in physical_lines(str(path)))
    result = parse_cached(str(path))
    if has_lmbench_line:  # none today; such a file would just have to parse or be rejected cleanly
        return
    assert isinstance(result, ParseError), f"{len(result.values)} values invented from a peer's summary"
    expected = "empty file" if not data.strip() else "not an lmbench log"
    assert expected in str(result)


# --- 2a. every value is on its cited line, under the right header -------------------------------------

# Series headers as lmbench prints them (leading quote removed) -> metric of their rows.
_SERIES = {
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
    "Memory read bandwidth": "mem_read_bw",  # scripts/lmbench runs bw_mem frd for this title
    "Memory partial read bandwidth": "mem_partial_read_bw",  # ... and bw_mem rd for this one
    "Memory write bandwidth": "mem_write_bw",
    "Memory partial write bandwidth": "mem_partial_write_bw",
    "Memory partial read/write bandwidth": "mem_partial_rdwr_bw",
    "Socket bandwidth using localhost": "tcp_bw",
    "Memory load parallelism": "mem_parallelism",
}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_ROW = re.compile(r"^\d+(?:\.\d+)?k?(?:\s+\d+(?:\.\d+)?)+(?:\s+MB/sec)?$")
_CONVERSIONS = (1e-3, 1e3, 1 / 1024)  # ns<->us, KB/sec -> MB/s (lmbench KB = 1024 bytes)


def _clean(text: str) -> str:
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", _ANSI.sub("", text)).strip()


def _numbers(text: str) -> list[float]:
    return [float(t) for t in re.findall(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?![\w.])", text)]


@functools.lru_cache(maxsize=None)
def _index(path: str):
    """Per physical line: the cleaned text, the nearest non-row line above it (its block header)
    and the last lat_mem_rd group title seen above it. One forward pass per file."""
    cleaned = [_clean(t) for t in physical_lines(path)]
    header, group = [""] * (len(cleaned) + 1), [""] * (len(cleaned) + 1)
    last_header, last_group = "", "Memory load latency"
    for n, text in enumerate(cleaned, start=1):
        header[n], group[n] = last_header, last_group
        if not _ROW.match(text):
            last_header = text
            if text in ("Memory load latency", "Random load latency"):
                last_group = text
    return cleaned, header, group


def check_value_on_line(path: Path, v) -> None:
    """Assert that ``v`` is printed on its cited line and that the raw text above gives its meaning."""
    cleaned, header_above, group_above = _index(str(path))
    assert 1 <= v.line <= len(cleaned), f"{v}: line outside the file"
    text = cleaned[v.line - 1]
    where = f"{path.name}:{v.line}: {text!r} -> {v}"

    # The number: verbatim, or through a conversion the Value's note documents.
    if v.param == "" or v.note.startswith("wrapper") or v.metric == "ctx_overhead":
        candidates = _numbers(text.split("ovr=", 1)[1] if "ovr=" in text else text.rsplit(":", 1)[-1])
    else:
        candidates = _numbers(" ".join(text.split()[1:]))  # a row: x first, then the value(s)
    if v.value not in candidates:
        assert "convert" in v.note and any(
            abs(c * f - v.value) <= 1e-12 * abs(v.value) for c in candidates for f in _CONVERSIONS
        ), f"value not on its line: {where}"

    # The parameter and the block it belongs to.
    if v.note.startswith("wrapper"):
        return  # the param comes from the wrapper's 'Benchmark Command:' banner (checked by hand below)
    first = text.split()[0] if text.split() else ""
    header = header_above[v.line]
    if v.metric == "ctx_overhead":
        assert re.search(rf"size={v.param[:-1]}k\b", text), where
    elif v.metric == "ctx_switch":
        procs, size = v.param.split("/")
        assert first == procs[:-1], where
        assert re.match(rf'^"?size={size[:-1]}k ovr=', header), f"{where} under {header!r}"
    elif v.metric in ("mem_latency", "mem_random_latency"):
        stride, x = v.param.split("/")
        assert first == x, where
        assert header.lstrip('"') == stride, f"{where} under {header!r}"
        assert v.metric == {"Memory load latency": "mem_latency", "Random load latency": "mem_random_latency"}[
            group_above[v.line]], where
    elif v.metric in ("fs_create", "fs_delete"):
        fields = text.split()
        assert first == v.param and len(fields) == 4, where
        assert v.value == float(fields[2] if v.metric == "fs_create" else fields[3]), where
    elif v.param:
        assert first == v.param, where  # size in MB as printed
        if "bare row" not in v.note:  # bare rows: checked by hand below
            assert _SERIES.get(header.lstrip('"')) == v.metric, f"{where} under {header!r}"


@pytest.mark.parametrize("rel", corpus_params(PARSEABLE) + UNLISTED_CONSOLE_LOGS)
def test_corpus_values_on_cited_lines(rel):
    result = _parse_or_error(rel)
    if isinstance(result, ParseError):
        assert rel in NO_VALUE_FILES, str(result)
        return
    for v in result.values:
        check_value_on_line(corpus_file(rel), v)


@pytest.mark.parametrize("path", lab_params())
def test_lab_values_on_cited_lines(path):
    for v in parsed(path).values:
        check_value_on_line(path, v)


# Independent completeness check for results files: every line that has the shape of an lmbench
# datum yields its value(s) (or an `invalid` issue), and every value comes from such a line.
# Applied to every results3 file in test_results3_file and to the lab files below.
_DATUM = [
    (re.compile(r"^[A-Za-z][^:]*:\s*\d[\d.]*\s+(?:microseconds|nanoseconds|KB/sec|MB/sec|usecs)$"), 1),
    (re.compile(r"^[a-z0-9 ]+ parallelism: \d[\d.]*$"), 1),
    (re.compile(r"^tlb: \d+ pages$"), 1),
    (re.compile(r"^\d+(?:\.\d+)?\s+\d+(?:\.\d+)?(?: MB/sec)?$"), 1),
    (re.compile(r"^\d+k\s+\d+\s+\d+\s+\d+$"), 2),
    (re.compile(r'^"size=\d+k ovr=\d[\d.]*$'), 1),
    (re.compile(r"^Avg xfer.*[KM]B/sec$"), 1),
]


def _check_complete(path: Path, pf) -> None:
    lines = physical_lines(str(path))
    per_line = Counter(v.line for v in pf.values)
    invalid = {i.line for i in pf.issues if i.kind == "invalid"}
    for n, raw in enumerate(lines, start=1):
        text = raw.strip()
        expected = next((k for rx, k in _DATUM if rx.match(text)), 0)
        if expected and n not in invalid:
            assert per_line[n] == expected, f"{path.name}:{n}: {text!r} gave {per_line[n]} value(s)"
    for v in pf.values:
        assert any(rx.match(lines[v.line - 1].strip()) for rx, _ in _DATUM), f"{path.name}:{v.line}: {v}"


@pytest.mark.parametrize("path", lab_params())
def test_lab_no_value_lost(path):
    _check_complete(path, parsed(path))


@pytest.mark.parametrize("rel", [
    VC + "latmemrd_stride_1024_example_results.txt",
    VC + "latmemrd_stride_128_256_512_1024_example_results.txt",
    VC + "latmemrd_stride_32_example_results.txt",
    D3000 + "nvhe/anchors-start/rep-00/lat-mem-r1.txt",
    D3000 + "protected/anchors-start/rep-00/lat-mem-r1.txt",
    "hubzhangxj-lmbench/files/lmbench_lat.log",
    "hubzhangxj-lmbench/files/lmbench-1620-lat.log",
])
def test_bare_lat_mem_rd_every_row_is_a_value(rel):
    path = corpus_file(rel)
    pf = _corpus_parsed(rel)
    rows = [n for n, t in enumerate(physical_lines(str(path)), 1) if re.match(r"^\d+\.\d+ \d+\.\d+$", t)]
    assert sorted(v.line for v in pf.values) == rows
    assert {v.metric for v in pf.values} == {"mem_latency"}


# --- 2b. hand-written expectations per format ---------------------------------------------------------

DAY1 = K + "n90-day1/n90-host-N5-cpu0-iter1.txt"
DAY2_ITER5 = K + "n90-day2/n90-baremetal-N5-cpu0-iter5.txt"
DAY2_TRUNC = K + "n90-day2/n90-baremetal-noksaf-N3-cpu0-iter2.txt"
DAY2_REFUSED = K + "n90-day2/n90-baremetal-noksaf-N3-cpu0-iter1.txt"
DAY3 = K + "n90-day3/n90-vhe-noLSM-full-cpu0-iter1.txt"
SMOKE = K + "n90-day1/pkvm-guest-np-smoke-cpu0-iter1.txt"
XKERNEL = K + "xkernel-n90-kvm-vhe-20260605-201819/xkernel-kvm-cpu0-iter1.txt"
HYGON = K + "hygon_csv_results/xkernel-csv-cpu0-iter1.txt"
PKB = "perfkitbenchmarker/tests/data/lmbench_output.txt"
MASUMI = "akawashiro-com/memos/linux-benchmarks.masumi.1.extracted.txt"
SINGLE = "akawashiro-com/memos/linux-benchmarks.single-benchmarks.extracted.txt"
LKML = "unresolved-lkml-lmbench2/2001-10-09-2.4.10-ac10-preempt.extracted.txt"
QEMU = "unresolved-oscomp-d1-doc/qemu.extracted.txt"
D1 = "unresolved-oscomp-d1-doc/d1-board.extracted.txt"
BYTEOS = "byte-os-byteos/docs/lmbench.md"
KAIRIX = "yan-516-kairix/lmbench_testcode.md"
KAIRIX_DOCS = "yan-516-kairix/docs/lmbench_testcode.md"
LKP01 = "intel-lkp-tests/spec/fixtures/stats/lmbench3/01"
LKP02 = "intel-lkp-tests/spec/fixtures/stats/lmbench3/02"
MMAP_ONLY = K + "n90-v10-cpkvm-pkvm-mmap/n90-v10-cpkvm-pkvm-mmap-cpu0-iter3.txt"
TS_WRITE = A + "lat_syscall_write_terminal_output.txt"
TS_CTX = A + "lat_ctx_terminal_output.txt"
TS_SIG = A + "lat_sig_terminal_output.txt"

# (file, line, raw text of the line, metric, param, value)
EXPECTED = [
    # lmbench 3 results, K/ day 3 (CONFIG.host: seven strides, Random load latency)
    (DAY3, 77, "Simple syscall: 0.1029 microseconds", "syscall_null", "", 0.1029),
    (DAY3, 105, "uint64 add: 0.28 nanoseconds", "uint64_add", "", 0.28),
    (DAY3, 133, "File /tmp/lmb_file write bandwidth: 1063987 KB/sec", "file_write_bw", "", 1063987.0),
    (DAY3, 134, "Pagefaults on /tmp/lmb_file: 0.2518 microseconds", "pagefault", "", 0.2518),
    (DAY3, 137, "0.524288 7.825", "mmap_latency", "0.524288", 7.825),
    (DAY3, 144, "67.108864 487", "mmap_latency", "67.108864", 487.0),
    (DAY3, 147, "0k\t1082\t94103\t151116", "fs_create", "0k", 94103.0),
    (DAY3, 147, "0k\t1082\t94103\t151116", "fs_delete", "0k", 151116.0),
    (DAY3, 153, "UDP latency using localhost: 15.7243 microseconds", "udp_latency", "", 15.7243),
    (DAY3, 158, "TCP/IP connection cost to localhost: 10697.5970 microseconds", "tcp_connect", "", 10697.597),
    (DAY3, 168, "10.000000 2386.82 MB/sec", "tcp_bw", "10.000000", 2386.82),
    (DAY3, 170, "Avg xfer: 3.2KB, 41.8KB in 1.3820 millisecs, 30.22 MB/sec", "http_bw", "", 30.22),
    (DAY3, 172, "Pipe bandwidth: 3865.63 MB/sec", "pipe_bw", "", 3865.63),
    (DAY3, 454, '"size=0k ovr=0.42', "ctx_overhead", "0K", 0.42),
    (DAY3, 455, "2 2.39", "ctx_switch", "2p/0K", 2.39),
    (DAY3, 514, "tlb: 48 pages", "tlb_pages", "", 48.0),
    (DAY3, 517, "0.001024 8.01", "mem_parallelism", "0.001024", 8.01),
    (DAY3, 534, "STREAM copy latency: 1.11 nanoseconds", "stream_copy_latency", "", 1.11),
    (DAY3, 535, "STREAM copy bandwidth: 14362.25 MB/sec", "stream_copy_bw", "", 14362.25),
    (DAY3, 549, "STREAM2 sum bandwidth: 7186.57 MB/sec", "stream2_sum_bw", "", 7186.57),
    (DAY3, 553, "0.00049 2.223", "mem_latency", "stride=16/0.00049", 2.223),
    (DAY3, 658, "0.00049 2.223", "mem_latency", "stride=128/0.00049", 2.223),
    (DAY3, 690, "64.00000 9.367", "mem_latency", "stride=128/64.00000", 9.367),
    (DAY3, 799, "0.00049 2.223", "mem_random_latency", "stride=16/0.00049", 2.223),
    (DAY3, 831, "64.00000 186.579", "mem_random_latency", "stride=16/64.00000", 186.579),
    # K/ day 1 (CONFIG.test: only stride=128 after Memory load latency)
    (DAY1, 94, "Simple syscall: 0.1530 microseconds", "syscall_null", "", 0.1530),
    (DAY1, 424, '"size=0k ovr=0.61', "ctx_overhead", "0K", 0.61),
    (DAY1, 425, "2 2.16", "ctx_switch", "2p/0K", 2.16),
    (DAY1, 520, "0.00049 1.906", "mem_latency", "stride=128/0.00049", 1.906),
    (DAY1, 545, "6.00000 6.587", "mem_latency", "stride=128/6.00000", 6.587),
    (DAY1, 551, "0.00049 1.906", "mem_random_latency", "stride=16/0.00049", 1.906),
    (DAY1, 576, "6.00000 46.840", "mem_random_latency", "stride=16/6.00000", 46.84),
    # K/ day 2: a series cut by errors, a truncated run
    (DAY2_ITER5, 228, "0.000512 11978.07", "mmap_reread_bw", "0.000512", 11978.07),
    (DAY2_ITER5, 237, "0.262144 10098.73", "mmap_reread_bw", "0.262144", 10098.73),
    (DAY2_ITER5, 263, "0.000512 12379.12", "libc_bcopy_unaligned_bw", "0.000512", 12379.12),
    (DAY2_TRUNC, 176, "TCP/IP connection cost to localhost: 8098.7984 microseconds", "tcp_connect", "", 8098.7984),
    (DAY2_TRUNC, 179, "0.000001 0.86 MB/sec", "tcp_bw", "0.000001", 0.86),
    (DAY2_TRUNC, 180, "0.000064 66.71 MB/sec", "tcp_bw", "0.000064", 66.71),
    # x-kernel guest (BusyBox, musl) and Hygon
    (XKERNEL, 70, "Simple open/close: 11990.0000 microseconds", "syscall_open_close", "", 11990.0),
    (XKERNEL, 125, "0.524288 13988", "mmap_latency", "0.524288", 13988.0),
    (XKERNEL, 132, "67.108864 60985", "mmap_latency", "67.108864", 60985.0),
    (XKERNEL, 135, "0k\t1\t56\t708", "fs_delete", "0k", 708.0),
    (XKERNEL, 151, "0.000001 0.12 MB/sec", "tcp_bw", "0.000001", 0.12),
    (XKERNEL, 179, "0.000512 0.036605", "file_open2close_bw", "0.000512", 0.036605),
    (HYGON, 75, "Select on 10 tcp fd's: 19.7487 microseconds", "select_10_tcp", "", 19.7487),
    (HYGON, 77, "Select on 250 tcp fd's: 1860.8333 microseconds", "select_250_tcp", "", 1860.8333),
    (HYGON, 152, "0.000064 1.52 MB/sec", "tcp_bw", "0.000064", 1.52),
    (HYGON, 499, "tlb: 64 pages", "tlb_pages", "", 64.0),
    # PerfKitBenchmarker (BENCHMARK_HARDWARE: NO, lmbench-3alpha4)
    (PKB, 94, "Simple syscall: 0.2345 microseconds", "syscall_null", "", 0.2345),
    (PKB, 116, "File /var/tmp/XXX write bandwidth: 84049 KB/sec", "file_write_bw", "", 84049.0),
    (PKB, 120, "0.524288 9.645", "mmap_latency", "0.524288", 9.645),
    (PKB, 124, "8.388608 66", "mmap_latency", "8.388608", 66.0),
    (PKB, 127, "0k\t18774\t171147\t234949", "fs_create", "0k", 171147.0),
    (PKB, 149, "10.485760 4676.97 MB/sec", "tcp_bw", "10.485760", 4676.97),
    (PKB, 151, "Avg xfer: 3.2KB, 41.8KB in 1.5950 millisecs, 26.19 MB/sec", "http_bw", "", 26.19),
    (PKB, 156, "0.000512 477.72", "file_reread_bw", "0.000512", 477.72),
    (PKB, 307, "0.000512 16553.45", "mem_read_bw", "0.000512", 16553.45),
    (PKB, 393, '"size=0k ovr=0.93', "ctx_overhead", "0K", 0.93),
    (PKB, 394, "2 11.57", "ctx_switch", "2p/0K", 11.57),
    (PKB, 451, "96 15.45", "ctx_switch", "96p/64K", 15.45),
    # akawashiro masumi (MB=4096, no Pagefaults line)
    (MASUMI, 99, "Simple syscall: 0.1303 microseconds", "syscall_null", "", 0.1303),
    (MASUMI, 121, "File /var/tmp/XXX write bandwidth: 899118 KB/sec", "file_write_bw", "", 899118.0),
    (MASUMI, 124, "0.524288 9.824", "mmap_latency", "0.524288", 9.824),
    (MASUMI, 137, "4294.967296 41378", "mmap_latency", "4294.967296", 41378.0),
    (MASUMI, 154, "0.000001 1.80 MB/sec", "tcp_bw", "0.000001", 1.80),
    (MASUMI, 163, "Avg xfer: 3.2KB, 41.8KB in 1.4040 millisecs, 29.75 MB/sec", "http_bw", "", 29.75),
    (MASUMI, 531, '"size=0k ovr=0.66', "ctx_overhead", "0K", 0.66),
    (MASUMI, 532, "2 3.40", "ctx_switch", "2p/0K", 3.40),
    # command transcript: bare bw_mem rows take their operation from the prompt line above
    (SINGLE, 2, "1073.74 29044.38", "mem_partial_read_bw", "1073.74", 29044.38),  # bw_mem ... rd
    (SINGLE, 4, "1073.74 18098.40", "mem_partial_write_bw", "1073.74", 18098.40),  # bw_mem ... wr
    (SINGLE, 6, "1073.74 11845.05", "unrolled_partial_bcopy_unaligned_bw", "1073.74", 11845.05),  # cp
    (SINGLE, 9, "1073.741824 5434.25 MB/sec", "tcp_bw", "1073.741824", 5434.25),
    (SINGLE, 11, "Pipe bandwidth: 3704.20 MB/sec", "pipe_bw", "", 3704.20),
    (SINGLE, 23, "Simple open/close: 2.1441 microseconds", "syscall_open_close", "", 2.1441),
    (SINGLE, 25, "0k      484     85877   142831", "fs_create", "0k", 85877.0),
    (SINGLE, 28, "10k     293     51758   91642", "fs_delete", "10k", 91642.0),
    (SINGLE, 31, '"size=1k ovr=0.67', "ctx_overhead", "1K", 0.67),
    (SINGLE, 32, "2 3.37", "ctx_switch", "2p/1K", 3.37),
    (SINGLE, 35, "16 4.25", "ctx_switch", "16p/1K", 4.25),
    # lmbench 2 excerpt from LKML
    (LKML, 1, "Simple syscall: 0.3226 microseconds", "syscall_null", "", 0.3226),
    (LKML, 7, "0k      1000    36770   123993", "fs_create", "0k", 36770.0),
    (LKML, 11, "FIFO latency: 8.0457 microseconds", "fifo_latency", "", 8.0457),
    (LKML, 12, "Signal handler installation: 0.932 microseconds", "signal_install", "", 0.932),
    (LKML, 16, "Pagefaults on /something.avi: 13098 usecs", "pagefault", "", 13098.0),
    (LKML, 21, "Select on 200 tcp fd's: 62.7955 microseconds", "select_200_tcp", "", 62.7955),
    (LKML, 22, "Select on 200 fd's: 18.5960 microseconds", "select_200_fd", "", 18.596),
    (LKML, 23, "Fcntl lock latency: 7.3516 microseconds", "fcntl_latency", "", 7.3516),
    (LKML, 25, '"size=0k ovr=2.82', "ctx_overhead", "0K", 2.82),
    (LKML, 26, '"size=1024k ovr=301.96', "ctx_overhead", "1024K", 301.96),
    # OS-competition console logs: bare rows mean something only by position
    (QEMU, 17, "File /var/tmp/XXX write bandwidth:30346 KB/sec", "file_write_bw", "", 30346.0),
    (QEMU, 18, "Pagefaults on /var/tmp/XXX: 10.1877 microseconds", "pagefault", "", 10.1877),
    (QEMU, 19, "0.524288 283", "mmap_latency", "0.524288", 283.0),
    (QEMU, 21, "0k      23      4081    5272", "fs_create", "0k", 4081.0),
    (QEMU, 26, "Pipe bandwidth: 94.72 MB/sec", "pipe_bw", "", 94.72),
    (QEMU, 27, "0.524288 315.08", "file_reread_bw", "0.524288", 315.08),
    (QEMU, 28, "0.524288 285.87", "file_open2close_bw", "0.524288", 285.87),
    (QEMU, 29, "0.524288 6862.16", "mmap_reread_bw", "0.524288", 6862.16),
    (QEMU, 30, "0.524288 311.64", "mmap_open2close_bw", "0.524288", 311.64),
    (QEMU, 33, '"size=32k ovr=60.47', "ctx_overhead", "32K", 60.47),
    (QEMU, 34, "2 41.47", "ctx_switch", "2p/32K", 41.47),
    (QEMU, 41, "96 51.64", "ctx_switch", "96p/32K", 51.64),
    (D1, 19, "0.524288 161", "mmap_latency", "0.524288", 161.0),
    (D1, 22, "1k      19      3514    4606" + " " * 45, "fs_delete", "1k", 4606.0),
    (D1, 30, "0.524288 558.64", "mmap_open2close_bw", "0.524288", 558.64),
    (BYTEOS, 21, "Signal handler overhead: 0.0179 microseconds", "signal_catch", "", 0.0179),
    (BYTEOS, 27, "0.524288 16585", "mmap_latency", "0.524288", 16585.0),  # no Pagefaults line before it
    (BYTEOS, 29, "0k\t3\t52\t94", "fs_create", "0k", 52.0),
    (BYTEOS, 34, "0.524288 29.14", "file_reread_bw", "0.524288", 29.14),
    (BYTEOS, 37, "0.524288 19.53", "mmap_open2close_bw", "0.524288", 19.53),
    (KAIRIX, 17, "File /var/tmp/XXX write bandwidth:498 KB/sec", "file_write_bw", "", 498.0),
    (KAIRIX, 19, "0.524288 179", "mmap_latency", "0.524288", 179.0),
    (KAIRIX, 33, '"size=32k ovr=107.87', "ctx_overhead", "32K", 107.87),
    (KAIRIX, 56, "0.524288 476", "mmap_latency", "0.524288", 476.0),
    (KAIRIX, 64, "0.524288 273.83", "file_reread_bw", "0.524288", 273.83),
    (KAIRIX, 67, "0.524288 40.74", "mmap_open2close_bw", "0.524288", 40.74),
    (KAIRIX_DOCS, 11, "Pipe latency: 1271.0720 microseconds", "pipe_latency", "", 1271.072),
    (KAIRIX_DOCS, 43, "Pipe latency: 373.0270 microseconds", "pipe_latency", "", 373.027),
    # bare bw_mem after a timestamped command line; lat_mmap + bw_mmap_rd without header
    (LKP01, 35, "268.44 13805.57", "mem_partial_read_bw", "268.44", 13805.57),  # "... bw_mem -P 1 268435456 rd"
    (LKP02, 2, "0.524288 7.342", "mmap_latency", "0.524288", 7.342),
    (LKP02, 13, "1073.741824 6613", "mmap_latency", "1073.741824", 6613.0),
    (LKP02, 17, "0.000512 47246.35", "mmap_reread_bw", "0.000512", 47246.35),
    (LKP02, 38, "1073.74 17573.23", "mmap_reread_bw", "1073.74", 17573.23),
    (LKP02, 62, "1073.74 9062.41", "mmap_open2close_bw", "1073.74", 9062.41),
    # bare lat_mem_rd
    (VC + "latmemrd_stride_128_256_512_1024_example_results.txt", 2, "0.00049 1.186", "mem_latency", "stride=128/0.00049", 1.186),
    (VC + "latmemrd_stride_128_256_512_1024_example_results.txt", 36, "4096.00000 32.861", "mem_latency", "stride=128/4096.00000", 32.861),
    (VC + "latmemrd_stride_128_256_512_1024_example_results.txt", 39, "0.00049 1.186", "mem_latency", "stride=256/0.00049", 1.186),
    (VC + "latmemrd_stride_128_256_512_1024_example_results.txt", 113, "0.00098 1.186", "mem_latency", "stride=1024/0.00098", 1.186),
    (VC + "latmemrd_stride_1024_example_results.txt", 2, "0.00098 1.186", "mem_latency", "stride=1024/0.00098", 1.186),
    (D3000 + "protected/anchors-start/rep-00/lat-mem-r1.txt", 2, "0.00049 1.603", "mem_latency", "stride=128/0.00049", 1.603),
    (D3000 + "protected/anchors-start/rep-00/lat-mem-r1.txt", 34, "64.00000 6.936", "mem_latency", "stride=128/64.00000", 6.936),
    ("hubzhangxj-lmbench/files/lmbench_lat.log", 3, "0.00049 1.606", "mem_latency", "stride=128/0.00049", 1.606),
    ("hubzhangxj-lmbench/files/lmbench_lat.log", 39, "256.00000 84.918", "mem_latency", "stride=128/256.00000", 84.918),
    # mmap-only wrapper
    (MMAP_ONLY, 5, "0.524288 12", "mmap_latency", "0.524288", 12.0),
    (MMAP_ONLY, 12, "67.108864 803", "mmap_latency", "67.108864", 803.0),
    (MMAP_ONLY, 15, "0.000512 25569.15", "mmap_reread_bw", "0.000512", 25569.15),
    (MMAP_ONLY, 52, "67.11 6172.63", "mmap_open2close_bw", "67.11", 6172.63),
    # atharva wrappers: "Run N: value" with the metric from "Benchmark Command:" (line 4)
    (A + "k8s/lat_ctx/lat_ctx.txt", 8, "Run 1: 2.93", "ctx_switch", "2p/32K", 2.93),  # lat_ctx ... -s 32 2
    (A + "k8s/lat_ctx/lat_ctx.txt", 32, "Run 25: 2.89", "ctx_switch", "2p/32K", 2.89),
    (A + "docker/lat_fcntl/lat_fcntl.txt", 8, "Run 1: 2.4903", "fcntl_latency", "", 2.4903),
    (A + "host/lat_proc/lat_proc.txt", 8, "Run 1: 162.8750", "proc_fork", "", 162.875),
    (A + "k8s/lat_syscall_read/lat_syscall_read.txt", 8, "Run 1: 0.3494", "syscall_read", "", 0.3494),
    (A + "host/lat_syscall_null/strace.txt", 2, "Simple syscall: 18.4200 microseconds", "syscall_null", "", 18.42),
    # typescript with LF line ends
    (TS_WRITE, 15, "Simple write: 0.3197 microseconds", "syscall_write", "", 0.3197),
    (TS_WRITE, 20, "Simple write: 17.9353 microseconds", "syscall_write", "", 17.9353),
]


@pytest.mark.parametrize("rel, line, text, metric, param, value", EXPECTED,
                         ids=[f"{Path(e[0]).name}:{e[1]}:{e[3]}" for e in EXPECTED])
def test_hand_written_expectation(rel, line, text, metric, param, value):
    path = corpus_file(rel)
    assert line_text(path, line).rstrip("\r") == text  # the expectation is anchored to the raw file
    v = find_value(parsed(path), line, metric, param)
    assert v.value == value


# Typescripts with CR CR LF: the values themselves (metric, param, value, in file order), written
# from grep -n of the raw files; their cited lines are checked separately (parser bug, xfail).
TYPESCRIPT_VALUES = {
    TS_CTX: [(49, "ctx_overhead", "32K", 2.14), (50, "ctx_switch", "2p/32K", 3.33),
             (52, "ctx_overhead", "32K", 2.15), (53, "ctx_switch", "2p/32K", 3.50),
             (58, "ctx_overhead", "32K", 38.67)],
    TS_SIG: [(77, "signal_catch", "", 1.6712), (78, "signal_catch", "", 1.6828), (83, "signal_catch", "", 40.9062)],
}


@pytest.mark.parametrize("rel", list(TYPESCRIPT_VALUES))
def test_typescript_values(rel):
    pf = _corpus_parsed(rel)
    assert [(m, p, x) for _, m, p, x in TYPESCRIPT_VALUES[rel]] == [(v.metric, v.param, v.value) for v in pf.values]


@pytest.mark.parametrize("rel", list(TYPESCRIPT_VALUES))
def test_typescript_value_lines(rel):
    pf = _corpus_parsed(rel)
    assert [n for n, *_ in TYPESCRIPT_VALUES[rel]] == [v.line for v in pf.values]


# Files whose whole value list is small enough to count by hand from the raw text.
EXPECTED_COUNTS = {
    # 5 syscalls, 4 lat_fs rows x 2, FIFO, 3 signal lines, pipe, pagefault, 3 proc, AF_UNIX,
    # 2 select, fcntl, 2 context-switch headers without rows
    LKML: 28,
    # 3 bw_mem rows, bw_tcp row, pipe, 6 syscalls, 4 lat_fs rows x 2, 1 ctx header + 4 rows
    SINGLE: 24,
    # 13 latency lines (no Protection fault), lmdd, pagefault, mmap row, 4 lat_fs rows x 2,
    # pipe bandwidth, 4 bandwidth rows, 1 ctx header + 8 rows: 13+1+1+1+8+1+4+9
    D1: 38,
    QEMU: 38,
    BYTEOS: 27,  # 13 latency lines, lmdd, mmap row, 4 lat_fs x 2, 4 bandwidth rows
    # run 1: 16 labelled lines, mmap row, 4 lat_fs x 2, pipe bw, 4 bandwidth rows, ctx header (no
    # rows) = 31; the glibc section is empty; run 3: the same without the ctx header = 30
    KAIRIX: 61,
    KAIRIX_DOCS: 32,  # 9 + 12 + 11 labelled lines before each panic
    LKP01: 1,
    LKP02: 56,  # 12 mappings + 22 + 22 bandwidth rows
    MMAP_ONLY: 44,  # 8 + 18 + 18
    A + "k8s/lat_ctx/lat_ctx.txt": 25,  # Run 1 .. Run 25
    A + "host/lat_syscall_null/strace.txt": 1,
    TS_WRITE: 3,
}


@pytest.mark.parametrize("rel", list(EXPECTED_COUNTS), ids=[Path(r).name for r in EXPECTED_COUNTS])
def test_value_count_by_hand(rel):
    assert len(_corpus_parsed(rel).values) == EXPECTED_COUNTS[rel]


# Metrics that must be absent: the file never printed them.
ABSENT = [
    (PKB, r"^(u?int|int64|float|double)_", "BENCHMARK_HARDWARE: NO: no lat_ops/par_ops lines"),
    (PKB, r"^(mem_latency|mem_random_latency|tlb_pages|stream)", "no memory-hardware section"),
    (MASUMI, r"^pagefault$", "masumi has no Pagefaults line"),
    (HYGON, r"^select_(100|500)_tcp$", "replaced by 'bind: Address in use'"),
    (XKERNEL, r"^rpc_", "lat_rpc built with NO_RPC"),
    (DAY2_ITER5, r"^mmap_open2close_bw$", "the block holds only 'x: No such file or directory' lines"),
    (DAY2_REFUSED, r"^tcp_bw$", "the block holds only 'socket connection: Connection refused'"),
    (DAY2_TRUNC, r"^(ctx_|mem_|tlb_|stream)", "the run is cut inside the Socket bandwidth series"),
    (BYTEOS, r"^(pipe_bw|protection_fault|pagefault|ctx_)", "missing from the ByteOS log"),
    (KAIRIX, r"^ctx_switch$", "the context-switch header has no rows"),
    (LKML, r"^ctx_switch$", "two lat_ctx headers and no rows"),
]


@pytest.mark.parametrize("rel, pattern, why", ABSENT, ids=[f"{Path(r).name}:{p}" for r, p, _ in ABSENT])
def test_metric_absent(rel, pattern, why):
    hits = [v for v in _corpus_parsed(rel).values if re.search(pattern, v.metric)]
    assert hits == [], why


def test_truncated_run_ends_with_the_last_complete_row():
    pf = _corpus_parsed(DAY2_TRUNC)
    assert max(v.line for v in pf.values) == 180
    assert pf.meta["date"] == "Tue Jun 2 09:04:02 AM CST 2026"


def test_failed_http_line_is_invalid_not_a_value():
    pf = _corpus_parsed(DAY2_REFUSED)
    assert line_text(corpus_file(DAY2_REFUSED), 190) == "Avg xfer 0, 0.0KB in 0.4980 millisecs, 0.00 KB/sec"
    assert values_at(pf, 190) == []
    assert [i.line for i in pf.issues if i.kind == "invalid"] == [190]


# Header metadata, read from the bracket lines of each file.
META = [
    (DAY1, {"kernel_release": "6.6.0-52-generic", "os": "aarch64-Linux", "mhz": "1900", "hostname": "kylin-pc",
            "lmbench_version": "3.0-a9", "date": "Mon Jun 1 07:16:41 PM CST 2026", "mb": "8", "processors": "8"}),
    (DAY3, {"kernel_release": "6.6.0-73-generic", "mhz": "1900", "date": "Wed Jun 3 10:20:58 PM CST 2026",
            "mb": "64", "processors": "8"}),
    (SMOKE, {"hostname": "pvm-guest", "date": "Thu Jan 1 08:00:06 CST 1970"}),
    (XKERNEL, {"kernel_release": "10.0.0", "os": "aarch64-linux-musl", "mhz": "", "hostname": "kylin-x",
               "lmbench_version": "3.0-a9", "date": "Fri Jun 5 09:16:54 UTC 2026", "mb": "64", "processors": "2",
               "uname": "Linux kylin-x 10.0.0 10.0.0 aarch64 Linux"}),
    (HYGON, {"os": "x86_64-linux-musl", "date": "Sat Jun 6 07:57:12 UTC 2026"}),
    (PKB, {"kernel_release": "4.15.0-1014-azure", "os": "x86_64-linux-gnu", "mhz": "3034",
           "hostname": "pkb-72796bca-0", "lmbench_version": "lmbench-3alpha4", "date": "Thu Jul 19 20:14:29 UTC 2018",
           "mb": "8", "processors": "8"}),
    (MASUMI, {"kernel_release": "6.14.0-27-generic", "mhz": "4952", "hostname": "masumi", "mb": "4096",
              "processors": "32", "date": "Wed Jul 30 06:09:48 AM JST 2025"}),
]


@pytest.mark.parametrize("rel, expected", META, ids=[Path(r).name for r, _ in META])
def test_header_metadata(rel, expected):
    meta = _corpus_parsed(rel).meta
    for key, value in expected.items():
        assert meta[key] == value, key


# --- 3. noise is never a value ---------------------------------------------------------------------------

# (file, line, raw text): each must be reported as noise and carry no value.
NOISE = [
    (DAY1, 2, "/data/lmbench-3.0-a9/scripts/lmbench: 行 66: version: 没有那个文件或目录"),
    (DAY3, 2, "/root/lmbench-3.0-a9/scripts/lmbench: line 66: version: No such file or directory"),
    (DAY3, 155, "localhost: RPC: Unable to receive"),
    (DAY3, 157, " \x02: RPC: Unable to receive"),  # starts with a raw control byte
    (SMOKE, 148, " \x02: RPC: Unable to receive"),
    (PKB, 132, "Cannot register service: RPC: Unable to receive; errno = Connection refused"),
    (PKB, 138, ": RPC: Port mapper failure - RPC: Unable to receive"),
    (MASUMI, 39, "./lmbench: 104: netstat: not found"),
    (MASUMI, 148, "localhost: RPC: Timed out"),
    (MASUMI, 150, "Segmentation fault (core dumped)"),
    (XKERNEL, 2, "../../scripts/lmbench: line 66: can't open version: no such file"),
    (XKERNEL, 141, "lat_rpc: built with NO_RPC (musl); skipping"),
    (XKERNEL, 846, "134.2177 MB in 5.6345 secs, 23.8206 MB/sec"),  # lmdd after the closing date
    (HYGON, 76, "bind: Address in use"),
    (HYGON, 822, "time: vfork: Function not implemented"),
    (HYGON, 832, "134.2177 MB in 21.7630 secs, 6.1672 MB/sec"),
    (DAY2_ITER5, 238, "x: No such file or directory"),
    (DAY2_ITER5, 245, "x: No such file or directory"),
    (DAY2_ITER5, 259, "x: No such file or directory"),
    (DAY2_REFUSED, 172, "bind: Address already in use"),
    (DAY2_REFUSED, 181, "socket connection: Connection refused"),
    (QEMU, 1, "064005"),
    (QEMU, 6, "mkdir: cannot create directory \u2018/var/tmp\u2019: File exists"),
    (D1, 6, "mkdir: cannot create directory \u2018/var/tmp\u2019: File exists"),
    (KAIRIX, 1, "# musl"),
    (KAIRIX_DOCS, 12, "[kernel] Panicked at /workspace/polyhal/polyhal/src/pagetable/mod.rs:209 called Option::unwrap() on a None value"),
    (LKP01, 7, "  149 |    if (parallel <= 0) lmbench_usage(ac, av, usage);"),
    (A + "host/lat_syscall_null/strace.txt", 1, "strace: Process 97048 attached"),
]


@pytest.mark.parametrize("rel, line, text", NOISE, ids=[f"{Path(r).name}:{n}" for r, n, _ in NOISE])
def test_noise_line(rel, line, text):
    path = corpus_file(rel)
    assert line_text(path, line).rstrip("\r") == text
    pf = _corpus_parsed(rel)
    assert values_at(pf, line) == []
    assert line in {i.line for i in pf.issues if i.kind == "noise"}


def test_oom_lines_are_noise():
    # yan-516-kairix/docs/lmbench_testcode.md lines 44-50: seven "[OOM] ..." diagnostics.
    path = corpus_file(KAIRIX_DOCS)
    oom = [n for n, t in enumerate(physical_lines(str(path)), 1) if t.startswith("[OOM]")]
    assert oom == list(range(44, 51))
    pf = _corpus_parsed(KAIRIX_DOCS)
    noise = {i.line for i in pf.issues if i.kind == "noise"}
    assert set(oom) <= noise
    assert not [v for v in pf.values if v.line in oom]


def test_series_resumes_after_error_lines():
    # Mmap read bandwidth rows 228-237, then "x: ..." errors, an empty open2close block, then the
    # next series parses normally.
    pf = _corpus_parsed(DAY2_ITER5)
    mmap = [v.line for v in pf.values if v.metric == "mmap_reread_bw"]
    assert mmap == list(range(228, 238))
    bcopy = [v.line for v in pf.values if v.metric == "libc_bcopy_unaligned_bw"]
    assert bcopy and bcopy[0] == 263


_CLOSING_DATE = re.compile(r"^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) .*\d{4}\]$")


def _check_nothing_after_closing_date(path: Path, pf) -> None:
    """No value after lmbench's closing [date] line; lmdd-looking lines there are noise."""
    dates = [n for n, t in enumerate(physical_lines(str(path)), 1) if _CLOSING_DATE.match(t.strip())]
    if len(dates) < 2:  # no closing date: PKB and the truncated run
        return
    closing = dates[-1]
    assert max(v.line for v in pf.values) < closing
    lmdd = [n for n, t in enumerate(physical_lines(str(path)), 1) if re.match(r"^[\d.]+ MB in [\d.]+ secs, [\d.]+ MB/sec$", t)]
    noise = {i.line for i in pf.issues if i.kind == "noise"}
    assert set(lmdd) <= noise


def test_xkernel_files_have_dma_tail_and_it_is_ignored():
    require_corpus()
    rels = [r["file"] for r in provenance_rows()
            if r["kind"] == "results3" and re.search(r"/(xkernel-|virtcca-|hygon_)", r["file"])]
    assert len(rels) == 80  # FORMATS.md section 8
    for rel in rels:
        lines = physical_lines(str(corpus_file(rel)))
        lmdd = [n for n, t in enumerate(lines, 1) if re.match(r"^[\d.]+ MB in [\d.]+ secs, [\d.]+ MB/sec$", t)]
        assert lmdd, rel
        assert not [v for v in _corpus_parsed(rel).values if v.line in lmdd], rel


# --- value cross-check coverage (the bar asks for at least 30 files across the formats) ----------------


def test_cross_check_covers_the_formats():
    require_corpus()
    formats = Counter()
    files = 0
    for rel in [r["file"] for r in provenance_rows() if r["kind"] in PARSEABLE] + UNLISTED_CONSOLE_LOGS:
        result = parse_cached(str(CORPUS / rel))
        if not isinstance(result, ParseError):
            files += 1
            formats[result.format] += 1
    assert files >= 30
    assert set(formats) >= {"lmbench3-results", "stdout", "console-log", "wrapper"}
