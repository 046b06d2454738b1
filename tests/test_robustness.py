"""Reliability of the lmbench parser and of ingest against bad input (issue "Reliability and safety").

Three parts:

1. The bad-input catalogue: each kind of bad input with the behaviour the suite promises for it
   (empty, binary, UTF-16, Latin-1, CRLF, truncated runs, huge files, impossible values, reruns,
   duplicates, other benchmark suites, unknown lines).
2. Mutation testing: a seeded random mutator and a hypothesis test over real lab files
   (``data/raw-lmbench-lab``) and real corpus files (``../shared/lmbench-corpus``). Whatever the bytes,
   ``parser.parse_bytes`` either returns sane values or raises ``parser.ParseError``.
3. Memory bounds, measured in subprocesses.

Everything is deterministic: fixed seeds, ``derandomize=True`` for hypothesis.
Files are only read from ``data/raw-lmbench-lab`` and the corpus; every modification happens on tmp copies.
"""

from __future__ import annotations

import csv
import math
import random
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vizlib import catalogue, ingest as ingest_mod, parser
from vizlib.parser import ParseError

from conftest import tidy_rows

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw-lmbench-lab"  # fixed real runs whose files these tests name
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "lmbench-corpus"
LAB_FILE = RAW / "host" / "host.3"
LAB_FILES = sorted(p for p in RAW.glob("*/*") if p.is_file())

# A complete lmbench 3 results file of the corpus (FORMATS.md section 1: "the most complete run").
K = "tomgoh-kylin-lmbench/results/"
CORPUS_RESULTS3 = K + "n90-day3/n90-vhe-noLSM-full-cpu0-iter1.txt"
# Mutation seeds from the corpus: every format variant the parser accepts (FORMATS.md).
CORPUS_SEEDS = [
    CORPUS_RESULTS3,
    K + "n90-day1/n90-host-cpu0-iter1.txt",  # Chinese shell error in the header
    K + "n90-day2/n90-baremetal-noksaf-N3-cpu0-iter2.txt",  # truncated run (section 9)
    K + "hygon_regular_results/xkernel-hygon_regular-cpu0-iter1.txt",  # BusyBox guest
    "perfkitbenchmarker/tests/data/lmbench_output.txt",  # BENCHMARK_HARDWARE: NO
    "akawashiro-com/memos/linux-benchmarks.single-benchmarks.extracted.txt",  # prompts + bare series
    "atharva0300-lmbench3-container-perf/results/docker/lat_ctx/lat_ctx.txt",  # wrapper "Run N:" format
    "atharva0300-lmbench3-container-perf/results/lat_ctx_terminal_output.txt",  # typescript, CRLF
    "hubzhangxj-lmbench/files/lmbench_lat.log",
    "unresolved-lkml-lmbench2/2001-10-09-2.4.10-ac10-preempt.extracted.txt",  # lmbench 2 lines
    "yan-516-kairix/lmbench_testcode.md",  # OS-competition console log, no final newline
]

needs_corpus = pytest.mark.skipif(not (CORPUS / CORPUS_RESULTS3).is_file(),
                                  reason=f"lmbench corpus not found at {CORPUS} (../shared beside the repo)")

# Factors the parser may apply to a printed number (catalogue unit conversions, lat_http KB/sec).
_SCALES = (1.0, 1e-3, 1e3, 1 / 1024)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _physical_lines(text: str) -> list[str]:
    """Lines as editors, grep and the parser's ``file:line`` count them: split on LF only."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _key(v) -> tuple:
    return (v.line, v.metric, v.param, v.value, v.low_precision, v.note)


def _keys(values) -> list:
    return [_key(v) for v in values]


def _parse_or_error(data: bytes, source: str = "mutant"):
    """(ParsedFile, None) or (None, ParseError); any other exception propagates."""
    try:
        return parser.parse_bytes(data, source), None
    except ParseError as exc:
        return None, exc


def _check_parse_error(exc: ParseError, source: str, n_lines: int | None = None) -> None:
    assert str(exc).startswith(f"{source}:{exc.line}: "), f"ParseError without file:line prefix: {exc}"
    assert exc.reason and str(exc).endswith(exc.reason)
    assert exc.line >= 0
    if n_lines is not None:
        assert exc.line <= n_lines, f"ParseError line {exc.line} beyond the {n_lines} lines of the input"


def _write_manifest(raw: Path, envs: dict[str, str | None]) -> None:
    """environments.toml with ``envs`` = {name: baseline or None for a physical environment}."""
    parts = []
    for name, baseline in envs.items():
        if baseline is None:
            parts.append(f'[environments.{name}]\nkind = "physical"\ntechnology = "physical"\n')
        else:
            parts.append(f'[environments.{name}]\nkind = "virtual"\ntechnology = "kvm"\nbaseline = "{baseline}"\n')
    (raw / "environments.toml").write_text("\n".join(parts), encoding="utf-8")


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def lab_bytes() -> bytes:
    return LAB_FILE.read_bytes()


@pytest.fixture(scope="module")
def lab_parsed(lab_bytes):
    return parser.parse_bytes(lab_bytes, "host.3")


# =====================================================================================================
# 1. The bad-input catalogue
# =====================================================================================================


@pytest.mark.parametrize("data", [b"", b"\n", b"   \n\t\n\r\n  "], ids=["zero-bytes", "newline", "whitespace"])
def test_empty_file_is_rejected_as_empty(data):
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(data, "empty.log")
    assert ei.value.reason == "empty file"
    assert ei.value.line == 0
    assert str(ei.value) == "empty.log:0: empty file"


def _binary_samples(lab: bytes) -> dict[str, bytes]:
    import gzip
    import zlib

    rng = random.Random(20240601)
    return {
        "random-bytes": bytes(rng.randrange(256) for _ in range(16384)),
        "elf-header": b"\x7fELF\x02\x01\x01\x00" + bytes(rng.randrange(256) for _ in range(4000)),
        "gzip-of-log": gzip.compress(lab, mtime=0),
        "zlib-of-log": zlib.compress(lab),
        "png-header": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(2000)),
        "nul-padded-log": lab.replace(b"\n", b"\x00\x00\n"),  # e.g. a file preallocated then half written
        "zeros": b"\x00" * 65536,
    }


@pytest.mark.parametrize("kind", ["random-bytes", "elf-header", "gzip-of-log", "zlib-of-log", "png-header",
                                  "nul-padded-log", "zeros"])
def test_binary_junk_is_rejected_as_binary(kind, lab_bytes):
    data = _binary_samples(lab_bytes)[kind]
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(data, kind)
    assert "binary" in ei.value.reason
    assert ei.value.line == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_parses_like_the_utf8_original(encoding, lab_bytes, lab_parsed):
    text = lab_bytes.decode("utf-8")
    data = text.encode(encoding)
    if encoding != "utf-16":  # the -le/-be codecs write no BOM: add the one a Windows editor writes
        data = ("\ufeff" + text).encode(encoding)
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    got = parser.parse_bytes(data, "host.3")
    assert _keys(got.values) == _keys(lab_parsed.values)
    assert got.meta == lab_parsed.meta
    assert got.format == lab_parsed.format == "lmbench3-results"
    assert got.count("decode") == 0


def test_utf16_without_bom_is_rejected_as_binary(lab_bytes):
    """Documented limit: UTF-16 is recognised only by its BOM; without one it looks like binary."""
    with pytest.raises(ParseError, match="binary"):
        parser.parse_bytes(lab_bytes.decode().encode("utf-16-le"), "nobom")


def test_utf16_bom_with_odd_length_is_a_clear_parse_error(lab_bytes):
    data = lab_bytes.decode().encode("utf-16")[:-1]  # a UTF-16 file cut in the middle of a code unit
    with pytest.raises(ParseError, match="UTF-16"):
        parser.parse_bytes(data, "odd")


def test_utf8_bom_parses_like_the_original(lab_bytes, lab_parsed):
    got = parser.parse_bytes(b"\xef\xbb\xbf" + lab_bytes, "host.3")
    assert _keys(got.values) == _keys(lab_parsed.values)
    assert got.format == lab_parsed.format
    assert got.meta == lab_parsed.meta


def test_latin1_bytes_are_replaced_counted_and_values_kept(lab_bytes, lab_parsed):
    text = lab_bytes.decode()
    text = text.replace("[HOSTNAME: vm]", "[HOSTNAME: vm-Müller]")  # 1 Latin-1 byte
    text = text.replace("unable to register", "impossible d'enregistrer (café, naïve)")  # 2 more
    data = text.encode("latin-1")
    got = parser.parse_bytes(data, "latin1")
    decode_issues = [i for i in got.issues if i.kind == "decode"]
    assert len(decode_issues) == 1 and decode_issues[0].line == 0
    assert decode_issues[0].reason.startswith("3 undecodable byte(s) replaced with U+FFFD")
    assert got.meta["hostname"] == "vm-M\ufffdller"
    assert _keys(got.values) == _keys(lab_parsed.values)  # values elsewhere intact
    assert any("\ufffd" in i.text for i in got.issues if i.kind == "noise")


def test_latin1_inside_a_result_label_makes_only_that_line_unusable(lab_bytes, lab_parsed):
    data = lab_bytes.replace(b"Simple read: 0.2127", "Simple réad: 0.2127".encode("latin-1"))
    got = parser.parse_bytes(data, "latin1")
    line = lab_bytes.split(b"\n").index(b"Simple read: 0.2127 microseconds") + 1
    assert [i for i in got.issues if i.kind == "unknown"][0].line == line
    assert _keys(got.values) == [k for k in _keys(lab_parsed.values) if k[0] != line]


def test_crlf_line_endings_give_the_same_values(lab_bytes, lab_parsed):
    got = parser.parse_bytes(lab_bytes.replace(b"\n", b"\r\n"), "host.3")
    assert _keys(got.values) == _keys(lab_parsed.values)
    assert got.meta == lab_parsed.meta
    assert [(i.line, i.kind, i.text) for i in got.issues] == [(i.line, i.kind, i.text) for i in lab_parsed.issues]


def test_lone_cr_line_endings_are_a_parse_error_not_a_crash(lab_bytes):
    """Observed: only LF (and CRLF) end a line; a lone CR is a typescript's carriage return, not a line
    break. A classic-Mac file (CR only) is therefore one long line and is rejected, naming line 1."""
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(lab_bytes.replace(b"\n", b"\r"), "host.3")
    assert ei.value.line == 1


def test_mixed_line_endings_give_the_same_values(lab_bytes, lab_parsed):
    rng = random.Random(7)
    lines = lab_bytes.split(b"\n")
    data = b"".join(line + rng.choice([b"\n", b"\r\n"]) for line in lines[:-1]) + lines[-1]
    got = parser.parse_bytes(data, "host.3")
    assert _keys(got.values) == _keys(lab_parsed.values)


@pytest.mark.parametrize("char", ["\x0c", "\x0b", "\x1e", "\x85", "\u2028", "\r"],
                         ids=["form-feed", "vertical-tab", "record-sep", "NEL", "U+2028", "lone-CR"])
def test_line_numbers_count_only_real_line_breaks(char, lab_bytes, lab_parsed):
    text = lab_bytes.decode().replace("[USER: root]", f"[USER: ro{char}ot]")
    got = parser.parse_bytes(text.encode("utf-8"), "host.3")
    assert _keys(got.values) == _keys(lab_parsed.values)  # same lines cited as without the character


# --- truncated runs ------------------------------------------------------------------------------------


def _truncation_points(data: bytes):
    """(cut offset, kind) for every line: after its newline, before it, in its middle, after 1 byte."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield end + 1, "after-newline"
        yield end, "line-end-no-newline"
        if end - start > 1:
            yield start + (end - start) // 2, "mid-line"
            yield start + 1, "first-byte"
        start = end + 1


def _check_truncations(data: bytes, source: str, full) -> dict:
    """Truncate ``data`` at every line; return counts of outcomes. Asserts the truncation promises:

    - only ParseError, naming file:line within the truncated text;
    - every value is the full file's value on the same line (a number cut short is never kept: a
      last line without newline that ends in a digit is refused as "invalid");
    - cut at a line boundary (with or without its newline), the values are exactly the full
      file's values up to that line, except a last line ending in a digit, which is refused.
    """
    full_by_line: dict[int, set] = {}
    for v in full.values:
        full_by_line.setdefault(v.line, set()).add(_key(v))
    outcomes = {"parsed": 0, "ParseError": 0, "cut-line-refused": 0}
    seen = set()
    for cut, kind in _truncation_points(data):
        if cut in seen:
            continue
        seen.add(cut)
        part = data[:cut]
        try:
            got, err = _parse_or_error(part, source)
        except Exception as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"{source} cut at byte {cut} ({kind}) raised {type(exc).__name__}: {exc}")
        lines = _physical_lines(part.decode("utf-8", "replace"))
        if err is not None:
            _check_parse_error(err, source, len(lines))
            outcomes["ParseError"] += 1
            continue
        outcomes["parsed"] += 1
        for v in got.values:
            assert _key(v) in full_by_line.get(v.line, ()), (
                f"{source} cut at byte {cut} ({kind}): value {v} is not the full file's value on line {v.line}")
        last = len(lines)
        unterminated = not part.endswith(b"\n")
        refused = [i for i in got.issues if i.line == last and i.kind == "invalid" and "no newline" in i.reason]
        if unterminated and refused:
            outcomes["cut-line-refused"] += 1
            assert lines[-1].rstrip()[-1:].isdigit(), refused
        if kind in ("after-newline", "line-end-no-newline"):
            want = [k for k in _keys(full.values) if k[0] < last or (k[0] == last and not refused)]
            assert _keys(got.values) == want, (source, cut, kind)
    return outcomes


def test_lab_file_truncated_at_every_line(lab_bytes, lab_parsed):
    outcomes = _check_truncations(lab_bytes, "host.3", lab_parsed)
    print(f"host.3 truncations: {outcomes}")
    assert outcomes["parsed"] > 0 and outcomes["ParseError"] > 0
    assert outcomes["cut-line-refused"] > 0


@needs_corpus
def test_corpus_results3_file_truncated_at_every_line():
    data = (CORPUS / CORPUS_RESULTS3).read_bytes()
    full = parser.parse_bytes(data, "corpus")
    outcomes = _check_truncations(data, "corpus", full)
    print(f"{CORPUS_RESULTS3} truncations: {outcomes}")
    assert outcomes["parsed"] > 0 and outcomes["ParseError"] > 0 and outcomes["cut-line-refused"] > 0


@pytest.fixture(scope="module")
def every_byte_anomalies(lab_bytes, lab_parsed) -> dict:
    """host.3 cut at every byte offset: {"other": [...], "ends-in-dot": [...]} of values not in the full file."""
    full_keys: dict[int, set] = {}
    for v in lab_parsed.values:
        full_keys.setdefault(v.line, set()).add(_key(v))
    out = {"other": [], "ends-in-dot": [], "cuts": 0}
    for cut in range(len(lab_bytes) + 1):
        part = lab_bytes[:cut]
        out["cuts"] += 1
        try:
            got, err = _parse_or_error(part, "host.3")
        except Exception as exc:  # pragma: no cover
            out["other"].append((cut, f"{type(exc).__name__}: {exc}"))
            continue
        if err is not None:
            try:
                _check_parse_error(err, "host.3", part.count(b"\n") + 1)
            except AssertionError as exc:  # pragma: no cover
                out["other"].append((cut, str(exc)))
            continue
        for v in got.values:  # including the cut line: a number cut short must be refused, never kept
            if _key(v) not in full_keys.get(v.line, ()):
                last_text = part.rsplit(b"\n", 1)[-1]
                dot = not part.endswith(b"\n") and last_text.rstrip().endswith(b".")
                out["ends-in-dot" if dot else "other"].append((cut, last_text.decode(), v))
    return out


def test_lab_file_truncated_at_every_byte(every_byte_anomalies):
    """Every byte offset: only ParseError, and every value is the full file's value on the same line
    (apart from the known cut-after-the-decimal-point case, tested below)."""
    assert every_byte_anomalies["cuts"] > 10000
    assert not every_byte_anomalies["other"], every_byte_anomalies["other"][:5]


def test_number_cut_after_its_decimal_point_is_refused(every_byte_anomalies):
    assert not every_byte_anomalies["ends-in-dot"], every_byte_anomalies["ends-in-dot"][:3]


def test_truncated_header_only_run_names_its_last_line(lab_bytes):
    part = b"\n".join(lab_bytes.split(b"\n")[:40]) + b"\n"
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(part, "host.3")
    assert ei.value.line == 40
    assert "no measured value" in ei.value.reason


# --- huge inputs ---------------------------------------------------------------------------------------


def test_long_line_within_the_file_limit_is_noise_and_the_rest_is_kept(lab_bytes, lab_parsed):
    lines = lab_bytes.split(b"\n")
    long_line = b"Simple syscall: " + b"9" * (parser.MAX_LINE_CHARS + 10) + b" microseconds"
    data = b"\n".join(lines[:100] + [long_line] + lines[100:])
    got = parser.parse_bytes(data, "long")
    noise = [i for i in got.issues if i.line == 101]
    assert len(noise) == 1 and noise[0].kind == "noise" and "characters" in noise[0].reason
    assert len(noise[0].text) <= 300  # issue text is clipped, the line is not copied into the tables
    shifted = [(k[0] - 1 if k[0] > 101 else k[0],) + k[1:] for k in _keys(got.values)]
    assert shifted == _keys(lab_parsed.values)


def _run_measured(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter; it must print 'RESULT <key>=<value> ...'. Adds 'rss_growth_mb'."""
    script = textwrap.dedent("""
        import resource, sys
        sys.path.insert(0, {root!r})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        import vizlib.parser, vizlib.ingest
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = {{}}
    """).format(root=str(ROOT)) + textwrap.dedent(code) + textwrap.dedent("""
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["rss_growth_mb"] = (peak - base) / 1024
        out["rss_base_mb"] = base / 1024
        print("RESULT", repr(out))
    """)
    # Started through /bin/sh (not exec'd by it): a child forked straight from pytest inherits pytest's
    # ru_maxrss (the kernel carries the peak RSS across fork and exec), which would hide the growth.
    cmd = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", script]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return eval(line[len("RESULT "):])  # our own repr of a dict of str/int/float


def _write_big(path: Path, size: int, chunk: bytes) -> None:
    with open(path, "wb") as fh:
        while size > 0:
            piece = chunk[:size] if size < len(chunk) else chunk
            fh.write(piece)
            size -= len(piece)


def test_single_50mb_line_is_a_size_error_with_bounded_memory(tmp_path):
    big = tmp_path / "oneline.log"
    _write_big(big, 50 * 1024 * 1024, b"Simple syscall: 0.1 microseconds " * 32768)  # no newline at all
    res = _run_measured(f"""
        from vizlib.parser import parse_file, ParseError, MAX_FILE_BYTES
        try:
            parse_file({str(big)!r}, source="oneline.log")
            out["error"] = None
        except ParseError as exc:
            out["error"] = str(exc); out["line"] = exc.line
        out["limit"] = MAX_FILE_BYTES
    """, tmp_path)
    big.unlink()  # do not leave 50 MB in pytest's kept tmp folders
    print(f"\n50 MB single line: {res}")
    assert res["error"] is not None, "a 50 MB single-line file was accepted"
    assert res["error"].startswith("oneline.log:0: ")
    assert "byte limit" in res["error"] and str(res["limit"]) in res["error"]
    assert res["rss_growth_mb"] < 300, res


def test_200mb_file_is_a_size_error_with_bounded_memory_in_parse_and_ingest(tmp_path, lab_bytes):
    raw = tmp_path / "raw"
    (raw / "host").mkdir(parents=True)
    (raw / "vm").mkdir()
    _write_manifest(raw, {"host": None, "vm": "host"})
    shutil.copy(LAB_FILE, raw / "host" / "host.3")
    shutil.copy(RAW / "container" / "container.0", raw / "vm" / "run.0")
    big = raw / "vm" / "huge.log"
    _write_big(big, 200 * 1024 * 1024, lab_bytes * 64)  # a real log repeated: text, not binary
    out = tmp_path / "out"
    res = _run_measured(f"""
        from vizlib.parser import parse_file, ParseError, MAX_FILE_BYTES
        try:
            parse_file({str(big)!r}, source="huge.log")
            out["error"] = None
        except ParseError as exc:
            out["error"] = str(exc)
        out["limit"] = MAX_FILE_BYTES
        from vizlib.ingest import ingest
        s = ingest({str(raw)!r}, {str(out)!r}, jobs=1)
        out["rejected"] = s.rejected
        out["values"] = dict(s.per_env_values)
    """, tmp_path)
    big.unlink()
    print(f"\n200 MB file: {res}")
    assert res["error"] and res["error"].startswith("huge.log:0: ")
    assert "byte limit" in res["error"] and str(res["limit"]) in res["error"]
    assert len(res["rejected"]) == 1 and res["rejected"][0].startswith("vm/huge.log:0: ")
    assert "byte limit" in res["rejected"][0]
    assert res["values"]["host"] > 300 and res["values"]["vm"] > 300  # the other files still ingest
    assert res["rss_growth_mb"] < 300, res
    runs = {r["run"]: r for r in _read_csv(out / ingest_mod.RUNS)}
    assert runs["vm/huge.log"]["status"] == "rejected"


def test_ingest_reports_the_real_size_of_an_oversized_file(tmp_path, lab_bytes):
    raw = tmp_path / "raw"
    (raw / "host").mkdir(parents=True)
    _write_manifest(raw, {"host": None})
    shutil.copy(LAB_FILE, raw / "host" / "host.3")
    size = parser.MAX_FILE_BYTES + 5 * 1024 * 1024
    _write_big(raw / "host" / "big.log", size, lab_bytes * 16)
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    (raw / "host" / "big.log").unlink()
    assert len(summary.rejected) == 1
    assert str(parser.MAX_FILE_BYTES + 1) not in summary.rejected[0]
    run = {r["run"]: r for r in _read_csv(tmp_path / "out" / ingest_mod.RUNS)}["host/big.log"]
    assert run["bytes"] in ("", str(size))


def test_20mb_single_line_under_the_limit_is_rejected_with_bounded_memory(tmp_path):
    big = tmp_path / "oneline20.log"
    _write_big(big, 20 * 1024 * 1024, b"Simple syscall: 0.1 microseconds " * 32768)
    res = _run_measured(f"""
        from vizlib.parser import parse_file, ParseError
        try:
            parse_file({str(big)!r}, source="oneline20.log")
            out["error"] = None
        except ParseError as exc:
            out["error"] = str(exc)
    """, tmp_path)
    big.unlink()
    print(f"\n20 MB single line: {res}")
    assert res["error"] == "oneline20.log:0: not an lmbench log: no lmbench result line found"
    assert res["rss_growth_mb"] < 300, res


# --- impossible values -----------------------------------------------------------------------------

_INVALID_CASES = [
    # (original line of host.3, replacement, expected reason fragment)
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: nan microseconds", "not finite"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: NaN microseconds", "not finite"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: inf microseconds", "not finite"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: -inf microseconds", "not finite"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: 1e309 microseconds", "not finite"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: -0.1659 microseconds", "negative"),
    ("Simple syscall: 0.1659 microseconds", "Simple syscall: 1e300 microseconds", "beyond any plausible"),
    ("Pipe bandwidth: 1484.45 MB/sec", "Pipe bandwidth: 0 MB/sec", "zero"),
    ("Pipe bandwidth: 1484.45 MB/sec", "Pipe bandwidth: 0.00 MB/sec", "zero"),
    ("Pipe bandwidth: 1484.45 MB/sec", "Pipe bandwidth: -5 MB/sec", "negative"),
    ("Pipe bandwidth: 1484.45 MB/sec", "Pipe bandwidth: 1e20 MB/sec", "beyond any plausible"),
    ("File /var/tmp/XXX write bandwidth: 888142 KB/sec", "File /var/tmp/XXX write bandwidth: 0 KB/sec", "zero"),
    ("0.000512 604.33", "0.000512 0", "zero"),
    ("0.000512 604.33", "0.000512 nan", "not finite"),
    ("0.000512 604.33", "0.000512 -604.33", "negative"),
    ("0.000512 604.33", "0.000512 inf", "not finite"),
    ("0.000512 604.33", "0.000512 1e99", "beyond any plausible"),
    ("integer bit parallelism: 2.49", "integer bit parallelism: 0", "zero"),
    ("integer bit parallelism: 2.49", "integer bit parallelism: 1e9", "beyond any plausible"),
    ("Avg xfer: 3.2KB, 41.8KB in 1.1650 millisecs, 35.85 MB/sec",
     "Avg xfer: 3.2KB, 41.8KB in 1.1650 millisecs, 0 MB/sec", "zero"),
]


@pytest.mark.parametrize("original,replacement,reason", _INVALID_CASES,
                         ids=[f"{i}:{c[1][-28:]}" for i, c in enumerate(_INVALID_CASES)])
def test_impossible_value_is_an_invalid_line_and_the_rest_is_kept(original, replacement, reason, lab_bytes,
                                                                   lab_parsed):
    lines = lab_bytes.decode().split("\n")
    n = lines.index(original) + 1
    lines[n - 1] = replacement
    got = parser.parse_text("\n".join(lines), "host.3")
    invalid = [i for i in got.issues if i.kind == "invalid"]
    assert [(i.line, i.text) for i in invalid] == [(n, replacement)]
    assert reason in invalid[0].reason
    assert _keys(got.values) == [k for k in _keys(lab_parsed.values) if k[0] != n]


def test_file_system_row_with_one_bad_column_keeps_the_good_column(lab_bytes, lab_parsed):
    lines = lab_bytes.decode().split("\n")
    n = lines.index("0k\t472\t78745\t144528") + 1
    lines[n - 1] = "0k\t472\t0\t144528"
    got = parser.parse_text("\n".join(lines), "host.3")
    assert [(i.line, i.kind) for i in got.issues if i.kind == "invalid"] == [(n, "invalid")]
    on_line = [(v.metric, v.value) for v in got.values if v.line == n]
    assert on_line == [("fs_delete", 144528.0)]


def test_zero_latency_is_kept_and_flagged_low_precision(lab_parsed):
    """lmbench itself prints 'integer add: 0.00 nanoseconds' (below its resolution): kept, flagged."""
    zero = [v for v in lab_parsed.values if v.metric == "int_add"]
    assert zero and zero[0].value == 0.0 and zero[0].low_precision


@pytest.mark.parametrize("row", ["nan 604.33", "inf 604.33", "-1 604.33"])
def test_impossible_size_column_is_an_invalid_line(row, lab_bytes, lab_parsed):
    lines = lab_bytes.decode().split("\n")
    n = lines.index("0.000512 604.33") + 1
    lines[n - 1] = row
    got = parser.parse_text("\n".join(lines), "host.3")
    assert [v for v in got.values if v.line == n] == []
    assert [(i.line, i.kind) for i in got.issues if i.kind == "invalid"] == [(n, "invalid")]


# --- reruns and duplicates -----------------------------------------------------------------------------


def test_same_metric_twice_in_one_file_gives_two_values_in_file_order(lab_bytes):
    text = lab_bytes.decode()
    text = text.replace("Simple syscall: 0.1659 microseconds",
                        "Simple syscall: 0.1659 microseconds\nSimple syscall: 0.1701 microseconds")
    text += "Simple syscall: 0.1688 microseconds\n"
    got = parser.parse_text(text, "rerun")
    syscall = [(v.line, v.value) for v in got.values if v.metric == "syscall_null"]
    lines = text.split("\n")
    assert [v for _, v in syscall] == [0.1659, 0.1701, 0.1688]
    assert [lines[n - 1] for n, _ in syscall] == ["Simple syscall: 0.1659 microseconds",
                                                  "Simple syscall: 0.1701 microseconds",
                                                  "Simple syscall: 0.1688 microseconds"]
    assert [n for n, _ in syscall] == sorted(n for n, _ in syscall)


def test_same_file_under_two_environments_is_reported_as_duplicate(tmp_path):
    raw = tmp_path / "raw"
    for env in ("host", "vm"):
        (raw / env).mkdir(parents=True)
    _write_manifest(raw, {"host": None, "vm": "host"})
    shutil.copy(LAB_FILE, raw / "host" / "host.3")
    shutil.copy(LAB_FILE, raw / "vm" / "copied-by-mistake.3")
    shutil.copy(RAW / "container" / "container.0", raw / "vm" / "container.0")
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    assert len(summary.duplicates) == 1
    msg = summary.duplicates[0]
    assert "host/host.3" in msg and "vm/copied-by-mistake.3" in msg
    dup = [r for r in _read_csv(tmp_path / "out" / ingest_mod.ISSUES) if r["kind"] == "duplicate"]
    assert len(dup) == 1 and "host/host.3" in dup[0]["reason"] and dup[0]["run"] == "vm/copied-by-mistake.3"
    # both copies are ingested (documented), the duplicate is only reported
    assert summary.per_env_values["vm"] > summary.per_env_values["host"]


# --- other suites, random text, unknown lines ---------------------------------------------------------

# SYNTHETIC: hand-written in the shape of sysbench 1.0, fio 3 and iperf3 console output, for these tests only.
SYNTHETIC_SYSBENCH = """\
sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 1
Initializing random number generator from current time

Prime numbers limit: 10000

Threads started!

CPU speed:
    events per second:  1234.56

General statistics:
    total time:                          10.0004s
    total number of events:              12346

Latency (ms):
         min:                                    0.79
         avg:                                    0.81
         max:                                    2.11
         95th percentile:                        0.83
         sum:                                 9996.02

Threads fairness:
    events (avg/stddev):           12346.0000/0.00
    execution time (avg/stddev):   9.9960/0.00
"""
SYNTHETIC_FIO = """\
randread: (g=0): rw=randread, bs=(R) 4096B-4096B, (W) 4096B-4096B, (T) 4096B-4096B, ioengine=libaio, iodepth=32
fio-3.33
Starting 1 process

randread: (groupid=0, jobs=1): err= 0: pid=1234: Thu Nov 26 06:58:29 2026
  read: IOPS=51.2k, BW=200MiB/s (210MB/s)(11.7GiB/60001msec)
    slat (usec): min=2, max=157, avg= 4.21, stdev= 1.35
    clat (usec): min=58, max=5123, avg=619.77, stdev=101.43
     lat (usec): min=63, max=5127, avg=624.05, stdev=101.50
    clat percentiles (usec):
     |  1.00th=[  453],  5.00th=[  494], 10.00th=[  519], 20.00th=[  545],
   bw (  KiB/s): min=196584, max=208856, per=100.00%, avg=204876.35, stdev=2231.50, samples=119
   iops        : min=49146, max=52214, avg=51219.09, stdev=557.87, samples=119
  cpu          : usr=9.82%, sys=24.03%, ctx=1542, majf=0, minf=41

Run status group 0 (all jobs):
   READ: bw=200MiB/s (210MB/s), 200MiB/s-200MiB/s (210MB/s-210MB/s), io=11.7GiB (12.6GB), run=60001-60001msec

Disk stats (read/write):
  vda: ios=3068000/12, merge=0/3, ticks=1890000/8, in_queue=1890008, util=99.90%
"""
SYNTHETIC_IPERF3 = """\
Connecting to host 10.0.0.1, port 5201
[  5] local 10.0.0.2 port 43210 connected to 10.0.0.1 port 5201
[ ID] Interval           Transfer     Bitrate         Retr  Cwnd
[  5]   0.00-1.00   sec   112 MBytes   941 Mbits/sec    0    407 KBytes
[  5]   1.00-2.00   sec   112 MBytes   942 Mbits/sec    0    407 KBytes
- - - - - - - - - - - - - - - - - - - - - - - - -
iperf Done.
"""


@pytest.mark.parametrize("text", [SYNTHETIC_SYSBENCH, SYNTHETIC_FIO, SYNTHETIC_IPERF3],
                         ids=["synthetic-sysbench", "synthetic-fio", "synthetic-iperf3"])
def test_other_benchmark_suite_output_is_not_an_lmbench_log(text):
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(text.encode(), "other.txt")
    assert ei.value.reason.startswith("not an lmbench log")


@pytest.mark.parametrize("seed", range(5))
def test_random_prose_is_not_an_lmbench_log(seed):
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ") for _ in range(rng.randint(1, 9)))
             for _ in range(400)]
    text = "\n".join(" ".join(words[i:i + 12]) + rng.choice([".", ",", ":", "!", ""]) for i in range(0, 400, 12))
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(text.encode(), "random.txt")
    assert ei.value.reason.startswith("not an lmbench log")


def test_random_text_with_number_pairs_is_a_parse_error_naming_the_line():
    """Observed: text whose only numbers look like bare lmbench rows is rejected, naming the first such line."""
    text = "Lorem ipsum dolor sit amet\nconsectetur adipiscing\n12 34\n56 78\n"
    with pytest.raises(ParseError) as ei:
        parser.parse_bytes(text.encode(), "random.txt")
    assert ei.value.line == 3 and "no usable lmbench value" in ei.value.reason


def test_unknown_lines_are_counted_and_never_values(lab_bytes, lab_parsed):
    extra = ["Frobnicate latency: 3.2 microseconds", "Widget bandwidth: 55 MB/sec",
             '"widget series', "1 2", "3 4", ""]
    lines = lab_bytes.decode().split("\n")
    at = lines.index("Pipe bandwidth: 1484.45 MB/sec") + 1  # after it, before the blank line
    text = "\n".join(lines[:at] + [""] + extra + lines[at:])
    got = parser.parse_text(text, "host.3")
    unknown = [i for i in got.issues if i.kind == "unknown"]
    assert [i.line for i in unknown] == [at + 2, at + 3, at + 4, at + 5, at + 6]
    assert got.count("unknown") == 5
    assert {v.line for v in got.values}.isdisjoint(range(at + 1, at + len(extra) + 2))
    assert len(got.values) == len(lab_parsed.values)


def test_unknown_lines_are_counted_in_the_runs_table(tmp_path):
    raw = tmp_path / "raw"
    (raw / "host").mkdir(parents=True)
    _write_manifest(raw, {"host": None})
    text = LAB_FILE.read_text() + "Frobnicate latency: 3.2 microseconds\nWidget bandwidth: 55 MB/sec\n"
    (raw / "host" / "host.3").write_text(text)
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    assert len(summary.unknown) == 2
    run = _read_csv(tmp_path / "out" / ingest_mod.RUNS)[0]
    assert run["unknown_lines"] == "2" and run["status"] == "ok"
    tidy = tidy_rows(tmp_path / "out")
    n = len(text.split("\n")) - 1
    assert not [r for r in tidy if int(r["line"]) >= n - 1]


# =====================================================================================================
# 2. Mutation testing
# =====================================================================================================

_INSERTS = [b"\n", b"\r\n", b"\r", b" ", b"\t", b".", b"-", b"e", b"E", b"+", b":", b'"', b"[", b"]", b"0", b"9",
            b"nan", b"inf", b"1e999", b"\x00", b"\x1b[2J", b"\x1b]0;t\x07", b"\xc3\xa9", b"\xff", b"\xe2\x80\xa8",
            b"k", b"MB/sec", b" microseconds", b"stride=", b"size=0k ovr=", b"Run 3: ", b"lat_ctx -s 0 2",
            b"Benchmark Command: ", b"latency measurements"]
_NUMBER_SWAPS = [b"nan", b"inf", b"-inf", b"-1", b"0", b"0.00", b"1e999", b"1e-400", b"99999999999999999999",
                 b"1e308", b"-0", b".", b"1.2.3", b"0x10", b"1e", b""]
_LINE_OPS = ("shuffle", "swap", "duplicate", "reverse-block")


def _lines_keepends(data: bytes) -> list[bytes]:
    """Physical lines (LF-terminated; a lone CR stays inside its line), each with its ending."""
    return re.findall(rb"[^\n]*\n|[^\n]+$", data) or [data]


def mutate(data: bytes, op: str, rng: random.Random) -> bytes:
    n = len(data)
    if op == "truncate":
        return data[:rng.randrange(n + 1)]
    if op == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if b:
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if op == "insert":
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            piece = rng.choice(_INSERTS) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(3))
            i = rng.randrange(len(b) + 1)
            b[i:i] = piece
        return bytes(b)
    if op == "delete":
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            if b:
                i = rng.randrange(len(b))
                del b[i:i + rng.choice([1, 1, 2, 5, 40, 400])]
        return bytes(b)
    if op == "number":
        spans = [m.span() for m in re.finditer(rb"\d+(?:\.\d+)?", data)]
        b = data
        for _ in range(rng.randint(1, 4)):
            if spans:
                s, e = rng.choice(spans)
                b = b[:s] + rng.choice(_NUMBER_SWAPS) + b[e:]
                spans = [m.span() for m in re.finditer(rb"\d+(?:\.\d+)?", b)]
        return b
    if op == "crlf":
        p = rng.random()
        endings = [b"\n", b"\r\n", b"\r", b"\r\r\n", b"\n\r"]
        return re.sub(rb"\n", lambda m: rng.choice(endings) if rng.random() < p else b"\n", data)
    if op == "control":
        b = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes([rng.choice(list(range(0, 32)) + [127])])
        return bytes(b)
    if op == "reencode":
        text = data.decode("utf-8", "replace")
        enc = rng.choice(["utf-16", "utf-16-be-bom", "utf-16-le-nobom", "utf-8-sig", "latin-1", "cp1252", "utf-32"])
        if enc == "utf-16-be-bom":
            return ("\ufeff" + text).encode("utf-16-be")
        if enc == "utf-16-le-nobom":
            return text.encode("utf-16-le")
        return text.encode(enc, "replace")
    lines = _lines_keepends(data)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"  # keep lines whole when they move
    if op == "shuffle":
        if rng.random() < 0.3:
            rng.shuffle(lines)
        else:
            i = rng.randrange(len(lines))
            window = lines[i:i + rng.randint(2, 30)]
            rng.shuffle(window)
            lines[i:i + len(window)] = window
        return b"".join(lines)
    if op == "swap":
        for _ in range(rng.randint(1, 10)):
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if op == "duplicate":
        for _ in range(rng.randint(1, 10)):
            i = rng.randrange(len(lines))
            k = rng.randint(1, 5)
            lines[i:i] = lines[i:i + k] * rng.randint(1, 3)
        return b"".join(lines)
    if op == "reverse-block":
        i = rng.randrange(len(lines))
        j = i + rng.randint(2, 40)
        lines[i:j] = lines[i:j][::-1]
        return b"".join(lines)
    raise ValueError(op)


MUTATION_OPS = ("truncate", "flip", "insert", "delete", "number", "crlf", "control", "reencode") + _LINE_OPS


def _number_on_line(value: float, line: str) -> bool:
    """True if ``value`` is one of the numbers printed on ``line`` (times a unit conversion factor)."""
    for tok in _NUMBER.findall(line):
        try:
            f = float(tok)
        except ValueError:
            continue
        for s in _SCALES:
            if f * s == value or math.isclose(f * s, value, rel_tol=1e-12, abs_tol=0.0):
                return True
    return False


def check_properties(data: bytes, source: str, line_ops_only: bool, outcome: list | None = None) -> str | None:
    """None if ``parse_bytes(data)`` behaves; else a description of what went wrong.

    ``outcome``, if given, gets "rejected" or "parsed" appended.
    """
    try:
        got, err = _parse_or_error(data, source)
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}"
    if outcome is not None:
        outcome.append("rejected" if err is not None else "parsed")
    try:
        text, _ = parser.decode(data, source)
    except ParseError:
        text = ""
    lines = _physical_lines(text)
    if err is not None:
        if not str(err).startswith(f"{source}:{err.line}: "):
            return f"ParseError without file:line: {err}"
        if not 0 <= err.line <= max(len(lines), 0):
            return f"ParseError line {err.line} outside 0..{len(lines)}"
        return None
    if not got.values:
        return "parsed without values and without ParseError"
    for v in got.values:
        if not (isinstance(v.value, float) and math.isfinite(v.value) and v.value >= 0):
            return f"bad value {v}"
        if not 1 <= v.line <= len(lines):
            return f"line {v.line} outside 1..{len(lines)}: {v}"
        try:
            catalogue.get(v.metric)
        except KeyError:
            return f"metric unknown to the catalogue: {v}"
        if line_ops_only and not _number_on_line(v.value, lines[v.line - 1]):
            return f"value {v.value} not printed on its cited line {v.line}: {lines[v.line - 1]!r}"
    for i in got.issues:
        if not 0 <= i.line <= len(lines):
            return f"issue line {i.line} outside 0..{len(lines)}: {i}"
    return None


def _seed_files() -> list[tuple[str, bytes]]:
    seeds = [(f"lab/{p.relative_to(RAW).as_posix()}", p.read_bytes()) for p in LAB_FILES]
    for rel in CORPUS_SEEDS:
        p = CORPUS / rel
        if p.is_file():
            seeds.append((f"corpus/{rel}", p.read_bytes()))
    return seeds


SEEDED_MUTANTS = 3600


def test_seeded_mutation_over_lab_and_corpus_files(tmp_path, record_property):
    """A few thousand mutants of real files; parse_bytes only ever raises ParseError, values stay sane."""
    seeds = _seed_files()
    for name, data in seeds:  # the unmutated seeds parse (the corpus ones are all lmbench output)
        assert check_properties(data, "mutant", line_ops_only=True) is None, name
    rng = random.Random(0xC0FFEE)
    failures, tried, rejected = [], 0, 0
    t0 = time.perf_counter()
    for k in range(SEEDED_MUTANTS):
        name, data = seeds[k % len(seeds)]
        ops = [rng.choice(MUTATION_OPS) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        op_seed = rng.randrange(2**32)
        mrng = random.Random(op_seed)
        mutant = data
        for op in ops:
            mutant = mutate(mutant, op, mrng)
        tried += 1
        outcome: list = []
        problem = check_properties(mutant, "mutant", line_ops_only=all(op in _LINE_OPS for op in ops),
                                   outcome=outcome)
        rejected += outcome == ["rejected"]
        if problem:
            path = tmp_path / f"mutant-{k}.bin"
            path.write_bytes(mutant)
            failures.append(f"{name} ops={ops} op_seed={op_seed} -> {problem} (input saved to {path})")
    elapsed = time.perf_counter() - t0
    corpus_seeds = sum(1 for n, _ in seeds if n.startswith("corpus/"))
    print(f"\nseeded mutation: {tried} mutants of {len(seeds)} files ({corpus_seeds} from the corpus), "
          f"{rejected} rejected with ParseError, {len(failures)} failures, {elapsed:.1f}s")
    record_property("mutants", tried)
    assert tried >= 3000 and 0 < rejected < tried  # mutants that break files, and mutants that keep them
    assert not failures, "\n".join(failures[:10])


def test_line_shuffles_and_duplications_keep_values_on_their_cited_lines():
    """Line-level mutations only: each value is a number printed on the line it cites."""
    seeds = _seed_files()
    rng = random.Random(99)
    failures = []
    for k in range(400):
        name, data = seeds[k % len(seeds)]
        op = _LINE_OPS[k % len(_LINE_OPS)]
        mutant = mutate(data, op, random.Random(rng.randrange(2**32)))
        problem = check_properties(mutant, "mutant", line_ops_only=True)
        if problem:
            failures.append(f"{name} {op}: {problem}")
    assert not failures, "\n".join(failures[:10])


# hypothesis: the same mutator, driven by hypothesis (reproducible: derandomize=True, no database)
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_HYPOTHESIS_SEEDS = _seed_files()
HYPOTHESIS_EXAMPLES = 500


@settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(seed_index=st.integers(0, len(_HYPOTHESIS_SEEDS) - 1),
       ops=st.lists(st.tuples(st.sampled_from(MUTATION_OPS), st.integers(0, 2**32 - 1)), min_size=1, max_size=4))
def test_hypothesis_mutants_only_raise_parse_error(seed_index, ops):
    name, data = _HYPOTHESIS_SEEDS[seed_index]
    for op, op_seed in ops:
        data = mutate(data, op, random.Random(op_seed))
    problem = check_properties(data, "mutant", line_ops_only=all(op in _LINE_OPS for op, _ in ops))
    assert problem is None, f"{name} {ops}: {problem}"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(min_size=0, max_size=2000))
def test_hypothesis_arbitrary_bytes_only_raise_parse_error(data):
    assert check_properties(data, "bytes", line_ops_only=False) is None


_LMBENCH_LINE = st.one_of(
    st.builds(lambda lab, num, unit: f"{lab}: {num} {unit}",
              st.sampled_from(["Simple syscall", "Pipe bandwidth", "integer add", "Select on 10 fd's",
                               "UDP latency using localhost", "STREAM copy bandwidth", "tlb", "Frob"]),
              st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                        st.text("0123456789.-+eE", max_size=8)),
              st.sampled_from(["microseconds", "nanoseconds", "MB/sec", "KB/sec", "usecs", "milliseconds", "",
                               "pages"])),
    st.builds(lambda a, b: f"{a} {b}", st.floats().map(repr), st.floats().map(repr)),
    st.sampled_from(['"read bandwidth', '"stride=128', '"size=0k ovr=1.5', "Memory load latency", "",
                     "[lmbench3.0 results for Linux x 6.1 #1]", "[HOSTNAME: h]", '"File system latency',
                     "latency measurements", "Bandwidth measurements", "$ bw_mem 1m rd", "Benchmark Command: lat_ctx 2",
                     "Run 1: 3.5", "0k\t472\t78745\t144528"]),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_LMBENCH_LINE, min_size=1, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_hypothesis_lmbench_like_lines_only_raise_parse_error(lines, newline):
    data = newline.join(lines).encode("utf-8", "surrogatepass")
    assert check_properties(data, "lines", line_ops_only=False) is None
