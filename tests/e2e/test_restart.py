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
    d = make_daemon()
    d.deploy_fixture("sleep", "sleep", "--timeout", "10")
    import threading
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
