"""The nodejs runtime (runtimes/node/bootstrap) against the real daemon: Lambda's
Node.js handler contract (CommonJS and ES modules; async, promise, callback and
plain handlers), every context field, each error path and once-per-instance
initialisation. Handlers: tests/fixtures/node/."""

import base64
import json
import os
import re
import time

import pytest

from conftest import REPO

CODE = os.path.join(REPO, "tests", "fixtures", "node")


def deploy(d, name, handler, *extra):
    d.cli("deploy", name, "--runtime", "nodejs", "--handler", handler, "--code", CODE,
          *extra, check=True)


def call(d, name, payload=None, headers=None):
    status, hdrs, body = d.invoke(name, payload, headers=headers)
    assert status == 200, body
    return hdrs.get("X-Amz-Function-Error"), json.loads(body)


def test_context_has_every_field(daemon):
    deploy(daemon, "ctx", "index.context", "--memory", "256", "--timeout", "5")
    cc = {"client": {"installation_id": "inst-1"}, "custom": {"k": "v"}, "env": {"e": "1"}}
    err, out = call(daemon, "ctx", {"hello": "world"},
                    {"X-Amz-Client-Context": base64.b64encode(json.dumps(cc).encode()).decode()})
    assert err is None, out
    assert re.fullmatch(r"[0-9a-f-]{36}", out["awsRequestId"])
    assert out["functionName"] == "ctx"
    assert out["functionVersion"] == "$LATEST"
    assert out["invokedFunctionArn"].endswith(":function:ctx")
    assert out["memoryLimitInMB"] == "256"
    assert out["logGroupName"] == "/aws/lambda/ctx"
    assert out["logStreamName"]
    assert 4000 < out["remainingMs"] <= 5000
    assert out["callbackWaitsForEmptyEventLoop"] is True
    assert out["clientContext"] == cc
    assert out["identity"] == "undefined"
    assert out["traceId"].startswith("Root=")
    assert out["event"] == {"hello": "world"}


def test_module_is_loaded_once_per_instance(daemon):
    deploy(daemon, "count", "index.count")
    _, first = call(daemon, "count")
    _, second = call(daemon, "count")
    assert first["initCount"] == 1 and second["initCount"] == 1
    assert first["instance"] == second["instance"]
    assert (first["calls"], second["calls"]) == (1, 2)
    assert len(daemon.instances()) == 1


@pytest.mark.parametrize("handler, expected", [
    ("esm/index.handler", {"esm": True, "started": "top-level await ran"}),
    ("esm-pkg/app.handler", {"esmPkg": True, "file": "app.js"}),
    ("index.nested.deeper.handler", "nested export"),
    ("index.promise", {"promised": {"p": 1}}),
    ("index.sync", None),
])
def test_module_kinds_and_handler_styles(daemon, handler, expected):
    deploy(daemon, "fn", handler)
    err, out = call(daemon, "fn", {"p": 1})
    assert err is None, out
    if isinstance(expected, dict) and "esm" in expected:
        assert re.fullmatch(r"[0-9a-f-]{36}", out.pop("id"))
    assert out == expected


def test_callback_waits_for_the_empty_event_loop(daemon):
    deploy(daemon, "cb", "index.callback")
    t = time.monotonic()
    assert call(daemon, "cb") == (None, {"callback": True})
    # The 150 ms timer the handler left ran before the answer went out.
    assert time.monotonic() - t >= 0.15


def test_callback_without_waiting_answers_at_once(daemon):
    deploy(daemon, "nowait", "index.callbackNoWait", "--timeout", "10")
    t = time.monotonic()
    assert call(daemon, "nowait") == (None, {"waited": False})
    # The handler left a 2 s timer pending; the answer did not wait for it.
    assert time.monotonic() - t < 1.5


def test_thrown_error_is_an_unhandled_error(daemon):
    deploy(daemon, "fail", "index.fail")
    err, out = call(daemon, "fail", {"why": "testing"})
    assert err == "Unhandled"
    assert out["errorType"] == "BoomError"
    assert out["errorMessage"] == "it went wrong: testing"
    assert out["trace"][0] == "BoomError: it went wrong: testing"
    assert "/var/task/index.js" in out["trace"][1]
    assert not any("/var/runtime" in l for l in out["trace"]), out["trace"]
    assert out["stackTrace"] == out["trace"]
    call(daemon, "fail", {"why": "again"})
    assert len(daemon.instances()) == 1
    assert any("ERROR\tInvoke Error" in l for l in daemon.logs("fail"))


def test_callback_error_and_non_error_throws(daemon):
    deploy(daemon, "cberr", "index.callbackError")
    err, out = call(daemon, "cberr")
    assert err == "Unhandled"
    assert (out["errorType"], out["errorMessage"]) == ("RangeError", "out of range")
    deploy(daemon, "str", "index.failString")
    err, out = call(daemon, "str")
    assert err == "Unhandled"
    assert (out["errorType"], out["errorMessage"], out["trace"]) == \
        ("string", "just a string", [])


def test_unserialisable_result_is_a_marshal_error(daemon):
    deploy(daemon, "marshal", "index.marshal")
    err, out = call(daemon, "marshal")
    assert err == "Unhandled"
    assert out["errorType"] == "Runtime.MarshalError"
    assert out["errorMessage"].startswith("Unable to stringify response body: ")


def test_uncaught_exception_fails_the_call_and_ends_the_instance(daemon):
    deploy(daemon, "uncaught", "index.uncaught")
    err, out = call(daemon, "uncaught")
    assert err == "Unhandled"
    assert (out["errorType"], out["errorMessage"]) == ("Error", "thrown from a timer")
    assert daemon.wait_instances(0)
    # The next call starts a fresh instance and fails the same way.
    assert call(daemon, "uncaught")[1]["errorMessage"] == "thrown from a timer"


@pytest.mark.parametrize("handler, etype, message", [
    ("import_error.handler", "Runtime.ImportModuleError",
     "Error: Cannot find module 'module-that-does-not-exist'"),
    ("nosuchfile.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'nosuchfile'"),
    ("index.missing", "Runtime.HandlerNotFound", "index.missing is undefined or not exported"),
    ("index.notAFunction", "Runtime.HandlerNotFound", "index.notAFunction is not a function"),
    ("syntax_error.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: "),
    ("init_raises.handler", "TypeError", "cannot start: no config"),
    ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
])
def test_init_errors_reach_the_caller(daemon, handler, etype, message):
    deploy(daemon, "broken", handler)
    err, out = call(daemon, "broken")
    assert err == "Unhandled"
    assert out["errorType"] == etype, out
    assert out["errorMessage"].startswith(message), out
    log = "\n".join(daemon.logs("broken"))
    assert "INIT_REPORT" in log and etype in log
    assert daemon.wait_instances(0)


def test_console_carries_the_request_id(daemon):
    deploy(daemon, "logs", "index.logs")
    assert call(daemon, "logs", {"tag": "t1"}) == (None, "logged")
    lines = daemon.logs("logs")
    start = next(l for l in lines if "START RequestId:" in l)
    rid = re.search(r"RequestId: ([0-9a-f-]{36})", start).group(1)
    tagged = [l.split("\t", 2)[2] for l in lines if l.split("\t")[1:2] == [rid]]
    assert "INFO\tlog from %s" % rid in tagged
    assert "INFO\tinfo { tag: 't1' }" in tagged
    assert "WARN\twarn" in tagged
    assert "ERROR\terror" in tagged
    init_line = next(l for l in lines if "init: loading index" in l)
    assert rid not in init_line


def test_example_hello_node(daemon):
    """examples/hello-node, deployed as the README and `make demo` do."""
    daemon.cli("deploy", "hello-node", "--runtime", "nodejs", "--handler", "index.handler",
               "--code", os.path.join(REPO, "examples", "hello-node"), check=True)
    assert call(daemon, "hello-node", {"name": "Ada"}) == \
        (None, {"statusCode": 200, "body": '"Hello, Ada! (from Node.js)"'})
    assert any(l.endswith("\tINFO\tgreeting Ada in request " + l.split("\t")[1])
               for l in daemon.logs("hello-node") if l.count("\t") >= 3)
