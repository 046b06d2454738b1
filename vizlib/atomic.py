"""Atomic file and folder writes: a reader (or a crash) sees the old file or the new one, never half.

Everything the suite writes goes through here: write to a temporary name in the same folder,
flush and fsync, then ``os.replace``, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def open_atomic(path, mode: str = "w", **kwargs):
    """Like ``open(path, mode)`` for writing, but the file appears only when the block succeeds."""
    with open_atomic_group([path], mode, **kwargs) as (fh,):
        yield fh


@contextlib.contextmanager
def open_atomic_group(paths, mode: str = "w", **kwargs):
    """Open several files for writing that are published together when the block succeeds.

    All are written and fsynced under temporary names first; only then are they renamed, one
    right after the other, so an interruption during the (long) writing leaves every old file in
    place. (POSIX has no multi-file rename: the remaining window is the few microseconds between
    the renames.) Folders made for them are removed again if the block fails.
    """
    paths = [Path(p) for p in paths]
    tmps, handles, made = [], [], []
    try:
        for path in paths:
            missing = list(itertools.takewhile(lambda d: not d.exists(), (path.parent, *path.parent.parents)))
            path.parent.mkdir(parents=True, exist_ok=True)
            made.extend(missing)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            tmps.append(tmp)
            handles.append(os.fdopen(fd, mode, **kwargs))
        yield handles
        for fh in handles:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        for tmp, path in zip(tmps, paths):
            os.chmod(tmp, 0o644)
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    except BaseException:
        for fh in handles:
            fh.close()
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for folder in sorted(set(made), key=lambda d: len(d.parts), reverse=True):  # deepest first
            with contextlib.suppress(OSError):  # (not empty: someone else wrote there meanwhile)
                folder.rmdir()
        raise


def write_text(path, text: str) -> None:
    with open_atomic(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def replace_dir(staging: Path, final: Path) -> None:
    """Put a completed ``staging`` folder at ``final``, replacing what was there.

    The old folder is renamed aside first and removed only after the new one is in place, so an
    interruption leaves either the old or the new folder at ``final`` (plus a stale ``.old`` one).
    """
    staging, final = Path(staging), Path(final)
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
