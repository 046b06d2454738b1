"""Application timings that check the estimates: the validation folder, read as it is.

Layout (made by ``lab/lab collect``)::

    <validation>/<environment>/<app>/<rep>.time-v.txt   GNU time -v of one timed repetition
    <validation>/<baseline>/<app>/strace.txt            strace -c -f of a separate run on the baseline
    <validation>/<app>/README.md                        the exact command, sizes, what it stresses

``<environment>`` names are the raw folder's manifest names; other folders and files (the lab's
own logs) are ignored. The default validation folder of a raw folder is its sibling whose name
has ``validation`` for the leading ``raw`` (``data/raw`` -> ``data/validation``, ``data/raw-lab2``
-> ``data/validation-lab2``; a folder not named ``raw...`` -> its sibling ``validation``), so a
second raw folder is never checked against the first one's timings. When the manifest records an
environment's ``boot_id`` (the lab does), only timings whose ``<environment>/meta.txt`` records the
same boot are used: the estimate and the measurement must describe the same session. Files are only read. A file that does not
parse, or a repetition whose command failed, is left out and reported with its file and line;
the other files still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import appprofile
from .errors import AppProfileError

TIME_V_SUFFIX = ".time-v.txt"
STRACE_NAME = "strace.txt"
_REP = re.compile(r"^(\d+)\.time-v\.txt$")
_APP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def default_folder(raw_dir) -> Path:
    """The validation folder that belongs to ``raw_dir`` (see the module docstring)."""
    raw = Path(raw_dir).resolve()
    name = "validation" + raw.name[3:] if raw.name.startswith("raw") else "validation"
    return raw.parent / name


@dataclass(frozen=True)
class Repetition:
    environment: str
    app: str
    rep: int
    path: Path
    time_v: appprofile.TimeV


@dataclass
class ValidationData:
    folder: Path
    repetitions: list = field(default_factory=list)  # Repetition, sorted by environment, app, rep
    straces: dict = field(default_factory=dict)  # (environment, app) -> Path of strace.txt
    problems: list = field(default_factory=list)  # "file:line: reason" of everything left out

    def elapsed(self, environment: str, app: str) -> list[float]:
        return [r.time_v.elapsed_seconds for r in self.repetitions if r.environment == environment and r.app == app]

    @property
    def apps(self) -> list[str]:
        return sorted({r.app for r in self.repetitions})


def _rel(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def load(folder, environments) -> ValidationData:
    """The timings and strace summaries of ``environments`` under ``folder``: names, or the
    manifest's ``{name: Environment}`` (then an environment with a ``boot_id`` takes only timings of
    that boot).

    A missing folder gives an empty ``ValidationData`` (no problem: a raw folder need not have one).
    """
    folder = Path(folder)
    data = ValidationData(folder)
    if not folder.is_dir():
        return data
    for env in sorted(environments):
        env_dir = folder / env
        if not env_dir.is_dir() or env_dir.is_symlink():
            continue
        other = _other_session(env_dir, folder, environments.get(env) if isinstance(environments, dict) else None)
        if other:
            data.problems.append(other)
            continue
        for app_dir in sorted(p for p in env_dir.iterdir() if p.is_dir() and not p.is_symlink()):
            app = app_dir.name
            if not _APP.match(app):
                continue
            for f in sorted(app_dir.iterdir(), key=lambda p: (len(p.name), p.name)):
                if f.is_symlink() or not f.is_file():
                    continue
                name = _rel(f, folder)
                if f.name == STRACE_NAME:
                    data.straces[(env, app)] = f
                    continue
                m = _REP.match(f.name)
                if not m:
                    continue
                try:
                    tv = appprofile.parse_time_v(f.read_text(encoding="utf-8", errors="replace"), source=name)
                except AppProfileError as exc:
                    data.problems.append(str(exc))
                    continue
                if tv.exit_status not in (None, 0):
                    data.problems.append(f"{name}: the timed command exited with status {tv.exit_status}: "
                                         "its time is not a valid repetition")
                    continue
                data.repetitions.append(Repetition(env, app, int(m.group(1)), f, tv))
    return data


def _other_session(env_dir: Path, folder: Path, env) -> str:
    """Why ``env_dir``'s timings are not of the boot the manifest records for ``env`` ("" if they are,
    or if the manifest records none)."""
    want = str(getattr(env, "extra", {}).get("boot_id", "")).strip()
    if not want:
        return ""
    meta = env_dir / "meta.txt"
    try:
        lines = meta.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return (f"{_rel(env_dir, folder)}: no meta.txt saying which boot these timings come from, while the "
                f"manifest's lmbench runs of {env.name} come from boot {want}: left out")
    for i, line in enumerate(lines, 1):
        key, _, value = line.partition(":")
        if key.strip() == "boot_id":
            if value.strip() == want:
                return ""
            return (f"{_rel(meta, folder)}:{i}: timings from boot {value.strip()}, the manifest's lmbench runs of "
                    f"{env.name} from boot {want}: another session, left out")
    return (f"{_rel(meta, folder)}: records no boot_id, while the manifest's lmbench runs of {env.name} come "
            f"from boot {want}: left out")


def read_strace(path: Path, folder: Path) -> appprofile.StraceSummary:
    """The strace -c summary at ``path`` (AppProfileError with file and line when it does not parse)."""
    return appprofile.parse_strace_summary(Path(path).read_text(encoding="utf-8", errors="replace"),
                                           source=_rel(Path(path), Path(folder)))
