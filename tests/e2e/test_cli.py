"""End-to-end tests of the hearth CLI against an in-memory fake of the admin API.

The fake (fake_api.py) implements docs/api.md's routes, so every command is
exercised over real HTTP: flags, headers, bodies, status codes, error shapes.
The binary is $HEARTH_BUILD/hearth (default /work/main/build/hearth).
"""

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_api import FakeApi  # noqa: E402

BUILD = os.environ.get("HEARTH_BUILD", "/work/main/build")
HEARTH = os.path.join(BUILD, "hearth")
COMMANDS = ["serve", "deploy", "invoke", "ls", "get", "rm", "logs", "events", "ps", "stats"]

pytestmark = pytest.mark.skipif(
    not os.access(HEARTH, os.X_OK),
    reason=f"no hearth binary at {HEARTH} (run make, or set HEARTH_BUILD)")


@pytest.fixture
def api():
    try:
        fake = FakeApi(token="tok-123").start()
    except OSError as e:
        pytest.skip(f"cannot run the fake API server on loopback: {e}")
    yield fake
    fake.stop()


@pytest.fixture
def cli(api, tmp_path):
    """Runs hearth in an empty directory (so ./hearth-data is not picked up by
    accident), pointed at the fake API, with HEARTH_TOKEN set unless told not to."""

    def run(*args, token="tok-123", env=None, stdin=None, check=None, timeout=20):
        e = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        e["HEARTH_API"] = api.url
        if token is not None:
            e["HEARTH_TOKEN"] = token
        e.update(env or {})
        p = subprocess.run([HEARTH, *args], cwd=tmp_path, env=e, input=stdin,
                           capture_output=True, text=True, timeout=timeout)
        if check is not None:
            assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
        return p

    return run


def make_code_dir(tmp_path):
    d = tmp_path / "code"
    d.mkdir()
    (d / "bootstrap").write_text("#!/bin/sh\necho hi\n")
    (d / "bootstrap").chmod(0o755)
    (d / "lib").mkdir()
    (d / "lib" / "data.txt").write_text("data\n")
    return d


def deploy(cli, tmp_path, name="hello", handler="echo"):
    d = tmp_path / f"code-{name}"
    d.mkdir()
    (d / "bootstrap").write_text("x")
    return cli("deploy", name, "--runtime", "provided", "--handler", handler, "--code", str(d),
               check=0)


def last_request(api, method=None):
    reqs = [r for r in api.state.requests if method is None or r[0] == method]
    return reqs[-1]


# -- help and usage --------------------------------------------------------

def test_help_lists_every_command(cli):
    p = cli("--help", check=0)
    assert p.stdout.startswith("usage: hearth")
    for c in COMMANDS:
        assert f"\n   {c} " in p.stdout


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(cli, api, cmd):
    p = cli(cmd, "--help", check=0)
    assert p.stdout.startswith(f"usage: hearth {cmd}")
    assert p.stderr == ""
    assert cli("help", cmd, check=0).stdout == p.stdout
    assert api.state.requests == []


@pytest.mark.parametrize("args, message", [
    (["deploy", "f", "--x"], "hearth: unknown option '--x' for 'deploy'"),
    (["ls", "--bogus=1"], "hearth: unknown option '--bogus' for 'ls'"),
    (["invoke", "f", "-z"], "hearth: unknown option '-z' for 'invoke'"),
    (["deploy", "f", "--runtime"], "hearth: option '--runtime' for 'deploy' needs a value"),
    (["logs", "f", "--follow=yes"], "hearth: option '--follow' for 'logs' takes no value"),
    (["get"], "hearth: 'get' needs a function NAME"),
    (["get", "a", "b"], "hearth: unexpected argument 'b' for 'get'"),
    (["ps", "extra"], "hearth: unexpected argument 'extra' for 'ps'"),
    (["rm", "bad/name"], "hearth: invalid function name 'bad/name'"),
    (["invoke", "x" * 65], "invalid function name"),
])
def test_usage_errors_exit_2(cli, api, args, message):
    p = cli(*args, check=2)
    assert message in p.stderr
    assert f"see 'hearth {args[0]} --help'" in p.stderr
    assert p.stdout == ""
    assert api.state.requests == []


def test_unknown_command_and_no_command(cli):
    p = cli("frobnicate", check=2)
    assert "'frobnicate' is not a hearth command" in p.stderr
    p = cli(check=2)
    assert "usage: hearth" in p.stderr
    p = cli("--nope", check=2)
    assert "unknown option '--nope'" in p.stderr


# -- deploy ----------------------------------------------------------------

def test_deploy_directory_creates_then_updates(cli, api, tmp_path):
    d = make_code_dir(tmp_path)
    p = cli("deploy", "hello", "--runtime", "provided", "--handler", "echo", "--code", str(d),
            "--memory", "256", "--timeout", "10", "--keepalive", "30",
            "--description", "greets", "--env", "A=1", "--env", "B=x=y", "-e", "A=2", check=0)
    sha = api.state.functions["hello"]["code_sha256"]
    assert p.stdout == f"deployed hello (revision 1, code sha256 {sha[:8]}...)\n"
    method, path, headers, body = last_request(api, "PUT")
    assert path == "/v1/functions/hello"
    assert headers["Content-Type"] == "application/json"
    req = json.loads(body)
    assert req["runtime"] == "provided" and req["handler"] == "echo"
    assert req["memory_mb"] == 256 and req["timeout_s"] == 10 and req["keepalive_s"] == 30
    assert req["description"] == "greets"
    assert req["environment"] == {"A": "2", "B": "x=y"}
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(req["code_base64"])), mode="r:gz") as t:
        names = set(n.lstrip("./") for n in t.getnames())
        assert {"bootstrap", "lib/data.txt"} <= names
        assert t.extractfile([m for m in t.getmembers() if m.name.lstrip("./") == "bootstrap"][0]).read() == b"#!/bin/sh\necho hi\n"

    # An update sends only what is given and keeps the rest.
    p = cli("deploy", "hello", "--memory", "512", check=0)
    assert p.stdout.startswith("deployed hello (revision 2, code sha256 ")
    assert json.loads(last_request(api, "PUT")[3]) == {"memory_mb": 512}
    assert api.state.functions["hello"]["handler"] == "echo"


def test_deploy_zip_and_tgz_sent_as_is(cli, api, tmp_path):
    z = tmp_path / "f.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("bootstrap", "hi")
    cli("deploy", "z", "--runtime", "python3", "--code", str(z), check=0)
    assert api.state.code["z"] == z.read_bytes()

    for ext in ("tar.gz", "tgz"):
        t = tmp_path / f"f.{ext}"
        with tarfile.open(t, "w:gz") as tf:
            info = tarfile.TarInfo("bootstrap")
            info.size = 2
            tf.addfile(info, io.BytesIO(b"hi"))
        cli("deploy", "t", "--runtime", "nodejs", "--code", str(t), check=0)
        assert api.state.code["t"] == t.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--runtime", "java"], "--runtime wants provided, python3 or nodejs, not 'java'"),
    (["--memory", "64"], "--memory wants MB from 128 to 10240, not '64'"),
    (["--memory", "10241"], "--memory wants MB from 128 to 10240"),
    (["--memory", "12x"], "--memory wants MB from 128 to 10240, not '12x'"),
    (["--timeout", "0"], "--timeout wants seconds from 1 to 900, not '0'"),
    (["--timeout", "901"], "--timeout wants seconds from 1 to 900"),
    (["--timeout", "-5"], "--timeout wants seconds from 1 to 900"),
    (["--env", "NOEQUALS"], "--env wants KEY=VALUE"),
    (["--env", "=v"], "--env wants KEY=VALUE"),
    (["--env", "1X=v"], "--env wants KEY=VALUE"),
    (["--handler", ""], "--handler cannot be empty"),
])
def test_deploy_validates_locally(cli, api, args, message):
    p = cli("deploy", "f", *args, check=2)
    assert message in p.stderr
    assert "see 'hearth deploy --help'" in p.stderr
    assert api.state.requests == []


def test_deploy_bad_name(cli, api):
    p = cli("deploy", "no spaces", "--runtime", "provided", check=2)
    assert "invalid function name 'no spaces'" in p.stderr
    assert api.state.requests == []


def test_deploy_bad_code_paths(cli, api, tmp_path):
    p = cli("deploy", "f", "--runtime", "provided", "--code", str(tmp_path / "missing"), check=1)
    assert f"hearth: error: cannot use code '{tmp_path / 'missing'}': No such file or directory" in p.stderr
    (tmp_path / "f.txt").write_text("x")
    p = cli("deploy", "f", "--runtime", "provided", "--code", str(tmp_path / "f.txt"), check=1)
    assert "is not a directory, .zip, .tar.gz or .tgz file" in p.stderr
    (tmp_path / "fake.zip").write_text("not a zip")
    p = cli("deploy", "f", "--runtime", "provided", "--code", str(tmp_path / "fake.zip"), check=1)
    assert "is not a zip archive" in p.stderr
    (tmp_path / "fake.tgz").write_text("not gzip")
    p = cli("deploy", "f", "--runtime", "provided", "--code", str(tmp_path / "fake.tgz"), check=1)
    assert "is not a gzip-compressed tar archive" in p.stderr
    assert api.state.requests == []


def test_deploy_server_error_is_reported(cli, api):
    # Creating without code is only wrong to the server.
    p = cli("deploy", "f", "--runtime", "provided", check=1)
    assert p.stderr == "hearth: error: runtime and code are required to create a function\n"
    assert p.stdout == ""


# -- ls / get / rm ---------------------------------------------------------

def test_ls(cli, api, tmp_path):
    p = cli("ls", check=0)
    assert p.stdout.split() == ["NAME", "RUNTIME", "MEMORY", "TIMEOUT", "REVISION", "UPDATED"]
    deploy(cli, tmp_path, "bravo")
    deploy(cli, tmp_path, "alpha")
    lines = cli("ls", check=0).stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[:5] == ["alpha", "provided", "128MB", "3s", "1"]
    assert lines[2].split()[0] == "bravo"
    # Columns line up: every row's RUNTIME starts where the header's does.
    col = lines[0].index("RUNTIME")
    assert all(line[col:].startswith("provided") for line in lines[1:])


def test_get(cli, api, tmp_path):
    deploy(cli, tmp_path)
    p = cli("get", "hello", check=0)
    assert json.loads(p.stdout) == api.state.functions["hello"]
    assert p.stdout.startswith("{\n  \"")
    p = cli("get", "nope", check=1)
    assert p.stderr == "hearth: error: function 'nope' does not exist\n"


def test_rm(cli, api, tmp_path):
    deploy(cli, tmp_path)
    p = cli("rm", "hello", check=0)
    assert p.stdout == "removed hello\n"
    assert last_request(api)[0:2] == ("DELETE", "/v1/functions/hello")
    assert "hello" not in api.state.functions
    p = cli("rm", "hello", check=1)
    assert "hearth: error: function 'hello' does not exist" in p.stderr


# -- invoke ----------------------------------------------------------------

def test_invoke_payload_forms(cli, api, tmp_path):
    deploy(cli, tmp_path)
    p = cli("invoke", "hello", check=0)
    assert p.stdout == "{}\n"
    method, path, headers, body = last_request(api)
    assert (method, path) == ("POST", "/v1/functions/hello/invoke")
    assert headers["X-Amz-Invocation-Type"] == "RequestResponse"
    assert headers["Content-Type"] == "application/json"

    assert cli("invoke", "hello", "--payload", '{"name": "Ada"}', check=0).stdout == '{"name": "Ada"}\n'
    f = tmp_path / "event.json"
    f.write_text('[1, 2, 3]\n')
    assert cli("invoke", "hello", "-p", f"@{f}", check=0).stdout == "[1, 2, 3]\n"
    assert cli("invoke", "hello", "--payload", "-", stdin='"from stdin"', check=0).stdout == '"from stdin"\n'


def test_invoke_bad_payload(cli, api, tmp_path):
    deploy(cli, tmp_path)
    n = len(api.state.requests)
    p = cli("invoke", "hello", "--payload", "{nope", check=1)
    assert "hearth: error: the payload is not valid JSON" in p.stderr
    p = cli("invoke", "hello", "--payload", f"@{tmp_path}/missing.json", check=1)
    assert "cannot read the payload: cannot open" in p.stderr
    assert len(api.state.requests) == n


def test_invoke_adds_missing_newline(cli, api, tmp_path):
    deploy(cli, tmp_path, handler="text")
    assert cli("invoke", "hello", check=0).stdout == "hello\n"


def test_invoke_function_error(cli, api, tmp_path):
    deploy(cli, tmp_path, handler="fail")
    p = cli("invoke", "hello", check=1)
    assert p.stdout == ""
    assert json.loads(p.stderr) == {"errorMessage": "boom", "errorType": "Error"}


def test_invoke_unknown_function(cli, api):
    p = cli("invoke", "ghost", check=1)
    assert p.stderr == "hearth: error: function 'ghost' does not exist\n"


def test_invoke_async_and_events(cli, api, tmp_path):
    deploy(cli, tmp_path)
    p = cli("invoke", "hello", "--async", "--payload", '{"a":1}', check=0)
    rid = p.stdout.strip()
    assert rid == api.state.events["hello"][0]["requestId"]
    assert last_request(api)[2]["X-Amz-Invocation-Type"] == "Event"
    lines = cli("events", "hello", check=0).stdout.splitlines()
    assert lines[0].split() == ["REQUEST", "ID", "STATE", "ATTEMPTS", "CREATED", "NEXT", "LAST", "ERROR"]
    assert lines[1].split()[:3] == [rid, "pending", "0"]
    assert cli("events", "ghost", check=1).stderr == "hearth: error: function 'ghost' does not exist\n"


# -- logs ------------------------------------------------------------------

def test_logs_reads_every_page(cli, api, tmp_path):
    deploy(cli, tmp_path)
    cli("invoke", "hello", check=0)
    cli("invoke", "hello", check=0)
    api.state.page_size = 3     # 8 lines: three pages and an empty one
    p = cli("logs", "hello", check=0)
    assert p.stdout.splitlines() == api.state.logs["hello"]
    p = cli("logs", "hello", "--cursor", "6", check=0)
    assert p.stdout.splitlines() == api.state.logs["hello"][6:]
    assert cli("logs", "hello", "--cursor", "x", check=2).returncode == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_logs_follow_until_signal(cli, api, tmp_path, sig):
    deploy(cli, tmp_path)
    cli("invoke", "hello", check=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_API=api.url, HEARTH_TOKEN="tok-123")
    proc = subprocess.Popen([HEARTH, "logs", "hello", "--follow"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = [proc.stdout.readline() for _ in range(4)]
        assert got[0].startswith("START RequestId:")
        cli("invoke", "hello", check=0)      # new lines appear while following
        got = [proc.stdout.readline() for _ in range(4)]
        assert got[0].startswith("START RequestId:") and got[3].startswith("REPORT")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert err == ""


# -- ps --------------------------------------------------------------------

def test_ps(cli, api):
    lines = cli("ps", check=0).stdout.splitlines()
    assert lines == ["ID   FUNCTION   REVISION   STATE   PID   AGE   CALLS   MEMORY"]
    api.state.instances = [
        {"id": 3, "function": "hello", "revision": 1, "state": "idle", "pid": 4242,
         "ageMs": 61500, "calls": 5, "memoryBytes": 1572864},
        {"id": 4, "function": "hello", "revision": 2, "state": "busy", "pid": 4243,
         "ageMs": 250, "calls": 0, "memoryBytes": 0},
    ]
    lines = cli("ps", check=0).stdout.splitlines()
    assert lines[1].split() == ["3", "hello", "1", "idle", "4242", "1m01s", "5", "1.5MB"]
    assert lines[2].split() == ["4", "hello", "2", "busy", "4243", "250ms", "0", "0.0MB"]


# -- token, address and transport errors -----------------------------------

def test_token_from_data_dir(cli, api, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "token").write_text("tok-123\n")
    cli("--data", str(data), "ls", token=None, check=0)     # global option
    cli("ls", "--data", str(data), token=None, check=0)     # per command
    # The default data directory is ./hearth-data.
    (tmp_path / "hearth-data").mkdir()
    (tmp_path / "hearth-data" / "token").write_text("tok-123")
    cli("ls", token=None, check=0)
    assert last_request(api)[2]["Authorization"] == "Bearer tok-123"


def test_hearth_token_env_wins(cli, api, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "token").write_text("stale")
    cli("ls", "--data", str(data), token="tok-123", check=0)


def test_missing_and_wrong_token(cli, api, tmp_path):
    p = cli("ls", token=None, check=1)
    assert "hearth: error: missing or wrong admin token" in p.stderr
    assert "set HEARTH_TOKEN or pass --data DIR (there is no './hearth-data/token')" in p.stderr
    p = cli("ls", token="wrong", check=1)
    assert "hearth: error: missing or wrong admin token" in p.stderr
    assert "refused the token in HEARTH_TOKEN" in p.stderr
    data = tmp_path / "data"
    data.mkdir()
    (data / "token").write_text("wrong")
    p = cli("ls", "--data", str(data), token=None, check=1)
    assert f"refused the token in '{data}/token'" in p.stderr
    (data / "token").write_text("bad token\nwith lines")
    p = cli("ls", "--data", str(data), token=None, check=1)
    assert "is empty or malformed" in p.stderr


def test_daemon_unreachable(cli, api):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                    # nothing listens there now
    url = f"http://127.0.0.1:{port}"
    p = cli("ls", env={"HEARTH_API": url}, check=1)
    assert p.stderr.startswith(f"hearth: cannot reach the daemon at {url}: ")
    assert p.stderr.endswith("(is `hearth serve` running?)\n")


def test_api_url_trailing_slash(cli, api):
    cli("ls", env={"HEARTH_API": api.url + "/"}, check=0)
    assert last_request(api)[1] == "/v1/functions"


def test_error_not_in_api_shape(cli, api):
    api.state.force = (502, "text/plain", b"Bad Gateway\nfrom a proxy")
    p = cli("ls", check=1)
    assert p.stderr == "hearth: error: the daemon answered HTTP 502: Bad Gateway\n"
    api.state.force = (200, "application/json", b"{not json")
    p = cli("ls", check=1)
    assert p.stderr.startswith("hearth: error: the daemon sent invalid JSON")


# -- serve (flags only: the daemon is not under test here) ------------------

@pytest.mark.parametrize("args, message", [
    (["--listen", "nope"], "--listen wants HOST:PORT, not 'nope'"),
    (["--listen", "127.0.0.1:99999"], "--listen wants HOST:PORT"),
    (["--keepalive", "soon"], "--keepalive wants seconds"),
    (["--verbose=2"], "option '--verbose' for 'serve' takes no value"),
    (["extra"], "unexpected argument 'extra' for 'serve'"),
])
def test_serve_flag_errors(cli, args, message):
    p = cli("serve", *args, check=2)
    assert message in p.stderr
    assert "see 'hearth serve --help'" in p.stderr
