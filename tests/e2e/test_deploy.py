"""Deploying functions: create, update, get, list, delete, and every bad input."""

import base64
import json
import os

from archives import bootstrap_of, tgz_of, zip_of
from conftest import EXAMPLES, FIXTURES


def put(d, name, body, **query):
    qs = "&".join("%s=%s" % kv for kv in query.items())
    return d.request("PUT", "/v1/functions/%s%s" % (name, "?" + qs if qs else ""), body,
                     headers={"Content-Type": "application/zip"})


def test_deploy_and_invoke_hello(daemon):
    r = daemon.cli("deploy", "hello", "--runtime", "provided", "--handler", "hello",
                   "--code", os.path.join(EXAMPLES, "hello-c"), check=True)
    assert b"hello" in r.stdout
    r = daemon.cli("invoke", "hello", "--payload", '{"name": "Ada"}', check=True)
    out = json.loads(r.stdout)
    assert "Ada" in json.dumps(out)


def test_get_list_update_delete(daemon):
    daemon.deploy_fixture("echo", "e1", "--memory", "256", "--timeout", "5",
                          "--env", "GREETING=hi")
    status, _, body = daemon.request("GET", "/v1/functions/e1")
    fn = json.loads(body)
    assert status == 200
    assert fn["memory_mb"] == 256 and fn["timeout_s"] == 5 and fn["revision"] == 1
    assert fn["environment"] == {"GREETING": "hi"}
    # An update keeps what it does not change and bumps the revision.
    status, _, body = daemon.request("PUT", "/v1/functions/e1", {"timeout_s": 7})
    assert status == 200, body
    fn = json.loads(body)
    assert fn["timeout_s"] == 7 and fn["memory_mb"] == 256 and fn["revision"] == 2
    daemon.deploy_fixture("echo", "e2")
    status, _, body = daemon.request("GET", "/v1/functions")
    names = [f["name"] for f in json.loads(body)["functions"]]
    assert names == ["e1", "e2"]
    r = daemon.cli("ls", check=True)
    assert b"e1" in r.stdout and b"e2" in r.stdout
    status, _, _ = daemon.request("DELETE", "/v1/functions/e1")
    assert status == 204
    status, _, body = daemon.request("GET", "/v1/functions/e1")
    assert status == 404 and json.loads(body)["error"]["code"] == "NotFound"
    status, _, _ = daemon.request("DELETE", "/v1/functions/e1")
    assert status == 404


def test_raw_zip_and_tgz_bodies(daemon):
    boot = bootstrap_of(os.path.join(FIXTURES, "echo"))
    status, _, body = put(daemon, "z", zip_of({"bootstrap": (boot, 0o755)}), runtime="provided")
    assert status == 201, body
    status, _, body = daemon.invoke("z", {"k": 1})
    assert status == 200 and json.loads(body) == {"k": 1}
    status, _, body = daemon.request(
        "PUT", "/v1/functions/t?runtime=provided",
        tgz_of([("bootstrap", "file", boot, 0o755)]),
        headers={"Content-Type": "application/gzip"})
    assert status == 201, body
    status, _, body = daemon.invoke("t", [1, 2])
    assert status == 200 and json.loads(body) == [1, 2]


def error_of(resp):
    status, _, body = resp
    return status, json.loads(body)["error"]


def test_bad_inputs_get_clear_errors(daemon):
    boot = bootstrap_of(os.path.join(FIXTURES, "echo"))
    good = base64.b64encode(zip_of({"bootstrap": (boot, 0o755)})).decode()
    cases = [
        # (description, request, status, message fragment)
        ("malformed json", ("PUT", "/v1/functions/a", b"{not json",
                            {"Content-Type": "application/json"}), 400, "malformed JSON"),
        ("invalid name", ("PUT", "/v1/functions/bad.name", {"runtime": "provided",
                                                            "code_base64": good}, None),
         400, "invalid function name"),
        ("name too long", ("PUT", "/v1/functions/" + "a" * 65,
                           {"runtime": "provided", "code_base64": good}, None), 400, "invalid"),
        ("unknown runtime", ("PUT", "/v1/functions/a", {"runtime": "cobol", "code_base64": good},
                             None), 400, "unknown runtime"),
        ("memory too small", ("PUT", "/v1/functions/a", {"runtime": "provided", "memory_mb": 64,
                                                         "code_base64": good}, None),
         400, "memory_mb"),
        ("timeout too long", ("PUT", "/v1/functions/a", {"runtime": "provided", "timeout_s": 901,
                                                         "code_base64": good}, None),
         400, "timeout_s"),
        ("no code", ("PUT", "/v1/functions/a", {"runtime": "provided"}, None), 400, "code"),
        ("bad base64", ("PUT", "/v1/functions/a", {"runtime": "provided", "code_base64": "!!"},
                        None), 400, "base64"),
        ("corrupt archive", ("PUT", "/v1/functions/a?runtime=provided", b"PK\x03\x04garbage" * 10,
                             {"Content-Type": "application/zip"}), 400, ""),
        ("dotdot entry", ("PUT", "/v1/functions/a?runtime=provided",
                          tgz_of([("bootstrap", "file", boot, 0o755),
                                  ("../evil", "file", b"x", 0o644)]),
                          {"Content-Type": "application/gzip"}), 400, ""),
        ("absolute entry", ("PUT", "/v1/functions/a?runtime=provided",
                            tgz_of([("bootstrap", "file", boot, 0o755),
                                    ("/tmp/evil", "file", b"x", 0o644)]),
                            {"Content-Type": "application/gzip"}), 400, ""),
        ("escaping symlink", ("PUT", "/v1/functions/a?runtime=provided",
                              tgz_of([("bootstrap", "file", boot, 0o755),
                                      ("passwd", "symlink", "../../../../etc/passwd", 0o777)]),
                              {"Content-Type": "application/gzip"}), 400, ""),
        ("missing bootstrap", ("PUT", "/v1/functions/a?runtime=provided",
                               zip_of({"handler.sh": (b"#!/bin/sh\n", 0o755)}),
                               {"Content-Type": "application/zip"}), 400, "bootstrap"),
        ("reserved env", ("PUT", "/v1/functions/a", {"runtime": "provided", "code_base64": good,
                                                     "environment": {"AWS_REGION": "x"}}, None),
         400, "reserved"),
        ("env too big", ("PUT", "/v1/functions/a", {"runtime": "provided", "code_base64": good,
                                                    "environment": {"BIG": "x" * 5000}}, None),
         400, "4 KB"),
        ("unknown function", ("GET", "/v1/functions/nope", None, None), 404, "does not exist"),
        ("unknown route", ("GET", "/v1/nothing", None, None), 404, ""),
        ("wrong method", ("PATCH", "/v1/functions/a", None, None), 405, ""),
    ]
    for what, (method, path, body, headers), want_status, fragment in cases:
        status, err = error_of(daemon.request(method, path, body, headers=headers))
        assert status == want_status, (what, status, err)
        assert fragment in err["message"], (what, err)
    # Nothing bad was stored, and the daemon still serves.
    status, _, body = daemon.request("GET", "/v1/functions")
    assert json.loads(body)["functions"] == []
    assert daemon.request("GET", "/v1/health", token=False)[0] == 200


def test_token_is_required(daemon):
    status, _, body = daemon.request("GET", "/v1/functions", token=False)
    assert status == 401 and json.loads(body)["error"]["code"] == "Unauthorized"
    status, _, _ = daemon.request("GET", "/v1/functions", token=False,
                                  headers={"Authorization": "Bearer " + "0" * 64})
    assert status == 401
    token_file = os.path.join(daemon.data, "token")
    assert os.stat(token_file).st_mode & 0o777 == 0o600
    # The CLI finds the token in the data directory or in HEARTH_TOKEN.
    r = daemon.cli("ls", "--data", "/nonexistent", token=False)
    assert r.returncode != 0
    r = daemon.cli("ls", "--data", daemon.data, token=False)
    assert r.returncode == 0, r.stderr
    r = daemon.cli("ls", "--data", "/nonexistent", token=False,
                   env={"HEARTH_TOKEN": daemon.token})
    assert r.returncode == 0, r.stderr
