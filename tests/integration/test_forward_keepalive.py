"""Forwarding core, persistent connections: several requests on one client
connection reuse one origin connection; pipelined requests are answered
in order; an origin's Connection: close or idle close does not break the
client's connection; one client connection can talk to several origins."""

import json
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402


class ForwardKeepAlive(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.p = cls.class_proxy()

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def test_curl_multiple_urls_reuse_both_sides(self):
        o = self.origin()
        urls = [o.url("/echo?i=1"), o.url("/bytes?n=20000&seed=1"),
                o.url("/bytes?n=30000&seed=2&mode=chunked"),
                o.url("/status?code=204"), o.url("/echo?i=5")]
        r = self.curl(urls, proxy=self.p.port)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([i["response_code"] for i in r.info],
                         [200, 200, 200, 204, 200])
        self.assertEqual(r.bodies[1], H.body_bytes(20000, 1))
        self.assertEqual(r.bodies[2], H.body_bytes(30000, 2))
        self.assertEqual(sum(i["num_connects"] for i in r.info), 1,
                         "curl opened more than one proxy connection")
        self.assertEqual(o.request_count(), 5)
        self.assertEqual(o.conn_count(), 1,
                         "the origin saw more than one connection")

    def test_mixed_framings_one_connection(self):
        o = self.origin()
        c = self.raw(self.p.port, timeout=10)
        a = o.authority
        seq = [
            ("GET", "/bytes?n=5000&seed=3&mode=chunked", None, 200,
             H.body_bytes(5000, 3)),
            ("HEAD", "/bytes?n=7000", None, 200, b""),
            ("GET", "/bytes?n=7000&seed=4", None, 200, H.body_bytes(7000, 4)),
            ("POST", "/status?code=201", b"x" * 999, 201, b"status 201\n"),
            ("GET", "/status?code=204", None, 204, b""),
            ("GET", "/status?code=304", None, 304, b""),
            ("GET", "/bytes?n=0", None, 200, b""),
            ("GET", "/bytes?n=1&seed=5", None, 200, H.body_bytes(1, 5)),
        ]
        for method, path, body, status, want in seq:
            with self.subTest(method=method, path=path):
                c.send(H.http_request(method, o.url(path), a, [], body))
                r = c.read_response(method)
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.body, want)
        self.assertEqual(o.conn_count(), 1)
        self.assertEqual(o.request_count(), len(seq))

    def test_pipelined_in_order(self):
        o = self.origin()
        a = o.authority
        reqs = [
            ("GET", "/slow?delay=0.3&n=100&seed=6"),
            ("GET", "/echo?pipe=2"),
            ("GET", "/bytes?n=100000&seed=7&mode=chunked"),
            ("HEAD", "/bytes?n=50"),
            ("POST", "/echo?pipe=5"),
            ("GET", "/echo?pipe=6"),
        ]
        data = b"".join(H.http_request(m, o.url(p), a, [],
                                       b"body5" if m == "POST" else None)
                        for m, p in reqs)
        c = self.raw(self.p.port, timeout=15)
        c.send(data)
        rs = [c.read_response(m) for m, _ in reqs]
        self.assertEqual([r.status for r in rs], [200] * len(reqs))
        self.assertEqual(rs[0].body, H.body_bytes(100, 6))
        self.assertEqual(json.loads(rs[1].body)["target"], "/echo?pipe=2")
        self.assertEqual(rs[2].body, H.body_bytes(100000, 7))
        self.assertEqual(rs[3].headers.get("content-length"), "50")
        self.assertEqual(rs[3].body, b"")
        doc = json.loads(rs[4].body)
        self.assertEqual((doc["target"], doc["body_len"]),
                         ("/echo?pipe=5", 5))
        self.assertEqual(json.loads(rs[5].body)["target"], "/echo?pipe=6")
        self.assertEqual([r.target for r in o.requests],
                         [p for _, p in reqs])

    def test_pipelined_while_answering(self):
        """Requests that arrive while an answer is on its way wait in the
        spare room of the connection's head buffer (reading stops when it
        is full and resumes after the answer): all answered, in order."""
        o = self.origin()
        a = o.authority
        c = self.raw(self.p.port, timeout=15)
        c.send(H.http_request("GET", o.url("/slow?delay=0.3&n=10&seed=1"), a))
        H.wait_until(lambda: o.request_count() == 1, 10,
                     what="the first request at the origin")
        # 60 requests of ~190 bytes: more than the 4 KiB head buffer holds
        paths = ["/echo?while=%d&pad=%s" % (i, "x" * 120) for i in range(60)]
        c.send(b"".join(H.http_request("GET", o.url(p), a) for p in paths))
        self.assertEqual(c.read_response().body, H.body_bytes(10, 1))
        for p in paths:
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(json.loads(r.body)["target"], p)
        self.assertEqual(o.conn_count(), 1)

    def test_origin_connection_close_keeps_client(self):
        o = self.origin()
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", o.url("/echo?close=1"), o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("close", r.headers.tokens("connection"),
                         "origin's Connection: close leaked to the client")
        c.send(H.http_request("GET", o.url("/echo?second"), o.authority))
        r = c.read_response()
        self.assertEqual(json.loads(r.body)["target"], "/echo?second")
        self.assertEqual(o.conn_count(), 2)

    def test_origin_idle_close_between_requests(self):
        """The origin drops its idle connection (as on a server idle
        timeout) after answering: the next GET must still succeed."""
        o = self.origin()
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", o.url("/echo?drop=1"), o.authority))
        self.assertEqual(c.read_response().status, 200)
        H.wait_until(lambda: o.conns and o.conns[0].closed, 5,
                     what="origin closing its side")
        c.send(H.http_request("GET", o.url("/echo?after-drop"),
                              o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["target"], "/echo?after-drop")

    def test_several_origins_one_client_connection(self):
        a, b = self.origin(), self.origin()
        c = self.raw(self.p.port, timeout=10)
        for i, o in enumerate([a, b, a, b, a]):
            c.send(H.http_request("GET", o.url("/bytes?n=%d&seed=%d"
                                               % (1000 + i, i)),
                                  o.authority))
            r = c.read_response()
            self.assertEqual(r.body, H.body_bytes(1000 + i, i))
        self.assertEqual(a.request_count(), 3)
        self.assertEqual(b.request_count(), 2)


if __name__ == "__main__":
    H.main()
