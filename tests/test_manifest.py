"""vizlib.manifest: the raw folder's environments.toml, valid layouts and every error it must report
(ManifestError naming the manifest file and, where one applies, the line of the offending table)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from vizlib import manifest
from vizlib.manifest import ManifestError

from conftest import RAW


def make_raw(tmp_path: Path, toml: str, folders=None) -> Path:
    """A raw folder with the given manifest text and (by default) one folder per [environments.X]."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "environments.toml").write_text(textwrap.dedent(toml).lstrip("\n"), encoding="utf-8")
    if folders is None:
        import tomllib
        folders = list(tomllib.loads(textwrap.dedent(toml)).get("environments", {}))
    for name in folders:
        (raw / name).mkdir(parents=True)
    return raw


GOOD = """
[environments.host]
kind = "physical"
technology = "physical"

[environments.box]
kind = "virtual"
technology = "container"
baseline = "host"
"""


def test_shipped_manifest():
    man = manifest.load(RAW)
    assert list(man.environments) == ["host", "container", "tcg", "uml"]
    assert [e.name for e in man.physical()] == ["host"]
    assert [e.name for e in man.virtual()] == ["container", "tcg", "uml"]
    assert {e.name: e.baseline for e in man.virtual()} == {"container": "host", "tcg": "host", "uml": "host"}
    assert {e.name: e.technology for e in man.environments.values()} == {
        "host": "physical", "container": "container", "tcg": "qemu-tcg", "uml": "uml"}
    # the kernel the lab recorded is the one lmbench's own header of every host run names
    runs = sorted((RAW / "host").iterdir())
    assert len(runs) >= 3
    for run in runs:
        assert f" {man.environments['host'].extra['kernel']} " in run.read_text().splitlines()[0], run


def test_five_environments_two_baselines(tmp_path):
    # The source article's layout: every virtual environment is compared with the physical host
    # running the matching kernel (DESIGN.md).
    raw = make_raw(tmp_path, """
        [environments.rhel53]
        kind = "physical"
        technology = "physical"
        kernel = "2.6.18-128.el5"

        [environments.xen]
        kind = "virtual"
        technology = "xen-pv"
        baseline = "rhel53"
        kernel = "2.6.18-128.el5xen"

        [environments.openvz]
        kind = "virtual"
        technology = "openvz"
        baseline = "rhel53"

        [environments.fedora11]
        kind = "physical"
        technology = "physical"

        [environments.kvm]
        kind = "virtual"
        technology = "kvm"
        baseline = "fedora11"
    """)
    man = manifest.load(raw)
    assert {e.name: e.baseline for e in man.virtual()} == {
        "xen": "rhel53", "openvz": "rhel53", "kvm": "fedora11"}
    assert [e.name for e in man.physical()] == ["rhel53", "fedora11"]


def _error(raw: Path) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        manifest.load(raw)
    return info.value


def _assert_error(exc: ManifestError, raw: Path, line: int, *fragments: str) -> None:
    path = raw / "environments.toml"
    assert exc.path == str(path)
    assert exc.line == line
    assert str(exc).startswith(f"{path}:{line}: ")
    for fragment in fragments:
        assert fragment in exc.reason, exc.reason


def test_missing_manifest(tmp_path):
    raw = tmp_path / "raw"
    (raw / "host").mkdir(parents=True)
    exc = _error(raw)
    _assert_error(exc, raw, 0, "environments.toml")


def test_missing_raw_folder(tmp_path):
    exc = _error(tmp_path / "nowhere")
    assert exc.path == str(tmp_path / "nowhere") and exc.line == 0


def test_invalid_toml(tmp_path):
    raw = make_raw(tmp_path, '[environments.host]\nkind = "physical\ntechnology = "physical"\n', folders=["host"])
    _assert_error(_error(raw), raw, 2, "TOML")  # the unterminated string is on line 2


# (manifest text, folders to create or None for one per table, expected line, message fragments)
ERRORS = {
    "unknown-technology": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm]
        kind = "virtual"
        technology = "warp-drive"
        baseline = "host"
        """, None, 5, ("vm", "warp-drive")),
    "virtual-without-baseline": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm]
        kind = "virtual"
        technology = "kvm"
        """, None, 5, ("vm", "baseline")),
    "baseline-not-in-manifest": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm]
        kind = "virtual"
        technology = "kvm"
        baseline = "bare-metal"
        """, None, 5, ("vm", "bare-metal", "not in the manifest")),
    "self-baseline": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm]
        kind = "virtual"
        technology = "kvm"
        baseline = "vm"
        """, None, 5, ("vm", "own baseline")),
    "baseline-loop": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm1]
        kind = "virtual"
        technology = "kvm"
        baseline = "vm2"

        [environments.vm2]
        kind = "virtual"
        technology = "xen-pv"
        baseline = "vm1"
        """, None, 5, ("vm1", "vm2", "loop")),
    "physical-with-baseline": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"
        baseline = "host"
        """, None, 1, ("host",)),
    "unknown-kind": ("""
        [environments.host]
        kind = "bare"
        technology = "physical"
        """, None, 1, ("host", "kind")),
    "environment-without-folder": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.vm]
        kind = "virtual"
        technology = "kvm"
        baseline = "host"
        """, ["host"], 5, ("vm", "folder")),
    "folder-not-in-manifest": (GOOD, ["host", "box", "stray"], 0, ("stray",)),
    "name-dotdot": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments."../x"]
        kind = "virtual"
        technology = "kvm"
        baseline = "host"
        """, ["host"], 5, ("../x",)),
    "name-slash": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments."a/b"]
        kind = "virtual"
        technology = "kvm"
        baseline = "host"
        """, ["host", "a/b"], 5, ("a/b",)),
    "names-differ-only-in-case": ("""
        [environments.host]
        kind = "physical"
        technology = "physical"

        [environments.Host]
        kind = "physical"
        technology = "physical"
        """, None, 5, ("host", "Host", "only in case")),
    "no-environments": ("""
        title = "nothing here"
        """, [], 0, ("environments",)),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_manifest_error(tmp_path, case):
    toml, folders, line, fragments = ERRORS[case]
    raw = make_raw(tmp_path, toml, folders)
    _assert_error(_error(raw), raw, line, *fragments)


def test_valid_minimal(tmp_path):
    raw = make_raw(tmp_path, GOOD)
    man = manifest.load(raw)
    assert man.environments["box"].baseline == "host"
    assert man.environments["box"].is_virtual and not man.environments["host"].is_virtual


def test_hidden_folders_ignored(tmp_path):
    raw = make_raw(tmp_path, GOOD, ["host", "box", ".ipynb_checkpoints"])
    assert list(manifest.load(raw).environments) == ["host", "box"]


def test_layered_baselines_form_chains_to_a_physical_root(tmp_path):
    """A container inside a VM on a host: the container's baseline is the VM, the VM's the host."""
    raw = tmp_path / "raw"
    for name in ("host", "vm", "box", "other"):
        (raw / name).mkdir(parents=True)
    (raw / "environments.toml").write_text(
        '[environments.host]\nkind = "physical"\ntechnology = "physical"\n'
        '[environments.vm]\nkind = "virtual"\ntechnology = "kvm"\nbaseline = "host"\n'
        '[environments.box]\nkind = "virtual"\ntechnology = "container"\nbaseline = "vm"\n'
        '[environments.other]\nkind = "virtual"\ntechnology = "qemu-tcg"\nbaseline = "host"\n')
    man = manifest.load(raw)
    assert man.chain("box") == ["box", "vm", "host"] and man.root("box") == "host"
    assert manifest.display_order(man) == ["host", "vm", "box", "other"]  # a virtual baseline before its children
    assert manifest.display_order(man, ["box"]) == ["host", "vm", "box"]  # a chain comes along
