"""Bulk bytes through splice(2) (issue 19, part 2): large bodies (a
Content-Length with at least 64 KiB still to come, both ways; a
close-delimited response) and tunnels move through pipes. /metrics counts the bulk phases that did
(hstsproxy_splice_total{result="spliced"}) and their bytes; these tests
check that the path was taken and that it keeps the copying path's rules:
exact framing (no byte past the body), keep-alive and the origin pool
afterwards, bounded memory for a slow reader, errors named, the tunnel's
half-close and idle timeout."""

import hashlib
import json
import os
import platform
import re
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

KB = 1024


def metric(p, name):
    r = H.curl("http://127.0.0.1:%d/metrics" % p.port)
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.body.decode(), re.M)
    if m is None:
        raise AssertionError("%s not on /metrics" % name)
    return int(m.group(1))


def spliced(p):
    return metric(p, 'hstsproxy_splice_total{result="spliced"}')


def spliced_bytes(p):
    return metric(p, "hstsproxy_spliced_bytes_total")


def refused(p):
    return metric(p, 'hstsproxy_splice_total{result="refused"}')


class RawOrigin:
    """An origin that runs script(sock, request_head) for each connection,
    one thread per connection; counts connections."""

    def __init__(self, script):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.conns = 0
        self.socks = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            self.conns += 1
            self.socks.append(s)
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    def _serve(self, s):
        bs = H.BufferedSocket(s)
        try:
            while True:
                head = bs.read_head()
                if head is None:
                    return
                if not self.script(s, head):
                    return
        except OSError:
            return

    def close(self):
        H.close_listener(self.listener, self.thread)
        for s in self.socks:  # shut down first: wakes a serving thread
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def get(c, port, path, host="127.0.0.1"):
    c.send(H.http_request("GET", "http://%s:%d%s" % (host, port, path),
                          host="%s:%d" % (host, port)))


class SpliceTest(H.ProxyTestCase):
    def setUp(self):
        self.o = self.origin()
        self.p = self.proxy(["--verbose"])

    def test_large_body_spliced_then_keep_alive_and_pool(self):
        n = 1 * H.MB + 12345
        before, bytes_before = spliced(self.p), spliced_bytes(self.p)
        c = self.raw(self.p.port)
        get(c, self.o.port, "/bytes?n=%d&seed=7" % n)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(H.sha256(r.body), H.body_sha256(n, 7))
        # the same client connection, and the same (pooled) origin one
        get(c, self.o.port, "/bytes?n=%d&seed=8" % n)
        r = c.read_response()
        self.assertEqual(H.sha256(r.body), H.body_sha256(n, 8))
        get(c, self.o.port, "/status?code=200")
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(self.o.conn_count(), 1)
        self.assertEqual(spliced(self.p) - before, 2)
        moved = spliced_bytes(self.p) - bytes_before
        # all but what came with each head (at most 64 KiB each)
        self.assertGreater(moved, 2 * (n - 64 * KB))
        self.assertLessEqual(moved, 2 * n)

    def test_upload_spliced_then_keep_alive(self):
        n = 3 * H.MB + 5
        before = spliced(self.p)
        c = self.raw(self.p.port)
        body = H.body_bytes(n, 19)
        for expect in ((), (("Expect", "100-continue"),)):
            c.send(H.http_request("POST", self.o.url("/echo"),
                                  self.o.authority,
                                  [("Content-Length", str(n))]
                                  + list(expect)))
            if expect:  # the body follows the 100, as a client would
                r = c.read_response(skip_interim=False)
                self.assertEqual(r.status, 100)
            c.send(body)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            doc = json.loads(r.body)
            self.assertEqual(doc["body_len"], n)
            self.assertEqual(doc["body_sha256"], H.sha256(body))
        get(c, self.o.port, "/status?code=200")
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(self.o.conn_count(), 1)
        self.assertEqual(spliced(self.p) - before, 2)

    def test_early_answer_during_a_spliced_upload(self):
        """The origin answers before the body is whole: the pipe's bytes
        go up, the answer comes down; the connection is not reused."""
        def script(s, head):
            time.sleep(0.2)  # some of the body is on its way meanwhile
            s.sendall(b"HTTP/1.1 413 Payload Too Large\r\n"
                      b"Content-Length: 4\r\n\r\nbig!")
            while s.recv(65536):
                pass
            return False
        ro = RawOrigin(script)
        self.addCleanup(ro.close)
        n = 16 * H.MB
        before = spliced(self.p)
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", "http://127.0.0.1:%d/up" % ro.port,
                              "127.0.0.1:%d" % ro.port,
                              [("Content-Length", str(n))]))

        def send():
            try:
                c.send(H.body_bytes(n, 20))
            except OSError:
                pass  # the proxy may stop reading once answered
        t = threading.Thread(target=send, daemon=True)
        t.start()
        r = c.read_response()
        self.assertEqual((r.status, r.body), (413, b"big!"))
        self.assertEqual(spliced(self.p) - before, 1)
        self.assertEqual(r.headers.get("connection"), "close")

    def test_client_leaves_mid_upload(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", self.o.url("/echo"), self.o.authority,
                              [("Content-Length", str(4 * H.MB))])
               + H.body_bytes(H.MB, 21))
        time.sleep(0.2)
        c.sock.close()
        H.wait_until(lambda: "closed: client left during the request body"
                     in self.p.stderr(), 5, what="the close named")
        self.p.assert_alive()

    def test_small_and_chunked_bodies_are_copied(self):
        before = spliced(self.p)
        for path in ("/bytes?n=20000", "/bytes?n=%d&mode=chunked" % H.MB):
            r = self.curl(self.o.url(path), proxy=self.p.port)
            self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(spliced(self.p), before)

    def test_close_delimited_body_spliced(self):
        n = 2 * H.MB
        before = spliced(self.p)
        c = self.raw(self.p.port)
        get(c, self.o.port, "/bytes?n=%d&seed=9&mode=close" % n)
        r = c.read_response()
        self.assertEqual(r.framing, "close")
        self.assertEqual(H.sha256(r.body), H.body_sha256(n, 9))
        self.assertEqual(spliced(self.p) - before, 1)

    def test_slow_reader_bounded_and_complete(self):
        n = 64 * H.MB
        c = self.raw(self.p.port, rcvbuf=64 * KB)
        base = self.p.status_field("VmRSS")
        get(c, self.o.port, "/bytes?n=%d&seed=10" % n)
        time.sleep(1.0)  # reading nothing: the origin must be held back
        peak = self.p.status_field("VmRSS")
        # held back: the kernel's socket buffers (here up to 32 MiB
        # autotuned towards the proxy) and the pipe are all it took
        self.assertLess(self.o.sent_total(), n - 16 * H.MB)
        got = [0]
        h = hashlib.sha256()

        def sink(chunk):
            got[0] += len(chunk)
            h.update(chunk)
            if got[0] < 4 * H.MB:
                time.sleep(0.001)  # slow at first
        r = c.read_response(sink=sink)
        self.assertEqual(r.status, 200)
        self.assertEqual(got[0], n)
        self.assertEqual(h.hexdigest(), H.body_sha256(n, 10))
        peak = max(peak, self.p.status_field("VmRSS"))
        self.assertLess(peak - base, 8 * KB,  # kB: 8 MiB
                        "RSS grew %d kB while a slow client read" %
                        (peak - base))

    def test_bytes_after_the_body_are_not_forwarded(self):
        n = 300 * KB
        body = H.body_bytes(n, 11)

        def script(s, head):
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n
                      + body + b"HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\n"
                      b"Content-Length: 5\r\n\r\nEXTRA")
            return True
        ro = RawOrigin(script)
        self.addCleanup(ro.close)
        before = spliced(self.p)
        c = self.raw(self.p.port)
        get(c, ro.port, "/a")
        r = c.read_response()
        self.assertEqual(r.body, body)
        self.assertEqual(spliced(self.p) - before, 1)
        get(c, ro.port, "/b")
        r = c.read_response()
        self.assertEqual(r.body, body)
        self.assertNotIn("x-smuggled", r.headers.names())
        # the first connection was not reused: its extra bytes stayed
        self.assertEqual(ro.conns, 2)

    def test_origin_reset_mid_body(self):
        n = 2 * H.MB

        def script(s, head):
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n
                      + H.body_bytes(512 * KB, 12))
            time.sleep(0.3)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()  # RST
            return False
        ro = RawOrigin(script)
        self.addCleanup(ro.close)
        c = self.raw(self.p.port)
        get(c, ro.port, "/")
        with self.assertRaises((H.HTTPError, ConnectionError)):
            c.read_response()
        H.wait_until(lambda: re.search(
            r"closed: (origin closed mid-response|splice from the origin: "
            r"connection reset by peer)", self.p.stderr()), 5,
            what="the close named in the debug line")
        self.p.assert_alive()

    def test_pipelined_requests_splice_once_the_head_is_written(self):
        """With a pipelined request waiting, the response head is queued
        (not written at once): the body splices once the client took it."""
        n = 1 * H.MB
        before = spliced(self.p)
        c = self.raw(self.p.port)
        path = "http://127.0.0.1:%d/bytes?n=%d&seed=%d"
        c.send(b"".join(H.http_request("GET", path % (self.o.port, n, seed),
                                       host=self.o.authority)
                        for seed in (16, 17)))
        for seed in (16, 17):
            r = c.read_response()
            self.assertEqual(H.sha256(r.body), H.body_sha256(n, seed))
        self.assertEqual(spliced(self.p) - before, 2)


class SpliceTunnelTest(H.ProxyTestCase):
    def setUp(self):
        self.echo = H.EchoServer()
        self.addCleanup(self.echo.close)

    def tunnel_proxy(self, port, args=()):
        return self.proxy(["--connect-ports", str(port)] + list(args))

    def connect(self, p, port):
        c = self.raw(p.port, timeout=15)
        c.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n" % port)
        r = c.read_response("CONNECT")
        self.assertEqual(r.status, 200, r)
        return c

    def test_access_log_counts_spliced_bytes(self):
        """The access log's bytes (sent to the client) are the same
        totals as on the copying path: head and body of a spliced
        response; every byte down a spliced tunnel."""
        log = os.path.join(self.tmp, "access.json")
        o = self.origin()
        p = self.tunnel_proxy(self.echo.port, [
            "--access-log", log, "--access-log-format", "json"])
        n = 1 * H.MB + 7
        c = self.raw(p.port)
        get(c, o.port, "/bytes?n=%d" % n)
        r = c.read_response()
        self.assertEqual(len(r.body), n)
        t = self.connect(p, self.echo.port)
        data = H.body_bytes(400 * KB, 18)
        self.assertEqual(t.send_and_read_back(data), data)
        H.wait_until(lambda: os.path.exists(log) and
                     open(log).read().count("\n") >= 2, 10,
                     what="two access-log lines")
        rows = [json.loads(line) for line in open(log).read().splitlines()]
        self.assertEqual(sorted(row["bytes"] for row in rows),
                         sorted([len(r.head) + n,
                                 len(b"HTTP/1.1 200 Connection "
                                     b"established\r\n\r\n")
                                 + len(data)]))
        self.assertEqual(spliced(p), 2)

    def test_tunnel_spliced_both_ways(self):
        p = self.tunnel_proxy(self.echo.port)
        before, bytes_before = spliced(p), spliced_bytes(p)
        c = self.connect(p, self.echo.port)
        data = H.body_bytes(3 * H.MB, 13)
        back = c.send_and_read_back(data)
        self.assertEqual(H.sha256(back), H.sha256(data))
        self.assertEqual(spliced(p) - before, 1)
        self.assertEqual(spliced_bytes(p) - bytes_before, 2 * len(data))

    def test_early_bytes_then_spliced(self):
        """Bytes sent with the CONNECT head: the 200 is queued behind
        them, so the tunnel copies first, then splices."""
        p = self.tunnel_proxy(self.echo.port)
        c = self.raw(p.port, timeout=15)
        c.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\nearly"
               % self.echo.port)
        self.assertEqual(c.read_response("CONNECT").status, 200)
        self.assertEqual(c.bs.read_exact(5), b"early")
        data = H.body_bytes(500 * KB, 15)
        t = threading.Thread(target=c.send, args=(data,))
        t.start()
        self.assertEqual(c.bs.read_exact(len(data)), data)
        t.join(10)
        self.assertEqual(spliced(p), 1)

    def test_half_close_by_the_origin_while_spliced(self):
        got = []
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        self.addCleanup(ls.close)

        def origin():
            s, _ = ls.accept()
            s.sendall(b"hello from the origin")
            s.shutdown(socket.SHUT_WR)  # the origin is done sending
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            got.append(data)
            s.close()
        t = threading.Thread(target=origin, daemon=True)
        t.start()
        p = self.tunnel_proxy(ls.getsockname()[1])
        before = spliced(p)
        c = self.connect(p, ls.getsockname()[1])
        self.assertEqual(c.bs.read_until_eof(), b"hello from the origin")
        # the client may still send; the origin gets it all, then EOF
        data = H.body_bytes(700 * KB, 14)
        c.send(data)
        c.shutdown_write()
        t.join(10)
        self.assertEqual(got, [data])
        self.assertTrue(c.closed_by_peer(5))
        self.assertEqual(spliced(p) - before, 1)

    def test_idle_timeout_while_spliced(self):
        p = self.tunnel_proxy(self.echo.port,
                              ["--timeout-tunnel", "1", "--verbose"])
        c = self.connect(p, self.echo.port)
        c.send(b"ping")
        self.assertEqual(c.bs.read_exact(4), b"ping")
        start = time.monotonic()
        self.assertTrue(c.closed_by_peer(6))
        self.assertGreater(time.monotonic() - start, 0.5)
        H.wait_until(lambda: "closed: tunnel idle timeout" in p.stderr(), 5,
                     what="the idle timeout in the debug line")
        self.assertEqual(spliced(p), 1)


@unittest.skipUnless(platform.machine() == "x86_64",
                     "nosplice.py knows splice's number on x86-64 only")
class SpliceRefusedTest(H.ProxyTestCase):
    """Where splice() is refused (EINVAL, through a seccomp filter: the
    kernel's answer where splice is not supported), every bulk phase
    falls back to copying, counted and logged, and moves every byte."""

    def test_copying_fallback(self):
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        o = self.origin()
        wrapper = [sys.executable, os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "nosplice.py")]
        p = self.proxy(["--verbose", "--connect-ports", str(echo.port)],
                       wrapper=wrapper)
        n = 2 * H.MB
        c = self.raw(p.port)  # a download, then another on the same conn
        for seed in (22, 23):
            get(c, o.port, "/bytes?n=%d&seed=%d" % (n, seed))
            self.assertEqual(H.sha256(c.read_response().body),
                             H.body_sha256(n, seed))
        up = self.raw(p.port)  # an upload
        body = H.body_bytes(n, 24)
        up.send(H.http_request("POST", o.url("/echo"), o.authority,
                               body=body))
        self.assertEqual(json.loads(up.read_response().body)["body_sha256"],
                         H.sha256(body))
        t = self.raw(p.port, timeout=15)  # a tunnel
        t.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % echo.port)
        self.assertEqual(t.read_response("CONNECT").status, 200)
        data = H.body_bytes(n, 25)
        self.assertEqual(t.send_and_read_back(data), data)
        # once per connection: then it copies for the rest of its life
        self.assertEqual((spliced(p), refused(p), spliced_bytes(p)),
                         (0, 3, 0))
        self.assertEqual(p.stderr().count("splice() refused: copying "
                                          "instead"), 3)


if __name__ == "__main__":
    H.main()
