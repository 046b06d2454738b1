"""The raw folder's manifest, ``environments.toml``: which environments exist and who is whose baseline.

Each ``[environments.NAME]`` table has ``kind`` ("physical" or "virtual"), ``technology`` from
``TECHNOLOGIES`` and, for a virtual environment, ``baseline``: the physical environment that runs
the matching kernel. Other keys (``kernel``, ``description``, ...) are free text kept for reports.
The files of environment NAME live in ``<raw>/NAME/``; one file is one run.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ManifestError

MANIFEST_NAME = "environments.toml"

# The technology vocabulary. Functional data and literature references are matched on these.
TECHNOLOGIES = {
    "physical": "bare-metal (or the host that serves as baseline)",
    "xen-pv": "Xen, paravirtualized guest",
    "xen-hvm": "Xen, hardware-assisted full virtualization",
    "kvm": "KVM, hardware-assisted full virtualization",
    "qemu-tcg": "QEMU software emulation (TCG), full virtualization without hardware help",
    "openvz": "OpenVZ containers (OS-level virtualization)",
    "container": "Linux namespaces and cgroups container (OS-level virtualization)",
    "uml": "User-mode Linux, a paravirtualized kernel running as a host process",
    "vmware": "VMware hypervisor",
    "other": "anything else; say what in the description",
}
KINDS = ("physical", "virtual")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class Environment:
    name: str
    kind: str
    technology: str
    baseline: str | None
    extra: dict = field(default_factory=dict)  # free descriptive keys

    @property
    def is_virtual(self) -> bool:
        return self.kind == "virtual"


@dataclass(frozen=True)
class Manifest:
    path: Path
    environments: dict  # name -> Environment, in manifest order

    def virtual(self) -> list[Environment]:
        return [e for e in self.environments.values() if e.is_virtual]

    def physical(self) -> list[Environment]:
        return [e for e in self.environments.values() if not e.is_virtual]


def display_order(manifest=None, environments=None, *, present=None) -> list[str]:
    """Environments in display order: each baseline, then its virtual environments, then the next group.

    ``environments`` (iterable of names, None = all) selects; a selected virtual environment
    brings its baseline along, since its values mean little without it. ``present`` (names that
    have data) limits the result when no manifest is given, and keeps its order.
    """
    wanted = None if environments is None else list(environments)
    if manifest is None:
        names = list(dict.fromkeys(present or []))
        return names if wanted is None else [n for n in names if n in wanted]
    envs = manifest.environments
    if wanted is not None:
        keep = set(wanted) | {envs[n].baseline for n in wanted if n in envs and envs[n].baseline}
    else:
        keep = set(envs)
    order = []
    for phys in manifest.physical():
        group = [phys.name] + [e.name for e in manifest.virtual() if e.baseline == phys.name]
        order += [n for n in group if n in keep]
    return order


def _line_of(text: str, name: str) -> int:
    """1-based line of ``[environments.NAME]`` (for messages); 0 if not found."""
    pattern = re.compile(rf"^\s*\[\s*environments\s*\.\s*\"?{re.escape(name)}\"?\s*\]")
    for n, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return n
    return 0


def load(raw_dir, check_folders: bool = True) -> Manifest:
    """Read and validate ``<raw_dir>/environments.toml``; ManifestError on any problem."""
    raw_dir = Path(raw_dir)
    path = raw_dir / MANIFEST_NAME
    if not raw_dir.is_dir():
        raise ManifestError(raw_dir, 0, "raw folder does not exist")
    if not path.is_file():
        raise ManifestError(path, 0, f"no manifest: every raw folder needs an {MANIFEST_NAME} (see README)")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 0
        raise ManifestError(path, line, f"not valid TOML: {exc}") from None
    tables = data.get("environments")
    if not isinstance(tables, dict) or not tables:
        raise ManifestError(path, 0, "no [environments.NAME] tables")

    envs: dict[str, Environment] = {}
    for name, table in tables.items():
        line = _line_of(text, name)
        if not _NAME.fullmatch(name) or ".." in name:
            raise ManifestError(path, line, f"environment name {name!r} must be letters, digits, '_', '-', '.', '+' (it names a folder)")
        if not isinstance(table, dict):
            raise ManifestError(path, line, f"environments.{name} must be a table")
        kind = table.get("kind")
        if kind not in KINDS:
            raise ManifestError(path, line, f"environments.{name}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        tech = table.get("technology")
        if tech not in TECHNOLOGIES:
            raise ManifestError(path, line, f"environments.{name}: technology {tech!r} is not one of {', '.join(TECHNOLOGIES)}")
        baseline = table.get("baseline")
        if kind == "virtual" and not baseline:
            raise ManifestError(path, line, f"environments.{name}: a virtual environment needs baseline = \"<physical environment>\"")
        if kind == "physical" and baseline:
            raise ManifestError(path, line, f"environments.{name}: a physical environment is its own baseline; remove baseline")
        extra = {k: v for k, v in table.items() if k not in ("kind", "technology", "baseline")}
        envs[name] = Environment(name, kind, tech, baseline, extra)

    for env in envs.values():
        if not env.is_virtual:
            continue
        line = _line_of(text, env.name)
        if env.baseline == env.name:
            raise ManifestError(path, line, f"environments.{env.name}: an environment cannot be its own baseline")
        if env.baseline not in envs:
            raise ManifestError(path, line, f"environments.{env.name}: baseline {env.baseline!r} is not in the manifest")
        if envs[env.baseline].is_virtual:
            raise ManifestError(path, line, f"environments.{env.name}: baseline {env.baseline!r} is virtual; "
                                "a baseline must be a physical environment running the matching kernel")

    if check_folders:
        for env in envs.values():
            folder = raw_dir / env.name
            if not folder.is_dir():
                raise ManifestError(path, _line_of(text, env.name), f"environment {env.name!r} has no folder {folder}")
        for child in sorted(raw_dir.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and child.name not in envs:
                raise ManifestError(path, 0, f"folder {child.name}/ is not in the manifest; add [environments.{child.name}] or move it out")
    return Manifest(path, envs)
