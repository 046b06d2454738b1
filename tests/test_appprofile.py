"""Tests for vizlib.appprofile against output captured on the real machine.

The captured files in tests/data/strace are never edited; expected numbers
are either read back from the file with a plain ``str.split`` (independent of
the parser's column logic) or follow from tests/data/strace/workload.c.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vizlib.appprofile import (
    FOLDED_SYSCALLS,
    METRIC_IDS,
    METRIC_NOTES,
    SYSCALL_TO_METRIC,
    AppProfileError,
    map_syscalls,
    mapping_table,
    operation_counts,
    parse_strace_summary,
    parse_time_v,
    unknown_syscalls,
)

DATA = Path(__file__).parent / "data" / "strace"
DEFAULT_LAYOUT = ["workload.strace.txt", "workload.strace-w.txt", "workload.strace-stderr.txt"]
ALL_STRACE = DEFAULT_LAYOUT + ["workload.strace-U.txt"]


def read(name: str) -> str:
    return (DATA / name).read_text()


def table_lines(text: str) -> tuple[list[tuple[int, list[str]]], tuple[int, list[str]]]:
    """(lineno, tokens) of the data rows and of the total row, by plain split.

    Rows are the lines between the first two dashed separators; the total
    row is the line after the second one.
    """
    lines = text.splitlines()
    seps = [i for i, ln in enumerate(lines) if ln.startswith("------")]
    assert len(seps) == 2, seps
    rows = [(i + 1, lines[i].split()) for i in range(seps[0] + 1, seps[1])]
    return rows, (seps[1] + 2, lines[seps[1] + 1].split())


def default_calls(tokens: list[str]) -> int:
    # "% time  seconds  usecs/call  calls  [errors]  syscall": calls is the
    # 4th token whether or not the errors column is blank.
    return int(tokens[3])


# ---------------------------------------------------------------------------
# strace -c parsing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DEFAULT_LAYOUT)
def test_rows_match_file_by_plain_split(name):
    text = read(name)
    summary = parse_strace_summary(text, name)
    rows, (total_no, total_tokens) = table_lines(text)

    assert [r.lineno for r in summary.rows] == [n for n, _ in rows]
    for row, (lineno, tokens) in zip(summary.rows, rows):
        assert row.syscall == tokens[-1]
        assert row.calls == default_calls(tokens)
        assert row.errors == (int(tokens[4]) if len(tokens) == 6 else 0)
        assert row.percent_time == float(tokens[0])
        assert row.seconds == float(tokens[1])
        assert row.usecs_per_call == int(tokens[2])
        assert row.personality is None

    # The total row as strace printed it equals the sum of the printed rows.
    assert total_tokens[-1] == "total"
    printed_total = int(total_tokens[3])
    assert printed_total == sum(default_calls(t) for _, t in rows)
    assert summary.total_calls == printed_total
    assert summary.total_calls == sum(r.calls for r in summary.rows)
    assert summary.total_errors == int(total_tokens[4])
    assert summary.total_seconds == float(total_tokens[1])
    assert summary.total_rows[0].lineno == total_no


@pytest.mark.parametrize("name", ALL_STRACE)
def test_counts_follow_from_workload_source(name):
    calls = parse_strace_summary(read(name), name).calls_by_syscall()
    # Fixed loop counts in workload.c.
    assert calls["getppid"] == 100
    assert calls["fstat"] == 30          # raw SYS_fstat
    assert calls["pwrite64"] == 10
    assert calls["writev"] == 10
    assert calls["rt_sigreturn"] == 10   # 10 caught SIGUSR1
    assert calls["kill"] == 10
    assert calls["connect"] == 2
    assert calls["clone"] == 2           # pipe child + exec child
    assert calls["execve"] == 2          # the workload itself + /bin/true
    assert calls["pselect6"] == 5 and calls["poll"] == 5
    assert calls["pread64"] >= 50        # plus the dynamic loader's
    assert calls["munmap"] >= 8


@pytest.mark.parametrize("name", ALL_STRACE)
def test_errors_column(name):
    summary = parse_strace_summary(read(name), name)
    by_name = {r.syscall: r for r in summary.rows}
    assert by_name["openat"].errors == 5     # 5 opens of a nonexistent path
    assert by_name["getppid"].errors == 0    # blank column
    assert summary.total_errors == sum(r.errors for r in summary.rows)


def test_lines_before_table_are_skipped():
    text = read("workload.strace-stderr.txt")
    lines = text.splitlines()
    assert lines[0].startswith("strace: Process ")  # as captured
    summary = parse_strace_summary(text)
    first = summary.rows[0]
    assert lines[first.lineno - 1].split()[-1] == first.syscall
    assert first.lineno > 3


def test_u_layout_matches_plain_split():
    text = read("workload.strace-U.txt")
    summary = parse_strace_summary(text)
    rows, (_, total_tokens) = table_lines(text)
    assert text.splitlines()[0].split()[0] == "syscall"
    for row, (_, tokens) in zip(summary.rows, rows):
        # name calls [errors] shortest longest usecs/call seconds %time
        assert row.syscall == tokens[0]
        assert row.calls == int(tokens[1])
        assert row.percent_time == float(tokens[-1])
        assert row.seconds == float(tokens[-2])
        assert row.max_seconds == float(tokens[-4])
        assert row.errors == (int(tokens[2]) if len(tokens) == 8 else 0)
    assert summary.total_calls == int(total_tokens[1]) == sum(r.calls for r in summary.rows)


def test_crlf_gives_same_result():
    text = read("workload.strace.txt")
    plain = parse_strace_summary(text)
    crlf = parse_strace_summary(text.replace("\n", "\r\n"))
    assert crlf.rows == plain.rows
    assert crlf.total_rows == plain.total_rows


def test_second_personality_table():
    table = read("workload.strace.txt")
    text = table + "System call usage summary for 32 bit mode:\n" + table
    summary = parse_strace_summary(text)
    single = parse_strace_summary(table)
    assert len(summary.rows) == 2 * len(single.rows)
    assert summary.total_calls == 2 * single.total_calls
    assert {r.personality for r in summary.rows} == {None, "32 bit"}
    assert summary.calls_by_syscall()["getppid"] == 200


def test_old_strace_total_without_usecs_and_stripped_paste():
    # strace 4.x left usecs/call blank in the total row; a paste may also
    # have lost the rows' leading blanks.
    text = (
        "% time     seconds  usecs/call     calls    errors syscall\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        "66.75    0.003708           0      3922           read\n"
        " 33.25    0.001847           0      2685         9 write\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        "100.00    0.005555                  6607         9 total\n"
    )
    summary = parse_strace_summary(text)
    assert [(r.syscall, r.calls, r.errors) for r in summary.rows] == [("read", 3922, 0), ("write", 2685, 9)]
    assert summary.total_rows[0].usecs_per_call is None
    assert summary.total_calls == 6607 and summary.total_errors == 9


# ---------------------------------------------------------------------------
# strace -c errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "hello world\nthis is not strace output\n"])
def test_no_table(text):
    with pytest.raises(AppProfileError, match=r"^paste\.txt:\d+: no strace -c summary table"):
        parse_strace_summary(text, "paste.txt")


def test_truncated_row_names_its_line():
    text = read("workload.strace.txt")
    lines = text.splitlines(keepends=True)
    rows, _ = table_lines(text)
    lineno = rows[4][0]
    lines[lineno - 1] = lines[lineno - 1][:18] + "\n"   # keeps "% time" and "seconds"
    with pytest.raises(AppProfileError) as exc:
        parse_strace_summary("".join(lines), "cut.txt")
    assert exc.value.line == lineno
    assert str(exc.value).startswith(f"cut.txt:{lineno}: malformed strace -c row")


def test_non_numeric_calls_names_its_line():
    text = read("workload.strace.txt")
    lines = text.splitlines()
    rows, _ = table_lines(text)
    lineno, tokens = rows[2]
    calls = f" {tokens[3]} "
    assert lines[lineno - 1].count(calls) == 1
    lines[lineno - 1] = lines[lineno - 1].replace(calls, " " + "x" * len(tokens[3]) + " ")
    with pytest.raises(AppProfileError, match=rf":{lineno}: malformed strace -c row: bad calls"):
        parse_strace_summary("\n".join(lines))


def test_table_cut_before_total():
    text = read("workload.strace.txt")
    lines = text.splitlines()
    cut = "\n".join(lines[:10])
    with pytest.raises(AppProfileError, match=r":10: table starting at line 1 ends without"):
        parse_strace_summary(cut)
    no_total = "\n".join(lines[:-1])
    with pytest.raises(AppProfileError, match=rf":{len(lines)}: expected the 'total' row"):
        parse_strace_summary(no_total)


def test_missing_row_detected_by_total():
    text = read("workload.strace.txt")
    lines = text.splitlines()
    rows, (total_no, _) = table_lines(text)
    del lines[rows[3][0] - 1]
    with pytest.raises(AppProfileError, match=rf":{total_no - 1}: .*rows add up to"):
        parse_strace_summary("\n".join(lines))


def test_blank_line_inside_table():
    lines = read("workload.strace.txt").splitlines()
    lines.insert(5, "")
    with pytest.raises(AppProfileError, match=r":6: blank line inside"):
        parse_strace_summary("\n".join(lines))


def test_two_reports_without_personality_line():
    table = read("workload.strace.txt")
    n = len(table.splitlines())
    with pytest.raises(AppProfileError, match=rf":{n + 1}: a second summary table"):
        parse_strace_summary(table + table)


# ---------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------

EXPECTED_MAPPING = {
    "getppid": "syscall_null",
    "getpid": "syscall_null",
    "getuid": "syscall_null",
    "read": "syscall_read",
    "pread64": "syscall_read",
    "readv": "syscall_read",
    "write": "syscall_write",
    "pwrite64": "syscall_write",
    "writev": "syscall_write",
    "stat": "syscall_stat",
    "lstat": "syscall_stat",
    "newfstatat": "syscall_stat",
    "statx": "syscall_stat",
    "fstat": "syscall_fstat",
    "open": "syscall_open_close",
    "openat": "syscall_open_close",
    "close": "syscall_open_close",
    "select": "select_100_fd",
    "pselect6": "select_100_fd",
    "poll": "select_100_fd",
    "ppoll": "select_100_fd",
    "epoll_wait": "select_100_fd",
    "rt_sigaction": "signal_install",
    "sigaction": "signal_install",
    "rt_sigreturn": "signal_catch",
    "fork": "proc_fork",
    "vfork": "proc_fork",
    "clone": "proc_fork",
    "clone3": "proc_fork",
    "execve": "proc_exec",
    "execveat": "proc_exec",
    "connect": "tcp_connect",
    "mmap": "mmap_latency",
    "munmap": "mmap_latency",
}


def test_documented_mapping():
    for name, metric in EXPECTED_MAPPING.items():
        assert SYSCALL_TO_METRIC[name] == metric, name
    assert set(SYSCALL_TO_METRIC.values()) <= set(METRIC_IDS)
    assert set(METRIC_NOTES) == set(METRIC_IDS)
    # Metrics fed from strace: all except those from time -v and pipe_latency.
    assert set(SYSCALL_TO_METRIC.values()) == set(METRIC_IDS) - {"pagefault", "ctx_switch", "pipe_latency"}
    for name in ("pipe", "pipe2", "clock_gettime", "futex", "brk"):
        assert name not in SYSCALL_TO_METRIC
    assert FOLDED_SYSCALLS <= set(SYSCALL_TO_METRIC)


def test_mapping_table_is_complete_data():
    table = mapping_table()
    assert {(s, m) for s, m, _ in table} == set(SYSCALL_TO_METRIC.items())
    assert all(note for _, _, note in table)
    order = [METRIC_IDS.index(m) for _, m, _ in table]
    assert order == sorted(order)


def test_invented_syscall_is_unknown():
    text = (
        "% time     seconds  usecs/call     calls    errors syscall\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        " 60.00    0.000060           2        30           frobnicate_vizlib\n"
        " 30.00    0.000030           1        20           read\n"
        " 10.00    0.000010           1        10           close\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        "100.00    0.000100           1        60           total\n"
    )
    summary = parse_strace_summary(text)
    mapped, unknown = map_syscalls(summary)
    assert unknown == ["frobnicate_vizlib"]
    assert unknown_syscalls(summary) == unknown
    assert [(r.syscall, r.metric, r.operations, r.folded) for r in mapped] == [
        ("read", "syscall_read", 20, False),
        ("close", "syscall_open_close", 0, True),
    ]
    assert operation_counts(summary) == {"syscall_read": 20, "syscall_open_close": 0}


def test_unknowns_of_captured_workload():
    summary = parse_strace_summary(read("workload.strace.txt"))
    unknown = unknown_syscalls(summary)
    calls = summary.calls_by_syscall()
    assert set(unknown) == {n for n in calls if n not in SYSCALL_TO_METRIC}
    assert {"kill", "pipe2", "socket", "bind", "listen", "accept", "brk", "mprotect"} <= set(unknown)
    assert [calls[n] for n in unknown] == sorted((calls[n] for n in unknown), reverse=True)


def test_operation_counts_of_captured_workload():
    text = read("workload.strace.txt")
    rows, _ = table_lines(text)
    printed = {t[-1]: default_calls(t) for _, t in rows}
    tv_text = read("workload.time-v.txt")
    printed_tv = {k.strip(): v.strip() for k, _, v in (ln.rpartition(": ") for ln in tv_text.splitlines())}

    summary = parse_strace_summary(text)
    time_v = parse_time_v(tv_text)
    counts = operation_counts(summary, time_v)

    def plain(*names):
        return sum(printed.get(n, 0) for n in names)

    assert counts["syscall_null"] == plain("getppid", "getpid", "set_tid_address", "set_robust_list")
    assert counts["syscall_read"] == plain("read", "pread64")
    assert counts["syscall_write"] == plain("write", "pwrite64", "writev")
    assert counts["syscall_stat"] == plain("newfstatat", "access")
    assert counts["syscall_fstat"] == plain("fstat") == 30
    assert counts["syscall_open_close"] == plain("openat")          # close folded in
    assert counts["select_100_fd"] == plain("pselect6", "poll") == 10
    assert counts["signal_install"] == plain("rt_sigaction")
    assert counts["signal_catch"] == plain("rt_sigreturn") == 10
    assert counts["tcp_connect"] == plain("connect") == 2
    assert counts["mmap_latency"] == plain("mmap")                 # munmap folded in
    # 2 clones, 2 execves; the first execve is the traced command itself, so
    # one clone is inside proc_exec's fork+exec.
    assert counts["proc_exec"] == plain("execve") == 2
    assert counts["proc_fork"] == plain("clone") - (plain("execve") - 1) == 1
    assert operation_counts(summary, exec_includes_fork=False)["proc_fork"] == plain("clone")
    assert counts["pagefault"] == (
        int(printed_tv["Minor (reclaiming a frame) page faults"])
        + int(printed_tv["Major (requiring I/O) page faults"])
    )
    assert counts["ctx_switch"] == (
        int(printed_tv["Voluntary context switches"]) + int(printed_tv["Involuntary context switches"])
    )
    assert "pipe_latency" not in counts
    assert list(counts) == [m for m in METRIC_IDS if m in counts]
    assert "pagefault" not in operation_counts(summary)


# ---------------------------------------------------------------------------
# GNU time -v
# ---------------------------------------------------------------------------


def test_time_v_captured_matches_plain_split():
    text = read("workload.time-v.txt")
    printed = {k.strip(): v.strip() for k, _, v in (ln.rpartition(": ") for ln in text.splitlines())}
    tv = parse_time_v(text, "workload.time-v.txt")
    assert tv.user_seconds == float(printed["User time (seconds)"])
    assert tv.system_seconds == float(printed["System time (seconds)"])
    assert tv.major_faults == int(printed["Major (requiring I/O) page faults"])
    assert tv.minor_faults == int(printed["Minor (reclaiming a frame) page faults"])
    assert tv.voluntary_ctx_switches == int(printed["Voluntary context switches"])
    assert tv.involuntary_ctx_switches == int(printed["Involuntary context switches"])
    assert tv.max_rss_kb == int(printed["Maximum resident set size (kbytes)"])
    assert tv.exit_status == 0
    assert tv.command == "/tmp/vizlib-workload"
    assert tv.minor_faults > 0
    assert tv.page_faults == tv.minor_faults + tv.major_faults
    assert tv.context_switches == tv.voluntary_ctx_switches + tv.involuntary_ctx_switches


def test_time_v_with_program_output_crlf_and_elapsed_formats():
    text = read("workload.time-v.txt")
    base = parse_time_v(text)
    mixed = "workload done: 10 signals caught\r\n" + text.replace("\n", "\r\n")
    assert parse_time_v(mixed).minor_faults == base.minor_faults
    elapsed_label = "Elapsed (wall clock) time (h:mm:ss or m:ss): "
    old = next(ln for ln in text.splitlines() if elapsed_label in ln)
    for shown, seconds in [("0:01.50", 1.5), ("2:03.25", 123.25), ("1:02:03", 3723.0)]:
        assert parse_time_v(text.replace(old, "\t" + elapsed_label + shown)).elapsed_seconds == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "random words\nmore: words\n"])
def test_time_v_not_found(text):
    with pytest.raises(AppProfileError, match=r"^tv:\d+: no GNU time -v output"):
        parse_time_v(text, "tv")


def test_time_v_truncated():
    lines = read("workload.time-v.txt").splitlines()
    cut = lines[:12]   # stops after the "Major (requiring I/O) page faults" line
    assert "Major" in cut[-1]
    with pytest.raises(AppProfileError, match=r":12: incomplete GNU time -v output .*Minor"):
        parse_time_v("\n".join(cut))


def test_time_v_bad_value_and_duplicate():
    lines = read("workload.time-v.txt").splitlines()
    n = next(i for i, ln in enumerate(lines) if "Minor (reclaiming" in ln)
    bad = list(lines)
    bad[n] = "\tMinor (reclaiming a frame) page faults: lots"
    with pytest.raises(AppProfileError, match=rf":{n + 1}: bad value 'lots'"):
        parse_time_v("\n".join(bad))
    with pytest.raises(AppProfileError, match=rf":{len(lines) + 1}: 'Command being timed' appears twice"):
        parse_time_v("\n".join(lines + lines))


def test_metric_ids_exist_in_catalogue():
    catalogue = pytest.importorskip("vizlib.catalogue")
    for metric_id in METRIC_IDS:
        assert catalogue.get(metric_id).id == metric_id
