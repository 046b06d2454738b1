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

import csv
import hashlib
import io
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

from . import atomic, catalogue, manifest as manifest_mod
from .errors import ParseError
from .parser import MAX_FILE_BYTES, META_COLUMNS, parse_bytes
from .parser import _too_big as too_big  # TODO public
from .tables import ISSUE_COLUMNS, ISSUES, RUNS, RUNS_COLUMNS, TIDY, TIDY_COLUMNS

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
                raise ParseError(run, 0, too_big(size))
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

    ``run`` is the path relative to the raw folder with '/' separators. Hidden files are skipped;
    a symlink that leads outside the raw folder is returned with path "" so it is rejected.
    """
    raw_dir = Path(raw_dir).resolve()
    out = []
    for env in man.environments.values():
        folder = raw_dir / env.name
        if folder.is_symlink() and not _inside(folder, raw_dir, want_dir=True):
            out.append((env.name, "", env.name))
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            # os.walk does not follow directory symlinks; list them so they are rejected, not lost
            linked = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in linked)
            for name in sorted(filenames + linked):
                if name.startswith("."):
                    continue
                path = os.path.join(dirpath, name)
                run = os.path.relpath(path, raw_dir).replace(os.sep, "/")
                if os.path.islink(path):  # only links need resolving (cheap lstat for the rest)
                    inside = _inside(Path(path), raw_dir, want_dir=False)
                    out.append((env.name, str(Path(path).resolve()) if inside else "", run))
                elif os.path.isfile(path):
                    out.append((env.name, path, run))
                else:  # FIFO, socket, device: never opened
                    out.append((env.name, "", run))
    return out


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
    files = raw_files(raw_dir, man)
    summary = IngestSummary(raw_dir, out_dir, files=len(files))
    jobs = default_jobs() if jobs is None else max(1, jobs)
    seen_hash: dict[str, str] = {}
    runs_rows, issue_rows = [], []

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic.open_atomic_group([out_dir / TIDY, out_dir / RUNS, out_dir / ISSUES], "w", encoding="utf-8",
                                  newline="") as (tidy, runs_fh, issues_fh), \
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
    return summary


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
