"""Incremental re-ingest (``vizlib.ingest_cache``): a second ingest into the same processed folder
parses only new or changed files, and its tables are byte for byte those of a full ingest of the
same raw folder into a fresh folder, whatever changed in between (files added, changed, removed,
renamed, environments renamed, ``runs`` patterns changed, duplicates) and whatever happened to the
cache or the previous tables (corrupt, truncated, edited, removed, written by another parser, an
interrupted ingest).

The reference is always a fresh full ingest made in the test, never a stored output; every test
also checks that the incremental path was really taken (how many files were parsed), so a cache
that is never used fails here too.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import vizlib.ingest as ingest_mod
from vizlib import ingest_cache
from vizlib.ingest import ingest

from conftest import BAD, INGEST_TABLES, RAW, ingest_outputs

ROOT = Path(__file__).resolve().parents[1]
CACHE = ingest_cache.CACHE
HOUR = 3600


def _age(folder: Path, seconds: float = HOUR) -> None:
    """Files of ``folder`` last modified ``seconds`` ago: old enough for their stat to vouch for them."""
    t = time.time() - seconds
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.utime(p, (t, t))


@pytest.fixture
def raw(tmp_path) -> Path:
    """data/raw plus files that give every issue kind (rejected, invalid, unknown, noise, decode)."""
    dst = tmp_path / "raw"
    shutil.copytree(RAW, dst)
    for name, env in (("invalid_values.txt", "host"), ("latin1.txt", "tcg"), ("unknown_label.txt", "uml"),
                      ("not_lmbench.txt", "tcg"), ("empty.txt", "container"), ("utf16_bom.txt", "container")):
        shutil.copy(BAD / name, dst / env / name)
    _age(dst)
    return dst


def _summary(s) -> dict:
    """What an ingest reports, except where it wrote and how (parsed, reused, why not incremental)."""
    skip = {"out_dir", "parsed", "reused", "full_reason"}
    return {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name not in skip}


_FULL_COUNTER = [0]


def _full(raw: Path, tmp_path: Path):
    """A full ingest of ``raw`` into a fresh folder: (tables, summary)."""
    _FULL_COUNTER[0] += 1
    fresh = tmp_path / f"fresh-{_FULL_COUNTER[0]}"
    assert not fresh.exists()
    s = ingest(raw, fresh, jobs=1)
    assert s.reused == 0 and s.parsed == s.files
    return ingest_outputs(fresh), s


def _check(raw: Path, out: Path, tmp_path: Path, parsed: int | None = None, **kw):
    """Ingest ``raw`` into ``out`` again; assert it equals a fresh full ingest (and parsed ``parsed`` files)."""
    inc = ingest(raw, out, jobs=kw.pop("jobs", 1), **kw)
    tables, ref = _full(raw, tmp_path)
    got = ingest_outputs(out)
    assert got.keys() == tables.keys()
    for name in tables:
        assert got[name] == tables[name], f"{name} of the incremental ingest differs from a full ingest"
    assert _summary(inc) == _summary(ref)
    assert inc.parsed + inc.reused == inc.files
    if parsed is not None:
        assert (inc.parsed, inc.full_reason) == (parsed, ""), f"parsed {inc.parsed} files ({inc.full_reason})"
    return inc


def _first(raw: Path, out: Path):
    s = ingest(raw, out, jobs=1)
    assert s.parsed == s.files and s.reused == 0
    assert (out / CACHE).is_file()
    return s


def _unique_copy(src: Path, dst: Path, tag: str) -> None:
    dst.write_bytes(src.read_bytes() + f"[copy {tag}]\n".encode())


# --- the incremental path is taken, and gives a full ingest's bytes ------------------------------------


def test_unchanged_folder_parses_and_reads_no_raw_file(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = _first(raw, out)
    before = ingest_outputs(out)
    opened = []
    real_open = builtins.open

    def spy(file, *a, **k):
        if isinstance(file, (str, os.PathLike)) and str(raw) in os.fspath(file) and "environments.toml" not in os.fspath(file):
            opened.append(os.fspath(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    again = ingest(raw, out, jobs=1)
    monkeypatch.undo()
    assert (again.parsed, again.reused, again.full_reason) == (0, first.files, "")
    assert opened == [], "an unchanged file old enough for its stat to vouch for it was read again"
    assert ingest_outputs(out) == before
    _check(raw, out, tmp_path, parsed=0)


def test_adding_a_run_parses_only_that_file(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    _unique_copy(raw / "host" / "host.3", raw / "host" / "host.5", "5")
    inc = _check(raw, out, tmp_path, parsed=1)
    assert inc.reused == inc.files - 1
    # and a run that sorts first in the first environment: every later byte range moves
    _unique_copy(raw / "host" / "host.4", raw / "host" / "a-first", "a")
    _check(raw, out, tmp_path, parsed=1)


def test_adding_a_run_rewrites_only_its_environments_tidy_file(raw, tmp_path):
    """The other environments' tidy files stay the very same files (same inode, same mtime)."""
    out = tmp_path / "out"
    _first(raw, out)
    stat = lambda name: (lambda st: (st.st_ino, st.st_mtime_ns))((out / "lmbench_tidy" / name).stat())  # noqa: E731
    before = {name: stat(name) for name in ("host.csv", "container.csv", "tcg.csv", "uml.csv")}
    _unique_copy(raw / "tcg" / "tcg.1", raw / "tcg" / "tcg.05", "mid-table")
    _check(raw, out, tmp_path, parsed=1)
    after = {name: stat(name) for name in before}
    assert [n for n in before if after[n] != before[n]] == ["tcg.csv"]


def test_the_single_file_tidy_table_of_earlier_versions_is_removed(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    (out / "lmbench_tidy.csv").write_text("environment,run\n")
    (out / "lmbench_tidy" / "gone-environment.csv").write_text("environment,run\n")
    _check(raw, out, tmp_path, parsed=0)
    assert not (out / "lmbench_tidy.csv").exists() and not (out / "lmbench_tidy" / "gone-environment.csv").exists()


@pytest.mark.parametrize("keep_size", [True, False])
def test_a_changed_file_is_parsed_again_even_with_its_old_mtime(raw, tmp_path, keep_size):
    out = tmp_path / "out"
    _first(raw, out)
    path = raw / "tcg" / "tcg.1"
    st = path.stat()
    data = path.read_bytes()
    i = data.index(b"Simple syscall: ") + len(b"Simple syscall: ")
    new = data[:i] + (b"9" if keep_size else b"19") + data[i + 1:]
    assert new != data and (len(new) == len(data)) == keep_size
    path.write_bytes(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: only ctime tells
    _check(raw, out, tmp_path, parsed=1)


def test_a_removed_file_disappears(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    (raw / "uml" / "uml.0").unlink()
    (raw / "tcg" / "not_lmbench.txt").unlink()  # a rejected file too
    _check(raw, out, tmp_path, parsed=0)
    tidy = (out / "lmbench_tidy" / "uml.csv").read_text()
    assert "uml/uml.0" not in tidy and "not_lmbench" not in (out / "ingest_issues.csv").read_text()


def test_renamed_environment_folder_and_manifest(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    man = raw / "environments.toml"
    man.write_text(man.read_text().replace("[environments.uml]", "[environments.usermode]"))
    (raw / "uml").rename(raw / "usermode")
    n = len(list((raw / "usermode").iterdir()))
    _check(raw, out, tmp_path, parsed=n)


LMBENCH_TREE = """[environments.box1]
kind = "physical"
technology = "physical"
runs = {box1}

[environments.box2]
kind = "virtual"
baseline = "box1"
technology = "kvm"
runs = {box2}
"""


@pytest.fixture
def tree(tmp_path) -> Path:
    """lmbench's own results/<os>/<host>.<n> layout, environments given by ``runs`` patterns."""
    tree = tmp_path / "tree"
    results = tree / "results" / "x86_64-linux-gnu"
    results.mkdir(parents=True)
    for i, run in enumerate(("host/host.3", "host/host.4", "container/container.0")):
        shutil.copy(RAW / run, results / f"box1.{i}")
    for i, run in enumerate(("tcg/tcg.1", "tcg/tcg.2", "uml/uml.0")):
        shutil.copy(RAW / run, results / f"box2.{i}")
    (tree / "environments.toml").write_text(LMBENCH_TREE.format(box1='["results/*/box1.*"]',
                                                                box2='["results/*/box2.*"]'))
    _age(tree)
    return tree


def test_environment_renamed_in_the_manifest_only(tree, tmp_path):
    out = tmp_path / "out"
    _first(tree, out)
    man = tree / "environments.toml"
    man.write_text(man.read_text().replace("[environments.box2]", "[environments.guest]"))
    _check(tree, out, tmp_path, parsed=3)  # box2's three files now belong to "guest"


def test_changed_runs_pattern_moves_and_drops_files(tree, tmp_path):
    out = tmp_path / "out"
    _first(tree, out)
    man = tree / "environments.toml"
    # box1.2 moves to box2, box2.2 is left out
    man.write_text(LMBENCH_TREE.format(box1='["results/*/box1.[01]"]',
                                       box2='["results/*/box1.2", "results/*/box2.[01]"]'))
    inc = _check(tree, out, tmp_path, parsed=1)
    assert "box2.2" not in (out / "lmbench_runs.csv").read_text()
    assert inc.files == 5


def test_duplicate_content_under_two_names(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    shutil.copy(raw / "host" / "host.3", raw / "container" / "copy-of-host.3")
    inc = _check(raw, out, tmp_path, parsed=1)
    assert len(inc.duplicates) == 1
    # the original goes: the copy is no longer a duplicate, and its own rows are reused
    (raw / "host" / "host.3").unlink()
    inc = _check(raw, out, tmp_path, parsed=0)
    assert inc.duplicates == []
    assert "duplicate" not in (out / "ingest_issues.csv").read_text()
    # it comes back: both names again, the earlier one in file order is the original
    shutil.copy(raw / "container" / "copy-of-host.3", raw / "host" / "host.3")
    inc = _check(raw, out, tmp_path, parsed=1)
    assert len(inc.duplicates) == 1 and inc.duplicates[0].startswith("container/copy-of-host.3")


def test_another_raw_folder_with_the_same_names(raw, tmp_path):
    """Same environment and run names, other inodes: every file is hashed, the changed one parsed."""
    out = tmp_path / "out"
    _first(raw, out)
    other = tmp_path / "other"
    shutil.copytree(raw, other)  # copy2: same sizes and mtimes, new inodes
    path = other / "host" / "host.4"
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Simple syscall: 0.", b"Simple syscall: 1.", 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    _check(other, out, tmp_path, parsed=1)


def test_parallel_workers_interleaved_with_reused_files(raw, tmp_path, monkeypatch):
    """Rows copied from the previous table alternate with rows copied from several workers' part
    files (one file per batch), each written back to disk in the background as it goes."""
    out = tmp_path / "out"
    monkeypatch.setattr(ingest_mod, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(ingest_mod, "BATCH_MIN", 1)
    monkeypatch.setattr(ingest_mod._Table, "SYNC_EVERY", 1)
    s = ingest(raw, out, jobs=2)
    assert s.parsed == s.files
    for env, src in (("host", "host.3"), ("tcg", "tcg.2"), ("uml", "uml.0")):
        _unique_copy(raw / env / src, raw / env / f"{src}.new", env)
    _check(raw, out, tmp_path, parsed=3, jobs=2)


def test_a_racy_file_is_hashed_not_trusted(raw, tmp_path, monkeypatch):
    """On a file system whose timestamps are too coarse to show a change made right after the scan,
    a file modified within two seconds of it keeps its stat; it must be hashed, not trusted."""
    monkeypatch.setattr(ingest_cache, "stat_key", lambda st: (st.st_size, st.st_mtime_ns // 10**9 * 10**9, 0, 0))
    _age(raw, 0)  # everything modified just now
    out = tmp_path / "out"
    _first(raw, out)
    path = raw / "uml" / "uml.2"
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(b"Simple syscall: ", b"Simple syscall: 9", 1)[:st.st_size])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    _check(raw, out, tmp_path, parsed=1)


def test_lookup_trusts_a_stat_only_well_before_the_scan():
    entry = ingest_cache.Entry("e", "e/r", 10, 5 * 10**9, 7, 8, "0" * 64, "", 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, "", [], [])
    cache = ingest_cache.Cache(scan_ns=10 * 10**9, tables={}, entries={("e", "e/r"): entry})
    assert cache.lookup("e", "e/r", (10, 5 * 10**9, 7, 8)) == (entry, True)
    assert cache.lookup("e", "e/r", (10, 5 * 10**9, 7, 9)) == (entry, False)  # another inode
    assert cache.lookup("e", "e/r", (11, 5 * 10**9, 7, 8)) == (entry, False)
    assert cache.lookup("x", "e/r", (10, 5 * 10**9, 7, 8)) == (None, False)
    racy = ingest_cache.Cache(scan_ns=6 * 10**9, tables={}, entries=cache.entries)  # mtime 1 s before the scan
    assert racy.lookup("e", "e/r", (10, 5 * 10**9, 7, 8)) == (entry, False)


# --- the cache and the previous tables are never trusted blindly ---------------------------------------


def _rewrite_cache(out: Path, edit) -> None:
    """Edit the cache's JSON and give it a valid checksum again (a cache that is well-formed but lies)."""
    head, _, body = (out / CACHE).read_bytes().partition(b"\n")
    doc = edit(json.loads(body)) or None
    body = json.dumps(doc).encode() if doc is not None else body
    magic, fmt, _sha = head.split(b" ")
    (out / CACHE).write_bytes(b" ".join([magic, fmt, hashlib.sha256(body).hexdigest().encode()]) + b"\n" + body)


def _shift_tidy_offset(doc):
    row = doc["files"][3]
    row[ingest_cache.Entry._fields.index("tidy_off")] += 1
    return doc


def _negative_offset(doc):
    doc["files"][0][ingest_cache.Entry._fields.index("runs_off")] = -5
    return doc


def _wrong_type(doc):
    doc["files"][1][ingest_cache.Entry._fields.index("values")] = "12"
    return doc


def _short_row(doc):
    doc["files"][2] = doc["files"][2][:-1]
    return doc


def _other_crc(doc):
    doc["files"][-1][ingest_cache.Entry._fields.index("crc")] ^= 1
    return doc


CORRUPTIONS = {
    "flipped byte": lambda out: _flip(out / CACHE, -100),
    "truncated": lambda out: os.truncate(out / CACHE, (out / CACHE).stat().st_size // 2),
    "last byte cut": lambda out: os.truncate(out / CACHE, (out / CACHE).stat().st_size - 1),
    "empty": lambda out: (out / CACHE).write_bytes(b""),
    "garbage": lambda out: (out / CACHE).write_bytes(os.urandom(3000)),
    "other format": lambda out: (out / CACHE).write_bytes((out / CACHE).read_bytes().replace(b" 1 ", b" 99 ", 1)),
    "a directory": lambda out: ((out / CACHE).unlink(), (out / CACHE).mkdir()),
    "removed": lambda out: (out / CACHE).unlink(),
    "shifted offset, valid checksum": lambda out: _rewrite_cache(out, _shift_tidy_offset),
    "negative offset, valid checksum": lambda out: _rewrite_cache(out, _negative_offset),
    "wrong type, valid checksum": lambda out: _rewrite_cache(out, _wrong_type),
    "short row, valid checksum": lambda out: _rewrite_cache(out, _short_row),
    "wrong CRC, valid checksum": lambda out: _rewrite_cache(out, _other_crc),
    "not an object, valid checksum": lambda out: _rewrite_cache(out, lambda doc: [doc]),
}


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_bad_cache_means_a_full_ingest_and_is_rebuilt(raw, tmp_path, corruption):
    out = tmp_path / "out"
    _first(raw, out)
    _unique_copy(raw / "host" / "host.3", raw / "host" / "host.9", "9")
    CORRUPTIONS[corruption](out)
    if corruption == "a directory":
        shutil.rmtree(out / CACHE)  # (the atomic rename cannot replace a folder: gone is the honest case)
    inc = _check(raw, out, tmp_path)
    assert inc.parsed == inc.files and inc.full_reason, f"a {corruption} cache was used: {inc}"
    again = _check(raw, out, tmp_path, parsed=0)  # rebuilt: trusted again
    assert again.reused == again.files


def _edit_digit_in_place(path: Path) -> None:
    """Change one digit of a value, same size, then give the file back its inode-level stat (mtime)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    i = data.index(b",syscall_null,") + len(b",syscall_null,,")
    data[i] = ord("7") if data[i] != ord("7") else ord("8")
    with open(path, "r+b") as fh:  # in place: same inode
        fh.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_ino == st.st_ino and path.stat().st_size == st.st_size


def _edit_header_in_place(path: Path) -> None:
    """The first byte of the header changed (the CRC-32 of the rows does not cover it); same size and mtime."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.write(b"E")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _replace_by_copy(path: Path) -> None:
    """The same bytes, but another file (as an editor that saves through a temporary file leaves it)."""
    tmp = path.with_name("copy.tmp")
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, path)


def HOST_TIDY(out: Path) -> Path:  # noqa: N802  (reads as the table it names)
    return out / "lmbench_tidy" / "host.csv"


TABLE_EDITS = {
    "tidy row appended": lambda out: open(HOST_TIDY(out), "a").write("host,host/host.3,1,syscall_null,,0.1,"
                                                                     "us,kernel,lower,false,\n"),
    "tidy digit edited in place, mtime restored": lambda out: _edit_digit_in_place(HOST_TIDY(out)),
    "tidy removed": lambda out: HOST_TIDY(out).unlink(),
    "tidy emptied": lambda out: HOST_TIDY(out).write_bytes(b""),
    "tidy replaced by a copy of itself": lambda out: _replace_by_copy(HOST_TIDY(out)),
    "tidy folder removed": lambda out: shutil.rmtree(out / "lmbench_tidy"),
    "tidy header edited in place, mtime restored": lambda out: _edit_header_in_place(HOST_TIDY(out)),
    "empty environment's tidy file edited": lambda out: _edit_header_in_place(out / "lmbench_tidy" / "empty-env.csv"),
    "runs row removed": lambda out: (out / "lmbench_runs.csv").write_text(
        "".join((out / "lmbench_runs.csv").read_text().splitlines(keepends=True)[:-1])),
    "issues truncated": lambda out: os.truncate(out / "ingest_issues.csv", 100),
}


@pytest.mark.parametrize("edit", TABLE_EDITS)
def test_tables_changed_behind_the_cache_are_not_trusted(raw, tmp_path, edit):
    out = tmp_path / "out"
    man = raw / "environments.toml"  # and an environment without files: its tidy file is only a header
    man.write_text(man.read_text() + '\n[environments.empty-env]\nkind = "physical"\ntechnology = "physical"\n')
    (raw / "empty-env").mkdir()
    _first(raw, out)
    TABLE_EDITS[edit](out)
    inc = _check(raw, out, tmp_path)
    assert inc.parsed == inc.files and inc.full_reason, inc.full_reason
    _check(raw, out, tmp_path, parsed=0)


def test_another_parser_or_catalogue_means_a_full_ingest(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _first(raw, out)
    monkeypatch.setattr(ingest_cache, "fingerprint", lambda: "made-by-another-parser")
    inc = _check(raw, out, tmp_path)
    assert inc.parsed == inc.files and "version" in inc.full_reason
    _check(raw, out, tmp_path, parsed=0)  # the new cache carries the new fingerprint
    monkeypatch.setattr(ingest_cache, "fingerprint", lambda: None)  # sources unreadable: nothing is trusted
    inc = _check(raw, out, tmp_path)
    assert inc.parsed == inc.files


def test_the_fingerprint_follows_the_sources_and_the_version(tmp_path):
    pkg = Path(ingest_cache.__file__).parent
    copy = tmp_path / "pkg"
    copy.mkdir()
    for name in ingest_cache.SOURCES:
        shutil.copy(pkg / name, copy / name)
    base = ingest_cache.source_fingerprint(copy)
    assert base == ingest_cache.fingerprint() == ingest_cache.source_fingerprint(pkg)
    assert ingest_cache.source_fingerprint(copy, version="0.0.0-other") != base
    for name in ("parser.py", "catalogue.py", "ingest.py"):
        original = (copy / name).read_bytes()
        (copy / name).write_bytes(original + b"\n# changed\n")
        assert ingest_cache.source_fingerprint(copy) != base, name
        (copy / name).write_bytes(original)
    (copy / "catalogue.py").unlink()
    assert ingest_cache.source_fingerprint(copy) is None


def test_full_flag_parses_everything(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    inc = _check(raw, out, tmp_path, full=True)
    assert inc.parsed == inc.files and inc.full_reason


# --- atomicity: an interrupted ingest leaves tables and cache that agree -------------------------------


def _folder(out: Path) -> dict[str, bytes]:
    """Every file below ``out`` (hidden ones too), by relative path."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_an_exception_while_writing_leaves_tables_and_cache_untouched(raw, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _first(raw, out)
    before = _folder(out)
    for i in range(3):
        _unique_copy(raw / "tcg" / "tcg.1", raw / "tcg" / f"tcg.new{i}", str(i))
    real = ingest_mod.parse_one
    calls = []

    def interrupted(env, path, run):
        calls.append(run)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(env, path, run)

    monkeypatch.setattr(ingest_mod, "parse_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(raw, out, jobs=1)
    monkeypatch.undo()
    assert _folder(out) == before  # no temporary file, no part folder, no new cache
    assert sorted(p.name for p in out.iterdir()) == sorted([*INGEST_TABLES, "lmbench_tidy", CACHE])
    _check(raw, out, tmp_path, parsed=3)


KILL_SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
real_replace = os.replace
def die(src, dst, *a, **k):
    if str(dst).endswith({when!r}):
        os.kill(os.getpid(), signal.SIGKILL)  # power cut just before this file is renamed
    real_replace(src, dst, *a, **k)
os.replace = die
from vizlib.ingest import ingest
ingest({raw!r}, {out!r}, jobs=1)
"""


@pytest.mark.parametrize("when", ["lmbench_tidy/host.csv", "lmbench_tidy/uml.csv", "lmbench_runs.csv",
                                  "ingest_issues.csv", "provenance.json", CACHE])
def test_kill_9_while_publishing_never_leaves_a_cache_that_lies(raw, tmp_path, when):
    """Killed before a given rename: the files renamed so far are new, the rest old. Whatever mix that
    is, the next ingest gives a full ingest's tables (using the cache only if it matches them)."""
    out = tmp_path / "out"
    _first(raw, out)
    before = _folder(out)
    _unique_copy(raw / "uml" / "uml.2", raw / "uml" / "uml.3", "3")
    (raw / "host" / "invalid_values.txt").unlink()
    script = textwrap.dedent(KILL_SCRIPT.format(root=str(ROOT), when=when, raw=str(raw), out=str(out)))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _folder(out)
    order = ["lmbench_tidy/host.csv", "lmbench_tidy/uml.csv", "lmbench_runs.csv", "ingest_issues.csv",
             "environments.toml", "provenance.json", CACHE]  # only the two changed environments' tidy files
    renamed = order[:order.index(when)]
    assert after[CACHE] == before[CACHE]  # the cache is renamed last
    for name in renamed:
        if name not in ("environments.toml", "provenance.json"):  # (unchanged by this change of the raw folder)
            assert after[name] != before[name], f"{name} should have been published before the kill"
    inc = _check(raw, out, tmp_path)
    if when == order[0]:  # nothing published: the old tables and cache agree, the cache is used
        assert (inc.parsed, inc.full_reason) == (1, "")
    else:  # new tables beside the old cache: it does not describe them
        assert inc.parsed == inc.files and "changed after the last ingest" in inc.full_reason
    _check(raw, out, tmp_path, parsed=0)


# --- hostile names and links ---------------------------------------------------------------------------


HOSTILE_NAMES = ["comma,in name", 'quote"in"name', "new\nline", "tab\tand space ", "café ☕.txt", "-dash",
                 "back\\slash", "crlf\r\nname"]


def test_hostile_file_names(raw, tmp_path):
    out = tmp_path / "out"
    for i, name in enumerate(HOSTILE_NAMES):
        _unique_copy(raw / "host" / "host.3", raw / "host" / name, str(i))
    (raw / "tcg" / "deep" / "er").mkdir(parents=True)
    _unique_copy(raw / "tcg" / "tcg.1", raw / "tcg" / "deep" / "er" / "x,y", "deep")
    bad = os.fsencode(str(raw / "uml")) + b"/bad\xff\xfename"
    with open(bad, "wb") as fh:
        fh.write((raw / "uml" / "uml.0").read_bytes())
    _age(raw)
    first = _first(raw, out)
    assert not first.rejected or all("not_lmbench" in r or "empty" in r for r in first.rejected)
    tidy = b"".join(data for name, data in ingest_outputs(out).items() if name.startswith("lmbench_tidy/"))
    tidy.decode("utf-8")  # the tables stay UTF-8
    assert b"uml/bad\\xff\\xfename" in tidy
    _check(raw, out, tmp_path, parsed=0)
    # rename some, change one, add one
    os.rename(raw / "host" / "new\nline", raw / "host" / "new\nline 2")
    _unique_copy(raw / "host" / "host.4", raw / "host" / 'quote"in"name', "changed")
    _unique_copy(raw / "tcg" / "tcg.2", raw / "tcg" / "deep" / "z\"\n,", "added")
    _check(raw, out, tmp_path, parsed=3)


def test_links_and_special_files(raw, tmp_path):
    out = tmp_path / "out"
    os.symlink("../host/host.3", raw / "uml" / "link")  # inside: read through the link
    os.symlink("/etc/hostname", raw / "uml" / "outside")  # outside: rejected, never read
    os.symlink("nowhere", raw / "uml" / "dangling")
    os.mkfifo(raw / "tcg" / "fifo")
    first = _first(raw, out)
    inc = _check(raw, out, tmp_path, parsed=3)  # the three rejected links/FIFO are looked at every time
    assert inc.reused == first.files - 3
    # the link now points at another file: the same run name, other content
    (raw / "uml" / "link").unlink()
    os.symlink("../host/host.4", raw / "uml" / "link")
    _check(raw, out, tmp_path, parsed=4)
    # a file becomes a FIFO, and a folder appears where a file was
    (raw / "tcg" / "tcg.2").unlink()
    os.mkfifo(raw / "tcg" / "tcg.2")
    (raw / "uml" / "uml.0").unlink()
    (raw / "uml" / "uml.0").mkdir()
    _unique_copy(raw / "uml" / "uml.2", raw / "uml" / "uml.0" / "inside", "in")
    _check(raw, out, tmp_path, parsed=5)


def test_the_cache_names_no_absolute_path(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    text = (out / CACHE).read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(ROOT) not in text


# --- the callers ----------------------------------------------------------------------------------------


def test_cli_says_what_was_parsed_and_reused(raw, tmp_path):
    out = tmp_path / "out"

    def cli(*args):
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return subprocess.run([sys.executable, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(out), *args],
                              capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)

    files = sum(1 for p in raw.rglob("*") if p.is_file() and p.name != "environments.toml")
    res = cli()
    assert res.returncode == 1, res.stderr  # (invalid_values.txt)
    assert f"parsed {files} files (full ingest: no ingest cache yet)" in res.stdout
    _unique_copy(raw / "host" / "host.3", raw / "host" / "host.7", "7")
    res = cli()
    assert f"parsed 1 new or changed files, reused {files} unchanged from the last ingest" in res.stdout
    res = cli("--full")
    assert f"parsed {files + 1} files (full ingest: a full ingest was asked for)" in res.stdout


@pytest.mark.parametrize("change", ["removed", "added"])
def test_ensure_tables_ingests_when_the_tidy_files_are_not_one_per_environment(raw, tmp_path, change):
    """A missing environment's file would silently drop its rows; a stray one would add an environment."""
    out = tmp_path / "out"
    _first(raw, out)
    assert ingest_mod.ensure_tables(out, raw).ingested is None  # current
    if change == "removed":
        (out / "lmbench_tidy" / "tcg.csv").unlink()
    else:
        shutil.copy(out / "lmbench_tidy" / "tcg.csv", out / "lmbench_tidy" / "tcg-copy.csv")
    settled = ingest_mod.ensure_tables(out, raw)
    assert settled.ingested is not None
    tables, _ = _full(raw, tmp_path)
    assert ingest_outputs(out) == tables


def test_ensure_tables_ingests_incrementally(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    _unique_copy(raw / "container" / "container.1", raw / "container" / "container.2", "2")
    settled = ingest_mod.ensure_tables(out, raw)
    assert settled.ingested is not None and settled.ingested.parsed == 1
    tables, _ = _full(raw, tmp_path)
    assert ingest_outputs(out) == tables


def test_tables_of_the_single_file_layout_keep_their_recorded_raw_folder(raw, tmp_path):
    """A processed folder of vizlib 0.1 (one lmbench_tidy.csv) still names the raw folder it came from:
    ensure_tables ingests that one again, and refuses another."""
    out = tmp_path / "out"
    _first(raw, out)
    tidy = b"".join(data for name, data in ingest_outputs(out).items() if name.startswith("lmbench_tidy/"))
    shutil.rmtree(out / "lmbench_tidy")
    (out / "lmbench_tidy.csv").write_bytes(tidy)  # (the old layout, roughly: what matters is that the folder is gone)
    with pytest.raises(ingest_mod.ManifestError, match="ingested from"):
        ingest_mod.ensure_tables(out, tmp_path / "another-raw")
    settled = ingest_mod.ensure_tables(out)
    assert settled.raw_dir.resolve() == raw.resolve() and settled.ingested is not None
    assert not (out / "lmbench_tidy.csv").exists()
    tables, _ = _full(raw, tmp_path)
    assert ingest_outputs(out) == tables


LOCK_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from vizlib.ingest import ingest
ingest({raw!r}, {out!r}, jobs=1)
print("done")
"""


def test_a_second_ingest_into_the_folder_waits_for_the_first(raw, tmp_path):
    """The processed folder is locked for a whole ingest: two never publish a mix of their files."""
    import fcntl

    out = tmp_path / "out"
    _first(raw, out)
    _unique_copy(raw / "tcg" / "tcg.1", raw / "tcg" / "tcg.9", "9")
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another ingest would hold it
        script = textwrap.dedent(LOCK_SCRIPT.format(root=str(ROOT), raw=str(raw), out=str(out)))
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=3)  # (an unlocked ingest of these 14 files takes well under a second)
        assert not (out / "lmbench_tidy" / "tcg.csv").read_text().count("tcg/tcg.9")
    finally:
        os.close(fd)
    assert proc.communicate(timeout=60)[0].strip() == "done"
    assert "tcg/tcg.9" in (out / "lmbench_tidy" / "tcg.csv").read_text()


def test_many_environments_under_a_low_open_files_limit(tmp_path):
    """An ingest holds a few files per environment until it publishes them: it raises its own soft
    limit (here 32, for 40 environments) rather than fail with 'Too many open files'."""
    raw = tmp_path / "raw"
    lines = []
    for i in range(40):
        name = f"env{i:02d}"
        (raw / name).mkdir(parents=True)
        shutil.copy(RAW / "host" / "host.0", raw / name / "run.0")
        lines.append(f'[environments.{name}]\nkind = "physical"\ntechnology = "physical"\n')
    (raw / "environments.toml").write_text("\n".join(lines))
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        resource.setrlimit(resource.RLIMIT_NOFILE, (32, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        from vizlib.ingest import ingest
        s = ingest({str(raw)!r}, {str(tmp_path / "out")!r}, jobs=1)
        print(s.files, len(s.rejected))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["40", "0"]
    assert len(list((tmp_path / "out" / "lmbench_tidy").glob("*.csv"))) == 40


def test_missing_tables_whose_raw_folder_is_gone_are_a_clear_error(raw, tmp_path):
    out = tmp_path / "out"
    _first(raw, out)
    shutil.rmtree(out / "lmbench_tidy")
    shutil.rmtree(raw)
    with pytest.raises(ingest_mod.ManifestError, match="is gone"):
        ingest_mod.ensure_tables(out)
