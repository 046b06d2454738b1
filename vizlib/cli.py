"""Command line: ``python -m vizlib <command>`` (also installed as ``vizlib``).

Exit codes, the same for every command: 0 success; 1 some input was rejected or a run failed
(after writing all that could be written); 2 a usage, manifest or parameter error (nothing written).
Each command's work lives in its module; this file only parses arguments and maps errors to codes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from . import paths

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A bad argument or parameter: exit 2, nothing written."""


def _cmd_parse(args) -> int:
    from . import catalogue
    from .parser import ParseError, parse_file

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


def _progress_printer(stream=sys.stderr):
    """Progress for long ingests: a line every 10% once there are more than 200 files."""
    state = {"next": 0.1}

    def report(done, total):
        if total > 200 and done / total >= state["next"]:
            print(f"  parsed {done}/{total} files", file=stream, flush=True)
            state["next"] += 0.1

    return report


def _cmd_ingest(args) -> int:
    from .ingest import ingest, print_summary

    summary = ingest(args.raw, args.out, jobs=args.jobs, progress=_progress_printer())
    print_summary(summary)
    return summary.exit_code


def _cmd_normalise(args) -> int:
    from . import normalise

    return normalise.cli(args)


def _cmd_report(args) -> int:
    from . import report

    return report.cli(args)


def _cmd_estimate(args) -> int:
    from . import model

    return model.cli(args)


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
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("normalise", help="baseline-matched slowdowns -> overhead.csv")
    p.add_argument("--processed", type=Path, default=paths.PROCESSED, help="folder with the ingest tables")
    p.add_argument("--raw", type=Path, default=None, help="raw folder whose manifest names the baselines "
                   "(default: the one recorded by ingest, else data/raw)")
    p.set_defaults(func=_cmd_normalise)

    p = sub.add_parser("report", help="run the notebooks as a batch report into reports/NAME/")
    p.add_argument("--raw", type=Path, default=paths.RAW, help="raw folder (default data/raw)")
    p.add_argument("--name", default="default", help="report name: output goes to reports/NAME/")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="notebook parameter, e.g. -p mix cpu=0.5,memory=0.5 (repeatable)")
    p.add_argument("--reports-dir", type=Path, default=paths.REPORTS, help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("estimate", help="expected overhead of an application mix per environment")
    p.add_argument("--mix", default=None, help="category shares summing to 1, e.g. cpu=0.5,memory=0.2,disk=0.2,"
                   "network=0.1 (cpu:0.5 also works), or a preset name from vizlib.presets")
    p.add_argument("--strace", type=Path, default=None, help="strace -c -f summary of the application")
    p.add_argument("--time-v", dest="time_v", type=Path, default=None, help="GNU time -v output of the application")
    p.add_argument("--processed", type=Path, default=paths.PROCESSED, help="folder with the ingest tables")
    p.add_argument("--raw", type=Path, default=paths.RAW, help="raw folder whose manifest names the baselines")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.set_defaults(func=_cmd_estimate)
    return ap


def main(argv=None) -> int:
    from .manifest import ManifestError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ManifestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
