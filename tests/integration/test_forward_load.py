"""Forwarding core under load: 100 parallel clients all get correct bodies
(two workers); a client that reads a 50 MB download very slowly does not
make the proxy buffer it (resident memory stays bounded: backpressure)."""

import hashlib
import json
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

CLIENTS = 100
SLOW_SIZE = 50 * H.MB
RSS_GROWTH_MAX_KB = 40 * 1024   # far below the 50 MB a buffering proxy holds


class ParallelClients(H.ProxyTestCase):
    def test_100_parallel_raw_clients(self):
        o = self.origin()
        p = self.proxy(["--workers", "2"])
        start = threading.Barrier(CLIENTS)
        errors = []

        def client(i):
            try:
                start.wait(20)
                with H.RawClient(p.port, timeout=30) as c:
                    n = 20000 + i * 997
                    c.send(H.http_request(
                        "GET", o.url("/bytes?n=%d&seed=%d%s"
                                     % (n, i, "&mode=chunked" if i % 2
                                        else "")), o.authority))
                    r = c.read_response()
                    if r.status != 200 or r.body != H.body_bytes(n, i):
                        errors.append((i, "GET", r.status, len(r.body)))
                        return
                    body = H.body_bytes(5000 + i, 1000 + i)
                    c.send(H.http_request("POST", o.url("/echo?c=%d" % i),
                                          o.authority, [], body))
                    r = c.read_response()
                    doc = json.loads(r.body)
                    if (doc["target"] != "/echo?c=%d" % i
                            or doc["body_sha256"] != H.sha256(body)):
                        errors.append((i, "POST", doc["target"]))
            except Exception as e:  # collected, asserted below
                errors.append((i, repr(e)))

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(o.request_count(), 2 * CLIENTS)
        p.assert_alive()
        p.stop()

    def test_parallel_curl(self):
        o = self.origin()
        p = self.proxy()
        results = {}

        def run(i):
            results[i] = self.curl(o.url("/bytes?n=%d&seed=%d"
                                         % (300000 + i, 200 + i)),
                                   proxy=p.port)
        threads = [threading.Thread(target=run, args=(i,))
                   for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i in range(20):
            r = results.get(i)
            self.assertIsNotNone(r, "curl %d did not finish" % i)
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(r.body, H.body_bytes(300000 + i, 200 + i))
        p.stop()


class Backpressure(H.ProxyTestCase):
    def test_slow_reader_bounded_memory(self):
        o = self.origin()
        p = self.proxy(env=H.small_quarantine_env())
        r = self.curl(o.url("/bytes?n=1000"), proxy=p.port)  # warm up
        self.assertEqual(r.status, 200, r)
        base_kb = p.status_field("VmRSS")

        c = self.raw(p.port, timeout=30, rcvbuf=16384)
        c.send(H.http_request("GET", o.url("/bytes?n=%d&seed=60"
                                           % SLOW_SIZE), o.authority))
        got = hashlib.sha256()
        head = c.bs.read_head()
        self.assertRegex(head, rb"^HTTP/1\.1 200 ")
        first = c.bs.read_exact(65536)
        got.update(first)

        # stop reading; wait until the origin cannot send any more
        last, stable_since = -1, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            sent = o.sent_total()
            if sent >= SLOW_SIZE:
                break
            if sent != last:
                last, stable_since = sent, time.monotonic()
            elif time.monotonic() - stable_since > 1.0:
                break
            time.sleep(0.1)
        peak_kb = p.status_field("VmHWM")
        rss_kb = p.status_field("VmRSS")
        growth = max(peak_kb, rss_kb) - base_kb
        self.assertLess(growth, RSS_GROWTH_MAX_KB,
                        "proxy memory grew by %d kB while a client read "
                        "slowly (origin had sent %d bytes, client read "
                        "64 KiB): no backpressure" % (growth, o.sent_total()))

        # now read the rest at full speed: the body is intact
        c.bs.read_exact(SLOW_SIZE - len(first), sink=got.update)
        self.assertEqual(got.hexdigest(), H.body_sha256(SLOW_SIZE, 60))
        p.stop()


class BackpressureOther(H.ProxyTestCase):
    """The same bound for an upload to an origin that does not read yet,
    for a CONNECT tunnel whose client does not read, and a client that
    goes away mid-download (the origin side is closed, not drained)."""

    @staticmethod
    def wait_stalled(counter, limit, what):
        """Waits until counter() stops growing for 1 s (or reaches
        limit); returns its value."""
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            v = counter()
            if v >= limit:
                return v
            if v != last:
                last, since = v, time.monotonic()
            elif time.monotonic() - since > 1.0:
                return v
            time.sleep(0.1)
        raise AssertionError("%s never stalled" % what)

    def test_upload_to_an_origin_not_reading(self):
        o = self.origin()
        p = self.proxy(env=H.small_quarantine_env())
        self.curl(o.url("/echo"), proxy=p.port)  # warm up
        base_kb = p.status_field("VmRSS")
        c = self.raw(p.port, timeout=30)
        sent = [0]

        def upload():
            c.send(H.http_request("POST", o.url("/sink"), o.authority,
                                  [("Content-Length", str(SLOW_SIZE))]))
            for chunk in H.body_iter(SLOW_SIZE, 61):
                c.send(chunk)
                sent[0] += len(chunk)
        t = threading.Thread(target=upload, daemon=True)
        t.start()
        self.wait_stalled(lambda: sent[0], SLOW_SIZE, "the upload")
        growth = max(p.status_field("VmHWM"), p.status_field("VmRSS")) \
            - base_kb
        self.assertLess(growth, RSS_GROWTH_MAX_KB,
                        "proxy memory grew by %d kB while the origin did "
                        "not read (client had sent %d bytes)"
                        % (growth, sent[0]))
        o.release.set()
        t.join(30)
        doc = json.loads(c.read_response().body)
        self.assertEqual((doc["body_len"], doc["body_sha256"]),
                         (SLOW_SIZE, H.body_sha256(SLOW_SIZE, 61)))
        p.stop()

    def test_tunnel_client_not_reading(self):
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        p = self.proxy(["--connect-ports", str(echo.port)],
                       env=H.small_quarantine_env())
        base_kb = p.status_field("VmRSS")
        c = self.raw(p.port, timeout=30)
        c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % echo.port)
        self.assertEqual(c.read_response("CONNECT").status, 200)
        sent = [0]

        def writer():
            for chunk in H.body_iter(SLOW_SIZE, 62):
                c.send(chunk)
                sent[0] += len(chunk)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        self.wait_stalled(lambda: sent[0], SLOW_SIZE, "the tunnel writer")
        growth = max(p.status_field("VmHWM"), p.status_field("VmRSS")) \
            - base_kb
        self.assertLess(growth, RSS_GROWTH_MAX_KB,
                        "proxy memory grew by %d kB in a tunnel whose "
                        "client did not read (sent %d bytes)"
                        % (growth, sent[0]))
        got = hashlib.sha256()
        c.bs.read_exact(SLOW_SIZE, sink=got.update)
        self.assertEqual(got.hexdigest(), H.body_sha256(SLOW_SIZE, 62))
        t.join(10)
        c.close()  # an open tunnel would hold the graceful stop
        p.stop()

    def test_client_abort_closes_origin_side(self):
        o = self.origin()
        p = self.proxy()
        c = self.raw(p.port, timeout=10)
        c.send(H.http_request("GET", o.url("/bytes?n=%d" % SLOW_SIZE),
                              o.authority))
        c.bs.read_head()
        c.bs.read_exact(H.MB)
        c.close()
        H.wait_until(lambda: o.conns and o.conns[-1].closed, 10,
                     what="the proxy to close the origin connection of "
                          "an aborted download")
        self.assertLess(o.sent_total(), SLOW_SIZE)
        r = self.curl(o.url("/echo?after-abort"), proxy=p.port)
        self.assertEqual(r.status, 200, r)
        p.stop()


WORKERS = 2


def splice_cache():
    """Empty pipes a worker keeps for splice(2), from the proxy's source."""
    with open(os.path.join(H.REPO, "proxy", "include", "proxy_limits.h")) as f:
        m = re.search(r"#define PROXY_SPLICE_CACHE (\d+)", f.read())
    return int(m.group(1))


def fds_by_kind(pid):
    """The process's descriptors counted by what they are: "socket",
    "pipe", "anon_inode" or the file's path."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:  # closed meanwhile
            continue
        kind = target.split(":[", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class NoDescriptorLeak(H.ProxyTestCase):
    """200 clients at once through every path (forwarded, refused, 504,
    malformed, origin dying, client aborting, tunnels, WebSocket, a body
    never finished): afterwards the proxy holds no socket beyond its
    baseline and the origin connections it still pools, no pipe beyond
    the empty ones each worker keeps for splice(2) (PROXY_SPLICE_CACHE),
    and nothing else beyond its baseline."""

    def test_mixed_paths_no_fd_leak(self):
        o = self.origin()
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        rs, rport = H.refused_port()
        self.addCleanup(rs.close)
        p = self.proxy(["--connect-ports", "%d,%d" % (echo.port, rport),
                        "--timeout-response", "1", "--timeout-header", "2",
                        "--workers", str(WORKERS)])
        a = o.authority

        def pooled():  # origin connections the origin still sees open
            return sum(1 for c in o.conns if not c.closed)
        base = fds_by_kind(p.pid)
        ws = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
              ("Sec-WebSocket-Key", "x"), ("Sec-WebSocket-Version", "13")]
        steps = [
            lambda c: (c.send(H.http_request("GET", o.url("/echo"), a)),
                       c.read_response()),
            lambda c: (c.send(H.http_request(
                "GET", "http://127.0.0.1:%d/" % rport, "x")),
                c.read_response()),
            lambda c: (c.send(H.http_request(
                "GET", o.url("/slow?delay=1.5"), a)), c.read_response()),
            lambda c: (c.send(b"GET http://x/ HTTP/1.1\r\nHost: x\r\n"
                              b"Host: y\r\n\r\n"), c.read_response()),
            lambda c: (c.send(H.http_request(
                "GET", o.url("/die?n=100000&after=1000"), a)),
                c.bs.read_until_eof()),
            lambda c: (c.send(H.http_request(
                "GET", o.url("/bytes?n=5000000"), a)), c.bs.read_head(),
                c.bs.read_exact(100000)),
            lambda c: (c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x"
                              "\r\n\r\nx" % echo.port),
                       c.read_response("CONNECT"), c.bs.read_exact(1)),
            lambda c: (c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x"
                              "\r\n\r\n" % rport),
                       c.read_response("CONNECT")),
            lambda c: (c.send(H.http_request("GET", o.url("/ws"), a, ws)
                              + b"y"),
                       c.read_response(skip_interim=False),
                       c.bs.read_exact(1)),
            lambda c: c.send(H.http_request(
                "POST", o.url("/echo"), a, [("Content-Length", "100000")],
                b"partial")),
        ]
        errors = []

        def work(i):
            try:
                with H.RawClient(p.port, timeout=20) as c:
                    steps[i % len(steps)](c)
            except Exception as e:  # collected, asserted below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        allowed = dict(base)
        allowed["pipe"] = base.get("pipe", 0) + 2 * splice_cache() * WORKERS

        def extra():
            now = fds_by_kind(p.pid)
            over = {k: n - allowed.get(k, 0) for k, n in now.items()
                    if k != "socket" and n > allowed.get(k, 0)}
            sockets = now.get("socket", 0) - base.get("socket", 0)
            if sockets > pooled():
                over["socket"] = sockets
            return over
        try:
            H.wait_until(lambda: not extra(), 15,
                         what="proxy descriptors back to baseline")
        except AssertionError as e:
            raise AssertionError("%s: beyond it %r (baseline %r, %d "
                                 "origin connections pooled)"
                                 % (e, extra(), base, pooled())) from None
        p.assert_alive()
        p.stop()


if __name__ == "__main__":
    H.main()
