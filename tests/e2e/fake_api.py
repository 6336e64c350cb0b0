"""An in-memory stand-in for the hearth daemon's admin API (docs/api.md).

It lets the CLI be tested for real (HTTP, headers, status codes, error
shapes) before, and independently of, the daemon. Functions "run" by their
handler name:

  echo   answers the payload unchanged
  text   answers b"hello" (no trailing newline, not JSON)
  fail   answers a function error (X-Amz-Function-Error: Unhandled)
  other  answers {"ok": true}

Every invocation appends START / a line / END / REPORT to the function's log.
Run it alone with `python3 fake_api.py [PORT]` to poke at it with curl.
"""

import base64
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RUNTIMES = ("provided", "python3", "nodejs")


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeState:
    def __init__(self, token):
        self.token = token
        self.lock = threading.Lock()
        self.functions = {}
        self.code = {}          # name -> archive bytes
        self.logs = {}          # name -> [line]
        self.events = {}        # name -> [event], newest first
        self.instances = []
        self.requests = []      # (method, path, headers dict, body bytes)
        self.page_size = 100
        self.force = None       # (status, content-type, body) answered to everything but health


def now_ms():
    return int(time.time() * 1000)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hearth"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing ---------------------------------------------------------
    @property
    def state(self):
        return self.server.state

    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        url = urlsplit(self.path)
        body = self.read_body()
        with self.state.lock:
            self.state.requests.append((self.command, self.path, dict(self.headers), body))
        try:
            if url.path == "/v1/health":
                return self.send(200, {"status": "ok"})
            if self.state.force:
                status, ctype, fbody = self.state.force
                return self.send(status, fbody, ctype)
            if self.headers.get("Authorization") != "Bearer " + self.state.token:
                raise ApiError(401, "Unauthorized", "missing or wrong admin token")
            self.route(url.path, parse_qs(url.query), body)
        except ApiError as e:
            self.send(e.status, {"error": {"code": e.code, "message": e.message}})

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = lambda self: self.dispatch()

    # -- routes -----------------------------------------------------------
    def route(self, path, query, body):
        parts = path.strip("/").split("/")
        m = self.command
        if parts == ["v1", "functions"]:
            self.need(m, "GET")
            with self.state.lock:
                fns = [self.state.functions[k] for k in sorted(self.state.functions)]
            return self.send(200, {"functions": fns})
        if parts == ["v1", "instances"]:
            self.need(m, "GET")
            return self.send(200, {"instances": self.state.instances})
        if len(parts) >= 3 and parts[:2] == ["v1", "functions"]:
            name = parts[2]
            if not NAME_RE.match(name):
                raise ApiError(400, "InvalidRequest", f"invalid function name '{name}'")
            rest = parts[3:]
            if rest == []:
                if m == "PUT":
                    return self.put_function(name, body)
                fn = self.get_fn(name)
                if m == "GET":
                    return self.send(200, fn)
                if m == "DELETE":
                    with self.state.lock:
                        del self.state.functions[name]
                    return self.send(204)
                self.need(m, "GET")
            if rest == ["invoke"]:
                self.need(m, "POST")
                return self.invoke(self.get_fn(name), body)
            if rest == ["logs"]:
                self.need(m, "GET")
                self.get_fn(name)
                cursor = int(query.get("cursor", ["0"])[0])
                limit = int(query.get("limit", [str(self.state.page_size)])[0])
                lines = self.state.logs.get(name, [])
                page = lines[cursor:cursor + min(limit, self.state.page_size)]
                return self.send(200, {"lines": page, "cursor": cursor + len(page)})
            if rest == ["events"]:
                self.need(m, "GET")
                self.get_fn(name)
                return self.send(200, {"events": self.state.events.get(name, [])[:100]})
        raise ApiError(404, "NotFound", f"no route for {path}")

    def need(self, method, want):
        if method != want:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")

    def get_fn(self, name):
        fn = self.state.functions.get(name)
        if fn is None:
            raise ApiError(404, "NotFound", f"function '{name}' does not exist")
        return fn

    def put_function(self, name, body):
        try:
            req = json.loads(body)
            assert isinstance(req, dict)
        except Exception:
            raise ApiError(400, "InvalidRequest", "malformed JSON")
        old = self.state.functions.get(name)
        if old is None and ("runtime" not in req or "code_base64" not in req):
            raise ApiError(400, "InvalidRequest", "runtime and code are required to create a function")
        if "runtime" in req and req["runtime"] not in RUNTIMES:
            raise ApiError(400, "InvalidRequest", f"unknown runtime '{req['runtime']}'")
        if not 128 <= req.get("memory_mb", 128) <= 10240:
            raise ApiError(400, "InvalidRequest", "memory_mb must be 128..10240")
        if not 1 <= req.get("timeout_s", 3) <= 900:
            raise ApiError(400, "InvalidRequest", "timeout_s must be 1..900")
        fn = dict(old) if old else {
            "name": name, "runtime": None, "handler": "handler", "memory_mb": 128,
            "timeout_s": 3, "keepalive_s": 0, "description": "", "environment": {},
            "code_sha256": "", "code_size": 0, "revision": 0, "created_ms": now_ms(),
        }
        for k in ("runtime", "handler", "memory_mb", "timeout_s", "keepalive_s",
                  "description", "environment"):
            if k in req:
                fn[k] = req[k]
        if "code_base64" in req:
            try:
                code = base64.b64decode(req["code_base64"], validate=True)
            except Exception:
                raise ApiError(400, "InvalidRequest", "code_base64 is not base64")
            if not (code[:2] == b"\x1f\x8b" or code[:2] == b"PK"):
                raise ApiError(400, "InvalidRequest", "corrupt archive: not a zip or tar.gz")
            self.state.code[name] = code
            fn["code_sha256"] = hashlib.sha256(code).hexdigest()
            fn["code_size"] = len(code)
        fn["revision"] += 1
        fn["updated_ms"] = now_ms()
        with self.state.lock:
            self.state.functions[name] = fn
        self.send(200 if old else 201, fn)

    def invoke(self, fn, body):
        rid = str(uuid.uuid4())
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        log = self.state.logs.setdefault(fn["name"], [])
        log += [f"START RequestId: {rid} Version: $LATEST",
                f"2026-11-27T12:00:00.000Z\t{rid}\tINFO called with {len(body)} bytes",
                f"END RequestId: {rid}",
                f"REPORT RequestId: {rid}\tDuration: 1.00 ms\tBilled Duration: 1 ms"]
        if kind == "Event":
            ev = {"requestId": rid, "state": "pending", "attempts": 0,
                  "createdMs": now_ms(), "nextMs": now_ms() + 1000, "lastError": ""}
            self.state.events.setdefault(fn["name"], []).insert(0, ev)
            return self.send(202, {"requestId": rid}, headers={"X-Amz-Request-Id": rid})
        hdrs = {"X-Amz-Request-Id": rid, "X-Amz-Executed-Version": "$LATEST"}
        h = fn["handler"]
        if h == "echo":
            return self.send(200, body, headers=hdrs)
        if h == "text":
            return self.send(200, b"hello", "text/plain", headers=hdrs)
        if h == "fail":
            hdrs["X-Amz-Function-Error"] = "Unhandled"
            return self.send(200, {"errorMessage": "boom", "errorType": "Error"}, headers=hdrs)
        return self.send(200, {"ok": True}, headers=hdrs)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client killed mid-request (logs --follow ends by signal) is normal here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class FakeApi:
    """Serves FakeState on 127.0.0.1:<port> from a thread; port 0 lets the kernel pick."""

    def __init__(self, token="tok-123", port=0):
        self.state = FakeState(token)
        self.httpd = QuietServer(("127.0.0.1", port), Handler)
        self.httpd.state = self.state
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    api = FakeApi(port=int(sys.argv[1]) if len(sys.argv) > 1 else 7070)
    print(f"fake hearth API on {api.url}, token {api.state.token}", flush=True)
    api.httpd.serve_forever()
