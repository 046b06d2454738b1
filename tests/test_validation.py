"""The validation: measured application slowdowns from the shipped lab timings, beside both models."""

from __future__ import annotations

import re
import shutil
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vizlib import inputs as inputs_mod, manifest as manifest_mod, paths, tables, validation, validation_data
from vizlib.errors import AppProfileError

VALIDATION = paths.PROJECT_ROOT / "data" / "validation"
ELAPSED = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)")


def wall_seconds(path: Path) -> float:
    """Independent of vizlib's parser: the elapsed line of a GNU time -v file."""
    h, m, s = ELAPSED.search(path.read_text()).groups()
    return int(h or 0) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    man = manifest_mod.load(paths.RAW)
    data = validation_data.load(VALIDATION, man.environments)
    inputs = inputs_mod.load_inputs(tmp_path_factory.mktemp("processed"), paths.RAW, n_boot=400)
    table = validation.validation_table(data, inputs, n_boot=400)
    return man, data, table


def test_the_shipped_validation_covers_six_apps_in_three_environments(shipped):
    man, data, table = shipped
    assert not data.problems
    assert table["app"].nunique() >= 6 and table["environment"].nunique() >= 3
    assert (table["n_virtual"] >= 5).all() and (table["n_baseline"] >= 5).all()
    both = table["share_estimate"].notna() & table["count_estimate"].notna()
    assert both.mean() >= 0.8


def test_every_measured_slowdown_is_the_ratio_of_median_wall_times_of_the_raw_files(shipped):
    man, _data, table = shipped
    for r in table.itertuples(index=False):
        v = [wall_seconds(p) for p in sorted((VALIDATION / r.environment / r.app).glob("*.time-v.txt"))]
        b = [wall_seconds(p) for p in sorted((VALIDATION / r.baseline / r.app).glob("*.time-v.txt"))]
        assert (len(v), len(b)) == (r.n_virtual, r.n_baseline)
        assert r.measured_slowdown == pytest.approx(statistics.median(v) / statistics.median(b), rel=1e-12)
        assert r.measured_ci_low <= r.measured_ci_high


def test_measured_interval_holds_its_claim_on_simulated_repetitions():
    """Five log-normal repetitions a side around a known ratio: the 95% interval contains it ~95% of the time."""
    class Data:  # the one method measured_slowdowns uses, fed simulated wall times
        apps = ["a"]

        def __init__(self, v, b):
            self.v, self.b = v, b

        def elapsed(self, env, app):
            return self.v if env == "v" else self.b

    man = manifest_mod.Manifest(Path("m"), {"b": manifest_mod.Environment("b", "physical", "physical", None),
                                            "v": manifest_mod.Environment("v", "virtual", "other", "b")})
    rng = np.random.default_rng(3)
    inside = 0
    for i in range(300):
        v = list(2.0 * np.exp(0.1 * rng.standard_normal(5)))
        b = list(1.0 * np.exp(0.1 * rng.standard_normal(5)))
        r = validation.measured_slowdowns(Data(v, b), man, n_boot=400, seed=i).iloc[0]
        inside += r.measured_ci_low <= 2.0 <= r.measured_ci_high
    assert inside / 300 >= 0.9


def test_summary_scores_are_what_they_say():
    t = pd.DataFrame({"environment": ["e"] * 4, "app": list("abcd"), "measured_slowdown": [1.0, 2.0, 4.0, 10.0],
                      "share_estimate": [1.1, 3.0, 4.0, np.nan], "share_ci_low": [1.0, 2.5, 5.0, np.nan],
                      "share_ci_high": [1.2, 3.5, 6.0, np.nan], "count_estimate": [1.0, 2.0, 4.0, 10.0],
                      "count_ci_low": np.nan, "count_ci_high": np.nan})
    s = validation.summary(t).set_index(["model", "environment"])
    share = s.loc[("share", "e")]
    errors = sorted(abs(np.log(x)) for x in (1.1, 1.5, 1.0))
    assert share["median_abs_log_error"] == pytest.approx(errors[1])
    assert share["within_25pct"] == pytest.approx(2 / 3)  # 1.1 and 4.0 are within 25%; 3.0 vs 2.0 is not
    assert share["interval_covers_measured"] == pytest.approx(1 / 3)  # only [1.0, 1.2] holds its measurement
    assert share["estimates_missing"] == 1
    count = s.loc[("count", "e")]
    assert count["median_abs_log_error"] == 0 and count["within_25pct"] == 1
    assert np.isnan(count["interval_covers_measured"])


def test_bad_files_are_left_out_with_file_and_line(tmp_path):
    src = VALIDATION
    folder = tmp_path / "validation"
    shutil.copytree(src / "host" / "xz", folder / "host" / "xz")
    first = sorted((folder / "host" / "xz").glob("*.time-v.txt"))
    first[0].write_text("\tUser time (seconds): banana\n")
    text = first[1].read_text()
    first[1].write_text(re.sub(r"Exit status: \d+", "Exit status: 3", text))
    before = {p.name: p.read_bytes() for p in (folder / "host" / "xz").iterdir()}
    data = validation_data.load(folder, ["host"])
    assert len(data.repetitions) == len(first) - 2
    assert any(f"host/xz/{first[0].name}:1" in p and "banana" in p for p in data.problems)
    assert any(f"host/xz/{first[1].name}" in p and "status 3" in p for p in data.problems)
    assert {p.name: p.read_bytes() for p in (folder / "host" / "xz").iterdir()} == before  # only read


def test_a_raw_folder_without_timings_says_so(tmp_path):
    from vizlib import notebook

    ctx = notebook.setup("data/raw", str(tmp_path / "p"))
    check = validation.check(ctx, str(tmp_path / "nothing-here"))
    assert check.table is None and "No application timings" in check.status


def test_a_strace_that_does_not_parse_is_named(tmp_path):
    folder = tmp_path / "validation"
    (folder / "host" / "xz").mkdir(parents=True)
    (folder / "host" / "xz" / "strace.txt").write_text("not strace\n")
    with pytest.raises(AppProfileError, match="host/xz/strace.txt"):
        validation_data.read_strace(folder / "host" / "xz" / "strace.txt", folder)


@pytest.mark.slow
def test_the_report_writes_validation_csv(shipped_report):
    folder, _ = shipped_report
    t = tables.read_table(folder / "processed" / tables.VALIDATION)
    assert tuple(t.columns) == tables.VALIDATION_COLUMNS
    assert t["app"].nunique() >= 6 and t["environment"].nunique() >= 3
    assert (folder / "06_validation.html").is_file()


def test_each_raw_folder_has_its_own_default_validation_folder(tmp_path):
    assert validation_data.default_folder(tmp_path / "raw") == (tmp_path / "validation").resolve()
    assert validation_data.default_folder(tmp_path / "raw-lmbench-lab") == (tmp_path / "validation-lmbench-lab").resolve()
    assert validation_data.default_folder(tmp_path / "mine") == (tmp_path / "validation").resolve()


def test_timings_of_another_boot_than_the_lmbench_runs_are_left_out(tmp_path):
    man = manifest_mod.load(paths.RAW)
    boot = man.environments["host"].extra.get("boot_id")
    if not boot:
        pytest.skip("the shipped manifest records no boot_id")
    folder = tmp_path / "validation"
    shutil.copytree(VALIDATION / "host", folder / "host")
    assert not validation_data.load(folder, man.environments).problems
    meta = folder / "host" / "meta.txt"
    meta.write_text(meta.read_text().replace(boot, "00000000-0000-0000-0000-000000000000"))
    data = validation_data.load(folder, man.environments)
    assert not data.repetitions
    assert any("host/meta.txt:" in p and "another session" in p for p in data.problems)
    assert validation_data.load(folder, ["host"]).repetitions  # names only: no session to check
