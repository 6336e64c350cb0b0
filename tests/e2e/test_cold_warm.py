"""Warm reuse, scale-out and scale to zero."""

import json
import threading
import time


def test_second_call_is_warm(daemon):
    daemon.deploy_fixture("counter")
    a = json.loads(daemon.invoke("counter")[2])
    b = json.loads(daemon.invoke("counter")[2])
    assert a["count"] == 1 and b["count"] == 2, (a, b)
    assert a["pid"] == b["pid"]
    assert len(daemon.instances()) == 1


def test_concurrent_calls_scale_out(daemon):
    daemon.deploy_fixture("sleep", "sleep", "--timeout", "10")
    daemon.invoke("sleep", {"ms": 1})  # warm one instance
    results = []

    def call():
        results.append(daemon.invoke("sleep", {"ms": 1500}))

    t0 = time.time()
    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    assert [r[0] for r in results] == [200, 200]
    assert took < 2.8, "two concurrent 1.5 s calls took %.2f s: serialised?" % took
    assert len(daemon.instances()) == 2


def test_keepalive_expiry_scales_to_zero(daemon):
    daemon.deploy_fixture("counter", "brief", "--keepalive", "1")
    daemon.invoke("brief")
    assert len(daemon.instances()) == 1
    assert daemon.wait_instances(0, timeout=6)
    # The next call is a cold start again.
    assert json.loads(daemon.invoke("brief")[2])["count"] == 1


def test_global_keepalive_flag(make_daemon):
    d = make_daemon(["--keepalive", "1"])
    d.deploy_fixture("counter")
    d.invoke("counter")
    assert d.wait_instances(0, timeout=6)


def test_stats_and_ps(daemon):
    daemon.deploy_fixture("counter")
    for _ in range(3):
        assert daemon.invoke("counter")[0] == 200
    daemon.deploy_fixture("error")
    daemon.invoke("error")
    status, _, body = daemon.request("GET", "/v1/functions/counter/stats")
    st = json.loads(body)
    assert status == 200
    assert st["invocations"] == 3 and st["coldStarts"] == 1 and st["warmStarts"] == 2
    assert st["errors"] == 0 and st["durationMs"]["samples"] == 3
    assert 0 < st["durationMs"]["p50"] < 1000
    st = json.loads(daemon.request("GET", "/v1/functions/error/stats")[2])
    assert st["invocations"] == 1 and st["errors"] == 1
    assert daemon.request("GET", "/v1/functions/nope/stats")[0] == 404
    r = daemon.cli("stats", "counter", check=True)
    assert b"invocations   3" in r.stdout and b"cold starts   1" in r.stdout
    r = daemon.cli("ps", check=True)
    lines = r.stdout.decode().splitlines()
    assert lines[0].split()[-1] == "MEMORY"
    assert any("counter" in l and l.split()[-1].endswith("MB") for l in lines[1:])
    assert all(i["memoryBytes"] > 0 for i in daemon.instances())
