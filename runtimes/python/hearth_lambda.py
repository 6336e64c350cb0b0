"""hearth's python3 runtime: AWS Lambda's Python handler contract.

hearth-init starts /var/runtime/bootstrap inside the sandbox, which runs main()
here. It imports the function's module once (so code outside the handler runs on the
cold start only), then loops over the Lambda Runtime API at
AWS_LAMBDA_RUNTIME_API: GET the next event, call handler(event, context), POST
the result or the error. Standard library only, and only the cheap parts of it:
start-up time is cold-start time, so HTTP is spoken over _socket directly
(importing socket or http.client costs more than the rest of the runtime) and
traceback is imported only when something fails. This file is a module, not
the bootstrap itself, so that its bytecode is compiled once at build time
(make all) instead of on every cold start.

Not for: anything the platform does (timeouts, log tagging, START/END/REPORT
lines); those happen outside the sandbox.
"""

import _socket
import json
import os
import sys
import time

API_PREFIX = "/2018-06-01/runtime"
# Debian's own packages, after the function's code and the runtime, as
# Lambda puts its bundled packages after /var/task.
DIST_PACKAGES = "/usr/lib/python3/dist-packages"


class Fault(Exception):
    """An error the runtime reports with a Lambda error type of its own."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


# ---------------------------------------------------------------------------
# The Runtime API client: HTTP/1.1 with keep-alive over one TCP connection.
# hearth-init always answers with Content-Length, never chunked.


class RuntimeClient:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("AWS_LAMBDA_RUNTIME_API must be HOST:PORT, not %r" % address)
        self.addr = (host, int(port))
        self.host = address
        self.sock = None
        self.rbuf = b""

    def _connect(self):
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        s.connect(self.addr)
        self.sock = s
        self.rbuf = b""

    def _close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _read_more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self.rbuf += chunk

    def request(self, method, path, body=b"", headers=()):
        """Returns (status, {lower-case name: value}, body bytes). Reconnects once
        if a kept-alive connection turns out to be closed before any answer."""
        head = "%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (
            method, API_PREFIX, path, self.host, len(body))
        for k, v in headers:
            head += "%s: %s\r\n" % (k, v)
        data = (head + "\r\n").encode("latin-1") + body
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(data)
                return self._read_response()
            except (ConnectionError, BrokenPipeError):
                self._close()
                if attempt or self.rbuf:
                    raise
        raise AssertionError("unreachable")

    def _read_response(self):
        while True:
            end = self.rbuf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._read_more()
        lines = self.rbuf[:end].decode("latin-1").split("\r\n")
        self.rbuf = self.rbuf[end + 4:]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ConnectionError("bad status line from the Runtime API: %r" % lines[0])
        status = int(parts[1])
        hdrs = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            hdrs[name.strip().lower()] = value.strip()
        length = int(hdrs.get("content-length", "0"))
        while len(self.rbuf) < length:
            self._read_more()
        body, self.rbuf = self.rbuf[:length], self.rbuf[length:]
        if status == 100:
            return self._read_response()
        if hdrs.get("connection", "").lower() == "close":
            self._close()
        return status, hdrs, body

    def next(self):
        while True:
            status, hdrs, body = self.request("GET", "/invocation/next")
            if status == 200:
                return hdrs, body
            # Anything else means the platform is unwell; do not spin.
            sys.stderr.write("runtime: GET /next answered %d: %r\n" % (status, body[:200]))
            time.sleep(0.1)

    def post(self, path, body, error_type=None):
        headers = [("Content-Type", "application/json")]
        if error_type:
            headers.append(("Lambda-Runtime-Function-Error-Type", error_type))
        status, _, answer = self.request("POST", path, body, headers)
        if status >= 500:
            # The Runtime API says a 500 means the runtime must exit.
            sys.stderr.write("runtime: POST %s answered %d: %r\n" % (path, status, answer[:200]))
            sys.exit(1)
        if status != 202:
            sys.stderr.write("runtime: POST %s answered %d: %r\n" % (path, status, answer[:200]))
        return status


# ---------------------------------------------------------------------------
# The context object, attribute for attribute as Lambda's Python runtime has it
# (memory_limit_in_mb is a string there too: it is read from the environment).


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code",
                 "app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for name in cls.__slots__:
        setattr(obj, name, d.get(name) if isinstance(d, dict) else None)
    return obj


def _json_header(value):
    """A JSON object from a header; Lambda passes the client context decoded, but
    a base64 value (as X-Amz-Client-Context carries it) is accepted too."""
    if not value:
        return None
    try:
        obj = json.loads(value)
    except ValueError:
        import base64
        import binascii
        try:
            obj = json.loads(base64.b64decode(value, validate=True))
        except (ValueError, binascii.Error):
            return None
    return obj if isinstance(obj, dict) else None


class LambdaContext:
    def __init__(self, request_id, deadline_ms, arn, client_context, cognito):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = _obj_from_dict(CognitoIdentity, cognito or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        left = self._deadline_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity))


# ---------------------------------------------------------------------------
# Errors, in the shape Lambda reports them.


def error_body(message, error_type, trace, request_id=None):
    body = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        body["requestId"] = request_id
    body["stackTrace"] = trace
    return json.dumps(body).encode()


def exception_fault(exc):
    """(type, message, stack) of an exception, without the runtime's own frames."""
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    runtime = os.path.dirname(os.path.abspath(__file__))

    def ours(frame):
        return (frame.filename.startswith("<frozen importlib") or
                os.path.dirname(os.path.abspath(frame.filename)) == runtime)
    while frames and ours(frames[0]):
        frames = traceback.StackSummary.from_list(frames[1:])
    return type(exc).__name__, str(exc), traceback.format_list(frames)


def log_error(error_type, message, trace):
    """Lambda writes every reported error to the function's log too."""
    lines = ["[ERROR] %s: %s" % (error_type, message)]
    if trace:
        lines.append("Traceback (most recent call last):")
        lines.extend(t.rstrip("\n") for t in trace)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# Loading the handler: Lambda's error types and messages for each failure.


def load_handler(handler):
    import importlib
    modname, dot, fname = handler.rpartition(".")
    if not dot or not modname or not fname:
        raise Fault("Runtime.MalformedHandlerName",
                    "Bad handler '%s': expected MODULE.FUNCTION, e.g. app.handler" % handler)
    modname = modname.replace("/", ".")
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict",
                    "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise Fault("Runtime.ImportModuleError",
                    "Unable to import module '%s': %s" % (modname, e)) from None
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").strip())]
        raise Fault("Runtime.UserCodeSyntaxError",
                    "Syntax error in module '%s': %s" % (modname, e), trace) from None
    fn = getattr(module, fname, None)
    if fn is None:
        raise Fault("Runtime.HandlerNotFound",
                    "Handler '%s' missing on module '%s'" % (fname, modname))
    if not callable(fn):
        raise Fault("Runtime.HandlerNotFound",
                    "Handler '%s' on module '%s' is not callable" % (fname, modname))
    return fn


# ---------------------------------------------------------------------------
# Logging: the root logger writes "[LEVEL]\tmessage" lines to stdout. hearth
# puts the time and the request id in front of every line the function writes,
# so the file reads like Lambda's: "TIME\tREQUEST_ID\t[INFO]\tmessage".

CURRENT_REQUEST_ID = ""


def setup_logging():
    import logging

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            # Lambda's records carry it, and user formats may name it.
            record.aws_request_id = CURRENT_REQUEST_ID
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL"):
        root.setLevel({"WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level))


class _LoggingHook:
    """Configures logging the moment the function imports it, so a function that
    never logs does not pay for importing logging on its cold start."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        # The remaining finders, as the import system would ask them
        # (importlib.util.find_spec would cost more than logging itself).
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                setup_logging()

        spec.loader = Loader()
        return spec


# ---------------------------------------------------------------------------


def to_json(result):
    def default(obj):
        import decimal
        if isinstance(obj, decimal.Decimal):
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)
    return json.dumps(result, default=default).encode()


def handle_one(client, handler, hdrs, body):
    global CURRENT_REQUEST_ID
    rid = hdrs.get("lambda-runtime-aws-request-id", "")
    CURRENT_REQUEST_ID = rid
    os.environ["_X_AMZN_TRACE_ID"] = hdrs.get("lambda-runtime-trace-id", "")
    path = "/invocation/%s" % rid
    try:
        event = json.loads(body) if body else {}
    except ValueError as e:
        client.post(path + "/error", error_body("Unable to unmarshal input: %s" % e,
                                                "Runtime.UnmarshalError", [], rid),
                    "Runtime.UnmarshalError")
        return
    try:
        deadline = int(hdrs.get("lambda-runtime-deadline-ms", "0"))
    except ValueError:
        deadline = 0
    ctx = LambdaContext(rid, deadline, hdrs.get("lambda-runtime-invoked-function-arn"),
                        _json_header(hdrs.get("lambda-runtime-client-context")),
                        _json_header(hdrs.get("lambda-runtime-cognito-identity")))
    try:
        result = handler(event, ctx)
    except Exception as e:
        etype, msg, trace = exception_fault(e)
        log_error(etype, msg, trace)
        client.post(path + "/error", error_body(msg, etype, trace, rid), "Unhandled")
        return
    try:
        payload = to_json(result)
    except (TypeError, ValueError) as e:
        msg = "Unable to marshal response: %s" % e
        log_error("Runtime.MarshalError", msg, [])
        client.post(path + "/error", error_body(msg, "Runtime.MarshalError", [], rid),
                    "Runtime.MarshalError")
        return
    # Output first, so every line the handler wrote is in the log (tagged
    # with this request) before its answer is.
    sys.stdout.flush()
    sys.stderr.flush()
    client.post(path + "/response", payload)


def init(client):
    """Loads the function; on failure reports the init error and exits."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    if os.path.isdir(DIST_PACKAGES) and DIST_PACKAGES not in sys.path:
        sys.path.append(DIST_PACKAGES)
    if "logging" in sys.modules:
        setup_logging()
    else:
        sys.meta_path.insert(0, _LoggingHook())
    try:
        handler = os.environ.get("_HANDLER", "")
        return load_handler(handler)
    except Fault as f:
        etype, msg, trace = f.error_type, f.message, f.trace
    except Exception as e:
        etype, msg, trace = exception_fault(e)
    log_error(etype, msg, trace)
    client.post("/init/error", error_body(msg, etype, trace), etype)
    sys.exit(1)


def await_function():
    """A pre-started runtime (HEARTH_STEM_FD set by hearth-init) starts before
    it has a function: the interpreter and this module load ahead of need, and
    here it blocks until hearth gives it one. The function's environment comes
    down the socket as NUL-terminated "K=V" strings, EOF ending them; it
    replaces this process's environment whole, so nothing of the start-up
    environment remains but what the interpreter itself added. Everything below runs as for a runtime started for
    the function."""
    fd = os.environ.pop("HEARTH_STEM_FD", None)
    if fd is None:
        return
    import importlib  # load_handler's, ahead of need too
    # What the interpreter added to its environment while starting (PEP 538's
    # LC_CTYPE when the locale is missing), as it would for the function: the
    # start-up variables that decide it are the function's too.
    with open("/proc/self/environ", "rb") as f:
        execd = {kv.partition(b"=")[0] for kv in f.read().split(b"\0") if kv}
    added = {k: v for k, v in os.environ.items() if os.fsencode(k) not in execd}
    fd = int(fd)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    env = {}
    for kv in b"".join(chunks).split(b"\0"):
        k, eq, v = kv.partition(b"=")
        if eq and k:
            env[os.fsdecode(k)] = os.fsdecode(v)
    os.environ.clear()
    os.environ.update(added)
    os.environ.update(env)


def main():
    # A pipe makes stdout block-buffered; line buffering keeps print() lines in
    # order with the runtime's answers and in the log if the function dies.
    sys.stdout.reconfigure(line_buffering=True)
    client = RuntimeClient(os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"))
    if "HEARTH_STEM_FD" in os.environ:
        # Pre-started: connect ahead too. The address is a start-up variable,
        # the same for the function (src/sandbox/stem.c).
        client._connect()
    await_function()
    handler = init(client)
    while True:
        hdrs, body = client.next()
        handle_one(client, handler, hdrs, body)
