"""vizlib.report (the batch report) and vizlib.notebook (the notebooks' setup helpers).

One full report on the shipped data is built once per test session (``shipped_report`` in
conftest) and every assertion about its output reuses it. Validation tests prove nothing runs by replacing the executor with one that
fails the test. Failure, timeout, injection and lock tests use tiny notebooks written to tmp.
"""

from __future__ import annotations

import hashlib
import html.parser
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vizlib import __version__, cli, notebook, paths, report, views
from vizlib.errors import ManifestError, NormaliseError, ReportError, UsageError

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"
NOTEBOOKS = report.discover_notebooks()


# --- helpers ------------------------------------------------------------------------------------------

def write_notebook(path: Path, *cells) -> Path:
    """A notebook from ("md"|"code"|"params", source) pairs, kernelspec python3."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, src in cells:
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        if kind == "params":
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def tiny_notebook(folder: Path, name="01_tiny.ipynb") -> Path:
    return write_notebook(folder / name,
                          ("md", "# tiny"),
                          ("params", 'label: str = "x"  # any text\nraw_dir: str = "data/raw"  # raw folder'),
                          ("code", "print(repr(label))"))


class Links(html.parser.HTMLParser):
    """Every URL-bearing attribute of an HTML document."""

    ATTRS = {"src", "href", "action", "data", "poster", "srcset", "formaction"}

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in self.ATTRS and v]


def external(url: str) -> bool:
    return bool(re.match(r"^\s*(https?:)?//", url, re.I))


@pytest.fixture
def no_run(monkeypatch):
    """Any notebook execution fails the test: validation must stop everything before."""
    def boom(*args, **kwargs):
        raise AssertionError("a notebook ran although validation should have stopped the report")

    monkeypatch.setattr(report, "_execute", boom)


def run_cli(tmp_path, *args):
    return cli.main(["report", "--reports-dir", str(tmp_path / "reports"), *args])


# --- the full report, built once -------------------------------------------------------------------------

@pytest.fixture
def built(shipped_report):
    return shipped_report


@pytest.mark.slow
def test_report_folder_layout(built):
    folder, lines = built
    assert folder.name == "shipped" and (folder / "index.html").is_file()
    for nb in NOTEBOOKS:
        assert (folder / nb.name).is_file(), nb.name
        assert (folder / f"{nb.stem}.html").is_file(), nb.stem
    assert {"lmbench_tidy", "overhead.csv", "category_summary.csv"} <= {p.name for p in (folder / "processed").iterdir()}
    leftovers = [p.name for p in folder.parent.iterdir() if p.name != "shipped"]
    assert leftovers == [], "no staging folder, lock or .failed left behind"
    timed = [ln for ln in lines if re.search(r"\.ipynb\s+\d+\.\d s", ln)]
    assert len(timed) == len(NOTEBOOKS)
    assert any("notebook execution" in ln and "HTML export" in ln for ln in lines)


@pytest.mark.slow
def test_index_has_provenance_and_every_input_sha256(built):
    folder, _ = built
    index = (folder / "index.html").read_text()
    for f in sorted(p for p in RAW.glob("*/*") if p.is_file()):
        assert hashlib.sha256(f.read_bytes()).hexdigest() in index, f
        assert f.relative_to(RAW).as_posix() in index
    assert f"vizlib {__version__}" in index
    assert re.search(r"git commit</td><td><span class=\"mono\">([0-9a-f]{40}( \(dirty\))?|unknown)<", index)
    assert "Rejected files" in index and "None: every file was read" in index
    for nb in NOTEBOOKS:
        assert f'href="{nb.stem}.html"' in index and f'href="{nb.name}"' in index
    linked = set(re.findall(r'href="processed/([^"]+)"', index))  # every table the report used, tidy files too
    on_disk = {p.relative_to(folder / "processed").as_posix() for p in (folder / "processed").rglob("*.csv")}
    assert linked == on_disk and "lmbench_tidy/host.csv" in linked


@pytest.mark.slow
def test_no_absolute_path_of_this_machine_anywhere(built):
    folder, _ = built
    for f in folder.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="replace")
            assert str(ROOT) not in text, f"{f.name} names the project's absolute path"
            assert str(folder.parent) not in text, f"{f.name} names where the (tmp) reports folder is"
    nb = nbformat.read(str(folder / "02_overhead.ipynb"), as_version=4)
    injected = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    # the reports folder is outside the project here: shortened to its name, and the staging folder is gone
    assert "staging" not in injected and 'processed_dir = "\u2026/processed"' in injected
    assert report.shown_path(RAW) == "data/raw" and report.shown_path("/elsewhere/raw") == "\u2026/raw"


@pytest.mark.slow
def test_html_is_self_contained(built):
    folder, _ = built
    for page in [folder / "index.html", *(folder / f"{nb.stem}.html" for nb in NOTEBOOKS)]:
        parser = Links()
        text = page.read_text()
        parser.feed(text)
        bad = [u for u in parser.urls if external(u)]
        assert not bad, f"{page.name} loads or links {bad}"
        assert "cdnjs" not in text and "unpkg" not in text, page.name
    for nb in NOTEBOOKS:
        executed = nbformat.read(str(folder / nb.name), as_version=4)
        pngs = sum("image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))
        page = (folder / f"{nb.stem}.html").read_text()
        assert page.count("data:image/png;base64,") >= pngs
    assert (folder / "02_overhead.html").read_text().count("data:image/png;base64,") >= 5


@pytest.mark.slow
def test_html_hides_code_and_ipynb_keeps_it(built):
    folder, _ = built
    page = (folder / "02_overhead.html").read_text()
    assert "notebook.setup(" not in page and "normalise_tables" not in page
    nb = nbformat.read(str(folder / "02_overhead.ipynb"), as_version=4)
    assert any("notebook.setup(" in c.source for c in nb.cells)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert any("injected-parameters" in t for t in tags)
    meta = nb.metadata.papermill
    assert meta.input_path == "notebooks/02_overhead.ipynb" and meta.output_path == "02_overhead.ipynb"
    assert meta.parameters["raw_dir"] == "data/raw"
    assert not Path(meta.parameters["processed_dir"]).is_absolute()


@pytest.mark.slow
def test_rerun_replaces_a_report_only_when_complete(built, tmp_path):
    """A failing rerun leaves the previous report intact and keeps its own partial output aside."""
    folder, _ = built
    reports = tmp_path / "reports"
    shutil.copytree(folder, reports / "shipped")
    before = (reports / "shipped" / "index.html").read_text()
    broken = write_notebook(tmp_path / "02_broken.ipynb",
                            ("md", "# broken"),
                            ("params", 'raw_dir: str = "data/raw"  # raw folder'),
                            ("code", "x = 1"),
                            ("code", 'raise ValueError("boom in the fourth cell")'),
                            ("code", "print('never')"))
    with pytest.raises(ReportError) as info:
        report.run_report(RAW, name="shipped", reports_dir=reports, notebooks=[tiny_notebook(tmp_path), broken],
                          progress=None)
    msg = str(info.value)
    assert "02_broken.ipynb" in msg and "cell 4" in msg and "ValueError: boom in the fourth cell" in msg
    assert "\n" not in msg
    assert info.value.notebook == "02_broken.ipynb" and info.value.cell == 4
    assert (reports / "shipped" / "index.html").read_text() == before
    failed = reports / "shipped.failed"
    assert (failed / "01_tiny.ipynb").is_file() and (failed / "01_tiny.html").is_file()
    partial = nbformat.read(str(failed / "02_broken.ipynb"), as_version=4)
    assert any(o.output_type == "error" for c in partial.cells for o in c.get("outputs", []))
    assert "FAILED" in (failed / "index.html").read_text()
    assert sorted(p.name for p in reports.iterdir()) == ["shipped", "shipped.failed"]


# --- validation: exit 2, nothing runs ----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--name", "../escape"], "report name"),
    (["--name", "a b"], "report name"),
    (["-p", "no_such_parameter", "1"], "unknown parameter 'no_such_parameter'"),
    (["-p", "seed", "abc"], "seed is an int"),
    (["-p", "n_boot", "1.5"], "n_boot is an int"),
    (["-p", "raw_dir", "elsewhere"], "set by the report"),
    (["-p", "processed_dir", "elsewhere"], "set by the report"),
    (["-p", "environments", "host,atlantis"], "unknown environment(s) atlantis"),
    (["-p", "environments", '"; import os; os.system("touch /tmp/pwned"); "'], "unknown environment"),
])
def test_invalid_arguments_exit_2_before_anything_runs(args, message, tmp_path, capsys, no_run):
    assert run_cli(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    reports = tmp_path / "reports"
    assert not reports.exists() or list(reports.iterdir()) == []


def test_bad_raw_folder_exits_2(tmp_path, capsys, no_run):
    (tmp_path / "raw").mkdir()
    assert run_cli(tmp_path, "--raw", str(tmp_path / "raw")) == 2
    assert "no manifest" in capsys.readouterr().err
    with pytest.raises(ManifestError):
        report.run_report(tmp_path / "raw", reports_dir=tmp_path / "reports")


@pytest.mark.parametrize("value, kind, expected", [
    ("7", "int", 7), ("007", "str", "007"), ("1e-3", "float", 0.001), ("true", "bool", True), ("No", "bool", False),
    ('a "quoted"\nline\\ with é', "str", 'a "quoted"\nline\\ with é'),
])
def test_convert_value(value, kind, expected):
    assert report.convert_value("p", value, kind) == expected


@pytest.mark.parametrize("value, kind", [("maybe", "bool"), ("1.5", "int"), ("x", "float"), ("1", "list")])
def test_convert_value_refuses(value, kind):
    with pytest.raises(UsageError):
        report.convert_value("p", value, kind)


def test_parameters_of_reads_every_line_papermill_does_and_more(tmp_path):
    nb = write_notebook(tmp_path / "01_p.ipynb", ("params", 'mix: str = "cpu=0.5,memory=0.5"  # shares, a=b\n'
                                                            "n: int = 3  # count\nplain = 1"))
    params = report.parameters_of(nb)
    assert params["mix"] == {"type": "str", "default": "'cpu=0.5,memory=0.5'", "help": "shares, a=b"}
    assert params["n"]["type"] == "int" and params["plain"]["type"] == "None"
    for path in NOTEBOOKS:
        assert set(report.parameters_of(path)) >= {"raw_dir", "processed_dir"}, path.name


@pytest.mark.slow
def test_string_parameters_cannot_execute_code(tmp_path):
    """papermill writes str parameters as escaped literals: quotes, backslashes and newlines stay data."""
    evil = [f'"; import os; os.system("touch {tmp_path}/pwned1"); "',
            f"\\\"; open('{tmp_path}/pwned2', 'w'); x = \"",
            f"'''\nopen('{tmp_path}/pwned3', 'w')\n#",
            f"{{__import__('os').system('touch {tmp_path}/pwned4')}}"]
    nb = tiny_notebook(tmp_path)
    for i, value in enumerate(evil):
        folder = report.run_report(RAW, name=f"inj{i}", parameters={"label": value}, reports_dir=tmp_path / "r",
                                   notebooks=[nb], progress=None)
        out = nbformat.read(str(folder / nb.name), as_version=4)
        printed = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
        assert printed == repr(value) + "\n"
    assert not list(tmp_path.glob("pwned*"))


# --- failures and timeouts --------------------------------------------------------------------------------

@pytest.mark.slow
def test_failing_notebook_exits_1_naming_notebook_and_cell(tmp_path, monkeypatch, capsys):
    broken = write_notebook(tmp_path / "01_broken.ipynb",
                            ("params", 'raw_dir: str = "data/raw"  # raw folder'),
                            ("code", "1 / 0"))
    monkeypatch.setattr(report, "discover_notebooks", lambda folder=None: [broken])
    assert run_cli(tmp_path, "--name", "bad") == 1
    err = capsys.readouterr().err
    assert "01_broken.ipynb" in err and "cell 2" in err and "ZeroDivisionError" in err
    assert (tmp_path / "reports" / "bad.failed" / "01_broken.ipynb").is_file()
    assert not (tmp_path / "reports" / "bad").exists()


@pytest.mark.slow
def test_timeout_is_judged_by_the_exception(tmp_path):
    slow = write_notebook(tmp_path / "01_slow.ipynb",
                          ("params", 'raw_dir: str = "data/raw"  # raw folder'),
                          ("code", "import time\ntime.sleep(60)"))
    with pytest.raises(ReportError, match=r"01_slow.ipynb timed out: cell 2 \(import time\) ran longer than 2 s"):
        report.run_report(RAW, name="slow", reports_dir=tmp_path / "r", notebooks=[slow], progress=None, timeout=2)
    assert (tmp_path / "r" / "slow.failed" / "01_slow.ipynb").is_file()


@pytest.mark.slow
def test_missing_representative_fails_in_the_setup_cell_with_one_line(tmp_path):
    """rpc latencies are absent from the lab runs (no portmapper): 02 stops at its setup cell, not in a plot."""
    with pytest.raises(ReportError) as info:
        report.run_report(RAW, name="rep", reports_dir=tmp_path / "r", notebooks=[ROOT / "notebooks" / "02_overhead.ipynb"],
                          parameters={"representatives": "network:rpc_tcp_latency"}, progress=None)
    msg = str(info.value)
    assert "02_overhead.ipynb failed at cell 3" in msg and "NormaliseError" in msg and "rpc_tcp_latency" in msg


# --- one report per name ---------------------------------------------------------------------------------------

def test_a_live_lock_refuses_the_second_report(tmp_path, capsys, no_run):
    reports = tmp_path / "reports"
    reports.mkdir()
    holder = subprocess.Popen(["sleep", "30"])
    try:
        (reports / ".default.lock").write_text(f"{holder.pid}\n")
        assert run_cli(tmp_path) == 2
        err = capsys.readouterr().err
        assert f"being built by process {holder.pid}" in err and err.count("\n") == 1
        assert (reports / ".default.lock").read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_a_stale_lock_is_taken_over_and_released(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (reports / ".t.lock").write_text(f"{gone.pid}\n")
    (reports / f".t.staging-{gone.pid}").mkdir()  # left by the dead builder
    report.run_report(RAW, name="t", reports_dir=reports, notebooks=[tiny_notebook(tmp_path)], progress=None)
    assert sorted(p.name for p in reports.iterdir()) == ["t"]


# --- notebook helpers -------------------------------------------------------------------------------------------

def test_resolve_dirs_and_rel(tmp_path):
    assert notebook.resolve_dirs("data/raw", "") == (paths.RAW, paths.PROCESSED)
    raw, processed = notebook.resolve_dirs(str(tmp_path / "myraw"), "")
    assert raw == tmp_path / "myraw"
    assert processed.parent == paths.PROCESSED / "by-raw" and processed.name.startswith("myraw-")
    assert notebook.resolve_dirs("data/raw", "out/x")[1] == paths.PROJECT_ROOT / "out" / "x"
    assert notebook.rel(paths.RAW) == "data/raw"
    outside = notebook.rel(tmp_path / "r")
    assert not outside.startswith("/") and paths.resolve(outside).resolve() == (tmp_path / "r").resolve()


def _raw_copy(tmp_path, empty=()):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    for name in empty:
        for f in (raw / name).iterdir():
            f.unlink()
    return raw


def test_setup_fails_early_when_a_baseline_has_no_runs(tmp_path):
    raw = _raw_copy(tmp_path, empty=["host"])
    with pytest.raises(NormaliseError) as info:
        notebook.setup(str(raw), str(tmp_path / "p"))
    assert "baseline 'host'" in str(info.value) and "\n" not in str(info.value)


def test_setup_fails_early_when_an_environment_shares_nothing_with_its_baseline(tmp_path):
    """A virtual environment whose runs measured only items its baseline did not (found with files
    published by others: lat_mem_rd-only cloud runs against a results file) cannot be compared; the
    notebooks stop at setup with one line naming both, instead of failing later in the model."""
    raw = _raw_copy(tmp_path, empty=["tcg"])
    (raw / "tcg" / "tcg.only-rpc").write_text("RPC/udp latency using localhost: 55.2 microseconds\n"
                                              "Fcntl lock latency: 2.5 microseconds\n")
    with pytest.raises(NormaliseError) as info:
        notebook.setup(str(raw), str(tmp_path / "p"))
    assert "'tcg' and its baseline 'host' have no lmbench item" in str(info.value) and "\n" not in str(info.value)


def test_setup_validates_parameters(tmp_path):
    processed = str(tmp_path / "p")
    with pytest.raises(UsageError, match="unknown environment"):
        notebook.setup("data/raw", processed, "host,nowhere")
    with pytest.raises(UsageError, match="category:metric"):
        notebook.setup("data/raw", processed, representatives="mmap_latency")
    with pytest.raises(UsageError, match="unknown metric id"):
        notebook.setup("data/raw", processed, representatives="disk:no_such_metric")
    with pytest.raises(UsageError, match="metrics"):
        notebook.setup("data/raw", processed, metrics="pagefault, bogus")
    with pytest.raises(NormaliseError, match="measured in no environment"):
        notebook.setup("data/raw", processed, representatives="network:rpc_udp_latency")
    ctx = notebook.setup("data/raw", processed, "tcg", representatives="disk:mmap_latency@0.524288",
                       metrics="pagefault, mmap_latency@*")
    assert ctx.order == ["host", "tcg"] and ctx.virtual == ["tcg"]
    assert ctx.representatives["disk"] == ("mmap_latency", "0.524288")
    assert ctx.metrics == [("pagefault", None), ("mmap_latency", "*")]


def test_setup_reingests_only_when_the_raw_folder_changed(tmp_path):
    raw = _raw_copy(tmp_path)
    processed = tmp_path / "p"
    first = notebook.setup(str(raw), str(processed))
    assert first.ingested is not None
    assert notebook.setup(str(raw), str(processed)).ingested is None
    (raw / "container" / "container.1").unlink()
    again = notebook.setup(str(raw), str(processed))
    assert again.ingested is not None and "container/container.1" not in set(again.runs["run"])


def test_index_escapes_every_string(tmp_path):
    raw = _raw_copy(tmp_path)
    toml = raw / "environments.toml"
    toml.write_text(toml.read_text().replace('kernel = "6.1.176"', 'kernel = "<script>alert(1)</script>"'))
    folder = tmp_path / "rep"
    (folder / "processed").mkdir(parents=True)
    (folder / "processed" / "lmbench_runs.csv").write_text(
        "environment,run,status,format,sha256,bytes\nhost,host/<img src=x onerror=alert(2)>,rejected,,ab,3\n")
    (folder / "processed" / "ingest_issues.csv").write_text(
        "environment,run,line,kind,reason,text\nhost,host/<img src=x onerror=alert(2)>,0,rejected,<b>bad</b> & worse,\n")
    from vizlib import manifest

    report.write_index(folder, name="x", raw=raw, man=manifest.load(raw), parameters={"label": "<i>p</i>"},
                       notebooks=[], timings={})
    page = (folder / "index.html").read_text()
    for raw_text in ("<script>alert(1)", "<img src=x", "<b>bad</b>", "<i>p</i>"):
        assert raw_text not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;bad&lt;/b&gt; &amp; worse" in page


def test_git_revision_format():
    rev = report.git_revision()
    assert rev == "unknown" or re.fullmatch(r"[0-9a-f]{40}( \(dirty\))?", rev)


def test_html_export_template_drops_every_cdn(tmp_path):
    nb = write_notebook(tmp_path / "m.ipynb", ("md", "math $x^2$ and a diagram"), ("code", "1"))
    doc = nbformat.read(str(nb), as_version=4)
    doc.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
                                                                             "state": {}}}
    nbformat.write(doc, str(nb))
    report.export_html(nb, tmp_path / "m.html")
    page = (tmp_path / "m.html").read_text()
    parser = Links()
    parser.feed(page)
    assert not [u for u in parser.urls if external(u)]
    for cdn in ("cdnjs", "unpkg", "jsdelivr", "mathjax", "require.min.js", "mermaid"):
        assert cdn not in page.lower(), cdn


def test_table_escapes_and_says_when_empty():
    import pandas as pd

    page = views.table(pd.DataFrame({"<b>host</b>": ["<script>x</script>"]}, index=["<i>r</i>"]), index=True).to_html()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "<b>host" not in page and "<i>r" not in page
    assert "No file was rejected." in views.table(pd.DataFrame(), empty="No file was rejected.").data
    assert "first 3 of 5 rows" in views.table(pd.DataFrame({"a": range(5)}), max_rows=3).to_html()


def test_tables_keep_numbers_as_numbers():
    """Display formats numbers; the frame underneath keeps them (a reader can sort the Styler's data)."""
    import pandas as pd

    df = pd.DataFrame({"env": ["a", "b"], "slowdown": [1.23456, 644.0], "n": [2, 3]})
    styler = views.table(df)
    assert styler.data["slowdown"].dtype == float and styler.data["n"].dtype == "int64"
    page = styler.to_html()
    assert ">1.23<" in page and ">644<" in page and 'class="data row0 col1 vz-num"' in page.replace("  ", " ")


def test_display_views(tmp_path):
    from vizlib import functional, tables as tables_mod

    ctx = notebook.setup("data/raw", str(tmp_path / "p"), "uml")
    tables = notebook.normalise_tables(ctx, n_boot=50)
    assert {p.name for p in (tmp_path / "p").glob("*.csv")} >= {"overhead.csv", "category_summary.csv"}
    grid = views.summary_grid(tables["category_summary"], environments=ctx.virtual)
    assert list(grid.index)[0] == "cpu" and ("uml", "slowdown") in grid.columns
    assert grid[("uml", "slowdown")].dtype == float
    summary = views.summary_table(tables["category_summary"], environments=ctx.virtual).to_html()
    assert "not measured" not in summary and "uml" in summary
    missing = views.missing_summary(tables["missing_metrics"], ctx.order)
    assert missing["n"].sum() == len(ctx.select(tables["missing_metrics"]))
    noisy = views.noisy_table(tables["overhead"], environments=ctx.virtual)
    assert set(noisy["environment"]) <= {"uml"} and noisy["cv_virtual"].notna().any()
    func = views.functional_table(functional.load_functional(), ctx.manifest, ctx.order)
    assert list(func.columns) == ["xen-pv", "xen-hvm", "kvm", "openvz"]
    assert func.loc["live migration", "openvz"].startswith("no")
    assert set(func.loc["measured here"]) == {"(none)"}
    assert list(views.environments_table(ctx.manifest, ctx.order)["environment"]) == ["host", "uml"]
    # the tables 02 wrote are read back with their types
    again = notebook.load_tables(ctx)
    assert str(again["overhead"]["noisy"].dtype) == "boolean" and again["overhead"]["param"].dtype != float
    assert len(again["overhead"]) == len(tables["overhead"])
    assert tables_mod.ANALYSIS_FILES["overhead"] == "overhead.csv"
