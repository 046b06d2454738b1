"""The ingest cache: what the last ingest into a processed folder made of each raw file, so that the
next ingest parses only new or changed files and copies the rest of the tables from the last ones.

``ingest_cache.json`` lives beside the tables and is written by ``ingest`` in the same atomic group
(renamed last). Its first line is ``vizlib-ingest-cache <format> <sha256 of the rest>``; the rest
is JSON:

- ``fingerprint``: vizlib's version and the source of every module that decides the tables' bytes
  (parser, catalogue, tables, ingest, this one) and the Python version, hashed: a new parser or
  catalogue makes the whole cache stale;
- ``scan_ns``: when that ingest started looking at the raw files (the racy-file reference below);
- ``tables``: inode, size and mtime of each table file as that ingest left it (each environment's
  tidy file, the runs and the issues tables);
- ``files``: one row (``Entry``) per raw file whose result depends only on its content: environment,
  run, the stat signature (size, mtime_ns, ctime_ns, inode), the content's sha256, where its rows
  are (its environment's tidy file, runs, issues: byte offset and length each), a CRC-32 of those
  bytes, and its summary (values, noise and decode lines, the rejection reason, unknown and
  invalid lines).

Never trusted blindly. The cache is used only when its checksum, format, shape and fingerprint are
right and the table files are the ones it was written with (same inode, size and mtime);
otherwise ``load`` says why and ingest parses everything. A file's rows are reused only under the
same environment and run, and only when its stat signature is unchanged and its mtime is older than
two seconds before that scan, or else when its content still has the recorded sha256 (a file
changed within the file system's timestamp granularity of the scan can keep its stat: git's "racy"
rule). Every reused range is checked against its CRC-32 (``ingest._Previous``), as it is copied
or, in a tidy file left as it is, in place, with that file's header; a mismatch (a table edited in
place with its mtime restored) raises ``CacheMismatch`` and ingest starts over with a full parse.
Standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import zlib
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .errors import VizlibError

CACHE = "ingest_cache.json"
FORMAT = 1
MAGIC = b"vizlib-ingest-cache"
RACY_NS = 2_000_000_000  # a file modified this close to (or after) the scan start is re-hashed, not trusted by stat
# The modules whose source decides the bytes of the ingest tables.
SOURCES = ("parser.py", "catalogue.py", "tables.py", "ingest.py", "ingest_cache.py")


class CacheMismatch(VizlibError):
    """The previous tables do not hold what the cache says (found while copying): ingest everything."""


@functools.lru_cache(maxsize=1)
def fingerprint() -> str | None:
    """This vizlib's ``source_fingerprint`` (computed once per process)."""
    return source_fingerprint(Path(__file__).resolve().parent)


def source_fingerprint(package_dir, version: str = __version__) -> str | None:
    """Hash of ``version``, the Python version and the source of ``SOURCES`` in ``package_dir``;
    None if a source cannot be read (then no cache is trusted)."""
    h = hashlib.sha256(f"{version}\0{sys.version_info[:2]}\0".encode())
    for name in SOURCES:
        try:
            data = (Path(package_dir) / name).read_bytes()
        except OSError:
            return None
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    """The part of a stat that changes when a file's content may have: size, mtime, ctime, inode."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


class Entry(NamedTuple):
    """One raw file as the last ingest recorded it (see the module docstring); a JSON array in the cache."""

    environment: str
    run: str
    size: int  # size, mtime_ns, ctime_ns, ino: stat_key of the file when it was read
    mtime_ns: int
    ctime_ns: int
    ino: int
    sha256: str  # of its content
    dup_sha: str  # the sha256 duplicate detection compares ("" for an empty file)
    tidy_off: int  # where its rows are in its environment's tidy file (lmbench_tidy/<environment>.csv)
    tidy_len: int
    runs_off: int  # ... its row in lmbench_runs.csv
    runs_len: int
    issues_off: int  # ... its own rows in ingest_issues.csv (not the "duplicate" row: that depends on other files)
    issues_len: int
    crc: int  # CRC-32 of the tidy, runs and issues bytes, in that order
    values: int
    noise: int
    decode: int
    rejected: str  # "run:line: reason" when the whole file was rejected
    unknown: list  # "run:line: text"
    invalid: list  # "run:line: reason"


_TEXTS = tuple(map(Entry._fields.index, ("environment", "run", "sha256", "dup_sha", "rejected")))
_LISTS = tuple(map(Entry._fields.index, ("unknown", "invalid")))
_INTS = tuple(i for i in range(len(Entry._fields)) if i not in _TEXTS + _LISTS)
_SHA = Entry._fields.index("sha256")


def _entries(rows) -> dict:
    """(environment, run) -> Entry for the cache's rows; ValueError unless every row has the right shape."""
    if type(rows) is not list or set(map(type, rows)) - {list}:
        raise ValueError("files is not a list of rows")
    if set(map(len, rows)) - {len(Entry._fields)}:
        raise ValueError("a row of the wrong length")
    column = lambda i: list(map(itemgetter(i), rows))  # noqa: E731  (column checks run in C, not per row)
    ints = list(chain.from_iterable(map(column, _INTS)))
    if set(map(type, ints)) - {int} or (ints and min(ints) < 0):
        raise ValueError("a number that is not a non-negative integer")
    lists = list(chain.from_iterable(map(column, _LISTS)))
    texts = list(chain.from_iterable(map(column, _TEXTS))) + list(chain.from_iterable(lists))
    if set(map(type, lists)) - {list} or set(map(type, texts)) - {str}:
        raise ValueError("a text that is not a string")
    if set(map(len, column(_SHA))) - {64}:
        raise ValueError("a sha256 that is not one")
    entries = list(map(Entry._make, rows))
    return dict(zip(zip(column(0), column(1)), entries))


@dataclass
class Cache:
    scan_ns: int
    tables: dict  # table file name -> [inode, size, mtime_ns]
    entries: dict  # (environment, run) -> Entry

    def lookup(self, environment: str, run: str, st: tuple | None) -> tuple[Entry | None, bool]:
        """(the recorded entry for this file or None, whether its stat alone vouches for its content)."""
        entry = self.entries.get((environment, run))
        if entry is None or st is None:
            return None, False
        return entry, entry[2:6] == st and st[1] < self.scan_ns - RACY_NS


def table_identity(fd: int) -> list[int]:
    """[inode, size, mtime_ns] of an open table, once its last byte is written."""
    st = os.fstat(fd)
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def dumps(scan_ns: int, tables: dict, entries) -> bytes:
    body = json.dumps({"fingerprint": fingerprint(), "scan_ns": scan_ns, "tables": tables,
                       "files": entries}, separators=(",", ":")).encode()
    return MAGIC + f" {FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode() + body


def load(out_dir, tables=()) -> tuple[Cache | None, str]:
    """The cache of ``out_dir`` if it can be trusted, else (None, why not). ``tables``: the table
    files the cache must describe; each one it describes is checked to be the very file it was
    written with."""
    out_dir = Path(out_dir)
    path = out_dir / CACHE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "no ingest cache yet"
    except OSError as exc:
        return None, f"ingest cache unreadable ({exc.strerror or exc})"
    head, _, body = data.partition(b"\n")
    parts = head.split(b" ")
    if len(parts) != 3 or parts[0] != MAGIC or parts[1] != str(FORMAT).encode():
        return None, "ingest cache of another format"
    if hashlib.sha256(body).hexdigest().encode() != parts[2]:
        return None, "ingest cache corrupt or truncated"
    want = fingerprint()
    try:
        doc = json.loads(body)
        if want is None or doc["fingerprint"] != want:
            return None, "ingest cache made by another vizlib, parser or catalogue version"
        scan_ns, recorded = doc["scan_ns"], doc["tables"]
        if type(scan_ns) is not int or not isinstance(recorded, dict) or not set(tables) <= set(recorded):
            raise ValueError("bad header")
        entries = _entries(doc["files"])
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"ingest cache malformed ({exc})"
    for name in recorded:  # every table it describes: the tidy files, runs and issues
        identity = recorded[name]
        try:
            st = os.stat(out_dir / name)
        except OSError:
            return None, f"{name} is missing: the cache does not describe these tables"
        if [st.st_ino, st.st_size, st.st_mtime_ns] != identity:
            return None, f"{name} was changed after the last ingest: the cache does not describe it"
    return Cache(scan_ns, recorded, entries), ""


def crc(*parts) -> int:
    """CRC-32 of the concatenation of ``parts`` (bytes-like)."""
    value = 0
    for p in parts:
        value = zlib.crc32(p, value)
    return value


def file_sha256(path: str) -> str:
    """sha256 of a file's content, read in chunks (raw files are only ever opened for reading)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
