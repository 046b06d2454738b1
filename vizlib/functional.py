"""Product selection: functional requirements first, then the overhead estimate.

Two functional tables ship as data, with the same columns and vocabularies:

- ``vizlib/data/functional_today.csv`` (``table="today"``): today's technologies (KVM, Xen PV /
  HVM / PVH, containers, OpenVZ 7, QEMU TCG, User-mode Linux, gVisor, Firecracker), every aspect
  cited in its ``source_*`` column with the documentation's URL and the date it was consulted,
  and an ``as_of`` date per row. The ranking uses it by default.
- ``vizlib/data/functional_comparison.csv`` (``table="2009"``): the source article's functional
  comparison of Xen, KVM and OpenVZ as shipped on 2009-07-16, kept as the historical snapshot.

The rules are those of the source article (``seed/000_4c57cc15291d66b5.txt``, part 4 of a 2009
series on open-source server virtualization), applied in its order. Its summary (まとめ) says to
check the functions first, architecture and guest OS being mandatory, then the fault-impact level
the service can tolerate, then extra functions such as live migration, and only then performance:

1. **architecture** (機能比較 (1) 対応アーキテクチャ): the product must support the host's CPU
   architecture (Xen: x86, x86_64, ia64, ppc, the RHEL-bundled Xen without ppc; KVM: x86,
   x86_64; OpenVZ: x86, x86_64, ia64).
2. **hardware virtualization** (same section, its closing remark): full virtualization with Xen
   and KVM needs a CPU offering Intel VT or AMD SVM. A row with ``hw_virt_required = yes`` is
   excluded when the host has none (``hw_virt_available=False``); QEMU TCG and paravirtualized
   Xen do not need it.
3. **guest OS** (機能比較 (2) 動作ゲスト): paravirtualized Xen runs only an OS with
   paravirtualization support; Xen's full virtualization and KVM run Windows and legacy Linux;
   OpenVZ, being OS-level virtualization, runs only the same OS as the host as its guests. Hence:
   a legacy Linux without paravirtualization support runs only under full virtualization (a row
   with ``guest_linux_any = yes`` whose guests boot a kernel of their own), and where the guests
   share the host's kernel (``guest_kernel = shared with host``: OpenVZ, containers) the guest
   kernel *is* the host's kernel, so neither Windows nor a guest kernel of one's own can run.
4. **fault isolation** (機能比較 (3) 故障影響レベル): with Xen and KVM a guest OS failure has
   limited impact on the other guests; OpenVZ guests share the OS itself, so an OS-level failure
   affects the others.
5. **live migration** (機能比較 (4) ライブマイグレーション機能): moving a running guest to other
   hardware without stopping it. Xen and KVM can; OpenVZ's advertised feature only synchronises
   the guest's disk area (about what rsync does), so a running guest cannot be moved.

``check_products`` applies the rules to every row of a table (``check_step`` to the source's
steps 1 to n), ``ranking`` joins the measured environments to the table through the manifest's
``technology`` and ranks those that pass by expected relative run time. Every environment gets a
row with a plain-language reason naming the rule and the table row's source: a technology with
no row is "no functional data", never dropped and never passed as if it met the requirements.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .errors import FunctionalDataError, UsageError
from .manifest import TECHNOLOGIES
from .tables import RANKING_COLUMNS

__all__ = ["ARCHITECTURES", "GUEST_OS", "GUEST_KERNELS", "TABLES", "DEFAULT_TABLE", "RULES", "STEPS",
           "COLUMNS", "SOURCE_COLUMNS", "load_functional", "table_label", "check_products", "check_step", "ranking",
           "STATUS_MEETS", "STATUS_EXCLUDED", "STATUS_NO_DATA"]

# Host CPU architectures. The 2009 ids keep their meaning (x86 = 32-bit x86 / i686, ppc = PowerPC);
# today's table adds 64-bit Arm, little-endian POWER, IBM Z and 64-bit RISC-V (see functional_today.md).
ARCHITECTURES = ("x86", "x86_64", "ia64", "ppc", "arm64", "ppc64le", "s390x", "riscv64")
# Guest operating systems a user can require, and what each asks of a row.
GUEST_OS = {
    "linux": "a current Linux (a kernel with paravirtualization support, or the host's kernel)",
    "linux-legacy": "a legacy Linux kernel without paravirtualization support",
    "windows": "Windows",
}
_GUEST_ALIASES = {"linux-pv": "linux"}  # the 2009 notebook's name for a paravirtualization-enabled Linux
GUEST_KERNELS = ("own", "shared with host", "user-space kernel")
FAULT_LEVELS = ("limited", "affects_others")
YES_NO = ("yes", "no")
COLUMNS = ("technology", "product", "architectures", "architectures_note", "hw_virt_required", "guest_linux_any",
           "guest_linux_pv", "guest_windows", "guest_windows_min", "guest_kernel", "guest_os_note", "fault_isolation",
           "fault_isolation_note", "live_migration", "live_migration_note", "as_of", "source")
# Per-aspect citations (today's table): column -> the columns whose values it cites.
SOURCE_COLUMNS = {
    "source_architectures": ("architectures", "architectures_note"),
    "source_hw_virt": ("hw_virt_required",),
    "source_guests": ("guest_linux_any", "guest_linux_pv", "guest_windows", "guest_windows_min", "guest_kernel",
                      "guest_os_note"),
    "source_fault_isolation": ("fault_isolation", "fault_isolation_note"),
    "source_live_migration": ("live_migration", "live_migration_note"),
}
TABLES = {"today": "functional_today.csv", "2009": "functional_comparison.csv"}
DEFAULT_TABLE = "today"  # the table the ranking uses unless told otherwise
_LABELS = {"today": "today's functional table", "2009": "the 2009 source's functional table"}

STATUS_MEETS = "meets requirements"
STATUS_EXCLUDED = "excluded"
STATUS_NO_DATA = "no functional data"

# A citation: "<URL | repo:owner/name path@commit | document name> "<title>" ... (...; seen YYYY-MM-DD)".
_CITATION = re.compile(r'^\S.*? "[^"]+".*\([^()]*\bseen (\d{4}-\d{2}-\d{2})\)$')

# Closest row of the 2009 source for technologies it does not cover, named in the "no functional
# data" reason for orientation only (DESIGN.md: the lab's container is the OpenVZ analogue, UML
# the closest Xen-PV analogue, QEMU TCG full virtualization without hardware help).
_CLOSEST = {"container": "openvz", "uml": "xen-pv", "qemu-tcg": "kvm or xen-hvm, but without hardware help"}


@dataclass(frozen=True)
class Rule:
    """One requirement of the source's selection order."""

    key: str  # column prefix of check_products: <key>_ok
    label: str  # as reasons name it
    step: int  # the source's step (1 architecture and guest OS, 2 fault isolation, 3 live migration)
    source_column: str  # the row's citation for this aspect (today's table)
    where: str  # where the rule is in the source article


RULES = (
    Rule("arch", "architecture", 1, "source_architectures", "functional comparison (1), architectures"),
    Rule("hw", "hardware virtualization", 1, "source_hw_virt",
         "functional comparison (1), closing remark on Intel VT / AMD SVM"),
    Rule("guest", "guest OS", 1, "source_guests", "functional comparison (2), guests"),
    Rule("fault", "fault isolation", 2, "source_fault_isolation", "functional comparison (3), fault impact level"),
    Rule("migration", "live migration", 3, "source_live_migration", "functional comparison (4), live migration"),
)
STEPS = ("architecture and guest OS", "fault isolation", "live migration")


# --- the tables ----------------------------------------------------------------------------------

def _read(path) -> tuple[list[str], list[tuple[int, dict]], str, str]:
    """(header, [(line, row)], where, which) of a table name ("today", "2009") or a CSV path."""
    if path is None:
        path = "2009"
    if isinstance(path, str) and path in TABLES:
        name = TABLES[path]
        text = resources.files("vizlib").joinpath(f"data/{name}").read_text(encoding="utf-8")
        where, which = f"vizlib/data/{name}", path
    else:
        if isinstance(path, str) and not Path(path).exists() and not path.endswith(".csv"):
            raise UsageError(f"functional table {path!r}: choose {' or '.join(map(repr, TABLES))}, or the path of a "
                             "CSV file with the columns of functional_comparison.csv")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FunctionalDataError(f"{path}: cannot read the functional table ({exc})") from None
        where, which = str(path), "custom"
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise FunctionalDataError(f"{where}:1: empty file, expected a header with {', '.join(COLUMNS)}")
    rows = []
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise FunctionalDataError(f"{where}:{line}: {len(fields)} fields, the header has {len(header)}")
        rows.append((line, dict(zip(header, fields))))
    return header, rows, where, which


def _validate(header: list[str], rows: list[tuple[int, dict]], where: str) -> None:
    missing = [c for c in COLUMNS if c not in header]
    cited = [c for c in SOURCE_COLUMNS if c in header]
    if cited:  # a table with per-aspect citations must cite every aspect
        missing += [c for c in SOURCE_COLUMNS if c not in header]
    if missing:
        raise FunctionalDataError(f"{where}:1: missing column(s) {', '.join(missing)}")
    seen: dict[str, int] = {}
    for line, row in rows:
        def bad(col, allowed):
            raise FunctionalDataError(f"{where}:{line}: {col} = {row[col]!r}, expected one of {', '.join(allowed)}")

        tech = row["technology"]
        if tech not in TECHNOLOGIES or tech == "physical":
            bad("technology", [t for t in TECHNOLOGIES if t != "physical"])
        if tech in seen:
            raise FunctionalDataError(f"{where}:{line}: technology {tech!r} has a second row "
                                      f"(first on line {seen[tech]})")
        seen[tech] = line
        for col in ("hw_virt_required", "guest_linux_any", "guest_linux_pv", "guest_windows", "live_migration"):
            if row[col] not in YES_NO:
                bad(col, YES_NO)
        if row["fault_isolation"] not in FAULT_LEVELS:
            bad("fault_isolation", FAULT_LEVELS)
        if row["guest_kernel"] not in GUEST_KERNELS:
            bad("guest_kernel", GUEST_KERNELS)
        archs = row["architectures"].split(";")
        if not row["architectures"] or any(a not in ARCHITECTURES for a in archs):
            bad("architectures", ARCHITECTURES)
        try:
            _dt.date.fromisoformat(row["as_of"])
        except ValueError:
            raise FunctionalDataError(f"{where}:{line}: as_of = {row['as_of']!r}, expected a date YYYY-MM-DD") from None
        if row["guest_linux_any"] == "yes" and row["guest_linux_pv"] != "yes":
            raise FunctionalDataError(f"{where}:{line}: guest_linux_any = yes needs guest_linux_pv = yes (a row "
                                      "that runs any Linux also runs a paravirtualization-enabled one)")
        if row["guest_kernel"] == "shared with host" and row["guest_windows"] == "yes":
            raise FunctionalDataError(f"{where}:{line}: guest_kernel = 'shared with host' with guest_windows = yes: "
                                      "guests that share the host's kernel run the host's OS only")
        if not row["source"].strip():
            raise FunctionalDataError(f"{where}:{line}: every row needs a source")
        for col in (SOURCE_COLUMNS if cited else ()):
            cell = row[col].strip()
            if not cell:
                raise FunctionalDataError(f"{where}:{line}: {col} is empty: every aspect needs a citation "
                                          f"(it cites {', '.join(SOURCE_COLUMNS[col])})")
            for cit in cell.split(" | "):
                if not _CITATION.match(cit.strip()):
                    raise FunctionalDataError(
                        f"{where}:{line}: {col}: {cit.strip()[:80]!r} is not a citation; write "
                        '<URL or repo:owner/name path@commit> "<title>" (...; seen YYYY-MM-DD), several '
                        'separated by " | "')


def load_functional(path=None) -> pd.DataFrame:
    """A functional table: ``"2009"`` (also ``None``: the source's snapshot, the default of the
    earlier notebooks), ``"today"`` (today's technologies, cited per aspect) or a CSV path.

    Every value is a string (empty when the source says nothing). The table is validated:
    ``FunctionalDataError`` names the file and line of a value outside the vocabulary, a second
    row for a technology, a missing column, or (when the table has ``source_*`` columns) an
    aspect without a citation. ``df.attrs`` keeps ``table`` (``today``, ``2009`` or ``custom``)
    and ``where`` (the file) for the reasons ``ranking`` writes.
    """
    header, rows, where, which = _read(path)
    _validate(header, rows, where)
    df = pd.DataFrame([r for _, r in rows], columns=header, dtype=str)
    df.attrs.update(table=which, where=where)
    return df.reset_index(drop=True)


def table_label(functional_df: pd.DataFrame) -> str:
    """How reasons name the table: "today's functional table", "the 2009 source's functional table"
    or "the functional table <file>"."""
    which = functional_df.attrs.get("table", "custom")
    return _LABELS.get(which) or f"the functional table {functional_df.attrs.get('where', '(in memory)')}"


# --- the rules -----------------------------------------------------------------------------------

def _check_args(arch, guest_os):
    if arch is not None and arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)} (or None)")
    if guest_os is not None and _GUEST_ALIASES.get(guest_os, guest_os) not in GUEST_OS:
        raise UsageError(f"unknown guest OS {guest_os!r}; choose one of {', '.join(GUEST_OS)} (or None): 'linux' = "
                         "a current Linux, 'linux-legacy' = a legacy Linux kernel without paravirtualization support")
    return _GUEST_ALIASES.get(guest_os, guest_os)


def _citation(row: Mapping, rule: Rule | None = None) -> str:
    """The row's source for ``rule``'s aspect: the locator (URL or repo path) of its first citation in
    today's table, the ``source`` text in the 2009 table; with the row's as-of date."""
    cell = str(row.get(rule.source_column, "") if rule is not None else "").strip()
    if cell:
        first = cell.split(" | ")[0].strip()
        locator = first.split(' "')[0].strip()
        more = cell.count(" | ")
        text = locator + (f" and {more} more" if more else "")
    else:
        text = str(row.get("source", "")).strip() or "no source given"
    return f"{text}; as of {row.get('as_of', '') or 'unknown date'}"


def _with_note(text: str, note: str) -> str:
    return f"{text} ({note})" if note else text


def _guest_check(r: Mapping, guest_os: str | None) -> tuple[bool, str]:
    if guest_os is None:
        return True, ""
    kernel = r["guest_kernel"]
    if guest_os == "linux":
        if r["guest_linux_pv"] == "yes":
            return True, ""
        return False, _with_note("runs no Linux guests", r["guest_os_note"])
    if guest_os == "linux-legacy":
        if kernel == "shared with host":
            return False, ("the guests share the host's kernel (guest kernel = the host's), so a legacy guest kernel "
                           "cannot boot (the source: OS-level virtualization runs only the host's own OS as guests)")
        if kernel == "user-space kernel":
            return False, _with_note("the guests run on a user-space kernel and boot no Linux kernel of their own, "
                                     "so a legacy Linux kernel cannot run", r["guest_os_note"])
        if r["guest_linux_any"] != "yes":
            return False, _with_note("only a paravirtualization-enabled (or specially built) Linux kernel runs, and "
                                     "the source runs a legacy Linux without paravirtualization support only under "
                                     "full virtualization", r["guest_os_note"])
        return True, ""
    # windows
    if kernel == "shared with host":
        return False, ("the guests share the host's Linux kernel (guest kernel = the host's), so only the host's own "
                       "OS runs as a guest, not Windows")
    if r["guest_windows"] != "yes":
        return False, _with_note("runs no Windows guests", r["guest_os_note"])
    return True, ""


def _kernel_fact(r: Mapping) -> str:
    kernel = r["guest_kernel"]
    if kernel == "shared with host":
        return "guest kernel = the host's kernel (the guests share it, same OS as the host only)"
    if kernel == "user-space kernel":
        return "guests run on a user-space kernel, no Linux kernel of their own"
    return ""


def _applies(r: Mapping, need_live_migration: bool) -> str:
    """What still applies to a row that passes, in a few words: the guest-kernel fact, the need for
    hardware virtualization, and the live-migration caveat when migration is required."""
    hw = "needs Intel VT-x / AMD-V (hardware virtualization)" if r["hw_virt_required"] == "yes" else ""
    notes = [_kernel_fact(r), hw, r["live_migration_note"] if need_live_migration and r["live_migration"] == "yes" else ""]
    return "; ".join(n for n in notes if n)


def check_products(functional_df: pd.DataFrame, arch: str | None = None, guest_os: str | None = None,
                   need_fault_isolation: bool = False, need_live_migration: bool = False,
                   hw_virt_available: bool = True) -> pd.DataFrame:
    """Every row with the outcome of each rule, in the source's order (see the module docstring).

    Adds ``arch_ok, hw_ok, guest_ok, fault_ok, migration_ok`` (True where the requirement is met
    or not asked), ``meets`` (all of them), ``failed`` (the first failed rule's label, "" if
    none), ``reason`` (``"<rule>: <why>"`` for that rule, "" if none), ``also_fails`` (labels of
    the later failed rules), ``citation`` (the row's source for the failed aspect, or its
    ``source``), ``caveats`` (every restriction that still applies to a row that passes: the
    guest-kernel fact, the need for Intel VT / AMD SVM, the notes of the aspects asked for) and
    ``applies`` (the short form: guest-kernel fact, hardware virtualization, migration caveat).
    ``None``/``False`` means "no requirement"; ``hw_virt_available=False`` says the host CPU has
    no Intel VT-x / AMD-V (or the architecture's virtualization extensions).
    """
    guest_os = _check_args(arch, guest_os)
    df = functional_df.copy()
    outcomes: dict[str, list[bool]] = {rule.key: [] for rule in RULES}
    failed, reasons, also, cites, caveats, applies = [], [], [], [], [], []
    for r in df.to_dict("records"):
        why: dict[str, str] = {}
        archs = r["architectures"].split(";")
        if arch is not None and arch not in archs:
            why["arch"] = f"no {arch} host support (supports {', '.join(archs)})"
        if not hw_virt_available and r["hw_virt_required"] == "yes":
            why["hw"] = _with_note("needs a CPU with hardware virtualization (Intel VT-x / AMD-V or the architecture's "
                                   "extensions), which the host does not offer", r["architectures_note"]
                                   if "VT" in r["architectures_note"] else "")
        ok, text = _guest_check(r, guest_os)
        if not ok:
            why["guest"] = text
        if need_fault_isolation and r["fault_isolation"] != "limited":
            why["fault"] = _with_note("a guest OS failure affects the other guests", r["fault_isolation_note"])
        if need_live_migration and r["live_migration"] != "yes":
            why["migration"] = _with_note("a running guest cannot be moved to another host", r["live_migration_note"])
        for rule in RULES:
            outcomes[rule.key].append(rule.key not in why)
        bad = [rule for rule in RULES if rule.key in why]
        failed.append(bad[0].label if bad else "")
        reasons.append(f"{bad[0].label}: {why[bad[0].key]}" if bad else "")
        also.append(", ".join(rule.label for rule in bad[1:]))
        cites.append(_citation(r, bad[0] if bad else None))
        cav = []
        if arch is not None and r["architectures_note"]:
            cav.append(r["architectures_note"])
        fact = _kernel_fact(r)
        if fact:
            cav.append(fact)
        if r["hw_virt_required"] == "yes":
            cav.append("needs a CPU with Intel VT or AMD SVM (hardware virtualization)")
        if guest_os is not None and r["guest_os_note"]:
            cav.append(r["guest_os_note"])
        if need_live_migration and r["live_migration"] == "yes" and r["live_migration_note"]:
            cav.append(r["live_migration_note"])
        caveats.append("; ".join(dict.fromkeys(cav)))
        applies.append(_applies(r, need_live_migration))
    for rule in RULES:
        df[f"{rule.key}_ok"] = outcomes[rule.key]
    df["meets"] = df[[f"{rule.key}_ok" for rule in RULES]].all(axis=1) if len(df) else pd.Series(dtype=bool)
    df["failed"] = failed
    df["reason"] = reasons
    df["also_fails"] = also
    df["citation"] = cites
    df["caveats"] = caveats
    df["applies"] = applies
    return df


def check_step(functional_df: pd.DataFrame, step: int, arch: str | None = None, guest_os: str | None = None,
               need_fault_isolation: bool = False, need_live_migration: bool = False,
               hw_virt_available: bool = True) -> pd.DataFrame:
    """``check_products`` with the requirements of the source's steps 1 to ``step`` only: step 1
    architecture, hardware virtualization and guest OS, step 2 adds fault isolation, step 3 adds
    live migration."""
    if step not in (1, 2, 3):
        raise UsageError("step is 1 (architecture and guest OS), 2 (fault isolation) or 3 (live migration)")
    return check_products(functional_df, arch, guest_os, need_fault_isolation and step >= 2,
                          need_live_migration and step >= 3, hw_virt_available)


# --- the ranking ---------------------------------------------------------------------------------

def _resolve_table(table) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    if table is None:
        table = DEFAULT_TABLE
    return load_functional(table)


def ranking(technologies: Mapping[str, str], estimate_df: pd.DataFrame, *, table=DEFAULT_TABLE,
            arch: str | None = None, guest_os: str | None = None, need_fault_isolation: bool = False,
            need_live_migration: bool = False, hw_virt_available: bool = True) -> pd.DataFrame:
    """Every measured environment with its functional verdict and its rank by expected overhead.

    ``technologies``: environment name -> manifest technology (the virtual environments to rank).
    ``estimate_df``: the share model's estimate (``share_model.evaluate`` / ``ModelInputs.estimate``:
    ``environment, relative_time, ci_low, ci_high``, and ``note``). ``table``: ``"today"`` (default),
    ``"2009"``, a CSV path or a ``load_functional`` frame. The requirements are those of
    ``check_products``.

    Columns ``RANKING_COLUMNS``: ``environment, technology, passes, reason, rank, relative_time,
    ci_low, ci_high``. ``passes`` is True when the technology's row meets every requirement.
    ``rank`` (nullable integer) is 1..k among passing environments with a finite
    ``relative_time``, lowest expected relative run time first; equal relative times share the
    lower rank (1, 1, 3) and the reason names the tie. A passing environment whose estimate is
    NaN (a weighted category not measured) or missing gets no rank, and the reason says why. An
    environment that fails says which rule excluded it first (in the source's order), which later
    rules it also fails, and the table row's source; a technology without a row is "no functional
    data". Rows come ranked first, then passing without a rank, then excluded (in rule order),
    then without functional data; the input order within each group.
    """
    checked = check_products(_resolve_table(table), arch, guest_os, need_fault_isolation, need_live_migration,
                             hw_virt_available)
    label = table_label(checked)
    rows = {r["technology"]: r for r in checked.to_dict("records")}
    est = estimate_df.drop_duplicates("environment").set_index("environment") if len(estimate_df) else None
    out = []
    for name, tech in technologies.items():
        e = est.loc[name] if est is not None and name in est.index else None
        rec = {"environment": name, "technology": tech}
        for col in ("relative_time", "ci_low", "ci_high"):
            rec[col] = float(e[col]) if e is not None and col in e.index and pd.notna(e[col]) else np.nan
        r = rows.get(tech)
        if r is None:
            closest = _CLOSEST.get(tech) if checked.attrs.get("table") == "2009" else None
            rec["passes"] = False
            rec["reason"] = (f"no functional data: {label} has no row for technology {tech!r}, so its functions are "
                             "unknown and it is not ranked; check them yourself"
                             + (f" (closest row of the source, for orientation only: {closest})" if closest else ""))
            rec["_group"] = 3
        elif r["meets"]:
            rec["passes"] = True
            rec["reason"] = "; ".join(x for x in (f"meets every requirement ({label}, row as of {r['as_of']})",
                                                  r["applies"]) if x)
            if np.isfinite(rec["relative_time"]):
                rec["_group"] = 0
            else:
                why = ""
                if e is None:
                    why = "it is not in the overhead estimate (no comparison with its baseline)"
                else:
                    why = str(e.get("note", "") or "") or "the overhead estimate is not a number"
                rec["reason"] += f"; no rank: no overhead estimate ({why})"
                rec["_group"] = 1
        else:
            rec["passes"] = False
            step = next(rule.step for rule in RULES if rule.label == r["failed"])
            rec["reason"] = (f"excluded by the {r['failed']} rule (step {step} of the source's order): "
                             f"{r['reason'].split(': ', 1)[1]}"
                             + (f"; also fails: {r['also_fails']}" if r["also_fails"] else "")
                             + f" [source: {r['citation']}]")
            rec["_group"] = 2 + [rule.label for rule in RULES].index(r["failed"]) / 10
        out.append(rec)
    df = pd.DataFrame(out, columns=list(RANKING_COLUMNS) + ["_group"])
    df["passes"] = df["passes"].astype(bool)
    df["rank"] = pd.Series(pd.NA, index=df.index, dtype="Int64")
    ranked = df["_group"] == 0
    if ranked.any():
        df.loc[ranked, "rank"] = df.loc[ranked, "relative_time"].rank(method="min").astype("int64").to_numpy()
        for i in df.index[ranked]:
            ties = [n for j, n in zip(df.index[ranked], df.loc[ranked, "environment"])
                    if j != i and df.at[j, "relative_time"] == df.at[i, "relative_time"]]
            if ties:
                df.at[i, "reason"] += f"; tied with {', '.join(ties)} (same expected relative time: same rank)"
    df["_order"] = range(len(df))
    df = df.sort_values(["_group", "rank", "_order"], na_position="last", kind="stable")
    df = df.drop(columns=["_group", "_order"]).reset_index(drop=True)
    for col in ("relative_time", "ci_low", "ci_high"):
        df[col] = df[col].astype(float)
    return df[list(RANKING_COLUMNS)]
