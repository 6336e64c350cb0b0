"""The daemon stops cleanly and keeps its state across restarts."""

import json
import signal
import time


def test_restart_keeps_functions(make_daemon, tmp_path):
    data = tmp_path / "keep"
    d = make_daemon(data=data)
    d.deploy_fixture("echo")
    token = d.token
    d.stop()
    d2 = make_daemon(data=data)
    assert d2.token == token
    status, _, body = d2.request("GET", "/v1/functions")
    assert [f["name"] for f in json.loads(body)["functions"]] == ["echo"]
    assert json.loads(d2.invoke("echo", {"again": 1})[2]) == {"again": 1}


def test_sigterm_with_call_in_flight(make_daemon):
    import threading
    d = make_daemon()
    d.deploy_fixture("sleep", "sleep", "--timeout", "10")
    out = {}

    def call():
        out["r"] = d.invoke("sleep", {"ms": 500})

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.3)
    d.proc.send_signal(signal.SIGTERM)
    t.join(20)
    # The call in flight finished during the grace period.
    assert out["r"][0] == 200 and json.loads(out["r"][2]) == {"slept": 500}
    assert d.proc.wait(20) == 0


def test_async_event_survives_kill_9(make_daemon, tmp_path):
    from conftest import cgroup_leftovers
    data = tmp_path / "k9"
    d = make_daemon(data=data)
    d.deploy_fixture("sleep", "sleep", "--timeout", "10")
    status, _, body = d.invoke("sleep", {"ms": 3000}, headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202
    rid = json.loads(body)["requestId"]
    time.sleep(0.3)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    # The spawner notices its daemon is gone and ends every instance.
    deadline = time.time() + 10
    while cgroup_leftovers(d.spawner_pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not cgroup_leftovers(d.spawner_pid)
    d2 = make_daemon(data=data)
    deadline = time.time() + 20
    state = None
    while time.time() < deadline:
        _, _, b = d2.request("GET", "/v1/functions/sleep/events")
        state = [e["state"] for e in json.loads(b)["events"] if e["requestId"] == rid]
        if state == ["succeeded"]:
            break
        time.sleep(0.1)
    assert state == ["succeeded"]
