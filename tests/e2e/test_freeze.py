"""Freezing: an idle instance is frozen after --freeze-after, uses no CPU while
frozen, and is thawed by the next call."""

import json
import os
import time

import pytest


def freezer_dir(pid):
    """The instance's cgroup in the v1 freezer hierarchy, or None."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "freezer" in controllers.split(","):
                return "/sys/fs/cgroup/freezer" + path
    return None


def cpu_ns(cgdir):
    """CPU time used so far by every thread in the cgroup, in nanoseconds, from
    each thread's schedstat (the freezer hierarchy has no cpuacct of its own,
    and /proc/PID/stat ticks are 10 ms coarse)."""
    total = 0
    with open(os.path.join(cgdir, "tasks")) as f:
        tids = [int(x) for x in f.read().split()]
    for tid in tids:
        try:
            with open("/proc/%d/schedstat" % tid) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def wait_state(d, name, state, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        insts = [i for i in d.instances() if i["function"] == name]
        if insts and insts[0]["state"] == state:
            return insts[0]
        time.sleep(0.02)
    raise AssertionError("no %s instance of %s: %s" % (state, name, d.instances()))


def test_idle_instance_is_frozen_and_uses_no_cpu(make_daemon):
    if not os.path.isdir("/sys/fs/cgroup/freezer"):
        pytest.skip("this host has no cgroup v1 freezer hierarchy")
    d = make_daemon(["--freeze-after", "600"])
    # 1769 MB is one full core (CPU follows memory): the spin shows clearly.
    d.deploy_fixture("spinner", "spinner", "--memory", "1769")
    st, _, body = d.invoke("spinner")
    assert st == 200 and b'"spinning":true' in body
    inst = wait_state(d, "spinner", "idle")
    cg = freezer_dir(inst["pid"])
    assert cg and os.path.isdir(cg), cg
    # Idle but not yet frozen: the background thread burns CPU.
    a = cpu_ns(cg)
    time.sleep(0.3)
    busy = cpu_ns(cg) - a
    assert busy > 20e6, "the spinner used only %.1f ms of CPU in 300 ms" % (busy / 1e6)

    inst = wait_state(d, "spinner", "frozen")
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(os.path.join(cg, "freezer.state")) as f:
            if f.read().strip() == "FROZEN":
                break
        time.sleep(0.02)
    ps = d.cli("ps")
    assert ps.returncode == 0 and b"frozen" in ps.stdout, ps.stdout
    a = cpu_ns(cg)
    time.sleep(1.0)
    frozen = cpu_ns(cg) - a
    assert frozen < 1e6, "a frozen instance used %.3f ms of CPU in 1 s" % (frozen / 1e6)

    # The next call thaws it: same instance, warm, and the thread runs again.
    st, _, body = d.invoke("spinner")
    assert st == 200 and b'"spinning":true' in body
    after = [i for i in d.instances() if i["function"] == "spinner"]
    assert [i["id"] for i in after] == [inst["id"]]
    assert after[0]["state"] in ("idle", "busy")
    assert after[0]["calls"] == 2
    a = cpu_ns(cg)
    time.sleep(0.2)
    assert cpu_ns(cg) - a > 10e6
    fz = json.loads(d.request("GET", "/v1/instances")[2])["freezer"]
    assert fz["freezes"] >= 1 and fz["thaws"] == 1 and 0 < fz["thawMeanUs"] < 1e6, fz
    st = json.loads(d.request("GET", "/v1/functions/spinner/stats")[2])
    assert st["coldStarts"] == 1 and st["warmStarts"] == 1


def test_frozen_instances_end_cleanly(make_daemon):
    """Keep-alive expiry, eviction and shutdown all end frozen instances (a v1
    frozen task ignores SIGKILL until thawed); teardown checks nothing is left."""
    d = make_daemon(["--freeze-after", "50", "--keepalive", "2"])
    d.deploy_fixture("spinner", "spinner")
    d.deploy_fixture("counter", "counter")
    assert d.invoke("spinner")[0] == 200
    assert d.invoke("counter")[0] == 200
    wait_state(d, "spinner", "frozen")
    wait_state(d, "counter", "frozen")
    # The keep-alive window ends frozen instances.
    assert d.wait_instances(0, timeout=10), d.instances()
    assert d.invoke("counter")[0] == 200
    wait_state(d, "counter", "frozen")
    # ...and shutdown ends the one left (the fixture's teardown checks).


def test_freeze_after_zero_never_freezes(make_daemon):
    d = make_daemon(["--freeze-after", "0"])
    d.deploy_fixture("counter", "counter")
    assert d.invoke("counter")[0] == 200
    time.sleep(0.5)
    assert [i["state"] for i in d.instances()] == ["idle"]


def test_freeze_after_flag_errors(daemon):
    r = daemon.cli("serve", "--data", daemon.data + "-x", "--freeze-after", "soon")
    assert r.returncode == 2 and b"--freeze-after" in r.stderr
