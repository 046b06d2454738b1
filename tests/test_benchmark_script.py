"""The benchmark script keeps working (its figures are not asserted: timing belongs to `make bench`),
and the parts that judge correctness do: the incremental section's check that a re-ingest equals a
full ingest, the explorer child on the current modules, getsummary's runner."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LMBENCH_SCRIPTS"}
    env.update(extra)
    return env


@pytest.mark.slow
def test_bench_quick_smoke_run(tmp_path):
    result = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--quick", "--only", "parse,startup,hostile", "--sizes", "100",
         "--cache", str(tmp_path / "cache"), "--results", str(result)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = result.read_text()
    assert "import vizlib" in text and "files/s" in text
    assert "error" not in text.lower(), text


def test_getsummary_section_without_an_lmbench_tree_says_how_to_give_one(tmp_path):
    result = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, "benchmarks/bench.py", "--quick", "--only", "getsummary", "--cache",
                           str(tmp_path / "cache"), "--results", str(result)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = result.read_text()
    assert "n/a: no lmbench source tree given" in text and "LMBENCH_SCRIPTS=" in text


@pytest.mark.slow
def test_explorer_child_runs_on_the_current_modules(tmp_path):
    """The `model` section's child (it imported the removed vizlib.model before): every environment
    shown, every figure present."""
    proc = subprocess.run([sys.executable, "benchmarks/bench.py", "--child", "model", str(ROOT / "data" / "raw"),
                           str(tmp_path / "processed")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in data and "explorer_error" not in data, data
    assert data["ex_shown"] == data["environments"] == 3
    for key in ("load_s", "slider_s", "estimate_s", "ex_model_s", "ex_table_s", "ex_draw_s"):
        assert data[key] > 0, key


@pytest.mark.slow
def test_incremental_section_checks_the_re_ingest_against_a_full_one(tmp_path, monkeypatch):
    from benchmarks import bench, fleet

    raw = fleet.build_fleet(120, tmp_path / "cache", n_envs=20)
    files = fleet.fleet_files(raw)
    monkeypatch.setattr(bench, "_corpus_fleet", lambda ctx: (raw, files, 0, "test fleet"))
    ctx = bench.Context([100], 1, 20.0, True, tmp_path / "cache", tmp_path / "work", {"incremental"})
    ctx.work.mkdir()
    sec = bench.bench_incremental(ctx)
    rows = {r.figure: r for r in sec.rows}
    same = rows["tables of the re-ingest = a full ingest of the same folder (`--full`)"]
    assert (same.value, same.status) == ("yes", "PASS")
    assert "parsed 1 new or changed files, reused 120" in rows["ingest again after adding one run"].note
    assert rows["re-ingest / first ingest, median of the repetitions"].status in ("PASS", "MISS")
    assert sorted(p.name for p in fleet.fleet_files(raw)) == sorted(p.name for p in files)  # the fleet untouched


@pytest.mark.slow
def test_getsummary_runner_on_a_few_corpus_files(tmp_path):
    from benchmarks import fleet, getsummary

    if not getsummary.LMBENCH_TARBALL.is_file() and not any(getsummary.DEFAULT_SRC_CACHE.glob("*/scripts")):
        pytest.skip(f"no lmbench source: {getsummary.LMBENCH_TARBALL}")
    if shutil.which("perl") is None:
        pytest.skip("no perl")
    sources = fleet.corpus_sources()
    if not sources:
        pytest.skip("no lmbench corpus in ../shared")
    for i, src in enumerate(sources[:12]):
        (tmp_path / f"r{i}").write_bytes(src.data)
    files = sorted(tmp_path.glob("r*"))
    run = getsummary.run_getsummary(getsummary.lmbench_scripts(), files)
    assert run.files == 12 and run.host_rows >= 10 and run.wall > 0
