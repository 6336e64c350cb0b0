"""The python3 runtime (runtimes/python/bootstrap) against the real daemon:
Lambda's Python handler contract, every context field, each error path and
once-per-instance initialisation. Handlers: tests/fixtures/python/."""

import base64
import json
import os
import re

import pytest

from conftest import REPO

CODE = os.path.join(REPO, "tests", "fixtures", "python")


def deploy(d, name, handler, *extra):
    d.cli("deploy", name, "--runtime", "python3", "--handler", handler, "--code", CODE,
          *extra, check=True)


def call(d, name, payload=None, headers=None):
    status, hdrs, body = d.invoke(name, payload, headers=headers)
    assert status == 200, body
    return hdrs.get("X-Amz-Function-Error"), json.loads(body)


def test_context_has_every_field(daemon):
    deploy(daemon, "ctx", "app.context", "--memory", "256", "--timeout", "5")
    cc = {"client": {"installation_id": "inst-1", "app_title": "tests"},
          "custom": {"k": "v"}, "env": {"platform": "linux"}}
    err, out = call(daemon, "ctx", {"hello": "world"},
                    {"X-Amz-Client-Context": base64.b64encode(json.dumps(cc).encode()).decode()})
    assert err is None, out
    assert re.fullmatch(r"[0-9a-f-]{36}", out["aws_request_id"])
    assert out["function_name"] == "ctx"
    assert out["function_version"] == "$LATEST"
    assert out["invoked_function_arn"].startswith("arn:aws:lambda:")
    assert out["invoked_function_arn"].endswith(":function:ctx")
    # A string, as Lambda's runtime reads it from the environment.
    assert out["memory_limit_in_mb"] == "256"
    assert out["log_group_name"] == "/aws/lambda/ctx"
    assert out["log_stream_name"]
    assert 4000 < out["remaining_ms"] <= 5000
    assert out["client_context"] == {"client": {"installation_id": "inst-1",
                                                "app_title": "tests"},
                                     "custom": {"k": "v"}, "env": {"platform": "linux"}}
    assert out["identity"] == {"cognito_identity_id": None, "cognito_identity_pool_id": None}
    assert out["trace_id"].startswith("Root=")
    assert out["event"] == {"hello": "world"}


def test_no_client_context_is_none(daemon):
    deploy(daemon, "ctx", "app.context")
    _, out = call(daemon, "ctx")
    assert out["client_context"] is None
    assert out["event"] == {}


def test_module_is_imported_once_per_instance(daemon):
    deploy(daemon, "count", "app.count")
    _, first = call(daemon, "count")
    _, second = call(daemon, "count")
    assert first["init_count"] == 1 and second["init_count"] == 1
    assert first["instance"] == second["instance"]
    assert (first["calls"], second["calls"]) == (1, 2)
    assert len(daemon.instances()) == 1


def test_nested_package_handler(daemon):
    deploy(daemon, "nested", "pkg.sub.mod.handler")
    assert call(daemon, "nested") == (None, {"nested": "pkg.sub.mod"})
    # Lambda also accepts a path with slashes for the module.
    deploy(daemon, "nested2", "pkg/sub/mod.handler")
    assert call(daemon, "nested2") == (None, {"nested": "pkg.sub.mod"})


def test_none_and_decimal_results(daemon):
    deploy(daemon, "nothing", "app.nothing")
    assert call(daemon, "nothing") == (None, None)
    deploy(daemon, "dec", "app.decimals")
    assert call(daemon, "dec") == (None, {"int": 3, "float": 2.5})


def test_exception_is_an_unhandled_error(daemon):
    deploy(daemon, "fail", "app.fail")
    err, out = call(daemon, "fail", {"why": "testing"})
    assert err == "Unhandled"
    assert out["errorType"] == "Boom"
    assert out["errorMessage"] == "it went wrong: testing"
    assert re.fullmatch(r"[0-9a-f-]{36}", out["requestId"])
    # The function's frames only, none of the runtime's.
    assert len(out["stackTrace"]) == 1, out["stackTrace"]
    assert '/var/task/app.py", line' in out["stackTrace"][0]
    assert "in fail" in out["stackTrace"][0]
    # The instance survives a function error and takes the next call warm.
    call(daemon, "fail", {"why": "again"})
    assert len(daemon.instances()) == 1
    log = "\n".join(daemon.logs("fail"))
    assert "[ERROR] Boom: it went wrong: testing" in log


def test_unserialisable_result_is_a_marshal_error(daemon):
    deploy(daemon, "marshal", "app.marshal")
    err, out = call(daemon, "marshal")
    assert err == "Unhandled"
    assert out["errorType"] == "Runtime.MarshalError"
    assert out["errorMessage"] == \
        "Unable to marshal response: Object of type set is not JSON serializable"


@pytest.mark.parametrize("handler, etype, message", [
    ("import_error.handler", "Runtime.ImportModuleError",
     "Unable to import module 'import_error': No module named 'module_that_does_not_exist'"),
    ("nosuchmodule.handler", "Runtime.ImportModuleError",
     "Unable to import module 'nosuchmodule': No module named 'nosuchmodule'"),
    ("app.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'"),
    ("app.NOT_CALLABLE", "Runtime.HandlerNotFound",
     "Handler 'NOT_CALLABLE' on module 'app' is not callable"),
    ("syntax_error.handler", "Runtime.UserCodeSyntaxError",
     "Syntax error in module 'syntax_error': "),
    ("init_raises.handler", "RuntimeError", "cannot start: no config"),
    ("nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ("sys.exit", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys"),
])
def test_init_errors_reach_the_caller(daemon, handler, etype, message):
    deploy(daemon, "broken", handler)
    err, out = call(daemon, "broken")
    assert err == "Unhandled"
    assert out["errorType"] == etype, out
    assert out["errorMessage"].startswith(message), out
    assert isinstance(out["stackTrace"], list)
    log = "\n".join(daemon.logs("broken"))
    assert "INIT_REPORT" in log and etype in log
    # Nothing stays behind: the next call tries a fresh instance.
    assert daemon.wait_instances(0)


def test_print_and_logging_carry_the_request_id(daemon):
    deploy(daemon, "logs", "app.logs")
    _, out = call(daemon, "logs", {"tag": "t1"})
    assert out == "logged"
    lines = daemon.logs("logs")
    start = next(l for l in lines if "START RequestId:" in l)
    rid = re.search(r"RequestId: ([0-9a-f-]{36})", start).group(1)
    tagged = [l.split("\t", 2)[2] for l in lines if l.split("\t")[1:2] == [rid]]
    assert "print from %s" % rid in tagged
    assert "[INFO]\tlogging info t1" in tagged
    assert "[WARNING]\tlogging warning" in tagged
    # Output of the module's import belongs to no request, as on Lambda.
    init_line = next(l for l in lines if "init: loading app" in l)
    assert rid not in init_line
    # The handler's lines come before its END line.
    end = next(i for i, l in enumerate(lines) if l.endswith("END RequestId: " + rid))
    assert all(i < end for i, l in enumerate(lines) if "print from" in l)



def test_example_hello_python(daemon):
    """examples/hello-python, deployed as the README and `make demo` do."""
    daemon.cli("deploy", "hello-python", "--runtime", "python3", "--handler",
               "lambda_function.lambda_handler", "--code",
               os.path.join(REPO, "examples", "hello-python"), check=True)
    assert call(daemon, "hello-python", {"name": "Ada"}) == \
        (None, {"statusCode": 200, "body": '"Hello, Ada! (from Python)"'})
    assert any(l.endswith("\tgreeting Ada in request " + l.split("\t")[1])
               for l in daemon.logs("hello-python") if l.count("\t") >= 2)
