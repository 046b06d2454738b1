#!/usr/bin/env python3
"""vizlib performance benchmark (``make bench``): ingest throughput at fleet scale, vizlib against
lmbench's own getsummary, incremental re-ingest, start-up costs, normalisation, the batch report
and the explorer (shipped data and 40 environments), and parser linearity on hostile inputs.

    python benchmarks/bench.py                      # everything, 100/1,000/10,000-file fleets, 3 repetitions
    LMBENCH_SCRIPTS=path/to/lmbench/scripts python benchmarks/bench.py   # plus the getsummary ratio
    python benchmarks/bench.py --quick              # smoke run: fleets 100 and 1,000, 1 repetition, small inputs
    python benchmarks/bench.py --only ingest,startup

Each figure is the median of ``--reps`` repetitions (fewer when one repetition takes longer than
``--slow`` seconds; the ``n`` column says how many ran). The table is printed and written to
``benchmarks/out/results.md`` (``results-quick.md`` for ``--quick``). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import fleet as fleet_mod, getsummary  # noqa: E402  (benchmarks/fleet.py, benchmarks/getsummary.py)
from benchmarks.machine import cores, cpu_busy, foreign_load  # noqa: E402

PY = sys.executable
SECTIONS = ("ingest", "getsummary", "incremental", "parse", "startup", "normalise", "report", "model", "hostile")
GiB = 1024 ** 3
MiB = 1024 ** 2

# Targets of the "Performance and scale" and "Fleet scale" issues.
TARGET_INGEST_S = 8.5  # 10,000 files, all cores
TARGET_INGEST_FILES = 10_000
TARGET_RSS = 1 * GiB
TARGET_PARSE_CLI_S = 1.0
TARGET_IMPORT_S = 0.5
TARGET_MODEL_S = 0.010  # explorer: one slider change, model (shipped data and 40 environments)
TARGET_DRAW_S = 0.200  # ... chart redraw
TARGET_GETSUMMARY_RATIO = 0.5  # vizlib ingest wall / lmbench getsummary wall, same 6,320 files
TARGET_INCREMENTAL = 0.15  # re-ingest after adding one run / first ingest, 6,320 files
TARGET_REPORT_SHIPPED_S = 30.0  # notebook execution of the batch report, shipped data
TARGET_REPORT_40_S = 60.0  # ... 40 environments
SCALE_ENVS = 50  # the 40-environment folder: 10 physical baselines + 40 virtual environments ...
SCALE_RUNS = 5  # ... with 5 runs each (the README's recommendation)
REFERENCE_FPS = 6320 / 8.12  # lmbench getsummary on the 6,320-file corpus fleet, 2 idle cores (see getsummary section)
LINEAR_PER_FILE = 1.25  # t(10k)/t(1k) per file: at most this much worse than linear
LINEAR_PER_MB = 2.0  # parser: 16x input may cost at most this much more per MB than 1x
# CPU per file as recorded before the "Fleet scale" issue (README, "Performance", at commit 01245f5):
# 10,000-file fleet, 2 workers, 23.7 CPU-s; parsing alone 1.52 ms per file on one core.
BEFORE_INGEST_CPU_MS = 2.37
BEFORE_PARSE_CPU_MS = 1.52


# --- results table ----------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str
    target: str = ""
    status: str = ""  # PASS / MISS / "" (informational) / n/a
    n: str = ""
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def add(self, *a, **kw) -> Row:
        r = Row(*a, **kw)
        self.rows.append(r)
        print(f"  {r.figure}: {r.value}" + (f"  [{r.status}; target {r.target}]" if r.status else "")
              + (f"  ({r.note})" if r.note else ""), file=sys.stderr, flush=True)
        return r


def status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fmt_s(x: float) -> str:
    if x is None:
        return "n/a"
    if x < 0.001:
        return f"{x * 1e6:.0f} µs"
    if x < 1:
        return f"{x * 1e3:.1f} ms"
    return f"{x:.2f} s"


def fmt_mib(b) -> str:
    return "n/a" if b is None else f"{b / MiB:.0f} MiB"


def render(sections, header_lines) -> str:
    out = ["# vizlib benchmark results", ""] + header_lines + [""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        if sec.rows:
            out += ["| figure | value | target | status | n |", "|---|---|---|---|---|"]
            for r in sec.rows:
                val = r.value + (f" ({r.note})" if r.note else "")
                out.append(f"| {r.figure} | {val} | {r.target} | {r.status} | {r.n} |")
            out.append("")
        for n in sec.notes:
            out.append(f"- {n}")
        if sec.notes:
            out.append("")
    return "\n".join(out)


# --- measuring ---------------------------------------------------------------------------------------------


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    total, stack, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            pass
    return total


@dataclass
class Run:
    wall: float
    maxrss: int  # bytes, largest single process of the tree (wait4 ru_maxrss covers waited descendants)
    tree_rss: int  # bytes, largest sampled sum over the process tree (0 if not sampled)
    rc: int
    stdout: str
    stderr: str
    cpu: float = 0.0  # user+sys seconds of the child and its waited-for descendants (the workers)
    foreign: float = 0.0  # CPU-seconds other processes used on the machine during the run


def run_measured(cmd, timeout: float = 1800, env=None, sample: bool = True) -> Run:
    """Run ``cmd`` as a child, measuring wall time, peak RSS (wait4) and the sampled tree RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        busy0 = cpu_busy()
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, cwd=ROOT, env=env)
        peak = [0]
        done = threading.Event()

        def sampler():
            while not done.wait(0.02):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        th = threading.Thread(target=sampler, daemon=True) if sample else None
        if th:
            th.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status_, ru = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
        wall = time.perf_counter() - t0
        busy = cpu_busy() - busy0
        proc.returncode = os.waitstatus_to_exitcode(status_)
        if th:
            th.join()
        out.seek(0)
        err.seek(0)
        rc = proc.returncode
        cpu = ru.ru_utime + ru.ru_stime
        return Run(wall, ru.ru_maxrss * 1024, peak[0], rc, out.read(), err.read(), cpu, max(0.0, busy - cpu))


def median_runs(fn, reps: int, slow: float):
    """Call ``fn`` up to ``reps`` times (stop early once a call took longer than ``slow`` s)."""
    runs = []
    for _ in range(reps):
        r = fn()
        runs.append(r)
        if (r.get("wall", 0) if isinstance(r, dict) else getattr(r, "wall", 0)) > slow:
            break
    return runs


def med(runs, attr):
    vals = [getattr(r, attr) if not isinstance(r, dict) else r[attr] for r in runs]
    return statistics.median(vals)


def child(mode: str, *args, timeout=1800) -> tuple[dict | None, Run]:
    """Run this script in ``--child`` mode; it prints one JSON object as its last stdout line."""
    r = run_measured([PY, __file__, "--child", mode, *args], timeout=timeout)
    data = None
    for line in reversed(r.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
            break
        except ValueError:
            continue
    return data, r


# --- fleets ------------------------------------------------------------------------------------------------


def get_fleet(n: int, cache: Path) -> tuple[Path, list[Path], int, dict]:
    raw = fleet_mod.build_fleet(n, cache, log=lambda m: print(m, file=sys.stderr, flush=True))
    files = fleet_mod.fleet_files(raw)
    nbytes = 0
    for f in files:  # warm the page cache: every figure is a warm-cache figure
        with open(f, "rb") as fh:
            nbytes += len(fh.read())
    return raw, files, nbytes, fleet_mod.fleet_info(raw)


def fleet_desc(n, nbytes, info) -> str:
    envs = info["environments"]
    phys = sum(1 for e in envs if e.startswith("phys-"))
    return (f"fleet-{n}: {n} files, {nbytes / 1e6:.1f} MB, {len(envs)} environments ({phys} physical baselines, "
            f"{len(envs) - phys} virtual), copied from {info['stamp']['sources']} distinct real results files")


# --- sections ----------------------------------------------------------------------------------------------


def bench_ingest(ctx) -> Section:
    sec = Section("ingest", "Ingest throughput (`python -m vizlib ingest`, one subprocess per run)")
    ncores = cores()
    jobs_list = sorted({1, ncores})
    walls: dict = {}
    cpus: dict = {}
    for n in ctx.sizes:
        raw, files, nbytes, info = get_fleet(n, ctx.cache)
        sec.notes.append(fleet_desc(n, nbytes, info))
        for jobs in jobs_list:
            outdir = ctx.work / f"ingest-{n}-j{jobs}"

            def once():
                if outdir.exists():
                    shutil.rmtree(outdir)
                r = run_measured([PY, "-m", "vizlib", "ingest", "--raw", raw, "--out", outdir, "--jobs", jobs])
                if r.rc not in (0, 1):
                    raise RuntimeError(f"ingest failed (exit {r.rc}): {r.stderr[-2000:]}")
                return r

            runs = median_runs(once, ctx.reps, ctx.slow)
            wall, rss, tree = med(runs, "wall"), max(r.maxrss for r in runs), max(r.tree_rss for r in runs)
            walls[(n, jobs)] = wall
            last = runs[-1]
            ok_line = next((ln for ln in last.stdout.splitlines() if ln.startswith("ingested")), "")
            target, st = "", ""
            if n == TARGET_INGEST_FILES and jobs == ncores:
                target, st = f"< {TARGET_INGEST_S} s", status(wall < TARGET_INGEST_S)
            cpu, foreign = med(runs, "cpu"), med(runs, "foreign")
            cpus[(n, jobs)] = cpu
            busy_note = f"other processes busy {foreign / wall:.1f} cores meanwhile" if foreign > 0.1 * wall else ""
            sec.add(f"ingest {n:,} files, jobs={jobs}: wall", fmt_s(wall), target, st, str(len(runs)), note=busy_note)
            before = (f"; before: {BEFORE_INGEST_CPU_MS:.2f} ms (recorded at commit 01245f5)"
                      if n == TARGET_INGEST_FILES and jobs == ncores else "")
            sec.add(f"ingest {n:,} files, jobs={jobs}: CPU time (user+sys, all processes)",
                    f"{fmt_s(cpu)}; {cpu / n * 1e3:.2f} ms per file{before}", "", "", str(len(runs)))
            sec.add(f"ingest {n:,} files, jobs={jobs}: throughput",
                    f"{n / wall:,.0f} files/s, {nbytes / 1e6 / wall:.1f} MB/s", f"ref. getsummary ~{REFERENCE_FPS:.0f} files/s",
                    "", str(len(runs)))
            sec.add(f"ingest {n:,} files, jobs={jobs}: peak RSS", f"{fmt_mib(rss)} largest process; "
                    f"{fmt_mib(tree)} whole process tree (sampled)", "< 1 GiB", status(max(rss, tree) < TARGET_RSS),
                    str(len(runs)))
            if ok_line and n == max(ctx.sizes) and jobs == ncores:
                sec.notes.append(f"ingest of fleet-{n} said: {ok_line.strip().split(' -> ')[0]}")
            if n == max(ctx.sizes) and jobs == ncores:
                ctx.largest_processed = (raw, outdir)
            elif outdir.exists():
                shutil.rmtree(outdir)
    sizes = sorted(ctx.sizes)
    for jobs in jobs_list:
        for a, b in zip(sizes, sizes[1:]):
            ratio = walls[(b, jobs)] / walls[(a, jobs)]
            cpu_ratio = (cpus[(b, jobs)] / b) / (cpus[(a, jobs)] / a)
            text = f"wall ratio {ratio:.2f} (ideal {b / a:g}); CPU per file {cpu_ratio:.2f}x"
            if a >= 1000:
                sec.add(f"linearity jobs={jobs}: {a:,} -> {b:,} files", text, f"CPU per file <= {LINEAR_PER_FILE}x",
                        status(cpu_ratio <= LINEAR_PER_FILE))
            else:
                sec.add(f"linearity jobs={jobs}: {a:,} -> {b:,} files", text, "", "",
                        note="small fleet: start-up dominated")
    if len(jobs_list) > 1:
        for n in sizes:
            sec.add(f"speed-up jobs={ncores} vs jobs=1, {n:,} files", f"{walls[(n, 1)] / walls[(n, ncores)]:.2f}x",
                    f"ideal {ncores}x", "")
    else:
        sec.notes.append("one usable core: jobs=1 only")
    return sec


def _lmbench_scripts(ctx) -> Path | None:
    """The lmbench ``scripts`` folder given (``--lmbench-scripts`` or ``LMBENCH_SCRIPTS``), or None."""
    given = ctx.lmbench_scripts or os.environ.get("LMBENCH_SCRIPTS", "")
    return Path(given).expanduser().resolve() if given else None


def _corpus_fleet(ctx) -> tuple[Path, list[Path], int, str]:
    """(raw, files, bytes, description) of the 6,320-file corpus fleet; the generic fleet of 6,320
    files when the corpus is not there."""
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        raw = fleet_mod.build_corpus_fleet(cache_dir=ctx.cache, log=log)
        what = "the corpus's 158 results files x 40"
    except RuntimeError:
        raw = fleet_mod.build_fleet(6320, ctx.cache, log=log)
        what = "generic fleet (corpus not found)"
    files = fleet_mod.fleet_files(raw)
    nbytes = sum(len(f.read_bytes()) for f in files)  # also warms the page cache
    return raw, files, nbytes, f"{len(files):,} files, {nbytes / 1e6:.1f} MB: {what}"


def bench_getsummary(ctx) -> Section:
    sec = Section("getsummary", "vizlib ingest against lmbench's own getsummary (same 6,320 files, one run)")
    scripts = _lmbench_scripts(ctx)
    if scripts is None or not (scripts / "getsummary").is_file():
        why = f"no getsummary in {scripts}" if scripts else "no lmbench source tree given"
        sec.add("vizlib ingest / getsummary (wall)", f"n/a: {why}", f"<= {TARGET_GETSUMMARY_RATIO}", "n/a")
        sec.notes.append("run `LMBENCH_SCRIPTS=path/to/lmbench/scripts make bench`; "
                         "`.venv/bin/python benchmarks/getsummary.py --extract` extracts ../shared/lmbench-src "
                         "and prints such a path")
        return sec
    raw, files, _nbytes, desc = _corpus_fleet(ctx)
    sec.notes.append(f"fleet: {desc}; getsummary run as `make see` runs it (`perl -Ssw scripts/getsummary FILE...`, "
                     f"stdout to a file), from {scripts}")
    ncores = cores()
    ingests, sums = [], []
    out = ctx.work / "getsummary-processed"
    for _ in range(_paired_reps(ctx)):  # alternating, so both see the same machine
        b = cpu_busy()
        ing = getsummary.run_ingest(raw, out, jobs=ncores)  # a fresh output folder: a full ingest
        ing_foreign = max(0.0, cpu_busy() - b - ing.cpu)
        b = cpu_busy()
        gs = getsummary.run_getsummary(scripts, files)
        gs_foreign = max(0.0, cpu_busy() - b - gs.cpu)
        ingests.append((ing, ing_foreign))
        sums.append((gs, gs_foreign))
    shutil.rmtree(out, ignore_errors=True)
    n, k = len(files), str(len(ingests))
    ing_wall = statistics.median(r.wall for r, _ in ingests)
    ing_cpu = statistics.median(r.cpu for r, _ in ingests)
    gs_wall = statistics.median(r.wall for r, _ in sums)
    gs_cpu = statistics.median(r.cpu for r, _ in sums)
    busy = max(f / r.wall for r, f in ingests + sums)
    busy_note = f"other processes busy up to {busy:.1f} cores meanwhile" if busy > 0.1 else ""
    pairs = [i.wall / g.wall for (i, _), (g, _) in zip(ingests, sums)]
    ratio = statistics.median(pairs)
    sec.add(f"`vizlib ingest --jobs {ncores}` (fresh output folder)", f"{fmt_s(ing_wall)} wall, {fmt_s(ing_cpu)} CPU",
            "", "", k, note=ingests[-1][0].summary_line)
    sec.add("lmbench `getsummary`", f"{fmt_s(gs_wall)} wall, {fmt_s(gs_cpu)} CPU", "", "", k,
            note=f"{sums[-1][0].host_rows:,} host rows")
    sec.add("ratio vizlib / getsummary (wall), median of the pairs", f"{ratio:.2f}", f"<= {TARGET_GETSUMMARY_RATIO}",
            status(ratio <= TARGET_GETSUMMARY_RATIO), k,
            note="; ".join(filter(None, [_pairs_note(pairs), busy_note])))
    data, r = child("parse_cpu", raw)  # (in a child: see _child_parse)
    if data is None or "error" in data:
        msg = (data or {}).get("error") or (r.stderr.strip().splitlines() or ["no output"])[-1]
        sec.add("CPU per file, parsing alone (`parse_bytes`, one core)", "n/a (error)", "", "n/a", note=msg[:300])
        return sec
    parse_cpu, values = data["cpu"], data["values"]
    sec.add("CPU per file, ingest (all processes)", f"before {BEFORE_INGEST_CPU_MS:.2f} ms -> after "
            f"{ing_cpu / n * 1e3:.2f} ms", "", "", k, note="before: recorded at commit 01245f5 on the 10,000-file "
            "fleet; the ingest section measures that fleet too")
    sec.add("CPU per file, parsing alone (`parse_bytes`, one core)", f"before {BEFORE_PARSE_CPU_MS:.2f} ms -> after "
            f"{parse_cpu * 1e3:.2f} ms", "", "", "1", note=f"{parse_cpu * n / values * 1e6:.2f} µs per value")
    return sec


def _own_peak_mib() -> float:
    """This process's peak RSS since it started (VmHWM), MiB."""
    with open("/proc/self/status") as fh:
        return next((int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmHWM:")), float("nan"))


def _paired_reps(ctx) -> int:
    """Repetitions of a ratio measured in pairs (the two runs of a pair one right after the other):
    at least 5, as this machine's speed drifts by up to ~20% over minutes (a cloud VM), and the median
    of the pairs' ratios is robust to a slow spell that a ratio of separate medians is not."""
    return ctx.reps if ctx.quick else max(5, ctx.reps)


def _pairs_note(ratios: list, percent: bool = False) -> str:
    shown = (f"{100 * r:.1f}%" if percent else f"{r:.3f}" for r in ratios)
    return f"each pair: {', '.join(shown)}" if len(ratios) > 1 else ""


def _link_copy(src: Path, dst: Path) -> Path:
    """A copy of a raw folder made of hard links (fast; ingest never writes to raw files)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def _ingest_cli(raw: Path, out: Path, *extra) -> Run:
    r = run_measured([PY, "-m", "vizlib", "ingest", "--raw", raw, "--out", out, "--jobs", cores(), *extra],
                     sample=False)
    if r.rc not in (0, 1):
        raise RuntimeError(f"ingest failed (exit {r.rc}): {r.stderr[-2000:]}")
    return r


def bench_incremental(ctx) -> Section:
    from vizlib.tables import ISSUES, MANIFEST_COPY, PROVENANCE, RUNS, TIDY

    sec = Section("incremental", "Incremental re-ingest: one run added to 6,320 ingested files (`python -m vizlib ingest`)")
    raw0, files, _nbytes, desc = _corpus_fleet(ctx)
    newest = max(f.stat().st_mtime for f in files)
    time.sleep(max(0.0, newest + 2.5 - time.time()))  # a fleet built just now: its files would all be "racy"
    info = fleet_mod.fleet_info(raw0)
    envs = info["environments"]
    n = len(files)
    sec.notes.append(f"fleet: {desc}; each repetition: a hard-linked copy of it, `vizlib ingest` into a fresh "
                     "folder (first ingest), one run added (the fleet's next file: a copy of a real results file "
                     f"with its own hostname, in environment {envs[n % len(envs)]}, whose tidy file is written again), "
                     "`vizlib ingest` again into the same folder")
    firsts, again, said = [], [], ""
    for rep in range(_paired_reps(ctx)):
        raw = _link_copy(raw0, ctx.work / "incr-raw")
        out = ctx.work / "incr-out"
        shutil.rmtree(out, ignore_errors=True)
        firsts.append(_ingest_cli(raw, out))
        src = files[(n + rep) % n]
        new = raw / envs[n % len(envs)] / f"run-{n + rep:05d}.txt"
        new.write_bytes(fleet_mod._unique(src.read_bytes(), n + rep))
        r = _ingest_cli(raw, out)
        again.append(r)
        said = next((ln for ln in r.stdout.splitlines() if ln.startswith("parsed ")), "")
    full = ctx.work / "incr-full"
    shutil.rmtree(full, ignore_errors=True)
    _ingest_cli(raw, full, "--full")
    # compared in chunks: two 378 MB tables read whole would stay in this process's peak RSS, which every
    # later child's wait4 ru_maxrss starts from
    names = [f"{TIDY}/{p.name}" for p in sorted((full / TIDY).glob("*.csv"))] + [RUNS, ISSUES, MANIFEST_COPY, PROVENANCE]
    same = (sorted(p.name for p in (out / TIDY).iterdir()) == sorted(p.name for p in (full / TIDY).iterdir())
            and all(filecmp.cmp(out / t, full / t, shallow=False) for t in names))
    for d in (full, out, raw):
        shutil.rmtree(d, ignore_errors=True)
    k = str(len(firsts))
    first, inc = med(firsts, "wall"), med(again, "wall")
    pairs = [b.wall / a.wall for a, b in zip(firsts, again)]
    share = statistics.median(pairs)
    sec.add(f"first ingest, {n:,} files (fresh folder)", fmt_s(first), "", "", k)
    sec.add("ingest again after adding one run", fmt_s(inc), "", "", k, note=said)
    busy = max(r.foreign / r.wall for r in firsts + again)
    sec.add("re-ingest / first ingest, median of the repetitions", f"{100 * share:.1f}%",
            f"<= {100 * TARGET_INCREMENTAL:.0f}%", status(share <= TARGET_INCREMENTAL), k,
            note="; ".join(filter(None, [_pairs_note(pairs, percent=True),
                                         f"other processes busy up to {busy:.1f} cores meanwhile" if busy > 0.1 else ""])))
    sec.add("tables of the re-ingest = a full ingest of the same folder (`--full`)", "yes" if same else "NO",
            "byte-identical", status(same), "1")
    return sec


def _instrumented_ingest(raw: Path, outdir: Path) -> dict:
    """ingest(jobs=1) in this process, timed phase by phase by wrapping module functions (vizlib unedited)."""
    from vizlib import ingest as ing

    acc = {"scan": 0.0, "parse_one": 0.0, "parse_bytes": 0.0}
    orig = (ing.raw_files, ing.parse_one, ing.parse_bytes)

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                acc[name] += time.perf_counter() - t
        return wrapper

    ing.raw_files, ing.parse_one, ing.parse_bytes = (timed("scan", orig[0]), timed("parse_one", orig[1]),
                                                      timed("parse_bytes", orig[2]))
    try:
        if outdir.exists():
            shutil.rmtree(outdir)
        t = time.perf_counter()
        ing.ingest(raw, outdir, jobs=1)
        total = time.perf_counter() - t
    finally:
        ing.raw_files, ing.parse_one, ing.parse_bytes = orig
    shutil.rmtree(outdir, ignore_errors=True)
    return {"wall": total, "scan": acc["scan"], "parse": acc["parse_bytes"],
            "read_hash_format": acc["parse_one"] - acc["parse_bytes"],
            "write": total - acc["scan"] - acc["parse_one"]}


def bench_parse(ctx) -> Section:
    sec = Section("parse", "Where ingest time goes (in one child process, one core)")
    ncores = cores()
    sec.notes.append("parse only = `vizlib.parser.parse_bytes` over the fleet's files already in memory, one thread. "
                     "Phases = `vizlib.ingest.ingest(jobs=1)` in-process with `raw_files`, `parse_one` and "
                     "`parse_bytes` wrapped by timers: read+sha256+format = parse_one minus parse_bytes; "
                     "write+bookkeeping = the rest (tidy CSV streaming, runs/issues CSV, fsync, summary).")
    for n in ctx.sizes:
        raw, files, nbytes, info = get_fleet(n, ctx.cache)
        data, r = child("parse", raw, ctx.work / f"inproc-{n}", ctx.reps, ctx.slow)
        if data is None or "error" in data:
            msg = (data or {}).get("error") or (r.stderr.strip().splitlines() or ["no output"])[-1]
            sec.add(f"parse only, {n:,} files", "n/a (error)", "", "n/a", note=msg[:300])
            continue
        runs = data["parse_only"]
        wall = med(runs, "wall")
        need = TARGET_INGEST_FILES / (TARGET_INGEST_S * ncores)
        target = st = ""
        if n == TARGET_INGEST_FILES:
            target, st = f">= {need:,.0f} files/s per core (8.5 s target on {ncores} cores)", status(n / wall >= need)
        cpu = statistics.median(r["cpu"] for r in runs)
        before = f"; before: {BEFORE_PARSE_CPU_MS:.2f} ms (commit 01245f5)" if n == TARGET_INGEST_FILES else ""
        sec.add(f"parse only, {n:,} files", f"{fmt_s(wall)}; {n / wall:,.0f} files/s, {nbytes / 1e6 / wall:.2f} MB/s",
                target, st, str(len(runs)), note=f"CPU {cpu / n * 1e3:.2f} ms per file{before}")
        runs = data["phases"]
        ph = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        parts = ", ".join(f"{k.replace('_', '+')} {fmt_s(ph[k])} ({100 * ph[k] / ph['wall']:.0f}%)"
                          for k in ("scan", "parse", "read_hash_format", "write"))
        sec.add(f"ingest jobs=1 in-process, {n:,} files", f"{fmt_s(ph['wall'])} = {parts}", "", "", str(len(runs)))
    return sec


def bench_startup(ctx) -> Section:
    sec = Section("startup", "Start-up (fresh interpreter each time)")
    reps = max(ctx.reps, 5) if not ctx.quick else 3
    sample = ROOT / "data" / "raw" / "host"
    sample_file = sorted(sample.iterdir())[0]

    def walls(cmd):
        return [run_measured(cmd, sample=False) for _ in range(reps)]

    bare = statistics.median(r.wall for r in walls([PY, "-c", "pass"]))
    runs = walls([PY, "-c", "import vizlib"])
    imp = statistics.median(r.wall for r in runs) - bare
    sec.add("`import vizlib` (minus bare `python -c pass`)", fmt_s(imp) if imp >= 0.001 else "< 1 ms (within noise)",
            f"< {TARGET_IMPORT_S} s",
            status(imp < TARGET_IMPORT_S), str(reps), note=f"bare interpreter {fmt_s(bare)}")
    runs = walls([PY, "-m", "vizlib", "parse", sample_file])
    if any(r.rc != 0 for r in runs):
        sec.notes.append(f"`vizlib parse` exited {runs[-1].rc}: {runs[-1].stderr[-500:]}")
    t = statistics.median(r.wall for r in runs)
    sec.add(f"`python -m vizlib parse {sample_file.relative_to(ROOT)}` wall", fmt_s(t), f"< {TARGET_PARSE_CLI_S} s",
            status(t < TARGET_PARSE_CLI_S), str(reps))
    for mod in ("vizlib.ingest", "vizlib.normalise", "vizlib.inputs", "vizlib.share_model", "vizlib.report",
                "vizlib.plots", "vizlib.explorer"):
        if not (ROOT / (mod.replace(".", "/") + ".py")).exists():
            continue
        rs = walls([PY, "-c", f"import {mod}"])
        if any(r.rc for r in rs):
            sec.add(f"`import {mod}`", "n/a (import error)", "", "n/a", note=rs[-1].stderr.strip().splitlines()[-1][:120])
            continue
        sec.add(f"`import {mod}` (minus bare)", fmt_s(statistics.median(r.wall for r in rs) - bare), "", "", str(reps))
    return sec


def _ensure_processed(ctx) -> tuple[Path, Path]:
    """(raw, processed) of the largest fleet, ingesting it (all cores) if the ingest section did not run."""
    if ctx.largest_processed and (ctx.largest_processed[1] / "lmbench_runs.csv").exists():
        return ctx.largest_processed
    n = max(ctx.sizes)
    raw, *_ = get_fleet(n, ctx.cache)
    outdir = ctx.work / f"ingest-{n}-j{cores()}"
    r = run_measured([PY, "-m", "vizlib", "ingest", "--raw", raw, "--out", outdir], sample=False)
    if r.rc not in (0, 1):
        raise RuntimeError(f"ingest failed: {r.stderr[-2000:]}")
    ctx.largest_processed = (raw, outdir)
    return ctx.largest_processed


def bench_normalise(ctx) -> Section:
    n = max(ctx.sizes)
    sec = Section("normalise", f"Normalisation (`vizlib.normalise.overhead`, default n_boot) on fleet-{n}")
    raw, processed = _ensure_processed(ctx)

    runs = []
    for _ in range(ctx.reps):
        data, r = child("normalise", raw, processed)
        if data is None or "error" in data:
            msg = (data or {}).get("error") or (r.stderr.strip().splitlines() or ["no output"])[-1]
            sec.add("normalise.overhead", "n/a (error)", "", "n/a", note=msg[:300])
            return sec
        data["wall"], data["rss"] = data["overhead_s"], r.maxrss
        runs.append(data)
        if data["overhead_s"] > ctx.slow:
            break
    k = str(len(runs))
    sec.add("load tidy table (`tables.load_tidy`)", f"{fmt_s(med(runs, 'load_s'))} "
            f"({runs[0]['tidy_rows']:,} rows)", "", "", k)
    sec.add(f"`overhead(tidy, manifest)` ({runs[0]['n_boot']})", f"{fmt_s(med(runs, 'overhead_s'))} "
            f"({runs[0]['rows']:,} overhead rows)", "", "", k)
    sec.add("peak RSS of the normalise process", fmt_mib(max(r["rss"] for r in runs)), "< 1 GiB",
            status(max(r["rss"] for r in runs) < TARGET_RSS), k)
    if runs[0].get("profile"):
        sec.notes.append("top functions by cumulative time (cProfile, one run):")
        sec.notes.extend(f"`{ln}`" for ln in runs[0]["profile"])
    return sec


def _scale_fleet(ctx) -> tuple[Path, str]:
    """The 40-environment raw folder: ``SCALE_ENVS`` environments (a fifth physical baselines, 40
    virtual), ``SCALE_RUNS`` runs each, copied from real results files by the fleet builder."""
    n = SCALE_ENVS * SCALE_RUNS
    raw = fleet_mod.build_fleet(n, ctx.cache, n_envs=SCALE_ENVS, log=lambda m: print(m, file=sys.stderr, flush=True))
    virtual = sum(1 for e in fleet_mod.fleet_info(raw)["environments"] if not e.startswith("phys-"))
    return raw, f"{virtual} virtual environments + {SCALE_ENVS - virtual} physical baselines, {SCALE_RUNS} runs each"


def bench_report(ctx) -> Section:
    sec = Section("report", "Batch report (`python -m vizlib report`): shipped data and 40 environments")
    raw40, desc40 = _scale_fleet(ctx)
    sec.notes.append(f"40 environments: {desc40} ({raw40.relative_to(ROOT) if raw40.is_relative_to(ROOT) else raw40})")
    for label, raw, target in (("shipped data", ROOT / "data" / "raw", TARGET_REPORT_SHIPPED_S),
                               ("40 environments", raw40, TARGET_REPORT_40_S)):
        runs = []
        for _ in range(1 if ctx.quick else min(ctx.reps, 2)):
            reports = Path(tempfile.mkdtemp(prefix="bench-reports-", dir=ctx.work))
            data, r = child("report", raw, reports, f"bench-{os.getpid()}", timeout=1800)
            shutil.rmtree(reports, ignore_errors=True)
            if data is None or data.get("rc") not in (0,):
                msg = (data or {}).get("error") or (r.stderr.strip().splitlines() or ["no output"])[-1]
                sec.add(f"{label}: report wall", f"failed (exit {(data or {}).get('rc', r.rc)})", "", "n/a",
                        note=msg[:300])
                break
            data["wall"], data["rss"] = r.wall, r.maxrss
            runs.append(data)
            if r.wall > ctx.slow * 3:
                break
        if not runs:
            continue
        k = str(len(runs))
        execute = med(runs, "execute_s")
        sec.add(f"{label}: report total wall (subprocess)", fmt_s(med(runs, "wall")), "", "", k)
        sec.add(f"{label}:   notebook execution (papermill.execute_notebook, summed)",
                f"{fmt_s(execute)} over {runs[0]['notebooks']} notebook(s)", f"< {target:g} s", status(execute < target),
                k)
        if runs[0]["exports"]:
            sec.add(f"{label}:   HTML export (nbconvert HTMLExporter, summed)",
                    f"{fmt_s(med(runs, 'export_s'))} over {runs[0]['exports']} export(s)", "", "", k)
        else:
            sec.add(f"{label}:   HTML export", "not seen in-process (nbconvert not called through HTMLExporter)", "", "")
        sec.add(f"{label}:   everything else (imports, ingest, normalise, orchestration)",
                fmt_s(med(runs, "wall") - execute - med(runs, "export_s")), "", "", k)
        sec.add(f"{label}: peak RSS (largest process: report or kernel)", fmt_mib(max(r["rss"] for r in runs)), "",
                "", k)
    return sec


def bench_model(ctx) -> Section:
    sec = Section("model", "Explorer (`vizlib.share_model`, `vizlib.explorer`): shipped data and 40 environments")
    raw40, desc40 = _scale_fleet(ctx)
    sec.notes.append(f"40 environments: {desc40}; the explorer starts with its default selection (the 8 largest; the figures say how many are shown)")
    for label, raw, processed in (("shipped data", ROOT / "data" / "raw", ctx.work / "model-shipped"),
                                  ("40 environments", raw40, ctx.work / "model-40")):
        data, r = child("model", raw, processed)  # load_inputs ingests into ``processed`` (not timed here)
        if data is None or "error" in data:
            msg = (data or {}).get("error") or (r.stderr.strip().splitlines() or ["no output"])[-1]
            sec.add(f"model on {label}", "n/a (error)", "", "n/a", note=msg[:300])
            continue
        sec.add(f"{label}: load inputs (`inputs.load_inputs`: tidy, manifest, overhead)", fmt_s(data["load_s"]),
                "", "", "1", note=f"{data['environments']} virtual environments")
        sec.add(f"{label}: first estimate (prepare + joint draws)", fmt_s(data["first_s"]), "", "", "1")
        sec.add(f"{label}: one slider change in the model (`mix.rebalance` + `share_model.evaluate`)",
                fmt_s(data["slider_s"]), "", "", str(data["n"]))
        sec.add(f"{label}: `share_model.estimate(category_slowdowns, replicates, mix)` (prepare + evaluate; "
                "the explorer prepares once)", fmt_s(data["estimate_s"]), "", "", "10")
        if data.get("ex_wall_s") is not None:
            sec.add(f"{label}: explorer start (`OverheadExplorer(inputs)`)", fmt_s(data["explorer_init_s"]), "", "",
                    "1", note=f"{data['ex_shown']} of {data['environments']} environments shown")
            sec.add(f"{label}: explorer slider change, model (`last_model_ms`: estimate + sensitivity)",
                    fmt_s(data["ex_model_s"]), f"< {TARGET_MODEL_S * 1e3:.0f} ms",
                    status(data["ex_model_s"] < TARGET_MODEL_S), str(data["ex_n"]))
            sec.add(f"{label}: explorer slider change, table HTML (`last_table_ms`)", fmt_s(data["ex_table_s"]),
                    "", "", str(data["ex_n"]))
            sec.add(f"{label}: explorer slider change, chart redraw + PNG (`last_draw_ms`)",
                    f"{fmt_s(data['ex_draw_s'])} (max {fmt_s(data['ex_draw_max_s'])})",
                    f"< {TARGET_DRAW_S * 1e3:.0f} ms", status(data["ex_draw_s"] < TARGET_DRAW_S), str(data["ex_n"]))
            sec.add(f"{label}: explorer slider change, total (widget value set -> chart updated)",
                    fmt_s(data["ex_wall_s"]), "", "", str(data["ex_n"]))
        else:
            sec.add(f"{label}: explorer", "n/a (error)", "", "n/a", note=data.get("explorer_error", ""))
    return sec


def bench_hostile(ctx) -> Section:
    sec = Section("hostile", "Parser linearity: CPU time per MB for 1x, 4x, 16x inputs (`parse_bytes`, one subprocess "
                  "each, warm: median of repeated parses after a first one)")
    base_mb = 0.25 if ctx.quick else 1.0
    cases = [(k, int(base_mb * MiB)) for k in ("concat", "noise-lines", "command-lines", "binaryish")]
    # digit runs longer than the 300 characters up to which the parser remembers noise lines: a
    # shorter base would time a cache lookup at 1x against the regexes at 4x and 16x
    cases.append(("digit-runs", 500))
    timeout = 30 if ctx.quick else 120
    for kind, base in cases:
        per_mb, cells = [], []
        for mult in (1, 4, 16):
            size = base * mult
            data, r = child("hostile", kind, size, 1 if (ctx.quick or mult == 16) else min(ctx.reps, 3), timeout=timeout)
            if data is None:
                cells.append(f"{mult}x: > {timeout} s (killed)" if r.wall >= timeout else f"{mult}x: error "
                             + (r.stderr.strip().splitlines() or ["?"])[-1][:120])
                per_mb.append(None)
                break
            mb = data["bytes"] / 1e6
            per_mb.append(data["s"] / mb)
            size_txt = f"{mb:.2f} MB" if mb >= 0.1 else f"{data['bytes'] / 1e3:.0f} KB"
            cells.append(f"{mult}x {size_txt}: {data['s'] / mb:.3f} s/MB")
        ok = all(p is not None for p in per_mb) and per_mb[-1] <= LINEAR_PER_MB * per_mb[0]
        ratio = f"; 16x/1x = {per_mb[-1] / per_mb[0]:.1f}" if all(p is not None for p in per_mb) else ""
        what = "line length " if kind == "digit-runs" else ""
        sec.add(f"{kind} ({what}1x = {base if kind == 'digit-runs' else f'{base / MiB:g} MiB'})",
                "; ".join(cells) + ratio, f"16x/1x <= {LINEAR_PER_MB}", status(ok))
    for kind, desc in fleet_mod.HOSTILE_KINDS.items():
        sec.notes.append(f"{kind}: {desc}")
    return sec


# --- child modes -------------------------------------------------------------------------------------------


def _child_normalise(raw, processed) -> dict:
    import cProfile
    import io
    import inspect
    import pstats

    t = time.perf_counter()
    from vizlib import manifest as manifest_mod, normalise, tables
    imp = time.perf_counter() - t
    t = time.perf_counter()
    tidy = tables.load_tidy(processed)  # (as the notebooks and the CLI load it: text columns as categoricals)
    load = time.perf_counter() - t
    man = manifest_mod.load(raw, check_folders=False)
    sig = inspect.signature(normalise.overhead)
    nb = sig.parameters.get("n_boot")
    n_boot = f"n_boot={nb.default}" if nb is not None and nb.default is not inspect.Parameter.empty else "defaults"
    prof = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    res = normalise.overhead(tidy, man)
    if prof:
        prof.disable()
    dt = time.perf_counter() - t
    top = []
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(15)
        top = [ln for ln in s.getvalue().splitlines() if ln.strip()][-15:]
    return {"import_s": imp, "load_s": load, "overhead_s": dt, "rows": len(res), "tidy_rows": len(tidy),
            "n_boot": n_boot, "profile": top}


def _child_parse(raw, outdir, reps, slow) -> dict:
    """The parse section's in-process figures, in a child: the files it holds in memory (160 MB for
    10,000 files) would otherwise stay in the benchmark's own process, and every later child's peak
    RSS (wait4's ru_maxrss) starts from its parent's at the fork."""
    from vizlib.parser import ParseError, parse_bytes

    blobs = [(f.read_bytes(), str(f)) for f in fleet_mod.fleet_files(Path(raw))]

    def parse_only():
        t, c = time.perf_counter(), time.process_time()
        for data, src in blobs:
            try:
                parse_bytes(data, src)
            except ParseError:
                pass
        return {"wall": time.perf_counter() - t, "cpu": time.process_time() - c}

    parse = median_runs(parse_only, int(reps), float(slow))
    del blobs
    phases = median_runs(lambda: _instrumented_ingest(Path(raw), Path(outdir)), int(reps), float(slow))
    return {"parse_only": parse, "phases": phases}


def _child_parse_cpu(raw) -> dict:
    cpu, values = getsummary.parse_cpu_per_file(fleet_mod.fleet_files(Path(raw)))
    return {"cpu": cpu, "values": values}


def _child_report(raw, reports_dir, name) -> dict:
    import papermill

    acc = {"execute_s": 0.0, "notebooks": 0, "export_s": 0.0, "exports": 0}
    orig_exec = papermill.execute_notebook

    def execute_notebook(*a, **kw):
        t = time.perf_counter()
        try:
            return orig_exec(*a, **kw)
        finally:
            acc["execute_s"] += time.perf_counter() - t
            acc["notebooks"] += 1

    papermill.execute_notebook = execute_notebook
    try:
        import papermill.execute as pm_exec
        pm_exec.execute_notebook = execute_notebook
    except ImportError:
        pass
    try:
        from nbconvert.exporters import HTMLExporter

        orig_export = HTMLExporter.from_notebook_node

        def from_notebook_node(self, *a, **kw):
            t = time.perf_counter()
            try:
                return orig_export(self, *a, **kw)
            finally:
                acc["export_s"] += time.perf_counter() - t
                acc["exports"] += 1

        HTMLExporter.from_notebook_node = from_notebook_node
    except ImportError:
        pass
    from vizlib.cli import main

    rc = main(["report", "--raw", str(raw), "--name", name, "--reports-dir", str(reports_dir)])
    acc["rc"] = rc
    return acc


def _child_model(raw, processed) -> dict:
    from vizlib import share_model
    from vizlib.catalogue import CATEGORIES
    from vizlib.ingest import ingest
    from vizlib.inputs import load_inputs
    from vizlib.mix import DEFAULT_MIX, rebalance, resolve_mix
    from vizlib.tables import RUNS

    processed = Path(processed)
    if not (processed / RUNS).is_file():
        ingest(raw, processed)  # not timed here: the ingest section measures it
    t = time.perf_counter()
    inputs = load_inputs(processed, raw)
    load = time.perf_counter() - t
    mix = resolve_mix(DEFAULT_MIX)
    t = time.perf_counter()
    cs, prep = inputs.prepared()
    share_model.evaluate(prep, mix)
    first = time.perf_counter() - t
    reps = inputs.replicates({(r.metric, r.param) for r in cs.itertuples(index=False) if share_model._finite(r.slowdown)})

    def timeit(fn, n):
        ts = []
        for i in range(n):
            t = time.perf_counter()
            fn(i)
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    n = 50
    cats = list(CATEGORIES)
    slider = timeit(lambda i: share_model.evaluate(prep, rebalance(mix, cats[i % len(cats)], (i % 10) / 10)), n)
    est = timeit(lambda i: share_model.estimate(cs, reps, rebalance(mix, cats[i % len(cats)], (i % 10) / 10)), 10)
    out = {"load_s": load, "first_s": first, "slider_s": slider, "estimate_s": est, "n": n,
           "environments": len(prep.environments)}
    # The explorer controller, every environment shown: one slider change = rebalance + model + table + chart PNG.
    try:
        import matplotlib
        matplotlib.use("Agg")
        from vizlib import explorer

        t = time.perf_counter()
        ex = explorer.OverheadExplorer(inputs)  # environments=None: all of them
        out["explorer_init_s"] = time.perf_counter() - t
        out["ex_shown"] = len(ex.environments.value)
        walls, mod, tab, drw = [], [], [], []
        for i in range(20):
            c = cats[i % len(cats)]
            v = 10.0 + (i * 7) % 50
            if abs(ex.sliders[c].value - v) < 1e-9:
                v += 1.0
            t = time.perf_counter()
            ex.sliders[c].value = v
            walls.append(time.perf_counter() - t)
            mod.append(ex.last_model_ms / 1e3)
            tab.append(ex.last_table_ms / 1e3)
            drw.append(ex.last_draw_ms / 1e3)
        out.update(ex_wall_s=statistics.median(walls), ex_model_s=statistics.median(mod),
                   ex_table_s=statistics.median(tab), ex_draw_s=statistics.median(drw), ex_n=len(walls),
                   ex_draw_max_s=max(drw))
    except Exception as exc:  # noqa: BLE001
        out["explorer_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


def _child_hostile(kind, size, reps) -> dict:
    """CPU time of one parse of the input, warm: the first (cold) parse fills the parser's caches and
    is not counted, and small inputs are parsed again until 0.2 s have passed, so a 2 KB input's
    ~30 us parse is not compared, cold and single, with a large one's."""
    from vizlib.parser import ParseError, parse_bytes

    data = fleet_mod.hostile_input(kind, int(size))

    def once() -> float:
        t = time.process_time()  # CPU time: the figure is a ratio, other processes must not skew it
        try:
            parse_bytes(data, f"<{kind}>")
        except ParseError:
            pass
        return time.process_time() - t

    cold = once()
    ts = [once()]
    while len(ts) < 10_000 and (len(ts) < int(reps) or sum(ts) < 0.2):
        ts.append(once())
    return {"bytes": len(data), "s": statistics.median(ts), "cold_s": cold, "n": len(ts)}


CHILDREN = {"normalise": _child_normalise, "report": _child_report, "model": _child_model, "hostile": _child_hostile,
            "parse": _child_parse, "parse_cpu": _child_parse_cpu}


# --- main --------------------------------------------------------------------------------------------------


@dataclass
class Context:
    sizes: list
    reps: int
    slow: float
    quick: bool
    cache: Path
    work: Path
    only: set
    lmbench_scripts: str = ""  # lmbench's scripts folder for the getsummary section ("": LMBENCH_SCRIPTS)
    largest_processed: tuple | None = None


def version(pkg: str) -> str:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: fleets 100 and 1,000, 1 repetition, small inputs")
    ap.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)} (default all)")
    ap.add_argument("--sizes", default="", help="fleet sizes, e.g. 100,1000,10000 (default; --quick: 100,1000)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per figure (default 3; --quick 1)")
    ap.add_argument("--slow", type=float, default=20.0, help="stop repeating a figure once one run took this long (s)")
    ap.add_argument("--cache", type=Path, default=fleet_mod.DEFAULT_CACHE, help="fleet cache folder")
    ap.add_argument("--results", type=Path, default=None, help="where to write the markdown table "
                    "(default benchmarks/out/results.md; results-quick.md with --quick)")
    ap.add_argument("--lmbench-scripts", default="", metavar="DIR",
                    help="lmbench's scripts folder, for the getsummary section (default: $LMBENCH_SCRIPTS)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SEC",
                    help="first wait up to SEC seconds for other processes to leave the cores idle")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        mode, *rest = args.child
        try:
            res = CHILDREN[mode](*rest)
        except Exception as exc:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            res = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write("\n" + json.dumps(res) + "\n")
        return 0

    # Commands run as on a normal install: Python caches vizlib's bytecode. (Some shells and CI images
    # set PYTHONDONTWRITEBYTECODE, which makes every measured command compile vizlib from source: ~25 ms.)
    bytecode_note = ("- bytecode cached as on a normal install (PYTHONDONTWRITEBYTECODE was set and is unset for the "
                     "measured commands)" if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None else "")
    only = set(s.strip() for s in args.only.split(",") if s.strip()) or set(SECTIONS)
    bad = only - set(SECTIONS)
    if bad:
        ap.error(f"unknown section(s) {', '.join(sorted(bad))}; choose from {', '.join(SECTIONS)}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] or ([100, 1000] if args.quick else [100, 1000, 10000])
    reps = args.reps or (1 if args.quick else 3)
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=OUT))
    ctx = Context(sizes, reps, args.slow, args.quick, args.cache, work, only, args.lmbench_scripts)

    load = foreign_load()
    deadline = time.monotonic() + args.wait_idle
    while load > 0.15 and time.monotonic() < deadline:
        print(f"waiting for an idle machine: other processes keep {load:.2f} cores busy", file=sys.stderr, flush=True)
        time.sleep(10)
        load = foreign_load()
    header = [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; machine: {platform.machine()}, "
        f"{cores()} usable cores (`len(os.sched_getaffinity(0))`), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB:.0f} GiB RAM",
        f"- Python {platform.python_version()}, pandas {version('pandas')}, numpy {version('numpy')}, "
        f"vizlib {version('vizlib')}",
        f"- run: `{' '.join(['python benchmarks/bench.py'] + (argv if argv is not None else sys.argv[1:]))}`; "
        f"fleets {', '.join(f'{s:,}' for s in sizes)}; median of up to {reps} repetitions "
        f"(1 once a run takes > {args.slow:g} s; column n)",
        f"- targets: ingest at most {TARGET_GETSUMMARY_RATIO} x lmbench getsummary's time on the same 6,320 files; "
        f"re-ingest after adding one run <= {100 * TARGET_INCREMENTAL:.0f}% of the first ingest; "
        f"{TARGET_INGEST_FILES:,} files in < {TARGET_INGEST_S} s on all cores; peak memory < 1 GiB; explorer "
        f"model < {TARGET_MODEL_S * 1e3:.0f} ms and chart < {TARGET_DRAW_S * 1e3:.0f} ms; report notebooks "
        f"< {TARGET_REPORT_SHIPPED_S:g} s (shipped data), < {TARGET_REPORT_40_S:g} s (40 environments)",
        "- all figures are warm page cache",
        *([bytecode_note] if bytecode_note else []),
        f"- other processes kept {load:.2f} of {cores()} cores busy just before the run"
        + (" (figures are inflated: rerun on an idle machine, e.g. with --wait-idle 600)" if load > 0.15 else ""),
    ]
    funcs = {"ingest": bench_ingest, "getsummary": bench_getsummary, "incremental": bench_incremental,
             "parse": bench_parse, "startup": bench_startup, "normalise": bench_normalise, "report": bench_report,
             "model": bench_model, "hostile": bench_hostile}
    sections = []
    t_all = time.perf_counter()
    try:
        for key in SECTIONS:
            if key not in only:
                continue
            print(f"== {key}", file=sys.stderr, flush=True)
            try:
                sections.append(funcs[key](ctx))
            except Exception as exc:  # noqa: BLE001  a broken section must not hide the others
                import traceback
                traceback.print_exc()
                s = Section(key, key)
                s.add(key, f"error: {type(exc).__name__}: {exc}"[:300], "", "n/a")
                sections.append(s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header.append(f"- benchmark wall time: {time.perf_counter() - t_all:.0f} s; this process's own peak RSS: "
                  f"{_own_peak_mib():.0f} MiB (a child's peak RSS cannot be below its parent's at the fork)")
    text = render(sections, header)
    print(text)
    dest = args.results or (OUT / ("results-quick.md" if args.quick else "results.md"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten to {dest}", file=sys.stderr)
    misses = [r.figure for s in sections for r in s.rows if r.status == "MISS"]
    if misses:  # a MISS is a finding, not a failure of the benchmark itself: exit 0 all the same
        print(f"{len(misses)} target(s) missed: {'; '.join(misses)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
