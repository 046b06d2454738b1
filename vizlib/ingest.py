"""Ingest a raw folder into the tidy tables of ``data/processed/``.

Three CSV tables, written atomically and byte-identical for the same input (files are visited in
sorted order, floats written with ``repr``, nothing depends on hashing or on the file system):

- ``lmbench_tidy/<environment>.csv``: one row per measured value (``TIDY_COLUMNS``), one file per
  environment of the manifest;
- ``lmbench_runs.csv``: one row per raw file, ingested or rejected (``RUNS_COLUMNS``);
- ``ingest_issues.csv``: every rejected file, invalid, unknown, noise and decode line (``ISSUE_COLUMNS``).

Each file's rows are made on their own (``parse_one``): the tables are the files' rows in file
order, plus a ``duplicate`` issue row after a file whose content an earlier file has. Parsing runs
in worker processes when there are many files, in batches that shrink towards the end so the
workers finish together; each worker writes its files' tidy rows to a part file and returns the
small rest as CSV bytes, and the parent copies the part files into the tidy files in the kernel: it
never holds the rows, nor one Python object per value. A tidy file goes to disk in the background as
it grows, so publishing a fleet's table does not wait for hundreds of MB.

Incremental: ``ingest_cache.json`` (``vizlib.ingest_cache``) records where each file's rows went.
The next ingest into the same folder parses only new or changed files and copies the other files'
rows from the previous tables, byte ranges checked against their CRC-32; an environment whose files
are all unchanged keeps its tidy file as it is (checked the same way), so adding a run rewrites one
environment's rows, not the fleet's. The result is the same bytes as a full ingest. Any doubt about
the cache or the previous tables means a full ingest.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import gc
import hashlib
import io
import json
import os
import re
import resource
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter
from pathlib import Path

from . import __version__, atomic, catalogue, ingest_cache, manifest as manifest_mod, paths
from .errors import ManifestError, ParseError
from .ingest_cache import Entry
from .parser import MAX_FILE_BYTES, META_COLUMNS, parse_bytes, too_big_reason
from .tables import ISSUE_COLUMNS, ISSUES, MANIFEST_COPY, PROVENANCE, RUNS, RUNS_COLUMNS, TIDY, TIDY_COLUMNS, tidy_file

PARALLEL_MIN_FILES = 300  # below this, starting worker processes (~90 ms CPU each) costs more than it saves
BATCH_MIN, BATCH_MAX = 16, 1024  # files per batch a worker parses (~1 ms each); see _batches
CACHE = ingest_cache.CACHE
_CRC = Entry._fields.index("crc")  # an entry's fields from here on are the file's, not where its rows are


@dataclass
class FileResult:
    """One raw file's rows, as CSV bytes, and what the summary needs of it."""

    environment: str
    run: str
    sha256: str  # of the content ("" when the file could not be read)
    dup_sha: str  # what duplicate detection compares ("" for an empty or unread file)
    tidy: bytes  # the tidy rows (b"" once a worker has written them to its part file)
    tidy_len: int
    runs: bytes  # the runs row
    issues: bytes  # the file's own issue rows
    crc: int  # CRC-32 of tidy + runs + issues
    values: int = 0
    noise: int = 0
    decode: int = 0
    rejected: str = ""  # "file:line: reason" when the whole file was rejected
    unknown: list = field(default_factory=list)  # "file:line: text"
    invalid: list = field(default_factory=list)  # "file:line: reason"
    cacheable: bool = True  # its rows depend only on its content (not on a failed read or a link)


@dataclass
class IngestSummary:
    raw_dir: Path
    out_dir: Path
    files: int = 0
    values: int = 0
    rejected: list = field(default_factory=list)  # "file:line: reason"
    unknown: list = field(default_factory=list)  # "file:line: text"
    invalid: list = field(default_factory=list)
    noise_lines: int = 0
    decode_replaced: int = 0
    duplicates: list = field(default_factory=list)  # messages about identical files
    per_env_values: dict = field(default_factory=dict)
    parsed: int = 0  # files parsed by this ingest
    reused: int = 0  # files whose rows were copied from the previous tables (ingest cache)
    full_reason: str = ""  # why nothing was reused ("" when the cache was used)

    @property
    def exit_code(self) -> int:
        return 1 if (self.rejected or self.invalid) else 0


def _csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _result(environment: str, run: str, sha: str, size: int, tidy: bytes, run_row: list, issue_rows: list,
            cacheable: bool = True, **counts) -> FileResult:
    runs = _csv_text([run_row]).encode()
    issues = _csv_text(issue_rows).encode() if issue_rows else b""
    return FileResult(environment, run, sha, sha if size else "", tidy, len(tidy), runs, issues,
                      ingest_cache.crc(tidy, runs, issues), cacheable=cacheable, **counts)


def _rejected(environment: str, run: str, sha: str, size: int, line: int, reason: str,
              cacheable: bool = True) -> FileResult:
    run_row = [environment, run, "rejected", "", sha, size, 0, 0, 0, 0] + [""] * len(META_COLUMNS)
    return _result(environment, run, sha, size, b"", run_row, [[environment, run, line, "rejected", reason, ""]],
                   cacheable and bool(sha), rejected=f"{run}:{line}: {reason}")


def parse_one(environment: str, path: str, run: str) -> FileResult:
    """Parse one raw file into ready-to-write rows. Never raises for bad content."""
    data, size, sha = b"", 0, ""
    try:
        with open(path, "rb") as fh:  # read-only: raw files are never modified
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:  # hash it in chunks for the record, but never load it whole
                digest = hashlib.sha256()
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
                sha = digest.hexdigest()
                raise ParseError(run, 0, too_big_reason(size))
            data = fh.read()
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
        parsed = parse_bytes(data, run)
    except ParseError as exc:
        return _rejected(environment, run, sha, size, exc.line, exc.reason)
    except OSError as exc:
        return _rejected(environment, run, "", 0, 0, f"cannot read: {exc.strerror or exc}", cacheable=False)

    issues = parsed.issues
    issue_rows = [[environment, run, i.line, i.kind, i.reason, i.text] for i in issues]
    run_row = [environment, run, "ok", parsed.format, sha, len(data), len(parsed.values), parsed.count("noise"),
               parsed.count("unknown"), parsed.count("invalid")] + [parsed.meta[k] for k in META_COLUMNS]
    return _result(environment, run, sha, size, tidy_csv(environment, run, parsed.values).encode(), run_row, issue_rows,
                   values=len(parsed.values), noise=parsed.count("noise"), decode=parsed.count("decode"),
                   unknown=[f"{run}:{i.line}: {i.text}" for i in issues if i.kind == "unknown"],
                   invalid=[f"{run}:{i.line}: {i.reason}" for i in issues if i.kind == "invalid"])


def tidy_csv(environment: str, run: str, values) -> str:
    """The tidy rows of one file as CSV text, byte-identical to ``csv.writer`` output.

    Formatting is the hot loop of a fleet ingest (millions of rows), so a file's rows are built
    column by column (``zip``/``map``/``str.join``, no Python loop per value) when no field needs
    quoting: no value has a note and no param has a comma, quote or line break (the environment and
    run are quoted once). Otherwise row by row (``_tidy_csv_rows``).
    """
    if not values:
        return ""
    lines, metrics, params, numbers, lows, notes = zip(*values)
    if any(notes) or not _PLAIN_FIELD("".join(params)):
        return _tidy_csv_rows(environment, run, values)
    for metric in set(metrics).difference(_METRIC_TAIL):
        m = catalogue.get(metric)
        _METRIC_TAIL[metric] = f"{m.unit},{m.category},{m.direction},"
    head = _csv_text([[environment, run]])[:-1] + ","
    return "".join(chain.from_iterable(zip(
        repeat(head), map(str, lines), repeat(","), metrics, repeat(","), params, repeat(","), map(repr, numbers),
        repeat(","), map(_METRIC_TAIL.__getitem__, metrics), map(_LOW_TEXT.__getitem__, lows))))


def _tidy_csv_rows(environment: str, run: str, values) -> str:
    """``tidy_csv`` one row at a time: rows whose free-text fields need no quoting are joined
    directly, the rest go through ``csv.writer``."""
    head = _csv_text([[environment, run]])[:-1] + ","
    out = []
    for v in values:
        tail = _METRIC_TAIL.get(v.metric)
        if tail is None:
            m = catalogue.get(v.metric)
            tail = _METRIC_TAIL[v.metric] = f"{m.unit},{m.category},{m.direction},"
        param = v.param
        if v.note or not _PLAIN_FIELD(param):
            m = catalogue.get(v.metric)
            out.append(_csv_text([[environment, run, v.line, v.metric, param, repr(v.value), m.unit, m.category,
                                   m.direction, "true" if v.low_precision else "false", v.note]]))
        else:
            out.append(f"{head}{v.line},{v.metric},{param},{v.value!r},{tail}{'true' if v.low_precision else 'false'},\n")
    return "".join(out)


_METRIC_TAIL: dict = {}  # metric id -> "unit,category,direction,"
_LOW_TEXT = ("false,\n", "true,\n")  # low_precision and the empty note, by bool
_PLAIN_FIELD = re.compile(r'[^,"\r\n]*\Z').match  # csv.writer quotes a field only for these characters


@contextlib.contextmanager
def _gc_paused():
    """The cyclic garbage collector off meanwhile (parsing makes hundreds of thousands of small
    tuples and no reference cycles: its collections cost ~7% of parse time); restored after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _parse_one_or_outside(args) -> FileResult:
    return parse_one(*args) if args[1] else _outside(*args)


def _parse_batch(batch, part_path: str):
    """Worker: parse a batch and write its tidy rows to ``part_path`` itself, so hundreds of MB
    of CSV text never travel back through the pipe; only the small per-file records do."""
    results = []
    with open(part_path, "wb") as fh, _gc_paused():
        for args in batch:
            res = _parse_one_or_outside(args)
            fh.write(res.tidy)  # as each file is parsed: a large batch never holds its rows in memory
            res.tidy = b""
            results.append(res)
    return results


def raw_files(raw_dir, man: manifest_mod.Manifest) -> list[tuple[str, str, str]]:
    """(environment, absolute path, run) for every file of every environment, in sorted order.

    ``run`` is the path relative to the raw folder with '/' separators. An environment's files are
    those below ``<raw>/<name>/``, or those its ``runs`` patterns match. Hidden files are skipped; a
    symlink that leads outside the raw folder is returned with path "" so it is rejected. Bytes of
    a file name that are not UTF-8 are written ``\\xNN`` in ``run`` (the tables are UTF-8).
    ManifestError when a pattern matches no file or a file is claimed by two environments.
    """
    raw_dir = Path(raw_dir).resolve()
    out, owner = [], {}
    for env in man.environments.values():
        files = _pattern_files(raw_dir, env, man) if env.runs else _folder_files(raw_dir, env.name)
        files = [(e, path, run if run.isascii() else _printable_name(run)) for e, path, run in files]
        for _env, _path, run in files:
            if run in owner:
                raise ManifestError(man.path, 0, f"{run} belongs to both {owner[run]!r} and {env.name!r}: "
                                    "give each file to one environment")
            owner[run] = env.name
        out.extend(files)
    return out


def _printable_name(run: str) -> str:
    """``run`` as valid UTF-8: a file name's undecodable bytes (surrogate escapes) as ``\\xNN``."""
    try:
        run.encode("utf-8")
        return run
    except UnicodeEncodeError:
        return os.fsencode(run).decode("utf-8", "backslashreplace")


def _entry(env: str, path: str, raw_dir: Path) -> tuple[str, str, str]:
    """(environment, readable path or "" to reject, run) for one directory entry."""
    run = os.path.relpath(path, raw_dir).replace(os.sep, "/")
    if os.path.islink(path):  # only links need resolving (cheap lstat for the rest)
        inside = _inside(Path(path), raw_dir, want_dir=False)
        return env, str(Path(path).resolve()) if inside else "", run
    if os.path.isfile(path):
        return env, path, run
    return env, "", run  # FIFO, socket, device: never opened


def _folder_files(raw_dir: Path, name: str) -> list[tuple[str, str, str]]:
    """The files below ``<raw>/<name>/`` as os.walk lists them top-down (each folder's files, then
    its sub-folders, both sorted), hidden ones left out; a link to a folder is listed as a file (so it
    is rejected), not followed."""
    folder = raw_dir / name
    if folder.is_symlink() and not _inside(folder, raw_dir, want_dir=True):
        return [(name, "", name)]
    out: list = []
    _walk(str(folder), name + "/", name, raw_dir, out)
    return out


def _walk(dirpath: str, prefix: str, env: str, raw_dir: Path, out: list) -> None:
    try:
        with os.scandir(dirpath) as it:
            found = [e for e in it if not e.name.startswith(".")]
    except OSError:  # as os.walk: an unreadable folder is skipped
        return
    dirs, files = [], []
    for e in found:
        try:
            is_dir = e.is_dir()  # (follows links, as os.walk does)
        except OSError:
            is_dir = False
        (dirs if is_dir and not e.is_symlink() else files).append(e)
    for e in sorted(files, key=_name):
        if e.is_symlink():
            out.append(_entry(env, e.path, raw_dir))
        else:  # a regular file, or a FIFO, socket or device: never opened
            out.append((env, e.path if e.is_file(follow_symlinks=False) else "", prefix + e.name))
    for e in sorted(dirs, key=_name):
        _walk(e.path, prefix + e.name + "/", env, raw_dir, out)


_name = attrgetter("name")


def _pattern_files(raw_dir: Path, env, man) -> list[tuple[str, str, str]]:
    """The files ``env.runs`` match, sorted by run name; folders matched are not runs."""
    found = {}
    for pattern in env.runs:
        hits = [p for p in raw_dir.glob(pattern) if not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)]
        hits = [p for p in hits if p.is_symlink() or not p.is_dir()]
        if not hits:
            raise ManifestError(man.path, 0, f"environments.{env.name}: runs pattern {pattern!r} matches no file in "
                                f"{raw_dir.name}/")
        for p in hits:
            entry = _entry(env.name, str(p), raw_dir)
            found[entry[2]] = entry
    return [found[run] for run in sorted(found)]


def _inside(path: Path, raw_dir: Path, want_dir: bool) -> bool:
    """True if ``path`` resolves to a regular file (or folder) inside ``raw_dir``."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling link or a symlink loop
        return False
    return real.is_relative_to(raw_dir) and (real.is_dir() if want_dir else real.is_file())


def _results(files, jobs: int, part_dir: Path):
    """Yield (results of a batch of files, path of its tidy part file or None), in file order."""
    if jobs <= 1 or len(files) < PARALLEL_MIN_FILES:
        for args in files:  # (the collector is paused by ingest)
            yield [_parse_one_or_outside(args)], None
        return
    batches = _batches(files, jobs)
    parts = [str(part_dir / f"part-{i:06d}.csv") for i in range(len(batches))]
    pool = _process_pool(jobs)
    try:
        yield from zip(pool.map(_parse_batch, batches, parts), parts)
    finally:  # also when the caller stops early: batches not started are dropped, not parsed
        pool.shutdown(wait=True, cancel_futures=True)


def _process_pool(jobs: int):
    """Worker processes for parsing. "spawn" is safe inside a Jupyter kernel (no fork of a threaded
    process); the watchdog ends the workers if the parent is killed (kill -9), since they would
    otherwise wait forever. Imported here: multiprocessing is ~10 ms of start-up that a re-ingest
    or a small folder (parsed in this process) never needs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _batches(files: list, jobs: int) -> list[list]:
    """``files`` cut into batches that shrink as they go (guided scheduling): large ones first, where
    a batch's fixed cost (a part file, a round trip to the worker) matters, small ones at the end,
    so every worker finishes within a few files of the others instead of idling through a long tail."""
    out, i = [], 0
    while i < len(files):
        size = min(BATCH_MAX, max(BATCH_MIN, -(-(len(files) - i) // (jobs * 4))))
        out.append(files[i:i + size])
        i += size
    return out


def _parsed(files, jobs: int, part_dir: Path, write_pending):
    """Yield (FileResult, source of its tidy rows, their offset in it) for ``files``, in order.

    The source is the result's own bytes, or the worker's part file, opened and unlinked: its rows
    go from there to the table in the kernel (``_Table.add``), never through this process's memory
    (at fleet scale, reading and writing them here cost the parent ~1 s of CPU that the workers
    need). ``write_pending()`` writes what the current tidy file holds back, so a part file can be
    closed after it (a finished environment's tidy file has written everything: ``_Table.complete``).
    """
    source = None
    try:
        for batch, part in _results(files, jobs, part_dir):
            if part is None:
                for res in batch:
                    yield res, res.tidy, 0
                continue
            if source is not None:
                write_pending()
                source.close()
            source = _FileSource(Path(part))
            os.unlink(part)  # (the open descriptor keeps its bytes until closed)
            off = 0
            for res in batch:
                yield res, source, off
                off += res.tidy_len
    finally:
        if source is not None:
            source.close()


def _exit_with_parent(parent_pid: int) -> None:
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _outside(environment, _path, run) -> FileResult:
    reason = "symlink or special file that does not resolve to a regular file inside the raw folder"
    return _rejected(environment, run, "", 0, 0, reason, cacheable=False)


@contextlib.contextmanager
def _folder_locked(out_dir: Path):
    """Hold an exclusive flock on the processed folder: a second ingest into it waits for the first
    (then finds its tables and cache), so two never publish a mix of their files."""
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _allow_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files towards ``needed`` (within the hard limit): an
    ingest holds a few files per environment open until it publishes them together, and 1,024, a
    common default, is reached at ~300 environments."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else min(needed, hard), hard))
    except (ValueError, OSError):  # not allowed here: the ingest says so if it runs out
        pass


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def ingest(raw_dir, out_dir, jobs: int | None = None, progress=None, *, full: bool = False) -> IngestSummary:
    """Parse every file of ``raw_dir`` (validated by its manifest) into the tables in ``out_dir``.

    ManifestError (nothing written) for a bad manifest; bad files are rejected and listed, and the
    rest still ingest. ``progress(done, total)`` is called as files complete. With 300 files or
    more to parse, parsing runs in ``jobs`` spawned worker processes: a plain script calling this
    must do so under ``if __name__ == "__main__":`` (Python's rule for spawned workers).

    Incremental: files the previous ingest into ``out_dir`` already parsed, unchanged, are not
    parsed again (``vizlib.ingest_cache``); ``full=True`` parses every file all the same. Either
    way the tables are the same bytes.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    man = manifest_mod.load(raw_dir)
    manifest_bytes = man.path.read_bytes()
    files = raw_files(raw_dir, man)
    jobs = default_jobs() if jobs is None else max(1, jobs)
    out_dir.mkdir(parents=True, exist_ok=True)
    _allow_open_files(3 * len(man.environments) + 64)
    # Thousands of cache entries and per-file records, no reference cycles: the cyclic collector's
    # passes over them were ~6% of a re-ingest's time.
    with _folder_locked(out_dir), _gc_paused():
        cache, why = (None, "a full ingest was asked for") if full else ingest_cache.load(out_dir, (RUNS, ISSUES))
        try:
            return _ingest(raw_dir, out_dir, files, man, manifest_bytes, jobs, progress, cache, why)
        except ingest_cache.CacheMismatch as exc:  # found while copying: nothing was published
            return _ingest(raw_dir, out_dir, files, man, manifest_bytes, jobs, progress, None, str(exc))


def _ingest(raw_dir: Path, out_dir: Path, files, man, manifest_bytes: bytes, jobs: int, progress, cache, why: str):
    summary = IngestSummary(raw_dir, out_dir, files=len(files), full_reason=why)
    scan_ns = time.time_ns()  # before any stat: a file changed from here on is "racy" next time
    stats = [_stat(path) for _env, path, _run in files]
    plan = _plan(files, stats, cache)
    todo = [f for f, reuse in zip(files, plan) if reuse is None]
    summary.parsed, summary.reused = len(todo), len(files) - len(todo)
    envs = list(man.environments)
    tidy_header = _csv_text([TIDY_COLUMNS]).encode()
    kept = _kept_tidy_files(envs, files, plan, cache, len(tidy_header))
    rewrite = [env for env in envs if env not in kept]

    outputs = [out_dir / tidy_file(env) for env in rewrite]
    outputs += [out_dir / name for name in (RUNS, ISSUES, MANIFEST_COPY, PROVENANCE, CACHE)]  # cache renamed last
    with atomic.open_atomic_group(outputs, "wb") as handles, \
            tempfile.TemporaryDirectory(prefix=".ingest-parts-", dir=out_dir) as part_dir, \
            _Previous(out_dir if kept or (cache is not None and summary.reused) else None) as old, \
            contextlib.closing(_parsed(todo, jobs, Path(part_dir), lambda: tidy and tidy.write_pending())) as parsed, \
            contextlib.ExitStack() as stop:  # (left first: writebacks end before anything is closed)
        *tidy_fhs, runs_fh, issues_fh, man_fh, prov_fh, cache_fh = handles
        tidy_tables = {env: _Table(fh, tidy_header) for env, fh in zip(rewrite, tidy_fhs)}
        runs, issues = _Table(runs_fh, _csv_text([RUNS_COLUMNS]).encode()), _Table(issues_fh, _csv_text([ISSUE_COLUMNS]).encode())
        for table in (*tidy_tables.values(), runs, issues):
            stop.callback(table.close)
        old.check_headers(kept, tidy_header)
        old.check([e for e in plan if e is not None])
        seen_hash: dict[str, str] = {}
        entries = []
        tidy, tidy_env = None, None
        for i, ((env, _path, run), st, reuse) in enumerate(zip(files, stats, plan)):
            if env != tidy_env:  # files come environment by environment
                if tidy is not None:
                    tidy.complete()
                tidy, tidy_env = tidy_tables.get(env), env  # None: the environment's file is kept as it is
            if reuse is not None:  # the previous tables' bytes (their CRC-32 checked by old.check)
                rec = reuse
                tidy_span, runs_span, issues_span = old.spans(rec)
                where = tidy.add(*tidy_span) if tidy is not None else (rec.tidy_off, rec.tidy_len)
                entries.append(Entry(env, run, *st, rec.sha256, rec.dup_sha, *where, *runs.add(*runs_span),
                                     *issues.add(*issues_span), *rec[_CRC:]))
            else:
                rec, buf, a = next(parsed)
                offsets = (*tidy.add(buf, a, a + rec.tidy_len), *runs.add(rec.runs, 0, len(rec.runs)),
                           *issues.add(rec.issues, 0, len(rec.issues)))
                if rec.cacheable and st is not None:
                    entries.append(Entry(env, run, *st, rec.sha256, rec.dup_sha, *offsets, rec.crc, rec.values,
                                         rec.noise, rec.decode, rec.rejected, rec.unknown, rec.invalid))
            _count(summary, env, rec)
            if rec.dup_sha:
                if rec.dup_sha in seen_hash:
                    msg = (f"{run} has the same content as {seen_hash[rec.dup_sha]} (sha256 {rec.dup_sha[:12]}); "
                           "both are ingested")
                    summary.duplicates.append(msg)
                    row = _csv_text([[env, run, 0, "duplicate", msg, ""]]).encode()
                    issues.add(row, 0, len(row))
                else:
                    seen_hash[rec.dup_sha] = run
            if progress:
                progress(i + 1, len(files))
        identities = {}
        for name, table in (*((tidy_file(env), tidy_tables.get(env)) for env in envs), (RUNS, runs), (ISSUES, issues)):
            if table is None:  # kept as it is
                identities[name] = cache.tables[name]
            else:
                table.flush()
                identities[name] = ingest_cache.table_identity(table.fd)
        old.finish()  # CacheMismatch, and nothing published, unless every reused range had its CRC-32
        old.close()  # the previous tables may be replaced now
        man_fh.write(manifest_bytes)
        prov = {"raw_dir": paths.project_relative(raw_dir) or str(raw_dir.resolve()),
                "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(), "vizlib_version": __version__,
                "files": len(files)}
        prov_fh.write((json.dumps(prov, indent=1, sort_keys=True) + "\n").encode())
        cache_fh.write(ingest_cache.dumps(scan_ns, identities, entries))
    _remove_stale_tidy_files(out_dir, envs)
    return summary


def _kept_tidy_files(envs: list, files, plan, cache, header: int) -> set:
    """The environments whose tidy file the previous ingest left exactly as this one would write it:
    every one of its files reused, in the same order, their rows filling the file from the header
    (``header`` bytes) to its end. Those files are not written again (their header and rows are still
    checked: ``_Previous.check_headers``, ``_Previous.check``)."""
    if cache is None:
        return set()
    reused: dict = {env: [] for env in envs}
    for (env, _path, _run), reuse in zip(files, plan):
        reused[env].append(reuse)
    kept = set()
    for env, recs in reused.items():
        identity = cache.tables.get(tidy_file(env))
        if identity is None or None in recs:
            continue
        end = header
        for rec in recs:
            if rec.tidy_off != end:
                break
            end += rec.tidy_len
        else:
            if end == identity[1]:  # (identity: inode, size, mtime_ns)
                kept.add(env)
    return kept


def _remove_stale_tidy_files(out_dir: Path, envs: list) -> None:
    """Remove the tidy files of environments the manifest no longer has (the folder is ingest's own),
    and the single-file ``lmbench_tidy.csv`` of earlier versions, once the new tables are published."""
    keep = {Path(tidy_file(env)).name for env in envs}
    for path in (out_dir / TIDY).glob("*.csv"):
        if path.name not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (out_dir / "lmbench_tidy.csv").unlink()


def _stat(path: str) -> tuple | None:
    if not path:
        return None
    try:
        return ingest_cache.stat_key(os.stat(path))
    except OSError:
        return None


def _plan(files, stats, cache) -> list:
    """Per file, the cache entry whose rows can be copied, or None when the file must be parsed."""
    if cache is None:
        return [None] * len(files)
    plan = []
    for (env, path, run), st in zip(files, stats):
        entry, trusted = cache.lookup(env, run, st)
        if entry is not None and not trusted:  # stat changed, or too recent to vouch for the content
            try:
                same = os.path.isfile(path) and ingest_cache.file_sha256(path) == entry.sha256
            except OSError:
                same = False
            entry = entry if same else None
        plan.append(entry)
    return plan


def _count(summary: IngestSummary, env: str, rec) -> None:
    """Add one file (a FileResult or a cache entry) to the summary."""
    summary.values += rec.values
    summary.per_env_values[env] = summary.per_env_values.get(env, 0) + rec.values
    summary.noise_lines += rec.noise
    summary.decode_replaced += rec.decode
    if rec.rejected:
        summary.rejected.append(rec.rejected)
    summary.unknown.extend(rec.unknown)
    summary.invalid.extend(rec.invalid)


class _Table:
    """One output table being written, straight to its file descriptor.

    ``add(source, start, end)`` appends bytes ``start:end`` of ``source``: a bytes-like buffer (a
    parsed file's rows) or a ``_FileSource`` (a worker's part file, or the previous table's reused
    rows: copied in the kernel, ``os.copy_file_range``); a range that continues the previous one of the same
    source is joined to it, so a run of unchanged files is one copy. Returns (offset, length) of the
    bytes in this table."""

    SMALL = 1 << 16  # pieces below this are gathered and written together
    SYNC_EVERY = 1 << 26  # bytes written between two background writebacks (see _sync_behind)

    def __init__(self, fh, header: bytes):
        fh.flush()
        self.fh, self.fd, self.pos = fh, fh.fileno(), 0
        self.unsynced, self.syncer, self.sync_error = 0, None, None
        self.src, self.a, self.b = None, 0, 0  # the pending range
        self.small: list = []
        self.small_bytes = 0
        self.add(header, 0, len(header))

    def add(self, src, a: int, b: int) -> tuple[int, int]:
        off = self.pos
        if b > a:
            if src is self.src and a == self.b:
                self.b = b
            else:
                self._flush_range()
                self.src, self.a, self.b = src, a, b
            self.pos += b - a
        return off, max(0, b - a)

    def _flush_range(self) -> None:
        src, a, b = self.src, self.a, self.b
        self.src = None
        if src is None:
            return
        if isinstance(src, _FileSource):
            self._flush_small()
            src.copy_to(self.fd, a, b)
            self._sync_behind(b - a)
        elif b - a >= self.SMALL:
            self._flush_small()
            _write_all(self.fd, memoryview(src)[a:b])
            self._sync_behind(b - a)
        else:
            self.small.append(memoryview(src)[a:b])
            self.small_bytes += b - a
            if self.small_bytes >= 1 << 20:
                self._flush_small()

    def _flush_small(self) -> None:
        if self.small:
            _write_all(self.fd, b"".join(self.small))
            self._sync_behind(self.small_bytes)
            self.small, self.small_bytes = [], 0

    def _sync_behind(self, written: int, now: bool = False) -> None:
        """Every SYNC_EVERY bytes (or ``now``), write the table to disk in a background thread
        (``fdatasync``) while parsing goes on, so the fsync that publishes it has only the last part
        left to write (a fleet's tidy table is hundreds of MB: ~0.15 s of waiting at the end otherwise)."""
        self.unsynced += written
        if (now or self.unsynced >= self.SYNC_EVERY) and (self.syncer is None or not self.syncer.is_alive()):
            self.unsynced = 0
            # on its own descriptor: if the ingest fails and the table's is closed (and its number
            # reused by the next open), the thread still syncs this table and nothing else
            self.syncer = threading.Thread(target=self._fdatasync, args=(os.dup(self.fd),), daemon=True)
            self.syncer.start()

    def _fdatasync(self, fd: int) -> None:
        try:
            os.fdatasync(fd)
        except OSError as exc:  # a write error is reported once per file: keep it for flush()
            self.sync_error = exc
        finally:
            os.close(fd)

    def write_pending(self) -> None:
        """Write what ``add`` holds back (the pending range, the gathered small pieces)."""
        self._flush_range()
        self._flush_small()

    def complete(self) -> None:
        """Nothing more will be added: write it all, and to disk in the background."""
        self.write_pending()
        self._sync_behind(0, now=True)

    def flush(self) -> None:
        """Write everything added and wait for the background writeback; raises the OSError it met."""
        self.write_pending()
        self.close()
        if self.sync_error is not None:
            raise self.sync_error

    def close(self) -> None:
        """Wait for the background writeback, if one runs (before the table's file is closed)."""
        if self.syncer is not None:
            self.syncer.join()
            self.syncer = None


def _write_all(fd: int, data) -> None:
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view):]


class _FileSource:
    """A file open for reading, as a source of ``_Table.add``: a table of the previous ingest
    (``previous``: one that ends early means the cache is wrong: CacheMismatch, and a full ingest),
    or a worker's part file (one that ends early is an OSError)."""

    def __init__(self, path: Path, previous: bool = False):
        self.name, self.previous = path.name, previous
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size

    def copy_to(self, fd: int, a: int, b: int) -> None:
        """Append bytes ``a:b`` of this file to ``fd`` (in the kernel where it can)."""
        while a < b:
            try:
                n = os.copy_file_range(self.fd, fd, b - a, a)
            except (AttributeError, OSError):  # no copy_file_range here (or across these file systems)
                data = os.pread(self.fd, min(b - a, 1 << 23), a)
                _write_all(fd, data)
                n = len(data)
            if n == 0 and self.previous:
                raise ingest_cache.CacheMismatch(f"{self.name} ended before the rows the cache records: it was "
                                                 "changed after the last ingest")
            if n == 0:
                raise OSError(errno.EIO, f"{self.name} ended {b - a} bytes before the rows a worker wrote to it")
            a += n

    def crcs(self, ranges, start=None, buffer: bytearray | None = None) -> list[int]:
        """CRC-32 of each (offset, length) range, continuing ``start[i]``; reads the table in large
        blocks (the ranges mostly follow each other) into ``buffer``, reused from call to call (a
        fresh 8 MB block per read costs its page faults: the check took 3x longer)."""
        out, block_off, block_len = [], 0, 0
        buffer = buffer if buffer is not None else bytearray(1 << 23)
        view = memoryview(buffer)
        for i, (off, n) in enumerate(ranges):
            if not (block_off <= off and off + n <= block_off + block_len):
                if n > len(view):
                    view = memoryview(bytearray(n))
                block_off, block_len = off, os.preadv(self.fd, [view], off)
            out.append(zlib.crc32(view[off - block_off:off - block_off + min(n, block_len)], start[i] if start else 0))
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Previous:
    """The previous tables as the source of reused rows (``spans``).

    ``check(entries)`` verifies the recorded CRC-32 of those entries' rows in a thread, while they
    are copied; ``finish`` waits for it and raises CacheMismatch if any range differs, before
    anything is published.
    """

    def __init__(self, out_dir: Path | None):
        self.out_dir, self.runs, self.issues, self.tidy = out_dir, None, None, {}
        self.thread, self.bad = None, ""

    def __enter__(self):
        if self.out_dir is not None:
            try:
                self.runs = self._open(RUNS)
                self.issues = self._open(ISSUES)
            except BaseException:
                self.close()
                raise
        return self

    def _open(self, name: str) -> _FileSource:
        try:
            return _FileSource(self.out_dir / name, previous=True)
        except OSError as exc:
            raise ingest_cache.CacheMismatch(f"cannot read the previous {name}: {exc}") from None

    def _tidy(self, env: str) -> _FileSource:
        """The previous tidy file of ``env``, opened the first time it is asked for."""
        if env not in self.tidy:
            self.tidy[env] = self._open(tidy_file(env))
        return self.tidy[env]

    def check_headers(self, envs, header: bytes) -> None:
        """CacheMismatch unless the tidy file of each of ``envs`` (kept as it is) starts with ``header``:
        the CRC-32 of the rows covers the rest of the file."""
        for env in envs:
            if os.pread(self._tidy(env).fd, len(header), 0) != header:
                raise ingest_cache.CacheMismatch(f"the header of {tidy_file(env)} was changed after the last ingest")

    def check(self, entries: list) -> None:
        if entries:
            for env in dict.fromkeys(e.environment for e in entries):
                self._tidy(env)  # opened here: the thread only reads
            self.thread = threading.Thread(target=self._check, args=(entries,), daemon=True)
            self.thread.start()

    def _check(self, entries: list) -> None:
        try:
            by_env: dict = {}
            for e in entries:
                by_env.setdefault(e.environment, []).append(e)
            entries = [e for group in by_env.values() for e in group]
            buffer = bytearray(1 << 23)
            crc = [c for env, group in by_env.items()
                   for c in self.tidy[env].crcs([(e.tidy_off, e.tidy_len) for e in group], buffer=buffer)]
            crc = self.runs.crcs([(e.runs_off, e.runs_len) for e in entries], crc, buffer)
            crc = self.issues.crcs([(e.issues_off, e.issues_len) for e in entries], crc, buffer)
            bad = next((e.run for e, c in zip(entries, crc) if c != e.crc), "")
        except Exception as exc:  # noqa: BLE001  (reported by finish)
            bad = f"{type(exc).__name__}: {exc}"
        self.bad = self.bad or bad

    def spans(self, entry) -> tuple:
        """(source, start, end) of the entry's tidy, runs and issues bytes; CacheMismatch if out of range."""
        tidy, runs, issues = self._tidy(entry.environment), self.runs, self.issues
        spans = ((tidy, entry.tidy_off, entry.tidy_off + entry.tidy_len),
                 (runs, entry.runs_off, entry.runs_off + entry.runs_len),
                 (issues, entry.issues_off, entry.issues_off + entry.issues_len))
        if any(b > src.size for src, _a, b in spans):
            self.bad = entry.run
            self.finish()
        return spans

    def finish(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.bad:
            raise ingest_cache.CacheMismatch(f"the previous tables do not hold the rows recorded for {self.bad}: "
                                             "they were changed after the last ingest")

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        for table in (self.runs, self.issues, *self.tidy.values()):
            if table is not None:
                table.close()
        self.runs, self.issues, self.tidy = None, None, {}

    def __exit__(self, *exc):
        self.close()


@dataclass
class Tables:
    """What ``ensure_tables`` settled: the raw folder, its manifest, and the ingest it ran (None if the
    tables were current)."""

    raw_dir: Path | None
    manifest: manifest_mod.Manifest
    ingested: IngestSummary | None
    note: str = ""  # how the manifest was chosen, for the caller to print


def recorded_raw(processed_dir) -> Path | None:
    """The raw folder the tables of ``processed_dir`` were ingested from (as recorded), or None."""
    prov = Path(processed_dir) / PROVENANCE
    if not prov.is_file():
        return None
    try:
        given = json.loads(prov.read_text(encoding="utf-8")).get("raw_dir")
    except (OSError, ValueError):
        return None
    return paths.resolve(given) if given else None


def ensure_tables(processed_dir, raw_dir=None, *, refresh: bool = True) -> Tables:
    """Tables in ``processed_dir`` that belong to a raw folder, ingesting when they are missing or stale.

    ``raw_dir`` None means the raw folder the tables were ingested from (recorded by ingest), or
    ``data/raw`` when there are no tables yet. Tables made from another raw folder than the one
    named are never mixed up with it: ManifestError naming both. Stale tables (the raw folder's
    files, sizes or manifest changed since) are ingested again when ``refresh``. When the recorded
    raw folder is gone, the recorded manifest copy is used as it is.
    """
    processed = Path(processed_dir)
    have = (processed / TIDY).is_dir() and all((processed / name).is_file() for name in (RUNS, ISSUES))
    recorded = recorded_raw(processed)  # (also when the tables are gone or of an older layout: never mix raw folders)
    if raw_dir is None:
        raw = recorded if recorded is not None else (None if have else paths.RAW)
    else:
        raw = Path(raw_dir)
        if recorded is not None and recorded.resolve() != raw.resolve():
            raise ManifestError(raw / manifest_mod.MANIFEST_NAME, 0,
                                f"the tables in {processed} were ingested from {recorded}, not from {raw}: use another "
                                "processed folder for this raw folder, or leave the raw folder out")
    if raw is None or not raw.is_dir():
        if not have:
            raise ManifestError(raw / manifest_mod.MANIFEST_NAME if raw else processed / PROVENANCE, 0,
                                f"the tables in {processed} are missing or of an older vizlib, and the raw folder "
                                f"they were ingested from ({raw}) is gone: ingest it again, or use another processed "
                                "folder for another raw folder")
        if not (processed / MANIFEST_COPY).is_file():
            raise ManifestError(processed / MANIFEST_COPY, 0, "no manifest recorded next to these tables and no raw "
                                "folder to read one from: run ingest again, or name the raw folder")
        return Tables(None, manifest_mod.load(processed, check_folders=False), None,
                      f"raw folder {raw} not found: using the manifest recorded with the tables")
    man = manifest_mod.load(raw)
    if have and not refresh:
        return Tables(raw, man, None)
    if have and _tables_current(raw, processed, man):
        return Tables(raw, man, None)
    return Tables(raw, man, ingest(raw, processed), "ingested: the tables were missing or older than the raw folder")


def _tables_current(raw: Path, processed: Path, man) -> bool:
    """True when the tables were made from this manifest, have a tidy file for each of its environments
    (and no other), and list the raw folder's files with their sizes."""
    copy = processed / MANIFEST_COPY
    if not copy.is_file() or manifest_mod.text_sha256(copy) != manifest_mod.text_sha256(man.path):
        return False
    if {p.name for p in (processed / TIDY).glob("*.csv")} != {Path(tidy_file(env)).name for env in man.environments}:
        return False
    with open(processed / RUNS, newline="", encoding="utf-8") as fh:
        have = {(r["run"], int(r["bytes"] or 0)) for r in csv.DictReader(fh)}
    want = set()
    for _env, path, run in raw_files(raw, man):
        with contextlib.suppress(OSError):
            want.add((run, os.path.getsize(path) if path else 0))
    return want == have
