"""vizlib measurement lab: rebuild the lmbench-lab environments and run lmbench + applications.

Python 3 standard library only. `lab/lab` is the command line; this module holds the plan
(steps, their commands, their signatures), the resume logic (markers), the CONFIG and job-script
generation, the input generation and `collect`. See lab/README.md.

State (large artefacts, never in the repository) lives under --state (default
/var/lib/vizlib-lab, or $VIZLIB_LAB_STATE):

    build/              lmbench build, debootstrap root (with the /lab payload), guest kernel,
                        guest image, markers/ (one JSON per finished build step), logs/
    runs/<plan>/        one measurement plan ("campaign" by default, "smoke" for --smoke):
        results/<env>/  what the environment wrote (lmbench/, apps/, meta.txt, timeline.tsv, ...)
        hostside/<env>.json  what the host knows about the run (commands, versions, pinning)
        jobs/<env>.sh   the generated job script, as it ran inside the environment
        work/           per-environment scratch (host payload copy, container root, image copies)
        markers/ logs/
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fcntl
import hashlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Callable, Iterable

LAB_DIR = Path(__file__).resolve().parent
REPO = LAB_DIR.parent
DEFAULT_STATE = Path(os.environ.get("VIZLIB_LAB_STATE", "/var/lib/vizlib-lab"))
DEFAULT_TARBALL = Path(
    os.environ.get("VIZLIB_LAB_LMBENCH_TARBALL", str(REPO.parent / "shared" / "lmbench-src" / "lmbench-941a0dc.tar.gz"))
)

LMBENCH_COMMIT = "941a0dcc0e7bdd9bb0dee05d7f620e77da8c43af"
LMBENCH_SHA256 = "7eac39a5a044b01c17c2d206e13e4ae2217c1a30a6288eb98d72bd7d6937d599"
LMBENCH_OS = "x86_64-linux-gnu"  # bin/<OS> as scripts/os names it on Debian 12 amd64
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
KERNEL_VERSION = "6.1.0-56-amd64"
KERNEL_PACKAGE = f"linux-image-{KERNEL_VERSION}"
IMAGE_SIZE = "4G"
GUEST_MEM_MB = 4096
PIN_CPU = "1"  # every environment runs on this host CPU only (see README "CPU pinning")

HOST_PACKAGES = [
    "debootstrap", "qemu-system-x86", "user-mode-linux", "strace", "time", "sqlite3", "xz-utils",
    "curl", "build-essential", "libtirpc-dev", "e2fsprogs", "util-linux", "iproute2", "net-tools",
    "python3", "coreutils",
]
# The lmbench-lab README's --include list, then what the applications need in the guest.
ROOTFS_INCLUDE = [
    "libtirpc3", "net-tools", "procps", "iproute2", "kmod", "udev", "e2fsprogs",
    "xz-utils", "make", "gcc", "libc6-dev", "libtirpc-dev", "sqlite3", "python3", "curl", "time",
]

ENVS = ["host", "container", "tcg", "uml", "kvm"]
BASELINE = "host"
TECHNOLOGY = {"host": "physical", "container": "container", "tcg": "qemu-tcg", "uml": "uml", "kvm": "kvm"}

# Application workloads. "sizes" are the calibrated defaults (see README "Applications"): keys that
# are baked into generated inputs are marked in INPUT_SIZE_KEYS, the rest are passed at run time.
APPS: dict[str, dict] = {
    "xz": {
        "stresses": "CPU (integer compression, single thread) and some memory bandwidth; few system calls",
        "what": "xz -T1 -6 compression of a fixed generated file of {input_mib} MiB of word-like text",
        "sizes": {"input_mib": 6},
    },
    "make": {
        "stresses": "processes (fork/exec of gcc, cc1, as, ld), small file reads/writes, CPU",
        "what": "make -j1 of part of lmbench's own sources ({targets}) with gcc -O",
        "sizes": {"targets": "lmbench.a lat_syscall lat_pipe"},
    },
    "untar": {
        "stresses": "file-system metadata: create, write small files, stat, readdir, unlink (page cache)",
        "what": "{rounds} rounds of: tar xf of a generated tree of {files} files in {dirs} directories, find -ls, du -s, rm -rf",
        "sizes": {"files": 6000, "dirs": 60, "rounds": 3},
    },
    "sqlite": {
        "stresses": "fsync/fdatasync and small synchronous writes (disk latency)",
        "what": "sqlite3: {rows} single-row INSERTs, each its own transaction (autocommit, synchronous=FULL)",
        "sizes": {"rows": 400},
    },
    "http": {
        "stresses": "TCP over loopback: connect/accept, small request/response round trips, python3 server threads",
        "what": "python3 -m http.server on 127.0.0.1 and one curl fetching {files} small files (1 connection each)",
        "sizes": {"files": 3000},
    },
    "spawn": {
        "stresses": "fork/exec/exit/wait of short processes",
        "what": "a /bin/sh loop running /bin/true {n} times",
        "sizes": {"n": 2000},
    },
    "pagefault": {
        "stresses": "anonymous-memory page faults (allocation + zeroing), mmap/munmap",
        "what": "a C program touching every 4 KiB page of {mib} MiB of anonymous memory, {passes} pass(es)",
        "sizes": {"mib": 1024, "passes": 4},
    },
}
INPUT_SIZE_KEYS = {"xz": ["input_mib"], "untar": ["files", "dirs"], "http": ["files"]}
APP_ORDER = list(APPS)

# lmbench CONFIG: the lmbench-lab README's fixed values, in scripts/config-run's order and format.
CONFIG_FIXED = {
    "DISKS": '""', "DISK_DESC": '""', "OUTPUT": "/dev/null", "ENOUGH": "5000", "FASTMEM": '"NO"',
    "FILE": "/var/tmp/XXX", "FSDIR": "/var/tmp/lat_fs", "INFO": "INFO.lab", "LINE_SIZE": "64",
    "MAIL": "no", "MB": "64", "MHZ": '""', "MOTHERBOARD": '""', "NETWORKS": '""', "OS": f'"{LMBENCH_OS}"',
    "REMOTE": '""', "SLOWFS": '"NO"', "SYNC_MAX": '"1"', "LMBENCH_SCHED": '"DEFAULT"', "RSH": "rsh",
    "RCP": "rcp", "VERSION": "lmbench-3alpha4",
}
CONFIG_ORDER = [
    "DISKS", "DISK_DESC", "OUTPUT", "ENOUGH", "FASTMEM", "FILE", "FSDIR", "INFO", "LINE_SIZE", "LOOP_O",
    "MAIL", "TOTAL_MEM", "MB", "MHZ", "MOTHERBOARD", "NETWORKS", "OS", "PROCESSORS", "REMOTE", "SLOWFS",
    "SYNC_MAX", "LMBENCH_SCHED", "TIMING_O", "RSH", "RCP", "VERSION",
]
BENCHMARK_FLAGS = [
    "HARDWARE", "OS", "SYSCALL", "SELECT", "PROC", "CTX", "PAGEFAULT", "FILE", "MMAP", "PIPE", "UNIX",
    "UDP", "TCP", "CONNECT", "RPC", "HTTP", "BCOPY", "MEM", "OPS",
]


def render_config(timing_o: str = "@TIMING_O@", loop_o: str = "@LOOP_O@", processors: str = "@PROCESSORS@",
                  total_mem: str = "") -> str:
    """The CONFIG file lmbench's driver sources, in scripts/config-run's format.

    With the default arguments it is the template whose @TIMING_O@, @LOOP_O@ and @PROCESSORS@ the
    environment fills in (labfuncs.sh lab_config). MB=64, ENOUGH=5000, BENCHMARK_OS/OPS=YES,
    HARDWARE/MEM=NO and every other BENCHMARK_<x>=YES, as the lmbench-lab README says.
    """
    values = dict(CONFIG_FIXED)
    values.update({"LOOP_O": loop_o, "TIMING_O": timing_o, "PROCESSORS": f'"{processors}"', "TOTAL_MEM": total_mem})
    lines = [f"{k}={values[k]}" for k in CONFIG_ORDER]
    for flag in BENCHMARK_FLAGS:
        lines.append(f"BENCHMARK_{flag}={'NO' if flag in ('HARDWARE', 'MEM') else 'YES'}")
    return "\n".join(lines) + "\n"


def parse_config(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.strip('"')
    return out


# ---------------------------------------------------------------------------------------------
# Commands and steps

@dataclasses.dataclass
class Cmd:
    """One thing a step does: a program (argv), a bash command line (shell) or a Python action."""

    argv: list[str] | None = None
    shell: str | None = None
    func: Callable[[], None] | None = None
    desc: str = ""
    env: dict[str, str] | None = None
    check: bool = True

    def render(self) -> str:
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in (self.env or {}).items())
        prefix = f"env {envs} " if envs else ""
        if self.argv is not None:
            return prefix + shlex.join(self.argv)
        if self.shell is not None:
            return prefix + self.shell
        return f"# (python) {self.desc}"


@dataclasses.dataclass
class Step:
    name: str                     # build:lmbench, env:tcg
    sig: str                      # what the result depends on; a different sig means "redo"
    markers: Path                 # directory of <name>.done / <name>.started
    commands: Callable[[], list[Cmd]]
    cleanup: list[Path] = dataclasses.field(default_factory=list)  # removed before a redo
    outputs: list[Path] = dataclasses.field(default_factory=list)  # must exist for "done"
    log: Path | None = None
    job: Callable[[], str] | None = None  # env steps: the script that runs inside the environment
    note: str = ""

    @property
    def slug(self) -> str:
        return self.name.replace(":", "-")

    @property
    def done_file(self) -> Path:
        return self.markers / f"{self.slug}.done"

    @property
    def started_file(self) -> Path:
        return self.markers / f"{self.slug}.started"


def step_status(step: Step) -> str:
    """done | todo | partial (started, never finished: redo cleanly) | stale (done with other inputs)."""
    if step.done_file.is_file():
        try:
            info = json.loads(step.done_file.read_text())
        except (OSError, ValueError):
            return "partial"
        if info.get("sig") != step.sig:
            return "stale"
        if any(not p.exists() for p in step.outputs):
            return "partial"
        return "done"
    if step.started_file.exists():
        return "partial"
    return "todo"


def marker_info(step: Step) -> dict:
    try:
        return json.loads(step.done_file.read_text())
    except (OSError, ValueError):
        return {}


def sig_of(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def files_sig(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def fmt_secs(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m{s % 60:02d}s"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# The lab

class LabError(Exception):
    pass


@dataclasses.dataclass
class Lab:
    state: Path = DEFAULT_STATE
    plan: str = "campaign"
    runs: int = 5
    reps: int = 5
    apps: list[str] = dataclasses.field(default_factory=lambda: list(APP_ORDER))
    sizes: dict[str, dict] = dataclasses.field(default_factory=lambda: {a: dict(v["sizes"]) for a, v in APPS.items()})
    smoke: bool = False
    dry_run: bool = False
    tarball: Path = DEFAULT_TARBALL
    mirror: str = DEFAULT_MIRROR
    out: object = None  # progress stream (default sys.stdout)
    proc_root: Path = Path("/")  # where /proc, /dev/kvm, /sys are read (tests point it elsewhere)

    def __post_init__(self):
        self.state = Path(self.state)
        if self.out is None:
            self.out = sys.stdout
        unknown = [a for a in self.apps if a not in APPS]
        if unknown:
            raise LabError(f"unknown app(s): {', '.join(unknown)}; known: {', '.join(APP_ORDER)}")
        minimum = 0 if self.smoke else 3
        if self.runs < minimum:
            raise LabError(f"--runs must be at least {minimum} (use --smoke for a reduced test plan)")
        if self.reps < (1 if self.smoke else 3):
            raise LabError(f"--reps must be at least {1 if self.smoke else 3} (use --smoke for a reduced test plan)")

    # paths ------------------------------------------------------------------------------------
    @property
    def build(self) -> Path:
        return self.state / "build"

    @property
    def rootfs(self) -> Path:
        return self.build / "rootfs"

    @property
    def image(self) -> Path:
        return self.build / "guest.img"

    @property
    def kernel_dir(self) -> Path:
        return self.build / "kernel"

    @property
    def run_dir(self) -> Path:
        return self.state / "runs" / self.plan

    def results(self, env: str) -> Path:
        return self.run_dir / "results" / env

    # build steps ------------------------------------------------------------------------------
    def build_steps(self) -> list[Step]:
        m, logs = self.build / "markers", self.build / "logs"
        s_pkg = sig_of("packages", HOST_PACKAGES)
        s_lmb = sig_of("lmbench", LMBENCH_SHA256, "tirpc-lines-enabled", s_pkg)
        s_root = sig_of("rootfs", SUITE, self.mirror, ROOTFS_INCLUDE)
        s_kern = sig_of("kernel", KERNEL_PACKAGE, s_root)
        src_files = sorted((LAB_DIR / "apps").glob("*.sh")) + sorted((LAB_DIR / "guest").glob("*.sh")) + sorted((LAB_DIR / "src").glob("*.c"))
        input_sizes = {a: {k: self.sizes[a][k] for k in ks} for a, ks in INPUT_SIZE_KEYS.items()}
        s_pay = sig_of("payload", s_lmb, s_root, files_sig(src_files), input_sizes, INPUTS_VERSION)
        s_img = sig_of("image", IMAGE_SIZE, s_pay, s_root)
        lmb = self.build / "lmbench"
        return [
            Step("build:packages", s_pkg, m, self._cmds_packages, log=logs / "packages.log"),
            Step("build:lmbench", s_lmb, m, self._cmds_lmbench, cleanup=[lmb, self.build / "lmbench.tmp"],
                 outputs=[lmb / "bin" / LMBENCH_OS / "lmbench"], log=logs / "lmbench.log"),
            Step("build:rootfs", s_root, m, self._cmds_rootfs, cleanup=[self.rootfs, self.build / "rootfs.tmp"],
                 outputs=[self.rootfs / "usr" / "bin" / "gcc"], log=logs / "rootfs.log"),
            Step("build:kernel", s_kern, m, self._cmds_kernel, cleanup=[self.kernel_dir, self.build / "kroot"],
                 outputs=[self.kernel_dir / "vmlinuz", self.kernel_dir / "initrd.img"], log=logs / "kernel.log"),
            Step("build:payload", s_pay, m, self._cmds_payload, cleanup=[self.rootfs / "lab"],
                 outputs=[self.rootfs / "lab" / "PAYLOAD_OK"], log=logs / "payload.log"),
            Step("build:image", s_img, m, self._cmds_image, cleanup=[self.image, self.build / "guest.img.tmp"],
                 outputs=[self.image], log=logs / "image.log"),
        ]

    def _cmds_packages(self) -> list[Cmd]:
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        return [
            Cmd(["apt-get", "update", "-q"], env=env),
            Cmd(["apt-get", "install", "-y", "-q", "--no-install-recommends", *HOST_PACKAGES], env=env),
        ]

    def _cmds_lmbench(self) -> list[Cmd]:
        tmp, final = self.build / "lmbench.tmp", self.build / "lmbench"
        return [
            Cmd(shell=f"echo '{LMBENCH_SHA256}  {self.tarball}' | sha256sum -c -"),
            Cmd(["rm", "-rf", str(tmp), str(final)]),
            Cmd(["mkdir", "-p", str(tmp)]),
            Cmd(["tar", "xzf", str(self.tarball), "-C", str(tmp), "--strip-components=1"]),
            # the two lines scripts/build has commented out (needed for rpc on glibc >= 2.32)
            Cmd(["sed", "-i", "-e", r"s|^#LDLIBS=\"\${LDLIBS} -ltirpc\"|LDLIBS=\"${LDLIBS} -ltirpc\"|",
                 "-e", r"s|^#CFLAGS=\"\${CFLAGS} -I/usr/include/tirpc\"|CFLAGS=\"${CFLAGS} -I/usr/include/tirpc\"|",
                 str(tmp / "scripts" / "build")]),
            Cmd(shell=f"grep -q '^LDLIBS=\"${{LDLIBS}} -ltirpc\"' {tmp}/scripts/build && grep -q '^CFLAGS=\"${{CFLAGS}} -I/usr/include/tirpc\"' {tmp}/scripts/build"),
            Cmd(shell=f"cd {tmp} && make build"),
            Cmd(shell=f"test -x {tmp}/bin/{LMBENCH_OS}/lmbench && test -x {tmp}/bin/{LMBENCH_OS}/lat_syscall && test -x {tmp}/bin/{LMBENCH_OS}/lat_rpc"),
            Cmd(["mv", str(tmp), str(final)]),
        ]

    def _cmds_rootfs(self) -> list[Cmd]:
        tmp = self.build / "rootfs.tmp"
        return [
            Cmd(["rm", "-rf", str(tmp), str(self.rootfs)]),
            Cmd(["debootstrap", "--variant=minbase", f"--include={','.join(ROOTFS_INCLUDE)}", SUITE, str(tmp), self.mirror]),
            Cmd(shell=f"rm -f {tmp}/var/cache/apt/archives/*.deb"),
            Cmd(shell=f"printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n' > {tmp}/etc/hosts"),
            Cmd(["mv", str(tmp), str(self.rootfs)]),
        ]

    def _cmds_kernel(self) -> list[Cmd]:
        kroot = self.build / "kroot"
        sources = (f"deb {self.mirror} {SUITE} main\\ndeb {self.mirror} {SUITE}-updates main\\n"
                   f"deb {SECURITY_MIRROR} {SUITE}-security main\\n")
        inner = (f"mount -t proc proc {kroot}/proc && mount -t sysfs sysfs {kroot}/sys && "
                 f"chroot {kroot} sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                 f"--no-install-recommends initramfs-tools {KERNEL_PACKAGE}'")
        return [
            Cmd(["rm", "-rf", str(kroot), str(self.kernel_dir)]),
            Cmd(["cp", "-a", str(self.rootfs), str(kroot)]),
            Cmd(["rm", "-rf", str(kroot / "lab")]),
            Cmd(shell=f"printf '{sources}' > {kroot}/etc/apt/sources.list && cp /etc/resolv.conf {kroot}/etc/resolv.conf"),
            Cmd(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner]),
            Cmd(["mkdir", "-p", str(self.kernel_dir) + ".tmp"]),
            Cmd(["cp", str(kroot / "boot" / f"vmlinuz-{KERNEL_VERSION}"), str(self.kernel_dir) + ".tmp/vmlinuz"]),
            Cmd(["cp", str(kroot / "boot" / f"initrd.img-{KERNEL_VERSION}"), str(self.kernel_dir) + ".tmp/initrd.img"]),
            Cmd(shell=f"chroot {kroot} dpkg-query -W {KERNEL_PACKAGE} initramfs-tools > {self.kernel_dir}.tmp/packages.txt"),
            Cmd(["rm", "-rf", str(kroot)]),
            Cmd(["mv", str(self.kernel_dir) + ".tmp", str(self.kernel_dir)]),
        ]

    def _cmds_payload(self) -> list[Cmd]:
        lab = self.rootfs / "lab"
        return [
            Cmd(["rm", "-rf", str(lab)]),
            Cmd(["mkdir", "-p", *(str(lab / d) for d in ("bin", "jobs", "results", "inputs", "apps"))]),
            Cmd(["cp", "-a", str(self.build / "lmbench"), str(lab / "lmbench")]),
            Cmd(shell=f"echo {LMBENCH_COMMIT} > {lab}/LMBENCH_COMMIT"),
            Cmd(["gcc", "-O2", "-Wall", "-o", str(lab / "bin" / "pagefault"), str(LAB_DIR / "src" / "pagefault.c")]),
            Cmd(["gcc", "-O2", "-Wall", "-o", str(lab / "bin" / "lab-poweroff"), str(LAB_DIR / "src" / "lab-poweroff.c")]),
            Cmd(shell=f"cp {LAB_DIR}/apps/*.sh {lab}/apps/ && cp {LAB_DIR}/guest/labfuncs.sh {LAB_DIR}/guest/init.sh {lab}/ && chmod 755 {lab}/init.sh"),
            Cmd(["cp", str(self.tarball), str(lab / "inputs" / "lmbench-src.tar.gz")]),
            Cmd(func=lambda: generate_inputs(lab / "inputs", self.sizes),
                desc=f"generate the application inputs into {lab}/inputs (xz {self.sizes['xz']['input_mib']} MiB, "
                     f"untar {self.sizes['untar']['files']} files, http {self.sizes['http']['files']} files; MANIFEST.txt with sha256)"),
            Cmd(shell=f"date -u +%Y-%m-%dT%H:%M:%SZ > {lab}/PAYLOAD_OK"),
        ]

    def _cmds_image(self) -> list[Cmd]:
        tmp = str(self.build / "guest.img.tmp")
        return [
            Cmd(["rm", "-f", tmp, str(self.image)]),
            Cmd(["truncate", "-s", IMAGE_SIZE, tmp]),
            Cmd(["mke2fs", "-q", "-t", "ext4", "-L", "labroot", "-d", str(self.rootfs), tmp]),
            Cmd(["e2fsck", "-fn", tmp]),
            Cmd(["mv", tmp, str(self.image)]),
        ]

    # environments -----------------------------------------------------------------------------
    def app_env(self) -> dict[str, str]:
        s = self.sizes
        return {
            "LAB_XZ_INPUT_MIB": str(s["xz"]["input_mib"]),
            "LAB_MAKE_TARGETS": str(s["make"]["targets"]),
            "LAB_UNTAR_FILES": str(s["untar"]["files"]),
            "LAB_UNTAR_ROUNDS": str(s["untar"]["rounds"]),
            "LAB_SQLITE_ROWS": str(s["sqlite"]["rows"]),
            "LAB_HTTP_FILES": str(s["http"]["files"]),
            "LAB_SPAWN_N": str(s["spawn"]["n"]),
            "LAB_PAGEFAULT_MIB": str(s["pagefault"]["mib"]),
            "LAB_PAGEFAULT_PASSES": str(s["pagefault"]["passes"]),
        }

    def env_sig(self, env: str) -> str:
        b = {s.name: s.sig for s in self.build_steps()}
        deps = [b["build:payload"]] + ([b["build:image"], b["build:kernel"]] if env in ("tcg", "uml", "kvm") else [])
        return sig_of("env", env, self.plan, self.runs, self.reps, self.apps,
                      {a: self.sizes[a] for a in self.apps}, PIN_CPU, deps)

    def expected_files(self, env: str) -> list[str]:
        files = [f"lmbench/{env}.{n}" for n in range(self.runs)]
        for app in self.apps:
            files += [f"apps/{app}/{r}.time-v.txt" for r in range(1, self.reps + 1)]
            if env == BASELINE:
                files.append(f"apps/{app}/strace.txt")
        return files

    def job_script(self, env: str, lab_root: str, lab_out: str, work: str = "/var/tmp/lab-work") -> str:
        """The bash script that runs inside the environment: every lmbench run and app repetition."""
        lines = [
            "#!/bin/bash",
            f"# vizlib lab job: env={env} plan={self.plan} runs={self.runs} reps={self.reps}",
            f"# generated by lab/lab on {now_iso()}; runs inside the environment (see lab/README.md)",
            "set -u",
            f"LAB_ENV={env}",
            # as the container's PID 1 bash would ignore SIGTERM without a handler: stop on a signal
            'trap \'echo "[lab $LAB_ENV] stopped by a signal"; exit 143\' TERM INT HUP',
            f"LAB_ROOT={shlex.quote(lab_root)}",
            f"LAB_OUT={shlex.quote(lab_out)}",
            f"LAB_SIG={self.env_sig(env)}",
            f"LAB_WORK={shlex.quote(work)}",
            f"LAB_OS={LMBENCH_OS}",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin; export PATH",
            'USER=$(id -un); HOME=${HOME:-/root}; export USER HOME  # lmbench prints [USER: $USER]',
            "export LAB_ENV LAB_ROOT LAB_WORK",
        ]
        lines += [f"export {k}={shlex.quote(v)}" for k, v in self.app_env().items()]
        lines += ["LAB_EXPECT=$(cat <<'EOF'", *self.expected_files(env), "EOF", ")"]
        lines += [
            '. "$LAB_ROOT/labfuncs.sh"',
            "lab_begin",
            'LAB_CONFIG_TEMPLATE="$LAB_OUT/CONFIG.template"',
            "cat > \"$LAB_CONFIG_TEMPLATE\" <<'EOF'",
            render_config().rstrip("\n"),
            "EOF",
            "lab_config || exit 1",
        ]
        lines += [f"lab_lmbench {n}" for n in range(self.runs)]
        for app in self.apps:
            lines += [f"lab_app {app} {r}" for r in range(1, self.reps + 1)]
        if env == BASELINE:
            lines += [f"lab_strace {app}" for app in self.apps]
        lines.append("lab_end")
        return "\n".join(lines) + "\n"

    def env_steps(self, envs: Iterable[str] | None = None) -> list[Step]:
        m, logs = self.run_dir / "markers", self.run_dir / "logs"
        steps = []
        for env in envs or ENVS:
            if env not in ENVS:
                raise LabError(f"unknown environment {env!r}; known: {', '.join(ENVS)}")
            res = self.results(env)
            work = self.run_dir / "work"
            if env == "host":
                st = Step("env:host", self.env_sig(env), m, lambda: self._cmds_host(), outputs=[res / "DONE"],
                          log=logs / "env-host.log",
                          job=lambda: self.job_script("host", str(self.run_dir / "work" / "host-lab"), str(self.results("host"))))
            elif env == "container":
                st = Step("env:container", self.env_sig(env), m, lambda: self._cmds_container(), outputs=[res / "DONE"],
                          log=logs / "env-container.log",
                          job=lambda: self.job_script("container", "/lab", "/lab/results/container"))
            elif env in ("tcg", "uml", "kvm"):
                st = Step(f"env:{env}", self.env_sig(env), m, (lambda e=env: self._cmds_guest(e)),
                          cleanup=[work / f"{env}.img", self.run_dir / "results" / f".{env}.rdump", res],
                          outputs=[res / ("SKIPPED.txt" if env == "kvm" and self.kvm_reason() else "DONE")],
                          log=logs / f"env-{env}.log",
                          job=(lambda e=env: self.job_script(e, "/lab", f"/lab/results/{e}")))
                if env == "kvm":
                    reason = self.kvm_reason()
                    if reason:
                        st.note = "skipped: " + reason
                        st.job = None
            steps.append(st)
        return steps

    def _write(self, path: Path, text: str, mode: int = 0o644) -> Cmd:
        def f():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.chmod(mode)
            tmp.replace(path)
        return Cmd(func=f, desc=f"write {path} ({len(text.encode())} bytes)")

    def _hostside(self, env: str, commands: list[Cmd], extra: dict) -> Cmd:
        def f():
            info = {
                "env": env, "plan": self.plan, "written_utc": now_iso(),
                "pinning": pinning_text(env),
                "commands": [c.render() for c in commands if c.func is None],
                "host_uname": _run_text(["uname", "-a"]),
                "host_cpu_model": _cpu_model(self.proc_root),
                "host_nproc": os.cpu_count(),
                "runs": self.runs, "reps": self.reps, "apps": self.apps,
                "sizes": {a: self.sizes[a] for a in self.apps},
                **extra,
            }
            if env in ("tcg", "kvm"):
                info["qemu_version"] = _run_text(["qemu-system-x86_64", "--version"]).splitlines()[0:1]
                info["guest_kernel_packages"] = _read(self.kernel_dir / "packages.txt")
            if env == "uml":
                info["uml_package"] = _run_text(["dpkg-query", "-W", "user-mode-linux"])
            p = self.run_dir / "hostside" / f"{env}.json"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(info, indent=2) + "\n")
        return Cmd(func=f, desc=f"write {self.run_dir}/hostside/{env}.json (host-side commands, versions, pinning)")

    def _fresh_copy(self, src: Path, dst: Path, env: str) -> str:
        """Reuse DST (same-boot resume) only if it was copied for this very plan signature."""
        sig = self.env_sig(env)
        return (f"[ \"$(cat {dst}.sig 2>/dev/null)\" = {sig} ] && [ -d {dst} ] || "
                f"{{ rm -rf {dst} {dst}.tmp {dst}.sig && cp -a {src} {dst}.tmp && mv {dst}.tmp {dst} && echo {sig} > {dst}.sig; }}")

    def _cmds_host(self) -> list[Cmd]:
        work = self.run_dir / "work"
        job = self.run_dir / "jobs" / "host.sh"
        hl = work / "host-lab"
        cmds = [
            Cmd(["mkdir", "-p", str(work), str(self.results("host").parent)]),
            Cmd(shell=self._fresh_copy(self.rootfs / "lab", hl, "host")),
            self._write(job, self.job_script("host", str(hl), str(self.results("host")))),
            Cmd(["taskset", "-c", PIN_CPU, "/bin/bash", str(job)], env={"HOME": "/root"}),
            Cmd(["test", "-f", str(self.results("host") / "DONE")]),
        ]
        return cmds + [self._hostside("host", cmds, {})]

    def memory_cgroup_base(self) -> Path:
        base = Path("/sys/fs/cgroup/memory")
        try:
            for line in (self.proc_root / "proc/self/cgroup").read_text().splitlines():
                _, ctrl, path = line.split(":", 2)
                if "memory" in ctrl.split(","):
                    return base / path.lstrip("/")
        except (OSError, ValueError):
            pass
        return base

    def container_cgroups(self) -> dict[str, Path]:
        return {
            "cpu": Path("/sys/fs/cgroup/cpu/lab-container"),
            "cpuset": Path("/sys/fs/cgroup/cpuset/lab-container"),
            "pids": Path("/sys/fs/cgroup/pids/lab-container"),
            "memory": self.memory_cgroup_base() / "lab-container",
        }

    def _cmds_container(self) -> list[Cmd]:
        work = self.run_dir / "work"
        croot = work / "container-root"
        res = self.results("container")
        cg = self.container_cgroups()
        settings = [
            (cg["cpu"], "cpu.shares", "1024"), (cg["cpu"], "cpu.cfs_period_us", "100000"),
            (cg["cpu"], "cpu.cfs_quota_us", "-1"), (cg["cpuset"], "cpuset.cpus", PIN_CPU),
            (cg["cpuset"], "cpuset.mems", "0"), (cg["pids"], "pids.max", "4096"),
            (cg["memory"], "memory.limit_in_bytes", "4294967296"),
        ]
        procs = " ".join(str(p / "cgroup.procs") for p in cg.values())
        enter = (f"for f in {procs}; do echo $$ > $f; done; exec unshare --pid --net --mount --uts --ipc --fork --kill-child "
                 f"--propagation private /bin/sh {LAB_DIR}/guest/container-enter.sh {croot} /lab/jobs/job.sh")
        cmds = [
            # processes left in the lab's own cgroups by an interrupted run (ours by construction)
            Cmd(shell=f"for f in {procs}; do [ -f $f ] && for p in $(cat $f); do kill -9 $p; done; done; true"),
            Cmd(shell=f"rmdir {' '.join(str(p) for p in cg.values())} 2>/dev/null; true"),
            Cmd(["mkdir", "-p", str(work), str(res.parent), *(str(p) for p in cg.values())]),
            *[Cmd(shell=f"echo {v} > {d / k}") for d, k, v in settings],
            Cmd(shell=self._fresh_copy(self.rootfs, croot, "container")),
            self._write(croot / "lab" / "jobs" / "job.sh", self.job_script("container", "/lab", "/lab/results/container")),
            self._write(self.run_dir / "jobs" / "container.sh", self.job_script("container", "/lab", "/lab/results/container")),
            Cmd(["bash", "-c", enter]),
            Cmd(shell=f"rmdir {' '.join(str(p) for p in cg.values())}", check=False),
            Cmd(["test", "-f", str(croot / "lab" / "results" / "container" / "DONE")]),
            Cmd(shell=f"rm -rf {res}.tmp {res} && cp -a {croot}/lab/results/container {res}.tmp && mv {res}.tmp {res}"),
        ]
        return cmds + [self._hostside("container", cmds, {"cgroups": {k: str(v) for k, v in cg.items()},
                                                           "cgroup_settings": [f"{d / k}={v}" for d, k, v in settings]})]

    def kvm_reason(self) -> str:
        """Why a KVM guest cannot run here ('' if it can)."""
        cpuinfo = _read(self.proc_root / "proc/cpuinfo")
        flags = set()
        for line in cpuinfo.splitlines():
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
        reasons = []
        if not ({"vmx", "svm"} & flags):
            reasons.append("the CPUs expose no vmx/svm flag in /proc/cpuinfo (no hardware virtualization for a stock guest kernel)")
        dev = self.proc_root / "dev/kvm"
        if not dev.exists():
            reasons.append("/dev/kvm does not exist")
        else:
            usable, why = _kvm_usable(dev)
            if not usable:
                reasons.append(f"/dev/kvm is not usable: {why}")
            modules = _read(self.proc_root / "proc/modules")
            cmdline = _read(self.proc_root / "proc/cmdline")
            if "kvm_pvm" in modules or "nested_pvm" in cmdline:
                reasons.append("/dev/kvm is provided by kvm_pvm (PVM, pagetable-based virtualization; host cmdline has "
                               "nested_pvm=1): it runs only PVM guest kernels, and lmbench-lab's attempts with the stock "
                               "Debian kernel failed (see /work/shared/lmbench-lab/README.md, section kvm)")
        usable = dev.exists() and _kvm_usable(dev)[0]
        if {"vmx", "svm"} & flags and usable:
            return ""
        return "; ".join(reasons) or "KVM is not usable"

    def _cmds_guest(self, env: str) -> list[Cmd]:
        if env == "kvm":
            reason = self.kvm_reason()
            if reason:
                res = self.results("kvm")
                text = (f"kvm: SKIPPED on {now_iso()}\n\nReason: {reason}.\n\n"
                        "Detection: lab/lablib.py Lab.kvm_reason() looks for vmx/svm in /proc/cpuinfo and opens /dev/kvm "
                        "(KVM_GET_API_VERSION). No kvm results were produced and none were substituted.\n")
                return [Cmd(["mkdir", "-p", str(res)]), self._write(res / "SKIPPED.txt", text),
                        self._hostside("kvm", [], {"skipped": reason})]
        work = self.run_dir / "work"
        img = work / f"{env}.img"
        job = self.run_dir / "jobs" / f"{env}.sh"
        res = self.results(env)
        rdump = self.run_dir / "results" / f".{env}.rdump"
        timeout = 1800 + self.runs * (1500 if env == "uml" else 900) + len(self.apps) * (self.reps + 1) * 300
        append = f"root=/dev/vda rw console=ttyS0 init=/lab/init.sh lab_env={env}"
        if env == "uml":
            vm = ["env", "TMPDIR=/dev/shm", "timeout", "--foreground", "-k", "60", str(timeout), "taskset", "-c", PIN_CPU,
                  "linux.uml", f"mem={GUEST_MEM_MB}M", f"ubd0={img}", "root=/dev/ubda", "rw", "init=/lab/init.sh",
                  f"lab_env={env}", "con=null", "con0=null,fd:1"]
        else:
            accel = ["-accel", "tcg,thread=multi", "-cpu", "max"] if env == "tcg" else ["-enable-kvm", "-cpu", "host"]
            vm = ["timeout", "--foreground", "-k", "60", str(timeout), "taskset", "-c", PIN_CPU, "qemu-system-x86_64", *accel,
                  "-smp", "1", "-m", str(GUEST_MEM_MB), "-kernel", str(self.kernel_dir / "vmlinuz"),
                  "-initrd", str(self.kernel_dir / "initrd.img"), "-append", append,
                  "-drive", f"file={img},format=raw,if=virtio,cache=writeback", "-nic", "none", "-nographic", "-no-reboot"]
        cmds = [
            Cmd(["rm", "-rf", str(img), str(rdump), str(res)]),
            Cmd(["mkdir", "-p", str(work), str(rdump)]),
            Cmd(["cp", "--sparse=always", str(self.image), str(img)]),
            self._write(job, self.job_script(env, "/lab", f"/lab/results/{env}")),
            Cmd(shell=f"printf 'cd /lab/jobs\\nwrite {job} job.sh\\n' | debugfs -w -f - {img}"),
            Cmd(shell=" ".join(shlex.quote(a) for a in vm) + " < /dev/null"),
            Cmd(shell=f"e2fsck -fy {img}; rc=$?; [ $rc -le 1 ]"),
            Cmd(["debugfs", "-R", f"rdump /lab/results/{env} {rdump}", str(img)]),
            Cmd(["test", "-f", str(rdump / env / "DONE")]),
            Cmd(["mv", str(rdump / env), str(res)]),
            Cmd(["rm", "-rf", str(rdump), str(img)]),
        ]
        return cmds + [self._hostside(env, cmds, {"timeout_s": timeout})]

    # planning and running ---------------------------------------------------------------------
    def steps_for(self, target: str, envs: list[str] | None = None) -> list[Step]:
        if target == "build":
            return self.build_steps()
        if target == "env":
            return self.build_steps() + self.env_steps(envs)
        if target == "all":
            return self.build_steps() + self.env_steps(ENVS)
        raise LabError(f"unknown target {target}")

    def plan_table(self, steps: list[Step]) -> list[tuple[str, str]]:
        return [(s.name, step_status(s)) for s in steps]

    def say(self, msg: str) -> None:
        print(f"[lab {time.strftime('%H:%M:%S')}] {msg}", file=self.out, flush=True)

    def dry_run_text(self, steps: list[Step]) -> str:
        buf = io.StringIO()
        buf.write(f"# vizlib lab dry run: state={self.state} plan={self.plan} runs={self.runs} reps={self.reps} "
                  f"apps={','.join(self.apps)} pinned to CPU {PIN_CPU}\n# nothing below is executed\n")
        for i, st in enumerate(steps, 1):
            status = step_status(st)
            buf.write(f"\n## ({i}/{len(steps)}) {st.name} [{status}{'; ' + st.note if st.note else ''}]\n")
            if status == "done":
                buf.write("# done already: would be skipped\n")
                continue
            if status in ("partial", "stale") and st.cleanup:
                buf.write(f"# {status}: would first remove {' '.join(map(str, st.cleanup))}\n")
            for c in st.commands():
                buf.write(c.render() + "\n")
            if st.job:
                buf.write(f"# --- job script for {st.name} (runs inside the environment) ---\n")
                for line in st.job().splitlines():
                    buf.write("#   " + line + "\n")
        return buf.getvalue()

    def run(self, steps: list[Step]) -> int:
        if self.dry_run:
            self.out.write(self.dry_run_text(steps))
            return 0
        self.state.mkdir(parents=True, exist_ok=True)
        lock = open(self.state / "lab.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(f"another lab process holds {self.state}/lab.lock")
        t_all = time.monotonic()
        for i, st in enumerate(steps, 1):
            status = step_status(st)
            tag = f"({i}/{len(steps)}) {st.name}"
            if status == "done":
                info = marker_info(st)
                self.say(f"{tag}: done already ({fmt_secs(info.get('seconds', 0))} on {info.get('finished', '?')}), skipped")
                continue
            if status in ("partial", "stale") and not st.cleanup:
                self.say(f"{tag}: {status} from an earlier run: rerunning it (the environment keeps only complete "
                         "items of the same boot and plan)")
            elif status in ("partial", "stale"):
                self.say(f"{tag}: {status} from an earlier run: redoing it cleanly")
                for p in st.cleanup:
                    _remove(p)
            self.say(f"{tag}: start{' (' + st.note + ')' if st.note else ''}; log {st.log}")
            st.markers.mkdir(parents=True, exist_ok=True)
            st.started_file.write_text(json.dumps({"sig": st.sig, "started": now_iso(), "pid": os.getpid()}))
            t0 = time.monotonic()
            started = now_iso()
            try:
                if st.name.startswith("env:") and "skipped" not in st.note:
                    with HostLoadSampler(self.run_dir / "hostside" / f"{st.name[4:]}.load.tsv", proc_root=self.proc_root):
                        for c in st.commands():
                            self._exec(c, st.log)
                else:
                    for c in st.commands():
                        self._exec(c, st.log)
            except LabError as e:
                self.say(f"{tag}: FAILED after {fmt_secs(time.monotonic() - t0)}: {e}")
                return 1
            secs = time.monotonic() - t0
            st.done_file.write_text(json.dumps({"sig": st.sig, "started": started, "finished": now_iso(),
                                                "seconds": round(secs, 1), "note": st.note}) + "\n")
            st.started_file.unlink(missing_ok=True)
            self.say(f"{tag}: done in {fmt_secs(secs)} (elapsed {fmt_secs(time.monotonic() - t_all)})")
        return 0

    def _exec(self, c: Cmd, log: Path | None) -> None:
        if log:
            log.parent.mkdir(parents=True, exist_ok=True)
        with open(log or os.devnull, "a") as lf:
            lf.write(f"\n### {now_iso()} $ {c.render()}\n")
            lf.flush()
            if c.func is not None:
                c.func()
                return
            env = dict(os.environ, **(c.env or {}))
            argv = c.argv if c.argv is not None else ["bash", "-c", c.shell]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env)
            old = signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = raw.decode("utf-8", "replace")
                    lf.write(line)
                    lf.flush()
                    if line.startswith("[lab "):
                        self.out.write("    " + line)
                        self.out.flush()
                rc = proc.wait()
            except KeyboardInterrupt:
                proc.terminate()
                proc.wait()
                raise
            finally:
                signal.signal(signal.SIGTERM, old)
            lf.write(f"### exit {rc}\n")
        if rc != 0 and c.check:
            raise LabError(f"command failed (exit {rc}): {c.render()[:300]} (log: {log})")


# ---------------------------------------------------------------------------------------------
# host load while an environment runs

class HostLoadSampler:
    """Every `interval` s: host load average and per-CPU busy % (from /proc/stat) into a TSV.

    Pinning keeps the lab on CPU 1 but does not keep other work off it; this record shows how busy
    each CPU was (lab + everything else) during the run, so disturbed runs can be recognised.
    """

    def __init__(self, path: Path, interval: float = 10.0, proc_root: Path = Path("/")):
        import threading
        self.path, self.interval, self.proc_root = path, interval, proc_root
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _cpu_times(self) -> dict[str, tuple[int, int]]:
        out = {}
        for line in _read(self.proc_root / "proc/stat").splitlines():
            parts = line.split()
            if parts and parts[0].startswith("cpu") and parts[0] != "cpu":
                vals = [int(v) for v in parts[1:]]
                idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
                out[parts[0]] = (sum(vals), idle)
        return out

    def _loop(self) -> None:
        # leave SIGTERM/SIGINT to the main thread, so a stop interrupts its wait on the running command
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
        prev = self._cpu_times()
        cpus = sorted(prev, key=lambda c: int(c[3:]))
        with open(self.path, "a") as f:
            if f.tell() == 0:
                f.write("time_utc\tload1\tload5\t" + "\t".join(f"{c}_busy_pct" for c in cpus) + "\n")
            while not self._stop.wait(self.interval):
                cur = self._cpu_times()
                busy = []
                for c in cpus:
                    dt = cur[c][0] - prev[c][0]
                    di = cur[c][1] - prev[c][1]
                    busy.append(f"{100.0 * (dt - di) / dt:.0f}" if dt > 0 else "")
                load = _read(self.proc_root / "proc/loadavg").split()[:2]
                f.write("\t".join([now_iso(), *load, *busy]) + "\n")
                f.flush()
                prev = cur

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def load_summary(path: Path) -> str:
    rows = _timeline(path)
    if not rows:
        return ""
    parts = []
    for key in [k for k in rows[0] if k.endswith("_busy_pct") or k == "load1"]:
        vals = [float(r[key]) for r in rows if r.get(key)]
        if vals:
            parts.append(f"{key.replace('_busy_pct', ' busy')} mean {sum(vals) / len(vals):.0f}{'%' if 'busy' in key else ''}"
                         if key != "load1" else f"load1 mean {sum(vals) / len(vals):.2f}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# helpers

def pinning_text(env: str) -> str:
    return {
        "host": f"taskset -c {PIN_CPU} (1 CPU usable)",
        "container": f"cgroup v1 cpuset.cpus={PIN_CPU} (1 CPU usable)",
        "tcg": f"qemu -smp 1 under taskset -c {PIN_CPU} (1 vCPU on host CPU {PIN_CPU})",
        "uml": f"linux.uml (1 CPU, NR_CPUS=1) under taskset -c {PIN_CPU}",
        "kvm": f"qemu -smp 1 under taskset -c {PIN_CPU}",
    }[env]


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


def _run_text(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model(proc_root: Path) -> str:
    for line in _read(proc_root / "proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def _kvm_usable(dev: Path) -> tuple[bool, str]:
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, f"open failed ({e.strerror})"
    try:
        version = fcntl.ioctl(fd, 0xAE00)  # KVM_GET_API_VERSION
        return (version == 12, f"KVM_GET_API_VERSION={version}")
    except OSError as e:
        return False, f"KVM_GET_API_VERSION failed ({e.strerror})"
    finally:
        os.close(fd)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


# ---------------------------------------------------------------------------------------------
# application inputs (deterministic: fixed seeds, fixed mtimes)

INPUTS_VERSION = 1
_WORDS = ("int long char unsigned struct static void return while for if else case break switch "
          "register double float sizeof typedef union const extern volatile goto default continue "
          "lat_syscall bw_mem lmbench result usecs microseconds bandwidth latency pipe socket fork "
          "exec mmap pagefault context switch file read write open close stat select signal tcp udp").split()


def _text_bytes(rng: random.Random, n: int) -> bytes:
    out, size = [], 0
    while size < n:
        line = " ".join(rng.choices(_WORDS, k=rng.randint(3, 14)))
        if rng.random() < 0.3:
            line += f" = {rng.randint(0, 1 << 31)};"
        line = "\t" * rng.randint(0, 3) + line + "\n"
        out.append(line)
        size += len(line)
    return "".join(out).encode()[:n]


def generate_inputs(dest: Path, sizes: dict[str, dict]) -> None:
    """xz-input.bin, untar.tar and http/ from fixed seeds; MANIFEST.txt lists sha256 and sizes."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261126)
    xz_bytes = int(sizes["xz"]["input_mib"]) << 20
    (dest / "xz-input.bin").write_bytes(_text_bytes(rng, xz_bytes))

    files, dirs = int(sizes["untar"]["files"]), int(sizes["untar"]["dirs"])
    rng = random.Random(4242)
    tar_path = dest / "untar.tar"
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tf:
        def add(name: str, data: bytes | None):
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 1764115200, 0, 0, "root", "root"
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                tf.addfile(ti, io.BytesIO(data))
        add("tree", None)
        for d in range(dirs):
            add(f"tree/d{d:03d}", None)
        for i in range(files):
            add(f"tree/d{i % dirs:03d}/f{i:05d}.c", _text_bytes(rng, rng.randint(200, 6000)))

    http = dest / "http"
    if http.exists():
        shutil.rmtree(http)
    http.mkdir()
    rng = random.Random(8008)
    for i in range(int(sizes["http"]["files"])):
        (http / f"f{i:05d}.txt").write_bytes(_text_bytes(rng, rng.randint(512, 4096)))
    (http / "ready.txt").write_text("ready\n")

    lines = [f"# lab application inputs (generated by lab/lablib.py generate_inputs, version {INPUTS_VERSION})",
             f"# sizes: {json.dumps({a: sizes[a] for a in INPUT_SIZE_KEYS}, sort_keys=True)}"]
    for p in [dest / "xz-input.bin", tar_path]:
        lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.stat().st_size}  {p.name}")
    h = hashlib.sha256()
    total = 0
    for p in sorted(http.iterdir()):
        data = p.read_bytes()
        h.update(p.name.encode() + b"\0" + data)
        total += len(data)
    lines.append(f"{h.hexdigest()}  {total}  http/ ({len(list(http.iterdir()))} files, hash of names+contents)")
    (dest / "MANIFEST.txt").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# collect

def _meta(path: Path) -> dict[str, str]:
    out = {}
    for line in _read(path).splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out.setdefault(k.strip(), v.strip())
    return out


def _timeline(path: Path) -> list[dict[str, str]]:
    rows = _read(path).splitlines()
    if not rows:
        return []
    head = rows[0].split("\t")
    return [dict(zip(head, r.split("\t"))) for r in rows[1:] if r.strip()]


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def environment_description(env: str, meta: dict[str, str], hostside: dict) -> str:
    cpu = f"{meta.get('cpu_model', '?')}, {meta.get('cpus_usable_nproc', '?')} CPU usable"
    base = {
        "host": "Baseline: the lab machine itself as root, no cgroup limits, its own namespaces",
        "container": ("OpenVZ analogue: the host kernel, cgroup v1 lab-container (cpu.shares 1024, no CPU cap, "
                      "pids.max 4096, memory 4 GiB), unshare --pid --net --mount --uts --ipc, chroot into a "
                      "debootstrap Debian 12 tree on the host ext4, loopback only"),
        "tcg": (f"QEMU TCG software emulation (-accel tcg,thread=multi -cpu max), Debian guest kernel {KERNEL_VERSION}, "
                f"{GUEST_MEM_MB} MiB, virtio-blk ext4 image (cache=writeback), no NIC (loopback only)"),
        "uml": (f"User-mode Linux (Debian user-mode-linux {hostside.get('uml_package', '').split()[-1:] and hostside.get('uml_package', '').split()[-1] or '?'}), "
                f"mem {GUEST_MEM_MB}M backed by /dev/shm, ubd root on a host file, guest processes under ptrace"),
        "kvm": f"QEMU with KVM, -cpu host, Debian guest kernel {KERNEL_VERSION}",
    }[env]
    return f"{base}. Pinned: {pinning_text(env)}. CPU: {cpu}. Kernel {meta.get('kernel_release', '?')}."


def collect(lab: Lab, out: Path, force: bool = False) -> list[str]:
    """Copy a plan's results into OUT in the layout vizlib reads; returns notes (missing items)."""
    rd = lab.run_dir
    if not (rd / "results").is_dir():
        raise LabError(f"no results under {rd}/results: run `lab/lab env ...` first (plan {lab.plan})")
    if out.exists() and any(out.iterdir()) and not force:
        raise LabError(f"{out} exists and is not empty (use --force to replace it)")
    tmp = out.with_name(out.name + ".collect-tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    notes: list[str] = []
    envs_ok: list[str] = []
    metas: dict[str, dict] = {}
    hostsides: dict[str, dict] = {}
    timelines: dict[str, list] = {}
    for env in ENVS:
        res = rd / "results" / env
        hs_path = rd / "hostside" / f"{env}.json"
        hostsides[env] = json.loads(hs_path.read_text()) if hs_path.is_file() else {}
        if env == "kvm" and (res / "SKIPPED.txt").is_file():
            notes.append(f"kvm: skipped ({hostsides[env].get('skipped', 'see SKIPPED.txt')})")
            continue
        if not res.is_dir():
            notes.append(f"{env}: no results (not run in plan {lab.plan})")
            continue
        if not (res / "DONE").is_file():
            notes.append(f"{env}: incomplete (no DONE marker): complete items are collected")
        metas[env] = _meta(res / "meta.txt")
        timelines[env] = _timeline(res / "timeline.tsv")
        lm = sorted((res / "lmbench").glob(f"{env}.*"), key=lambda p: (len(p.name), p.name))
        lm = [p for p in lm if re.fullmatch(rf"{env}\.\d+", p.name)]
        if lm:
            (tmp / "raw" / env).mkdir(parents=True, exist_ok=True)
            envs_ok.append(env)
        for p in lm:
            shutil.copyfile(p, tmp / "raw" / env / p.name)
        vdir = tmp / "validation" / env
        for app_dir in sorted((res / "apps").glob("*")) if (res / "apps").is_dir() else []:
            for f in sorted(app_dir.iterdir()):
                if re.fullmatch(r"\d+\.time-v\.txt", f.name) or f.name == "strace.txt":
                    (vdir / app_dir.name).mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, vdir / app_dir.name / f.name)
        for name in ("meta.txt", "timeline.tsv", "CONFIG"):
            if (res / name).is_file():
                vdir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(res / name, vdir / name)
        if hostsides[env]:
            vdir.mkdir(parents=True, exist_ok=True)
            (vdir / "hostside.json").write_text(json.dumps(hostsides[env], indent=2) + "\n")
        job = rd / "jobs" / f"{env}.sh"
        if job.is_file():
            vdir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(job, vdir / "job.sh")
        load = rd / "hostside" / f"{env}.load.tsv"
        if load.is_file():
            vdir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(load, vdir / "hostload.tsv")
    if not envs_ok:
        raise LabError(f"no lmbench results found under {rd}/results")
    # manifest
    lines = ["# Lab results made by vizlib's lab/lab (see LAB.md beside raw/). Every environment is pinned to",
             f"# one host CPU ({PIN_CPU}); the baseline is `{BASELINE}`, itself a VM if the lab machine is one.", ""]
    for env in envs_ok:
        meta = metas.get(env, {})
        lines.append(f"[environments.{env}]")
        lines.append(f'kind = "{"physical" if env == BASELINE else "virtual"}"')
        if env != BASELINE:
            if BASELINE not in envs_ok:
                notes.append(f"{env}: its baseline {BASELINE} has no results in this collection")
            lines.append(f'baseline = "{BASELINE}"')
        lines.append(f'technology = "{TECHNOLOGY[env]}"')
        if meta.get("kernel_release"):
            lines.append(f"kernel = {_toml_str(meta['kernel_release'])}")
        lines.append(f"description = {_toml_str(environment_description(env, meta, hostsides.get(env, {})))}")
        lines.append(f"processors = {_toml_str(meta.get('cpus_usable_nproc', ''))}")
        lines.append(f"pinning = {_toml_str(pinning_text(env))}")
        lines.append(f"boot_id = {_toml_str(meta.get('boot_id', ''))}")
        lines.append("")
    (tmp / "raw" / "environments.toml").write_text("\n".join(lines))
    # app READMEs
    for app in lab.apps:
        d = tmp / "validation" / app
        d.mkdir(parents=True, exist_ok=True)
        d.joinpath("README.md").write_text(app_readme(app, lab, hostsides))
    (tmp / "LAB.md").write_text(lab_md(lab, envs_ok, metas, hostsides, timelines, notes))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return notes


def app_readme(app: str, lab: Lab, hostsides: dict) -> str:
    a = APPS[app]
    sizes = lab.sizes[app]
    script = _read(LAB_DIR / "apps" / f"{app}.sh")
    manifest = _read(lab.rootfs / "lab" / "inputs" / "MANIFEST.txt")
    env_vars = {k: v for k, v in lab.app_env().items() if k.startswith(f"LAB_{app.upper()}_")}
    return f"""# {app}

What it does: {a['what'].format(**sizes)}.

What it stresses: {a['stresses']}.

Sizes: {json.dumps(sizes, sort_keys=True)} (environment: {' '.join(f'{k}={v}' for k, v in env_vars.items()) or 'none'}).

Exact commands, inside each environment (payload at /lab; on the host a copy of it), with
LAB_WORK=/var/tmp/lab-work on the environment's root file system:

    sh $LAB_ROOT/apps/{app}.sh prepare                                   # untimed: fresh scratch dir, inputs read once
    /usr/bin/time -v -o <rep>.time-v.txt sh $LAB_ROOT/apps/{app}.sh run  # timed repetition <rep> = 1..{lab.reps}
    sh $LAB_ROOT/apps/{app}.sh cleanup

On the baseline ({BASELINE}) it also ran once, untimed, as
`strace -c -f -o strace.txt sh $LAB_ROOT/apps/{app}.sh run` (a separate run after the timed ones).

Every environment ran the repetitions in the same boot as its lmbench runs, after them, pinned to one
CPU (see ../../LAB.md). Files: `../<env>/{app}/<rep>.time-v.txt`, `../{BASELINE}/{app}/strace.txt`.

## lab/apps/{app}.sh

```sh
{script.rstrip()}
```

## Generated inputs (lab/lablib.py generate_inputs, fixed seeds)

```
{manifest.rstrip() or '(inputs manifest not available)'}
```
"""


def lab_md(lab: Lab, envs: list[str], metas: dict, hostsides: dict, timelines: dict, notes: list[str]) -> str:
    build_m = lab.build / "markers"
    env_m = lab.run_dir / "markers"
    def marker(d: Path, name: str) -> dict:
        try:
            return json.loads((d / f"{name}.done").read_text())
        except (OSError, ValueError):
            return {}
    host = metas.get(BASELINE, {})
    out = [f"# vizlib lab results (plan `{lab.plan}`)", "",
           f"Collected {now_iso()} by `lab/lab collect` from {lab.run_dir}.", "",
           "## Machine", "",
           f"- host: `{hostsides.get(BASELINE, {}).get('host_uname') or host.get('uname', '?')}`",
           f"- CPU: {host.get('cpu_model') or hostsides.get(BASELINE, {}).get('host_cpu_model', '?')}, "
           f"{hostsides.get(BASELINE, {}).get('host_nproc', '?')} CPUs on the machine; memory {host.get('memtotal', '?')}",
           f"- lmbench: commit {LMBENCH_COMMIT} (lmbench-3alpha4), built with `make build` and the two tirpc lines of "
           "scripts/build enabled; the same binaries in every environment",
           f"- gcc: {host.get('gcc', '?')}; glibc: {host.get('glibc', '?')}",
           "", "## CPU pinning (deviation from the lmbench-lab recipe)", "",
           "The machine was shared with development work while the lab ran, so every environment ran on host "
           f"CPU {PIN_CPU} only and saw exactly one CPU (lmbench's PROCESSORS = CPUs usable = 1):", ""]
    for env in ENVS:
        out.append(f"- {env}: {pinning_text(env)}")
    out += ["", "Other differences from /work/shared/lmbench-lab/README.md: TCG runs with `-smp 1` (was 2 vCPUs), the "
            "container's cpuset is CPU 1 (was 0-1), PROCESSORS is the number of usable CPUs (`nproc`) instead of the "
            "/proc/cpuinfo count (both recorded in meta.txt); the host runs are made without hiding the provider's "
            "tmpfs mount from the `[mount:]` header lines.", "",
            "## Environments", "",
            "| env | kernel | CPUs usable | boot id | lmbench runs | app reps | start (UTC) | end (UTC) | host load during the run |",
            "|---|---|---|---|---|---|---|---|---|"]
    for env in envs:
        m, tl = metas.get(env, {}), timelines.get(env, [])
        n_lm = sum(1 for r in tl if r.get("kind") == "lmbench" and r.get("status") == "ok")
        n_app = sum(1 for r in tl if r.get("kind") == "app" and r.get("status") == "ok")
        starts = [r["start"] for r in tl if r.get("start")]
        ends = [r["end"] for r in tl if r.get("end")]
        out.append(f"| {env} | {m.get('kernel_release', '?')} | {m.get('cpus_usable_nproc', '?')} | {m.get('boot_id', '?')} "
                   f"| {n_lm} | {n_app} | {min(starts) if starts else '?'} | {max(ends) if ends else '?'} "
                   f"| {load_summary(lab.run_dir / 'hostside' / f'{env}.load.tsv') or '?'} |")
    out += ["", "Host load: `validation/<env>/hostload.tsv` samples the machine's load average and the busy % of each "
            "CPU every 10 s while the environment ran (the lab's own work included). CPU 1 near 100% is the lab; "
            f"a load above about 1 plus CPU 0's share, or runnable work from others on CPU {PIN_CPU}, means the "
            "runs shared their CPU.", "", "## Durations", "", "| step | seconds | finished (UTC) |", "|---|---|---|"]
    for st in lab.build_steps():
        info = marker(build_m, st.slug)
        if info:
            out.append(f"| {st.name} | {info.get('seconds')} | {info.get('finished')} |")
    for env in ENVS:
        info = marker(env_m, f"env-{env}")
        if info:
            out.append(f"| env:{env} | {info.get('seconds')} | {info.get('finished')} |")
    out += ["", "Per lmbench run and app repetition (wall seconds, from each environment's timeline.tsv):", "",
            "| env | item | index | seconds | status |", "|---|---|---|---|---|"]
    for env in envs:
        for r in timelines.get(env, []):
            if r.get("kind") in ("lmbench", "app", "strace"):
                out.append(f"| {env} | {r.get('kind')} {r.get('name')} | {r.get('index')} | {r.get('seconds')} | {r.get('status')} |")
    out += ["", "## Commands", "",
            "Each environment ran a generated job script, `validation/<env>/job.sh` (every lmbench run and application "
            "repetition, in order); `validation/<env>/` also keeps meta.txt, timeline.tsv, CONFIG and `hostside.json` "
            "(the host-side commands below). lmbench ran as scripts/results does: "
            "`cd bin/x86_64-linux-gnu; lmbench CONFIG.<hostname> 2>resultfile`.", ""]
    for env in ENVS:
        hs = hostsides.get(env, {})
        if not hs:
            continue
        out.append(f"### {env}")
        out.append("")
        if hs.get("skipped"):
            out.append(f"Skipped: {hs['skipped']}.")
        for c in hs.get("commands", []):
            out.append(f"    {c}")
        for k in ("qemu_version", "uml_package", "guest_kernel_packages", "cgroup_settings"):
            if hs.get(k):
                out.append(f"\n{k}: `{hs[k]}`")
        out.append("")
    out += ["## Applications", ""]
    for app in lab.apps:
        out.append(f"- `{app}`: {APPS[app]['what'].format(**lab.sizes[app])} — {APPS[app]['stresses']} "
                   f"(validation/{app}/README.md)")
    out += ["", "## Skipped, missing, notes", ""]
    out += [f"- {n}" for n in notes] or ["- none"]
    out.append("")
    return "\n".join(out)
