"""The AWS Lambda API driven by the real AWS CLI (Debian's awscli) with the key
pair `hearth credentials` prints: create, invoke (sync, Event, Tail, DryRun,
qualifiers), list, get, update, publish, aliases, concurrency, delete, and
requests that are signed wrongly or not at all."""

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import zipfile

import pytest

from conftest import FIXTURES

AWS = "/usr/bin/aws"
pytestmark = pytest.mark.skipif(not os.path.exists(AWS),
                                reason="Debian's awscli is not installed (scripts/deps.sh)")


def fixture_zip(tmp_path, fixture):
    path = tmp_path / (fixture + ".zip")
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        with open(os.path.join(FIXTURES, fixture, "bootstrap"), "rb") as f:
            z.writestr(info, f.read())
    return str(path)


class Aws:
    """The AWS CLI pointed at the daemon, with hearth's credentials and no
    user configuration (so the test never reads ~/.aws)."""

    def __init__(self, daemon, tmp_path):
        self.daemon = daemon
        r = daemon.cli("credentials", "--profile", "hearth", check=True)
        creds = tmp_path / "aws-credentials"
        creds.write_bytes(r.stdout)
        config = tmp_path / "aws-config"
        config.write_text("[profile hearth]\nregion = us-east-1\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({
            "AWS_SHARED_CREDENTIALS_FILE": str(creds),
            "AWS_CONFIG_FILE": str(config),
            "AWS_PROFILE": "hearth",
            "AWS_MAX_ATTEMPTS": "1",     # a 429 is an answer here, not something to retry
            "AWS_PAGER": "",
        })
        self.cwd = str(tmp_path)

    def run(self, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([AWS, "--endpoint-url", self.daemon.url, "--output", "json",
                               "lambda"] + list(args), capture_output=True, env=e,
                              cwd=self.cwd, timeout=120)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, "aws lambda %s: %s" % (" ".join(args), r.stderr.decode())
        return json.loads(r.stdout) if r.stdout.strip() else None

    def invoke(self, *args, payload=None):
        out = os.path.join(self.cwd, "out.json")
        extra = ["--cli-binary-format", "raw-in-base64-out"]
        if payload is not None:
            extra += ["--payload", json.dumps(payload)]
        meta = self.ok("invoke", *args, *extra, out)
        with open(out, "rb") as f:
            return meta, f.read()


@pytest.fixture
def aws(daemon, tmp_path):
    return Aws(daemon, tmp_path)


def create(aws, tmp_path, name, fixture, *extra):
    return aws.ok("create-function", "--function-name", name, "--runtime", "provided.al2023",
                  "--role", "arn:aws:iam::123456789012:role/any", "--handler", "handler",
                  "--zip-file", "fileb://" + fixture_zip(tmp_path, fixture), *extra)


def test_full_cycle(aws, daemon, tmp_path):
    cfg = create(aws, tmp_path, "fn", "echo", "--memory-size", "256", "--environment",
                 "Variables={GREETING=hi}")
    assert cfg["FunctionName"] == "fn"
    assert cfg["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert cfg["Version"] == "$LATEST" and cfg["MemorySize"] == 256
    assert cfg["Environment"]["Variables"] == {"GREETING": "hi"}
    assert len(base64.b64decode(cfg["CodeSha256"])) == 32

    # Synchronous, with the log's tail.
    meta, payload = aws.invoke("--function-name", "fn", "--log-type", "Tail",
                               payload={"a": 1})
    assert meta["StatusCode"] == 200 and meta["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in meta
    assert json.loads(payload) == {"a": 1}
    tail = base64.b64decode(meta["LogResult"]).decode()
    assert tail.startswith("START RequestId: ") and "Version: $LATEST" in tail
    assert "\nEND RequestId: " in tail and "\nREPORT RequestId: " in tail
    assert "Billed Duration: " in tail

    # Asynchronous: 202 now, and the event runs soon after.
    meta = aws.ok("invoke", "--function-name", "fn", "--invocation-type", "Event",
                  "--cli-binary-format", "raw-in-base64-out", "--payload", '{"e":1}',
                  os.path.join(aws.cwd, "ev.json"))
    assert meta["StatusCode"] == 202
    deadline = time.time() + 30
    while time.time() < deadline:
        _, _, body = daemon.request("GET", "/v1/functions/fn/events")
        states = [e["state"] for e in json.loads(body)["events"]]
        if states == ["succeeded"]:
            break
        time.sleep(0.1)
    assert states == ["succeeded"]

    # DryRun checks the function exists and runs nothing.
    meta = aws.ok("invoke", "--function-name", "fn", "--invocation-type", "DryRun",
                  os.path.join(aws.cwd, "dry.json"))
    assert meta["StatusCode"] == 204

    names = [f["FunctionName"] for f in aws.ok("list-functions")["Functions"]]
    assert names == ["fn"]
    got = aws.ok("get-function", "--function-name", "fn")
    assert got["Configuration"]["FunctionName"] == "fn"
    assert aws.ok("get-function-configuration", "--function-name",
                  "arn:aws:lambda:us-east-1:000000000000:function:fn")["MemorySize"] == 256

    # Publish the echo code as version 1 and point an alias at it; then change $LATEST.
    assert aws.ok("publish-version", "--function-name", "fn")["Version"] == "1"
    alias = aws.ok("create-alias", "--function-name", "fn", "--name", "live",
                   "--function-version", "1")
    assert alias["AliasArn"].endswith(":function:fn:live") and alias["FunctionVersion"] == "1"
    cfg = aws.ok("update-function-code", "--function-name", "fn", "--zip-file",
                 "fileb://" + fixture_zip(tmp_path, "logger"))
    assert cfg["CodeSha256"] != got["Configuration"]["CodeSha256"]

    meta, payload = aws.invoke("--function-name", "fn", payload={"b": 2})
    assert json.loads(payload) == {"logged": 2} and meta["ExecutedVersion"] == "$LATEST"
    meta, payload = aws.invoke("--function-name", "fn", "--qualifier", "live",
                               payload={"b": 2})
    assert json.loads(payload) == {"b": 2} and meta["ExecutedVersion"] == "1"
    meta, payload = aws.invoke("--function-name", "fn:1", payload={"c": 3})
    assert json.loads(payload) == {"c": 3} and meta["ExecutedVersion"] == "1"

    # The tail holds the function's own lines too.
    meta, _ = aws.invoke("--function-name", "fn", "--log-type", "Tail")
    tail = base64.b64decode(meta["LogResult"]).decode()
    assert "line one" in tail and "line two" in tail

    versions = [v["Version"] for v in
                aws.ok("list-versions-by-function", "--function-name", "fn")["Versions"]]
    assert versions == ["$LATEST", "1"]
    moved = aws.ok("update-alias", "--function-name", "fn", "--name", "live",
                   "--function-version", "$LATEST")
    assert moved["FunctionVersion"] == "$LATEST"
    meta, payload = aws.invoke("--function-name", "fn", "--qualifier", "live")
    assert json.loads(payload) == {"logged": 2}
    assert [a["Name"] for a in aws.ok("list-aliases", "--function-name", "fn")["Aliases"]] \
        == ["live"]

    aws.ok("delete-function", "--function-name", "fn")
    assert aws.ok("list-functions")["Functions"] == []
    r = aws.run("get-function", "--function-name", "fn")
    assert r.returncode != 0 and b"ResourceNotFoundException" in r.stderr


def test_wrong_credentials_fail(aws, daemon, tmp_path):
    create(aws, tmp_path, "fn", "echo")
    r = aws.run("list-functions", env={"AWS_SECRET_ACCESS_KEY": "x" * 40,
                                       "AWS_ACCESS_KEY_ID": aws_key(aws)})
    assert r.returncode != 0
    assert b"InvalidSignatureException" in r.stderr
    r = aws.run("invoke", "--function-name", "fn", os.path.join(aws.cwd, "o.json"),
                env={"AWS_ACCESS_KEY_ID": "AKIAAAAAAAAAAAAAAAAA",
                     "AWS_SECRET_ACCESS_KEY": "x" * 40})
    assert r.returncode != 0 and b"UnrecognizedClientException" in r.stderr
    # Nothing ran: no instance was started for the rejected invoke.
    assert daemon.instances() == []

    # Unsigned (the admin token is no key to this API), in Lambda's error shape.
    req = urllib.request.Request(daemon.url + "/2015-03-31/functions/", method="GET",
                                 headers={"Authorization": "Bearer " + daemon.token})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 403
    assert e.value.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    body = json.loads(e.value.read())
    assert body["Type"] == "User" and body["message"]
    req = urllib.request.Request(daemon.url + "/2015-03-31/functions/", method="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 403
    assert e.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def aws_key(aws):
    with open(aws.env["AWS_SHARED_CREDENTIALS_FILE"]) as f:
        for line in f:
            if line.startswith("aws_access_key_id"):
                return line.split("=", 1)[1].strip()
    raise AssertionError("no key in the credentials file")


def test_errors_in_lambdas_shape(aws, tmp_path):
    create(aws, tmp_path, "err", "error")
    r = aws.run("create-function", "--function-name", "err", "--runtime", "provided",
                "--role", "r", "--zip-file", "fileb://" + fixture_zip(tmp_path, "echo"))
    assert r.returncode != 0 and b"ResourceConflictException" in r.stderr
    r = aws.run("create-function", "--function-name", "x", "--runtime", "cobol9",
                "--role", "r", "--zip-file", "fileb://" + fixture_zip(tmp_path, "echo"))
    assert r.returncode != 0 and b"InvalidParameterValueException" in r.stderr
    r = aws.run("invoke", "--function-name", "err", "--qualifier", "nope",
                os.path.join(aws.cwd, "o.json"))
    assert r.returncode != 0 and b"ResourceNotFoundException" in r.stderr
    r = aws.run("create-alias", "--function-name", "err", "--name", "live",
                "--function-version", "7")
    assert r.returncode != 0 and b"ResourceNotFoundException" in r.stderr

    # A function error is still a 200, flagged, with the error as payload.
    meta, payload = aws.invoke("--function-name", "err")
    assert meta["StatusCode"] == 200 and meta["FunctionError"] == "Unhandled"
    assert "boom" in json.loads(payload)["errorMessage"]

    # Reserved concurrency 0 throttles every call with a 429.
    assert aws.ok("put-function-concurrency", "--function-name", "err",
                  "--reserved-concurrent-executions", "0") == \
        {"ReservedConcurrentExecutions": 0}
    assert aws.ok("get-function", "--function-name", "err")["Concurrency"] == \
        {"ReservedConcurrentExecutions": 0}
    r = aws.run("invoke", "--function-name", "err", os.path.join(aws.cwd, "o.json"))
    assert r.returncode != 0 and b"TooManyRequestsException" in r.stderr
    settings = aws.ok("get-account-settings")
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] == 1
    aws.ok("delete-function-concurrency", "--function-name", "err")
    meta, _ = aws.invoke("--function-name", "err")
    assert meta["FunctionError"] == "Unhandled"
