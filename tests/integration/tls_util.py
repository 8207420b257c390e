"""tls_util.py - helpers for the tests of hstsproxy's own TLS client.

Standard library only, loopback only. Built on harness.py (make_pki, the
recording Origin with an ssl context) without changing it:

- routed_handler(routes): an Origin handler answering from a dict the
  test may change between requests: routes[(METHOD, PATH)] or
  routes[(None, PATH)] -> Reply. Anything else gets 404.
- Reply: status, headers, body, framing mode ("cl", "chunked", "close")
  and whether to end a close-delimited body with a TLS close_notify.
- tls_origin(case, pki, routes): a TLS origin with the leaf of pki,
  cleaned up with the test.
- SilentServer: accepts TCP connections and never sends a byte (a TLS
  handshake with it can only time out).
- run_cli(args, db, timeout): runs the binary with a clean environment and
  returns (status, stdout, stderr, seconds), asserting no sanitizer report.
"""

import os
import socket
import subprocess
import threading
import time

from harness import (IO_TIMEOUT, Origin, clean_env,  # noqa: F401
                     close_listener, proxy_bin, server_ssl_context)

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer", "SUMMARY: UndefinedBehavior")
RUN_TIMEOUT = 60


class Reply:
    def __init__(self, status=200, headers=(), body=b"", mode="cl",
                 close_notify=False):
        self.status = status
        self.headers = list(headers)
        self.body = body
        self.mode = mode
        self.close_notify = close_notify


def routed_handler(routes):
    def handler(origin, sock, bs, req, rec):
        reply = routes.get((req.method, req.path)) or routes.get(
            (None, req.path))
        if reply is None:
            return origin.send_response(sock, req, rec, 404,
                                        [("Content-Type", "text/plain")],
                                        b"not found\n")
        keep = origin.send_response(sock, req, rec, reply.status,
                                    reply.headers, reply.body,
                                    mode=reply.mode)
        if reply.close_notify:
            sock.unwrap()  # close_notify, then wait for the client's
            return False
        return keep
    return handler


def tls_origin(case, pki, routes):
    o = Origin(ssl_context=server_ssl_context(pki),
               handler=routed_handler(routes))
    case.addCleanup(o.close)
    return o


class SilentServer:
    """Accepts and holds TCP connections without ever answering."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(s)

    def accepted(self):
        with self.lock:
            return len(self.conns)

    def close(self):
        close_listener(self.listener, self.thread)
        with self.lock:
            for s in self.conns:
                try:
                    s.close()
                except OSError:
                    pass


def run_cli(args, db, timeout=RUN_TIMEOUT, env=None):
    """Runs `hstsproxy --db DB ARGS`; returns (status, out, err, seconds)."""
    e = clean_env()
    e.pop("HSTSPROXY_DB", None)
    e.pop("XDG_STATE_HOME", None)
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run([proxy_bin(), "--db", db] + list(args),
                       capture_output=True, timeout=timeout, env=e,
                       stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    for m in SANITIZER_MARKERS:
        if m in err:
            raise AssertionError("sanitizer report:\n%s" % err[-6000:])
    return p.returncode, out, err, elapsed


def cert_for(directory, names, ips=()):
    """A PKI of its own (CA and leaf) for names; see harness.make_pki."""
    from harness import make_pki
    return make_pki(os.path.join(directory), names=tuple(names),
                    ips=tuple(ips))
