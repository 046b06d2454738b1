"""The measurement lab (lab/): planning and resume, dry run, CONFIG generation, job scripts, collect.

Nothing here needs root, qemu, UML or the network: steps are planned against a temporary state
folder, the dry run runs with a PATH of stubs that record any call, and the in-environment shell
functions run against a fake lmbench tree whose programs are small scripts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "lab"
sys.path.insert(0, str(LAB))

import lablib  # noqa: E402

ALL_ENVS_RUN = ["host", "container", "tcg", "uml"]


def make_lab(tmp_path: Path, **kw) -> lablib.Lab:
    kw.setdefault("state", tmp_path / "state")
    kw.setdefault("out", open(os.devnull, "w"))
    return lablib.Lab(**kw)


# ------------------------------------------------------------------------------------------------
# CONFIG

def test_config_template_has_the_readme_values():
    cfg = lablib.parse_config(lablib.render_config())
    assert cfg["MB"] == "64" and cfg["ENOUGH"] == "5000"
    assert cfg["SYNC_MAX"] == "1" and cfg["LMBENCH_SCHED"] == "DEFAULT" and cfg["LINE_SIZE"] == "64"
    assert cfg["FASTMEM"] == "NO" and cfg["SLOWFS"] == "NO"
    assert cfg["FILE"] == "/var/tmp/XXX" and cfg["FSDIR"] == "/var/tmp/lat_fs"
    assert cfg["REMOTE"] == "" and cfg["DISKS"] == "" and cfg["MHZ"] == ""
    assert cfg["OUTPUT"] == "/dev/null" and cfg["OS"] == "x86_64-linux-gnu"
    assert cfg["BENCHMARK_OS"] == "YES" and cfg["BENCHMARK_OPS"] == "YES"
    assert cfg["BENCHMARK_HARDWARE"] == "NO" and cfg["BENCHMARK_MEM"] == "NO"
    others = [k for k in cfg if k.startswith("BENCHMARK_") and k not in ("BENCHMARK_HARDWARE", "BENCHMARK_MEM")]
    assert len(others) == 17 and all(cfg[k] == "YES" for k in others)
    # measured per boot: left as placeholders for the environment to fill in
    assert cfg["TIMING_O"] == "@TIMING_O@" and cfg["LOOP_O"] == "@LOOP_O@" and cfg["PROCESSORS"] == "@PROCESSORS@"


def test_config_follows_config_run_order_and_is_valid_shell(tmp_path):
    text = lablib.render_config("0", "0.00000197", "1")
    keys = [line.split("=", 1)[0] for line in text.splitlines()]
    assert keys[:3] == ["DISKS", "DISK_DESC", "OUTPUT"] and keys[-1] == "BENCHMARK_OPS"
    (tmp_path / "CONFIG").write_text(text)
    out = subprocess.run(["sh", "-c", ". ./CONFIG; echo $MB $ENOUGH $TIMING_O $LOOP_O $PROCESSORS $BENCHMARK_MEM"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["64", "5000", "0", "0.00000197", "1", "NO"]


# ------------------------------------------------------------------------------------------------
# planning and resume

def test_fresh_state_plans_every_step(tmp_path):
    lab = make_lab(tmp_path)
    table = lab.plan_table(lab.steps_for("all"))
    assert [n for n, _ in table] == ["build:packages", "build:lmbench", "build:rootfs", "build:kernel",
                                     "build:payload", "build:image", "env:host", "env:container", "env:tcg",
                                     "env:uml", "env:kvm"]
    assert {s for _, s in table} == {"todo"}


def _mark_done(step: lablib.Step, sig: str | None = None) -> None:
    step.markers.mkdir(parents=True, exist_ok=True)
    step.done_file.write_text(json.dumps({"sig": sig or step.sig, "seconds": 1.0, "finished": "x"}))
    for p in step.outputs:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("ok")


def test_status_done_partial_stale(tmp_path):
    lab = make_lab(tmp_path)
    steps = {s.name: s for s in lab.build_steps()}
    _mark_done(steps["build:packages"])
    _mark_done(steps["build:lmbench"])
    steps["build:rootfs"].markers.mkdir(parents=True, exist_ok=True)
    steps["build:rootfs"].started_file.write_text("{}")            # interrupted
    _mark_done(steps["build:kernel"], sig="something-else")          # made from other inputs
    _mark_done(steps["build:payload"])
    steps["build:payload"].outputs[0].unlink()                        # marker but output gone
    status = dict(lab.plan_table(list(steps.values())))
    assert status == {"build:packages": "done", "build:lmbench": "done", "build:rootfs": "partial",
                      "build:kernel": "stale", "build:payload": "partial", "build:image": "todo"}


def test_signatures_chain_so_a_changed_input_redoes_what_depends_on_it(tmp_path):
    a = {s.name: s.sig for s in make_lab(tmp_path).steps_for("all")}
    sizes = {k: dict(v["sizes"]) for k, v in lablib.APPS.items()}
    sizes["xz"]["input_mib"] = 1                     # baked into the inputs: payload, image, every env
    b = {s.name: s.sig for s in make_lab(tmp_path, sizes=sizes).steps_for("all")}
    assert a["build:rootfs"] == b["build:rootfs"] and a["build:lmbench"] == b["build:lmbench"]
    assert a["build:payload"] != b["build:payload"] and a["build:image"] != b["build:image"]
    assert all(a[f"env:{e}"] != b[f"env:{e}"] for e in ALL_ENVS_RUN)
    sizes = {k: dict(v["sizes"]) for k, v in lablib.APPS.items()}
    sizes["spawn"]["n"] = 10                         # a run-time size: only the environments
    c = {s.name: s.sig for s in make_lab(tmp_path, sizes=sizes).steps_for("all")}
    assert a["build:image"] == c["build:image"] and a["env:host"] != c["env:host"]
    d = {s.name: s.sig for s in make_lab(tmp_path, runs=4).steps_for("all")}
    assert a["env:tcg"] != d["env:tcg"] and a["build:image"] == d["build:image"]


def test_run_skips_done_redoes_partial_cleanly_and_writes_markers(tmp_path):
    lab = make_lab(tmp_path)
    markers = tmp_path / "m"
    calls: list[str] = []
    leftover = tmp_path / "half-made"
    leftover.mkdir()
    (leftover / "junk").write_text("from the interrupted run")
    out_b = tmp_path / "b.out"

    def fn(name, path=None):
        def f():
            calls.append(name)
            if path:
                path.write_text(name)
        return lablib.Cmd(func=f, desc=name)

    a = lablib.Step("t:a", "sa", markers, lambda: [fn("a")])
    b = lablib.Step("t:b", "sb", markers, lambda: [fn("b", out_b)], cleanup=[leftover], outputs=[out_b])
    c = lablib.Step("t:c", "sc", markers, lambda: [fn("c"), lablib.Cmd(argv=["true"])])
    _mark_done(a)
    markers.mkdir(exist_ok=True)
    b.started_file.write_text("{}")
    assert [lablib.step_status(s) for s in (a, b, c)] == ["done", "partial", "todo"]
    assert lab.run([a, b, c]) == 0
    assert calls == ["b", "c"]
    assert not leftover.exists(), "a half-finished step's leftovers are removed before it is redone"
    assert [lablib.step_status(s) for s in (a, b, c)] == ["done", "done", "done"]
    assert not b.started_file.exists()
    info = json.loads(c.done_file.read_text())
    assert info["sig"] == "sc" and "seconds" in info and "finished" in info
    calls.clear()
    assert lab.run([a, b, c]) == 0 and calls == []          # everything done: nothing runs again


def test_failed_command_leaves_the_step_partial(tmp_path):
    lab = make_lab(tmp_path)
    st = lablib.Step("t:fail", "s", tmp_path / "m", lambda: [lablib.Cmd(argv=["false"])], log=tmp_path / "fail.log")
    assert lab.run([st]) == 1
    assert lablib.step_status(st) == "partial"
    assert "exit 1" in (tmp_path / "fail.log").read_text()


def test_minimum_runs_and_reps(tmp_path):
    with pytest.raises(lablib.LabError):
        make_lab(tmp_path, runs=2)
    with pytest.raises(lablib.LabError):
        make_lab(tmp_path, reps=1)
    with pytest.raises(lablib.LabError):
        make_lab(tmp_path, apps=["nope"])
    assert make_lab(tmp_path, runs=0, reps=1, smoke=True, plan="smoke").runs == 0


# ------------------------------------------------------------------------------------------------
# job scripts

def test_job_script_plans_every_run_and_repetition(tmp_path):
    lab = make_lab(tmp_path)
    for env in ALL_ENVS_RUN:
        job = lab.job_script(env, "/lab", f"/lab/results/{env}")
        lines = job.splitlines()
        assert [l for l in lines if l.startswith("lab_lmbench ")] == [f"lab_lmbench {n}" for n in range(5)]
        for app in lablib.APP_ORDER:
            assert [l for l in lines if l.startswith(f"lab_app {app} ")] == [f"lab_app {app} {r}" for r in range(1, 6)]
        straces = [l for l in lines if l.startswith("lab_strace ")]
        assert straces == ([f"lab_strace {a}" for a in lablib.APP_ORDER] if env == "host" else [])
        # lmbench runs come first, then the applications, all in the same job (the same boot)
        assert lines.index("lab_lmbench 4") < lines.index("lab_app xz 1") < lines.index("lab_end")
        assert f"LAB_SIG={lab.env_sig(env)}" in lines
        # the container's PID 1 ignores SIGTERM without a handler: the job must stop on a signal
        assert any(l.startswith("trap ") and "TERM" in l for l in lines[:8])
        assert lab.expected_files(env)[0] == f"lmbench/{env}.0"
    assert len(lab.expected_files("host")) == 5 + 7 * 5 + 7
    assert len(lab.expected_files("uml")) == 5 + 7 * 5
    assert len(lablib.APP_ORDER) >= 7


def test_shell_scripts_parse():
    for f in [LAB / "guest" / "labfuncs.sh"]:
        subprocess.run(["bash", "-n", str(f)], check=True)
    for f in list((LAB / "apps").glob("*.sh")) + [LAB / "guest" / "init.sh", LAB / "guest" / "container-enter.sh"]:
        subprocess.run(["sh", "-n", str(f)], check=True)
    assert {p.stem for p in (LAB / "apps").glob("*.sh")} - {"common"} == set(lablib.APP_ORDER)


def _fake_lab_root(root: Path) -> None:
    """A payload whose lmbench programs are tiny scripts and whose one app sleeps briefly."""
    bindir = root / "lmbench" / "bin" / lablib.LMBENCH_OS
    bindir.mkdir(parents=True)
    stubs = {
        "msleep": "exit 0",
        "timing_o": "echo 0",
        "loop_o": "echo 0.00000123",
        # like scripts/lmbench: sources its CONFIG and writes the results to stderr
        "lmbench": '. ./$1; echo "[lmbench3.0 results for $(uname -a)]" >&2; echo "[MB: $MB]" >&2; '
                   'echo "[PROCESSORS: $PROCESSORS]" >&2; echo "Simple syscall: 0.1659 microseconds" >&2',
    }
    for name, body in stubs.items():
        (bindir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bindir / name).chmod(0o755)
    (root / "lmbench" / "scripts").mkdir()
    (root / "lmbench" / "scripts" / "version").write_text("#!/bin/sh\necho lmbench-3alpha4\n")
    (root / "lmbench" / "scripts" / "version").chmod(0o755)
    shutil.copy(LAB / "guest" / "labfuncs.sh", root / "labfuncs.sh")
    (root / "apps").mkdir()
    (root / "apps" / "spawn.sh").write_text(
        '#!/bin/sh\ncase "$1" in run) i=0; while [ $i -lt "$LAB_SPAWN_N" ]; do /bin/true; i=$((i+1)); done;; esac\n')


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="GNU time (/usr/bin/time) is not installed")
def test_job_runs_and_resumes_in_the_same_boot(tmp_path):
    sizes = {k: dict(v["sizes"]) for k, v in lablib.APPS.items()}
    sizes["spawn"]["n"] = 3
    lab = make_lab(tmp_path, runs=2, reps=2, apps=["spawn"], smoke=True, plan="smoke", sizes=sizes)
    root, out, work = tmp_path / "root", tmp_path / "out", tmp_path / "work"
    _fake_lab_root(root)
    job = tmp_path / "job.sh"
    job.write_text(lab.job_script("container", str(root), str(out), work=str(work)))
    r = subprocess.run(["bash", str(job)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "DONE").read_text().strip() == lab.env_sig("container")
    cfg = lablib.parse_config((out / "CONFIG").read_text())
    assert cfg["TIMING_O"] == "0" and cfg["LOOP_O"] == "0.00000123" and cfg["PROCESSORS"] == str(len(os.sched_getaffinity(0)))
    assert cfg["MB"] == "64"
    first = (out / "lmbench" / "container.0").read_text()
    assert first.startswith("[lmbench3.0 results for ") and "[MB: 64]" in first
    assert (out / "lmbench" / "container.1").is_file()
    for rep in (1, 2):
        assert "Elapsed (wall clock) time" in (out / "apps" / "spawn" / f"{rep}.time-v.txt").read_text()
    meta = lablib._meta(out / "meta.txt")
    assert meta["env"] == "container" and meta["boot_id"] and meta["cpus_usable_nproc"]
    timeline = lablib._timeline(out / "timeline.tsv")
    assert [(r["kind"], r["index"]) for r in timeline] == [("config", "0"), ("lmbench", "0"), ("lmbench", "1"),
                                                          ("app", "1"), ("app", "2")]
    # interrupted after the first run: the rerun in the same boot does only what is missing
    (out / "lmbench" / "container.1").unlink()
    (out / "apps" / "spawn" / "2.time-v.txt").unlink()
    (out / "DONE").unlink()
    r = subprocess.run(["bash", str(job)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "lmbench 0: done already" in r.stdout and "app spawn rep 1: done already" in r.stdout
    assert (out / "lmbench" / "container.0").read_text() == first
    assert (out / "DONE").is_file() and (out / "apps" / "spawn" / "2.time-v.txt").is_file()
    # another plan (signature) in the same folder: the old results are moved aside, never mixed
    (out / "plan.sig").write_text("other\n")
    r = subprocess.run(["bash", str(job)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "moved to" in r.stdout
    assert list(tmp_path.glob("out.stale.*"))


# ------------------------------------------------------------------------------------------------
# dry run

STUBBED = ["apt-get", "debootstrap", "qemu-system-x86_64", "linux.uml", "taskset", "unshare", "chroot", "mount",
           "cp", "mv", "rm", "mkdir", "tar", "sed", "grep", "make", "gcc", "mke2fs", "e2fsck", "debugfs", "truncate",
           "bash", "sh", "env", "timeout", "test", "echo", "printf", "sha256sum", "date", "rmdir", "kill", "cat",
           "uname", "dpkg-query", "strace", "nproc", "ip", "hostname", "python3"]


def test_dry_run_prints_every_environment_and_app_and_executes_nothing(tmp_path):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    called = tmp_path / "called"
    for name in STUBBED:
        (stubs / name).write_text(f"#!{shutil.which('sh') or '/bin/sh'}\necho {name} >> {called}\nexit 97\n")
        (stubs / name).chmod(0o755)
    state = tmp_path / "state"
    env = dict(os.environ, PATH=str(stubs))
    r = subprocess.run([sys.executable, str(LAB / "lab"), "--state", str(state), "--dry-run", "all", "--out",
                        str(tmp_path / "collected")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not called.exists(), f"the dry run executed: {called.read_text()}"
    assert not state.exists() and not (tmp_path / "collected").exists(), "the dry run wrote files"
    out = r.stdout
    for step in ["build:packages", "build:lmbench", "build:rootfs", "build:kernel", "build:payload", "build:image",
                 "env:host", "env:container", "env:tcg", "env:uml", "env:kvm", "## collect"]:
        assert step in out
    assert "debootstrap --variant=minbase" in out and "make build" in out and "mke2fs -q -t ext4" in out
    assert "taskset -c 1 /bin/bash" in out                                        # host pinned
    assert "cpuset.cpus" in out and "unshare --pid --net --mount --uts --ipc --fork" in out
    assert "qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 1" in out and "-enable-kvm" not in out.split("env:kvm")[0]
    assert "taskset -c 1 linux.uml mem=4096M" in out
    # a stop of lab/lab's process group must reach the guests and the container's processes
    assert out.count("timeout --foreground") == 2 and "--fork --kill-child" in out
    for env in ALL_ENVS_RUN:
        job = out.split(f"job script for env:{env}")[1].split("## (")[0]
        for n in range(5):
            assert f"#   lab_lmbench {n}\n" in job
        for app in lablib.APP_ORDER:
            for rep in range(1, 6):
                assert f"#   lab_app {app} {rep}\n" in job
            assert (f"#   lab_strace {app}\n" in job) == (env == "host")


def test_dry_run_of_a_finished_step_says_skipped(tmp_path):
    lab = make_lab(tmp_path)
    steps = lab.build_steps()
    _mark_done(steps[0])
    text = lab.dry_run_text(steps)
    assert "build:packages [done]" in text and "would be skipped" in text
    assert "--no-install-recommends debootstrap" not in text


def test_kvm_detection(tmp_path):
    root = tmp_path / "r"
    (root / "proc").mkdir(parents=True)
    (root / "dev").mkdir()
    (root / "proc" / "cpuinfo").write_text("processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n")
    (root / "proc" / "cmdline").write_text("quiet nested_pvm=1\n")
    (root / "proc" / "modules").write_text("")
    lab = make_lab(tmp_path, proc_root=root)
    reason = lab.kvm_reason()
    assert "vmx/svm" in reason and "/dev/kvm does not exist" in reason
    (root / "dev" / "kvm").write_text("")        # not a device: cannot be used either
    (root / "proc" / "cpuinfo").write_text("flags\t\t: fpu vmx\n")
    assert "/dev/kvm is not usable" in lab.kvm_reason()
    st = lab.env_steps(["kvm"])[0]
    assert st.note.startswith("skipped") and st.job is None
    assert any("SKIPPED.txt" in c.render() for c in st.commands())


# ------------------------------------------------------------------------------------------------
# inputs and collect

def test_generated_inputs_are_reproducible(tmp_path):
    sizes = {k: dict(v["sizes"]) for k, v in lablib.APPS.items()}
    sizes["xz"]["input_mib"] = 1
    sizes["untar"]["files"], sizes["untar"]["dirs"] = 50, 5
    sizes["http"]["files"] = 20
    lablib.generate_inputs(tmp_path / "a", sizes)
    lablib.generate_inputs(tmp_path / "b", sizes)
    assert (tmp_path / "a" / "MANIFEST.txt").read_text() == (tmp_path / "b" / "MANIFEST.txt").read_text()
    assert (tmp_path / "a" / "xz-input.bin").stat().st_size == 1 << 20
    assert len(list((tmp_path / "a" / "http").glob("f*.txt"))) == 20


def _fake_results(lab: lablib.Lab) -> None:
    for env in ["host", "container", "tcg", "uml"]:
        res = lab.results(env)
        (res / "lmbench").mkdir(parents=True)
        for n in range(2):
            (res / "lmbench" / f"{env}.{n}").write_bytes(
                f"[lmbench3.0 results for Linux {env}]\r\nSimple syscall: 0.{n}5 microseconds\n".encode())
        (res / "lmbench" / f"{env}.2.partial").write_text("interrupted")
        for app in lablib.APP_ORDER:
            d = res / "apps" / app
            d.mkdir(parents=True)
            for rep in (1, 2):
                (d / f"{rep}.time-v.txt").write_text(f"\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:0{rep}.00\n")
            (d / "1.stdout.txt").write_text("noise")
            if env == "host":
                (d / "strace.txt").write_text("% time     seconds  usecs/call     calls    errors syscall\n")
        (res / "meta.txt").write_text(f"env: {env}\nkernel_release: 6.1.0-{env}\nboot_id: b-{env}\ncpus_usable_nproc: 1\n"
                                      "cpu_model: AMD EPYC\n")
        (res / "timeline.tsv").write_text("kind\tname\tindex\tstart\tend\tseconds\tstatus\n"
                                          f"lmbench\t{env}.0\t0\t2026-01-01T00:00:00Z\t2026-01-01T00:04:00Z\t240.0\tok\n")
        (res / "DONE").write_text("sig\n")
    (lab.results("kvm")).mkdir(parents=True)
    (lab.results("kvm") / "SKIPPED.txt").write_text("kvm: SKIPPED\n")
    (lab.run_dir / "jobs").mkdir(parents=True)
    (lab.run_dir / "jobs" / "tcg.sh").write_text(lab.job_script("tcg", "/lab", "/lab/results/tcg"))
    hs = lab.run_dir / "hostside"
    hs.mkdir(parents=True)
    (hs / "kvm.json").write_text(json.dumps({"env": "kvm", "skipped": "no vmx/svm"}))
    (hs / "tcg.json").write_text(json.dumps({"env": "tcg", "commands": ["taskset -c 1 qemu-system-x86_64 -smp 1"]}))


def test_collect_layout(tmp_path):
    lab = make_lab(tmp_path)
    _fake_results(lab)
    out = tmp_path / "collected"
    notes = lablib.collect(lab, out)
    for env in ALL_ENVS_RUN:
        assert sorted(p.name for p in (out / "raw" / env).iterdir()) == [f"{env}.0", f"{env}.1"]
        assert (out / "raw" / env / f"{env}.0").read_bytes() == (lab.results(env) / "lmbench" / f"{env}.0").read_bytes()
        for app in lablib.APP_ORDER:
            names = sorted(p.name for p in (out / "validation" / env / app).iterdir())
            assert names == (["1.time-v.txt", "2.time-v.txt"] + (["strace.txt"] if env == "host" else []))
    assert not (out / "raw" / "kvm").exists()
    assert "lab_lmbench 4" in (out / "validation" / "tcg" / "job.sh").read_text()
    assert json.loads((out / "validation" / "tcg" / "hostside.json").read_text())["commands"]
    for app in lablib.APP_ORDER:
        readme = (out / "validation" / app / "README.md").read_text()
        assert "time -v" in readme and "stresses" in readme
    manifest = tomllib.loads((out / "raw" / "environments.toml").read_text())["environments"]
    assert set(manifest) == set(ALL_ENVS_RUN)
    assert manifest["host"]["kind"] == "physical" and manifest["host"]["technology"] == "physical"
    assert "baseline" not in manifest["host"]
    for env, tech in [("container", "container"), ("tcg", "qemu-tcg"), ("uml", "uml")]:
        assert manifest[env]["kind"] == "virtual" and manifest[env]["baseline"] == "host"
        assert manifest[env]["technology"] == tech and manifest[env]["kernel"] == f"6.1.0-{env}"
    lab_md = (out / "LAB.md").read_text()
    assert "kvm: skipped (no vmx/svm)" in lab_md and "taskset -c 1" in lab_md and "cpuset.cpus=1" in lab_md
    assert any("kvm" in n for n in notes)
    with pytest.raises(lablib.LabError):            # never silently overwritten
        lablib.collect(lab, out)
    lablib.collect(lab, out, force=True)


def test_collect_without_results_is_an_error(tmp_path):
    with pytest.raises(lablib.LabError):
        lablib.collect(make_lab(tmp_path), tmp_path / "out")


def test_host_load_sampler_records_per_cpu_busy(tmp_path):
    import time
    root = tmp_path / "r"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "loadavg").write_text("1.50 1.20 1.00 2/100 999\n")
    (root / "proc" / "stat").write_text("cpu  1 0 0 1 0\ncpu0 100 0 0 100 0\ncpu1 100 0 0 100 0\n")
    path = tmp_path / "load.tsv"
    with lablib.HostLoadSampler(path, interval=0.05, proc_root=root):
        time.sleep(0.08)
        (root / "proc" / "stat").write_text("cpu  1 0 0 1 0\ncpu0 200 0 0 100 0\ncpu1 100 0 0 200 0\n")
        time.sleep(0.4)
    rows = lablib._timeline(path)
    assert rows and set(rows[0]) == {"time_utc", "load1", "load5", "cpu0_busy_pct", "cpu1_busy_pct"}
    assert any(r["cpu0_busy_pct"] == "100" for r in rows) and any(r["cpu1_busy_pct"] == "0" for r in rows)
    assert "load1 mean 1.50" in lablib.load_summary(path)
