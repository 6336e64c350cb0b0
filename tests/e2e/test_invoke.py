"""Invoking functions: answers, function errors, crashes, timeouts, logs, limits, async."""

import json
import re
import time

import pytest


def test_echo_payload_and_headers(daemon):
    daemon.deploy_fixture("echo")
    status, headers, body = daemon.invoke("echo", {"a": [1, 2, {"b": None}]})
    assert status == 200
    assert json.loads(body) == {"a": [1, 2, {"b": None}]}
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["X-Amz-Request-Id"])
    assert headers["X-Amz-Executed-Version"] == "$LATEST"
    assert "X-Amz-Function-Error" not in headers


def test_environment_is_lambdas(daemon):
    daemon.deploy_fixture("envdump", "envdump", "--memory", "256", "--env", "MY_VAR=x")
    status, _, body = daemon.invoke("envdump")
    env = json.loads(body)
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envdump"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["_HANDLER"] == "handler"
    assert env["TZ"] == "UTC"


def test_function_error_is_unhandled(daemon):
    daemon.deploy_fixture("error")
    status, headers, body = daemon.invoke("error")
    assert status == 200
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert "boom" in json.loads(body)["errorMessage"]
    r = daemon.cli("invoke", "error")
    assert r.returncode == 1 and b"boom" in r.stderr


def test_crash_then_recover(daemon):
    daemon.deploy_fixture("crash")
    status, headers, body = daemon.invoke("crash")
    err = json.loads(body)
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert err["errorType"] == "Runtime.ExitError", err
    assert "signal" in err["errorMessage"]
    assert daemon.wait_instances(0)
    # The daemon keeps serving other functions.
    daemon.deploy_fixture("echo")
    assert daemon.invoke("echo", {"x": 1})[0] == 200


def test_exit_between_invocations(daemon):
    daemon.deploy_fixture("exit-after")
    for _ in range(3):
        status, headers, body = daemon.invoke("exit-after")
        assert status == 200 and "X-Amz-Function-Error" not in headers, body
        time.sleep(0.2)


def test_timeout_ends_the_instance(daemon):
    daemon.deploy_fixture("sleep", "sleepy", "--timeout", "1")
    t0 = time.time()
    status, headers, body = daemon.invoke("sleepy", {"ms": 5000})
    took = time.time() - t0
    err = json.loads(body)
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in err["errorMessage"]
    assert took < 4
    assert daemon.wait_instances(0)
    assert any("Task timed out after 1.00 seconds" in l for l in daemon.logs("sleepy"))
    # A short call afterwards runs on a fresh instance.
    status, headers, body = daemon.invoke("sleepy", {"ms": 1})
    assert status == 200 and json.loads(body) == {"slept": 1}


def test_init_error_reaches_the_caller(daemon):
    daemon.deploy_fixture("init-error")
    status, headers, body = daemon.invoke("init-error")
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert json.loads(body)["errorType"] == "Runtime.HandlerNotFound"
    assert daemon.wait_instances(0)


def test_garbage_on_runtime_api(daemon):
    daemon.deploy_fixture("garbage")
    status, headers, body = daemon.invoke("garbage", timeout=30)
    assert headers.get("X-Amz-Function-Error") == "Unhandled"
    assert daemon.wait_instances(0)
    assert daemon.request("GET", "/v1/health", token=False)[0] == 200


def test_logs_tagged_with_request_id(daemon):
    daemon.deploy_fixture("logger")
    status, headers, _ = daemon.invoke("logger")
    rid = headers["X-Amz-Request-Id"]
    status, headers2, _ = daemon.invoke("logger")
    rid2 = headers2["X-Amz-Request-Id"]
    lines = daemon.logs("logger")
    text = "\n".join(lines)
    assert re.search(r"\t%s\tline one" % rid, text), text
    assert re.search(r"\t%s\tline two" % rid, text), text
    assert "START RequestId: %s Version: $LATEST" % rid in text
    assert "END RequestId: %s" % rid in text
    reports = [l for l in lines if "REPORT RequestId:" in l]
    assert len(reports) == 2
    first, second = reports
    assert rid in first and rid2 in second
    for field in ("Duration: ", "Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: "):
        assert field in first and field in second
    assert "Init Duration: " in first and "Init Duration: " not in second
    billed = int(re.search(r"Billed Duration: (\d+) ms", first).group(1))
    dur = float(re.search(r"\tDuration: ([\d.]+) ms", first).group(1))
    assert billed >= dur and billed - dur <= 1
    r = daemon.cli("logs", "logger", check=True)
    assert b"line one" in r.stdout and b"REPORT" in r.stdout


def test_payload_limits(daemon):
    daemon.deploy_fixture("echo")
    big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    status, _, body = daemon.request("POST", "/v1/functions/echo/invoke", big)
    assert status == 413, body
    mid = b'"' + b"x" * (300 * 1024) + b'"'
    status, _, body = daemon.request("POST", "/v1/functions/echo/invoke", mid,
                                     headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 413, body
    status, _, body = daemon.request("POST", "/v1/functions/echo/invoke", b"{nope")
    assert status == 400 and b"json" in body
    status, _, body = daemon.request("POST", "/v1/functions/nope/invoke", b"{}")
    assert status == 404
    # Still serving.
    assert daemon.invoke("echo", {"ok": True})[0] == 200


def test_big_response(daemon):
    daemon.deploy_fixture("big", "big", "--memory", "512")
    status, _, body = daemon.invoke("big", {"bytes": 1 << 20})
    assert status == 200 and len(body) >= 1 << 20
    status, headers, body = daemon.invoke("big", {"bytes": 7 << 20})
    assert headers.get("X-Amz-Function-Error") == "Unhandled", body[:200]


def test_async_event_runs(daemon):
    daemon.deploy_fixture("counter")
    status, headers, body = daemon.invoke("counter", {"n": 1},
                                          headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202
    rid = json.loads(body)["requestId"]
    deadline = time.time() + 15
    state = None
    while time.time() < deadline:
        s, _, b = daemon.request("GET", "/v1/functions/counter/events")
        events = json.loads(b)["events"]
        state = [e["state"] for e in events if e["requestId"] == rid]
        if state == ["succeeded"]:
            break
        time.sleep(0.1)
    assert state == ["succeeded"]
    assert any(rid in l for l in daemon.logs("counter"))
    r = daemon.cli("invoke", "counter", "--async", check=True)
    assert re.match(rb"[0-9a-f-]{36}", r.stdout.strip())


def test_memory_limit_kills_with_clear_error(daemon):
    daemon.deploy_fixture("big", "hog", "--memory", "128")
    status, headers, body = daemon.invoke("hog", {"bytes": 400 << 20}, timeout=60)
    err = json.loads(body)
    assert headers.get("X-Amz-Function-Error") == "Unhandled"
    assert err["errorType"] == "Runtime.OutOfMemory", err
    assert daemon.wait_instances(0)
    # Other functions are unaffected.
    daemon.deploy_fixture("echo")
    assert daemon.invoke("echo", {"still": "here"})[0] == 200


def test_open_logs_are_bounded(make_daemon):
    # The daemon keeps at most 64 function logs open (src/invoke/fnlog.c): more
    # functions than that must not mean more fds, and a log closed to make room
    # must lose no line when its function writes again.
    import os
    d = make_daemon(["--keepalive", "1"])
    names = ["f%02d" % i for i in range(72)]
    for n in names:
        d.deploy_fixture("echo", n)
    for n in names:
        assert d.invoke(n, {"n": n})[0] == 200
    logs_dir = os.path.join(str(d.data), "logs")

    def open_logs():
        out = []
        for fd in os.listdir("/proc/%d/fd" % d.proc.pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd))
            except OSError:
                continue
            if target.startswith(logs_dir + "/"):
                out.append(target)
        return out

    assert 0 < len(open_logs()) <= 64, open_logs()
    # f00's log was closed long ago (least recently written): a second call
    # reopens it and appends.
    assert os.path.join(logs_dir, "f00.log") not in open_logs()
    assert d.invoke("f00", {"again": 1})[0] == 200
    assert len(open_logs()) <= 64
    for n in names:
        lines = d.logs(n)
        text = "\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines)
        want = 2 if n == "f00" else 1
        assert text.count("START RequestId") == want, (n, lines)
        assert text.count("REPORT RequestId") == want, (n, lines)
