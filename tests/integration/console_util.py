"""console_util.py - clients of the console's API for the console tests.

- api(port, method, path, body=None, headers=None): one request on its own
  connection; returns (status, headers dict lowercased, body bytes).
- token(port): the CSRF token from GET /api/status.
- change(port, method, path, doc): a state-changing request done right
  (JSON body, Content-Type and the token).
- Stream: GET /api/hops/stream read as Server-Sent Events; events(n,
  timeout) returns the next n (type, data) pairs.
"""

import http.client
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402


def api(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def token(port):
    st, _, body = api(port, "GET", "/api/status")
    assert st == 200, (st, body)
    return json.loads(body)["csrf_token"]


def change(port, method, path, doc=None, tok=None):
    headers = {"Content-Type": "application/json",
               "X-CSRF-Token": tok or token(port)}
    body = json.dumps(doc).encode() if doc is not None else None
    return api(port, method, path, body=body, headers=headers)


class Stream:
    """One SSE connection to the console."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.sendall(b"GET /api/hops/stream HTTP/1.1\r\n"
                          b"Host: 127.0.0.1\r\nAccept: text/event-stream"
                          b"\r\n\r\n")
        self.bs = H.BufferedSocket(self.sock)
        self.head = self.bs.read_head()
        start, headers = H.parse_head(self.head)
        self.status = int(start.split()[1])
        self.headers = {k.lower(): v for k, v in headers}

    def _line(self):
        while True:
            i = self.bs.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.bs.buf[:i])
                del self.bs.buf[:i + 1]
                return line.decode()
            if not self.bs._fill():
                raise H.HTTPError("stream ended")

    def events(self, n, timeout=5.0):
        """The next n events as (type, data) pairs; fewer on timeout."""
        out, kind, data = [], None, []
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                line = self._line()
            except (socket.timeout, TimeoutError):
                break
            if line == "":
                if kind is not None or data:
                    out.append((kind or "message", "\n".join(data)))
                kind, data = None, []
            elif line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
        return out

    def close(self):
        self.sock.close()
