"""vizlib.ingest on temporary copies of data/raw-lmbench-lab: the three CSV tables, rejection of bad files,
determinism (reruns, serial vs parallel), raw files left untouched, duplicate detection."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

import vizlib.ingest as ingest_mod
from vizlib import catalogue
from vizlib.ingest import ingest
from vizlib.manifest import ManifestError

from conftest import BAD, LAB_RAW as RAW, ingest_outputs, tidy_rows

# The documented columns (ingest.py module docstring and constants), written out here on purpose.
TIDY_COLUMNS = ["environment", "run", "line", "metric", "param", "value", "unit", "category", "direction",
                "low_precision", "note"]
RUNS_COLUMNS = ["environment", "run", "status", "format", "sha256", "bytes", "values", "noise_lines",
                "unknown_lines", "invalid_lines", "uname", "kernel_release", "os", "mhz", "hostname",
                "lmbench_version", "date", "mb", "processors"]
ISSUE_COLUMNS = ["environment", "run", "line", "kind", "reason", "text"]
LAB_RUNS = ["host/host.3", "host/host.4", "container/container.0", "container/container.1",
            "tcg/tcg.1", "tcg/tcg.2", "uml/uml.0", "uml/uml.2"]  # manifest order, files sorted


@pytest.fixture
def raw(tmp_path) -> Path:
    dst = tmp_path / "raw"
    shutil.copytree(RAW, dst)
    return dst


def _read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _hashes(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_columns(raw, tmp_path):
    out = tmp_path / "out"
    ingest(raw, out, jobs=1)
    tidy_files = sorted(p.name for p in (out / "lmbench_tidy").iterdir())
    assert tidy_files == ["container.csv", "host.csv", "tcg.csv", "uml.csv"]  # one per environment
    for name in tidy_files:
        assert _header(out / "lmbench_tidy" / name) == TIDY_COLUMNS
        rows = _read(out / "lmbench_tidy" / name)
        assert rows and {r["environment"] for r in rows} == {name.removesuffix(".csv")}
    assert _header(out / "lmbench_runs.csv") == RUNS_COLUMNS
    assert _header(out / "ingest_issues.csv") == ISSUE_COLUMNS
    assert list(ingest_mod.TIDY_COLUMNS) == TIDY_COLUMNS
    assert list(ingest_mod.RUNS_COLUMNS) == RUNS_COLUMNS
    assert list(ingest_mod.ISSUE_COLUMNS) == ISSUE_COLUMNS


def test_runs_table(raw, tmp_path):
    out = tmp_path / "out"
    summary = ingest(raw, out, jobs=1)
    runs = _read(out / "lmbench_runs.csv")
    assert [r["run"] for r in runs] == LAB_RUNS  # path relative to the raw folder, '/' separators
    tidy = tidy_rows(out)
    for r in runs:
        path = raw / r["run"]
        data = path.read_bytes()
        assert r["environment"] == r["run"].split("/")[0]
        assert r["status"] == "ok"
        assert r["format"] == "lmbench3-results"
        assert r["sha256"] == hashlib.sha256(data).hexdigest()
        assert int(r["bytes"]) == len(data)
        assert int(r["values"]) == sum(1 for t in tidy if t["run"] == r["run"])
        assert r["unknown_lines"] == "0" and r["invalid_lines"] == "0"
    host3 = next(r for r in runs if r["run"] == "host/host.3")
    assert host3["kernel_release"] == "6.18.44-fc-v669"
    assert host3["hostname"] == "vm"
    assert host3["date"] == "Thu Nov 26 06:58:29 UTC 2026"
    assert host3["values"] == "390"
    assert summary.files == 8 and summary.values == len(tidy)


def test_tidy_rows(raw, tmp_path):
    out = tmp_path / "out"
    ingest(raw, out, jobs=1)
    tidy = tidy_rows(out)
    for row in tidy:
        m = catalogue.get(row["metric"])
        assert (row["unit"], row["category"], row["direction"]) == (m.unit, m.category, m.direction)
        assert row["low_precision"] in ("true", "false")
        int(row["line"])
        float(row["value"])
    # data/raw-lmbench-lab/host/host.3 line 83: "Simple syscall: 0.1659 microseconds"
    (row,) = [t for t in tidy if t["run"] == "host/host.3" and t["line"] == "83"]
    assert (row["environment"], row["metric"], row["param"], float(row["value"]), row["unit"]) == (
        "host", "syscall_null", "", 0.1659, "us")
    # data/raw-lmbench-lab/uml/uml.0 line 436: "2 40.18" in the "size=0k block
    (row,) = [t for t in tidy if t["run"] == "uml/uml.0" and t["line"] == "436"]
    assert (row["metric"], row["param"], float(row["value"])) == ("ctx_switch", "2p/0K", 40.18)
    # data/raw-lmbench-lab/tcg/tcg.1 line 133: "0k\t44\t8486\t9241" gives two rows
    rows = {t["metric"]: float(t["value"]) for t in tidy if t["run"] == "tcg/tcg.1" and t["line"] == "133"}
    assert rows == {"fs_create": 8486.0, "fs_delete": 9241.0}


def test_shipped_data_ingests_clean(tmp_path):
    # The real data/raw-lmbench-lab, read in place (ingest opens raw files read-only); output to tmp.
    before = _hashes(RAW)
    summary = ingest(RAW, tmp_path / "out", jobs=1)
    assert summary.rejected == []
    assert summary.unknown == []
    assert summary.invalid == []
    assert summary.exit_code == 0
    assert summary.files == 8
    issues = _read(tmp_path / "out" / "ingest_issues.csv")
    assert {i["kind"] for i in issues} <= {"noise"}
    assert _hashes(RAW) == before


@pytest.mark.parametrize("bad_name, env, message", [
    ("binary.bin", "host", "binary"),
    ("empty.txt", "tcg", "empty file"),
    ("not_lmbench.txt", "uml", "not an lmbench log"),
])
def test_bad_file_rejected_others_ingest(raw, tmp_path, bad_name, env, message):
    shutil.copy(BAD / bad_name, raw / env / bad_name)
    out = tmp_path / "out"
    summary = ingest(raw, out, jobs=1)
    run = f"{env}/{bad_name}"
    assert summary.exit_code == 1
    assert len(summary.rejected) == 1 and summary.rejected[0].startswith(run)
    runs = {r["run"]: r for r in _read(out / "lmbench_runs.csv")}
    assert runs[run]["status"] == "rejected"
    assert runs[run]["values"] == "0"
    assert runs[run]["sha256"] == hashlib.sha256((BAD / bad_name).read_bytes()).hexdigest()
    assert all(runs[r]["status"] == "ok" for r in LAB_RUNS)
    rejected = [i for i in _read(out / "ingest_issues.csv") if i["kind"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["run"] == run and message in rejected[0]["reason"]
    tidy_runs = {t["run"] for t in tidy_rows(out)}
    assert tidy_runs == set(LAB_RUNS)


def test_invalid_value_is_listed_and_exit_code_1(raw, tmp_path):
    shutil.copy(BAD / "invalid_values.txt", raw / "host" / "invalid_values.txt")
    out = tmp_path / "out"
    summary = ingest(raw, out, jobs=1)
    assert summary.exit_code == 1
    invalid = [i for i in _read(out / "ingest_issues.csv") if i["kind"] == "invalid"]
    assert {(i["run"], i["line"]) for i in invalid} == {("host/invalid_values.txt", str(n)) for n in (2, 3, 4, 6, 10, 11, 16)}


def test_rerun_is_byte_identical(raw, tmp_path):
    out = tmp_path / "out"
    ingest(raw, out, jobs=1)
    first = ingest_outputs(out)
    ingest(raw, out, jobs=1)
    assert ingest_outputs(out) == first
    # no temporary files left behind; beside the tables, the ingest cache (tests/test_ingest_cache.py)
    left = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert sorted(left) == sorted([*first, ingest_mod.CACHE])


def test_serial_and_parallel_identical(raw, tmp_path, monkeypatch):
    shutil.copy(BAD / "binary.bin", raw / "uml" / "binary.bin")  # a rejected file keeps its place too
    ingest(raw, tmp_path / "serial", jobs=1)
    started = []

    def counting_pool(jobs, make=ingest_mod._process_pool):
        started.append(jobs)
        return make(jobs)

    monkeypatch.setattr(ingest_mod, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(ingest_mod, "_process_pool", counting_pool)
    ingest(raw, tmp_path / "parallel", jobs=2)
    assert started == [2], "the parallel path was not taken"
    assert ingest_outputs(tmp_path / "parallel") == ingest_outputs(tmp_path / "serial")
    monkeypatch.setattr(ingest_mod, "BATCH_MIN", 1)  # a part file per file: rows come from many sources
    ingest(raw, tmp_path / "parallel-small-batches", jobs=2)
    assert ingest_outputs(tmp_path / "parallel-small-batches") == ingest_outputs(tmp_path / "serial")


@pytest.mark.parametrize("n, jobs", [(1, 2), (15, 2), (300, 2), (6320, 2), (6320, 8), (100_000, 2)])
def test_batches_keep_file_order_and_shrink_towards_the_end(n, jobs):
    files = list(range(n))
    batches = ingest_mod._batches(files, jobs)
    assert [f for b in batches for f in b] == files
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True), "a later batch is larger than an earlier one"
    assert max(sizes) <= ingest_mod.BATCH_MAX
    assert all(s >= ingest_mod.BATCH_MIN for s in sizes[:-1])
    # the workers' last batches are the smallest, so none ends long after the others
    assert all(s <= ingest_mod.BATCH_MIN for s in sizes[-jobs:])


def test_a_failed_background_writeback_fails_the_ingest_and_publishes_nothing(raw, tmp_path, monkeypatch):
    """A write error that the background fdatasync meets is reported once by the kernel: it must not
    be lost, or the tables would be published with bytes the disk never took."""
    out = tmp_path / "out"
    monkeypatch.setattr(ingest_mod._Table, "SYNC_EVERY", 1)
    calls = []

    def failing_fdatasync(fd):
        calls.append(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ingest_mod.os, "fdatasync", failing_fdatasync)
    with pytest.raises(OSError, match="Input/output error"):
        ingest(raw, out, jobs=1)
    assert calls, "the background writeback never ran"
    assert [p.name for p in out.iterdir()] == []


def test_a_failed_ingest_leaves_no_writeback_running(raw, tmp_path, monkeypatch):
    """The background fdatasync of a table is waited for before the table's file is closed, also
    when the ingest fails half-way (its descriptor number could otherwise be reused meanwhile)."""
    import threading
    import time as time_mod

    monkeypatch.setattr(ingest_mod._Table, "SYNC_EVERY", 1)
    monkeypatch.setattr(ingest_mod._Table, "SMALL", 0)  # every file's rows written (and synced) at once
    real = ingest_mod.os.fdatasync
    started = []
    monkeypatch.setattr(ingest_mod.os, "dup", lambda fd, real_dup=ingest_mod.os.dup: started.append(fd) or real_dup(fd))
    monkeypatch.setattr(ingest_mod.os, "fdatasync", lambda fd: (time_mod.sleep(0.2), real(fd)))
    before = threading.active_count()

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(raw, tmp_path / "out", jobs=1, progress=stop)
    assert started, "no background writeback started"
    assert threading.active_count() == before, "a writeback thread outlived the failed ingest"
    assert not list((tmp_path / "out").iterdir())


def test_a_short_part_file_is_an_error_not_a_stale_cache(tmp_path):
    path = tmp_path / "part"
    path.write_bytes(b"12345")
    with open(tmp_path / "dst", "wb") as dst:
        part, previous = ingest_mod._FileSource(path), ingest_mod._FileSource(path, previous=True)
        with pytest.raises(OSError, match="ended 5 bytes before"):
            part.copy_to(dst.fileno(), 5, 10)
        with pytest.raises(ingest_mod.ingest_cache.CacheMismatch):
            previous.copy_to(dst.fileno(), 5, 10)
        part.close()
        previous.close()


def test_raw_files_unchanged(raw, tmp_path):
    shutil.copy(BAD / "latin1.txt", raw / "host" / "latin1.txt")
    before = _hashes(raw)
    ingest(raw, tmp_path / "out", jobs=1)
    assert _hashes(raw) == before


def test_identical_files_in_two_environments_reported_as_duplicate(raw, tmp_path):
    shutil.copy(raw / "host" / "host.3", raw / "container" / "copy-of-host.3")
    out = tmp_path / "out"
    summary = ingest(raw, out, jobs=1)
    assert len(summary.duplicates) == 1
    assert "container/copy-of-host.3" in summary.duplicates[0] and "host/host.3" in summary.duplicates[0]
    dup = [i for i in _read(out / "ingest_issues.csv") if i["kind"] == "duplicate"]
    assert [(i["environment"], i["run"]) for i in dup] == [("container", "container/copy-of-host.3")]
    runs = {r["run"]: r for r in _read(out / "lmbench_runs.csv")}
    assert runs["container/copy-of-host.3"]["status"] == "ok"  # both are ingested, the duplicate is only reported


def test_nested_run_path(raw, tmp_path):
    (raw / "host" / "day2").mkdir()
    shutil.copy(raw / "host" / "host.4", raw / "host" / "day2" / "host.4")
    out = tmp_path / "out"
    ingest(raw, out, jobs=1)
    assert "host/day2/host.4" in [r["run"] for r in _read(out / "lmbench_runs.csv")]


def test_bad_manifest_writes_nothing(raw, tmp_path):
    (raw / "environments.toml").write_text('[environments.host]\nkind = "physical"\ntechnology = "warp-drive"\n')
    out = tmp_path / "out"
    with pytest.raises(ManifestError):
        ingest(raw, out, jobs=1)
    assert not out.exists()


def test_tidy_csv_fast_path_matches_csv_writer():
    """The hand-joined tidy rows must be byte-identical to csv.writer, quoting included."""
    import csv
    import io

    from vizlib import catalogue
    from vizlib.ingest import tidy_csv
    from vizlib.parser import Value

    values = [Value(3, "syscall_null", "", 0.1659, False, ""),
              Value(4, "mmap_latency", "67.108864", 581.0, False, ""),
              Value(5, "tcp_latency", 'odd,"host"', 20.1, True, ""),
              Value(6, "http_bw", "", 0.25, False, "converted from KB/sec, (lmbench KB)")]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for v in values:
        m = catalogue.get(v.metric)
        writer.writerow(['env,"x"', "run 1", v.line, v.metric, v.param, repr(v.value), m.unit, m.category,
                         m.direction, "true" if v.low_precision else "false", v.note])
    assert tidy_csv('env,"x"', "run 1", values) == buf.getvalue()


def test_ingest_records_the_manifest_it_used(raw, tmp_path):
    import json

    out = tmp_path / "out"
    ingest(raw, out, jobs=1)
    assert (out / "environments.toml").read_bytes() == (raw / "environments.toml").read_bytes()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["manifest_sha256"] == hashlib.sha256((raw / "environments.toml").read_bytes()).hexdigest()
    assert Path(prov["raw_dir"]).resolve() == raw.resolve() and prov["files"] == len(LAB_RUNS)


LMBENCH_TREE = """[environments.box1]
kind = "physical"
technology = "physical"
runs = ["results/x86_64-linux-gnu/box1.*"]

[environments.box2]
kind = "virtual"
technology = "kvm"
baseline = "box1"
runs = ["results/x86_64-linux-gnu/box2.*"]
"""


def test_runs_patterns_read_an_untouched_lmbench_tree_like_folders(raw, tmp_path):
    """lmbench's own results/<os>/<host>.<n> layout gives the same values as the files copied into folders."""
    tree = tmp_path / "tree"
    results = tree / "results" / "x86_64-linux-gnu"
    results.mkdir(parents=True)
    for i, run in enumerate(("host.3", "host.4")):
        shutil.copy(RAW / "host" / run, results / f"box1.{i}")
    for i, run in enumerate(("tcg.1", "tcg.2")):
        shutil.copy(RAW / "tcg" / run, results / f"box2.{i}")
    (tree / "environments.toml").write_text(LMBENCH_TREE)
    folders = tmp_path / "folders"
    for env, src in (("box1", ("host.3", "host.4")), ("box2", ("tcg.1", "tcg.2"))):
        (folders / env).mkdir(parents=True)
        for i, run in enumerate(src):
            shutil.copy(RAW / env.replace("box1", "host").replace("box2", "tcg") / run, folders / env / f"{env}.{i}")
    (folders / "environments.toml").write_text(LMBENCH_TREE.replace('runs = ["results/x86_64-linux-gnu/box1.*"]\n', "")
                                               .replace('runs = ["results/x86_64-linux-gnu/box2.*"]\n', ""))
    a, b = tmp_path / "a", tmp_path / "b"
    ingest(tree, a, jobs=1)
    ingest(folders, b, jobs=1)
    ta, tb = tidy_rows(a), tidy_rows(b)
    assert len(ta) == len(tb) > 1000
    strip = lambda rows: [{k: v for k, v in r.items() if k != "run"} for r in rows]  # noqa: E731
    assert strip(ta) == strip(tb)  # same values, lines, metrics; only the run path differs
    assert {r["run"] for r in ta} == {f"results/x86_64-linux-gnu/box{e}.{i}" for e in (1, 2) for i in (0, 1)}


@pytest.mark.parametrize("runs, message", [
    ('["results/nothing.*"]', "matches no file"),
    ('["../escape/*"]', "stay inside"),
    ('["/etc/*"]', "stay inside"),
    ('"results/*"', None),  # a single string is accepted as one pattern
])
def test_runs_patterns_are_checked(tmp_path, runs, message):
    from vizlib.errors import ManifestError

    tree = tmp_path / "tree"
    (tree / "results").mkdir(parents=True)
    shutil.copy(RAW / "host" / "host.3", tree / "results" / "h.0")
    (tree / "environments.toml").write_text(f'[environments.h]\nkind = "physical"\ntechnology = "physical"\nruns = {runs}\n')
    if message is None:
        assert ingest(tree, tmp_path / "out", jobs=1).files == 1
    else:
        with pytest.raises(ManifestError, match=message):
            ingest(tree, tmp_path / "out", jobs=1)


def test_a_file_in_two_environments_is_an_error(tmp_path):
    from vizlib.errors import ManifestError

    tree = tmp_path / "tree"
    (tree / "results").mkdir(parents=True)
    shutil.copy(RAW / "host" / "host.3", tree / "results" / "h.0")
    (tree / "environments.toml").write_text(
        '[environments.a]\nkind = "physical"\ntechnology = "physical"\nruns = ["results/*"]\n'
        '[environments.b]\nkind = "virtual"\ntechnology = "kvm"\nbaseline = "a"\nruns = ["results/h.*"]\n')
    with pytest.raises(ManifestError, match="belongs to both 'a' and 'b'"):
        ingest(tree, tmp_path / "out", jobs=1)
