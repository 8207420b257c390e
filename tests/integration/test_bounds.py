"""Memory bounds (issue 7 "Bounds"): thousands of concurrent connections
and multi-gigabyte transfers keep the proxy's memory flat.

- 2,000 connections at once: half are keep-alive clients idle after an
  internal 307, half have a request forwarded to an origin that holds
  every answer until all have arrived (so each has an origin connection
  open as well). The proxy's RSS growth per connection is measured and
  bounded, then every held request is answered.
- 2 GiB down through a forwarded GET, 2 GiB up through a POST, and 2 GiB
  through a CONNECT tunnel: the proxy's RSS, sampled during each transfer,
  stays within a fixed bound of where it started, and every 64 KiB block
  arrives once, in order (each block starts with its index, see
  harness.body_iter).

The figures are printed (stderr) so they can be quoted; README.md
("Memory") records them. Sizes: HSTSPROXY_BOUNDS_GIB (default 2)."""

import os
import resource
import selectors
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

GIB = 1 << 30
TRANSFER = int(float(os.environ.get("HSTSPROXY_BOUNDS_GIB", "2")) * GIB)
CONNS_EACH = 1000                # idle after a 307, and held at the origin
PER_CONN_MAX_KB = 48             # measured ~10 kB (half with an origin side)
TRANSFER_GROWTH_MAX_KB = 40 * 1024
SAMPLE_S = 0.05
RECV = 1 << 20
FDS_NEEDED = 4 * CONNS_EACH + 256  # our sockets, and the origin's


class RssSampler:
    """The highest VmRSS of proxy p seen while the with-block runs."""

    def __init__(self, p):
        self.p = p
        self.peak = 0
        self.done = threading.Event()

    def _run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.p.status_field("VmRSS"))
            self.done.wait(SAMPLE_S)

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.p.status_field("VmRSS"))


class BlockCheck:
    """Counts a body and checks that block i starts with i (8 bytes)."""

    def __init__(self):
        self.pos = 0
        self.head = b""
        self.bad_at = None

    def feed(self, data):
        mv, i, n = memoryview(data), 0, len(data)
        while i < n:
            off = self.pos % H.BLOCK
            if off < 8:
                take = min(8 - off, n - i)
                self.head += bytes(mv[i:i + take])
                if len(self.head) == 8:
                    if (int.from_bytes(self.head, "big") != self.pos // H.BLOCK
                            and self.bad_at is None):
                        self.bad_at = self.pos
                    self.head = b""
            else:
                take = min(H.BLOCK - off, n - i)
            i += take
            self.pos += take

    def assert_whole(self, case, n):
        case.assertIsNone(self.bad_at, "a block out of place at byte %s"
                          % self.bad_at)
        case.assertEqual(self.pos, n)


def read_into(sock, check, n):
    buf = bytearray(RECV)
    while check.pos < n:
        got = sock.recv_into(buf, min(RECV, n - check.pos))
        if got == 0:
            raise H.HTTPError("closed after %d of %d bytes" % (check.pos, n))
        check.feed(memoryview(buf)[:got])


class SinkOrigin:
    """Accepts one connection at a time: for each request with a
    Content-Length body, checks the blocks and answers with the count;
    with `stream` set, a raw TCP peer that sends `stream` bytes instead
    (a tunnel's far end)."""

    def __init__(self, stream=0):
        self.stream = stream
        self.checks = []
        self.errors = []
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            while True:
                sock, _ = self.lsock.accept()
                with sock:
                    sock.settimeout(H.IO_TIMEOUT)
                    if self.stream:
                        for block in H.body_iter(self.stream, 7):
                            sock.sendall(block)
                        sock.shutdown(socket.SHUT_WR)
                        sock.recv(1)
                    else:
                        self._answer(sock)
        except OSError:
            return
        except Exception as e:  # a harness bug: make it visible
            self.errors.append(repr(e))

    def _answer(self, sock):
        bs = H.BufferedSocket(sock)
        head = bs.read_head()
        if head is None:
            return
        _, headers = H.parse_head(head)
        n = int(H.Headers(headers).get("content-length"))
        check = BlockCheck()
        self.checks.append(check)
        check.feed(bs.read_exact(min(n, len(bs.buf))) if bs.buf else b"")
        read_into(sock, check, n)
        body = b"%d" % check.pos
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))

    def close(self):
        H.close_listener(self.lsock, self.thread)


class HeldOrigin:
    """An origin on one selector thread that reads request heads from any
    number of connections and answers none until `release()`; then each
    gets a small 200 (keep-alive)."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.lsock = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self.lsock.setblocking(False)
        self.port = self.lsock.getsockname()[1]
        self.held = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.stopping = threading.Event()
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def held_count(self):
        with self.lock:
            return len(self.held)

    def release(self):
        self.released.set()

    def _run(self):
        bufs = {}
        while not self.stopping.is_set():
            for key, _ in self.sel.select(0.05):
                if key.data is None:
                    sock, _ = self.lsock.accept()
                    sock.setblocking(False)
                    bufs[sock] = b""
                    self.sel.register(sock, selectors.EVENT_READ, True)
                    continue
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(sock)
                    sock.close()
                    continue
                bufs[sock] += data
                if b"\r\n\r\n" in bufs[sock]:
                    bufs[sock] = b""
                    with self.lock:
                        self.held.append(sock)
            if self.released.is_set():
                with self.lock:
                    held, self.held = self.held, []
                for sock in held:
                    sock.setblocking(True)
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
                                 b"\r\nheld")
                    sock.setblocking(False)

    def close(self):
        self.stopping.set()
        self.thread.join()
        for key in list(self.sel.get_map().values()):
            key.fileobj.close()
        self.sel.close()


def read_status(bs):
    """The status code of the next response on bs, its body consumed."""
    head = bs.read_head()
    if head is None:
        raise H.HTTPError("connection closed before a response")
    start, headers = H.parse_head(head)
    bs.read_exact(int(H.Headers(headers).get("content-length") or 0))
    return int(start.split(" ")[1])


class ManyConnections(H.ProxyTestCase):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < FDS_NEEDED:
            self.skipTest("needs %d file descriptors, the hard limit is %d"
                          % (FDS_NEEDED, hard))
        if soft != resource.RLIM_INFINITY and soft < FDS_NEEDED:
            resource.setrlimit(resource.RLIMIT_NOFILE, (FDS_NEEDED, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))

    def connect_all(self, port, n):
        """n connected sockets, each with its BufferedSocket."""
        out = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), H.IO_TIMEOUT)
            self.addCleanup(s.close)
            out.append(H.BufferedSocket(s))
        return out

    def test_two_thousand_connections(self):
        origin = HeldOrigin()
        self.addCleanup(origin.close)
        p = self.proxy(["--workers", "2", "--max-conns", str(4 * CONNS_EACH)],
                       env=H.small_quarantine_env())
        # warm up both paths, so pools and caches are in place
        for c in self.connect_all(p.port, 4):
            c.sock.sendall(H.http_request("GET", "http://warm.dev/",
                                          "warm.dev"))
            self.assertEqual(read_status(c), 307)
        base = p.status_field("VmRSS")

        idle = self.connect_all(p.port, CONNS_EACH)
        for i, c in enumerate(idle):
            c.sock.sendall(H.http_request("GET", "http://c%d.dev/" % i,
                                          "c%d.dev" % i))
        for c in idle:
            self.assertEqual(read_status(c), 307)
        held = self.connect_all(p.port, CONNS_EACH)
        authority = "127.0.0.1:%d" % origin.port
        for i, c in enumerate(held):
            c.sock.sendall(H.http_request(
                "GET", "http://%s/held/%d" % (authority, i), authority))
        H.wait_until(lambda: origin.held_count() == CONNS_EACH, 60,
                     interval=0.1, what="every request held at the origin")
        during = p.status_field("VmRSS")
        per_conn = (during - base) / (2 * CONNS_EACH)
        print("\n%d connections (%d idle after a 307, %d forwarded and "
              "held): RSS %d -> %d kB, %.1f kB per connection"
              % (2 * CONNS_EACH, CONNS_EACH, CONNS_EACH, base, during,
                 per_conn), file=sys.stderr)
        self.assertLess(per_conn, PER_CONN_MAX_KB)

        origin.release()
        for c in held:
            self.assertEqual(read_status(c), 200)
        # the connections are still served: one more request on some
        for c in idle[:10] + held[:10]:
            c.sock.sendall(H.http_request("GET", "http://again.dev/",
                                          "again.dev"))
            self.assertEqual(read_status(c), 307)
        p.assert_alive()
        p.stop()


class MultiGigabyte(H.ProxyTestCase):
    def measure(self, p, what, run):
        base = p.status_field("VmRSS")
        t0 = time.monotonic()
        with RssSampler(p) as s:
            run()
        secs = time.monotonic() - t0
        growth = s.peak - base
        print("\n%s, %.1f GiB in %.1f s (%.0f MiB/s): RSS %d kB, peak "
              "%d kB (+%d kB)" % (what, TRANSFER / GIB, secs,
                                 TRANSFER / (1 << 20) / secs, base, s.peak,
                                 growth), file=sys.stderr)
        self.assertLess(growth, TRANSFER_GROWTH_MAX_KB,
                        "%s: the proxy's RSS grew by %d kB" % (what, growth))

    def test_download(self):
        o = self.origin()
        p = self.proxy(env=H.small_quarantine_env())
        self.assertEqual(self.curl(o.url("/bytes?n=4000000"),
                                   proxy=p.port).status, 200)

        def run():
            c = self.raw(p.port, timeout=60)
            c.send(H.http_request("GET", o.url("/bytes?n=%d&seed=0"
                                               % TRANSFER), o.authority))
            self.assertRegex(c.bs.read_head(), rb"^HTTP/1\.1 200 ")
            check = BlockCheck()
            c.bs.read_exact(TRANSFER, sink=check.feed)
            check.assert_whole(self, TRANSFER)

        self.measure(p, "GET through the proxy", run)
        p.stop()

    def upload(self, p, origin, n):
        c = self.raw(p.port, timeout=60)
        authority = "127.0.0.1:%d" % origin.port
        c.send(H.http_request("POST", "http://%s/up" % authority, authority,
                              [("Content-Length", str(n))]))
        for block in H.body_iter(n, 0):
            c.sock.sendall(block)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"%d" % n))

    def test_upload(self):
        origin = SinkOrigin()
        self.addCleanup(origin.close)
        p = self.proxy(env=H.small_quarantine_env())
        self.upload(p, origin, 4000000)
        self.measure(p, "POST through the proxy",
                     lambda: self.upload(p, origin, TRANSFER))
        origin.checks[-1].assert_whole(self, TRANSFER)
        self.assertEqual(origin.errors, [])
        p.stop()

    def test_tunnel(self):
        origin = SinkOrigin(stream=TRANSFER)
        self.addCleanup(origin.close)
        p = self.proxy(["--connect-ports", str(origin.port)],
                       env=H.small_quarantine_env())

        def run():
            c = self.raw(p.port, timeout=60)
            authority = "127.0.0.1:%d" % origin.port
            c.send("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                   % (authority, authority))
            self.assertRegex(c.bs.read_head(), rb"^HTTP/1\.1 200 ")
            check = BlockCheck()
            c.bs.read_exact(TRANSFER, sink=check.feed)
            check.assert_whole(self, TRANSFER)

        self.measure(p, "CONNECT tunnel", run)
        self.assertEqual(origin.errors, [])
        p.stop()


if __name__ == "__main__":
    H.main()
