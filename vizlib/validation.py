"""How good is the estimate? Both overhead models against measured application slowdowns.

For every (virtual environment, application) of the validation folder (``vizlib.validation_data``):

- **measured**: the median wall time of the repetitions in the environment over the median on
  its baseline; the interval comes from the repetitions of both sides, drawn like every interval
  of the suite (``stats.location_draws``: a 95% interval for the ratio of geometric means). The
  repetitions of one session are its units, so the interval says nothing of session-to-session
  variation.
- **share**: the share-based estimate for the mix derived from the application's own baseline
  profile (``vizlib.profile_mix``): no hand-set shares.
- **count**: the count-based estimate (``vizlib.count_model``) as a relative time:
  ``1 + added seconds / baseline elapsed``, interval likewise.

The profile is the baseline's ``strace.txt`` with the ``time -v`` of the baseline repetition
whose elapsed time is the median (the lower middle one for an even count).

``summary`` scores each model per environment: the median absolute error of
``log(estimate / measured)`` (0.22 is a factor of 1.25), the share of applications within ±25%
of the measured slowdown, and how often the measured value falls inside the estimate's interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import count_model, profile_mix, stats
from .catalogue import CATEGORIES
from .errors import AppProfileError
from .tables import VALIDATION_COLUMNS, VALIDATION_SUMMARY_COLUMNS
from .validation_data import ValidationData, read_strace

MODELS = ("share", "count")
# Held out of every refinement of the models: chosen before the refinements were tried on the lab's
# timings (each refinement was judged on the other applications), and reported separately.
HELD_OUT = ("http", "untar")
WITHIN = 0.25  # "within ±25%": |estimate / measured - 1| <= WITHIN


def measured_slowdowns(data: ValidationData, manifest, *, n_boot: int = stats.N_REPLICATES, seed: int = 0
                       ) -> pd.DataFrame:
    """One row per (virtual environment, app) timed on both sides: ``environment, baseline, app,
    n_virtual, n_baseline, measured_slowdown, measured_ci_low, measured_ci_high``."""
    rows = []
    for env in manifest.virtual():
        for app in data.apps:
            v, b = data.elapsed(env.name, app), data.elapsed(env.baseline, app)
            if not v or not b:
                continue
            point = float(np.median(v)) / float(np.median(b)) if np.median(b) > 0 else math.nan
            lo = hi = math.nan
            note = ""
            if len(v) >= 2 and len(b) >= 2:
                dv = stats.location_draws(np.array(v, float)[:, None], n_boot, stats.rng(seed, "validation", env.name, app))
                db = stats.location_draws(np.array(b, float)[:, None], n_boot,
                                          stats.rng(seed, "validation", env.baseline, app))
                lo, hi = (float(x) for x in stats.interval(np.exp(dv[:, 0] - db[:, 0])))
                if lo == hi:
                    note = "measured interval of zero width: the repetitions are identical at time -v's 0.01 s"
                elif not lo <= point <= hi:
                    note = ("the measured median ratio lies outside its interval (the interval is for the ratio of "
                            "geometric means; the repetitions are skewed)")
            else:
                note = "a single timed repetition on a side: no measured interval"
            rows.append({"environment": env.name, "baseline": env.baseline, "app": app, "n_virtual": len(v),
                         "n_baseline": len(b), "measured_slowdown": point, "measured_ci_low": lo,
                         "measured_ci_high": hi, "note": note})
    return pd.DataFrame(rows, columns=["environment", "baseline", "app", "n_virtual", "n_baseline",
                                       "measured_slowdown", "measured_ci_low", "measured_ci_high", "note"])


def profile_rep(data: ValidationData, baseline: str, app: str):
    """The baseline repetition whose elapsed time is the median (lower middle for an even count)."""
    reps = sorted((r for r in data.repetitions if r.environment == baseline and r.app == app),
                  key=lambda r: (r.time_v.elapsed_seconds, r.rep))
    return reps[(len(reps) - 1) // 2] if reps else None


def validation_table(data: ValidationData, inputs, *, n_boot: int = stats.N_REPLICATES, seed: int = 0,
                     details: dict | None = None, pricing: count_model.Pricing = count_model.Pricing()) -> pd.DataFrame:
    """Measured slowdowns beside both models' estimates (``VALIDATION_COLUMNS``); ``inputs`` is the
    ``vizlib.inputs.ModelInputs`` of the raw folder the applications ran with. ``details``, when
    given, receives per (environment, app) the derived mix and the count-based breakdown."""
    measured = measured_slowdowns(data, inputs.manifest, n_boot=n_boot, seed=seed)
    estimates = {}
    for (baseline, app), grp in measured.groupby(["baseline", "app"], sort=False):
        rep, path = profile_rep(data, baseline, app), data.straces.get((baseline, app))
        if rep is None or path is None:
            estimates[(baseline, app)] = (None, None, f"no strace.txt for {app} on {baseline}")
            continue
        try:
            strace = read_strace(path, data.folder)
        except AppProfileError as exc:
            estimates[(baseline, app)] = (None, None, str(exc))
            continue
        envs = list(grp["environment"])
        share, mixes = profile_mix.derived_estimates(inputs, rep.time_v, strace, envs, pricing)
        profile = count_model.profile_of(strace, rep.time_v)
        count = inputs.count_estimate(profile, pricing=pricing)
        if details is not None:
            breakdown = count_model.count_breakdown(inputs.overhead, count_model.priced_counts(profile, pricing)[0],
                                                    pricing=pricing)
            for env, mix in mixes.items():
                details[(env, app)] = (mix, breakdown[breakdown["environment"] == env], profile)
        estimates[(baseline, app)] = (share.set_index("environment"), count.set_index("environment"), "")
    rows = []
    for r in measured.to_dict("records"):
        share, count, why = estimates[(r["baseline"], r["app"])]
        out = {**r, "share_estimate": math.nan, "share_ci_low": math.nan, "share_ci_high": math.nan,
               "count_estimate": math.nan, "count_ci_low": math.nan, "count_ci_high": math.nan,
               "wait_fraction": math.nan, "note": "; ".join(x for x in (r["note"], why) if x)}
        env = r["environment"]
        if share is not None and env in share.index:
            s = share.loc[env]
            out.update(share_estimate=s["relative_time"], share_ci_low=s["ci_low"], share_ci_high=s["ci_high"],
                       wait_fraction=s["wait_fraction"])
        if count is not None and env in count.index:
            c = count.loc[env]
            elapsed = c["app_elapsed_s"]
            if np.isfinite(elapsed) and elapsed > 0:
                out.update(count_estimate=1 + c["added_seconds"] / elapsed, count_ci_low=1 + c["ci_low_s"] / elapsed,
                           count_ci_high=1 + c["ci_high_s"] / elapsed)
                if not np.isfinite(out["count_ci_low"]):
                    out["note"] = "; ".join(x for x in (out["note"], "count-based: " + c["note"]) if x)
                if out["count_estimate"] <= 0:
                    out["note"] = "; ".join(x for x in (out["note"], "count-based estimate <= 0: an impossible run "
                                                        "time (the virtual side prices some items far below the "
                                                        "baseline)") if x)
        notes = [x for x in (out["note"], share.loc[env, "note"] if share is not None and env in share.index else "")
                 if x]
        out["note"] = "; ".join(dict.fromkeys(notes))
        rows.append(out)
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


# The refinements of the pricing both models use (the count-based estimate, and the derived mix of
# the share-based one), added one at a time (each step keeps the ones before it).
PRICING_STEPS = (
    ("before the refinements", count_model.ORIGINAL),
    ("+ user time slowed by the cpu items", count_model.Pricing(True, False, False)),
    ("+ mmap priced without its page faults", count_model.Pricing(True, True, False)),
    ("+ socket send/receive priced", count_model.Pricing(True, True, True)),
)


def refinement_steps(data: ValidationData, inputs, *, n_boot: int = stats.N_REPLICATES, seed: int = 0,
                     known: dict | None = None) -> pd.DataFrame:
    """Each model's error after each refinement (``PRICING_STEPS``), per environment, for the
    applications the refinements were judged on and, separately, the held-out ones. ``known``:
    validation tables already made with the same seed and draws, by pricing (not made again)."""
    rows = []
    for label, pricing in PRICING_STEPS:
        t = (known or {}).get(pricing)
        if t is None:
            t = validation_table(data, inputs, n_boot=n_boot, seed=seed, pricing=pricing)
        t = t.assign(group=np.where(t["app"].isin(HELD_OUT), "held out", "judged on"))
        for model in MODELS:
            for (group, env), g in t.groupby(["group", "environment"], sort=False):
                e = log_errors(g, model).dropna()
                rows.append({"model": model, "step": label, "group": group, "environment": env, "apps": len(g),
                             "median_error_factor": float(np.exp(e.abs().median())) if len(e) else math.nan,
                             "within_25pct": float((np.exp(e) - 1).abs().le(WITHIN).mean()) if len(e) else math.nan})
    return pd.DataFrame(rows)


def log_errors(table: pd.DataFrame, model: str) -> pd.Series:
    """``log(estimate / measured)`` of one model (NaN where either is missing)."""
    est, meas = table[f"{model}_estimate"].astype(float), table["measured_slowdown"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.log(est / meas), index=table.index)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and environment (and "all"): how far the estimates are from the measurements."""
    rows = []
    for model in MODELS:
        err = log_errors(table, model)
        lo, hi = table[f"{model}_ci_low"].astype(float), table[f"{model}_ci_high"].astype(float)
        meas = table["measured_slowdown"].astype(float)
        inside = (lo <= meas) & (meas <= hi)
        has_iv = lo.notna() & hi.notna()
        for env in list(dict.fromkeys(table["environment"])) + ["all"]:
            m = (table["environment"] == env) if env != "all" else pd.Series(True, index=table.index)
            e = err[m].dropna()
            rows.append({"model": model, "environment": env, "apps": int(m.sum()),
                         "median_abs_log_error": float(e.abs().median()) if len(e) else math.nan,
                         "median_error_factor": float(np.exp(e.abs().median())) if len(e) else math.nan,
                         "within_25pct": float((np.exp(e) - 1).abs().le(WITHIN).mean()) if len(e) else math.nan,
                         "interval_covers_measured": float(inside[m & has_iv].mean()) if (m & has_iv).any() else math.nan,
                         "estimates_missing": int(m.sum() - len(e))})
    return pd.DataFrame(rows, columns=VALIDATION_SUMMARY_COLUMNS)


def worst(table: pd.DataFrame, model: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` (environment, app) rows a model gets most wrong, by |log error|."""
    err = log_errors(table, model)
    out = table.assign(log_error=err, abs_log_error=err.abs()).dropna(subset=["abs_log_error"])
    return out.nlargest(k, "abs_log_error")[["environment", "app", "measured_slowdown", f"{model}_estimate",
                                             "log_error", "wait_fraction", "note"]].reset_index(drop=True)


def explain(details: dict, environment: str, app: str) -> str:
    """Where the baseline run time goes and what the count-based model prices most or cannot price."""
    if (environment, app) not in details:
        return "no profile"
    mix, breakdown, profile = details[(environment, app)]
    sec = mix.seconds
    busy = sec["user"] + sec["system"]
    span = max(sec["elapsed"], busy) or 1.0
    parts = [f"user {sec['user'] / span:.0%}"] + [f"{c} {sec[c] / span:.0%}" for c in CATEGORIES if c != "cpu"
                                                   if sec[c] / span >= 0.005]
    parts.append(f"waiting {mix.wait_fraction:.0%}")
    text = "baseline time: " + ", ".join(parts)
    ok = breakdown[breakdown["added_seconds"].notna()]
    if len(ok):
        top = ok.loc[ok["added_seconds"].abs().idxmax()]
        text += (f"; count model's biggest item: {int(top['count']):,} \u00d7 {top['metric']} "
                 f"({top['delta_us']:+.3g} us each = {top['added_seconds']:+.3g} s)")
    names, calls = count_model.unpriced(profile)
    if calls:
        text += f"; not priced: {calls:,} of {profile.total_calls:,} calls ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
    return text


@dataclass
class Check:
    """Everything 06_validation shows for one raw folder."""

    folder: object
    table: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    worst: pd.DataFrame | None = None
    steps: pd.DataFrame | None = None  # refinement_steps
    problems: list = field(default_factory=list)
    status: str = ""


def check(ctx, validation_dir="", *, n_boot: int = stats.N_REPLICATES, seed: int = 0, statistic: str = "median",
          worst_k: int = 3) -> Check:
    """The validation of a notebook context (``vizlib.notebook.setup``): the folder given, or the raw
    folder's sibling ``validation``. Without timings for its environments: a ``Check`` whose
    ``status`` says so and whose tables are None."""
    from . import inputs as inputs_mod, paths
    from .validation_data import default_folder, load

    folder = paths.resolve(validation_dir) if validation_dir else default_folder(ctx.raw_dir)
    data = load(folder, ctx.manifest.environments)
    out = Check(folder, problems=list(data.problems))
    shown = paths.project_relative(folder) or folder.name
    if not data.repetitions:
        out.status = (f"No application timings in {shown} for these environments: nothing to validate. The lab "
                      "(lab/README.md) makes them; see README: Validation.")
        return out
    inputs = inputs_mod.inputs_from_context(ctx, n_boot=n_boot, seed=seed, statistic=statistic)
    details: dict = {}
    table = validation_table(data, inputs, n_boot=n_boot, seed=seed, details=details)
    out.table = table[table["environment"].isin(ctx.virtual)].reset_index(drop=True)
    out.summary = summary(out.table)
    rows = []
    for model in MODELS:
        for r in worst(out.table, model, worst_k).to_dict("records"):
            rows.append({"model": model, **r, "why": explain(details, r["environment"], r["app"])})
    out.worst = pd.DataFrame(rows)
    steps = refinement_steps(data, inputs, n_boot=n_boot, seed=seed, known={count_model.Pricing(): table})
    out.steps = steps[steps["environment"].isin(ctx.virtual)].reset_index(drop=True)
    n_apps, n_env = out.table["app"].nunique(), out.table["environment"].nunique()
    out.status = (f"{len(data.repetitions)} timed repetitions of {n_apps} applications from {shown}: "
                  f"{len(out.table)} comparisons in {n_env} virtual environments.")
    if data.problems:
        out.status += f"\nLeft out ({len(data.problems)}): " + "; ".join(data.problems[:5]) + (
            " ..." if len(data.problems) > 5 else "")
    return out
