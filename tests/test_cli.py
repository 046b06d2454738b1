"""The command line, run as users run it: ``.venv/bin/python -m vizlib ...`` from the repository."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest

from conftest import BAD, LAB_RAW as RAW, REPO
from vizlib.parser import parse_file

_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON if _VENV_PYTHON.exists() else sys.executable)
PARSE_COLUMNS = ["file", "line", "metric", "param", "value", "unit"]


def vizlib(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "vizlib", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_parse_csv():
    res = vizlib("parse", "data/raw-lmbench-lab/host/host.3", "--format", "csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0])[:6] == PARSE_COLUMNS
    assert len(rows) == len(parse_file(REPO / "data/raw-lmbench-lab/host/host.3").values)  # every value the parser reads
    assert {r["file"] for r in rows} == {"data/raw-lmbench-lab/host/host.3"}  # as given on the command line
    # data/raw-lmbench-lab/host/host.3 line 83: "Simple syscall: 0.1659 microseconds"
    (row,) = [r for r in rows if r["line"] == "83"]
    assert (row["metric"], row["param"], float(row["value"]), row["unit"]) == ("syscall_null", "", 0.1659, "us")
    # line 173: "10.485760 4441.86 MB/sec"
    (row,) = [r for r in rows if r["line"] == "173"]
    assert (row["metric"], row["param"], float(row["value"]), row["unit"]) == ("tcp_bw", "10.485760", 4441.86, "MB/s")


def test_parse_json_keeps_file_as_given():
    given = "./data/raw-lmbench-lab/uml/../uml/uml.0"
    res = vizlib("parse", given, "--format", "json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert set(PARSE_COLUMNS) <= set(rows[0])
    assert {r["file"] for r in rows} == {given}
    # data/raw-lmbench-lab/uml/uml.0 line 436: "2 40.18" in the "size=0k block
    (row,) = [r for r in rows if r["line"] == 436]
    assert (row["metric"], row["param"], row["value"], row["unit"]) == ("ctx_switch", "2p/0K", 40.18, "us")


def test_parse_absolute_path_and_default_format(tmp_path):
    copy = tmp_path / "run 1.txt"  # a space in the name
    shutil.copy(RAW / "tcg" / "tcg.1", copy)
    res = vizlib("parse", copy)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0])[:6] == PARSE_COLUMNS
    assert {r["file"] for r in rows} == {str(copy)}


def test_parse_rejected_and_invalid_inputs_exit_1():
    res = vizlib("parse", BAD / "empty.txt", "data/raw-lmbench-lab/host/host.4", BAD / "invalid_values.txt")
    assert res.returncode == 1
    assert f"{BAD / 'empty.txt'}:0: empty file" in res.stderr
    assert f"invalid: {BAD / 'invalid_values.txt'}:2:" in res.stderr
    files = {r["file"] for r in csv.DictReader(io.StringIO(res.stdout))}
    assert files == {"data/raw-lmbench-lab/host/host.4", str(BAD / "invalid_values.txt")}  # the good values still printed


def test_ingest_exit_codes(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)

    out = tmp_path / "out"
    res = vizlib("ingest", "--raw", raw, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "ingested 8 of 8 files" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == ["environments.toml", "ingest_cache.json", "ingest_issues.csv",
                                                     "lmbench_runs.csv", "lmbench_tidy", "provenance.json"]

    shutil.copy(BAD / "not_lmbench.txt", raw / "tcg" / "notes.txt")
    out2 = tmp_path / "out2"
    res = vizlib("ingest", "--raw", raw, "--out", out2)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "tcg/notes.txt" in res.stdout
    assert (out2 / "lmbench_tidy" / "tcg.csv").is_file()  # everything that could be written was written


def test_ingest_bad_manifest_exit_2_nothing_written(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    toml = raw / "environments.toml"
    toml.write_text(toml.read_text().replace('baseline = "host"\ntechnology = "qemu-tcg"',
                                             'baseline = "nowhere"\ntechnology = "qemu-tcg"'))
    assert 'baseline = "nowhere"' in toml.read_text()
    out = tmp_path / "out"
    res = vizlib("ingest", "--raw", raw, "--out", out)
    assert res.returncode == 2, res.stdout + res.stderr
    assert str(toml) in res.stderr and "'nowhere' is not in the manifest" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("args", [["parse"], ["ingest", "--jobs", "many"], ["frobnicate"]])
def test_usage_errors_exit_2(args):
    assert vizlib(*args).returncode == 2
