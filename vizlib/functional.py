"""Product selection: functional requirements first, then the overhead estimate.

The source article's order: architecture and guest OS are mandatory and come first, then the
fault-impact level the service can tolerate, then extra functions such as live migration, and
only then performance. ``check_products`` applies the requirements in that order to the
functional table (``vizlib/data/functional_comparison.csv``, facts of the 2009 source as data;
see its ``.md`` for columns and sources). ``rank_environments`` joins the measured environments
to the table through the manifest's ``technology`` key and ranks those that meet the
requirements by expected overhead for the chosen mix.

A technology without a row in the table (the shipped lab's ``container``, ``uml``, ``qemu-tcg``)
is reported as "no functional data": it is neither dropped nor passed as if it met the
requirements.
"""

from __future__ import annotations

from importlib import resources
from typing import Mapping

import numpy as np
import pandas as pd

from .errors import FunctionalDataError, UsageError

__all__ = ["ARCHITECTURES", "GUEST_OS", "load_functional", "check_products", "check_step", "rank_environments", "STEPS",
           "STATUS_MEETS", "STATUS_EXCLUDED", "STATUS_NO_DATA"]

ARCHITECTURES = ("x86", "x86_64", "ia64", "ppc")
GUEST_OS = {
    "linux": "guest_linux_any",  # Linux in general, including kernels without paravirtualization support
    "linux-pv": "guest_linux_pv",  # a paravirtualization-enabled Linux (e.g. RHEL 5.0 on RHEL 5 Xen)
    "windows": "guest_windows",
}
FAULT_LEVELS = ("limited", "affects_others")
YES_NO = ("yes", "no")
COLUMNS = ("technology", "product", "architectures", "architectures_note", "hw_virt_required", "guest_linux_any",
           "guest_linux_pv", "guest_windows", "guest_windows_min", "guest_kernel", "guest_os_note", "fault_isolation",
           "fault_isolation_note", "live_migration", "live_migration_note", "as_of", "source")

GUEST_LABEL = {"linux": "Linux in general (including kernels without paravirtualization support)",
               "linux-pv": "a paravirtualization-enabled Linux", "windows": "Windows"}

STATUS_MEETS = "meets requirements"
STATUS_EXCLUDED = "excluded"
STATUS_NO_DATA = "no functional data"

# Closest row of the source for technologies it does not cover, named in the "no functional
# data" message for orientation only (DESIGN.md: the lab's container is the OpenVZ analogue,
# UML the closest Xen-PV analogue, QEMU TCG full virtualization without hardware help).
_CLOSEST = {"container": "openvz", "uml": "xen-pv", "qemu-tcg": "kvm or xen-hvm, but without hardware help"}


def load_functional(path=None) -> pd.DataFrame:
    """The functional comparison table (default: the shipped ``vizlib/data/functional_comparison.csv``).

    Every value is a string (empty when the source says nothing); the table is validated:
    ``FunctionalDataError`` names the row and column of a value outside the vocabulary.
    """
    if path is None:
        with resources.files("vizlib").joinpath("data/functional_comparison.csv").open("r", encoding="utf-8") as fh:
            df = pd.read_csv(fh, dtype=str, keep_default_na=False)
        where = "vizlib/data/functional_comparison.csv"
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        where = str(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise FunctionalDataError(f"{where}: missing column(s) {', '.join(missing)}")
    for n, row in enumerate(df.to_dict("records"), start=2):
        def bad(col, allowed):
            raise FunctionalDataError(f"{where}:{n}: {col} = {row[col]!r}, expected one of {', '.join(allowed)}")

        for col in ("hw_virt_required", "guest_linux_any", "guest_linux_pv", "guest_windows", "live_migration"):
            if row[col] not in YES_NO:
                bad(col, YES_NO)
        if row["fault_isolation"] not in FAULT_LEVELS:
            bad("fault_isolation", FAULT_LEVELS)
        archs = row["architectures"].split(";")
        if not row["architectures"] or any(a not in ARCHITECTURES for a in archs):
            bad("architectures", ARCHITECTURES)
        if not row["source"].strip():
            raise FunctionalDataError(f"{where}:{n}: every row needs a source")
    if df["technology"].duplicated().any():
        dup = df.loc[df["technology"].duplicated(), "technology"].iloc[0]
        raise FunctionalDataError(f"{where}: technology {dup!r} has two rows")
    return df.reset_index(drop=True)


def _check_args(arch, guest_os):
    if arch is not None and arch not in ARCHITECTURES:
        raise UsageError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)} (or None)")
    if guest_os is not None and guest_os not in GUEST_OS:
        raise UsageError(f"unknown guest OS {guest_os!r}; choose one of {', '.join(GUEST_OS)} (or None): "
                         "'linux' = Linux in general, 'linux-pv' = a paravirtualization-enabled Linux")


def check_products(functional_df: pd.DataFrame, arch: str | None = None, guest_os: str | None = None,
                   need_fault_isolation: bool = False, need_live_migration: bool = False) -> pd.DataFrame:
    """Every row with the outcome of each requirement, in the source's order.

    Adds ``arch_ok, guest_ok, fault_ok, migration_ok`` (True where the requirement is met or not
    asked), ``meets`` (all of them), ``reason`` (the first failed requirement, in the source's
    order) and ``caveats`` (restrictions that apply to a row that passes, e.g. RHEL's Xen lacking
    ``ppc``). ``None``/``False`` means "no requirement".
    """
    _check_args(arch, guest_os)
    df = functional_df.copy()
    archs = df["architectures"].str.split(";")
    df["arch_ok"] = True if arch is None else archs.apply(lambda a: arch in a)
    df["guest_ok"] = True if guest_os is None else df[GUEST_OS[guest_os]].eq("yes")
    df["fault_ok"] = True if not need_fault_isolation else df["fault_isolation"].eq("limited")
    df["migration_ok"] = True if not need_live_migration else df["live_migration"].eq("yes")
    reasons, caveats = [], []
    for r in df.to_dict("records"):
        why = ""
        if not r["arch_ok"]:
            why = f"architecture: no {arch} support (supports {r['architectures'].replace(';', ', ')})"
        elif not r["guest_ok"]:
            why = f"guest OS: cannot run {GUEST_LABEL[guest_os]} ({r['guest_os_note'] or 'not listed'})"
        elif not r["fault_ok"]:
            why = f"fault isolation: a guest OS failure affects other guests ({r['fault_isolation_note']})"
        elif not r["migration_ok"]:
            why = f"live migration: not available ({r['live_migration_note'] or 'not listed'})"
        reasons.append(why)
        cav = []
        if arch is not None and r["architectures_note"]:
            cav.append(r["architectures_note"])
        if guest_os is not None and r["guest_os_note"]:
            cav.append(r["guest_os_note"])
        if need_live_migration and r["live_migration"] == "yes" and r["live_migration_note"]:
            cav.append(r["live_migration_note"])
        if r["hw_virt_required"] == "yes":
            cav.append("needs a CPU with Intel VT or AMD SVM")
        caveats.append("; ".join(cav))
    df["meets"] = df[["arch_ok", "guest_ok", "fault_ok", "migration_ok"]].all(axis=1)
    df["reason"] = reasons
    df["caveats"] = caveats
    return df


STEPS = ("architecture and guest OS", "fault isolation", "live migration")


def check_step(functional_df: pd.DataFrame, step: int, arch: str | None = None, guest_os: str | None = None,
               need_fault_isolation: bool = False, need_live_migration: bool = False) -> pd.DataFrame:
    """``check_products`` with the requirements of the source's steps 1 to ``step`` only: step 1
    architecture and guest OS, step 2 adds fault isolation, step 3 adds live migration."""
    if step not in (1, 2, 3):
        raise UsageError("step is 1 (architecture and guest OS), 2 (fault isolation) or 3 (live migration)")
    return check_products(functional_df, arch, guest_os, need_fault_isolation and step >= 2,
                          need_live_migration and step >= 3)


def rank_environments(technologies: Mapping[str, str], checked: pd.DataFrame, estimate_df: pd.DataFrame) -> pd.DataFrame:
    """Join measured environments to products and rank those that meet the requirements.

    ``technologies``: virtual environment name -> manifest technology. ``checked``:
    ``check_products`` output over the whole functional table. ``estimate_df``:
    ``share_model.evaluate`` output.

    One row per virtual environment: ``environment, technology, product, status, reason,
    relative_time, overhead_pct, ci_low, ci_high, largest_category, rank``. ``status`` is
    ``meets requirements`` (ranked 1, 2, ... by ``relative_time``; ties share a rank),
    ``excluded`` (``reason`` names the requirement) or ``no functional data`` (shown with its
    estimate, never ranked). Rows come in that order.
    """
    known = dict(zip(checked["technology"], checked["product"]))
    passing = set(checked.loc[checked["meets"], "technology"])
    why = dict(zip(checked["technology"], checked["reason"]))
    est = estimate_df.set_index("environment")
    rows = []
    for name, tech in technologies.items():
        e = est.loc[name] if name in est.index else None
        rec = {"environment": name, "technology": tech, "product": known.get(tech, "")}
        for col in ("relative_time", "overhead_pct", "ci_low", "ci_high"):
            rec[col] = float(e[col]) if e is not None else np.nan
        rec["largest_category"] = e["largest_category"] if e is not None else ""
        if tech not in known:
            closest = _CLOSEST.get(tech)
            rec["status"] = STATUS_NO_DATA
            rec["reason"] = (f"the functional table has no row for technology {tech!r}: check its functions "
                             "yourself" + (f" (closest row in the source, for orientation only: {closest})"
                                           if closest else ""))
        elif tech in passing:
            rec["status"] = STATUS_MEETS
            rec["reason"] = "" if e is not None else "no overhead estimate for this environment"
        else:
            rec["status"] = STATUS_EXCLUDED
            rec["reason"] = why.get(tech) or "does not meet the requirements"
        rows.append(rec)
    cols = ["environment", "technology", "product", "status", "reason", "relative_time", "overhead_pct", "ci_low",
            "ci_high", "largest_category", "rank"]
    df = pd.DataFrame(rows, columns=[c for c in cols if c != "rank"])
    ok = (df["status"] == STATUS_MEETS) & np.isfinite(df["relative_time"].astype(float))
    df["rank"] = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if ok.any():
        df.loc[ok, "rank"] = df.loc[ok, "relative_time"].rank(method="min").astype("Int64")
    order = {STATUS_MEETS: 0, STATUS_NO_DATA: 1, STATUS_EXCLUDED: 2}
    df["_o"] = df["status"].map(order)
    df = df.sort_values(["_o", "rank", "relative_time"], na_position="last", kind="stable").drop(columns="_o")
    return df.reset_index(drop=True)[cols]
