"""Safe handling of untrusted raw folders and safe sharing of reports (issue "Reliability and safety").

Part 1, manifest and paths: environment names cannot climb out of the raw folder, symlinks that
lead outside it are rejected (and listed), odd baselines are refused with a clear error.

Part 2, safe sharing: a log whose header and lines carry HTML/JS payloads is kept as *data* in the
tables and rendered inert in every HTML file of the report; no absolute path of this machine ends
up in a report; report parameters cannot inject code into the notebooks papermill runs.

Every raw folder here is built in tmp_path; ``data/raw-lmbench-lab`` is only read.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vizlib import ingest as ingest_mod
from vizlib import manifest as manifest_mod
from vizlib.manifest import ManifestError

from conftest import tidy_rows

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw-lmbench-lab"  # fixed real runs whose files these tests name
LAB = RAW / "host" / "host.3"

HOSTILE_HOSTNAME = "<script>alert(1)</script>"
HOSTILE_MOUNT = "[mount: <img src=x onerror=alert(1)>]"
HOSTILE_UNKNOWN = "Hover <b onmouseover=alert(1)>widget</b> latency: 3.5 microseconds"  # a result line, unknown label
INJECTIONS = [
    '"; import os; os.system("touch PWNED"); "',
    "line one\nimport os\nos.system('touch PWNED')\n",
    "\\\"; import os; os.system('touch PWNED') #",
    "'''; import os; os.system('touch PWNED'); '''",
    "\r\nimport os;os.system('touch PWNED')",
    "\u2028import os;os.system('touch PWNED')",
    "{__import__('os').system('touch PWNED')}",
    "trailing backslash \\",
]


def _manifest_text(envs: dict) -> str:
    """TOML for {name: dict of keys}; names are quoted so any string can be tried."""
    out = []
    for name, table in envs.items():
        out.append(f"[environments.{json.dumps(name)}]")
        out += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out)


PHYSICAL = {"kind": "physical", "technology": "physical"}


def _virtual(baseline):
    return {"kind": "virtual", "technology": "kvm", "baseline": baseline}


def _raw(tmp_path: Path, envs: dict, files: dict | None = None) -> Path:
    """A raw folder: manifest ``envs``, a folder per environment, ``files`` = {relpath: source path or text}."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / manifest_mod.MANIFEST_NAME).write_text(_manifest_text(envs), encoding="utf-8")
    for name in envs:
        with_sep = "/" in name or "\x00" in name or name in ("", ".", "..")
        if not with_sep:
            (raw / name).mkdir(exist_ok=True)
    for rel, src in (files or {}).items():
        dst = raw / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copy(src, dst)
        else:
            dst.write_text(src, encoding="utf-8")
    return raw


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# =====================================================================================================
# 1. Manifest and paths
# =====================================================================================================


@pytest.mark.parametrize("name", ["a/b", "..", "../etc", "a/../../b", "x..y", ".hidden", "", "a b", "a\\b", "-rf",
                                  "/abs", "tab\tname", "nul\x00"])
def test_environment_names_that_could_leave_the_raw_folder_are_refused(name, tmp_path):
    raw = _raw(tmp_path, {"host": PHYSICAL, name: _virtual("host")})
    with pytest.raises(ManifestError) as ei:
        manifest_mod.load(raw)
    assert "environment name" in ei.value.reason and repr(name) in ei.value.reason
    out = tmp_path / "out"
    with pytest.raises(ManifestError):
        ingest_mod.ingest(raw, out, jobs=1)
    assert not out.exists(), "a refused manifest still wrote output"


def test_environment_name_with_a_trailing_newline_is_refused(tmp_path):
    raw = _raw(tmp_path, {"host": PHYSICAL, "vm\n": _virtual("host")})
    with pytest.raises(ManifestError):
        manifest_mod.load(raw)


def test_bad_manifest_exits_2_and_writes_nothing(tmp_path):
    raw = _raw(tmp_path, {"host": PHYSICAL, "../escape": _virtual("host")})
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(out)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 2
    assert "environment name '../escape'" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("envs,fragment", [
    ({"host": PHYSICAL, "vm": _virtual("vm")}, "cannot be its own baseline"),
    ({"host": PHYSICAL, "vm": _virtual("nested"), "nested": _virtual("vm")}, "form a loop"),
    ({"host": PHYSICAL, "vm": _virtual("nowhere")}, "not in the manifest"),
    ({"host": dict(PHYSICAL, baseline="host"), "vm": _virtual("host")}, "physical environment is its own baseline"),
    ({"host": PHYSICAL, "vm": {"kind": "virtual", "technology": "kvm"}}, "needs baseline"),
], ids=["self-baseline", "baseline-loop", "unknown-baseline", "physical-with-baseline", "no-baseline"])
def test_impossible_baselines_are_manifest_errors_with_the_line(envs, fragment, tmp_path):
    raw = _raw(tmp_path, envs)
    with pytest.raises(ManifestError) as ei:
        manifest_mod.load(raw)
    assert fragment in ei.value.reason
    text = (raw / manifest_mod.MANIFEST_NAME).read_text().splitlines()
    assert ei.value.line >= 1 and text[ei.value.line - 1].startswith("[environments.")


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the raw folder, with a perfectly valid lmbench log in it."""
    folder = tmp_path / "outside"
    (folder / "dir").mkdir(parents=True)
    shutil.copy(RAW / "host" / "host.4", folder / "secret.log")
    shutil.copy(RAW / "host" / "host.4", folder / "dir" / "secret2.log")
    return folder


def test_symlink_to_a_file_outside_the_raw_folder_is_rejected_and_the_rest_ingests(tmp_path, outside):
    raw = _raw(tmp_path, {"host": PHYSICAL, "vm": _virtual("host")},
               {"host/host.3": LAB, "vm/vm.0": RAW / "container" / "container.0"})
    (raw / "vm" / "evil").symlink_to(outside / "secret.log")
    (raw / "host" / "up").symlink_to(Path("..") / ".." / "outside" / "secret.log")  # relative, climbing out
    (raw / "vm" / "inside").symlink_to(Path("..") / "host" / "host.3")  # stays inside: allowed
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    rejected = sorted(summary.rejected)
    assert [r.split(":")[0] for r in rejected] == ["host/up", "vm/evil"]
    assert all("symlink" in r for r in rejected)
    runs = {r["run"]: r for r in _read_csv(tmp_path / "out" / ingest_mod.RUNS)}
    assert runs["vm/evil"]["status"] == runs["host/up"]["status"] == "rejected"
    assert runs["vm/evil"]["sha256"] == ""  # the outside file was not even read
    assert runs["host/host.3"]["status"] == runs["vm/vm.0"]["status"] == runs["vm/inside"]["status"] == "ok"
    tidy_runs = {r["run"] for r in tidy_rows(tmp_path / "out")}
    assert tidy_runs == {"host/host.3", "vm/vm.0", "vm/inside"}


def test_environment_folder_that_is_a_symlink_outside_is_rejected_file_by_file(tmp_path, outside):
    raw = _raw(tmp_path, {"host": PHYSICAL, "vm": _virtual("host")}, {"host/host.3": LAB})
    (raw / "vm").rmdir()
    (raw / "vm").symlink_to(outside, target_is_directory=True)
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    assert [r.split(":")[0] for r in summary.rejected] == ["vm"]  # the folder itself, never entered
    assert "symlink" in summary.rejected[0]
    assert summary.per_env_values.get("vm", 0) == 0


def test_dangling_symlink_and_fifo_are_rejected_without_hanging(tmp_path):
    raw = _raw(tmp_path, {"host": PHYSICAL}, {"host/host.3": LAB})
    (raw / "host" / "dangling").symlink_to(tmp_path / "does-not-exist")
    os.mkfifo(raw / "host" / "fifo")  # opening it for reading would block forever
    res = subprocess.run([sys.executable, "-m", "vizlib", "ingest", "--raw", str(raw), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 1, res.stderr
    assert "host/dangling:0: symlink or special file" in res.stdout
    assert "host/fifo:0: symlink or special file" in res.stdout
    assert "ingested 1 of 3 files" in res.stdout


def test_symlink_loop_is_a_rejected_file_not_a_crash(tmp_path):
    raw = _raw(tmp_path, {"host": PHYSICAL}, {"host/host.3": LAB})
    (raw / "host" / "loop1").symlink_to("loop2")
    (raw / "host" / "loop2").symlink_to("loop1")
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    assert sorted(r.split(":")[0] for r in summary.rejected) == ["host/loop1", "host/loop2"]
    assert summary.per_env_values["host"] > 0


def test_directory_symlink_outside_is_listed_as_rejected(tmp_path, outside):
    raw = _raw(tmp_path, {"host": PHYSICAL}, {"host/host.3": LAB})
    (raw / "host" / "more").symlink_to(outside / "dir", target_is_directory=True)
    summary = ingest_mod.ingest(raw, tmp_path / "out", jobs=1)
    assert any(r.startswith("host/more") for r in summary.rejected), summary.rejected


def test_virtual_environment_whose_baseline_has_no_runs(tmp_path):
    """Ingest works (nothing to read for the baseline); normalisation refuses with a clear error."""
    raw = _raw(tmp_path, {"host": PHYSICAL, "vm": _virtual("host")},
               {"vm/vm.0": RAW / "container" / "container.0", "vm/vm.1": RAW / "container" / "container.1"})
    out = tmp_path / "out"
    summary = ingest_mod.ingest(raw, out, jobs=1)
    assert summary.files == 2 and not summary.rejected and summary.per_env_values == {"vm": summary.values}
    from vizlib import normalise, tables
    from vizlib.errors import NormaliseError

    tidy = tables.load_tidy(out)
    with pytest.raises(NormaliseError) as ei:
        normalise.overhead(tidy, manifest_mod.load(raw))
    msg = str(ei.value)
    assert "'host'" in msg and "'vm'" in msg and "no runs" in msg
    res = subprocess.run([sys.executable, "-m", "vizlib", "normalise", "--processed", str(out), "--raw", str(raw)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "baseline 'host'" in res.stderr and "Traceback" not in res.stderr
    assert not (out / tables.OVERHEAD).exists()


# =====================================================================================================
# 2. Safe sharing
# =====================================================================================================


def _hostile_log() -> str:
    text = LAB.read_text()
    assert "[HOSTNAME: vm]" in text and "[mount: proc on /proc type proc (rw,relatime)]" in text
    text = text.replace("[HOSTNAME: vm]", f"[HOSTNAME: {HOSTILE_HOSTNAME}]")
    text = text.replace("[mount: proc on /proc type proc (rw,relatime)]", HOSTILE_MOUNT)
    return text.replace("Pipe bandwidth: 1484.45 MB/sec", "Pipe bandwidth: 1484.45 MB/sec\n" + HOSTILE_UNKNOWN)


def _hostile_raw(tmp_path: Path) -> Path:
    return _raw(tmp_path, {"host": PHYSICAL, "vm": _virtual("host")},
                {"host/host.3": _hostile_log(), "host/host.4": RAW / "host" / "host.4",
                 "vm/vm.0": RAW / "container" / "container.0", "vm/vm.1": RAW / "container" / "container.1"})


def test_hostile_log_is_kept_as_data_in_the_tables(tmp_path):
    raw = _hostile_raw(tmp_path)
    out = tmp_path / "out"
    summary = ingest_mod.ingest(raw, out, jobs=1)
    assert not summary.rejected
    runs = {r["run"]: r for r in _read_csv(out / ingest_mod.RUNS)}
    assert runs["host/host.3"]["hostname"] == HOSTILE_HOSTNAME  # CSV is data: kept verbatim
    assert runs["host/host.3"]["status"] == "ok" and runs["host/host.3"]["unknown_lines"] == "1"
    issues = _read_csv(out / ingest_mod.ISSUES)
    unknown = [i for i in issues if i["kind"] == "unknown"]
    assert [i["text"] for i in unknown] == [HOSTILE_UNKNOWN]
    # '[mount: ...]' is a header line of lmbench's and is not recorded anywhere (not a column, not an issue)
    tidy = tidy_rows(out)
    assert not [r for r in tidy if "alert" in "".join(r.values())]  # never a value, metric or param


class _HtmlAudit(HTMLParser):
    """Collects what would be active in a browser: script texts, event-handler attributes, odd URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[list[str]] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, v in attrs:
            if k in ("onerror", "onmouseover") or (k.startswith("on") and v and "alert" in v):
                self.problems.append(f"<{tag} {k}={v!r}>")
            if v and v.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {k}={v!r}>")
        if tag == "img" and a.get("src") == "x":
            self.problems.append("<img src=x>")
        if tag == "script":
            self._script = []
            self.scripts.append(self._script)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        (self._script if self._script is not None else self.text).append(data)

    def audit(self) -> list[str]:
        out = list(self.problems)
        out += [f"<script> containing {''.join(s)[:80]!r}" for s in self.scripts if "alert(1)" in "".join(s)]
        return out


def _audit_html(html_text: str) -> tuple[list[str], str]:
    p = _HtmlAudit()
    p.feed(html_text)
    p.close()
    return p.audit(), "".join(p.text)


def _html_outputs_of_notebook(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            html_out = o.get("data", {}).get("text/html")
            if html_out:
                out.append("".join(html_out) if isinstance(html_out, list) else html_out)
    return out


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from vizlib import report
    tmp = tmp_path_factory.mktemp("hostile")
    raw = _hostile_raw(tmp)
    before = _raw_snapshot(raw)
    folder = report.run_report(raw, "hostile", parameters=None, reports_dir=tmp / "reports", progress=None)
    assert _raw_snapshot(raw) == before, "the report modified its raw folder"
    return tmp, Path(folder)


def _raw_snapshot(raw: Path) -> dict:
    import hashlib

    return {p.relative_to(raw).as_posix(): (p.stat().st_mtime_ns, p.stat().st_mode,
                                            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "")
            for p in sorted(raw.rglob("*"))}


@pytest.mark.slow
def test_report_of_a_hostile_log_has_nothing_active(hostile_report):
    tmp, folder = hostile_report
    htmls = sorted(folder.glob("*.html"))
    names = [p.name for p in htmls]
    assert "index.html" in names and any(n[:2].isdigit() and n[2] == "_" for n in names), names
    problems, texts = [], []
    for p in htmls:
        found, text = _audit_html(p.read_text(encoding="utf-8"))
        problems += [f"{p.name}: {f}" for f in found]
        texts.append(text)
    for nb in sorted(folder.glob("*.ipynb")):  # Jupyter renders these outputs too
        for i, h in enumerate(_html_outputs_of_notebook(nb)):
            found, text = _audit_html(h)
            problems += [f"{nb.name} output {i}: {f}" for f in found]
            texts.append(text)
    assert not problems, "\n".join(problems[:20])
    # the payloads did reach the report, as visible text: the test exercised them
    assert HOSTILE_HOSTNAME in "".join(texts)
    assert "<b onmouseover=alert(1)>" in "".join(texts)


@pytest.mark.slow
def test_report_html_and_tables_hold_no_absolute_path(hostile_report):
    tmp, folder = hostile_report
    forbidden = [str(ROOT), str(tmp), str(Path(tmp).resolve())]
    leaks = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix != ".ipynb":
            text = p.read_text(encoding="utf-8", errors="replace")
            leaks += [f"{p.relative_to(folder)}: {f}" for f in forbidden if f in text]
    assert not leaks, leaks


@pytest.mark.slow
def test_report_notebooks_hold_no_absolute_path(hostile_report):
    tmp, folder = hostile_report
    forbidden = [str(ROOT), str(tmp), str(Path(tmp).resolve())]
    leaks = []
    for p in sorted(folder.glob("*.ipynb")):
        text = p.read_text(encoding="utf-8")
        leaks += [f"{p.name}: {f}" for f in forbidden if f in text]
    assert not leaks, leaks


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "", "x y", "..", "/tmp/abs"])
def test_report_names_that_are_paths_are_refused_before_anything_runs(name, tmp_path):
    from vizlib import report
    from vizlib.errors import UsageError

    raw = _raw(tmp_path, {"host": PHYSICAL}, {"host/host.3": LAB})
    reports = tmp_path / "reports"
    with pytest.raises(UsageError):
        report.run_report(raw, name, reports_dir=reports, progress=None)
    assert not (reports.exists() and any(reports.iterdir()))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "reports") == ["raw"]  # nothing beside it


# --- parameter injection -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", INJECTIONS, ids=[f"inj{i}" for i in range(len(INJECTIONS))])
def test_papermill_renders_strings_as_inert_literals(value, tmp_path, monkeypatch):
    from papermill.translators import PythonTranslator

    literal = PythonTranslator.translate_str(value)
    assert ast.literal_eval(literal) == value  # a single string literal, nothing else
    source = PythonTranslator.codify({"label": value})
    tree = ast.parse(source)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign)
    assert isinstance(tree.body[0].value, ast.Constant) and tree.body[0].value.value == value
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(tree, "<parameters>", "exec"), namespace)  # what the kernel runs
    assert namespace["label"] == value
    assert not (tmp_path / "PWNED").exists()


def _tiny_notebook(path: Path, extra_params: str = "") -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('label: str = ""  # free text\nother: str = "x"\n' + extra_params)
    params.metadata["tags"] = ["parameters"]
    show = nbformat.v4.new_code_cell("import json, os\nprint(json.dumps([label, other]))\n"
                                     "from IPython.display import HTML, display\nimport html\n"
                                     "display(HTML('<p>' + html.escape(label) + '</p>'))")
    nb.cells = [params, show]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _printed_json(executed: Path):
    nb = json.loads(executed.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if o.get("name") == "stdout":
                return json.loads("".join(o["text"]).strip().splitlines()[0])
    raise AssertionError("no printed output in the executed notebook")


def test_papermill_execution_does_not_run_injected_parameters(tmp_path):
    papermill = pytest.importorskip("papermill")
    nb = tmp_path / "tiny.ipynb"
    _tiny_notebook(nb)
    work = tmp_path / "cwd"
    work.mkdir()
    label, other = INJECTIONS[0], INJECTIONS[1] + INJECTIONS[2]
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(nb), str(out), parameters={"label": label, "other": other}, cwd=str(work),
                               kernel_name="python3", progress_bar=False, log_output=False)
    assert _printed_json(out) == [label, other]
    assert not (work / "PWNED").exists() and not (tmp_path / "PWNED").exists()


def test_report_passes_hostile_parameters_as_data(tmp_path):
    """The suite's own runner, on a tiny notebook: hostile -p values arrive verbatim, execute nothing."""
    from vizlib import report
    nb = tmp_path / "01_tiny.ipynb"
    _tiny_notebook(nb, 'raw_dir: str = "data/raw"\nprocessed_dir: str = ""\n')
    raw = _raw(tmp_path, {"host": PHYSICAL}, {"host/host.3": LAB})
    label = INJECTIONS[0] + " <img src=x onerror=alert(1)>"
    pwned_root = ROOT / "PWNED"
    assert not pwned_root.exists()
    folder = report.run_report(raw, "inject", parameters=[("label", label), ("other", INJECTIONS[1])],
                               reports_dir=tmp_path / "reports", notebooks=[nb], progress=None, timeout=120)
    folder = Path(folder)
    assert _printed_json(folder / "01_tiny.ipynb") == [label, INJECTIONS[1]]
    assert not pwned_root.exists() and not list(tmp_path.rglob("PWNED"))
    for p in folder.glob("*.html"):
        found, _ = _audit_html(p.read_text(encoding="utf-8"))
        assert not found, (p.name, found)
    index_text = _audit_html((folder / "index.html").read_text(encoding="utf-8"))[1]
    assert repr(label) in index_text  # the parameter is shown, as text
