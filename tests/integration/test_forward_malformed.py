"""Forwarding core, malformed requests (request smuggling vectors and size
limits): each gets its documented status as a short text/plain answer,
the connection is then closed, and the origin receives nothing at all."""

import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

LINE_MAX = 8192
HEAD_MAX = 65536
FIELDS_MAX = 100


def cases(url, auth):
    """(name, request bytes, accepted statuses); a None row ends it."""
    def req(extra, method="POST", body=b"", version="HTTP/1.1",
            host=True):
        lines = ["%s %s %s" % (method, url, version)]
        if host:
            lines.append("Host: " + auth)
        return ("\r\n".join(lines + extra) + "\r\n\r\n").encode(
            "latin-1") + body
    big_fields = ["X-Big-%d: %s" % (i, "v" * 1000)
                  for i in range(HEAD_MAX // 1000 + 5)]
    many_fields = ["X-F-%d: v" % i for i in range(FIELDS_MAX + 10)]
    return [
        ("CL and TE", req(["Content-Length: 5",
                           "Transfer-Encoding: chunked"],
                          body=b"0\r\n\r\n"), {400}),
        ("TE and CL", req(["Transfer-Encoding: chunked",
                           "Content-Length: 5"], body=b"0\r\n\r\n"), {400}),
        ("two different CLs", req(["Content-Length: 5",
                                   "Content-Length: 6"],
                                  body=b"hello!"), {400}),
        ("CL list", req(["Content-Length: 5, 6"], body=b"hello!"), {400}),
        ("CL -1", req(["Content-Length: -1"]), {400}),
        ("CL 0x10", req(["Content-Length: 0x10"], body=b"x" * 16), {400}),
        ("CL +5", req(["Content-Length: +5"], body=b"hello"), {400}),
        ("CL overflow", req(["Content-Length: 99999999999999999999999"]),
         {400}),
        ("TE gzip", req(["Transfer-Encoding: gzip"]), {400}),
        ("TE chunked, gzip", req(["Transfer-Encoding: chunked, gzip"]),
         {400}),
        ("space before colon", req(["X-Foo : bar"], method="GET"), {400}),
        ("empty field name", req([": bar"], method="GET"), {400}),
        ("obs-fold", req(["X-Foo: a", " b"], method="GET"), {400}),
        ("NUL in value", req(["X-Foo: a\x00b"], method="GET"), {400}),
        ("CR in value", req(["X-Foo: a\rb"], method="GET"), {400}),
        ("missing Host in 1.1", req([], method="GET", host=False), {400}),
        ("two Hosts", req(["Host: " + auth], method="GET"), {400}),
        ("bad method token",
         ("G(T %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (url, auth)).encode(),
         {400}),
        ("space in target",
         ("GET %sa b HTTP/1.1\r\nHost: %s\r\n\r\n" % (url, auth)).encode(),
         {400}),
        ("HTTP/0.9", ("GET %s\r\n" % url).encode(), {400, 505}),
        ("HTTP/2.0", req([], method="GET", version="HTTP/2.0"), {505}),
        ("HTTP/3.1", req([], method="GET", version="HTTP/3.1"), {505}),
        ("request line over 8 KiB",
         ("GET %s?%s HTTP/1.1\r\nHost: %s\r\n\r\n"
          % (url, "a" * LINE_MAX, auth)).encode(), {414}),
        ("head over 64 KiB", req(big_fields, method="GET"), {431}),
        ("over 100 fields", req(many_fields, method="GET"), {431}),
        (None, None, None),
    ]


class ForwardMalformed(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy()

    def tearDown(self):
        self.p.assert_alive()

    def test_malformed_table(self):
        url, auth = self.o.url("/echo"), self.o.authority
        n0 = self.o.conn_count()
        for name, data, statuses in cases(url, auth):
            if name is None:
                break
            with self.subTest(case=name):
                c = self.raw(self.p.port, timeout=10)
                try:
                    c.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # answered and closed before reading it all
                try:
                    r = c.read_response()
                except ConnectionResetError:
                    self.fail("connection reset before any answer (no "
                              "lingering close?)")
                except TimeoutError:
                    self.fail("no answer within 10 s")
                self.assertIn(r.status, statuses, r)
                self.assertTrue(r.headers.get("content-type", "")
                                .startswith("text/plain"), r)
                self.assertTrue(r.body.strip(), "empty error body")
                self.assertTrue(c.closed_by_peer(5),
                                "connection left open after %d" % r.status)
                self.assertEqual(self.o.conn_count(), n0,
                                 "the origin was contacted: %r"
                                 % self.o.raw_bytes()[:300])

    def test_bad_chunk_size_in_body(self):
        """A bad chunk-size line mid-body: the bytes after it never reach
        the origin (no smuggled request), the client gets a 400 or a
        closed connection, never a forwarded answer."""
        o = self.origin()
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("POST", o.url("/echo?chunks"), o.authority,
                              [("Transfer-Encoding", "chunked")],
                              b"5\r\nhello\r\nzz\r\n"
                              b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
        try:
            r = c.read_response()
            self.assertEqual(r.status, 400, r)
            self.assertTrue(c.closed_by_peer(5))
        except (H.HTTPError, ConnectionResetError):
            pass  # closed without an answer: acceptable
        H.wait_until(lambda: all(x.closed for x in o.conns), 10,
                     what="the origin connection to close")
        self.assertNotIn(b"zz", o.raw_bytes())
        self.assertNotIn(b"/smuggled", o.raw_bytes())
        self.assertEqual(o.request_count(), 0)

    def test_malformed_buffered_body_never_reaches_origin(self):
        """Body bytes that came with the head are checked before anything
        goes upstream: a bad chunk-size line there is answered 400 and
        the connection closes, with no origin connection at all (not even
        the head). The same body arriving later still streams (above)."""
        o = self.origin()
        n0 = o.conn_count()
        for name, body in (("bad size line", b"zz\r\nhello\r\n0\r\n\r\n"),
                           ("bad after a chunk",
                            b"5\r\nhello\r\nzz\r\n"),
                           ("chunk without CRLF", b"5\r\nhelloXX0\r\n\r\n")):
            with self.subTest(case=name):
                c = self.raw(self.p.port, timeout=10)
                c.send(H.http_request("POST", o.url("/echo?buffered"),
                                      o.authority,
                                      [("Transfer-Encoding", "chunked")],
                                      body))
                r = c.read_response()
                self.assertEqual(r.status, 400, r)
                self.assertIn(b"malformed request body", r.body)
                self.assertTrue(c.closed_by_peer(5))
        self.assertEqual(o.conn_count(), n0,
                         "the origin was contacted: %r" % o.raw_bytes()[:300])

    def test_valid_request_still_forwarded(self):
        """The baseline: the same shape, well formed, goes through."""
        c = self.raw(self.p.port, timeout=10)
        url = self.o.url("/echo?ok")
        c.send(H.http_request("POST", url, self.o.authority,
                              [("Content-Length", "5")], b"hello"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.o.reset()


if __name__ == "__main__":
    H.main()
