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
