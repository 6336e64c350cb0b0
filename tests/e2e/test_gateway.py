"""The HTTP gateway (docs/gateway.md) against the real daemon: routes from the CLI
and the API, the payload format 2.0 event (params, proxy, query, headers, cookies,
binary bodies), the response mapping (cookies, base64, plain JSON), errors as
JSON 502/504/404/401, bearer auth, CORS, keep-alive and pipelining, limits and
slow clients."""

import base64
import json
import os
import socket
import time

from conftest import REPO

PY = os.path.join(REPO, "tests", "fixtures", "python")


def deploy_py(d, name="gw", *extra):
    d.cli("deploy", name, "--runtime", "python3", "--handler", "gateway.handler", "--code",
          PY, *extra, check=True)


def route(d, key, target, *extra, check=True):
    return d.cli("route", "add", key, target, *extra, check=check)


def gw_sock(d):
    host, port = d.gateway_url[len("http://"):].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def jbody(r):
    return json.loads(r[2])


def hdr(r, name):
    return [v for k, v in r[1] if k.lower() == name.lower()]


def test_params_query_headers_cookies(daemon):
    daemon.deploy_fixture("echo", "echo", "--route", "GET /hello/{name}")
    r = daemon.gateway("GET", "/hello/bob%20x?x=1&x=2&y=%41",
                       headers={"Cookie": "a=1; b=2", "X-Multi": "v1", "User-Agent": "t/1"})
    assert r[0] == 200, r
    assert hdr(r, "content-type") == ["application/json"]
    ev = jbody(r)
    assert ev["version"] == "2.0"
    assert ev["routeKey"] == "GET /hello/{name}"
    assert ev["rawPath"] == "/hello/bob%20x"
    assert ev["rawQueryString"] == "x=1&x=2&y=%41"
    assert ev["queryStringParameters"] == {"x": "1,2", "y": "A"}
    assert ev["pathParameters"] == {"name": "bob x"}
    assert ev["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in ev["headers"]
    assert ev["headers"]["x-multi"] == "v1"
    ctx = ev["requestContext"]
    assert ctx["http"] == {"method": "GET", "path": "/hello/bob%20x", "protocol": "HTTP/1.1",
                           "sourceIp": "127.0.0.1", "userAgent": "t/1"}
    assert ctx["routeKey"] == "GET /hello/{name}" and ctx["stage"] == "$default"
    assert abs(ctx["timeEpoch"] / 1000 - time.time()) < 60
    assert hdr(r, "apigw-requestid") == [ctx["requestId"]]
    assert ev["isBase64Encoded"] is False and "body" not in ev


def test_repeated_headers_joined(daemon):
    daemon.deploy_fixture("echo", "echo")
    route(daemon, "GET /h", "echo")
    s = gw_sock(daemon)
    s.sendall(b"GET /h HTTP/1.1\r\nHost: x\r\nX-M: v1\r\nX-M: v2\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    ev = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert ev["headers"]["x-m"] == "v1,v2"


def test_proxy_any_default_and_specificity(daemon):
    daemon.deploy_fixture("echo", "echo")
    route(daemon, "ANY /api/{proxy+}", "echo")
    route(daemon, "GET /api/items/{id}", "echo")
    route(daemon, "$default", "echo")
    ev = jbody(daemon.gateway("DELETE", "/api/a/b/c"))
    assert ev["routeKey"] == "ANY /api/{proxy+}"
    assert ev["pathParameters"] == {"proxy": "a/b/c"}
    assert ev["requestContext"]["http"]["method"] == "DELETE"
    ev = jbody(daemon.gateway("GET", "/api/items/7"))
    assert ev["routeKey"] == "GET /api/items/{id}" and ev["pathParameters"] == {"id": "7"}
    # The specific path without a GET falls back to the greedy ANY route.
    assert jbody(daemon.gateway("POST", "/api/items/7"))["routeKey"] == "ANY /api/{proxy+}"
    ev = jbody(daemon.gateway("GET", "/elsewhere?q=1"))
    assert ev["routeKey"] == "$default" and "pathParameters" not in ev
    daemon.cli("route", "rm", "$default", check=True)
    r = daemon.gateway("GET", "/elsewhere")
    assert r[0] == 404 and jbody(r) == {"message": "Not Found"}


def test_binary_and_text_bodies(daemon):
    deploy_py(daemon)
    route(daemon, "POST /echobody", "gw")
    route(daemon, "ANY /{proxy+}", "gw")
    blob = bytes(range(256)) * 64
    r = daemon.gateway("POST", "/echobody", blob, {"Content-Type": "application/octet-stream"})
    assert r[0] == 200 and r[2] == blob
    r = daemon.gateway("POST", "/ev", b'{"a": 1}', {"Content-Type": "application/json"})
    ev = jbody(r)
    assert ev["body"] == '{"a": 1}' and ev["isBase64Encoded"] is False
    r = daemon.gateway("POST", "/ev", b"\x00\x01\xff", {"Content-Type": "image/png"})
    ev = jbody(r)
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == b"\x00\x01\xff"
    r = daemon.gateway("GET", "/binary")
    assert r[0] == 200 and r[2] == bytes(range(256))
    assert hdr(r, "content-type") == ["application/octet-stream"]


def test_response_mapping(daemon):
    deploy_py(daemon)
    route(daemon, "ANY /{proxy+}", "gw")
    r = daemon.gateway("GET", "/cookies")
    assert r[0] == 201 and r[2] == b"made"
    assert hdr(r, "x-a") == ["1"]
    assert hdr(r, "set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    r = daemon.gateway("GET", "/plain")
    assert r[0] == 200 and jbody(r) == {"hello": "world"}
    assert hdr(r, "content-type") == ["application/json"]


def test_errors_are_json_502_504(daemon):
    deploy_py(daemon, "gw", "--timeout", "1")
    route(daemon, "ANY /{proxy+}", "gw")
    r = daemon.gateway("GET", "/raise")
    assert r[0] == 502 and "message" in jbody(r)
    r = daemon.gateway("GET", "/bad")
    assert r[0] == 502 and "malformed" in jbody(r)["message"]
    t = time.time()
    r = daemon.gateway("GET", "/sleep?s=5", timeout=30)
    assert r[0] == 504 and "timed out" in jbody(r)["message"]
    assert time.time() - t < 15
    # A route whose function is gone answers 502, not a hang.
    daemon.deploy_fixture("echo", "tmp")
    route(daemon, "GET /tmp", "tmp")
    daemon.cli("rm", "tmp", check=True)
    r = daemon.gateway("GET", "/tmp")
    assert r[0] == 502 and "does not exist" in jbody(r)["message"]


def test_bearer_auth(daemon):
    daemon.deploy_fixture("echo", "echo")
    route(daemon, "GET /secret", "echo", "--token", "s3cret-token")
    r = daemon.gateway("GET", "/secret")
    assert r[0] == 401 and jbody(r) == {"message": "Unauthorized"}
    assert hdr(r, "www-authenticate") == ["Bearer"]
    assert daemon.gateway("GET", "/secret", headers={"Authorization": "Bearer wrong"})[0] == 401
    r = daemon.gateway("GET", "/secret", headers={"Authorization": "Bearer s3cret-token"})
    assert r[0] == 200
    # The token is write-only.
    listed = json.loads(daemon.request("GET", "/v1/routes")[2])["routes"]
    assert listed[0]["auth"] == "bearer" and "s3cret" not in json.dumps(listed)
    assert "token" not in listed[0]


def test_cors(daemon):
    daemon.deploy_fixture("echo", "echo")
    route(daemon, "POST /c", "echo", "--cors-origin", "https://app.example",
          "--cors-methods", "GET,POST", "--cors-headers", "content-type,x-id",
          "--cors-expose", "x-trace", "--cors-max-age", "300")
    r = daemon.gateway("OPTIONS", "/c", headers={"Origin": "https://app.example",
                                                 "Access-Control-Request-Method": "POST"})
    assert r[0] == 204
    assert hdr(r, "access-control-allow-origin") == ["https://app.example"]
    assert hdr(r, "access-control-allow-methods") == ["GET, POST"]
    assert hdr(r, "access-control-allow-headers") == ["content-type, x-id"]
    assert hdr(r, "access-control-max-age") == ["300"]
    r = daemon.gateway("POST", "/c", b"{}", {"Origin": "https://app.example",
                                              "Content-Type": "application/json"})
    assert r[0] == 200
    assert hdr(r, "access-control-allow-origin") == ["https://app.example"]
    assert hdr(r, "access-control-expose-headers") == ["x-trace"]
    r = daemon.gateway("POST", "/c", b"{}", {"Origin": "https://evil.example"})
    assert r[0] == 200 and hdr(r, "access-control-allow-origin") == []


def test_keepalive_and_pipelining(daemon):
    daemon.deploy_fixture("echo", "echo")
    route(daemon, "GET /k/{n}", "echo")
    s = gw_sock(daemon)
    reqs = b"".join(b"GET /k/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    s.sendall(reqs)
    data, order = b"", []
    while len(order) < 5:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode()
            assert head.startswith("HTTP/1.1 200"), head
            n = int([l.split(":")[1] for l in head.split("\r\n")
                     if l.lower().startswith("content-length:")][0])
            if len(data) >= head_end + 4 + n:
                ev = json.loads(data[head_end + 4:head_end + 4 + n])
                order.append(ev["pathParameters"]["n"])
                data = data[head_end + 4 + n:]
                continue
        chunk = s.recv(65536)
        assert chunk, "connection closed after %d replies" % len(order)
        data += chunk
    assert order == ["0", "1", "2", "3", "4"]
    s.close()


def test_size_limit_and_slow_client(make_daemon):
    d = make_daemon(env={"HEARTH_GATEWAY_HEADER_TIMEOUT_MS": "1000"})
    d.deploy_fixture("echo", "echo")
    route(d, "POST /up", "echo")
    s = gw_sock(d)
    s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (5 << 20))
    assert s.recv(65536).startswith(b"HTTP/1.1 413")
    s.close()
    # A client that never finishes its head is cut off, not waited for.
    s = gw_sock(d)
    s.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\n")
    t = time.time()
    while s.recv(65536):
        pass
    assert time.time() - t < 10, "a slow client was waited for"
    s.close()


def test_route_cli_and_api_errors(daemon):
    daemon.deploy_fixture("echo", "echo")
    r = route(daemon, "FETCH /x", "echo", check=False)
    assert r.returncode == 1 and b"invalid method" in r.stderr
    r = route(daemon, "GET /a/{p+}/b", "echo", check=False)
    assert r.returncode == 1 and b"not the last" in r.stderr
    r = route(daemon, "GET /x", "nosuch", check=False)
    assert r.returncode == 1 and b"nosuch" in r.stderr
    r = route(daemon, "GET /x", "echo", "--cors-methods", "GET", check=False)
    assert r.returncode == 2 and b"--cors-origin" in r.stderr
    st, _, body = daemon.request("POST", "/v1/routes", {"route": "GET /x", "function": "echo",
                                                        "auth": "bearer"})
    assert st == 400 and b"token" in body
    st, _, body = daemon.request("POST", "/v1/routes", {"route": "GET /x", "function": "echo",
                                                        "color": "red"})
    assert st == 400 and b"unknown field" in body
    # add twice replaces; rm by key or id; ls shows what is there.
    route(daemon, "GET /x", "echo")
    out = route(daemon, "GET /x", "echo:$LATEST").stdout.decode()
    rid = out.split("id")[1].split()[0]
    ls = daemon.cli("route", "ls", check=True).stdout.decode()
    assert "GET /x" in ls and ls.count("GET /x") == 1
    st, _, body = daemon.request("GET", "/v1/routes/" + rid)
    assert st == 200 and json.loads(body)["route"] == "GET /x"
    daemon.cli("route", "rm", rid, check=True)
    r = daemon.cli("route", "rm", "GET /x")
    assert r.returncode == 1 and b"does not exist" in r.stderr


def test_routes_survive_restart_and_qualifiers(make_daemon, tmp_path):
    d = make_daemon(data=tmp_path / "keep")
    d.deploy_fixture("echo", "echo")
    d.cli("publish", "echo", check=True)
    d.cli("alias", "echo", "live", "1", check=True)
    route(d, "GET /v/{x}", "echo:live")
    route(d, "GET /n", "echo:1")
    assert d.gateway("GET", "/v/1")[0] == 200
    d.stop()
    d2 = make_daemon(data=tmp_path / "keep")
    assert jbody(d2.gateway("GET", "/v/2"))["pathParameters"] == {"x": "2"}
    assert d2.gateway("GET", "/n")[0] == 200
    r = route(d2, "GET /z", "echo:nope", check=False)
    assert r.returncode == 1
