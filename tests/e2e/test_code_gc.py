"""Unpacked code (<data>/code/<sha256>/) is freed once nothing refers to it: no function,
no published version, no instance still running it. A tree an instance still runs is
kept until the instance is gone (its /var/task is a bind mount of that very tree)."""

import os
import threading
import time


def trees(d):
    root = os.path.join(d.data, "code")
    return {n for n in os.listdir(root) if len(n) == 64}


def wait_trees(d, want, timeout=15):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = trees(d)
        if got == want:
            return
        time.sleep(0.05)
    raise AssertionError("code trees %s, wanted %s" % (sorted(got), sorted(want)))


def test_code_collected_when_unreferenced(daemon):
    d = daemon
    d.deploy_fixture("echo", "f")
    a = trees(d)
    assert len(a) == 1
    d.deploy_fixture("echo", "g")  # the same bytes: one tree, shared
    assert trees(d) == a
    assert d.invoke("f")[0] == 200
    d.deploy_fixture("logger", "f")  # f's new code; g still uses the old
    b = trees(d) - a
    assert len(b) == 1
    wait_trees(d, a | b)
    status, _, body = d.request("POST", "/v1/functions/f/versions", {})
    assert status in (200, 201), body  # version 1 keeps b
    d.deploy_fixture("sleep", "f")
    c = trees(d) - a - b
    time.sleep(0.3)
    wait_trees(d, a | b | c)
    d.cli("rm", "g", check=True)  # a: no one left
    wait_trees(d, b | c)
    d.cli("rm", "f", check=True)  # $LATEST's code and version 1's
    wait_trees(d, set())
    # The trees' files are deleted on the worker pool; nothing is left beside them.
    deadline = time.time() + 10
    while os.listdir(os.path.join(d.data, "code")) and time.time() < deadline:
        time.sleep(0.05)
    assert os.listdir(os.path.join(d.data, "code")) == []


def test_code_kept_while_an_instance_runs_it(daemon):
    d = daemon
    d.deploy_fixture("sleep", "slow")
    old = trees(d)
    result = {}

    def call():
        result["r"] = d.invoke("slow", {"ms": 2500})

    t = threading.Thread(target=call)
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline:
        if [i for i in d.instances() if i["function"] == "slow" and i["state"] == "busy"]:
            break
        time.sleep(0.02)
    d.deploy_fixture("echo", "slow")  # the update lands while the old code runs
    new = trees(d) - old
    assert len(new) == 1
    time.sleep(0.5)
    assert trees(d) == old | new, "code removed under a running instance"
    t.join()
    assert result["r"][0] == 200, result["r"]
    # The retired instance ends after its call; then its code goes.
    wait_trees(d, new)
    assert d.invoke("slow")[0] == 200


def test_leftover_code_collected_at_start(make_daemon, tmp_path):
    data = tmp_path / "gc"
    d = make_daemon(data=data)
    d.deploy_fixture("echo")
    keep = trees(d)
    d.stop()
    # What an older hearth (which left version code behind) or a crash leaves.
    stale = os.path.join(str(data), "code", "ab" * 32)
    os.makedirs(os.path.join(stale, "lib"))
    open(os.path.join(stale, "lib", "x"), "w").close()
    d2 = make_daemon(data=data)
    wait_trees(d2, keep)
    assert d2.invoke("echo", {"k": 1})[0] == 200
