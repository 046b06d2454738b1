"""The benchmark script keeps working (its figures are not asserted: timing belongs to `make bench`)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_smoke_run(tmp_path):
    result = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--quick", "--only", "parse,startup,hostile", "--sizes", "100",
         "--cache", str(tmp_path / "cache"), "--results", str(result)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = result.read_text()
    assert "import vizlib" in text and "files/s" in text
