"""Parser tests on the shipped lab files, hand-made bad inputs and small synthetic logs.

Expectations are written from the raw text (line numbers and numbers read from the files with
``sed -n Np``), never copied from parser output. Corpus files are tested in test_corpus.py.
"""

from __future__ import annotations

import re

import pytest

from vizlib import catalogue
from vizlib.parser import ParseError, parse_bytes, parse_file, parse_text

from conftest import BAD, LAB_RAW as RAW, find_value, lab_params, line_text, parsed, values_at

HOST3 = RAW / "host" / "host.3"
UML0 = RAW / "uml" / "uml.0"
TCG1 = RAW / "tcg" / "tcg.1"
CONTAINER0 = RAW / "container" / "container.0"


def _keyed(pf) -> dict:
    return {(v.line, v.metric, v.param): v.value for v in pf.values}


# --- the lab files: hand-written expectations ------------------------------------------------------

# (line, raw text of that line, metric, param, value). Read from data/raw-lmbench-lab/host/host.3.
HOST3_EXPECTED = [
    (83, "Simple syscall: 0.1659 microseconds", "syscall_null", "", 0.1659),
    (84, "Simple read: 0.2127 microseconds", "syscall_read", "", 0.2127),
    (88, "Simple open/close: 2.1786 microseconds", "syscall_open_close", "", 2.1786),
    (89, "Select on 10 fd's: 0.4671 microseconds", "select_10_fd", "", 0.4671),
    (92, "Select on 500 fd's: 4.9451 microseconds", "select_500_fd", "", 4.9451),
    (96, "Select on 500 tcp fd's: 24.5000 microseconds", "select_500_tcp", "", 24.5),
    (97, "Signal handler installation: 0.2232 microseconds", "signal_install", "", 0.2232),
    (98, "Signal handler overhead: 1.9918 microseconds", "signal_catch", "", 1.9918),
    (99, "Protection fault: 0.5302 microseconds", "protection_fault", "", 0.5302),
    (100, "Pipe latency: 44.4150 microseconds", "pipe_latency", "", 44.415),
    (101, "AF_UNIX sock stream latency: 28.3575 microseconds", "unix_latency", "", 28.3575),
    (102, "Process fork+exit: 171.8387 microseconds", "proc_fork", "", 171.8387),
    (103, "Process fork+execve: 597.6667 microseconds", "proc_exec", "", 597.6667),
    (104, "Process fork+/bin/sh -c: 1270.6000 microseconds", "proc_shell", "", 1270.6),
    (105, "integer bit: 0.18 nanoseconds", "int_bit", "", 0.18),
    (106, "integer add: 0.00 nanoseconds", "int_add", "", 0.0),
    (113, "int64 div: 3.15 nanoseconds", "int64_div", "", 3.15),
    (121, "float bogomflops: 0.82 nanoseconds", "float_bogomflops", "", 0.82),
    (122, "double bogomflops: 1.30 nanoseconds", "double_bogomflops", "", 1.30),
    (123, "integer bit parallelism: 2.49", "int_bit_parallelism", "", 2.49),
    (138, "double div parallelism: 2.89", "double_div_parallelism", "", 2.89),
    (139, "File /var/tmp/XXX write bandwidth: 888142 KB/sec", "file_write_bw", "", 888142.0),
    (140, "Pagefaults on /var/tmp/XXX: 0.2655 microseconds", "pagefault", "", 0.2655),
    (143, "0.524288 12", "mmap_latency", "0.524288", 12.0),
    (150, "67.108864 581", "mmap_latency", "67.108864", 581.0),
    (153, "0k\t472\t78745\t144528", "fs_create", "0k", 78745.0),
    (153, "0k\t472\t78745\t144528", "fs_delete", "0k", 144528.0),
    (156, "10k\t213\t30047\t88776", "fs_create", "10k", 30047.0),
    (156, "10k\t213\t30047\t88776", "fs_delete", "10k", 88776.0),
    (159, "UDP latency using localhost: 56.2164 microseconds", "udp_latency", "", 56.2164),
    (160, "TCP latency using localhost: 58.7281 microseconds", "tcp_latency", "", 58.7281),
    (163, "TCP/IP connection cost to localhost: 26.4299 microseconds", "tcp_connect", "", 26.4299),
    (166, "0.000001 1.63 MB/sec", "tcp_bw", "0.000001", 1.63),
    (173, "10.485760 4441.86 MB/sec", "tcp_bw", "10.485760", 4441.86),
    (175, "Avg xfer: 3.2KB, 41.8KB in 1.1650 millisecs, 35.85 MB/sec", "http_bw", "", 35.85),
    (176, "AF_UNIX sock stream bandwidth: 6672.23 MB/sec", "unix_bw", "", 6672.23),
    (177, "Pipe bandwidth: 1484.45 MB/sec", "pipe_bw", "", 1484.45),
    (180, "0.000512 604.33", "file_reread_bw", "0.000512", 604.33),
    (191, "1.05 12769.34", "file_reread_bw", "1.05", 12769.34),
    (217, "67.11 7730.55", "file_open2close_bw", "67.11", 7730.55),
    (221, "0.000512 57765.96", "mmap_reread_bw", "0.000512", 57765.96),
    (258, "67.11 9255.12", "mmap_open2close_bw", "67.11", 9255.12),
    (262, "0.000512 100994.70", "libc_bcopy_unaligned_bw", "0.000512", 100994.70),
    (297, "33.55 18098.40", "libc_bcopy_aligned_bw", "33.55", 18098.40),
    (300, "0.000512 108878.37", "mem_bzero_bw", "0.000512", 108878.37),
    (320, "0.000512 21032.96", "unrolled_bcopy_unaligned_bw", "0.000512", 21032.96),
    (339, "0.000512 74895.05", "unrolled_partial_bcopy_unaligned_bw", "0.000512", 74895.05),
    # lmbench's script: "Memory read bandwidth" runs bw_mem frd, "Memory partial read bandwidth" runs rd.
    (358, "0.000512 24600.76", "mem_read_bw", "0.000512", 24600.76),
    (378, "0.000512 149393.39", "mem_partial_read_bw", "0.000512", 149393.39),
    (398, "0.000512 26566.89", "mem_write_bw", "0.000512", 26566.89),
    (418, "0.000512 93135.93", "mem_partial_write_bw", "0.000512", 93135.93),
    (438, "0.000512 58524.19", "mem_partial_rdwr_bw", "0.000512", 58524.19),
    (455, "67.11 33476.32", "mem_partial_rdwr_bw", "67.11", 33476.32),
    (459, '"size=0k ovr=0.70', "ctx_overhead", "0K", 0.70),
    (460, "2 22.76", "ctx_switch", "2p/0K", 22.76),
    (467, "96 10.92", "ctx_switch", "96p/0K", 10.92),
    (509, '"size=64k ovr=2.04', "ctx_overhead", "64K", 2.04),
    (517, "96 10.23", "ctx_switch", "96p/64K", 10.23),
]


@pytest.mark.parametrize("line, text, metric, param, value", HOST3_EXPECTED,
                         ids=[f"{e[0]}-{e[2]}-{e[3]}" for e in HOST3_EXPECTED])
def test_host3_values(line, text, metric, param, value):
    assert line_text(HOST3, line) == text  # the expectation is anchored to the raw file
    v = find_value(parsed(HOST3), line, metric, param)
    assert v.value == value


def test_host3_value_count_and_nothing_else():
    # Counted by hand from the file: 22 lat_syscall/select/sig/pipe/unix/proc lines (83-104),
    # 18 lat_ops + 16 par_ops lines, lmdd + pagefault (58); 8 "mappings rows; 4 lat_fs rows x 2;
    # UDP, TCP, connect (3); 8 socket rows; lat_http; AF_UNIX and pipe bandwidth (2);
    # 14 bandwidth series of 18 rows except the 4 bcopy-like ones of 17 (248);
    # 6 lat_ctx blocks of 1 overhead + 8 rows (54).  58+8+8+3+8+1+2+248+54 = 390.
    pf = parsed(HOST3)
    assert len(pf.values) == 390
    assert pf.format == "lmbench3-results"
    assert pf.count("unknown") == 0 and pf.count("invalid") == 0 and pf.count("decode") == 0
    # Nothing from the header (lines 1-82) or the closing date (520) is a value.
    assert min(v.line for v in pf.values) == 83
    assert max(v.line for v in pf.values) == 517
    # RPC lines printed no number: no rpc value at all.
    assert not [v for v in pf.values if v.metric.startswith("rpc_")]


def test_host3_noise_lines_are_exactly_the_error_text():
    pf = parsed(HOST3)
    noise = {i.line: i.text for i in pf.issues if i.kind == "noise"}
    assert noise == {
        40: "Kernel: error fetching interface information: Device not found",
        42: "Iface: error fetching interface information: Device not found",
        158: "unable to register (XACT_PROG, XACT_VERS, udp).",
        161: "localhost: RPC: Unable to receive",
        162: "localhost: RPC: Remote system error - Connection refused",
    }
    for line in noise:
        assert values_at(pf, line) == []


def test_uml0_context_switch_blocks_without_rows():
    # uml.0 lines 435-453: "size=0k has 8 rows, the 4k..64k blocks have none (lat_ctx printed no
    # point because the overhead was larger than the measurement; see the lab README).
    pf = parsed(UML0)
    assert line_text(UML0, 436) == "2 40.18"
    assert find_value(pf, 436, "ctx_switch", "2p/0K").value == 40.18
    assert find_value(pf, 435, "ctx_overhead", "0K").value == 32.99
    assert find_value(pf, 453, "ctx_overhead", "64K").value == 110.34
    ctx = [v for v in pf.values if v.metric == "ctx_switch"]
    assert {v.param.split("/")[1] for v in ctx} == {"0K"}
    assert len(ctx) == 8
    assert len(pf.values) == 390 - 5 * 8  # same layout as host.3 minus 5 blocks of 8 rows


def test_tcg1_values():
    pf = parsed(TCG1)
    assert line_text(TCG1, 83) == "Process fork+execve: 20482.0000 microseconds"
    assert find_value(pf, 83, "proc_exec", "").value == 20482.0
    assert line_text(TCG1, 155) == "Avg xfer: 3.2KB, 41.8KB in 26.3760 millisecs, 1.58 MB/sec"
    assert find_value(pf, 155, "http_bw", "").value == 1.58
    assert line_text(TCG1, 133) == "0k\t44\t8486\t9241"
    assert find_value(pf, 133, "fs_create", "0k").value == 8486.0


@pytest.mark.parametrize("path, expected", [
    (HOST3, {"kernel_release": "6.18.44-fc-v669", "os": "x86_64-linux-gnu", "mhz": "", "hostname": "vm",
             "lmbench_version": "lmbench-3alpha4", "date": "Thu Nov 26 06:58:29 UTC 2026", "mb": "64",
             "processors": "2",
             "uname": "Linux vm 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0 x86_64 GNU/Linux"}),
    (TCG1, {"kernel_release": "6.1.0-56-amd64", "hostname": "tcg", "processors": "2",
            "date": "Thu Nov 26 06:20:09 UTC 2026"}),
    (UML0, {"kernel_release": "6.1.176", "hostname": "uml", "processors": "1", "mb": "64",
            "date": "Thu Nov 26 06:25:01 UTC 2026"}),
    (CONTAINER0, {"kernel_release": "6.18.44-fc-v669", "hostname": "container",
                  "date": "Thu Nov 26 06:03:29 UTC 2026"}),
], ids=["host.3", "tcg.1", "uml.0", "container.0"])
def test_lab_header_metadata(path, expected):
    # The date is the opening [date] line, not the closing one.
    meta = parsed(path).meta
    for key, value in expected.items():
        assert meta[key] == value, key


@pytest.mark.parametrize("path", lab_params())
def test_lab_file_clean(path):
    pf = parsed(path)
    assert pf.format == "lmbench3-results"
    assert pf.count("unknown") == 0, [i for i in pf.issues if i.kind == "unknown"]
    assert pf.count("invalid") == 0, [i for i in pf.issues if i.kind == "invalid"]
    for v in pf.values:
        catalogue.get(v.metric)  # every metric id is in the catalogue


# --- low-precision flags -----------------------------------------------------------------------------


def test_low_precision_flags():
    pf = parsed(HOST3)
    assert find_value(pf, 143, "mmap_latency", "0.524288").low_precision  # "0.524288 12": whole us
    assert find_value(pf, 150, "mmap_latency", "67.108864").low_precision  # "67.108864 581"
    assert find_value(pf, 106, "int_add", "").low_precision  # "integer add: 0.00 nanoseconds"
    assert not find_value(pf, 83, "syscall_null", "").low_precision  # "Simple syscall: 0.1659"
    assert not find_value(pf, 358, "mem_read_bw", "0.000512").low_precision  # 24600.76


def test_mmap_first_row_with_decimals_not_flagged():
    pf = parse_text('"mappings\n0.524288 7.825\n1.048576 12\n')
    assert not find_value(pf, 2, "mmap_latency", "0.524288").low_precision
    assert find_value(pf, 3, "mmap_latency", "1.048576").low_precision


# --- noise is never a value --------------------------------------------------------------------------


def test_noise_inside_a_series_keeps_the_series():
    text = ('"read bandwidth\n'
            "0.000512 604.33\n"
            "x: No such file or directory\n"
            "mkdir: cannot create directory \u2018/var/tmp\u2019: File exists\n"
            "0.001024 892.92\n"
            "\n"
            "Pipe bandwidth: 1484.45 MB/sec\n")
    pf = parse_text(text)
    assert [(v.line, v.metric, v.param, v.value) for v in pf.values] == [
        (2, "file_reread_bw", "0.000512", 604.33),
        (5, "file_reread_bw", "0.001024", 892.92),
        (7, "pipe_bw", "", 1484.45),
    ]
    assert {i.line for i in pf.issues if i.kind == "noise"} == {3, 4}


def test_control_bytes_are_noise():
    text = "Simple syscall: 0.1659 microseconds\n \x02: RPC: Unable to receive\n\x1b[0mPipe latency: 44.4150 microseconds\n"
    pf = parse_text(text)
    assert [(v.line, v.metric, v.value) for v in pf.values] == [(1, "syscall_null", 0.1659), (3, "pipe_latency", 44.415)]
    assert [i.line for i in pf.issues if i.kind == "noise"] == [2]


def test_text_after_closing_date_is_not_a_value():
    # The x-kernel guest runs append DMA tests after lmbench's closing date (FORMATS.md section 8).
    dma = ("=== DMA: lmdd 128 MiB write ===\n"
           "128+0 records in\n"
           "134217728 bytes (128.0MB) copied, 4.206035 seconds, 30.4MB/s\n"
           "real\t0m 4.21s\n"
           "user\t221h 38m 35s\n"
           "(no drop_caches)\n"
           "134.2177 MB in 4.5398 secs, 29.5648 MB/sec\n")
    base = HOST3.read_bytes()
    pf = parse_bytes(base + dma.encode(), "host.3+dma")
    assert _keyed(pf) == _keyed(parsed(HOST3))
    n = base.count(b"\n")
    noise = {i.line for i in pf.issues if i.kind == "noise"}
    assert set(range(n + 1, n + 8)) <= noise  # all 7 appended lines, the lmdd one included


def test_oom_lines_are_noise():
    text = ("latency measurements\n"
            "Simple syscall: 11.9010 microseconds\n"
            "[OOM] heap: user=79487888 actual=93952672 free=40265056 total=134217728\n"
            "[OOM] swap: enabled=true used_slots=2538 free_slots=30230 total_slots=32768\n"
            "[kernel] Panicked at src/task/id.rs:279 failed to allocate kernel stack frame\n")
    pf = parse_text(text)
    assert [(v.line, v.metric) for v in pf.values] == [(2, "syscall_null")]
    assert {3, 4, 5} <= {i.line for i in pf.issues if i.kind == "noise"}


# --- bad inputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, message", [
    ("empty.txt", "empty file"),
    ("blank.txt", "empty file"),
    ("binary.bin", "binary"),
    ("not_lmbench.txt", "not an lmbench log"),
])
def test_rejected_whole_file(name, message):
    with pytest.raises(ParseError) as info:
        parse_file(BAD / name)
    assert message in str(info.value)
    assert str(BAD / name) in str(info.value)  # the message names the file


def test_only_unknown_line_rejected_with_its_line():
    with pytest.raises(ParseError) as info:
        parse_file(BAD / "only_unknown.txt")
    assert info.value.line == 1


def test_unknown_lines_reported_never_values():
    pf = parse_file(BAD / "unknown_label.txt")
    assert [(v.line, v.metric, v.value) for v in pf.values] == [
        (1, "syscall_null", 0.1659), (3, "pipe_latency", 44.415), (8, "select_100_fd", 1.2699)]
    unknown = {i.line: i.text for i in pf.issues if i.kind == "unknown"}
    assert unknown[2] == "Foo latency: 1.0 microseconds"
    assert {2, 4, 5, 6} == set(unknown)  # the made-up label, the unknown "series and its two rows


def test_invalid_values_rejected_rest_kept():
    pf = parse_file(BAD / "invalid_values.txt")
    assert [(v.line, v.metric, v.param, v.value) for v in pf.values] == [
        (1, "syscall_null", "", 0.1659),
        (5, "syscall_fstat", "", 0.4114),
        (9, "mmap_latency", "0.524288", 12.0),
        (12, "mmap_latency", "4.194304", 44.0),
        (14, "ctx_overhead", "0K", 0.70),
        (15, "ctx_switch", "2p/0K", 22.76),
        (17, "ctx_switch", "8p/0K", 11.80),
    ]
    invalid = {i.line: i.text for i in pf.issues if i.kind == "invalid"}
    assert set(invalid) == {2, 3, 4, 6, 10, 11, 16}
    assert invalid[2] == "Simple read: NaN microseconds"
    assert invalid[16] == "4 -inf"


def test_utf16_with_bom_decoded():
    pf = parse_file(BAD / "utf16_bom.txt")
    assert pf.format == "lmbench3-results"
    assert pf.meta["hostname"] == "winbox"
    assert pf.meta["date"] == "Thu Nov 26 06:58:29 UTC 2026"
    assert [(v.line, v.metric, v.param, v.value) for v in pf.values] == [
        (7, "syscall_null", "", 0.1659), (8, "syscall_read", "", 0.2127),
        (11, "mmap_latency", "0.524288", 12.0), (12, "mmap_latency", "1.048576", 16.0)]
    assert pf.count("decode") == 0


def test_utf8_with_bom_parsed_like_without():
    pf = parse_file(BAD / "utf8_bom.txt")
    assert pf.format == "lmbench3-results"
    assert pf.meta["uname"] == "Linux winbox 6.1.0 #1 SMP x86_64 GNU/Linux"
    assert pf.count("noise") == 0


def test_latin1_bytes_replaced_and_counted():
    pf = parse_file(BAD / "latin1.txt")
    decode = [i for i in pf.issues if i.kind == "decode"]
    assert len(decode) == 1
    assert re.search(r"\b3\b", decode[0].reason), decode[0].reason  # three 0xE9 bytes in the file
    assert [(v.line, v.metric, v.value) for v in pf.values] == [(3, "syscall_null", 0.1659), (4, "pagefault", 0.2655)]
    assert "\ufffd" in pf.meta["uname"]


def test_clean_file_has_no_decode_issue():
    assert parsed(HOST3).count("decode") == 0


# --- truncated runs ----------------------------------------------------------------------------------

_HOST3_LINES = HOST3.read_bytes().split(b"\n")


@pytest.mark.parametrize("keep", [100, 142, 150, 170, 300, 459, 465, 519])
def test_truncated_at_line_boundary_keeps_values_before_the_cut(keep):
    data = b"\n".join(_HOST3_LINES[:keep]) + b"\n"
    pf = parse_bytes(data, f"host.3[:{keep}]")
    full = _keyed(parsed(HOST3))
    assert _keyed(pf) == {k: v for k, v in full.items() if k[0] <= keep}


def test_truncated_inside_header_rejected():
    data = b"\n".join(_HOST3_LINES[:82]) + b"\n"  # header only: line 83 is the first result
    with pytest.raises(ParseError) as info:
        parse_bytes(data, "host.3[:82]")
    assert "no measured value" in str(info.value)


@pytest.mark.parametrize("line, keep_chars", [
    pytest.param(84, 17, id="labeled-cut-in-number"),        # "Simple read: 0.21"
    pytest.param(177, 27, id="labeled-cut-in-unit"),         # "Pipe bandwidth: 1484.45 MB/"
    pytest.param(175, 49, id="lat_http-cut-in-number"),      # "Avg xfer: ... millisecs, 35.8"
    pytest.param(123, 28, id="unitless-cut-in-number"),  # "integer bit parallelism: 2.4"
    pytest.param(150, 12, id="series-row-cut-in-number"),  # "67.108864 58"
    pytest.param(153, 17, id="lat_fs-row-cut-in-number"),  # "0k\t472\t78745\t1445"
])
def test_truncated_inside_a_line_invents_nothing(line, keep_chars):
    full_line = _HOST3_LINES[line - 1]
    cut_line = full_line[:keep_chars]
    assert cut_line != full_line
    data = b"\n".join(_HOST3_LINES[:line - 1]) + b"\n" + cut_line  # no final newline: cut mid-line
    pf = parse_bytes(data, f"host.3 cut in line {line}")
    full = _keyed(parsed(HOST3))
    got = _keyed(pf)
    assert {k: v for k, v in got.items() if k[0] < line} == {k: v for k, v in full.items() if k[0] < line}
    invented = {k: v for k, v in got.items() if k[0] >= line and full.get(k) != v}
    assert invented == {}, f"value(s) made from the cut line {cut_line!r}"


# --- line numbers are the file's lines ------------------------------------------------------------------

@pytest.mark.parametrize("data, line", [
    pytest.param(b"junk\r\r\nSimple syscall: 0.1659 microseconds\r\n", 2, id="cr-cr-lf"),
    pytest.param(b"progress 10%\rprogress 100%\nSimple syscall: 0.1659 microseconds\n", 2, id="lone-cr"),
    pytest.param(b"page\x0cbreak\nSimple syscall: 0.1659 microseconds\n", 2, id="form-feed"),
    pytest.param(b"junk\r\nSimple syscall: 0.1659 microseconds\r\n", 2, id="crlf"),
    pytest.param(b"junk\nSimple syscall: 0.1659 microseconds", 2, id="no-final-newline"),
])
def test_value_line_is_the_lf_counted_line(data, line):
    pf = parse_bytes(data, "x")
    assert [(v.line, v.metric) for v in pf.values] == [(line, "syscall_null")]


# --- bare rows whose meaning comes from position -----------------------------------------------------


def test_bw_mem_rows_take_the_operation_of_the_command_line():
    text = ("$ ./bin/x86_64-linux-gnu/bw_mem -W 3 -N 10 64m frd\n"
            "67.11 16133.88\n"
            "$ ./bin/x86_64-linux-gnu/bw_mem -W 3 -N 10 64m rd\n"
            "67.11 38553.54\n"
            "2022-08-31 10:28:22 ./bin/x86_64-linux-gnu/bw_mem -P 1 268435456 fwr\n"
            "268.44 4365.09\n"
            "# bw_mem 1m bcopy conflict\n"
            "1.05 46969.86\n")
    pf = parse_text(text)
    assert [(v.line, v.metric, v.param, v.value) for v in pf.values] == [
        (2, "mem_read_bw", "67.11", 16133.88),
        (4, "mem_partial_read_bw", "67.11", 38553.54),
        (6, "mem_write_bw", "268.44", 4365.09),
        (8, "libc_bcopy_aligned_bw", "1.05", 46969.86),
    ]


def test_bare_bw_rows_without_command_are_unknown():
    # hubzhangxj-lmbench *bw.log shape: a banner, then bw_mem rows with no operation anywhere.
    with pytest.raises(ParseError) as info:
        parse_text("**********local die 1core*************\n32.00 20735.46\n")
    assert info.value.line == 2
    pf = parse_text("Simple syscall: 0.1659 microseconds\n32.00 20735.46\n")
    assert [(v.line, v.metric) for v in pf.values] == [(1, "syscall_null")]
    assert [(i.line, i.kind) for i in pf.issues] == [(2, "unknown")]


def test_console_log_bare_rows_by_position():
    # The OS-competition driver's log shape of FORMATS.md section 6, written by hand.
    text = ("064005\n"                                          # 1 timestamp
            "latency measurements\n"                            # 2
            "Simple syscall: 0.6571 microseconds\n"             # 3
            "File /var/tmp/XXX write bandwidth:30346 KB/sec\n"  # 4 no space after the colon
            "Pagefaults on /var/tmp/XXX: 10.1877 microseconds\n"  # 5
            "0.524288 283\n"                                    # 6 lat_mmap 512k
            "file system latency\n"                             # 7
            "0k      23      4081    5272\n"                    # 8
            "Bandwidth measurements\n"                          # 9
            "Pipe bandwidth: 94.72 MB/sec\n"                    # 10
            "0.524288 315.08\n"                                 # 11 bw_file_rd io_only
            "0.524288 285.87\n"                                 # 12 bw_file_rd open2close
            "0.524288 6862.16\n"                                # 13 bw_mmap_rd mmap_only
            "0.524288 311.64\n"                                 # 14 bw_mmap_rd open2close
            "context switch overhead\n"                         # 15
            "\n"                                                # 16
            '"size=32k ovr=60.47\n'                             # 17
            "2 41.47\n")                                        # 18
    pf = parse_text(text)
    assert pf.format == "console-log"
    assert [(v.line, v.metric, v.param, v.value) for v in pf.values] == [
        (3, "syscall_null", "", 0.6571),
        (4, "file_write_bw", "", 30346.0),
        (5, "pagefault", "", 10.1877),
        (6, "mmap_latency", "0.524288", 283.0),
        (8, "fs_create", "0k", 4081.0),
        (8, "fs_delete", "0k", 5272.0),
        (10, "pipe_bw", "", 94.72),
        (11, "file_reread_bw", "0.524288", 315.08),
        (12, "file_open2close_bw", "0.524288", 285.87),
        (13, "mmap_reread_bw", "0.524288", 6862.16),
        (14, "mmap_open2close_bw", "0.524288", 311.64),
        (17, "ctx_overhead", "32K", 60.47),
        (18, "ctx_switch", "2p/32K", 41.47),
    ]
    assert 1 in {i.line for i in pf.issues if i.kind == "noise"}


def test_lmbench2_units_and_labels():
    text = ("Pagefaults on /something.avi: 13098 usecs\n"
            "FIFO latency: 8.0457 microseconds\n"
            "Fcntl lock latency: 7.3516 microseconds\n"
            "Select on 200 tcp fd's: 62.7955 microseconds\n")
    pf = parse_text(text)
    assert [(v.metric, v.value) for v in pf.values] == [
        ("pagefault", 13098.0), ("fifo_latency", 8.0457), ("fcntl_latency", 7.3516), ("select_200_tcp", 62.7955)]


def test_nanoseconds_converted_to_microseconds_with_note():
    pf = parse_text("Simple syscall: 165.9 nanoseconds\n")
    (v,) = pf.values
    assert v.metric == "syscall_null" and v.value == pytest.approx(0.1659)
    assert "nanoseconds" in v.note


def test_a_summary_table_is_rejected_with_what_to_ingest_instead():
    """lmbench's own summary table (``make summary``) holds no results-file line; the rejection
    says what it is and what to give instead, not just "not an lmbench log"."""
    table = (b"cd results && make summary percent 2>/dev/null | more\n\n"
             b"                 L M B E N C H  3 . 0   S U M M A R Y\n"
             b"                 ------------------------------------\n\n"
             b"Host                 OS Description              Mhz\n"
             b"--------- ------------- ----------------------- ----\n")
    with pytest.raises(ParseError, match=r"summary table .*ingest the results files"):
        parse_bytes(table, "summary.txt")
