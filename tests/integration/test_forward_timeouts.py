"""Forwarding core, timeouts (a proxy with 1-2 s timeouts): a slow origin
gives 504; a client that never finishes its head, an idle keep-alive
client and an origin stalled mid-body all get their connection closed
instead of holding it forever. The waits are deadlines on events, not
sleeps."""

import json
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

DEADLINE = 10.0  # generous upper bound for a 1-2 s timeout to fire


class ForwardTimeouts(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.echo = H.EchoServer()
        cls.addClassCleanup(cls.echo.close)
        cls.p = cls.class_proxy(["--timeout-response", "1",
                                 "--timeout-header", "1",
                                 "--timeout-idle", "2",
                                 "--timeout-tunnel", "2",
                                 "--connect-ports", str(cls.echo.port)])

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def test_slow_origin_504(self):
        c = self.raw(self.p.port, timeout=DEADLINE)
        c.send(H.http_request("GET", self.o.url("/slow?delay=6&n=10"),
                              self.o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 504, r)
        self.assertTrue(r.headers.get("content-type", "")
                        .startswith("text/plain"), r)
        self.assertTrue(r.body.strip())

    def test_slow_origin_504_curl(self):
        r = self.curl(self.o.url("/slow?delay=6&n=10"), proxy=self.p.port,
                      max_time=int(DEADLINE))
        self.assertEqual(r.status, 504, r)

    def test_fast_origin_within_timeout(self):
        r = self.curl(self.o.url("/slow?delay=0.2&n=10&seed=1"),
                      proxy=self.p.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, H.body_bytes(10, 1))

    def test_unfinished_head_closed(self):
        c = self.raw(self.p.port)
        n = self.o.conn_count()
        c.send(b"GET " + self.o.url("/echo").encode() +
               b" HTTP/1.1\r\nHost: " + self.o.authority.encode() + b"\r\n")
        c.settimeout(DEADLINE)
        try:
            data = c.bs.read_until_eof()
        except TimeoutError:
            self.fail("a client that never finished its head still holds "
                      "its connection after %.0fs (--timeout-header 1)"
                      % DEADLINE)
        except ConnectionResetError:
            data = b""
        if data:  # an optional 408
            self.assertRegex(data, rb"^HTTP/1\.[01] 408 ")
        self.assertEqual(self.o.conn_count(), n)

    def test_idle_keepalive_client_closed(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("GET", self.o.url("/echo?idle"),
                              self.o.authority))
        self.assertEqual(c.read_response().status, 200)
        self.assertTrue(c.closed_by_peer(DEADLINE),
                        "idle client connection still open after %.0fs "
                        "with --timeout-idle 2" % DEADLINE)

    def test_origin_stalled_mid_body(self):
        c = self.raw(self.p.port, timeout=DEADLINE)
        c.send(H.http_request("GET", self.o.url("/stall?n=100000&after=1000"
                                                "&hold=15"),
                              self.o.authority))
        try:
            r = c.read_response()
        except H.HTTPError:
            return  # cut short, as it should be
        except ConnectionResetError:
            return
        except TimeoutError:
            self.fail("origin stalled mid-body: client connection still "
                      "open after %.0fs" % DEADLINE)
        self.fail("a response that looks complete from a stalled origin: "
                  "%r (%s, %d bytes)" % (r, r.framing, len(r.body)))


    def test_slow_but_steady_download_not_cut(self):
        """Timeouts measure silence, not total time: a 3 s download that
        sends every 0.33 s completes under --timeout-response 1 and
        --timeout-idle 2."""
        n = 600000
        r = self.curl(self.o.url("/bytes?n=%d&seed=2&rate=200000" % n),
                      proxy=self.p.port)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.body, H.body_bytes(n, 2))

    def test_slow_but_steady_upload_not_cut(self):
        c = self.raw(self.p.port, timeout=DEADLINE)
        body = H.body_bytes(60000, 3)
        c.send(H.http_request("POST", self.o.url("/echo?slow-up"),
                              self.o.authority,
                              [("Content-Length", str(len(body)))]))
        for i in range(0, len(body), 10000):  # 6 pieces, 0.5 s apart
            c.send(body[i:i + 10000])
            if i + 10000 < len(body):
                self.assertTrue(c.no_data_within(0.5))  # pacing
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["body_sha256"], H.sha256(body))

    def connect_echo(self):
        c = self.raw(self.p.port, timeout=DEADLINE)
        c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % self.echo.port)
        self.assertEqual(c.read_response("CONNECT").status, 200)
        return c

    def test_idle_tunnel_closed(self):
        c = self.connect_echo()
        c.send(b"ping")
        self.assertEqual(c.bs.read_exact(4), b"ping")
        self.assertTrue(c.closed_by_peer(DEADLINE),
                        "idle tunnel still open after %.0fs with "
                        "--timeout-tunnel 2" % DEADLINE)

    def test_active_tunnel_kept(self):
        """A tunnel with traffic every 0.5 s outlives --timeout-tunnel 2
        (and --timeout-idle 2, --timeout-response 1)."""
        c = self.connect_echo()
        for i in range(8):
            c.send(b"tick%d" % i)
            self.assertEqual(c.bs.read_exact(5), b"tick%d" % i)
            self.assertTrue(c.no_data_within(0.5))  # pacing, 4 s in all
        c.send(b"last!")
        self.assertEqual(c.bs.read_exact(5), b"last!")


if __name__ == "__main__":
    H.main()
