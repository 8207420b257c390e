"""harness.py - shared helpers for the hstsproxy integration tests.

Standard library only (python3.11). Everything runs on loopback:

- ProxyTestCase: a unittest.TestCase with a private temp dir (self.tmp),
  start_proxy() and origin factories that clean up after themselves.
- start_proxy(): runs `hstsproxy --db TMP/db run --listen 127.0.0.1:0 ...`,
  waits (with a deadline, never a fixed sleep) for the one
  "hstsproxy: listening on ..." line on stderr and reads the port from it.
  stop() sends SIGTERM and asserts a clean exit 0 (and no sanitizer
  report in stderr).
- Origin: a threaded HTTP/1.1 origin on 127.0.0.1:0 that RECORDS exactly
  what it receives (raw bytes per connection, parsed requests) and answers
  by path: /echo, /bytes, /slow, /die, /stall, /redirect, /status,
  /headers, /ws (WebSocket-ish 101 + echo). With an ssl context it is the
  TLS origin. EchoServer: a raw TCP echo (for CONNECT tunnels).
- make_pki(): a test CA and leaf certificates made with the openssl CLI.
- curl(): runs curl (optionally through the proxy) and returns status,
  headers and body; RawClient: exact bytes in, parsed responses out.

Run `python3 harness.py` for a self-check of the origins with curl direct
(no proxy needed).
"""

import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BIN = os.path.join(REPO, "build-itest", "hstsproxy")

START_TIMEOUT = 15.0     # seconds to wait for the listening line
STOP_TIMEOUT = 30.0      # seconds to wait for exit after SIGTERM
IO_TIMEOUT = 20.0        # socket timeout for raw clients and origins
CURL_MAX_TIME = 30       # curl --max-time default
BLOCK = 65536            # generator block size
MB = 1024 * 1024

LISTEN_RE = re.compile(r"^hstsproxy: listening on (.+?) \((.*)\)\s*$")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehavior")


def proxy_bin():
    return os.environ.get("HSTSPROXY_BIN") or DEFAULT_BIN


def wait_until(pred, timeout, interval=0.02, what="condition"):
    """Polls pred() until it is true; returns its value or raises."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def wait_for_port(port, host="127.0.0.1", timeout=10.0):
    """Waits until a TCP connect to host:port succeeds."""
    def ok():
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            return False
    wait_until(ok, timeout, what="port %s:%d" % (host, port))


def close_listener(listener, thread):
    """Closes a listening socket whose accept loop runs in thread (which
    returns on OSError). shutdown() first wakes an accept() blocked on it
    (EINVAL) and the thread is joined: a bare close() leaves the thread
    blocked in accept() on the socket, and when a signal (the SIGCHLD of
    any subprocess) restarts that call, the kernel looks the descriptor
    up again - by then the number of the next test's listener, whose
    connections the stopped server would take and drop unanswered."""
    try:
        listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    thread.join(IO_TIMEOUT)
    if thread.is_alive():
        raise AssertionError("an accept loop did not stop")
    listener.close()


def refused_port():
    """A socket bound to 127.0.0.1:0 but not listening: connecting to its
    port is refused, and the port stays ours while the socket lives."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Deterministic bodies


def body_iter(n, seed=0, block=BLOCK):
    """n deterministic bytes in blocks; block i starts with i (8 bytes) so
    that a dropped or repeated block changes the digest."""
    base = hashlib.sha256(b"seed-%d" % seed).digest() * (block // 32 + 1)
    base = base[:block]
    i = 0
    sent = 0
    while sent < n:
        chunk = (i.to_bytes(8, "big") + base[8:])[:min(block, n - sent)]
        yield chunk
        sent += len(chunk)
        i += 1


def body_bytes(n, seed=0):
    return b"".join(body_iter(n, seed))


def body_sha256(n, seed=0):
    h = hashlib.sha256()
    for c in body_iter(n, seed):
        h.update(c)
    return h.hexdigest()


def write_body_file(path, n, seed=0):
    with open(path, "wb") as f:
        for c in body_iter(n, seed):
            f.write(c)
    return body_sha256(n, seed)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# HTTP message parsing shared by the origin and the raw client


class HTTPError(Exception):
    pass


class BufferedSocket:
    """A socket with a read buffer: read exact counts, lines, heads."""

    def __init__(self, sock, on_bytes=None):
        self.sock = sock
        self.buf = bytearray()
        self.on_bytes = on_bytes
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        data = self.sock.recv(BLOCK)
        if not data:
            self.eof = True
            return False
        if self.on_bytes:
            self.on_bytes(data)
        self.buf += data
        return True

    def read_head(self, limit=1 << 20):
        """Bytes up to and including the blank line, or None on EOF before
        any byte; raises HTTPError on EOF mid-head."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > limit:
                raise HTTPError("head too long")
            if not self._fill():
                if not self.buf:
                    return None
                raise HTTPError("EOF inside a head: %r"
                                % bytes(self.buf[:200]))

    def read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return line
            if not self._fill():
                raise HTTPError("EOF inside a line")

    def read_exact(self, n, sink=None):
        """n bytes; sink(chunk) instead of returning them when given."""
        out = bytearray()
        while n > 0:
            if not self.buf and not self._fill():
                raise HTTPError("EOF with %d bytes missing" % n)
            take = min(n, len(self.buf))
            chunk = bytes(self.buf[:take])
            del self.buf[:take]
            n -= take
            if sink:
                sink(chunk)
            else:
                out += chunk
        return bytes(out)

    def read_until_eof(self, sink=None):
        out = bytearray()
        while True:
            if self.buf:
                chunk = bytes(self.buf)
                self.buf.clear()
                if sink:
                    sink(chunk)
                else:
                    out += chunk
            if not self._fill():
                return bytes(out)

    def read_chunked(self, sink=None):
        """Decodes a chunked body; returns (body, raw framing bytes)."""
        raw = bytearray()
        out = bytearray()
        while True:
            line = self.read_line()
            raw += line
            size_s = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]+", size_s):
                raise HTTPError("bad chunk size line %r" % line)
            size = int(size_s, 16)
            if size == 0:
                while True:  # trailers
                    t = self.read_line()
                    raw += t
                    if t == b"\r\n":
                        return bytes(out), bytes(raw)
            data = self.read_exact(size)
            raw += data
            if sink:
                sink(data)
            else:
                out += data
            crlf = self.read_exact(2)
            raw += crlf
            if crlf != b"\r\n":
                raise HTTPError("chunk not followed by CRLF")


def parse_head(head):
    """(start line parts, [(name, value)]) from a raw head (str latin-1)."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    start = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HTTPError("header line without colon: %r" % line)
        headers.append((name, value.strip(" \t")))
    return start, headers


class Headers:
    """An ordered multi-map with case-insensitive lookup."""

    def __init__(self, items):
        self.items = list(items)

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.items if k.lower() == n]

    def get(self, name, default=None):
        v = self.get_all(name)
        return v[0] if v else default

    def __contains__(self, name):
        return bool(self.get_all(name))

    def tokens(self, name):
        """Comma-separated list elements across all fields, lower-cased."""
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def names(self):
        return [k.lower() for k, _ in self.items]

    def __repr__(self):
        return "Headers(%r)" % (self.items,)


# ---------------------------------------------------------------------------
# Origins


class Request:
    def __init__(self, method, target, version, headers, head):
        self.method = method
        self.target = target
        self.version = version
        self.headers = Headers(headers)
        self.head = head            # raw head bytes as received
        self.body = b""             # decoded body
        self.body_raw = b""         # body bytes as received (framing kept)
        self.body_len = 0
        self.body_sha256 = sha256(b"")
        self.chunked = False
        self.path, _, self.query_string = target.partition("?")
        self.query = urllib.parse.parse_qs(self.query_string,
                                           keep_blank_values=True)

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qi(self, name, default=0):
        v = self.q(name)
        return int(float(v)) if v is not None else default

    def qf(self, name, default=0.0):
        v = self.q(name)
        return float(v) if v is not None else default


class ConnRecord:
    def __init__(self, index, peer):
        self.index = index
        self.peer = peer
        self.raw = bytearray()       # every byte received, in order
        self.requests = []
        self.sent = 0                # body bytes sent so far
        self.closed = False
        self.eof_from_peer = False


class Origin:
    """A threaded, recording HTTP/1.1 origin on 127.0.0.1:0 (or ::1).

    Routes (query parameters in brackets):
      /echo            JSON of the request as received [status]
      /bytes           deterministic body [n, seed, mode=cl|chunked|close,
                       rate (bytes/s), chunk (chunk size)]
      /slow            like /bytes after [delay] seconds
      /die             headers, [after] bytes of [n], then close
                       [mode=cl|chunked]
      /stall           headers, [after] bytes of [n], then silence
                       [hold] seconds, then close
      /redirect        [code] with Location [to]
      /status          [code], small body unless 1xx/204/304
      /headers         [status] with each [h] "Name: value" added, and
                       X-Big of [big] bytes
      /sink            like /echo, but the body is read only once
                       origin.release is set (upload backpressure)
      /ws              101 for an Upgrade: websocket request (in the same
                       write: [greet] bytes), then echo
      /hangup          close without answering
      /raw             send [resp] verbatim (latin-1), then close
    Any response: [close] adds Connection: close; [drop] closes the
    connection silently after the response (an idle-timeout close).
    Anything else: 404. A request with Expect: 100-continue gets a 100
    first. Keep-alive by HTTP version and Connection, as a server should.
    """

    def __init__(self, host="127.0.0.1", ssl_context=None, handler=None,
                 port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(fam, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(512)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.ssl_context = ssl_context
        self.handler = handler
        self.lock = threading.Lock()
        self.conns = []
        self.requests = []
        self.socks = []
        self.stopping = threading.Event()
        self.tls_errors = []
        self.release = threading.Event()  # lets /sink read its body
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    # -- recording accessors
    @property
    def authority(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def url(self, path="/"):
        scheme = "https" if self.ssl_context else "http"
        return "%s://%s%s" % (scheme, self.authority, path)

    def conn_count(self):
        with self.lock:
            return len(self.conns)

    def request_count(self):
        with self.lock:
            return len(self.requests)

    def raw_bytes(self):
        """Every byte received on every connection, concatenated."""
        with self.lock:
            return b"".join(bytes(c.raw) for c in self.conns)

    def sent_total(self):
        with self.lock:
            return sum(c.sent for c in self.conns)

    def reset(self):
        with self.lock:
            self.conns = []
            self.requests = []

    def close(self):
        self.stopping.set()
        close_listener(self.listener, self.thread)
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    # -- server
    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            with self.lock:
                rec = ConnRecord(len(self.conns), peer)
                self.conns.append(rec)
                self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock, rec),
                             daemon=True).start()

    def _serve(self, sock, rec):
        try:
            sock.settimeout(IO_TIMEOUT)
            if self.ssl_context:
                try:
                    sock = self.ssl_context.wrap_socket(sock,
                                                        server_side=True)
                except (ssl.SSLError, OSError) as e:
                    self.tls_errors.append(repr(e))
                    return
                with self.lock:
                    self.socks.append(sock)

            def record(data):
                with self.lock:
                    rec.raw += data
            bs = BufferedSocket(sock, record)
            while not self.stopping.is_set():
                req = self._read_request(bs, sock)
                if req is None:
                    rec.eof_from_peer = True
                    return
                with self.lock:
                    rec.requests.append(req)
                    self.requests.append(req)
                req.conn = rec
                if self.handler:
                    keep = self.handler(self, sock, bs, req, rec)
                else:
                    keep = self._route(sock, bs, req, rec)
                if not keep:
                    return
        except (OSError, HTTPError, ssl.SSLError):
            return
        except Exception:  # a harness bug: make it visible
            import traceback
            traceback.print_exc()
            return
        finally:
            rec.closed = True
            try:
                sock.close()
            except OSError:
                pass

    def _read_request(self, bs, sock):
        head = bs.read_head()
        if head is None:
            return None
        start, headers = parse_head(head)
        parts = start.split(" ")
        if len(parts) != 3:
            raise HTTPError("bad request line %r" % start)
        req = Request(parts[0], parts[1], parts[2], headers, head)
        h = req.headers
        if req.path == "/sink":  # hold the body unread until released
            self.release.wait(IO_TIMEOUT)
        if "chunked" in h.tokens("transfer-encoding"):
            if "100-continue" in h.tokens("expect"):
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.chunked = True
            req.body, req.body_raw = bs.read_chunked()
        elif h.get("content-length") is not None:
            n = int(h.get("content-length"))
            if n and "100-continue" in h.tokens("expect"):
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.body = bs.read_exact(n)
            req.body_raw = req.body
        req.body_len = len(req.body)
        req.body_sha256 = sha256(req.body)
        return req

    @staticmethod
    def wants_close(req):
        conn = req.headers.tokens("connection")
        if req.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn

    def send_response(self, sock, req, rec, status, headers=(), body=b"",
                      mode="cl", rate=0, chunk=BLOCK, reason=None,
                      length=None):
        """Sends a response; body is bytes or an iterable of bytes.
        Returns True to keep the connection."""
        if mode == "chunked" and req.version == "HTTP/1.0":
            mode = "close"  # RFC 9112 6.1: no chunked to an HTTP/1.0 request
        close = (self.wants_close(req) or mode == "close"
                 or req.q("close") is not None)
        lines = ["HTTP/1.1 %d %s" % (status, reason or REASONS.get(status,
                                                                   "Other"))]
        lines.append("Server: itest-origin")
        lines += ["%s: %s" % kv for kv in headers]
        no_body = status in (204, 304) or 100 <= status < 200
        if isinstance(body, (bytes, bytearray)):
            total = len(body)
            body = [bytes(body)] if body else []
        else:
            total = length
        if not no_body:
            if mode == "chunked":
                lines.append("Transfer-Encoding: chunked")
            elif mode == "cl":
                if total is None:
                    raise ValueError("cl mode needs a length")
                lines.append("Content-Length: %d" % total)
        if close:
            lines.append("Connection: close")
        elif req.version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if req.method == "HEAD" or no_body:
            return not close and req.q("drop") is None
        t0 = time.monotonic()
        sent = 0
        for part in body:
            for i in range(0, len(part), chunk):
                piece = part[i:i + chunk]
                if mode == "chunked":
                    sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    sock.sendall(piece)
                sent += len(piece)
                with self.lock:
                    rec.sent += len(piece)
                if rate:
                    ahead = sent / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)  # pacing, not waiting for a port
        if mode == "chunked":
            sock.sendall(b"0\r\n\r\n")
        return not close and req.q("drop") is None

    def _route(self, sock, bs, req, rec):
        path = req.path
        if path in ("/echo", "/sink") or path.startswith("/echo/"):
            doc = {
                "method": req.method, "target": req.target,
                "version": req.version, "headers": req.headers.items,
                "body_len": req.body_len, "body_sha256": req.body_sha256,
                "chunked": req.chunked, "conn": rec.index,
                "req": len(rec.requests) - 1,
            }
            body = json.dumps(doc).encode()
            return self.send_response(sock, req, rec, req.qi("status", 200),
                                      [("Content-Type", "application/json")],
                                      body, mode=req.q("mode", "cl"))
        if path in ("/bytes", "/slow"):
            if path == "/slow":
                if self.stopping.wait(req.qf("delay", 1.0)):
                    return False
            n = req.qi("n", 1000)
            seed = req.qi("seed", 0)
            return self.send_response(
                sock, req, rec, 200,
                [("Content-Type", "application/octet-stream"),
                 ("X-Body-Sha256", body_sha256(n, seed)) if n <= 4 * MB
                 else ("X-Body-Len", str(n))],
                body_iter(n, seed), mode=req.q("mode", "cl"), length=n,
                rate=req.qf("rate", 0), chunk=req.qi("chunk", BLOCK))
        if path in ("/die", "/stall"):
            n = req.qi("n", 100000)
            after = req.qi("after", n // 2)
            mode = req.q("mode", "cl")
            hdr = ("HTTP/1.1 200 OK\r\n"
                   "Content-Type: application/octet-stream\r\n")
            if mode == "chunked":
                hdr += "Transfer-Encoding: chunked\r\n\r\n"
            else:
                hdr += "Content-Length: %d\r\n\r\n" % n
            sock.sendall(hdr.encode())
            data = body_bytes(after, req.qi("seed", 0))
            if mode == "chunked":
                data = b"%x\r\n" % len(data) + data + b"\r\n" if data else b""
            sock.sendall(data)
            with self.lock:
                rec.sent += after
            if path == "/stall":
                self.stopping.wait(req.qf("hold", 10.0))
            return False
        if path == "/redirect":
            code = req.qi("code", 302)
            to = req.q("to", "/")
            return self.send_response(sock, req, rec, code,
                                      [("Location", to),
                                       ("Content-Type", "text/plain")],
                                      b"moved\n")
        if path == "/status":
            code = req.qi("code", 200)
            return self.send_response(sock, req, rec, code,
                                      [("Content-Type", "text/plain")],
                                      b"status %d\n" % code)
        if path == "/headers":
            extra = []
            for h in req.query.get("h", []):
                name, _, value = h.partition(":")
                extra.append((name.strip(), value.strip()))
            if req.q("big"):  # one large field: X-Big: aaaa...
                extra.append(("X-Big", "a" * req.qi("big")))
            return self.send_response(sock, req, rec, req.qi("status", 200),
                                      extra, b"headers\n",
                                      mode=req.q("mode", "cl"))
        if path == "/hangup":
            return False
        if path == "/raw":
            sock.sendall(req.q("resp", "").encode("latin-1"))
            return False
        if path == "/ws":
            return self._websocket(sock, bs, req, rec)
        return self.send_response(sock, req, rec, 404,
                                  [("Content-Type", "text/plain")],
                                  b"not found\n")

    def _websocket(self, sock, bs, req, rec):
        h = req.headers
        if ("websocket" not in h.tokens("upgrade")
                or "upgrade" not in h.tokens("connection")):
            return self.send_response(sock, req, rec, 426,
                                      [("Content-Type", "text/plain")],
                                      b"upgrade required\n")
        key = h.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                     + req.q("greet", "").encode("latin-1"))

        def echo(chunk):
            sock.sendall(chunk)
            with self.lock:
                rec.sent += len(chunk)
        bs.read_until_eof(sink=echo)
        rec.eof_from_peer = True
        return False


REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    204: "No Content", 206: "Partial Content", 301: "Moved Permanently",
    302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    410: "Gone", 426: "Upgrade Required", 500: "Internal Server Error",
    503: "Service Unavailable",
}


class EchoServer:
    """A raw TCP echo server on 127.0.0.1:0 that records what it got.
    On EOF from the peer it finishes echoing and closes (half-close aware).
    """

    def __init__(self, host="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(fam, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def conn_count(self):
        with self.lock:
            return len(self.conns)

    def _loop(self):
        while True:
            try:
                sock, peer = self.listener.accept()
            except OSError:
                return
            rec = ConnRecord(len(self.conns), peer)
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._serve, args=(sock, rec),
                             daemon=True).start()

    def _serve(self, sock, rec):
        sock.settimeout(IO_TIMEOUT)
        try:
            while True:
                data = sock.recv(BLOCK)
                if not data:
                    rec.eof_from_peer = True
                    break
                with self.lock:
                    rec.raw += data
                sock.sendall(data)
                with self.lock:
                    rec.sent += len(data)
        except OSError:
            pass
        finally:
            rec.closed = True
            try:
                sock.close()
            except OSError:
                pass

    def close(self):
        close_listener(self.listener, self.thread)


# ---------------------------------------------------------------------------
# Test PKI (openssl CLI)


def make_pki(directory, names=("secure.test",), ips=("127.0.0.1",)):
    """Creates ca.pem/ca.key and leaf.pem/leaf.key (SANs: names and ips)
    in directory; returns a dict of paths."""
    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, k) for k in
         ("ca.pem", "ca.key", "leaf.pem", "leaf.key", "leaf.csr", "ext.cnf",
          "ca.cnf")}

    def run(*args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], r.stderr))
    with open(p["ca.cnf"], "w") as f:
        f.write("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n"
                "basicConstraints=critical,CA:TRUE\n"
                "keyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p["ca.key"],
        "-out", p["ca.pem"], "-days", "30", "-subj",
        "/CN=hstsproxy itest CA", "-config", p["ca.cnf"], "-extensions",
        "ext")
    san = ",".join(["DNS:%s" % n for n in names] +
                   ["IP:%s" % i for i in ips])
    with open(p["ext.cnf"], "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n"
                "subjectAltName=%s\n" % san)
    run("req", "-new", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p["leaf.key"],
        "-out", p["leaf.csr"], "-subj", "/CN=%s" % names[0])
    run("x509", "-req", "-in", p["leaf.csr"], "-CA", p["ca.pem"], "-CAkey",
        p["ca.key"], "-CAcreateserial", "-out", p["leaf.pem"], "-days", "30",
        "-extfile", p["ext.cnf"])
    return p


def server_ssl_context(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["leaf.pem"], pki["leaf.key"])
    return ctx


def client_ssl_context(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca.pem"])
    return ctx


# ---------------------------------------------------------------------------
# The proxy process


class Proxy:
    def __init__(self, argv, env, workdir):
        self.argv = argv
        self.stderr_lines = []
        self.listening = threading.Event()
        self.addresses = []
        self.stdout_path = os.path.join(workdir, "proxy-stdout-%d.txt"
                                        % time.monotonic_ns())
        self._stdout = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._stdout,
                                     stderr=subprocess.PIPE, env=env)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.stopped = False

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_lines.append(line)
            m = LISTEN_RE.match(line)
            if m and not self.listening.is_set():
                self.addresses = [a.strip() for a in m.group(1).split(", ")]
                self.listening.set()

    def wait_listening(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.listening.wait(0.05):
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise AssertionError(
                    "proxy exited with %s before listening; argv=%r\n%s"
                    % (self.proc.returncode, self.argv, self.stderr()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("proxy printed no listening line in "
                                     "%.0fs; stderr:\n%s"
                                     % (timeout, self.stderr()))
        self.ports = []
        for a in self.addresses:
            m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)", a)
            if not m:
                raise AssertionError("cannot parse listening address %r" % a)
            self.ports.append((m.group(1).strip("[]"), int(m.group(2))))
        self.host, self.port = self.ports[0]
        return self

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def stderr(self):
        return "\n".join(self.stderr_lines)

    def alive(self):
        return self.proc.poll() is None

    def assert_alive(self):
        if not self.alive():
            raise AssertionError("proxy died (exit %s); stderr:\n%s"
                                 % (self.proc.returncode,
                                    self.stderr()[-4000:]))

    def status_field(self, field):
        """A field of /proc/PID/status in kB (VmRSS, VmHWM)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError("no %s in /proc/%d/status" % (field, self.pid))

    def send_signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT,
             expect_code=0):
        """Signals the proxy (sig None: only waits), waits, asserts the
        exit code and a clean stderr; returns stderr."""
        if self.stopped:
            return self.stderr()
        self.stopped = True
        if self.proc.poll() is None and sig is not None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("proxy did not exit within %.0fs of signal "
                                 "%s; stderr:\n%s"
                                 % (timeout, sig, self.stderr()[-4000:]))
        self._reader.join(5)
        self._close_pipes()
        err = self.stderr()
        if rc != expect_code:
            raise AssertionError("proxy exit status %s (expected %d); "
                                 "stderr:\n%s" % (rc, expect_code,
                                                  err[-4000:]))
        for m in SANITIZER_MARKERS:
            if m in err:
                raise AssertionError("sanitizer report in proxy stderr:\n%s"
                                     % err[-6000:])
        return err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.stopped = True
        self._reader.join(5)
        self._close_pipes()

    def _close_pipes(self):
        for f in (self._stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass


_RUN_HELP = {}


def run_supports(option):
    """True when `hstsproxy run --help` mentions option (e.g. --probe)."""
    binary = proxy_bin()
    if binary not in _RUN_HELP:
        try:
            r = subprocess.run([binary, "run", "--help"], capture_output=True,
                               timeout=10, env=clean_env())
            _RUN_HELP[binary] = (r.stdout + r.stderr).decode("utf-8",
                                                             "replace")
        except (OSError, subprocess.TimeoutExpired):
            _RUN_HELP[binary] = ""
    return option in _RUN_HELP[binary]


def start_proxy(args=(), workdir=None, listen=("127.0.0.1:0",), db=None,
                wrapper=(), env=None, wait=True):
    """Starts `hstsproxy --db DB run --listen ... ARGS`; waits for the
    listening line. wrapper is a prefix argv (e.g. unshare). Adds
    `--probe off` when the binary knows it, unless args set --probe: the
    forwarding tests must not make the proxy contact or resolve anything
    on its own."""
    binary = proxy_bin()
    if not os.access(binary, os.X_OK):
        raise AssertionError("no hstsproxy binary at %s (set HSTSPROXY_BIN)"
                             % binary)
    args = list(args)
    if "--probe" not in args and run_supports("--probe"):
        args += ["--probe", "off"]
    # Never reach the internet: no refresh of the preload list unless asked.
    if ("--preload-refresh" not in args
            and run_supports("--preload-refresh")):
        args += ["--preload-refresh", "off"]
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix="hstsproxy-itest-")
    if db is None:
        db = os.path.join(workdir, "proxy-%d.db" % time.monotonic_ns())
    argv = list(wrapper) + [binary, "--db", db, "run"]
    for a in listen:
        argv += ["--listen", a]
    argv += list(args)
    e = clean_env()
    e.update(env or {})
    p = Proxy(argv, e, workdir)
    if wait:
        p.wait_listening()
    return p


def small_quarantine_env(mb=8):
    """Environment for a proxy whose memory a test measures: under ASan a
    small quarantine, so that freed buffers do not count as held."""
    return {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
            + ":quarantine_size_mb=%d" % mb}


def clean_env():
    e = {k: v for k, v in os.environ.items()
         if k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                              "no_proxy", "ftp_proxy")}
    e["NO_COLOR"] = "1"
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    return e


# ---------------------------------------------------------------------------
# curl


class CurlResult:
    def __init__(self, rc, stderr, blocks, body, info):
        self.rc = rc
        self.stderr = stderr
        self.blocks = blocks         # [(status line, Headers)] in order
        self.body = body
        self.info = info             # list of -w %{json} dicts
        final = blocks[-1] if blocks else ("", Headers([]))
        self.status_line = final[0]
        self.headers = final[1]
        m = re.match(r"HTTP/\S+ (\d{3})", self.status_line)
        self.status = int(m.group(1)) if m else None

    def __repr__(self):
        return ("CurlResult(rc=%d, status=%r, headers=%r, body=%r, "
                "stderr=%r)" % (self.rc, self.status_line, self.headers,
                                self.body[:200], self.stderr[-500:]))


def parse_header_dump(text):
    blocks = []
    for block in re.split(r"\r?\n\r?\n", text):
        lines = [l for l in block.split("\r\n") if l]
        if not lines or not lines[0].startswith("HTTP/"):
            continue
        hs = []
        for l in lines[1:]:
            n, _, v = l.partition(":")
            hs.append((n, v.strip()))
        blocks.append((lines[0], Headers(hs)))
    return blocks


def curl(urls, proxy=None, args=(), max_time=CURL_MAX_TIME, workdir=None,
         timeout=None):
    """Runs curl on one URL or a list (one transfer each, in order, one
    curl process so connections are reused). Returns a CurlResult (for a
    list: .bodies has one body per URL and .info one dict per transfer)."""
    single = isinstance(urls, str)
    if single:
        urls = [urls]
    own = workdir is None
    if own:
        workdir = tempfile.mkdtemp(prefix="itest-curl-")
    try:
        tag = "%d-%d" % (os.getpid(), time.monotonic_ns())
        hdr = os.path.join(workdir, "curl-h-%s" % tag)
        bodies = [os.path.join(workdir, "curl-b-%s-%d" % (tag, i))
                  for i in range(len(urls))]
        argv = ["curl", "-q", "-sS", "--max-time", str(max_time),
                "-D", hdr, "-w", "%{json}\\n"]
        if proxy is not None:
            argv += ["-x", "http://127.0.0.1:%d" % proxy
                     if isinstance(proxy, int) else proxy]
        else:
            argv += ["--noproxy", "*"]
        argv += list(args)
        for u, b in zip(urls, bodies):
            argv += [u, "-o", b]
        r = subprocess.run(argv, capture_output=True, env=clean_env(),
                           timeout=timeout or max_time + 30)
        info = []
        for line in r.stdout.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    info.append(json.loads(line))
                except ValueError:
                    pass
        text = ""
        if os.path.exists(hdr):
            with open(hdr, "rb") as f:
                text = f.read().decode("latin-1")
        datas = []
        for b in bodies:
            if os.path.exists(b):
                with open(b, "rb") as f:
                    datas.append(f.read())
            else:
                datas.append(b"")
        res = CurlResult(r.returncode, r.stderr.decode("utf-8", "replace"),
                         parse_header_dump(text), datas[-1], info)
        res.bodies = datas
        res.argv = argv
        return res
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Raw client


class Response:
    def __init__(self, version, status, reason, headers, head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = Headers(headers)
        self.head = head
        self.body = b""
        self.body_raw = b""
        self.framing = None          # "cl", "chunked", "close", "none"
        self.complete = True

    def __repr__(self):
        return "Response(%s %d %r, %r, body=%r)" % (
            self.version, self.status, self.reason, self.headers.items,
            self.body[:200])


class RawClient:
    """A client socket that sends exact bytes and parses responses."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT,
                 rcvbuf=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.bs = BufferedSocket(self.sock)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def read_response(self, method="GET", skip_interim=True, sink=None):
        """The next response. Bodies per RFC 9112 framing; a body that ends
        early raises HTTPError. sink(chunk) receives body bytes instead of
        keeping them (large downloads)."""
        while True:
            head = self.bs.read_head()
            if head is None:
                raise HTTPError("connection closed before a response")
            start, headers = parse_head(head)
            m = re.fullmatch(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?", start)
            if not m:
                raise HTTPError("bad status line %r" % start)
            resp = Response(m.group(1), int(m.group(2)), m.group(3) or "",
                            headers, head)
            if 100 <= resp.status < 200 and resp.status != 101 \
                    and skip_interim:
                continue
            break
        h = resp.headers
        if (method == "HEAD" or resp.status in (204, 304)
                or 100 <= resp.status < 200
                or (method == "CONNECT" and 200 <= resp.status < 300)):
            resp.framing = "none"
        elif "chunked" in h.tokens("transfer-encoding"):
            resp.framing = "chunked"
            resp.body, resp.body_raw = self.bs.read_chunked(sink)
        elif h.get("content-length") is not None:
            resp.framing = "cl"
            resp.body = self.bs.read_exact(int(h.get("content-length")), sink)
        else:
            resp.framing = "close"
            resp.body = self.bs.read_until_eof(sink)
        return resp

    def closed_by_peer(self, timeout=5.0):
        """True when the peer closes (EOF or reset) within timeout with no
        further bytes; False on timeout; raises when bytes arrive."""
        if self.bs.buf:
            raise AssertionError("unexpected extra bytes: %r"
                                 % bytes(self.bs.buf[:200]))
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(BLOCK)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if data:
            raise AssertionError("unexpected extra bytes: %r" % data[:200])
        return True

    def no_data_within(self, timeout):
        """True when nothing arrives (and no close) within timeout."""
        if self.bs.buf:
            return False
        r, _, _ = select.select([self.sock], [], [], timeout)
        return not r

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def send_and_read_back(self, data, join_s=10):
        """Sends data, then half-closes, from another thread (an echo at the
        far end of a tunnel would otherwise block on a full window) while
        reading here until EOF; returns what was read."""
        sender = threading.Thread(target=lambda: (self.send(data),
                                                  self.shutdown_write()))
        sender.start()
        back = self.bs.read_until_eof()
        sender.join(join_s)
        return back

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_request(method, target, host=None, headers=(), body=None,
                 version="HTTP/1.1"):
    """Builds request bytes. host=None omits Host; body bytes get a
    Content-Length unless headers already frame it."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    names = [n.lower() for n, _ in headers]
    lines += ["%s: %s" % kv for kv in headers]
    if body is not None and "content-length" not in names \
            and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out + (body or b"")


# ---------------------------------------------------------------------------
# unittest base


class ProxyTestCase(unittest.TestCase):
    """Per-class temp dir (cls.tmp) and cleanup of origins and proxies."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hstsproxy-itest-")
        # class cleanups run last-in first-out, after tearDownClass
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    @classmethod
    def class_origin(cls, **kw):
        o = Origin(**kw)
        cls.addClassCleanup(o.close)
        return o

    @classmethod
    def class_proxy(cls, args=(), **kw):
        """A proxy shared by the class; stopped (exit 0 asserted) at the
        end of the class."""
        p = start_proxy(args, workdir=cls.tmp, **kw)
        cls.addClassCleanup(p.kill)
        cls.addClassCleanup(p.stop)
        return p

    def origin(self, **kw):
        o = Origin(**kw)
        self.addCleanup(o.close)
        return o

    def proxy(self, args=(), **kw):
        """A proxy for one test: killed at cleanup if the test did not stop
        it."""
        p = start_proxy(args, workdir=self.tmp, **kw)
        self.addCleanup(p.kill)
        return p

    def proxy_on_free_port(self, args_for):
        """A proxy listening on a port picked first, so that its own
        arguments can name it: args_for(port) gives them. Returns
        (proxy, port)."""
        for attempt in range(3):  # the port is free now, taken in a moment
            s, port = refused_port()
            s.close()
            try:
                return self.proxy(args_for(port),
                                  listen=("127.0.0.1:%d" % port,)), port
            except AssertionError:
                if attempt == 2:
                    raise
        return None, 0

    def raw(self, port, **kw):
        c = RawClient(port, **kw)
        self.addCleanup(c.close)
        return c

    def curl(self, urls, proxy=None, args=(), **kw):
        return curl(urls, proxy=proxy, args=args, workdir=self.tmp, **kw)


def main():
    """unittest.main with verbose output (one process per file)."""
    unittest.main(verbosity=2)


# ---------------------------------------------------------------------------
# Self-check of the origins, with curl direct (no proxy)


class _SelfCheck(ProxyTestCase):
    def test_origin_routes(self):
        o = self.origin()
        r = self.curl(o.url("/echo?a=1"), args=["-H", "X-T: 1"])
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual(doc["target"], "/echo?a=1")
        self.assertIn(["X-T", "1"], doc["headers"])
        r = self.curl(o.url("/bytes?n=300000&seed=3&mode=chunked"))
        self.assertEqual(sha256(r.body), body_sha256(300000, 3))
        r = self.curl(o.url("/bytes?n=300000&seed=3&mode=close"))
        self.assertEqual(sha256(r.body), body_sha256(300000, 3))
        r = self.curl(o.url("/die?n=1000&after=10"))
        self.assertNotEqual(r.rc, 0, r)
        r = self.curl([o.url("/echo"), o.url("/status?code=204"),
                       o.url("/echo")])
        self.assertEqual(o.conn_count(), 5)  # 4 above + 1 reused
        path = os.path.join(self.tmp, "up")
        digest = write_body_file(path, 3 * MB, 9)
        r = self.curl(o.url("/echo"), args=["-T", path, "-H",
                                            "Transfer-Encoding: chunked"])
        doc = json.loads(r.body)
        self.assertTrue(doc["chunked"])
        self.assertEqual(doc["body_sha256"], digest)

    def test_tls_origin(self):
        pki = make_pki(os.path.join(self.tmp, "pki"))
        o = self.origin(ssl_context=server_ssl_context(pki))
        r = self.curl("https://secure.test:%d/echo" % o.port,
                      args=["--cacert", pki["ca.pem"], "--resolve",
                            "secure.test:%d:127.0.0.1" % o.port])
        self.assertEqual(r.status, 200, r)

    def test_raw_and_ws(self):
        o = self.origin()
        c = self.raw(o.port)
        c.send(http_request("GET", "/echo?1", "x") +
               http_request("GET", "/bytes?n=10&mode=chunked", "x"))
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(c.read_response().body, body_bytes(10))
        c = self.raw(o.port)
        c.send(http_request("GET", "/ws", "x", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13")]))
        r = c.read_response(skip_interim=False)
        self.assertEqual(r.status, 101)
        self.assertEqual(r.headers.get("sec-websocket-accept"),
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        c.send(b"hello")
        self.assertEqual(c.bs.read_exact(5), b"hello")
        c.shutdown_write()
        self.assertTrue(c.closed_by_peer())


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    unittest.main(defaultTest="_SelfCheck", verbosity=2)
