"""Ingest a raw folder into the tidy tables of ``data/processed/``.

Three CSV files, written atomically and byte-identical for the same input (files are visited in
sorted order, floats written with ``repr``, nothing depends on hashing or on the file system):

- ``lmbench_tidy.csv``: one row per measured value (``TIDY_COLUMNS``);
- ``lmbench_runs.csv``: one row per raw file, ingested or rejected (``RUNS_COLUMNS``);
- ``ingest_issues.csv``: every rejected file, invalid, unknown, noise and decode line (``ISSUE_COLUMNS``).

Parsing runs in worker processes when there are many files; each worker returns its file's rows
already formatted as CSV text, so the parent only streams text to disk and never holds one Python
object per value.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, atomic, catalogue, manifest as manifest_mod, paths
from .errors import ManifestError, ParseError
from .parser import MAX_FILE_BYTES, META_COLUMNS, parse_bytes, too_big_reason
from .tables import ISSUE_COLUMNS, ISSUES, MANIFEST_COPY, PROVENANCE, RUNS, RUNS_COLUMNS, TIDY, TIDY_COLUMNS

PARALLEL_MIN_FILES = 300  # below this, starting worker processes (~90 ms CPU each) costs more than it saves


@dataclass
class FileResult:
    environment: str
    run: str
    run_row: list
    tidy_csv: str  # this file's tidy rows, as CSV text without header
    issue_rows: list
    values: int
    rejected: str = ""  # "file:line: reason" when the whole file was rejected


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

    @property
    def exit_code(self) -> int:
        return 1 if (self.rejected or self.invalid) else 0


def _csv_text(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


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
        run_row = [environment, run, "rejected", "", sha, size, 0, 0, 0, 0] + [""] * len(META_COLUMNS)
        issue = [environment, run, exc.line, "rejected", exc.reason, ""]
        return FileResult(environment, run, run_row, "", [issue], 0, rejected=str(exc))
    except OSError as exc:
        run_row = [environment, run, "rejected", "", "", 0, 0, 0, 0, 0] + [""] * len(META_COLUMNS)
        reason = f"cannot read: {exc.strerror or exc}"
        return FileResult(environment, run, run_row, "", [[environment, run, 0, "rejected", reason, ""]], 0,
                          rejected=f"{run}:0: {reason}")

    issues = [[environment, run, i.line, i.kind, i.reason, i.text] for i in parsed.issues]
    run_row = [environment, run, "ok", parsed.format, sha, len(data), len(parsed.values), parsed.count("noise"),
               parsed.count("unknown"), parsed.count("invalid")] + [parsed.meta[k] for k in META_COLUMNS]
    return FileResult(environment, run, run_row, tidy_csv(environment, run, parsed.values), issues, len(parsed.values))


def tidy_csv(environment: str, run: str, values) -> str:
    """The tidy rows of one file as CSV text, byte-identical to ``csv.writer`` output.

    Formatting is the hot loop of a fleet ingest (millions of rows), so rows whose free-text
    fields need no quoting are joined directly; the rest go through ``csv.writer``.
    """
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


_METRIC_TAIL: dict = {}
_PLAIN_FIELD = re.compile(r'[^,"\r\n]*\Z').match  # csv.writer quotes a field only for these characters


def _parse_one_or_outside(args) -> FileResult:
    return parse_one(*args) if args[1] else _outside(*args)


def _parse_batch(batch, part_path: str):
    """Worker: parse a batch and write its tidy rows to ``part_path`` itself, so hundreds of MB
    of CSV text never travel back through the pipe; only the small per-file records do."""
    results = [_parse_one_or_outside(args) for args in batch]
    with open(part_path, "w", encoding="utf-8", newline="") as fh:
        for res in results:
            fh.write(res.tidy_csv)
            res.tidy_csv = ""
    return results


def raw_files(raw_dir, man: manifest_mod.Manifest) -> list[tuple[str, str, str]]:
    """(environment, absolute path, run) for every file of every environment, in sorted order.

    ``run`` is the path relative to the raw folder with '/' separators. An environment's files are
    those below ``<raw>/<name>/``, or those its ``runs`` patterns match. Hidden files are skipped; a
    symlink that leads outside the raw folder is returned with path "" so it is rejected.
    ManifestError when a pattern matches no file or a file is claimed by two environments.
    """
    raw_dir = Path(raw_dir).resolve()
    out, owner = [], {}
    for env in man.environments.values():
        files = _pattern_files(raw_dir, env, man) if env.runs else _folder_files(raw_dir, env.name)
        for _env, _path, run in files:
            if run in owner:
                raise ManifestError(man.path, 0, f"{run} belongs to both {owner[run]!r} and {env.name!r}: "
                                    "give each file to one environment")
            owner[run] = env.name
        out.extend(files)
    return out


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
    folder = raw_dir / name
    if folder.is_symlink() and not _inside(folder, raw_dir, want_dir=True):
        return [(name, "", name)]
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        # os.walk does not follow directory symlinks; list them so they are rejected, not lost
        linked = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in linked)
        out.extend(_entry(name, os.path.join(dirpath, f), raw_dir)
                   for f in sorted(filenames + linked) if not f.startswith("."))
    return out


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
        for args in files:
            yield [_parse_one_or_outside(args)], None
        return
    size = max(1, min(256, len(files) // (jobs * 8)))
    batches = [files[i:i + size] for i in range(0, len(files), size)]
    parts = [str(part_dir / f"part-{i:06d}.csv") for i in range(len(batches))]
    # "spawn" is safe inside a Jupyter kernel (no fork of a threaded process); the watchdog ends
    # the workers if the parent is killed (kill -9), since they would otherwise wait forever.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        yield from zip(pool.map(_parse_batch, batches, parts), parts)


def _exit_with_parent(parent_pid: int) -> None:
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _outside(environment, _path, run) -> FileResult:
    reason = "symlink or special file that does not resolve to a regular file inside the raw folder"
    row = [environment, run, "rejected", "", "", 0, 0, 0, 0, 0] + [""] * len(META_COLUMNS)
    return FileResult(environment, run, row, "", [[environment, run, 0, "rejected", reason, ""]], 0,
                      rejected=f"{run}:0: {reason}")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def ingest(raw_dir, out_dir, jobs: int | None = None, progress=None) -> IngestSummary:
    """Parse every file of ``raw_dir`` (validated by its manifest) into the tables in ``out_dir``.

    ManifestError (nothing written) for a bad manifest; bad files are rejected and listed, and the
    rest still ingest. ``progress(done, total)`` is called as files complete. With 300 files or
    more, parsing runs in ``jobs`` spawned worker processes: a plain script calling this must do
    so under ``if __name__ == "__main__":`` (Python's rule for spawned workers).
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    man = manifest_mod.load(raw_dir)
    manifest_bytes = man.path.read_bytes()
    files = raw_files(raw_dir, man)
    summary = IngestSummary(raw_dir, out_dir, files=len(files))
    jobs = default_jobs() if jobs is None else max(1, jobs)
    seen_hash: dict[str, str] = {}
    runs_rows, issue_rows = [], []

    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = [out_dir / name for name in (TIDY, RUNS, ISSUES, MANIFEST_COPY, PROVENANCE)]
    with atomic.open_atomic_group(outputs, "w", encoding="utf-8", newline="") as (tidy, runs_fh, issues_fh, man_fh,
                                                                                  prov_fh), \
            tempfile.TemporaryDirectory(prefix=".ingest-parts-", dir=out_dir) as part_dir:
        tidy.write(",".join(TIDY_COLUMNS) + "\n")
        done = 0
        for batch, part in _results(files, jobs, Path(part_dir)):
            if part is not None:  # a worker wrote this batch's rows: append its file as bytes
                tidy.flush()
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, tidy.buffer, 1 << 20)
                os.unlink(part)
            for res in batch:
                done += 1
                _account(res, tidy, summary, seen_hash, runs_rows, issue_rows)
                if progress:
                    progress(done, len(files))

        w = csv.writer(runs_fh, lineterminator="\n")
        w.writerow(RUNS_COLUMNS)
        w.writerows(runs_rows)
        w = csv.writer(issues_fh, lineterminator="\n")
        w.writerow(ISSUE_COLUMNS)
        w.writerows(issue_rows)
        man_fh.buffer.write(manifest_bytes)
        json.dump({"raw_dir": paths.project_relative(raw_dir) or str(raw_dir.resolve()), "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
                   "vizlib_version": __version__, "files": len(files)}, prov_fh, indent=1, sort_keys=True)
        prov_fh.write("\n")
    return summary


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
    have = all((processed / name).is_file() for name in (TIDY, RUNS, ISSUES))
    recorded = recorded_raw(processed) if have else None
    if raw_dir is None:
        raw = recorded if recorded is not None else (None if have else paths.RAW)
    else:
        raw = Path(raw_dir)
        if recorded is not None and recorded.resolve() != raw.resolve():
            raise ManifestError(raw / manifest_mod.MANIFEST_NAME, 0,
                                f"the tables in {processed} were ingested from {recorded}, not from {raw}: use another "
                                "processed folder for this raw folder, or leave the raw folder out")
    if raw is None or not raw.is_dir():
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
    """True when the tables were made from this manifest and list the raw folder's files with their sizes."""
    copy = processed / MANIFEST_COPY
    if not copy.is_file() or manifest_mod.text_sha256(copy) != manifest_mod.text_sha256(man.path):
        return False
    with open(processed / RUNS, newline="", encoding="utf-8") as fh:
        have = {(r["run"], int(r["bytes"] or 0)) for r in csv.DictReader(fh)}
    want = set()
    for _env, path, run in raw_files(raw, man):
        with contextlib.suppress(OSError):
            want.add((run, os.path.getsize(path) if path else 0))
    return want == have


def _account(res: FileResult, tidy, summary: IngestSummary, seen_hash: dict, runs_rows: list, issue_rows: list) -> None:
    """Record one file's result: its tidy rows (serial path), run row, issues and summary counts."""
    if res.tidy_csv:
        tidy.write(res.tidy_csv)
    runs_rows.append(res.run_row)
    issue_rows.extend(res.issue_rows)
    summary.values += res.values
    summary.per_env_values[res.environment] = summary.per_env_values.get(res.environment, 0) + res.values
    if res.rejected:
        summary.rejected.append(res.rejected)
    sha = res.run_row[4]
    if sha and res.run_row[5]:
        if sha in seen_hash:
            msg = f"{res.run} has the same content as {seen_hash[sha]} (sha256 {sha[:12]}); both are ingested"
            summary.duplicates.append(msg)
            issue_rows.append([res.environment, res.run, 0, "duplicate", msg, ""])
        else:
            seen_hash[sha] = res.run
    for row in res.issue_rows:
        kind = row[3]
        where = f"{row[1]}:{row[2]}"
        if kind == "unknown":
            summary.unknown.append(f"{where}: {row[5]}")
        elif kind == "invalid":
            summary.invalid.append(f"{where}: {row[4]}")
        elif kind == "noise":
            summary.noise_lines += 1
        elif kind == "decode":
            summary.decode_replaced += 1
