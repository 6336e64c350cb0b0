"""The relay framing of src/lib/relay.h, for tests that play the daemon.

A frame is: u32 little-endian length (of what follows), u8 type, then fields,
each u8 tag + u32 little-endian length + bytes.
"""
import select
import socket
import struct
import time

NEXT, RESPONSE, ERROR, INIT_ERROR, LOG, EXIT = 1, 2, 3, 4, 5, 6
INVOKE = 16
ASSIGN = 17
TYPE_NAMES = {NEXT: "NEXT", RESPONSE: "RESPONSE", ERROR: "ERROR", INIT_ERROR: "INIT_ERROR",
              LOG: "LOG", EXIT: "EXIT", INVOKE: "INVOKE", ASSIGN: "ASSIGN"}

ID, BODY, ERRTYPE, DEADLINE_MS, ARN, TRACE, CLIENT_CTX, COGNITO, STREAM, STATUS = range(1, 11)
TAGS = {"id": ID, "body": BODY, "errtype": ERRTYPE, "deadline_ms": DEADLINE_MS, "arn": ARN,
        "trace": TRACE, "client_ctx": CLIENT_CTX, "cognito": COGNITO, "stream": STREAM,
        "status": STATUS}
TAG_NAMES = {v: k for k, v in TAGS.items()}


def _bytes(v):
    if isinstance(v, bytes):
        return v
    return str(v).encode()


def encode(mtype, **fields):
    """One frame; fields by name (id=..., body=...), values str, int or bytes."""
    out = bytearray([mtype])
    for name, value in fields.items():
        if value is None:
            continue
        data = _bytes(value)
        out += struct.pack("<BI", TAGS[name], len(data)) + data
    return struct.pack("<I", len(out)) + bytes(out)


class Msg:
    def __init__(self, mtype, fields):
        self.type = mtype
        self.fields = fields  # name -> bytes

    def __getattr__(self, name):
        if name in TAGS:
            return self.fields.get(name)
        raise AttributeError(name)

    def text(self, name):
        v = self.fields.get(name)
        return None if v is None else v.decode()

    def __repr__(self):
        shown = {k: (v[:80] + b"..." if len(v) > 80 else v) for k, v in self.fields.items()}
        return "Msg(%s, %r)" % (TYPE_NAMES.get(self.type, self.type), shown)


def decode(buf):
    """Parses frames from a bytearray; returns (messages, bytes consumed)."""
    msgs, off = [], 0
    while len(buf) - off >= 4:
        (flen,) = struct.unpack_from("<I", buf, off)
        if len(buf) - off - 4 < flen:
            break
        frame = bytes(buf[off + 4:off + 4 + flen])
        fields, p = {}, 1
        while p < len(frame):
            tag, n = struct.unpack_from("<BI", frame, p)
            p += 5
            fields[TAG_NAMES.get(tag, tag)] = frame[p:p + n]
            p += n
        msgs.append(Msg(frame[0], fields))
        off += 4 + flen
    return msgs, off


class Relay:
    """The daemon's end of the relay socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.pending = []
        self.eof = False

    def send(self, mtype, **fields):
        self.sock.sendall(encode(mtype, **fields))

    def recv(self, timeout=10.0):
        """The next message, or None at EOF; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no relay message within %.1fs" % timeout)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                data = self.sock.recv(1 << 20)
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
                continue
            self.buf += data
            msgs, used = decode(self.buf)
            del self.buf[:used]
            self.pending.extend(msgs)
        return self.pending.pop(0)

    def expect(self, mtype, timeout=10.0, skip=(LOG,)):
        """The next message of type mtype, skipping the types in skip (and
        collecting them in self.skipped); fails on anything else."""
        self.skipped = getattr(self, "skipped", [])
        while True:
            m = self.recv(timeout)
            assert m is not None, "relay closed while waiting for %s" % TYPE_NAMES[mtype]
            if m.type == mtype:
                return m
            assert m.type in skip, "expected %s, got %r" % (TYPE_NAMES[mtype], m)
            self.skipped.append(m)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
