"""Is a pair comparable at all? Checks on the two sides of every virtual environment.

``sanity_checks`` gives one row per (virtual environment, check), ``SANITY_COLUMNS``, with status
ok / warning / expected / differs / skipped:

- ``cpu_only_items``: integer operations involve no kernel and no device, so any virtualization
  that runs guest code natively should reproduce them within a few percent. A median |log ratio|
  above log(1 + ``CPU_MISMATCH``) points to a different clock frequency or CPU model between the
  two sides, which would bias every other ratio ("warning"); under emulation it is "expected".
  Values printed too coarsely (``integer add: 0.00``, low_precision) are left out while precise
  ones exist.
- ``header_<column>``: the lmbench header metadata of the two sides' runs; "differs" lists both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .samples import Prepared, check_runs
from .tables import SANITY_COLUMNS

CPU_MISMATCH = 0.15
CPU_CHECK_METRICS = ("int_bit", "int_add", "int_mul", "int_div", "int_mod")
EMULATED_TECHNOLOGIES = ("qemu-tcg",)  # CPU work is emulated: a CPU mismatch is the point
HEADER_COLUMNS = ("mhz", "processors", "kernel_release", "lmbench_version", "mb")


def sanity_checks(prep: Prepared, runs: pd.DataFrame) -> pd.DataFrame:
    """Every check of every virtual environment against its baseline (``SANITY_COLUMNS``)."""
    check_runs(prep)
    rows = []
    headers = {col: _header_sets(runs, col) for col in HEADER_COLUMNS}
    for env in prep.manifest.virtual():
        status, detail = _cpu_check(prep, env)
        rows.append((env.name, env.baseline, "cpu_only_items", status, detail))
        for col in HEADER_COLUMNS:
            vv, bv = headers[col].get(env.name, []), headers[col].get(env.baseline, [])
            if not vv or not bv:
                rows.append((env.name, env.baseline, f"header_{col}", "skipped",
                             f"{col}: no run metadata for {env.name if not vv else env.baseline} in the runs table"))
            elif vv == bv:
                rows.append((env.name, env.baseline, f"header_{col}", "ok", f"{col}: {_show(vv)} on both sides"))
            else:
                rows.append((env.name, env.baseline, f"header_{col}", "differs",
                             f"{col}: {env.name} {_show(vv)}; {env.baseline} {_show(bv)}"))
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _cpu_check(prep: Prepared, env) -> tuple[str, str]:
    vs, bs = prep.sides[env.name], prep.sides[env.baseline]
    common = np.intersect1d(vs.keys, bs.keys)
    kc = prep.kcols
    common = common[np.isin(kc["metric"][common], CPU_CHECK_METRICS) & (kc["param"][common] == "")]
    iv, ib = np.searchsorted(vs.keys, common), np.searchsorted(bs.keys, common)
    vm, bm = vs.center[iv], bs.center[ib]
    nonzero = (vm > 0) & (bm > 0)
    precise = nonzero & ~vs.low_precision[iv] & ~bs.low_precision[ib]
    use = precise if precise.any() else nonzero
    if not use.any():
        return "skipped", (f"no integer-operation item ({', '.join(CPU_CHECK_METRICS)}) with a non-zero value "
                           "on both sides")
    names = kc["metric"][common][use]
    ratios = vm[use] / bm[use]
    m = float(np.median(np.abs(np.log(ratios))))
    items = ", ".join(f"{k} x{r:.3f}" for k, r in zip(names, ratios))
    detail = (f"median |log ratio| {m:.3f} (x{math.exp(m):.3f}) over {items}; "
              f"threshold {CPU_MISMATCH:.0%}" + ("" if precise.any() else "; only low-precision values available"))
    if m <= math.log1p(CPU_MISMATCH):
        return "ok", detail
    if env.technology in EMULATED_TECHNOLOGIES:
        return "expected", detail + f"; {env.technology} emulates the CPU, so integer work is expected to differ"
    return "warning", detail + "; likely a clock-frequency or CPU-model mismatch between the two sides"


def _header_sets(runs: pd.DataFrame, col: str) -> dict:
    """environment -> sorted distinct values of header column ``col`` over its ingested runs."""
    if col not in runs or "environment" not in runs:
        return {}
    r = runs[runs["status"] == "ok"] if "status" in runs else runs
    u = r[["environment", col]].astype(str).drop_duplicates().sort_values(["environment", col])
    out: dict = {}
    for env, value in zip(u["environment"].to_numpy(), u[col].to_numpy()):
        out.setdefault(env, []).append(value)
    return out


def _show(values: list[str]) -> str:
    return " | ".join(v if v else "(not recorded)" for v in values) if values else "(no runs)"
