"""Atomic file and folder writes: a reader (or a crash) sees the old file or the new one, never half.

Everything the suite writes goes through here: write to a temporary name in the same folder,
flush and fsync, then ``os.replace``, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def open_atomic(path, mode: str = "w", **kwargs):
    """Like ``open(path, mode)`` for writing, but the file appears only when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path, text: str) -> None:
    with open_atomic(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def write_bytes(path, data: bytes) -> None:
    with open_atomic(path, "wb") as fh:
        fh.write(data)


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
