"""Outputs are atomic and reproducible; raw files are read-only (issue "Reliability and safety", point 4).

- ``kill -9`` of ``python -m vizlib ingest`` at several moments leaves the previous tables in the
  output folder byte-identical (temporary files are dotfiles ``.<name>.*.tmp``; a leftover dotfile
  is acceptable, a half-written table is not);
- the same inputs give byte-identical tables whatever PYTHONHASHSEED, the number of worker
  processes, the file-creation order or the absolute location of the raw folder;
- raw files are opened read-only and never modified.

Every raw folder here is a tmp copy; ``data/raw-lmbench-lab`` is only read.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vizlib import atomic, ingest as ingest_mod

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw-lmbench-lab"  # fixed real runs whose files these tests name
LAB_FILES = sorted(p for p in RAW.glob("*/*") if p.is_file())
TIDY_FILES = tuple(f"{ingest_mod.TIDY}/{env}.csv" for env in ("host", "container", "tcg", "uml"))  # manifest order
TABLES = (*TIDY_FILES, ingest_mod.RUNS, ingest_mod.ISSUES, "environments.toml", "provenance.json", ingest_mod.CACHE)
# a temporary table: ".<name>.<random>.tmp" beside it (an environment's tidy file: "lmbench_tidy/.<env>.csv.…")
TMP_NAME = re.compile(r"^(?:lmbench_tidy/\.[A-Za-z0-9][A-Za-z0-9_.+-]*\.csv|\.(?:lmbench_runs\.csv|ingest_issues\.csv"
                      r"|environments\.toml|provenance\.json|ingest_cache\.json))\.[^/]*\.tmp$")
FLEET_FILES = 3000


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _ingest_cli(raw: Path, out: Path, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120, env=_env(**env), cwd=ROOT)


def _hashes(folder: Path) -> dict[str, str]:
    """The files ingest may leave in ``folder`` (its own and the tidy folder's, hidden ones too), by relative path."""
    tidy = folder / ingest_mod.TIDY
    files = [*folder.iterdir(), *(tidy.glob("*") if tidy.is_dir() else [])]
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)
            if p.is_file()}




def _visible(folder: Path) -> dict[str, str]:
    return {k: v for k, v in _hashes(folder).items() if not Path(k).name.startswith(".")}


def _copy_raw(dst: Path, files=None, order=None) -> Path:
    """A copy of data/raw (or of ``files``) at ``dst``; ``order`` permutes the creation order."""
    files = list(files if files is not None else LAB_FILES)
    if order is not None:
        files = order(files)
    dst.mkdir(parents=True)
    shutil.copy(RAW / "environments.toml", dst / "environments.toml")
    for p in files:
        (dst / p.parent.name).mkdir(exist_ok=True)
        shutil.copy2(p, dst / p.parent.name / p.name)
    for env in ("host", "container", "tcg", "uml"):
        (dst / env).mkdir(exist_ok=True)
    return dst


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    """3,000 lab files (each copy made unique by a trailing header-like line) under data/raw's manifest."""
    raw = tmp_path_factory.mktemp("fleet") / "raw"
    raw.mkdir()
    shutil.copy(RAW / "environments.toml", raw / "environments.toml")
    contents = [(p.parent.name, p.name, p.read_bytes()) for p in LAB_FILES]
    for env in {c[0] for c in contents}:
        (raw / env).mkdir()
    for i in range(FLEET_FILES):
        env, name, data = contents[i % len(contents)]
        (raw / env / f"{name}.copy{i:04d}").write_bytes(data + f"[copy {i}]\n".encode())
    return raw


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a recycled id owned by someone else
        return False


def _kill_group(pgid: int) -> None:
    """Clean up what we started (the ingest and its worker processes, all in their own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _start_ingest(raw: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT,
                            start_new_session=True)


def _wait_for(proc: subprocess.Popen, trigger: str, out: Path, timeout: float = 60.0) -> None:
    """Block until ``trigger`` happens: 'start+<seconds>', 'tmpfile' or a progress line ('parsed 300/')."""
    t0 = time.monotonic()
    if trigger.startswith("start+"):
        time.sleep(float(trigger[len("start+"):]))
        return
    if trigger == "tmpfile":
        while time.monotonic() - t0 < timeout:
            if any(TMP_NAME.match(name) for name in _hashes(out)):
                return
            if proc.poll() is not None:
                return
            time.sleep(0.005)
        raise AssertionError("no temporary table appeared")
    while time.monotonic() - t0 < timeout:
        line = proc.stderr.readline()
        if not line or trigger in line:
            return
    raise AssertionError(f"{trigger!r} never printed")


@pytest.mark.parametrize("trigger", ["start+0.15", "tmpfile", "parsed 300/", "parsed 600/"])
def test_kill_9_during_ingest_leaves_previous_outputs_byte_identical(trigger, fleet, tmp_path):
    out = tmp_path / "out"
    first = _ingest_cli(_copy_raw(tmp_path / "small"), out)
    assert first.returncode == 0, first.stderr
    before = _hashes(out)
    assert set(before) == set(TABLES)

    proc = _start_ingest(fleet, out)
    try:
        _wait_for(proc, trigger, out)
        os.kill(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=30)
    finally:
        _kill_group(proc.pid)
        proc.stderr.close()
    assert rc == -signal.SIGKILL, f"ingest finished (rc={rc}) before the kill at {trigger}: the test proves nothing"

    after = _hashes(out)
    leftovers = sorted(k for k in after if k not in TABLES)
    print(f"\nkilled at {trigger}: leftover files {leftovers}")
    assert {k: after[k] for k in TABLES} == before, "a killed ingest changed the previous tables"
    for name in leftovers:
        assert TMP_NAME.match(name), f"unexpected file {name} left in the output folder"


def test_kill_when_all_tables_are_written_leaves_the_old_set(tmp_path):
    """Deterministic kill -9 at the latest moment before publishing: every new table is written and
    fsynced, none renamed yet. (The renames themselves follow back to back; POSIX has no
    multi-file rename, so the few microseconds between them are the documented remaining window.)"""
    out = tmp_path / "out"
    first = _ingest_cli(_copy_raw(tmp_path / "old"), out)
    assert first.returncode == 0, first.stderr
    before = _hashes(out)
    new_raw = _copy_raw(tmp_path / "new", files=[p for p in LAB_FILES if p.name != "host.4"])
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        real_replace = os.replace
        def die_before_first_rename(src, dst, *a, **k):
            if str(dst).endswith({TIDY_FILES[0]!r}):
                os.kill(os.getpid(), signal.SIGKILL)  # power cut once all three tables are on disk
            real_replace(src, dst, *a, **k)
        os.replace = die_before_first_rename
        from vizlib.ingest import ingest
        ingest({str(new_raw)!r}, {str(out)!r}, jobs=1)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _hashes(out)
    tables_after = {k: after[k] for k in TABLES}
    assert tables_after == before, "after the kill the folder does not hold the previous set of tables"


def test_kill_9_of_ingest_leaves_no_orphan_worker_processes(fleet, tmp_path):
    out = tmp_path / "out"
    proc = _start_ingest(fleet, out)
    try:
        _wait_for(proc, "parsed 300/", out)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        deadline = time.monotonic() + 3.0
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = _group_alive(proc.pid)
    finally:
        _kill_group(proc.pid)
        proc.stderr.close()
    assert not orphans, "worker processes of the killed ingest are still running 3 s later"


def test_interrupted_atomic_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic.open_atomic(target, "w") as fh:
            fh.write("half of the new ")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
    with atomic.open_atomic(target, "w") as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_failed_atomic_group_removes_the_folders_it_made(tmp_path):
    (tmp_path / "x").mkdir()
    paths = [tmp_path / "x" / "y" / "f.csv", tmp_path / "x" / "z" / "deep" / "g.csv", tmp_path / "x" / "h.csv"]
    with pytest.raises(RuntimeError):
        with atomic.open_atomic_group(paths, "w") as handles:
            for fh in handles:
                fh.write("half")
            raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.rglob("*")] == ["x"]  # x was there before; y, z, z/deep were not


def test_successful_ingest_leaves_no_temporary_files(tmp_path):
    out = tmp_path / "out"
    res = _ingest_cli(_copy_raw(tmp_path / "raw"), out)
    assert res.returncode == 0, res.stderr
    assert sorted(_hashes(out)) == sorted(TABLES)


# --- reproducibility ---------------------------------------------------------------------------------


def test_tables_do_not_depend_on_pythonhashseed(tmp_path):
    raw = _copy_raw(tmp_path / "raw")
    results = {}
    for seed in ("0", "12345"):
        out = tmp_path / f"out-{seed}"
        res = _ingest_cli(raw, out, PYTHONHASHSEED=seed)
        assert res.returncode == 0, res.stderr
        results[seed] = {k: v for k, v in _visible(out).items() if k != ingest_mod.CACHE}
    assert results["0"] == results["12345"]
    assert set(results["0"]) == set(TABLES) - {ingest_mod.CACHE}


def test_tables_do_not_depend_on_creation_order_location_or_workers(tmp_path):
    # enough files for the parallel path (PARALLEL_MIN_FILES), varied content
    files = []
    src = tmp_path / "src"
    for i in range(ingest_mod.PARALLEL_MIN_FILES + 16):
        p = LAB_FILES[i % len(LAB_FILES)]
        dst = src / p.parent.name / f"{p.name}.{i:03d}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(p.read_bytes() + f"[run {i}]\n".encode())
        files.append(dst)
    forward = _copy_raw(tmp_path / "a" / "raw", files=files)
    backward = _copy_raw(tmp_path / "somewhere" / "else" / "raw", files=files, order=lambda fs: fs[::-1])
    # (files and folders created in opposite orders: os.scandir lists them differently on most file systems)
    ingest_mod.ingest(forward, tmp_path / "out-forward-1job", jobs=1)
    ingest_mod.ingest(backward, tmp_path / "out-backward-2jobs", jobs=2)
    ingest_mod.ingest(forward, tmp_path / "out-forward-2jobs", jobs=2)
    # provenance.json records where the raw folder is, by design; everything else is location-free
    # (and the ingest cache records the raw files' identities: inodes and times)
    located = lambda out: {k: v for k, v in _visible(out).items()  # noqa: E731
                           if k not in ("provenance.json", ingest_mod.CACHE)}
    a = located(tmp_path / "out-forward-1job")
    assert a == located(tmp_path / "out-backward-2jobs") == located(tmp_path / "out-forward-2jobs")
    for name in set(TABLES) - {"provenance.json", ingest_mod.CACHE}:  # no absolute path of the machine in the tables
        text = (tmp_path / "out-forward-1job" / name).read_text()
        assert str(tmp_path) not in text and str(ROOT) not in text


# --- raw files are read-only ---------------------------------------------------------------------------


def _snapshot(raw: Path) -> dict:
    snap = {}
    for p in sorted(raw.rglob("*")):
        st = p.lstat()
        entry = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino)
        if p.is_file():
            entry += (hashlib.sha256(p.read_bytes()).hexdigest(),)
        snap[p.relative_to(raw).as_posix()] = entry
    return snap


def test_raw_files_are_never_modified_by_ingest(tmp_path):
    raw = _copy_raw(tmp_path / "raw")
    before = _snapshot(raw)
    res = _ingest_cli(raw, tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert _snapshot(raw) == before  # same files, content, mtime, mode, inode; nothing added


def test_raw_files_are_opened_read_only(tmp_path, monkeypatch):
    raw = _copy_raw(tmp_path / "raw")
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and str(raw) in os.fspath(file):
            opened.append((os.fspath(file), mode))
        return real_open(file, mode, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):
        if str(raw) in os.fspath(path):
            opened.append((os.fspath(path), flags))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    monkeypatch.undo()
    data_files = [f for f, _ in opened if not f.endswith("environments.toml")]
    assert len(set(data_files)) == len(LAB_FILES)
    for name, mode in opened:
        if isinstance(mode, str):
            assert set(mode) <= set("rbt"), (name, mode)
        else:
            assert mode & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC) == 0, (name, mode)
