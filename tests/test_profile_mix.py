"""The mix derived from a profile: the documented rule, checked by hand."""

from __future__ import annotations


import pytest

from vizlib import appprofile, count_model, profile_mix
from vizlib.errors import AppProfileError, VizlibError

TIME_V = """\
\tCommand being timed: "app"
\tUser time (seconds): {user}
\tSystem time (seconds): {system}
\tElapsed (wall clock) time (h:mm:ss or m:ss): {elapsed}
\tMajor (requiring I/O) page faults: 0
\tMinor (reclaiming a frame) page faults: {faults}
\tVoluntary context switches: {switches}
\tInvoluntary context switches: 0
\tExit status: 0
"""

PRICES = {"syscall_null": 0.1, "syscall_read": 0.2, "syscall_write": 0.2, "pagefault": 0.5, "ctx_switch": 1.0,
          "tcp_connect": 10.0, "proc_fork": 100.0, "mmap_latency": 5.0}


def strace(calls: dict) -> appprofile.StraceSummary:
    """An strace -c -f table with these calls (times are not used by the rule)."""
    sep = "------ ----------- ----------- --------- --------- ----------------"
    rows = [f"  1.00    0.000100           1 {n:9d}           {name}" for name, n in calls.items()]
    total = f"100.00    0.000100           1 {sum(calls.values()):9d}           total"
    return appprofile.parse_strace_summary("\n".join(["% time     seconds  usecs/call     calls    errors syscall",
                                                      sep, *rows, sep, total]) + "\n", "s")


def profile(calls: dict, time_v=None) -> count_model.AppProfile:
    return count_model.profile_of(strace(calls), time_v)


def tv(user=2.0, system=1.0, elapsed="0:04.00", faults=0, switches=0):
    return appprofile.parse_time_v(TIME_V.format(user=user, system=system, elapsed=elapsed, faults=faults,
                                                 switches=switches), "t")


def test_user_time_is_cpu_and_system_time_is_split_by_lmbench_prices():
    # kernel work by baseline prices: 1000 reads x 0.2 = 200 us (disk), 10 connects x 10 = 100 us (network),
    # 2000 faults x 0.5 = 1000 us (memory), 700 switches x 1 = 700 us (kernel): 2000 us in all
    t = tv(faults=2000, switches=700)
    d = profile_mix.derive_mix(t, profile({"read": 1000, "connect": 10}, t), PRICES)
    busy = 3.0
    assert d.mix["cpu"] == pytest.approx(2.0 / busy)
    assert d.mix["memory"] == pytest.approx(1.0 * 1000 / 2000 / busy)
    assert d.mix["disk"] == pytest.approx(1.0 * 200 / 2000 / busy)
    assert d.mix["network"] == pytest.approx(1.0 * 100 / 2000 / busy)
    assert d.mix["kernel"] == pytest.approx(1.0 * 700 / 2000 / busy)
    assert sum(d.mix.values()) == pytest.approx(1.0)
    assert d.wait_fraction == pytest.approx(1.0 / 4.0)  # 4 s elapsed, 3 s busy


def test_unpriced_calls_cost_a_null_syscall_and_folded_ones_nothing():
    w = profile_mix.kernel_weights(profile({"getrandom": 10, "close": 1000, "wait4": 50, "clone": 2}), PRICES, 0.1)
    assert w["kernel"] == pytest.approx(10 * 0.1 + 2 * 100.0)  # close and wait4 are folded: 0
    assert w["disk"] == 0 and w["memory"] == 0


def test_the_mix_prices_like_the_count_based_model():
    """A fork+exec pair is one exec (not a fork and an exec); send/receive calls are a quarter of a TCP
    round trip each, rounded up; an mmap's price is count_model's (the caller passes it)."""
    prices = {**PRICES, "proc_exec": 300.0, "tcp_latency": 20.0}
    w = profile_mix.kernel_weights(profile({"execve": 3, "clone": 2, "sendto": 5, "mmap": 4}), prices, 0.1)
    # 3 execs, 2 clones of which 2 pair with the 2 execs after the first: no fork left
    assert w["kernel"] == pytest.approx(3 * 300.0)
    assert w["network"] == pytest.approx(2 * 20.0)  # ceil(5 / 4) round trips
    assert w["memory"] == pytest.approx(4 * 5.0)


def test_parallel_work_has_no_waiting():
    d = profile_mix.derive_mix(tv(user=3.0, system=1.0, elapsed="0:02.00"), profile({"getpid": 0}), PRICES)
    assert d.wait_fraction == 0.0
    assert d.mix["kernel"] == pytest.approx(0.25) and "system time counted as kernel" in d.note


def test_the_estimate_leaves_waiting_alone():
    """R = wait + (1 - wait) * sum(w s): a program that only waits is not slowed at all."""
    d = profile_mix.derive_mix(tv(user=0.5, system=0.5, elapsed="0:10.00"), profile({"read": 10}), PRICES)
    assert d.wait_fraction == pytest.approx(0.9)


def test_no_busy_time_or_no_null_syscall_is_an_error_naming_the_file():
    with pytest.raises(AppProfileError, match="user \\+ system time is 0.00"):
        profile_mix.derive_mix(tv(user=0.0, system=0.0), profile({"read": 1}), PRICES)
    with pytest.raises(VizlibError, match="host has no null system call"):
        profile_mix.derive_mix(tv(), profile({"read": 1}), {"pagefault": 1.0}, "host")


@pytest.mark.parametrize("name, category", [("mmap", "memory"), ("brk", "memory"), ("fsync", "disk"),
                                             ("openat", "disk"), ("sendto", "network"), ("epoll_wait", "network"),
                                             ("clone3", "kernel"), ("futex", "kernel"), ("execve", "kernel")])
def test_syscall_categories(name, category):
    assert profile_mix.syscall_category(name) == category


def test_the_derived_estimate_is_waiting_plus_the_busy_share_slowed(tmp_path):
    """On the shipped data: R = f + (1 - f) * sum(w s), the interval mapped the same way."""
    from vizlib import inputs as inputs_mod, paths, share_model

    inputs = inputs_mod.load_inputs(tmp_path / "processed", paths.RAW, n_boot=200)
    t = tv(user=1.0, system=1.0, elapsed="0:08.00", faults=5000, switches=100)
    res, mixes = profile_mix.derived_estimates(inputs, t, strace({"read": 2000, "openat": 100, "execve": 5}))
    assert set(res["environment"]) == set(mixes) == set(inputs.prepared()[1].environments)
    for r in res.itertuples(index=False):
        d = mixes[r.environment]
        assert d.wait_fraction == pytest.approx(6.0 / 8.0)
        plain = share_model.evaluate(inputs.prepared()[1].select([r.environment]), d.mix).iloc[0]
        for got, busy in ((r.relative_time, plain.relative_time), (r.ci_low, plain.ci_low), (r.ci_high, plain.ci_high)):
            assert got == pytest.approx(0.75 + 0.25 * busy)
