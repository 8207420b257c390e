"""Forwarding core, bodies: 10 MB POST and PUT arrive intact (sha256 at the
origin and in its echo), chunked uploads and downloads, large and
close-delimited downloads, Expect: 100-continue without a stall, and a
keep-alive connection that carries bodies in both directions."""

import json
import os
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

MB = H.MB


class ForwardBodies(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy()
        cls.big = os.path.join(cls.tmp, "big.bin")
        cls.big_sha = H.write_body_file(cls.big, 10 * MB, 11)

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def check_upload(self, r, method, size, digest):
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual(doc["method"], method)
        self.assertEqual(doc["body_len"], size)
        self.assertEqual(doc["body_sha256"], digest)
        got = self.o.requests[-1]
        self.assertEqual(got.body_len, size)
        self.assertEqual(got.body_sha256, digest)
        return got

    def test_post_10mb(self):
        r = self.curl(self.o.url("/echo?post"), proxy=self.p.port,
                      args=["--data-binary", "@" + self.big,
                            "-H", "Content-Type: application/octet-stream"])
        got = self.check_upload(r, "POST", 10 * MB, self.big_sha)
        self.assertEqual(got.headers.get("content-length"), str(10 * MB))

    def test_put_10mb(self):
        r = self.curl(self.o.url("/echo?put"), proxy=self.p.port,
                      args=["-T", self.big])
        self.check_upload(r, "PUT", 10 * MB, self.big_sha)

    def test_chunked_upload_post(self):
        r = self.curl(self.o.url("/echo?chunked-post"), proxy=self.p.port,
                      args=["--data-binary", "@" + self.big,
                            "-H", "Transfer-Encoding: chunked"])
        got = self.check_upload(r, "POST", 10 * MB, self.big_sha)
        self.assertNotIn("content-length", got.headers.names())

    def test_chunked_upload_put(self):
        r = self.curl(self.o.url("/echo?chunked-put"), proxy=self.p.port,
                      args=["-T", self.big, "-H",
                            "Transfer-Encoding: chunked"])
        self.check_upload(r, "PUT", 10 * MB, self.big_sha)

    def test_chunked_upload_extensions_and_trailers(self):
        body = (b"5;ext=1\r\nhello\r\n"
                b"000006\r\n world\r\n"
                b"0\r\nX-Trailer: t\r\n\r\n")
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("POST", self.o.url("/echo?trailers"),
                              self.o.authority,
                              [("Transfer-Encoding", "chunked")], body))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        got = self.o.requests[-1]
        self.assertEqual(got.body, b"hello world")
        # the connection is still in sync afterwards
        c.send(H.http_request("GET", self.o.url("/echo?next"),
                              self.o.authority))
        r = c.read_response()
        self.assertEqual(json.loads(r.body)["target"], "/echo?next")

    def test_expect_100_continue_not_stalled(self):
        """curl waits up to 30 s for the 100; --max-time 20 turns a proxy
        that neither relays nor makes one into a failure."""
        path = os.path.join(self.tmp, "two.bin")
        digest = H.write_body_file(path, 2 * MB, 12)
        r = self.curl(self.o.url("/echo?expect"), proxy=self.p.port,
                      args=["--data-binary", "@" + path, "-H",
                            "Expect: 100-continue",
                            "--expect100-timeout", "30"], max_time=20)
        self.check_upload(r, "POST", 2 * MB, digest)

    def test_chunked_download_same_as_direct(self):
        url = self.o.url("/bytes?n=%d&seed=13&mode=chunked&chunk=7777"
                         % (5 * MB))
        d = self.curl(url)
        p = self.curl(url, proxy=self.p.port)
        self.assertEqual(p.rc, 0, p)
        self.assertEqual(p.status, 200, p)
        self.assertEqual(len(p.body), 5 * MB)
        self.assertEqual(H.sha256(p.body), H.sha256(d.body))
        self.assertEqual(H.sha256(p.body), H.body_sha256(5 * MB, 13))

    def test_large_download_content_length(self):
        n = 20 * MB
        r = self.curl(self.o.url("/bytes?n=%d&seed=14" % n),
                      proxy=self.p.port)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.headers.get("content-length"), str(n))
        self.assertEqual(H.sha256(r.body), H.body_sha256(n, 14))

    def test_close_delimited_download(self):
        n = 3 * MB
        r = self.curl(self.o.url("/bytes?n=%d&seed=15&mode=close" % n),
                      proxy=self.p.port)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(H.sha256(r.body), H.body_sha256(n, 15))

    def test_bodies_on_one_keepalive_connection(self):
        c = self.raw(self.p.port, timeout=20)
        auth = self.o.authority
        r0 = self.o.request_count()
        for i in range(4):
            body = H.body_bytes(200000 + i, 20 + i)
            c.send(H.http_request("POST", self.o.url("/echo?ka=%d" % i),
                                  auth, [], body))
            r = c.read_response()
            doc = json.loads(r.body)
            self.assertEqual(doc["body_sha256"], H.sha256(body))
            c.send(H.http_request("GET", self.o.url(
                "/bytes?n=%d&seed=%d&mode=%s"
                % (300000 + i, 30 + i, ("cl", "chunked")[i % 2])), auth))
            r = c.read_response()
            self.assertEqual(r.body, H.body_bytes(300000 + i, 30 + i))
        c.send(H.http_request("POST", self.o.url("/echo?empty"), auth, [],
                              b""))
        self.assertEqual(json.loads(c.read_response().body)["body_len"], 0)
        conns = {id(q.conn) for q in self.o.requests[r0:]}
        self.assertEqual(len(conns), 1, "origin connection not reused")


if __name__ == "__main__":
    H.main()
