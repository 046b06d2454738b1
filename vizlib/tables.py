"""The suite's CSV tables: file names, columns, column types, and the one way to read and write them.

Ingest writes the first three (with a copy of the manifest it used and ``provenance.json``, so
every later step knows which raw folder made the tables), normalisation the next four, into a
processed folder:

- ``lmbench_tidy/<environment>.csv``: one row per measured value (``TIDY_COLUMNS``), one file per
  environment of the manifest (so that adding a run rewrites only its environment's file; ``load_tidy``
  reads them as one table);
- ``lmbench_runs.csv``: one row per raw file, ingested or rejected (``RUNS_COLUMNS``);
- ``ingest_issues.csv``: rejected files and every invalid, unknown, noise and decode line;
- ``overhead.csv``, ``missing_metrics.csv``, ``sanity_checks.csv``, ``category_summary.csv`` and
  ``chain.csv`` (environments whose baseline is itself virtual: each step and the product).

Every table is written atomically, booleans as ``true``/``false`` and floats of the analysis
tables to six significant digits, so the same input gives byte-identical files. Text is read back
as printed: a param ``""`` stays ``""`` and ``"67.108864"`` stays text, never NaN or a float.
"""

from __future__ import annotations

from pathlib import Path

from . import atomic
from .parser import META_COLUMNS

TIDY = "lmbench_tidy"  # a folder: the tidy table, one ``<environment>.csv`` per environment (``tidy_file``)
RUNS = "lmbench_runs.csv"
ISSUES = "ingest_issues.csv"
OVERHEAD = "overhead.csv"
MISSING = "missing_metrics.csv"
SANITY = "sanity_checks.csv"
SUMMARY = "category_summary.csv"
MANIFEST_COPY = "environments.toml"  # the manifest ingest used, copied byte for byte
PROVENANCE = "provenance.json"  # the raw folder as given, the manifest's sha256, the vizlib version

TIDY_COLUMNS = ("environment", "run", "line", "metric", "param", "value", "unit", "category", "direction",
                "low_precision", "note")
RUNS_COLUMNS = ("environment", "run", "status", "format", "sha256", "bytes", "values", "noise_lines",
                "unknown_lines", "invalid_lines") + META_COLUMNS
ISSUE_COLUMNS = ("environment", "run", "line", "kind", "reason", "text")
OVERHEAD_COLUMNS = ("environment", "baseline", "technology", "metric", "param", "label", "category", "unit",
                    "direction", "statistic", "virtual_value", "baseline_value", "slowdown", "ci_low", "ci_high",
                    "ci_level", "n_virtual", "n_baseline", "reps_virtual", "reps_baseline", "complete", "cv_virtual",
                    "cv_baseline", "noisy", "low_precision", "note")
MISSING_COLUMNS = ("environment", "baseline", "metric", "param", "present_in")
SANITY_COLUMNS = ("environment", "baseline", "check", "status", "detail")
SUMMARY_COLUMNS = ("environment", "baseline", "technology", "category", "metric", "param", "slowdown",
                   "ci_low", "ci_high", "ci_level", "n_virtual", "n_baseline", "noisy", "low_precision", "view",
                   "note")
CHAIN = "chain.csv"
CHAIN_COLUMNS = ("environment", "root", "chain", "category", "metric", "param", "steps", "slowdown", "ci_low",
                 "ci_high", "ci_level", "note")
# The overhead model's tables (``vizlib estimate --format csv`` prints the first two).
ESTIMATE_COLUMNS = ("environment", "baseline", "relative_time", "overhead_pct", "ci_low", "ci_high", "ci_level",
                    "largest_category")
COUNT_COLUMNS = ("environment", "baseline", "added_seconds", "ci_low_s", "ci_high_s", "app_elapsed_s",
                 "elapsed_increase_pct", "app_cpu_s", "cpu_increase_pct", "largest_metric", "missing_metrics",
                 "unknown_syscalls", "note")
CATEGORY_COLUMNS = ("environment", "baseline", "category", "metric", "param", "slowdown", "ci_low", "ci_high",
                    "ci_level", "n_virtual", "n_baseline", "low_precision", "note")
# Product selection (notebook 05, ``vizlib.functional.ranking``): every measured environment, whether
# its technology passes the functional requirements and why, and its rank by expected relative time
# (empty: no rank). ``rank`` is read back as a float so that "no rank" stays NaN (an INT column reads
# an empty cell as 0).
RANKING = "ranking.csv"
RANKING_COLUMNS = ("environment", "technology", "passes", "reason", "rank", "relative_time", "ci_low", "ci_high")
# Written by 06_validation: measured application slowdowns beside both models' estimates.
VALIDATION = "validation.csv"
VALIDATION_COLUMNS = ("environment", "baseline", "app", "n_virtual", "n_baseline", "measured_slowdown",
                      "measured_ci_low", "measured_ci_high", "share_estimate", "share_ci_low", "share_ci_high",
                      "count_estimate", "count_ci_low", "count_ci_high", "wait_fraction", "note")
# In-memory tables (never written: recomputed from the tidy table in well under a second).
REPLICATE_COLUMNS = ("environment", "metric", "param", "replicate", "slowdown", "virtual", "baseline")
REPRESENTATIVE_COLUMNS = ("environment", "category", "metric", "param", "note")
# The share-based estimate for an application's mix derived from its time -v and strace files.
DERIVED_ESTIMATE_COLUMNS = ESTIMATE_COLUMNS + ("wait_fraction", "mix", "note")
# Each model's accuracy against the measured slowdowns, per virtual environment (06_validation).
VALIDATION_SUMMARY_COLUMNS = ("model", "environment", "apps", "median_abs_log_error", "median_error_factor",
                              "within_25pct", "interval_covers_measured", "estimates_missing")

# The normalisation tables by the key ``normalise_all`` returns them under.
ANALYSIS_FILES = {"overhead": OVERHEAD, "missing_metrics": MISSING, "sanity_checks": SANITY,
                  "category_summary": SUMMARY, "chain": CHAIN}

# Column types of every table; a column not named here is text.
BOOL_COLUMNS = frozenset({"low_precision", "complete", "passes"})
UNKNOWN_BOOL_COLUMNS = frozenset({"noisy"})  # true / false / "" (unknown)
INT_COLUMNS = frozenset({"line", "bytes", "values", "noise_lines", "unknown_lines", "invalid_lines", "n_virtual",
                         "n_baseline", "reps_virtual", "reps_baseline"})
FLOAT_COLUMNS = frozenset({"value", "virtual_value", "baseline_value", "slowdown", "ci_low", "ci_high", "ci_level",
                           "cv_virtual", "cv_baseline", "relative_time", "overhead_pct", "added_seconds", "ci_low_s",
                           "ci_high_s", "app_elapsed_s", "elapsed_increase_pct", "app_cpu_s", "cpu_increase_pct",
                           "rank", "measured_slowdown", "measured_ci_low", "measured_ci_high", "share_estimate",
                           "share_ci_low", "share_ci_high", "count_estimate", "count_ci_low", "count_ci_high",
                           "wait_fraction"})

_LOAD_CHUNK_ROWS = 500_000


def tidy_file(environment: str) -> str:
    """Where an environment's rows of the tidy table are, relative to the processed folder."""
    return f"{TIDY}/{environment}.csv"


def tidy_files(processed_dir) -> list[Path]:
    """The tidy table's files in ``processed_dir``, by environment name; FileNotFoundError if there
    is no tidy table there."""
    folder = Path(processed_dir) / TIDY
    if not folder.is_dir():
        raise FileNotFoundError(f"no tidy table in {processed_dir}: {folder} is not a folder (run ingest)")
    return sorted(folder.glob("*.csv"), key=lambda p: p.stem)


def load_tidy(processed_dir):
    """The tidy table (every file of ``lmbench_tidy/``, by environment name): value as float,
    low_precision as bool, text columns as categoricals.

    A fleet's table repeats a few hundred distinct strings millions of times, and one Python string
    per cell would take gigabytes, so text columns are categoricals of str. They compare, filter
    and group like str columns (``tidy["param"] == ""``, ``.isin``, ``.str``).
    """
    import numpy as np
    import pandas as pd

    files = tidy_files(processed_dir)
    header = list(pd.read_csv(files[0], nrows=0).columns) if files else list(TIDY_COLUMNS)
    text = [c for c in header if c not in FLOAT_COLUMNS and c not in INT_COLUMNS]
    dtypes = {c: "category" for c in text}
    # read in chunks: the CSV parser's working memory stays that of one chunk
    chunks = [chunk for path in files
              for chunk in pd.read_csv(path, dtype=dtypes, keep_default_na=False,
                                       na_values={"value": ["", "nan", "NaN"]}, chunksize=_LOAD_CHUNK_ROWS)
              if len(chunk)]  # (an environment without rows: its empty chunk's categories are of another dtype)
    if not chunks:  # no rows: the first file's header, typed (no file: a manifest of no environments)
        df = (pd.read_csv(files[0], dtype=dtypes, keep_default_na=False) if files else
              pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, float)) for c in header}, columns=header))
    elif len(chunks) == 1:
        df = chunks[0]
    else:
        data = {}
        for c in header:
            parts = [ch.pop(c) for ch in chunks]
            data[c] = (pd.api.types.union_categoricals(parts, sort_categories=True) if c in text
                       else np.concatenate([p.to_numpy() for p in parts]))
        df = pd.DataFrame(data, columns=header)
        del chunks
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    lp = df["low_precision"]
    flags = np.asarray(lp.cat.categories.astype(str).str.lower() == "true", bool)
    df["low_precision"] = flags[lp.cat.codes.to_numpy()] if len(flags) else np.zeros(len(df), bool)
    return df


def read_table(path):
    """Any other table of the suite, each column by its type (text stays text, "" stays "")."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in df.columns:
        if col in BOOL_COLUMNS:
            df[col] = df[col].str.lower().eq("true")
        elif col in UNKNOWN_BOOL_COLUMNS:
            df[col] = df[col].str.lower().map({"true": True, "false": False}).astype("boolean")
        elif col in INT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
        elif col in FLOAT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def load_runs(processed_dir):
    """``lmbench_runs.csv``, header metadata as text ("" where lmbench did not record it)."""
    return read_table(Path(processed_dir) / RUNS)


def load_issues(processed_dir):
    """``ingest_issues.csv``."""
    return read_table(Path(processed_dir) / ISSUES)


def load_analysis(processed_dir) -> dict:
    """The normalisation tables of a processed folder, by ``ANALYSIS_FILES`` key."""
    return {key: read_table(Path(processed_dir) / name) for key, name in ANALYSIS_FILES.items()}


def write_table(path, df) -> None:
    """A DataFrame as CSV, atomically: booleans as true/false ("" where unknown), floats to 6 significant digits."""
    import numpy as np
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = np.where(out[c].to_numpy(), "true", "false")
        elif isinstance(out[c].dtype, pd.BooleanDtype):  # true / false / "" for unknown
            out[c] = out[c].map({True: "true", False: "false"}).fillna("")
    with atomic.open_atomic(path, "w", encoding="utf-8", newline="") as fh:
        out.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")


def write_analysis(processed_dir, tables: dict) -> None:
    """Write ``normalise_all``'s tables into ``processed_dir`` under their ``ANALYSIS_FILES`` names."""
    for key, name in ANALYSIS_FILES.items():
        write_table(Path(processed_dir) / name, tables[key])
