"""hearth-init outside a sandbox: the test plays the daemon on the relay (fd 3)
and, where the contract needs it, the runtime on the Runtime API port.

Build first:  make BUILD=build/h-init build/h-init/hearth-init <fixtures...>
Run:          HEARTH_BUILD=$PWD/build/h-init /usr/bin/python3 -m pytest -q tests/e2e/test_init_standalone.py
"""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import relay as R  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HEARTH_BUILD", os.path.join(REPO, "build"))
INIT = os.path.join(BUILD, "hearth-init")
API = "/2018-06-01/runtime"
MAX_RESPONSE = 6291556


def fixture_path(name):
    return os.path.join(BUILD, "fixtures", name, "bootstrap")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Instance:
    """hearth-init running argv as its runtime, with the relay on fd 3."""

    def __init__(self, argv, tmp_path, env=None):
        self.port = free_port()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        full_env = {
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % self.port,
            "HEARTH_INIT_PORT": str(self.port),
            "_HANDLER": "test.handler",
            "TZ": "UTC",
            "HEARTH_COUNTER_FILE": str(tmp_path / "count"),
        }
        full_env.update(env or {})
        self.stderr_path = tmp_path / "init.stderr"
        self.stderr = open(self.stderr_path, "wb")
        fd = theirs.fileno()
        # fd 3 must be the relay; python's own fds are non-inheritable, so
        # close_fds=False leaks nothing else.
        self.proc = subprocess.Popen([INIT] + list(argv), env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr, close_fds=False,
                                     preexec_fn=lambda: os.dup2(fd, 3))
        theirs.close()
        self.relay = R.Relay(ours)

    def invoke(self, rid, body, **extra):
        fields = dict(id=rid, deadline_ms=int(time.time() * 1000) + 30000,
                      arn="arn:aws:lambda:local:000000000000:function:test",
                      trace="Root=1-00000000-000000000000000000000000", body=body)
        fields.update(extra)
        self.relay.send(R.INVOKE, **fields)

    def http(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def wait_port(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise AssertionError("init never listened on %d" % self.port)

    def wait_exit(self, timeout=10):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        self.relay.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        errors = self.stderr_path.read_text(errors="replace")
        # Under SANITIZE builds, any report (leak included) fails the test.
        assert "Sanitizer" not in errors and "runtime error:" not in errors, errors


@pytest.fixture
def start(tmp_path):
    instances = []

    def _start(argv, env=None):
        if isinstance(argv, str):
            path = fixture_path(argv)
            if not os.path.exists(path):
                pytest.skip("fixture %s not built in %s" % (argv, BUILD))
            argv = [path]
        inst = Instance(argv, tmp_path, env)
        instances.append(inst)
        return inst

    if not os.path.exists(INIT):
        pytest.skip("hearth-init not built in %s" % BUILD)
    yield _start
    for inst in instances:
        inst.stop()


def response_json(m):
    return json.loads(m.body)


# --- the fixtures through the C runtime library -----------------------------------------------


def test_echo_round_trips_and_reuses_the_instance(start):
    inst = start("echo")
    inst.relay.expect(R.NEXT)
    for i in range(3):
        inst.invoke("req-%d" % i, b'{"i": %d, "s": "\\u00e9"}' % i)
        m = inst.relay.expect(R.RESPONSE)
        assert m.text("id") == "req-%d" % i
        assert m.body == b'{"i": %d, "s": "\\u00e9"}' % i
        inst.relay.expect(R.NEXT)


def test_invoke_before_next_is_queued(start):
    inst = start("echo")
    inst.invoke("early", b'"queued"')
    m = inst.relay.expect(R.RESPONSE, skip=(R.LOG, R.NEXT))
    assert m.text("id") == "early" and m.body == b'"queued"'


def test_counter_proves_warm_reuse(start):
    inst = start("counter")
    inst.relay.expect(R.NEXT)
    inst.invoke("a", b"{}")
    first = response_json(inst.relay.expect(R.RESPONSE))
    inst.relay.expect(R.NEXT)
    inst.invoke("b", b"{}")
    second = response_json(inst.relay.expect(R.RESPONSE))
    assert (first["count"], second["count"]) == (1, 2)
    assert first["pid"] == second["pid"]


def test_sleep_fixture(start):
    inst = start("sleep")
    inst.relay.expect(R.NEXT)
    t0 = time.monotonic()
    inst.invoke("s", b'{"ms": 120}')
    assert response_json(inst.relay.expect(R.RESPONSE)) == {"slept": 120}
    assert time.monotonic() - t0 >= 0.12


def test_logs_are_forwarded_line_by_line(start):
    inst = start("logger")
    inst.relay.expect(R.NEXT)
    inst.invoke("l", b"{}")
    inst.relay.expect(R.RESPONSE)
    logs = [(m.text("stream"), m.text("body")) for m in inst.relay.skipped]
    # stdout and stderr are separate pipes: their relative order is not defined,
    # but both lines arrive by the time the answer does (written before it).
    deadline = time.monotonic() + 5
    while len(logs) < 2 and time.monotonic() < deadline:
        m = inst.relay.recv(5)
        if m.type == R.LOG:
            logs.append((m.text("stream"), m.text("body")))
    assert sorted(logs) == [("1", "line one"), ("2", "line two")]


def test_handler_error(start):
    inst = start("error")
    inst.relay.expect(R.NEXT)
    inst.invoke("e", b"{}")
    m = inst.relay.expect(R.ERROR)
    assert m.text("id") == "e"
    assert m.text("errtype") == "HandlerError"
    assert json.loads(m.body) == {"errorMessage": "boom", "errorType": "HandlerError",
                                  "stackTrace": []}
    inst.relay.expect(R.NEXT)
    inst.invoke("e2", b'"tricky"')
    m = inst.relay.expect(R.ERROR)
    assert m.text("errtype") == "Fixture.Tricky"
    assert json.loads(m.body) == {"errorMessage": 'say "boom"\\\n\ttwice\x01',
                                  "errorType": "Fixture.Tricky", "stackTrace": []}
    # The type is per invocation: the next plain error is a HandlerError again.
    inst.relay.expect(R.NEXT)
    inst.invoke("e3", b"{}")
    assert inst.relay.expect(R.ERROR).text("errtype") == "HandlerError"


def test_init_error(start):
    inst = start("init-error")
    m = inst.relay.expect(R.INIT_ERROR)
    assert m.text("errtype") == "Runtime.HandlerNotFound"
    body = json.loads(m.body)
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert "missing" in body["errorMessage"]
    assert inst.relay.expect(R.EXIT).text("status") == "exit 1"
    assert inst.wait_exit() == 1


def test_crash_reports_the_signal(start):
    inst = start("crash")
    inst.relay.expect(R.NEXT)
    inst.invoke("c", b"{}")
    assert inst.relay.expect(R.EXIT).text("status") == "signal 6"
    assert inst.relay.recv() is None
    assert inst.wait_exit() == 128 + 6


def test_exit_between_invocations(start):
    inst = start("exit-after")
    inst.relay.expect(R.NEXT)
    inst.invoke("x", b"{}")
    m = inst.relay.expect(R.RESPONSE)
    assert m.text("id") == "x" and json.loads(m.body) == {"answered": 1}
    assert inst.relay.expect(R.EXIT).text("status") == "exit 3"
    assert inst.wait_exit() == 3


@pytest.mark.parametrize("size,ok", [(MAX_RESPONSE, True), (MAX_RESPONSE + 1, False),
                                     (7_000_000, False)])
def test_response_size_limit(start, size, ok):
    inst = start("big")
    inst.relay.expect(R.NEXT)
    inst.invoke("big", b'{"bytes": %d}' % size)
    if ok:
        m = inst.relay.expect(R.RESPONSE, timeout=30)
        assert len(m.body) == size
    else:
        m = inst.relay.expect(R.ERROR, timeout=30)
        assert m.text("id") == "big"
        assert m.text("errtype") == "Function.ResponseSizeTooLarge"
        assert json.loads(m.body)["errorType"] == "Function.ResponseSizeTooLarge"
    # The runtime carries on with the next invocation either way.
    inst.relay.expect(R.NEXT, timeout=30)
    if not ok:
        logs = [m.text("body") for m in inst.relay.skipped]
        assert any("413" in line for line in logs), logs


def test_garbage_from_the_runtime_does_not_hurt_init(start):
    inst = start("garbage")
    status = inst.relay.expect(R.EXIT).text("status")
    lines = {m.text("body").split(":")[0]: m.text("body") for m in inst.relay.skipped}
    assert status == "exit 1"
    assert lines["binary"].startswith("binary: HTTP/1.1 400"), lines
    assert lines["bad-length"].startswith("bad-length: HTTP/1.1 400"), lines
    assert lines["bad-version"].startswith("bad-version: HTTP/1.1 400"), lines
    assert lines["huge-header"].startswith("huge-header: HTTP/1.1 431"), lines


def test_envdump_sees_the_lambda_environment(start):
    inst = start("envdump")
    inst.relay.expect(R.NEXT)
    inst.invoke("env", b"{}")
    env = response_json(inst.relay.expect(R.RESPONSE))
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:%d" % inst.port
    assert env["_HANDLER"] == "test.handler" and env["TZ"] == "UTC"


def test_hello_c_example(start):
    path = os.path.join(BUILD, "examples", "hello-c", "bootstrap")
    if not os.path.exists(path):
        pytest.skip("examples/hello-c not built")
    inst = start([path])
    inst.relay.expect(R.NEXT)
    inst.invoke("h1", b'{"name": "Ada"}')
    assert response_json(inst.relay.expect(R.RESPONSE)) == {
        "message": "Hello, Ada!", "input": {"name": "Ada"}}
    inst.relay.expect(R.NEXT)
    inst.invoke("h2", b"[1,2]")
    assert response_json(inst.relay.expect(R.RESPONSE)) == {
        "message": "Hello from C!", "input": [1, 2]}


# --- process life --------------------------------------------------------------------------------


def test_relay_close_kills_the_runtime(start):
    inst = start("counter")
    inst.relay.expect(R.NEXT)
    inst.invoke("p", b"{}")
    pid = response_json(inst.relay.expect(R.RESPONSE))["pid"]
    assert alive(pid)
    inst.relay.close()
    assert inst.wait_exit() == 0
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(pid)


def test_exec_failure_is_an_init_error(start, tmp_path):
    missing = str(tmp_path / "no-such-bootstrap")
    inst = start([missing])
    m = inst.relay.expect(R.INIT_ERROR)
    assert m.text("errtype") == "Runtime.InvalidEntrypoint"
    body = json.loads(m.body)
    assert body["path"] == missing and "No such file" in body["errorMessage"]
    assert inst.relay.expect(R.EXIT).text("status") == "exit 127"


def test_runtime_env_and_fds(start):
    # /usr/bin/env prints the environment the runtime got, one LOG line each.
    inst = start(["/bin/sh", "-c", "env; ls -l /proc/self/fd/ | grep -c socket || true"])
    inst.relay.expect(R.EXIT)
    lines = [m.text("body") for m in inst.relay.skipped]
    assert any(line.startswith("AWS_LAMBDA_RUNTIME_API=") for line in lines)
    assert not any(line.startswith("HEARTH_INIT_PORT=") for line in lines), lines
    # Neither the relay nor the listening socket leaks into the runtime.
    assert lines[-1] == "0", lines


def test_a_prestarted_runtime_waits_for_its_function(start):
    # HEARTH_STEM: init starts the runtime at once with the assignment socket
    # on fd 3 (HEARTH_STEM_FD); the runtime reads the function's environment
    # there when RELAY_ASSIGN comes, EOF ending it.
    script = ('echo "fd=$HEARTH_STEM_FD"; tr "\\0" "\\n" <&3; echo "eof"; exec 3<&-; '
              'ls -l /proc/self/fd/ | grep -c socket || true')
    inst = start(["/bin/sh", "-c", script], env={"HEARTH_STEM": "1"})
    assert inst.relay.expect(R.LOG).text("body") == "fd=3"
    time.sleep(0.2)
    inst.relay.send(R.ASSIGN, body=b"A=1\0_HANDLER=app.handler\0")
    inst.relay.expect(R.EXIT)
    lines = [m.text("body") for m in inst.relay.skipped]
    assert lines[:4] == ["A=1", "_HANDLER=app.handler", "eof", "0"], lines


def test_an_assignment_is_for_a_prestarted_runtime_only(start):
    inst = start("echo")
    inst.relay.expect(R.NEXT)
    inst.relay.send(R.ASSIGN, body=b"A=1\0")
    # A protocol error: init ends the instance.
    inst.wait_exit()
    assert b"not waiting for one" in inst.stderr_path.read_bytes()


def test_a_second_assignment_is_refused(start):
    inst = start(["/bin/sh", "-c", "cat <&3 >/dev/null; exec 3<&-; sleep 30"],
                 env={"HEARTH_STEM": "1"})
    inst.relay.send(R.ASSIGN, body=b"A=1\0")
    inst.relay.send(R.ASSIGN, body=b"A=2\0")
    inst.wait_exit()
    assert b"not waiting for one" in inst.stderr_path.read_bytes()


def test_long_lines_are_split_and_the_last_one_flushed(start):
    inst = start(["/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo; "
                  "printf 'no newline' >&2"])
    assert inst.relay.expect(R.EXIT).text("status") == "exit 0"
    logs = [(m.text("stream"), len(m.body)) for m in inst.relay.skipped]
    assert ("1", 262144) in logs and ("1", 300000 - 262144) in logs, logs
    assert [m.body for m in inst.relay.skipped if m.text("stream") == "2"] == [b"no newline"]


def zombie_children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def test_orphans_are_reaped(start):
    # The runtime leaves an orphan that exits at once. init adopts it (it is
    # PID 1 in a sandbox, a child subreaper elsewhere) and must reap it.
    inst = start(["/bin/sh", "-c", "(sleep 0.1 &); sleep 1; exit 5"])
    time.sleep(0.6)
    assert zombie_children(inst.proc.pid) == []
    assert inst.relay.expect(R.EXIT).text("status") == "exit 5"


# --- the Runtime API contract, spoken directly ---------------------------------------------------


@pytest.fixture
def api(start):
    """init with a runtime that never talks: the test is the runtime."""
    inst = start(["/bin/sleep", "60"])
    inst.wait_port()
    return inst


class Next(threading.Thread):
    """GET /next in the background (it long-polls)."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn
        self.resp = None
        self.body = None
        self.start()

    def run(self):
        self.conn.request("GET", API + "/invocation/next")
        self.resp = self.conn.getresponse()
        self.body = self.resp.read()


def hand_out(inst, conn, rid="rid-1", body=b'{"k":"v"}', **extra):
    n = Next(conn)
    inst.relay.expect(R.NEXT)
    inst.invoke(rid, body, **extra)
    n.join(10)
    assert n.resp is not None, "GET /next did not return"
    return n


def post(conn, path, body=b"", headers=None):
    conn.request("POST", API + path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_next_headers(api):
    conn = api.http()
    n = hand_out(api, conn, client_ctx='{"custom":{}}', cognito='{"cognitoIdentityId":"x"}')
    h = n.resp
    assert h.status == 200 and n.body == b'{"k":"v"}'
    assert h.getheader("Content-Type") == "application/json"
    assert h.getheader("Lambda-Runtime-Aws-Request-Id") == "rid-1"
    assert int(h.getheader("Lambda-Runtime-Deadline-Ms")) > time.time() * 1000
    assert h.getheader("Lambda-Runtime-Invoked-Function-Arn").startswith("arn:aws:lambda:")
    assert h.getheader("Lambda-Runtime-Trace-Id").startswith("Root=")
    assert h.getheader("Lambda-Runtime-Client-Context") == '{"custom":{}}'
    assert h.getheader("Lambda-Runtime-Cognito-Identity") == '{"cognitoIdentityId":"x"}'


def test_optional_headers_absent(api):
    n = hand_out(api, api.http())
    assert n.resp.getheader("Lambda-Runtime-Client-Context") is None
    assert n.resp.getheader("Lambda-Runtime-Cognito-Identity") is None


def test_response_and_bad_ids_on_one_connection(api):
    conn = api.http()
    hand_out(api, conn, rid="good")
    assert post(conn, "/invocation/wrong/response", b"{}") == (
        400, b'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}')
    assert post(conn, "/invocation/good/response", b'{"r":1}') == (202, b'{"status":"OK"}')
    m = api.relay.expect(R.RESPONSE)
    assert (m.text("id"), m.body) == ("good", b'{"r":1}')
    # Already answered: 400 for both response and error.
    assert post(conn, "/invocation/good/response", b"{}")[0] == 400
    assert post(conn, "/invocation/good/error", b"{}")[0] == 400


def test_error_post(api):
    conn = api.http()
    hand_out(api, conn, rid="e1")
    body = b'{"errorMessage":"bad","errorType":"ValueError","stackTrace":[]}'
    assert post(conn, "/invocation/e1/error", body,
                {"Lambda-Runtime-Function-Error-Type": "ValueError"})[0] == 202
    m = api.relay.expect(R.ERROR)
    assert (m.text("id"), m.text("errtype"), m.body) == ("e1", "ValueError", body)
    hand_out(api, conn, rid="e2")
    assert post(conn, "/invocation/e2/error", b"{}")[0] == 202
    assert api.relay.expect(R.ERROR).text("errtype") == "Unhandled"


def test_init_error_then_403_after_first_invocation(api):
    conn = api.http()
    assert post(conn, "/init/error", b'{"errorMessage":"x"}',
                {"Lambda-Runtime-Function-Error-Type": "Runtime.ConfigError"})[0] == 202
    m = api.relay.expect(R.INIT_ERROR)
    assert (m.text("errtype"), m.body) == ("Runtime.ConfigError", b'{"errorMessage":"x"}')
    hand_out(api, conn)
    status, body = post(conn, "/init/error", b"{}")
    assert status == 403 and json.loads(body)["errorType"]


def test_413_on_the_api(api):
    conn = api.http(timeout=30)
    hand_out(api, conn, rid="big")
    status, body = post(conn, "/invocation/big/response", b"x" * (MAX_RESPONSE + 1))
    assert status == 413
    assert json.loads(body) == {
        "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "RequestEntityTooLarge"}
    assert api.relay.expect(R.ERROR).text("errtype") == "Function.ResponseSizeTooLarge"
    # The invocation is over; the connection still works.
    assert post(conn, "/invocation/big/response", b"{}")[0] == 400


def test_unknown_path_and_method(api):
    conn = api.http()
    conn.request("GET", "/nope")
    r = conn.getresponse()
    assert r.status == 404
    r.read()
    conn.request("GET", API + "/invocation/x/response")
    r = conn.getresponse()
    assert r.status == 405 and r.getheader("Allow") == "POST"
    r.read()
    conn.request("POST", API + "/invocation/next")
    r = conn.getresponse()
    assert r.status == 405
    r.read()


def test_malformed_http_gets_400_and_close(api):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in data
    # init is still serving.
    conn = api.http()
    conn.request("GET", "/nope")
    assert conn.getresponse().status == 404


def test_pipelined_requests(api):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as s:
        s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET " + API.encode() + b"/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        api.relay.expect(R.NEXT)
        api.invoke("pipe", b"[]")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
    assert statuses == [b"404", b"404", b"200", b"404"], data


def test_next_with_connection_close(api):
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as s:
        s.sendall(b"GET " + API.encode() + b"/invocation/next HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\nGET /after-close HTTP/1.1\r\n\r\n")
        api.relay.expect(R.NEXT)
        api.invoke("bye", b"{}")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in data and data.endswith(b"\r\n\r\n{}")


def test_next_waiters_are_served_in_order(api):
    first = Next(api.http())
    api.relay.expect(R.NEXT)
    second = Next(api.http())
    api.relay.expect(R.NEXT)
    api.invoke("one", b"1")
    first.join(10)
    assert first.resp.getheader("Lambda-Runtime-Aws-Request-Id") == "one"
    api.invoke("two", b"2")
    second.join(10)
    assert second.resp.getheader("Lambda-Runtime-Aws-Request-Id") == "two"


def test_connection_cap(api):
    socks = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(70)]
    try:
        time.sleep(0.2)
        conn = api.http()
        # Over the cap, new connections are closed; once some go away, they work.
        for s in socks[:10]:
            s.close()
        time.sleep(0.2)
        conn.request("GET", "/nope")
        assert conn.getresponse().status == 404
    finally:
        for s in socks:
            s.close()
