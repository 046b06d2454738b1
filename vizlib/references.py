"""Published reference figures to show beside measured slowdowns, with their citation.

The only reference so far is the lmbench table of P. Barham et al., "Xen and the Art of
Virtualization", SOSP 2003, doi:10.1145/945445.945462, Tables 3-5 (package data
``vizlib/data/barham2003_xen_lmbench.csv``; citation and reading notes in the sibling ``.md``).
Numbers from it are facts from the paper, never our measurements: every frame this module returns
carries a ``source`` column saying which is which, and plots label the paper's points
``LITERATURE_LABEL``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from . import catalogue

CITATION = ('P. Barham et al., "Xen and the Art of Virtualization", SOSP 2003, '
            "doi:10.1145/945445.945462, Tables 3-5")
LITERATURE_LABEL = "Barham et al. 2003 (literature)"
BARHAM2003_FILE = "barham2003_xen_lmbench.csv"
BARHAM2003_BASELINE = "linux_up"  # the paper compares its guests with the uniprocessor kernel

# Paper column -> (readable name, the manifest technology whose measurements it stands beside).
BARHAM2003_SYSTEMS = {
    "xen": ("XenoLinux (Xen, paravirtualized)", "xen-pv"),
    "uml": ("User-mode Linux", "uml"),
    "vmware_ws32": ("VMware Workstation 3.2", None),
    "linux_smp": ("native SMP Linux", None),
}
DEFAULT_SYSTEMS = ("xen", "uml")

RATIO_COLUMNS = ["table", "metric", "param", "paper_label", "system", "system_name", "technology", "baseline",
                 "system_us", "baseline_us", "ratio", "matched", "reference"]
COMPARISON_COLUMNS = ["row", "metric", "param", "paper_label", "system", "system_name", "technology", "source",
                      "environment", "baseline", "measured_param", "slowdown", "ci_low", "ci_high", "noisy",
                      "matched"]


def load_barham2003() -> pd.DataFrame:
    """The paper's table as shipped: one row per lmbench item, values in microseconds.

    Source: P. Barham et al., "Xen and the Art of Virtualization", SOSP 2003,
    doi:10.1145/945445.945462, Tables 3-5. Columns: ``table`` (3, 4 or 5), ``metric`` (suite metric
    id where one exists), ``param`` ("" where the metric has none), ``unit`` ("us" or "us per file"),
    ``linux_smp``, ``linux_up``, ``xen``, ``vmware_ws32``, ``uml`` and ``paper_label``. Every value
    is a latency: lower is better.
    """
    with resources.files("vizlib").joinpath("data", BARHAM2003_FILE).open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype={"param": str, "metric": str, "paper_label": str, "unit": str},
                         keep_default_na=False)
    for col in BARHAM2003_SYSTEMS.keys() | {BARHAM2003_BASELINE}:
        df[col] = pd.to_numeric(df[col])
    return df


def _is_suite_metric(metric_id: str) -> bool:
    try:
        catalogue.get(metric_id)
    except KeyError:
        return False
    return True


def barham2003_ratios(systems=DEFAULT_SYSTEMS) -> pd.DataFrame:
    """The paper's slowdowns versus native uniprocessor Linux (``linux_up``), one row per item and system.

    ``ratio = system_us / baseline_us``. Every paper value is a latency (file create/delete
    included: microseconds per file), so the ratio reads like the suite's direction-aware
    slowdown: above 1 the guest is slower. For lat_fs the suite stores files/s and its slowdown is
    baseline rate / virtual rate, which is the same quantity. Ratios below 1 (signal handler,
    0.70) are kept as published.

    ``matched`` is False for items with no suite metric (``null_io``, the paper's "null I/O");
    they are kept so the table stays complete, and plots mark them. ``technology`` is the
    manifest technology whose environments the system is compared with (None if none).
    """
    raw = load_barham2003()
    unknown = [s for s in systems if s not in BARHAM2003_SYSTEMS]
    if unknown:
        raise ValueError(f"unknown Barham et al. 2003 system(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(BARHAM2003_SYSTEMS)}")
    frames = []
    for system in systems:
        name, tech = BARHAM2003_SYSTEMS[system]
        frames.append(pd.DataFrame({
            "table": raw["table"], "metric": raw["metric"], "param": raw["param"],
            "paper_label": raw["paper_label"], "system": system, "system_name": name, "technology": tech,
            "baseline": BARHAM2003_BASELINE, "system_us": raw[system], "baseline_us": raw[BARHAM2003_BASELINE],
            "ratio": raw[system] / raw[BARHAM2003_BASELINE],
            "matched": raw["metric"].map(_is_suite_metric).astype(bool), "reference": CITATION,
        }))
    return pd.concat(frames, ignore_index=True)[RATIO_COLUMNS]


def literature_comparison(overhead: pd.DataFrame, systems=DEFAULT_SYSTEMS) -> pd.DataFrame:
    """The paper's ratios and, beside each, the measured slowdowns of environments of the same technology.

    ``overhead`` is ``vizlib.normalise.overhead(...)`` output (columns environment, baseline,
    technology, metric, param, slowdown, ci_low, ci_high, noisy). A paper system is matched with
    the measured environments whose manifest ``technology`` it stands for (``xen`` -> ``xen-pv``,
    ``uml`` -> ``uml``). Where the paper gives no size (its single mmap latency figure) and the
    suite measured a series, the largest measured size is used, as lmbench's own summary does;
    ``measured_param`` says which.

    One row per (paper item, system) with ``source="literature"``, then one per measured
    environment with ``source="measured"``. ``row`` is the paper's order, for plotting.
    """
    ratios = barham2003_ratios(systems)
    lit = ratios.assign(source="literature", environment=pd.NA, measured_param="", slowdown=ratios["ratio"],
                        ci_low=float("nan"), ci_high=float("nan"), noisy=False)
    order = {key: i for i, key in enumerate(dict.fromkeys(zip(ratios["metric"], ratios["param"])))}
    lit["row"] = [order[k] for k in zip(lit["metric"], lit["param"])]
    lit["baseline"] = ratios["baseline"]

    measured = []
    if overhead is not None and len(overhead):
        ov = overhead.copy()
        ov["param"] = ov["param"].fillna("").astype(str)
        for _, ref in ratios.drop_duplicates(["metric", "param", "system"]).iterrows():
            if not ref["matched"] or ref["technology"] is None:
                continue
            rows = ov[(ov["technology"] == ref["technology"]) & (ov["metric"] == ref["metric"])]
            if rows.empty:
                continue
            param = ref["param"]
            if param == "" and (rows["param"] != "").any():
                param = catalogue.representative_param(ref["metric"], rows["param"].unique())
            for _, r in rows[rows["param"] == param].iterrows():
                measured.append({
                    "row": order[(ref["metric"], ref["param"])], "metric": ref["metric"], "param": ref["param"],
                    "paper_label": ref["paper_label"], "system": ref["system"], "system_name": ref["system_name"],
                    "technology": ref["technology"], "source": "measured", "environment": r["environment"],
                    "baseline": r["baseline"], "measured_param": param, "slowdown": r["slowdown"],
                    "ci_low": r["ci_low"], "ci_high": r["ci_high"], "noisy": bool(r["noisy"]) if pd.notna(r["noisy"]) else False,
                    "matched": True,
                })
    out = pd.concat([lit[COMPARISON_COLUMNS], pd.DataFrame(measured, columns=COMPARISON_COLUMNS)],
                    ignore_index=True) if measured else lit[COMPARISON_COLUMNS].reset_index(drop=True)
    return out


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """``literature_comparison`` as one row per paper item: the paper's ratios, then each measured slowdown.

    Column names say which is which ("xen / linux_up (Barham et al. 2003)" vs "uml vs host
    (measured)"); cells are ratios rounded to 3 significant digits, empty where nothing matches.
    """
    lit = comparison[comparison["source"] == "literature"]
    meas = comparison[comparison["source"] == "measured"]
    rows = lit.drop_duplicates("row").sort_values("row")[["row", "paper_label", "metric", "param", "matched"]]
    out = rows.set_index("row")
    for system, g in lit.groupby("system", sort=False):
        out[f"{system} / {BARHAM2003_BASELINE} ({LITERATURE_LABEL})"] = g.set_index("row")["slowdown"].round(3)
    for env, g in meas.groupby("environment", sort=False):
        base = g["baseline"].iloc[0]
        out[f"{env} vs {base} (measured)"] = g.drop_duplicates("row").set_index("row")["slowdown"].round(3)
    return out.reset_index(drop=True).rename(columns={"paper_label": "item", "matched": "suite metric"})
