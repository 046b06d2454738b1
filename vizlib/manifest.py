"""The raw folder's manifest, ``environments.toml``: which environments exist and who is whose baseline.

Each ``[environments.NAME]`` table has ``kind`` ("physical" or "virtual"), ``technology`` from
``TECHNOLOGIES`` and, for a virtual environment, ``baseline``: the environment it is compared with,
the one that runs the matching kernel. A baseline is usually physical; it may itself be virtual
(a container inside a VM, a confidential VM against a plain VM) as long as following baselines
ends at a physical environment without a loop. Other keys (``kernel``, ``description``, ...) are
free text kept for reports.

The files of environment NAME live in ``<raw>/NAME/`` (nested folders included; one file is one
run), or, with ``runs = ["results/x86_64-linux-gnu/host1.*", ...]``, in the files those glob
patterns match relative to the raw folder: lmbench's own ``results/<os>/<host>.<n>`` tree can be
described without moving a file. Patterns never leave the raw folder.
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
    "xen-pvh": "Xen, PVH guest (paravirtualized kernel on hardware virtualization, no legacy emulation)",
    "kvm": "KVM, hardware-assisted full virtualization",
    "qemu-tcg": "QEMU software emulation (TCG), full virtualization without hardware help",
    "firecracker": "Firecracker-style microVM: a minimal virtual machine monitor on KVM",
    "openvz": "OpenVZ containers (OS-level virtualization)",
    "container": "Linux namespaces and cgroups container (OS-level virtualization)",
    "gvisor": "gVisor sandbox: a user-space application kernel (runsc) on the host kernel",
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
    runs: tuple = ()  # glob patterns relative to the raw folder; () = the folder <raw>/<name>/

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

    def chain(self, name: str) -> list[str]:
        """``name`` and its baselines up to the physical root: ["container", "vm", "host"]."""
        out = [name]
        while self.environments[out[-1]].baseline:
            out.append(self.environments[out[-1]].baseline)
        return out

    def root(self, name: str) -> str:
        """The physical environment at the end of ``name``'s chain of baselines."""
        return self.chain(name)[-1]


def display_order(manifest=None, environments=None, *, present=None) -> list[str]:
    """Environments in display order: each physical root, then the environments compared with it
    (depth first: a virtual baseline before the environments it is the baseline of), then the next.

    ``environments`` (iterable of names, None = all) selects; a selected virtual environment
    brings its chain of baselines along, since its values mean little without them. ``present``
    (names that have data) limits the result when no manifest is given, and keeps its order.
    """
    wanted = None if environments is None else list(environments)
    if manifest is None:
        names = list(dict.fromkeys(present or []))
        return names if wanted is None else [n for n in names if n in wanted]
    envs = manifest.environments
    if wanted is not None:
        keep = {b for n in wanted if n in envs for b in manifest.chain(n)}
    else:
        keep = set(envs)
    children: dict = {}
    for e in manifest.virtual():
        children.setdefault(e.baseline, []).append(e.name)
    order = []

    def visit(name):
        if name in keep:
            order.append(name)
        for child in children.get(name, []):
            visit(child)

    for phys in manifest.physical():
        visit(phys.name)
    return order


def _header_lines(text: str) -> dict:
    """NAME -> 1-based line of its ``[environments.NAME]`` header (for messages), in one pass."""
    lines: dict = {}
    for m in _ENV_HEADER.finditer(text):
        lines.setdefault(m.group(1), text.count("\n", 0, m.start()) + 1)
    return lines


_ENV_HEADER = re.compile(r'^[ \t]*\[[ \t]*environments[ \t]*\.[ \t]*"?([^"\]\n]+?)"?[ \t]*\]', re.MULTILINE)


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

    header_lines = _header_lines(text)
    envs: dict[str, Environment] = {}
    for name, table in tables.items():
        line = header_lines.get(name, 0)
        if not _NAME.fullmatch(name) or ".." in name:
            raise ManifestError(path, line, f"environment name {name!r} must be letters, digits, '_', '-', '.', '+' (it names a folder)")
        twin = next((other for other in envs if other.lower() == name.lower()), None)
        if twin is not None:  # one folder and one tidy file on a case-insensitive file system (macOS, Windows)
            raise ManifestError(path, line, f"environment names {twin!r} and {name!r} differ only in case: they would "
                                "name the same folder and the same tidy file on some file systems; rename one")
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
            raise ManifestError(path, line, f"environments.{name}: a virtual environment needs baseline = \"<environment>\"")
        if kind == "physical" and baseline:
            raise ManifestError(path, line, f"environments.{name}: a physical environment is its own baseline; remove baseline")
        runs = table.get("runs", [])
        if isinstance(runs, str):
            runs = [runs]
        if not isinstance(runs, list) or not all(isinstance(r, str) and r.strip() for r in runs):
            raise ManifestError(path, line, f"environments.{name}: runs must be a list of glob patterns, "
                                "e.g. runs = [\"results/x86_64-linux-gnu/host1.*\"]")
        for pattern in runs:
            if pattern.startswith(("/", "~")) or ".." in Path(pattern).parts or "\\" in pattern:
                raise ManifestError(path, line, f"environments.{name}: runs pattern {pattern!r} must be relative to "
                                    "the raw folder and stay inside it (no leading /, ~ or ..)")
        extra = {k: v for k, v in table.items() if k not in ("kind", "technology", "baseline", "runs")}
        envs[name] = Environment(name, kind, tech, baseline, extra, tuple(runs))

    for env in envs.values():
        if not env.is_virtual:
            continue
        line = header_lines.get(env.name, 0)
        if env.baseline == env.name:
            raise ManifestError(path, line, f"environments.{env.name}: an environment cannot be its own baseline")
        if env.baseline not in envs:
            raise ManifestError(path, line, f"environments.{env.name}: baseline {env.baseline!r} is not in the manifest")
        seen = [env.name]
        while envs[seen[-1]].baseline:  # follow the chain to a physical root, refusing loops
            nxt = envs[seen[-1]].baseline
            if nxt in seen:
                raise ManifestError(path, line, f"environments.{env.name}: baselines form a loop "
                                    f"({' -> '.join(seen + [nxt])}); a chain of baselines must end at a physical "
                                    "environment")
            if nxt not in envs:
                raise ManifestError(path, header_lines.get(seen[-1], 0),
                                    f"environments.{seen[-1]}: baseline {nxt!r} is not in the manifest")
            seen.append(nxt)

    if check_folders:
        patterned_tops = {Path(p).parts[0] for e in envs.values() for p in e.runs}
        for env in envs.values():
            folder = raw_dir / env.name
            line = header_lines.get(env.name, 0)
            if env.runs and folder.is_dir() and env.name not in patterned_tops:
                raise ManifestError(path, line, f"environment {env.name!r} has both a folder {env.name}/ and runs "
                                    "patterns; keep one of them")
            if not env.runs and not folder.is_dir():
                raise ManifestError(path, line, f"environment {env.name!r} has no folder {folder} (and no runs patterns)")
        for child in sorted(raw_dir.iterdir()):
            if (child.is_dir() and not child.name.startswith(".") and child.name not in envs
                    and child.name not in patterned_tops):
                raise ManifestError(path, 0, f"folder {child.name}/ is not in the manifest; add [environments.{child.name}] "
                                    "(or runs patterns that read it) or move it out")
    return Manifest(path, envs)


def text_sha256(path) -> str:
    """sha256 of a manifest file's bytes: which manifest made a set of tables."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
