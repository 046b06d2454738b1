"""The parser's fast paths against its own state machine, line for line.

``parse_text`` short-cuts the lines that make up nearly all of a real results file (series blocks,
labeled lines, bracketed header lines, series headers, noise) and hands everything else to the
state machine (``_Parser.feed``). ``parser._parse_text_reference`` runs every line through the state
machine. For every input here both must give exactly the same result: the same values (line,
metric, param, value bit for bit, low_precision, note, and the same types), the same issues in the
same order, the same metadata and format, or the same ParseError.

Inputs: every file of the shared corpus (all PROVENANCE kinds; skipped with the reason when
../shared is absent), the shipped lab files and tests/data, truncations and seeded mutations of
real files, hand-written edge cases of each fast path, and hypothesis-generated lmbench-like text.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from vizlib import parser
from vizlib.parser import MAX_LINE_CHARS, ParseError, Value

from conftest import CORPUS, corpus_params, lab_files

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = sorted(p for p in (REPO / "tests" / "data").rglob("*") if p.is_file())
ALL_KINDS = ("results3", "results2", "stdout", "single-benchmark", "peer-summary")
UNLISTED_CONSOLE_LOGS = ["byte-os-byteos/docs/lmbench.md", "unresolved-oscomp-d1-doc/qemu.extracted.txt"]


def outcome(parse, data: bytes):
    """Everything a parse produces, in a form that compares exactly (floats by repr, with types)."""
    try:
        text, replaced = parser.decode(data, "src")
        pf = parse(text, "src", replaced)
    except ParseError as exc:
        return ("ParseError", exc.line, exc.reason)
    values = [(type(v).__name__, tuple((type(f).__name__, repr(f)) for f in v)) for v in pf.values]
    issues = [(type(i).__name__, i.line, i.kind, i.reason, i.text) for i in pf.issues]
    return (pf.source, pf.format, pf.meta, values, issues)


def assert_same(data: bytes, what: str = "input") -> None:
    fast, ref = outcome(parser.parse_text, data), outcome(parser._parse_text_reference, data)
    if fast == ref:
        return
    if fast[0] == "ParseError" or ref[0] == "ParseError":
        pytest.fail(f"{what}: fast {fast[:3]} vs reference {ref[:3]}")
    for name, a, b in zip(("source", "format", "meta", "values", "issues"), fast, ref):
        if a != b:
            if isinstance(a, list):
                first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                pytest.fail(f"{what}: {name} differ at #{first} (fast {len(a)}, reference {len(b)}): "
                            f"{a[first:first + 2]} vs {b[first:first + 2]}")
            pytest.fail(f"{what}: {name} differ: {a!r} vs {b!r}")


# --- real files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", corpus_params(ALL_KINDS) + UNLISTED_CONSOLE_LOGS)
def test_corpus_file_parses_the_same_with_and_without_fast_paths(rel):
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus file absent: {path}")
    assert_same(path.read_bytes(), rel)


@pytest.mark.parametrize("path", lab_files() + TEST_DATA, ids=lambda p: p.relative_to(REPO).as_posix())
def test_lab_and_test_data_parse_the_same_with_and_without_fast_paths(path):
    assert_same(path.read_bytes(), str(path))


def _seeds() -> list[tuple[str, bytes]]:
    seeds = [(p.name, p.read_bytes()) for p in lab_files()]
    for rel in ("tomgoh-kylin-lmbench/results/n90-day3/n90-vhe-noLSM-full-cpu0-iter1.txt",
                "tomgoh-kylin-lmbench/results/hygon_regular_results/xkernel-hygon_regular-cpu0-iter1.txt",
                "akawashiro-com/memos/linux-benchmarks.single-benchmarks.extracted.txt",
                "atharva0300-lmbench3-container-perf/results/lat_ctx_terminal_output.txt",
                "atharva0300-lmbench3-container-perf/results/docker/lat_ctx/lat_ctx.txt",
                "yan-516-kairix/lmbench_testcode.md",
                "unresolved-lkml-lmbench2/2001-10-09-2.4.10-ac10-preempt.extracted.txt"):
        if (CORPUS / rel).is_file():
            seeds.append((rel, (CORPUS / rel).read_bytes()))
    return seeds


def test_truncation_at_every_line_parses_the_same():
    """Cut after every line (with and without its newline): blocks, runs of labeled lines and the
    unterminated last line end anywhere."""
    for name, data in _seeds()[:4]:
        lines = data.split(b"\n")
        for cut in range(1, len(lines)):
            head = b"\n".join(lines[:cut])
            assert_same(head + b"\n", f"{name} cut after line {cut}")
            assert_same(head, f"{name} cut after line {cut}, no newline")


# Bytes a mutation writes: each can turn a fast-path line into one the state machine must judge.
_MUTATION_BYTES = b"\x00\x02\x1b\x1c\x0b\r\t \n[]\":.-+eE0123456789kxMB/sec\xc3\xa9"
_TRICKY_LINES = [
    b"0.5 1.5e3", b".5 3", b"5. 3", b"1 2 3", b"1  2", b"1 2 ", b" 1 2", b"1\t2", b"1 0", b"1 0.00",
    b"0 7", b"1 123456789012", b"123456789012 1", b"1 2 MB/sec", b"1 2  MB/sec", b"1 2 MB/secx",
    b"1 0.0000000000001", b"Simple syscall: 0.1 microseconds", b"Simple syscall: 1e-1 microseconds",
    b"Simple syscall: 165.9 nanoseconds", b"integer add: 0.00 nanoseconds", b"Simple syscall:\x1c0.1",
    b"[mount: x\x1b[]", b"[HOSTNAME: a\x02b]", b"[MB: 1]", b"[Mon x: 1]", b"[lmbench: 1]", b"[a: 1]",
    b'"size=0k ovr=1.5', b'"size=0k\x1covr=1.5', b'"stride=64', b'"mappings', b"mappings", b"",
    b"Benchmark Command: lat_ctx -s 0 2", b"Run 1: 3.5", b"$ ./bw_mem 1m rd", b"latency measurements",
    b"inf 1", b"nan 2", b"tlb: 5 pages", b"Avg xfer: 3.2KB, 41.8KB in 1.4 millisecs, 29.75 MB/sec",
    b"0k\t472\t78745\t144528", b"\x1b[1mSimple read: 0.2 microseconds\x1b[0m",
]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.choice((1, 1, 2, 4))):
        i = rng.randrange(len(lines))
        op = rng.randrange(5)
        if op == 0 and lines[i]:  # overwrite a byte
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + bytes([rng.choice(_MUTATION_BYTES)]) + lines[i][j + 1:]
        elif op == 1:  # insert a tricky line
            lines.insert(i, rng.choice(_TRICKY_LINES))
        elif op == 2:  # delete a line
            del lines[i]
        elif op == 3:  # duplicate a line
            lines.insert(i, lines[i])
        elif lines[i]:  # append a byte at the end of a line
            lines[i] = lines[i] + bytes([rng.choice(_MUTATION_BYTES)])
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


def test_seeded_mutants_parse_the_same():
    rng = random.Random(20261130)
    seeds = _seeds()
    for k in range(1500):
        name, data = seeds[k % len(seeds)]
        mutant = _mutate(data, random.Random(rng.randrange(2**32)))
        assert_same(mutant, f"mutant {k} of {name}")


# --- edge cases of each fast path -------------------------------------------------------------------------

HEAD = "[lmbench3.0 results for Linux h 6.1.0 #1 SMP x86_64 GNU/Linux]\n[MHZ: 2000 MHz, 0.5 nanosec clock]\n"

EDGE_CASES = {
    # series blocks: canonical, then every way a row can leave the canonical form
    "canonical": '"read bandwidth\n0.000512 671.66\n0.001024 1291.46\n1.05 17652.11\n\n',
    "stride": '"stride=128\n0.00049 1.188\n0.00098 1.188\n0.00195 1.19\n\n',
    "ctx": '"size=0k ovr=1.33\n2 3.06\n4 3.52\n8 4.73\n\n',
    "mmap integers": '"mappings\n0.524288 9.824\n1.048576 16\n2.097152 24\n\n',
    "MB/sec rows": 'Socket bandwidth using localhost\n0.000001 1.80 MB/sec\n0.000064 98.34 MB/sec\n\n',
    "leading dot": '"read bandwidth\n.5 3\n1 .25\n\n',
    "trailing dot": '"read bandwidth\n5. 3\n1 2.\n\n',
    "exponent": '"read bandwidth\n1 1e5\n2 300\n\n',
    "two spaces": '"read bandwidth\n1  2.5\n2 300\n\n',
    "trailing space": '"read bandwidth\n1 2.5 \n2 300\n\n',
    "leading space": '"read bandwidth\n 1 2.5\n2 300\n\n',
    "tab": '"read bandwidth\n1\t2.5\n2 300\n\n',
    "three columns": '"read bandwidth\n1 2 3\n2 300\n\n',
    "one column": '"read bandwidth\n1\n2 300\n\n',
    "one column then three": '"read bandwidth\n1\n2 300 4\n5 6\n\n',
    "zero": '"read bandwidth\n1 0\n2 300\n\n',
    "zero latency": '"stride=16\n0.00049 0.000\n0.00098 1.5\n\n',
    "too large": '"read bandwidth\n1 300000000\n2 300\n\n',
    "x at 1e12": '"read bandwidth\n1000000000000 5\n999999999999 5\n99999999999 5\n\n',
    "many decimals": '"stride=16\n1 0.0000000000001234\n2 0.00000000001\n3 0.5\n\n',
    "non-uniform decimals": '"stride=16\n1 0.5\n2 0.25\n3 0.125\n4 12\n\n',
    "high precision": '"stride=16\n1 150.5\n2 250.25\n\n',
    "two dots": '"read bandwidth\n1.2.3 5\n2 300\n\n',
    "lone dot": '"read bandwidth\n. 5\n2 300\n\n',
    "crlf": '"read bandwidth\r\n1 2.5\r\n2 300\r\n\r\n',
    "no blank line after block": '"read bandwidth\n1 2.5\n2 300\nSimple syscall: 0.1 microseconds\n',
    "block at end, no newline": '"read bandwidth\n1 2.5\n2 300',
    "block at end, cut": '"read bandwidth\n1 2.5\n2 30',
    "unicode digits": '"read bandwidth\n\u0661 2.5\n2 \u0663\u0660\u0660\n\n',
    "block of MB/sec letters": '"read bandwidth\nMB 5\ns 5\n1 2\n\n',
    "stride with mixed header": '"stride=16\n1 2.123\n"stride=32\n1 2.5\n\n',
    "long plain row in a block": '"read bandwidth\n1 2\n' + "3" + " " * MAX_LINE_CHARS + "4\n5 6\n\n",
    "long plain row at the end": '"read bandwidth\n1 2\n' + "3" + " " * MAX_LINE_CHARS + "4\n",
    "fs rows": '"File system latency\n0k\t469\t84505\t138552\n1k 332 64142 109131\n\n',
    "exponent, small": '"stride=16\n1 1e-1\n2 3e0\n\n',
    "one token, leading space": '"read bandwidth\n 5\n2 300\n\n',
    "one token, trailing space": '"read bandwidth\n5 \n2 300\n\n',
    "long x fraction": '"read bandwidth\n0.' + "0" * MAX_LINE_CHARS + '1 5\n2 300\n\n',
    # rows whose y sits exactly on a low-precision boundary (M = 100 for d decimals), uniform or not
    "boundaries": "".join(f'"stride=16\n1 {y}\n2 {y}\n\n"stride=32\n1 {y}\n2 5\n\n"stride=64\n1 {y}\n'
                          f'2 0.{"0" * (len(y) - y.find(".") - 2)}1\n\n'
                          for y in ("10.0", "1.00", "0.100", "0.0100", "0.00100", "0.000100", "0.0000100",
                                    "0.00000100", "0.000000100", "0.0000000100", "0.00000000100",
                                    "0.000000000100", "0.0000000000100", "9.99", "1.01", "0.0999", "0.101")),
    # labeled lines
    "labeled": "Simple syscall: 0.1303 microseconds\nSimple read: 0.2135 microseconds\n",
    "labeled i/n": "integer bit: 0.27 nanoseconds\nint64 add parallelism: 1.23\ninteger div: 0.00 nanoseconds\n",
    "labeled conversions": "Simple syscall: 165.9 nanoseconds\nPagefaults on /var/tmp/XXX: 2 milliseconds\n",
    "labeled odd units": "Simple syscall: 0.1 MICROSECONDS\nSimple read: 0.2 usecs\nPipe bandwidth: 5 KB/sec\n",
    "labeled without unit": "Simple syscall: 0.1\nPipe bandwidth: 5\ninteger add parallelism: 2 microseconds\n",
    "labeled exponent/sign": "Simple syscall: 1e-1 microseconds\nSimple read: +0.2 microseconds\n"
                             "Simple write: .5 microseconds\nSimple stat: nan microseconds\n",
    "labeled out of range": "Simple syscall: 0 microseconds\nPipe bandwidth: 0 MB/sec\nSimple read: 99999999999 microseconds\n",
    "labeled many decimals": "Simple syscall: 0.00000000000001 microseconds\nmmap latency: 5\n",
    "labeled control characters": "Simple\x02 syscall: 0.1 microseconds\nUDP latency using local\x02host: 5 microseconds\n"
                                  "Simple read:\x1c0.2 microseconds\nSimple write: 0.3\x1cmicroseconds\n",
    "labeled escapes": "\x1b[1mSimple syscall: 0.1 microseconds\x1b[0m\nSimple read: 0.2 microseconds\x1b[K\n",
    "labeled prefixes": "tlb: 5 pages\nRun 1: 3.5\nAvg xfer: 3.2KB, 41.8KB in 1.4 millisecs, 29.75 MB/sec\n"
                        "size=0k ovr: 3\nstride=16: 2\nBenchmark Command: 5\n",
    "labeled net": "UDP latency using localhost: 14.9 microseconds\nTCP/IP connection cost to host2: 27.6 microseconds\n",
    "unknown label": "Frob latency: 5 microseconds\nFrob: 5\n",
    "labeled ends a block": '"read bandwidth\n1 2.5\nSimple syscall: 0.1 microseconds\n2 300\n\n',
    # bracketed lines
    "brackets": "[mount: a on / type ext4 (rw)]\n[ALL: 512 1k]\n[MB: 4096]\n[MB: 8]\n[OS: x86_64-linux-gnu]\n"
                "[Wed Jul 30 06:09:48 AM JST 2025]\n[ 06:09:48 up 9:08, 2 users, load average: 0.08]\n"
                "[LMBENCH VERSION: lmbench-3alpha4]\n[LMBENCH_VER: 3]\n",
    "odd brackets": "[a: 1]\n[Mon x: 1]\n[Monday: 1]\n[lmbench: 1]\n[lmbench3.0 results for x]\n[mount: x] y\n"
                    "[mount: x]\x02\n[mount: x\x1b[]\n[HOSTNAME: a\x02b]\n[HOSTNAME: c]\n[:x]\n[x_y 1: z]\n[mount: [x]]\n",
    # headers
    "headers": 'Memory load latency\n"stride=16\n0.00049 1.188\n\nRandom load latency\n"stride=16\n0.00049 2.5\n\n'
               '"File system latency\n0k 469 84505 138552\n\nMemory read bandwidth\n0.000512 5000.5\n\n',
    "odd headers": '"size=0k  ovr=1.33\n2 3.06\n\n"size=0k\x1covr=1.33\n2 3.06\n\n"size=0k ovr=1e1\n2 3.06\n\n'
                   '"stride=16 \n1 2\n\n"stride= 16\n1 2\n\n" mappings \n1 2\n\n"Unknown series\n1 2\n\n'
                   '"mappings\x02\n1 2\n\nmappings\x1c\n1 2\n\n',
    # noise and the state machine around it
    "noise": "Segmentation fault (core dumped)\nlocalhost: RPC: Timed out\n./lmbench: 104: netstat: not found\n"
             "-r\tRouting table\n*** done ***\n\x02: RPC: Unable to receive\n"
             "Segmentation fault (core dumped)\r\n \x1cSegmentation fault (core dumped)\x1f\n" + "x" * 400 + "\n"
             + "x" * 400 + "\n",
    "noise that is not": "lat_rpc: built with NO_RPC (musl); skipping\n$ ./bw_mem 1m rd\n0.52 5000.5\n"
                         "mhz: 2000\nstream copy: 1\nlatency measurements\n10.5 4.5\n",
    "commands without an underscore": "$ ./stream -M 8M\n# tlb -L 64\nlmdd if=internal of=/tmp/x\n"
                                      "2024-01-01 mhz\n./lmbench stream tlb mhz lmdd\n",
    "learned noise": "1+0 records in\nlat_rpc: built with NO_RPC (musl); skipping\nFrob: 5\n"
                     '"read bandwidth\n1 2\n1+0 records in\n3 4\n\n"stride=16\n1 2\nFrob: 5\n'
                     "lat_rpc: built with NO_RPC (musl); skipping\n3 4\n\nBenchmark Command: lat_syscall null\n"
                     "1+0 records in\nlat_rpc: built with NO_RPC (musl); skipping\nRun 1: 0.5\n1+0 records in\n"
                     "latency measurements\n1+0 records in\n0.5 3\n",
    "console log": "latency measurements\nlat_pagefault: 5\nPagefaults on /tmp/x: 2.5 microseconds\n0.5 3\n"
                   "Bandwidth measurements\n0.5 300\n0.5 400\n",
    "wrapper": "Benchmark Command: lat_syscall null\nRun 1: 0.1\nRun 2: 0.2\nSimple syscall: 0.1 microseconds\n",
    "wrapper ctx": "Benchmark Command: lat_ctx -s 0 2\nRun 1: 3.5\n\"size=0k ovr=1\n2 3\n",
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_case_parses_the_same(name):
    body = EDGE_CASES[name]
    for text in (HEAD + body, body, HEAD + body + "Simple syscall: 0.1 microseconds\n"):
        assert_same(text.encode("utf-8"), name)


def test_edge_cases_combined_parse_the_same():
    text = HEAD + "".join(EDGE_CASES[k] for k in sorted(EDGE_CASES) if not k.startswith("long"))
    assert_same(text.encode("utf-8"), "all edge cases")


def test_a_plain_row_over_the_line_limit_is_noise_wherever_it_is():
    """Lines over MAX_LINE_CHARS are noise; the old per-line fast path kept a value for such a row
    unless it was the file's last line."""
    long_row = "3" + " " * MAX_LINE_CHARS + "4"
    for text in (f'"read bandwidth\n1 2\n{long_row}\n5 6\n', f'"read bandwidth\n1 2\n{long_row}\n'):
        pf = parser.parse_text(text)
        assert [v.line for v in pf.values] == ([2, 4] if text.endswith("6\n") else [2])
        assert [(i.line, i.kind) for i in pf.issues] == [(3, "noise")]


def test_caches_change_nothing():
    """The fast paths keep small caches (labels, bracket keys, x tokens, noise lines): a parse with
    them empty and a parse with them warm give the same result."""
    data = (HEAD + "".join(EDGE_CASES[k] for k in sorted(EDGE_CASES) if not k.startswith("long"))).encode()
    warm = outcome(parser.parse_text, data)
    for cache in (parser._LABEL_FAST, parser._BRACKET_KEYS, parser._X_OK, parser._NOISE_LINES, parser._PARAMS):
        cache.clear()
    parser._PARAMS_SIZE[0] = 0
    assert outcome(parser.parse_text, data) == warm == outcome(parser._parse_text_reference, data)


def test_caches_are_bounded():
    lines = [HEAD, '"read bandwidth\n']
    lines += [f"{i}.{i} 5\n" for i in range(1, 30_000)]
    lines += ["\n"] + [f"Label {i}: {i} microseconds\n[key {i}: x]\nnoise {i}\n" for i in range(30_000)]
    lines += [f'"stride={i}\n1 2.5\n2 3.5\n3 4.5\n\n"size={i}k ovr=1\n2 3\n4 5\n\n' for i in range(10_000)]
    parser.parse_text("".join(lines))
    assert len(parser._LABEL_FAST) <= parser._CACHE_MAX
    assert len(parser._BRACKET_KEYS) <= parser._CACHE_MAX
    assert len(parser._X_OK) <= parser._CACHE_MAX
    assert len(parser._NOISE_LINES) <= parser._CACHE_MAX
    assert sum(map(len, parser._PARAMS.values())) <= parser._PARAMS_SIZE[0] <= parser._CACHE_MAX


def test_every_series_header_has_a_fast_path():
    """A header the fast path does not know still parses right (through feed), only slower."""
    for name in ("read bandwidth", "Memory read bandwidth", "mappings", "Socket bandwidth using localhost",
                 "Memory load parallelism", "Memory load latency", "File system latency"):
        assert name in parser._HEADER_ACTIONS, name


def test_low_precision_thresholds_are_exact():
    """value < _LOW_BELOW[d] is exactly _low_precision for d decimals, at and around every boundary."""
    metric = parser.catalogue.METRICS["mem_latency"]
    mmap = parser.catalogue.METRICS["mmap_latency"]
    for d in range(13):
        token = "1" + ("." + "0" * d if d else "")
        for below, m in ((parser._LOW_BELOW, metric), (parser._LOW_BELOW_MMAP, mmap)):
            edge = below[d] if below[d] != float("inf") else 1e6
            probes = [edge, edge * (1 + 1e-15), edge * (1 - 1e-15), edge * 2, edge / 2, 10.0 ** (2 - d), 1e-12, 1e6]
            for v in probes:
                v2 = v
                for _ in range(3):
                    assert (v2 < below[d]) == parser._low_precision(m, token, v2), (d, v2, m.id)
                    v2 = parser.math.nextafter(v2, 0.0)


# --- hypothesis -------------------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_NUMBER = st.one_of(
    st.integers(0, 10**13).map(str),
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.floats(min_value=0, max_value=1e13, allow_nan=False).map(lambda f: f"{f:.{int(f * 7) % 14}f}"),
    st.text("0123456789.eE+-", min_size=1, max_size=8),
    st.sampled_from(["0", "0.0", ".5", "5.", "nan", "inf", "1e5"]),
)
_SPACE = st.sampled_from([" ", " ", " ", "  ", "\t", " \x1c", ""])
_LINE = st.one_of(
    st.builds(lambda x, s, y, tail: f"{x}{s}{y}{tail}", _NUMBER, _SPACE, _NUMBER,
              st.sampled_from(["", "", "", " MB/sec", " ", "\r", " x"])),
    st.builds(lambda lab, s, num, unit: f"{lab}:{s}{num}{unit}",
              st.sampled_from(["Simple syscall", "Pipe bandwidth", "integer add", "int64 mul parallelism",
                               "Select on 10 fd's", "UDP latency using localhost", "Pagefaults on /x",
                               "File /x write bandwidth", "STREAM copy bandwidth", "mmap", "tlb", "Run 1",
                               "Frob", "Simple\x02 read"]),
              _SPACE, _NUMBER,
              st.sampled_from(["", " microseconds", " nanoseconds", " MB/sec", " KB/sec", " usecs",
                               " milliseconds", " pages", " microseconds ", "\x1b[0m"])),
    st.sampled_from(['"read bandwidth', '"stride=128', '"size=0k ovr=1.5', "Memory load latency",
                     '"mappings', "Socket bandwidth using localhost", '"File system latency', "", "", "",
                     "[lmbench3.0 results for Linux x 6.1 #1]", "[HOSTNAME: h]", "[mount: a on b]",
                     "[MB: 12]", "[Thu Nov 26 06:58:29 UTC 2026]", "latency measurements",
                     "Bandwidth measurements", "$ bw_mem 1m rd", "./lat_mmap 512k /tmp/x",
                     "Benchmark Command: lat_ctx -s 0 2", "Run 1: 3.5", "0k\t472\t78745\t144528",
                     "Segmentation fault (core dumped)", "\x1b[1m", "tlb: 5 pages"]),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_LINE, min_size=1, max_size=40), st.sampled_from(["\n", "\n", "\r\n"]), st.booleans())
def test_hypothesis_lmbench_like_text_parses_the_same(lines, newline, final_newline):
    text = newline.join(lines) + (newline if final_newline else "")
    assert_same(text.encode("utf-8", "surrogatepass"), repr(text[:200]))


def test_values_are_values():
    pf = parser.parse_text(HEAD + EDGE_CASES["canonical"] + EDGE_CASES["labeled"])
    assert pf.values and all(type(v) is Value and type(v.low_precision) is bool for v in pf.values)
