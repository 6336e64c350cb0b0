"""Versions and aliases through the native API and the CLI: `hearth publish`,
`hearth alias`, `hearth versions`, invoke NAME:ALIAS and NAME:N, and that they
survive a restart."""

import json
import os

from conftest import FIXTURES


def deploy(d, name, fixture, *extra):
    return d.cli("deploy", name, "--runtime", "provided", "--code",
                 os.path.join(FIXTURES, fixture), *extra, check=True)


def test_publish_alias_invoke(daemon):
    deploy(daemon, "fn", "echo")
    assert daemon.cli("publish", "fn", check=True).stdout == b"1\n"
    # Nothing changed: the same version.
    assert daemon.cli("publish", "fn", check=True).stdout == b"1\n"
    r = daemon.cli("alias", "fn", "live", "1", "--description", "prod", check=True)
    assert b"fn:live -> version 1" in r.stdout
    deploy(daemon, "fn", "logger")

    assert json.loads(daemon.cli("invoke", "fn", check=True).stdout) == {"logged": 2}
    r = daemon.cli("invoke", "fn:live", "--payload", '{"v":1}', check=True)
    assert json.loads(r.stdout) == {"v": 1}
    r = daemon.cli("invoke", "fn:1", "--payload", '{"v":2}', check=True)
    assert json.loads(r.stdout) == {"v": 2}
    status, headers, _ = daemon.invoke("fn:live")
    assert status == 200 and headers["X-Amz-Executed-Version"] == "1"
    status, headers, _ = daemon.request("POST", "/v1/functions/fn/invoke?qualifier=1", "{}")
    assert status == 200 and headers["X-Amz-Executed-Version"] == "1"

    # Each version runs in its own instances, with its own version in the environment.
    deploy(daemon, "env", "envdump")
    daemon.cli("publish", "env", check=True)
    env = json.loads(daemon.cli("invoke", "env:1", check=True).stdout)
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
    assert "[1]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]

    assert daemon.cli("publish", "fn", check=True).stdout == b"2\n"
    daemon.cli("alias", "fn", "live", "2", check=True)
    assert json.loads(daemon.cli("invoke", "fn:live", check=True).stdout) == {"logged": 2}

    out = daemon.cli("versions", "fn", check=True).stdout.decode().splitlines()
    assert out[0].split()[0] == "VERSION" and [l.split()[0] for l in out[1:]] == ["1", "2"]
    out = daemon.cli("alias", "fn", check=True).stdout.decode().splitlines()
    assert out[1].split()[:2] == ["live", "2"]

    # The tail of a call's log comes back on the native API too.
    import base64
    status, headers, _ = daemon.invoke("fn", headers={"X-Amz-Log-Type": "Tail"})
    assert "line one" in base64.b64decode(headers["X-Amz-Log-Result"]).decode()

    daemon.cli("alias", "fn", "--delete", "live", check=True)
    r = daemon.cli("invoke", "fn:live")
    assert r.returncode == 1 and b"has no alias 'live'" in r.stderr


def test_bad_input(daemon):
    deploy(daemon, "fn", "echo")
    r = daemon.cli("publish", "nope")
    assert r.returncode == 1 and b"'nope' does not exist" in r.stderr
    r = daemon.cli("alias", "fn", "live", "4")
    assert r.returncode == 1 and b"no version 4" in r.stderr
    r = daemon.cli("alias", "fn", "123", "$LATEST")
    assert r.returncode == 1 and b"cannot be all digits" in r.stderr
    r = daemon.cli("alias", "fn", "a.b", "$LATEST")
    assert r.returncode == 1 and b"invalid alias name" in r.stderr
    r = daemon.cli("alias", "fn", "x", "v1")
    assert r.returncode == 1 and b"invalid version 'v1'" in r.stderr
    r = daemon.cli("invoke", "fn:7")
    assert r.returncode == 1 and b"no version 7" in r.stderr
    r = daemon.cli("invoke", "fn:")
    assert r.returncode == 2
    status, _, body = daemon.request("PUT", "/v1/functions/fn/aliases/x", {"version": []})
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidRequest"
    status, _, _ = daemon.request("POST", "/v1/functions/fn:x/invoke?qualifier=y", "{}")
    assert status == 400
    r = daemon.cli("alias", "fn", "a")
    assert r.returncode == 2


def test_versions_survive_restart(make_daemon, tmp_path):
    d = make_daemon(data=tmp_path / "data")
    deploy(d, "fn", "echo")
    d.cli("publish", "fn", check=True)
    d.cli("alias", "fn", "live", "1", check=True)
    deploy(d, "fn", "logger")
    d.stop()
    d.start()
    r = d.cli("invoke", "fn:live", "--payload", '{"k":1}', check=True)
    assert json.loads(r.stdout) == {"k": 1}
    # Deleting the function takes its versions and aliases with it.
    d.cli("rm", "fn", check=True)
    deploy(d, "fn", "logger")
    r = d.cli("invoke", "fn:live")
    assert r.returncode == 1 and b"has no alias" in r.stderr
    assert d.cli("publish", "fn", check=True).stdout == b"1\n"
