"""Product selection: functional requirements first, then the overhead estimate.

The source article's order: architecture and guest OS are mandatory and come first, then the
fault-impact level the service can tolerate, then extra functions such as live migration, and
only then performance. ``filter_products`` applies the requirements in that order to the
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

__all__ = ["ARCHITECTURES", "GUEST_OS", "FunctionalDataError", "load_functional", "check_products",
           "filter_products", "rank_environments", "step_view", "STEPS", "STATUS_MEETS", "STATUS_EXCLUDED",
           "STATUS_NO_DATA"]

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


class FunctionalDataError(ValueError):
    """The functional table is malformed (a bad value or a missing column)."""


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
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)} (or None)")
    if guest_os is not None and guest_os not in GUEST_OS:
        raise ValueError(f"unknown guest OS {guest_os!r}; choose one of {', '.join(GUEST_OS)} (or None): "
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


def filter_products(functional_df: pd.DataFrame, arch: str | None = None, guest_os: str | None = None,
                    need_fault_isolation: bool = False, need_live_migration: bool = False) -> pd.DataFrame:
    """The rows that meet every requirement (with ``check_products``' extra columns).

    ``arch``: one of ``ARCHITECTURES``; ``guest_os``: one of ``GUEST_OS`` (``linux`` = Linux in
    general, ``linux-pv`` = a paravirtualization-enabled Linux, ``windows``);
    ``need_fault_isolation``: a guest OS failure must have limited impact on other guests;
    ``need_live_migration``: a running guest must be movable to another host.
    """
    checked = check_products(functional_df, arch, guest_os, need_fault_isolation, need_live_migration)
    return checked[checked["meets"]].reset_index(drop=True)


STEPS = ("architecture and guest OS", "fault isolation", "live migration")


def step_view(functional_df: pd.DataFrame, step: int, arch: str | None = None, guest_os: str | None = None,
              need_fault_isolation: bool = False, need_live_migration: bool = False) -> pd.DataFrame:
    """Step ``step`` (1-3) of the source's selection order as a readable table, one row per technology.

    Requirements apply cumulatively: step 1 architecture and guest OS, step 2 adds fault
    isolation, step 3 adds live migration. Shows the aspects of the step, whether each product
    still qualifies, why not, and caveats.
    """
    if step not in (1, 2, 3):
        raise ValueError("step is 1 (architecture and guest OS), 2 (fault isolation) or 3 (live migration)")
    checked = check_products(functional_df, arch, guest_os, need_fault_isolation and step >= 2,
                             need_live_migration and step >= 3)
    out = pd.DataFrame({"technology": checked["technology"], "product": checked["product"]})
    if step == 1:
        out["architectures"] = [a.replace(";", ", ") + (f" ({n})" if n else "")
                                for a, n in zip(checked["architectures"], checked["architectures_note"])]
        out["Intel VT / AMD SVM needed"] = checked["hw_virt_required"]
        out["guests"] = [", ".join(k for k, col in (("Linux in general", "guest_linux_any"),
                                                     ("paravirtualized Linux", "guest_linux_pv"),
                                                     ("Windows " + r["guest_windows_min"] + "+", "guest_windows"))
                                   if r[col] == "yes") for r in checked.to_dict("records")]
    elif step == 2:
        out["impact of a guest OS failure"] = [f"{v} ({n})" if n else v for v, n in
                                               zip(checked["fault_isolation"], checked["fault_isolation_note"])]
    else:
        out["live migration"] = [f"{v} ({n})" if n else v for v, n in
                                 zip(checked["live_migration"], checked["live_migration_note"])]
    out["still qualifies"] = np.where(checked["meets"], "yes", "no")
    out["why not"] = checked["reason"]
    out["caveats"] = checked["caveats"]
    return out.set_index("technology")


def _environments(manifest_envs) -> list[tuple[str, str]]:
    """(name, technology) of the virtual environments, from a Manifest, Environments, a mapping or a frame."""
    if hasattr(manifest_envs, "virtual"):
        return [(e.name, e.technology) for e in manifest_envs.virtual()]
    if isinstance(manifest_envs, pd.DataFrame):
        return list(manifest_envs[["environment", "technology"]].itertuples(index=False, name=None))
    if isinstance(manifest_envs, Mapping):
        return list(manifest_envs.items())
    out = []
    for e in manifest_envs:
        if getattr(e, "is_virtual", True):
            out.append((e.name, e.technology))
    return out


def rank_environments(manifest_envs, functional_df: pd.DataFrame, estimate_df: pd.DataFrame, *,
                      all_functional: pd.DataFrame | None = None) -> pd.DataFrame:
    """Join measured environments to products and rank those that meet the requirements.

    ``manifest_envs``: a ``Manifest`` (its virtual environments), Environments, or a mapping
    name -> technology. ``functional_df``: the rows that meet the requirements
    (``filter_products``), or ``check_products``' output (its ``meets``/``reason`` are used).
    ``estimate_df``: ``vizlib.model.estimate`` output. ``all_functional``: the full table, to tell
    "excluded by a requirement" from "no functional data" (default: the shipped table).

    One row per virtual environment: ``environment, technology, product, status, reason,
    relative_time, overhead_pct, ci_low, ci_high, largest_category, rank``. ``status`` is
    ``meets requirements`` (ranked 1, 2, ... by ``relative_time``; ties share a rank),
    ``excluded`` (``reason`` names the requirement) or ``no functional data`` (shown with its
    estimate, never ranked). Rows come in that order.
    """
    full = load_functional() if all_functional is None else all_functional
    known = dict(zip(full["technology"], full["product"]))
    if "meets" in functional_df.columns:
        passing = set(functional_df.loc[functional_df["meets"], "technology"])
        why = dict(zip(functional_df["technology"], functional_df["reason"]))
    else:
        passing = set(functional_df["technology"])
        why = {}
    est = estimate_df.set_index("environment")
    rows = []
    for name, tech in _environments(manifest_envs):
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
