"""lmbench's own summariser as the yardstick of ``vizlib ingest`` (issue "Fleet scale").

The target: ingesting a fleet of 6,320 real results files (the 158 ``results3`` files of
``../shared/lmbench-corpus``, forty times over) takes at most half the time lmbench's perl
``getsummary`` takes to summarise the same files, on the same machine, measured in one run.

Importable (``make bench`` calls it: its ``getsummary`` section)::

    from benchmarks.getsummary import lmbench_scripts, run_getsummary
    scripts = lmbench_scripts()                    # extracts ../shared/lmbench-src once
    seconds = run_getsummary(scripts, files).wall  # or getsummary_seconds(scripts, files)

Run as a script it builds the fleet (``fleet.build_corpus_fleet``), then measures, alternating,
``python -m vizlib ingest --jobs 2`` and getsummary (median of ``--reps``), and prints both wall
times, their ratio, CPU times, the load other processes put on the machine meanwhile, and the
per-file CPU time of vizlib's parser alone (``parse_bytes`` in this process)::

    .venv/bin/python benchmarks/getsummary.py [--reps 3] [--copies 40] [--jobs 2]
    .venv/bin/python benchmarks/getsummary.py --extract   # only print the scripts folder (for LMBENCH_SCRIPTS)

How getsummary is run: ``make see`` in an lmbench tree runs ``cd results && make summary``, i.e.
``../scripts/getsummary $(LIST)`` with every results file on one command line (``LIST`` is what
``scripts/getlist`` selects: files whose first line starts with ``[lmbench3.0`` or ``[lmbench3.1``;
``make see`` discards stderr). The script has no ``#!`` line; the shell runs its first line,
``eval 'exec perl -Ssw $0 "$@"'``, so it is ``perl -Ssw scripts/getsummary FILE...``, which is
what ``run_getsummary`` runs, stdout to a file, stderr discarded, in the scripts folder's parent
``results`` folder as ``make`` would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fleet as fleet_mod  # noqa: E402  (after the sys.path line, for script use)
from benchmarks.machine import cores, cpu_busy, foreign_load, wait4  # noqa: E402

SHARED = ROOT.parent / "shared"
LMBENCH_TARBALL = SHARED / "lmbench-src" / "lmbench-941a0dc.tar.gz"
DEFAULT_SRC_CACHE = ROOT / "benchmarks" / "out" / "lmbench-src"
PY = sys.executable


# --- getsummary ---------------------------------------------------------------------------------------------


def lmbench_scripts(tarball: Path = LMBENCH_TARBALL, dest: Path = DEFAULT_SRC_CACHE) -> Path:
    """The ``scripts`` folder of the lmbench source tree, extracted from ``tarball`` into ``dest``
    once (``dest/<top folder>/scripts``); FileNotFoundError when neither exists."""
    dest = Path(dest)
    found = sorted(dest.glob("*/scripts/getsummary"))
    if found:
        return found[0].parent
    if not Path(tarball).is_file():
        raise FileNotFoundError(f"lmbench source not found: {tarball} (see ../shared/lmbench-src/README.md)")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".extract-") as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        (top,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        target = dest / top.name
        if not target.exists():
            os.replace(top, target)
    return lmbench_scripts(tarball, dest)


def getlist_selects(path) -> bool:
    """lmbench's scripts/getlist: a results file is one whose first line starts with [lmbench3.0/3.1."""
    with open(path, "rb") as fh:
        first = fh.readline()
    return first.startswith((b"[lmbench3.0", b"[lmbench3.1"))


@dataclass
class GetsummaryRun:
    wall: float  # seconds
    cpu: float  # user+sys seconds of perl
    files: int
    output_bytes: int
    host_rows: int  # rows of the first table ("Basic system parameters"): about one per file


def run_getsummary(scripts_dir, files, perl: str = "perl", timeout: float = 3600) -> GetsummaryRun:
    """Run lmbench's getsummary over ``files`` as ``make see`` does (see the module docstring) and
    time it. RuntimeError if perl fails or the summary does not list every file."""
    scripts_dir = Path(scripts_dir)
    script = scripts_dir / "getsummary"
    if not script.is_file():
        raise FileNotFoundError(f"no getsummary in {scripts_dir}")
    files = [str(Path(f).resolve()) for f in files]
    if not files:
        raise ValueError("no files to summarise")
    cwd = scripts_dir.parent / "results"
    cwd = cwd if cwd.is_dir() else scripts_dir
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([perl, "-Ssw", str(script), *files], stdout=out, stderr=subprocess.DEVNULL, cwd=cwd)
        try:
            _, _status, ru = wait4(proc, timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"getsummary took more than {timeout} s") from None
        wall = time.perf_counter() - t0
        rc = proc.returncode
        out.seek(0)
        text = out.read().decode("latin-1")
    if rc != 0:
        raise RuntimeError(f"getsummary exited with {rc}")
    rows = _host_rows(text)
    # One row per file it could read a run from (157 of the 158 corpus files: one row is missing
    # in getsummary's own output), so a summary of far fewer rows means it did not do the work.
    if "S U M M A R Y" not in text or rows < 0.9 * len(files):
        raise RuntimeError(f"getsummary printed no full summary ({len(text)} bytes, {rows} host rows for "
                           f"{len(files)} files)")
    return GetsummaryRun(wall, ru.ru_utime + ru.ru_stime, len(files), len(text), rows)


def getsummary_seconds(scripts_dir, files, perl: str = "perl") -> float:
    """Elapsed seconds of lmbench's getsummary over ``files`` (checked to have summarised them all)."""
    return run_getsummary(scripts_dir, files, perl).wall


def _host_rows(text: str) -> int:
    """Rows of getsummary's first table: the lines between its dashed rule and the next blank line."""
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("Basic system parameters"))
        rule = next(i for i in range(start + 2, len(lines)) if lines[i].startswith("---------"))
    except StopIteration:
        return 0
    n = 0
    for ln in lines[rule + 1:]:
        if not ln.strip():
            break
        n += 1
    return n


# --- vizlib ---------------------------------------------------------------------------------------------------


@dataclass
class IngestRun:
    wall: float
    cpu: float  # user+sys of the ingest process and its workers
    rc: int
    summary_line: str


def run_ingest(raw: Path, out: Path, jobs: int = 2, timeout: float = 3600) -> IngestRun:
    """``python -m vizlib ingest --raw RAW --out OUT --jobs JOBS`` in a fresh interpreter, timed; OUT
    is removed first, so it is a full ingest (no ingest cache to reuse)."""
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryFile("w+") as so:
        t0 = time.perf_counter()
        cmd = [PY, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(out), "--jobs", str(jobs)]
        proc = subprocess.Popen(cmd, stdout=so, stderr=subprocess.STDOUT, cwd=ROOT, text=True)
        _, _status, ru = wait4(proc, timeout)
        wall = time.perf_counter() - t0
        rc = proc.returncode
        so.seek(0)
        text = so.read()
    if rc not in (0, 1):
        raise RuntimeError(f"vizlib ingest failed (exit {rc}): {text[-2000:]}")
    line = next((ln for ln in text.splitlines() if ln.startswith("ingested")), "")
    return IngestRun(wall, ru.ru_utime + ru.ru_stime, rc, line.split(" -> ")[0])


def parse_cpu_per_file(files) -> tuple[float, int]:
    """CPU seconds per file of ``vizlib.parser.parse_bytes`` alone (files read into memory first),
    and the number of values parsed."""
    from vizlib.errors import ParseError
    from vizlib.parser import parse_bytes

    datas = [Path(f).read_bytes() for f in files]
    values = 0
    t0 = time.process_time()
    for i, data in enumerate(datas):
        try:
            values += len(parse_bytes(data, f"f{i}").values)
        except ParseError:
            pass
    return (time.process_time() - t0) / len(datas), values


# --- the load -------------------------------------------------------------------------------------------------


def _measured(fn):
    """fn() with the CPU other processes used meanwhile (machine busy time minus fn's own CPU)."""
    b = cpu_busy()
    r = fn()
    return r, max(0.0, cpu_busy() - b - r.cpu)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=fleet_mod.CORPUS_COPIES, help="copies of each corpus file (default 40)")
    ap.add_argument("--jobs", type=int, default=2, help="vizlib ingest worker processes (default 2)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each measurement (median; default 3)")
    ap.add_argument("--cache", type=Path, default=fleet_mod.DEFAULT_CACHE, help="fleet cache folder")
    ap.add_argument("--perl", default="perl")
    ap.add_argument("--extract", action="store_true", help="only extract the lmbench source and print its scripts folder")
    args = ap.parse_args(argv)
    if args.extract:
        print(lmbench_scripts())
        return 0

    raw = fleet_mod.build_corpus_fleet(args.copies, args.cache, log=lambda m: print(m, file=sys.stderr, flush=True))
    files = fleet_mod.fleet_files(raw)
    nbytes = sum(len(Path(f).read_bytes()) for f in files)  # also warms the page cache
    scripts = lmbench_scripts()
    selected = sum(getlist_selects(f) for f in files)
    print(f"fleet: {len(files):,} files ({nbytes / 1e6:.1f} MB) in {raw}; getlist selects {selected:,}")
    print(f"cores: {cores()}; "
          f"other processes kept {foreign_load():.2f} cores busy just before the run")

    ingests, sums = [], []
    with tempfile.TemporaryDirectory(prefix="vizlib-vs-getsummary-") as tmp:
        out = Path(tmp) / "processed"
        for rep in range(args.reps):  # alternating, so both see the same machine
            (ing, ing_foreign) = _measured(lambda: run_ingest(raw, out, args.jobs))
            (gs, gs_foreign) = _measured(lambda: run_getsummary(scripts, files, args.perl))
            ingests.append((ing, ing_foreign))
            sums.append((gs, gs_foreign))
            print(f"  rep {rep + 1}: ingest {ing.wall:.2f} s wall, {ing.cpu:.2f} CPU-s (others busy "
                  f"{ing_foreign / ing.wall:.2f} cores); getsummary {gs.wall:.2f} s wall, {gs.cpu:.2f} CPU-s "
                  f"(others busy {gs_foreign / gs.wall:.2f} cores)", flush=True)
    ing_wall = statistics.median(r.wall for r, _ in ingests)
    ing_cpu = statistics.median(r.cpu for r, _ in ingests)
    gs_wall = statistics.median(r.wall for r, _ in sums)
    gs_cpu = statistics.median(r.cpu for r, _ in sums)
    parse_cpu, values = parse_cpu_per_file(files)
    n = len(files)
    print(f"vizlib ingest, jobs={args.jobs}: {ing_wall:.2f} s wall (median of {args.reps}), "
          f"{ing_cpu:.2f} CPU-s = {ing_cpu / n * 1e3:.2f} ms per file; {ingests[-1][0].summary_line}")
    print(f"lmbench getsummary: {gs_wall:.2f} s wall (median of {args.reps}), {gs_cpu:.2f} CPU-s = "
          f"{gs_cpu / n * 1e3:.2f} ms per file; {sums[-1][0].host_rows:,} host rows, "
          f"{sums[-1][0].output_bytes / 1e6:.1f} MB of summary")
    ratio = ing_wall / gs_wall
    print(f"ratio vizlib/getsummary (wall): {ratio:.2f} (target <= 0.50: {'PASS' if ratio <= 0.5 else 'MISS'})")
    print(f"vizlib parsing alone (parse_bytes, one core): {parse_cpu * 1e3:.3f} ms CPU per file, "
          f"{parse_cpu * n / values * 1e6:.2f} us per value ({values:,} values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
