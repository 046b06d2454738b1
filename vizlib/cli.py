"""Command line: ``python -m vizlib <command>`` (also installed as ``vizlib``).

A thin layer over the Python API, as papermill's CLI is over ``execute_notebook``: this module
parses arguments, calls the API and prints; nothing else in vizlib prints or reads argv.

Exit codes, the same for every command: 0 success; 1 some input was rejected or a run failed
(after writing all that could be written); 2 a usage, manifest, parameter or data error
(nothing written).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from . import paths
from .errors import ReportError, VizlibError

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
_LIST_LIMIT = 20  # problems listed per kind; the rest are counted
_PRINT_ENVIRONMENTS = 20


# --- parse ---------------------------------------------------------------------------------------

def _cmd_parse(args) -> int:
    from . import catalogue
    from .errors import ParseError
    from .parser import parse_file

    rows, status = [], EXIT_OK
    for name in args.files:
        try:
            parsed = parse_file(name, source=name)
        except ParseError as exc:
            print(f"rejected: {exc}", file=sys.stderr)
            status = EXIT_REJECTED
            continue
        except OSError as exc:
            print(f"rejected: {name}:0: cannot read: {exc.strerror or exc}", file=sys.stderr)
            status = EXIT_REJECTED
            continue
        for v in parsed.values:
            m = catalogue.get(v.metric)
            rows.append({"file": name, "line": v.line, "metric": v.metric, "param": v.param, "value": v.value,
                         "unit": m.unit, "category": m.category, "direction": m.direction,
                         "low_precision": v.low_precision, "note": v.note})
        for i in parsed.issues:
            if i.kind in ("unknown", "invalid"):
                print(f"{i.kind}: {name}:{i.line}: {i.reason}: {i.text}", file=sys.stderr)
                if i.kind == "invalid":
                    status = EXIT_REJECTED
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        fields = ["file", "line", "metric", "param", "value", "unit", "category", "direction", "low_precision", "note"]
        w = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return status


# --- ingest --------------------------------------------------------------------------------------

def _progress_printer(stream=sys.stderr):
    """Progress for long ingests: a line every 10% once there are more than 200 files."""
    state = {"next": 0.1}

    def report(done, total):
        if total > 200 and done / total >= state["next"]:
            print(f"  parsed {done}/{total} files", file=stream, flush=True)
            state["next"] += 0.1

    return report


def _print_ingest(s, out=sys.stdout) -> None:
    """The ingest summary: counts first, then each problem with file:line."""
    from .tables import ISSUES

    ok = s.files - len(s.rejected)
    print(f"ingested {ok} of {s.files} files from {s.raw_dir}: {s.values} values -> {s.out_dir}", file=out)
    print(f"parsed {s.parsed} files (full ingest: {s.full_reason})" if s.full_reason else
          f"parsed {s.parsed} new or changed files, reused {s.reused} unchanged from the last ingest", file=out)
    for env, n in s.per_env_values.items():
        print(f"  {env}: {n} values", file=out)
    print(f"noise lines skipped: {s.noise_lines}; unknown lines: {len(s.unknown)}; invalid values rejected: "
          f"{len(s.invalid)}; rejected files: {len(s.rejected)}", file=out)
    for title, items in (("rejected files", s.rejected), ("invalid values", s.invalid),
                         ("unknown lines", s.unknown), ("duplicate files", s.duplicates)):
        if items:
            print(f"{title}:", file=out)
            for item in items[:_LIST_LIMIT]:
                print(f"  {item}", file=out)
            if len(items) > _LIST_LIMIT:
                print(f"  ... and {len(items) - _LIST_LIMIT} more (see {ISSUES})", file=out)


def _cmd_ingest(args) -> int:
    from .ingest import ingest

    summary = ingest(args.raw, args.out, jobs=args.jobs, progress=_progress_printer(), full=args.full)
    _print_ingest(summary)
    return summary.exit_code


# --- normalise -----------------------------------------------------------------------------------

def _cmd_normalise(args) -> int:
    """Write overhead.csv, missing_metrics.csv, sanity_checks.csv and category_summary.csv (ingesting
    first when the tables are missing or older than their raw folder, and saying so).

    The replicates themselves are not written: 2000 per metric and environment is tens of MB even
    for the shipped runs, and ``normalise.joint_replicates`` recomputes any subset from the
    tidy table in well under a second, identically.
    """
    from . import ingest, normalise, stats, tables

    processed = Path(args.processed)
    settled = ingest.ensure_tables(processed, args.raw)
    if settled.note:
        print(f"note: {settled.note}", file=sys.stderr)
    result = normalise.normalise_all(tables.load_tidy(processed), tables.load_runs(processed), settled.manifest,
                                     statistic=args.statistic)
    tables.write_analysis(processed, result)

    ov, sanity = result["overhead"], result["sanity_checks"]
    print(f"normalised {ov['environment'].nunique()} virtual environments against their baselines: "
          f"{len(ov)} slowdowns -> {processed / tables.OVERHEAD}")
    noisy = ov["noisy"]
    print(f"  noisy (run-to-run spread above {stats.NOISY_CV:.0%} with 95% confidence): {int(noisy.eq(True).sum())}, "
          f"not noisy: {int(noisy.eq(False).sum())}, too few runs to tell: {int(noisy.isna().sum())}")
    print(f"  95% intervals: {int((ov['ci_level'] == stats.CI_LEVEL).sum())}; no interval (single run): "
          f"{int(ov['note'].str.contains(normalise.NOTE_SINGLE_RUN, regex=False).sum())}; "
          f"measured on one side only: {len(result['missing_metrics'])} (see {tables.MISSING})")
    print(f"  sanity: {int((sanity['status'] == 'warning').sum())} warnings, "
          f"{int((sanity['status'] == 'differs').sum())} header differences (see {tables.SANITY})")
    for row in sanity[sanity["status"] == "warning"].itertuples():
        print(f"  warning: {row.environment} vs {row.baseline}: {row.check}: {row.detail}")
    summ = result["category_summary"]
    groups = list(summ[summ["view"] == "representative"].groupby("environment", sort=False))
    for env, g in groups[:_PRINT_ENVIRONMENTS]:
        parts = ", ".join(f"{r.category} {r.slowdown:.3g}" for r in g.itertuples())
        print(f"  {env}: slowdown {parts}")
    if len(groups) > _PRINT_ENVIRONMENTS:
        print(f"  ... and {len(groups) - _PRINT_ENVIRONMENTS} more environments (see {tables.SUMMARY})")
    return EXIT_OK


# --- report --------------------------------------------------------------------------------------

def _cmd_report(args) -> int:
    from . import report

    try:
        parameters = [tuple(p) for p in (args.parameter or [])]
        if args.statistic:
            parameters.append(("statistic", args.statistic))
        report.run_report(args.raw, name=args.name, parameters=parameters, reports_dir=args.reports_dir or paths.REPORTS)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


# --- estimate ------------------------------------------------------------------------------------

def _fmt(x, spec: str) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _read_text(path: Path | None) -> str | None:
    """A file named on the command line (relative to the shell's directory); UsageError if unreadable."""
    from .errors import UsageError

    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_profile(strace: Path, time_v: Path | None):
    from . import count_model

    return count_model.read_profile(_read_text(strace), _read_text(time_v), strace_source=str(strace),
                                    time_v_source=str(time_v) if time_v else "<time -v>")


def _cmd_estimate(args) -> int:
    """One row per virtual environment: the share-based estimate for ``--mix`` (default
    ``mix.DEFAULT_MIX``) or the count-based one for ``--strace`` [``--time-v``]. ``--format csv``
    prints the CSV on stdout (share-based: exactly ``ESTIMATE_COLUMNS``) and notes on stderr."""
    import pandas as pd

    from . import count_model, inputs as inputs_mod, mix as mix_mod, share_model, stats, tables
    from .errors import MixError, UsageError
    from .views import CAVEAT

    given = [name for name, v in (("--mix", args.mix), ("--strace", args.strace),
                                  ("--profile-strace", args.profile_strace)) if v]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} are different estimates (shares, measured counts, a mix derived "
                         "from a profile); pass one")
    if bool(args.profile_strace) != bool(args.profile_time_v):
        raise UsageError("a mix derived from a profile needs both --profile-strace FILE and --profile-time-v FILE")
    if args.profile_strace and args.time_v is not None:
        raise UsageError("--time-v belongs to the count-based --strace estimate; with --profile-strace pass the "
                         "time -v as --profile-time-v")
    if args.profile_strace:
        return _estimate_from_profile(args)
    if args.time_v is not None and args.strace is None:
        raise UsageError("--time-v adds times to a count-based estimate: pass --strace FILE too")
    mix = None
    if args.strace is None:
        try:
            mix = mix_mod.resolve_mix(args.mix or mix_mod.DEFAULT_MIX)
        except MixError as exc:
            raise UsageError(f"bad --mix: {exc}") from None
    profile = _read_profile(args.strace, args.time_v) if args.strace is not None else None
    # command-line paths are relative to the shell's working directory, not the project root
    inputs = inputs_mod.load_inputs(Path(args.processed).resolve(), Path(args.raw).resolve() if args.raw else None,
                                    statistic=args.statistic)
    if inputs.note:
        print(f"note: {inputs.note}", file=sys.stderr)

    csv_mode = args.format == "csv"
    out, footer_out = sys.stdout, (sys.stderr if csv_mode else sys.stdout)
    footer: list[str] = []
    level = f"{stats.CI_LEVEL:.0%}"
    if profile is None:
        res = share_model.evaluate(inputs.prepared()[1], mix)
        reps = ", ".join(f"{c}={m} {p if p is not None else '(largest size on both sides)'}".rstrip()
                         for c, (m, p) in inputs.representatives.items())
        footer += [f"mix: {mix_mod.format_mix(mix)}", f"representatives: {reps}"]
        if csv_mode:
            res[list(tables.ESTIMATE_COLUMNS)].to_csv(out, index=False, lineterminator="\n")
        else:
            print(pd.DataFrame({
                "environment": res["environment"], "baseline": res["baseline"],
                "relative_time": [_fmt(x, ".3f") for x in res["relative_time"]],
                "overhead_pct": [_fmt(x, "+.1f") for x in res["overhead_pct"]],
                "ci_low": [_fmt(x, ".3f") for x in res["ci_low"]],
                "ci_high": [_fmt(x, ".3f") for x in res["ci_high"]],
                "largest_category": res["largest_category"],
            }).to_string(index=False), file=out)
            footer.append("relative_time = sum(share x slowdown of the category's lmbench metric); "
                          f"ci = {level} interval of relative_time over the runs (joint draws)")
    else:
        res = inputs.count_estimate(profile)
        if csv_mode:
            res.to_csv(out, index=False, lineterminator="\n")
        else:
            print(pd.DataFrame({
                "environment": res["environment"], "baseline": res["baseline"],
                "added_s": [_fmt(x, ".6f") for x in res["added_seconds"]],
                "ci_low_s": [_fmt(x, ".6f") for x in res["ci_low_s"]],
                "ci_high_s": [_fmt(x, ".6f") for x in res["ci_high_s"]],
                "elapsed_+%": [_fmt(x, "+.1f") for x in res["elapsed_increase_pct"]],
                "cpu_+%": [_fmt(x, "+.1f") for x in res["cpu_increase_pct"]],
                "largest_metric": res["largest_metric"],
            }).to_string(index=False), file=out)
            footer.append("added_s = sum(count x (virtual - baseline latency)) + user time x (cpu slowdown - 1); "
                          f"ci = {level} interval over the runs (joint draws)")
        footer.append("counted operations: " + ", ".join(f"{m}={n}" for m, n in
                                                          count_model.priced_counts(profile)[0].items()))
        names, calls = count_model.unpriced(profile)
        if names:
            footer.append(f"syscalls with no lmbench counterpart (not counted, {calls} of {profile.total_calls} "
                          f"calls): {', '.join(names)}")
    footer += [f"note: {r.environment}: {r.note}" for r in res.itertuples(index=False) if r.note]
    footer.append(CAVEAT)
    for line in footer:
        print(line, file=footer_out)
    return EXIT_OK


def _estimate_from_profile(args) -> int:
    """The share-based estimate on the mix derived from a baseline profile (``vizlib.profile_mix``)."""
    import pandas as pd

    from . import appprofile, inputs as inputs_mod, profile_mix
    from .views import CAVEAT

    strace = appprofile.parse_strace_summary(_read_text(args.profile_strace), source=str(args.profile_strace))
    time_v = appprofile.parse_time_v(_read_text(args.profile_time_v), source=str(args.profile_time_v))
    inputs = inputs_mod.load_inputs(Path(args.processed).resolve(), Path(args.raw).resolve() if args.raw else None,
                                    statistic=args.statistic)
    if inputs.note:
        print(f"note: {inputs.note}", file=sys.stderr)
    res, mixes = profile_mix.derived_estimates(inputs, time_v, strace)
    csv_mode = args.format == "csv"
    footer_out = sys.stderr if csv_mode else sys.stdout
    if csv_mode:
        res.to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        print(pd.DataFrame({
            "environment": res["environment"], "baseline": res["baseline"],
            "relative_time": [_fmt(x, ".3f") for x in res["relative_time"]],
            "overhead_pct": [_fmt(x, "+.1f") for x in res["overhead_pct"]],
            "ci_low": [_fmt(x, ".3f") for x in res["ci_low"]], "ci_high": [_fmt(x, ".3f") for x in res["ci_high"]],
            "waiting": [f"{w:.0%}" for w in res["wait_fraction"]], "largest_category": res["largest_category"],
        }).to_string(index=False))
    by_mix: dict = {}  # environments with the same baseline prices share one derived mix
    for r in res.itertuples(index=False):
        by_mix.setdefault((r.mix, r.wait_fraction), []).append(r.environment)
    footer = [f"mix derived from the profile (baseline prices of {', '.join(envs)}): {mix}; waiting "
              f"{wait:.1%} of the run time (not slowed)" for (mix, wait), envs in by_mix.items()]
    footer.append("relative_time = waiting + (1 - waiting) x sum(share x slowdown); the rule: README, "
                  "How the numbers are made")
    footer += [f"note: {r.environment}: {r.note}" for r in res.itertuples(index=False) if r.note]
    footer.append(CAVEAT)
    for line in footer:
        print(line, file=footer_out)
    return EXIT_OK


# --- the parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vizlib", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="print the values parsed from lmbench files")
    p.add_argument("files", nargs="+", help="lmbench results files or logs")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.set_defaults(func=_cmd_parse)

    p = sub.add_parser("ingest", help="turn a raw folder into tidy tables")
    p.add_argument("--raw", type=Path, default=paths.RAW, help="raw folder with environments.toml (default data/raw)")
    p.add_argument("--out", type=Path, default=paths.PROCESSED, help="output folder (default data/processed)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: usable cores)")
    p.add_argument("--full", action="store_true", help="parse every file again, even those unchanged since the "
                   "last ingest into --out (the tables are the same bytes either way)")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("normalise", help="baseline-matched slowdowns -> overhead.csv")
    p.add_argument("--processed", type=Path, default=paths.PROCESSED, help="folder with the ingest tables")
    p.add_argument("--raw", type=Path, default=None, help="raw folder the tables come from (default: the one "
                   "recorded by ingest; the tables are ingested first when missing or stale)")
    p.add_argument("--statistic", choices=("median", "mean"), default="median",
                   help="each side's value over its runs (default median; mean reproduces tables that average runs)")
    p.set_defaults(func=_cmd_normalise)

    p = sub.add_parser("report", help="run the notebooks as a batch report into reports/NAME/")
    p.add_argument("--raw", type=Path, default=paths.RAW, help="raw folder (default data/raw)")
    p.add_argument("--name", default="default", help="report name: output goes to reports/NAME/")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="notebook parameter, e.g. -p mix cpu=0.5,memory=0.5 (repeatable)")
    p.add_argument("--statistic", choices=("median", "mean"), default=None,
                   help="each side's value over its runs (the notebooks' statistic parameter; default median)")
    p.add_argument("--reports-dir", type=Path, default=paths.REPORTS, help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("estimate", help="expected overhead of an application mix per environment")
    p.add_argument("--mix", default=None, help="category shares summing to 1, e.g. cpu=0.5,memory=0.2,disk=0.2,"
                   "network=0.1 (cpu:0.5 also works), or a preset name from vizlib.presets")
    p.add_argument("--strace", type=Path, default=None, help="strace -c -f summary of the application")
    p.add_argument("--time-v", dest="time_v", type=Path, default=None, help="GNU time -v output of the application")
    p.add_argument("--profile-strace", type=Path, default=None,
                   help="with --profile-time-v: derive the mix from the application's baseline profile "
                   "(strace -c -f summary) instead of setting it by hand")
    p.add_argument("--profile-time-v", type=Path, default=None,
                   help="GNU time -v of the same application on the baseline, run without strace")
    p.add_argument("--processed", type=Path, default=paths.PROCESSED, help="folder with the ingest tables")
    p.add_argument("--raw", type=Path, default=None, help="raw folder the tables come from (default: the one "
                   "recorded by ingest; the tables are ingested first when missing or stale)")
    p.add_argument("--statistic", choices=("median", "mean"), default="median",
                   help="each side's value over its runs (default median)")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.set_defaults(func=_cmd_estimate)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except VizlibError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
