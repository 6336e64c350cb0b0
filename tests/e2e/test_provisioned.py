"""Provisioned concurrency and the per-function keep-alive policy
(/v1/functions/NAME/scheduling, `hearth scheduling`)."""

import json
import os
import signal
import time


def provisioned(d, name):
    return [i for i in d.instances()
            if i["function"] == name and i["provisioned"] and i["state"] != "ending"]


def wait_provisioned(d, name, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = provisioned(d, name)
        if len(got) == n and all(i["state"] in ("idle", "frozen") for i in got):
            return got
        time.sleep(0.05)
    raise AssertionError("want %d ready provisioned instances: %s" % (n, d.instances()))


def test_provisioned_instances_are_kept_and_recreated(make_daemon):
    # Not frozen: a SIGKILL from outside stays pending on a v1-frozen task.
    d = make_daemon(["--keepalive", "1", "--freeze-after", "0"])
    d.deploy_fixture("counter", "counter")
    r = d.cli("scheduling", "counter", "--provisioned", "2")
    assert r.returncode == 0, r.stderr
    assert b"provisioned       2" in r.stdout
    got = wait_provisioned(d, "counter", 2)
    ps = d.cli("ps")
    assert ps.stdout.count(b",provisioned") == 2, ps.stdout
    # The first call is warm: the instances were initialised ahead.
    assert d.invoke("counter")[0] == 200
    st = json.loads(d.request("GET", "/v1/functions/counter/stats")[2])
    assert st["coldStarts"] == 0 and st["warmStarts"] == 1, st
    # Past the keep-alive window they are still there.
    time.sleep(1.5)
    assert len(provisioned(d, "counter")) == 2
    # One dies: another replaces it.
    os.kill(got[0]["pid"], signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline:
        now = wait_provisioned(d, "counter", 2)
        if got[0]["id"] not in [i["id"] for i in now]:
            break
        time.sleep(0.05)
    assert got[0]["id"] not in [i["id"] for i in now]
    # Lowered to 0: they become ordinary instances and end.
    st, _, body = d.request("PUT", "/v1/functions/counter/scheduling", {"provisioned": 0})
    assert st == 200 and json.loads(body)["provisioned"] == 0
    assert d.wait_instances(0, timeout=10), d.instances()


def test_provisioned_survives_restart_and_redeploy(make_daemon):
    d = make_daemon()
    d.deploy_fixture("counter", "counter")
    assert d.request("PUT", "/v1/functions/counter/scheduling", {"provisioned": 1})[0] == 200
    first = wait_provisioned(d, "counter", 1)[0]
    # A redeploy provisions the new revision.
    d.deploy_fixture("counter", "counter", "--memory", "256")
    deadline = time.time() + 10
    while time.time() < deadline:
        now = provisioned(d, "counter")
        if now and now[0]["revision"] > first["revision"] and now[0]["state"] != "starting":
            break
        time.sleep(0.05)
    assert now and now[0]["revision"] > first["revision"], d.instances()
    d.stop()
    d2 = make_daemon(data=d.data)
    wait_provisioned(d2, "counter", 1)
    st, _, body = d2.request("GET", "/v1/functions/counter/scheduling")
    assert json.loads(body) == {"function": "counter", "provisioned": 1,
                                "keepalive_policy": "default", "reserved": None}


def test_scheduling_errors_and_keepalive_policy(daemon):
    daemon.deploy_fixture("counter", "counter")
    st, _, body = daemon.request("PUT", "/v1/functions/counter/scheduling",
                                 {"keepalive_policy": "adaptive"})
    assert st == 200 and json.loads(body)["keepalive_policy"] == "adaptive"
    assert daemon.invoke("counter")[0] == 200
    r = daemon.cli("scheduling", "counter", "--keepalive-policy", "fixed")
    assert r.returncode == 0 and b"keep-alive policy fixed" in r.stdout
    for body, msg in (({"provisioned": -1}, b"0 to 1000"), ({"provisioned": 1001}, b"0 to 1000"),
                      ({"keepalive_policy": "lru"}, b"default, fixed or adaptive"),
                      ({"provisioned": "2"}, b"integer"), ({"x": 1}, b"unknown field")):
        st, _, out = daemon.request("PUT", "/v1/functions/counter/scheduling", body)
        assert st == 400 and msg in out, (body, st, out)
    st, _, out = daemon.request("PUT", "/v1/functions/nope/scheduling", {"provisioned": 1})
    assert st == 404
    assert daemon.request("GET", "/v1/functions/nope/scheduling")[0] == 404
    r = daemon.cli("scheduling", "counter", "--provisioned", "many")
    assert r.returncode == 2 and b"--provisioned" in r.stderr
    r = daemon.cli("scheduling", "counter", "--keepalive-policy", "lru")
    assert r.returncode == 2 and b"--keepalive-policy" in r.stderr
