"""Forwarding core, plain requests: GET/HEAD through the proxy give the same
status, end-to-end headers and body as curl direct; request targets reach
the origin byte for byte; hop-by-hop headers are removed and Via added in
both directions; loops answer 508; the proxy's own status page and PAC;
HTTP/1.0 clients; --map; an IPv6 listener."""

import json
import sys
import urllib.parse

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

# Headers that legitimately differ between direct and proxied answers:
# connection management, framing the proxy may change, and Via.
NOT_END_TO_END = {"connection", "keep-alive", "proxy-connection",
                  "transfer-encoding", "via", "content-length", "date"}


def end_to_end(headers):
    return [(k.lower(), v) for k, v in headers.items
            if k.lower() not in NOT_END_TO_END]


def via_elements(headers):
    out = []
    for v in headers.get_all("via"):
        out += [e.strip() for e in v.split(",") if e.strip()]
    return out


class ForwardBasic(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy(["--map", "example.test:80=127.0.0.1:%d"
                                 % cls.o.port])

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def last_request(self):
        self.assertTrue(self.o.requests, "the origin received no request")
        return self.o.requests[-1]

    def assert_same_as_direct(self, url, args=(), head=False):
        direct = self.curl(url, args=args)
        proxied = self.curl(url, proxy=self.p.port, args=args)
        self.assertEqual(direct.rc, 0, direct)
        self.assertEqual(proxied.rc, 0, proxied)
        self.assertEqual(proxied.status, direct.status, (url, proxied))
        if not head:  # curl -I writes the head where the body would go
            self.assertEqual(proxied.body, direct.body, url)
        self.assertEqual(end_to_end(proxied.headers),
                         end_to_end(direct.headers), url)
        cl = direct.headers.get("content-length")
        if cl is not None:
            self.assertEqual(proxied.headers.get("content-length"), cl, url)
        self.assertIn("1.1 hstsproxy", via_elements(proxied.headers), url)
        return direct, proxied

    def test_get_same_as_direct(self):
        o = self.o
        hs = "&".join("h=" + urllib.parse.quote(h) for h in [
            "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2",
            "X-Multi: one", "X-Multi: two", 'ETag: "v1"',
            "Cache-Control: no-cache", "Content-Type: text/plain; q=1"])
        paths = [
            "/bytes?n=0", "/bytes?n=1", "/bytes?n=100000&seed=1",
            "/bytes?n=300000&seed=2&mode=chunked&chunk=1000",
            "/bytes?n=50000&seed=3&mode=close",
            "/status?code=200", "/status?code=201", "/status?code=204",
            "/status?code=304", "/status?code=404", "/status?code=410",
            "/status?code=500", "/headers?" + hs,
            "/redirect?code=301&to=%2Fnew%2520place%3Fx%3D1",
            "/redirect?code=302&to=http%3A%2F%2F127.0.0.1%3A1%2Fabs",
            "/redirect?code=308&to=https%3A%2F%2Fsecure.test%2F",
        ]
        for path in paths:
            with self.subTest(path=path):
                n = o.request_count()
                self.assert_same_as_direct(o.url(path))
                # one direct + one proxied: redirects are not followed
                self.assertEqual(o.request_count(), n + 2)

    def test_head_same_as_direct(self):
        for path in ["/bytes?n=12345", "/bytes?n=5000&mode=chunked",
                     "/status?code=200", "/status?code=404"]:
            with self.subTest(path=path):
                self.assert_same_as_direct(self.o.url(path), ["-I"],
                                           head=True)
                self.assertEqual(self.last_request().method, "HEAD")

    def test_head_then_get_on_one_connection(self):
        """The proxy must not wait for a body after a HEAD answer."""
        c = self.raw(self.p.port, timeout=10)
        url = self.o.url("/bytes?n=12345&seed=4")
        c.send(H.http_request("HEAD", url, self.o.authority))
        r = c.read_response("HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-length"), "12345")
        c.send(H.http_request("GET", url, self.o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, H.body_bytes(12345, 4))

    def test_targets_byte_for_byte(self):
        auth = self.o.authority
        cases = [
            "/echo/p%2Fa%20b?x=1&y=%zz&&z=%C3%A9",
            "/echo/a/../b/./c//d",
            "/echo/%7Euser/?q=a+b&r=%2B&s=%25",
            "/echo?",
            "/echo/;p=1,2?a=b;c",
            "/echo?x=http://a/b?c=d",
            "/echo/!$&'()*+,;=:@-._~",
            "/echo/%2e%2E/%00",
        ]
        c = self.raw(self.p.port, timeout=10)
        for target in cases:
            with self.subTest(target=target):
                c.send(H.http_request("GET", "http://%s%s" % (auth, target),
                                      auth))
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(json.loads(r.body)["target"], target)
                self.assertEqual(self.last_request().target, target)
                self.assertEqual(self.last_request().headers.get("host"),
                                 auth)
        # no path: "/" (RFC 9112 3.2.1), a query keeps its bytes
        for target, sent in [("http://%s" % auth, "/"),
                             ("http://%s?x=1&y=%%41" % auth, "/?x=1&y=%41")]:
            with self.subTest(target=target):
                c.send(H.http_request("GET", target, auth))
                r = c.read_response()
                self.assertEqual(self.last_request().target, sent)

    def test_target_with_curl_same_as_direct(self):
        path = "/echo/p%2Fa%20b?x=1&y=%zz&&z=%C3%A9"
        d = self.curl(self.o.url(path), args=["--path-as-is"])
        p = self.curl(self.o.url(path), proxy=self.p.port,
                      args=["--path-as-is"])
        self.assertEqual(p.status, 200, p)
        self.assertEqual(json.loads(p.body)["target"],
                         json.loads(d.body)["target"])
        self.assertEqual(self.last_request().target, path)

    def test_request_hop_by_hop_removed_via_added(self):
        auth = self.o.authority
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo"), auth, [
            ("Connection", "keep-alive, X-Custom-Hop, x-other-hop"),
            ("X-Custom-Hop", "secret"), ("X-Other-Hop", "secret2"),
            ("Keep-Alive", "timeout=300"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"), ("Trailer", "X-Checksum"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("Via", "1.0 other-proxy"),
            ("X-Keep", "yes"), ("User-Agent", "itest/1")]))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        got = self.last_request().headers
        for name in ["x-custom-hop", "x-other-hop", "keep-alive",
                     "proxy-connection", "te", "trailer",
                     "proxy-authorization", "upgrade"]:
            self.assertNotIn(name, got.names(), "origin got %s: %r"
                             % (name, got))
        self.assertLessEqual(set(got.tokens("connection")),
                             {"keep-alive", "close"}, got)
        self.assertEqual(got.get_all("x-keep"), ["yes"])
        self.assertEqual(got.get_all("user-agent"), ["itest/1"])
        self.assertEqual(via_elements(got),
                         ["1.0 other-proxy", "1.1 hstsproxy"])

    def test_non_websocket_upgrade_removed(self):
        auth = self.o.authority
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo?h2c"), auth, [
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQAAP__")]))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        got = self.last_request().headers
        self.assertNotIn("upgrade", got.names(), got)
        self.assertNotIn("http2-settings", got.names(), got)
        self.assertNotIn("upgrade", got.tokens("connection"), got)
        # still a usable HTTP/1.1 connection afterwards
        c.send(H.http_request("GET", self.o.url("/echo?after"), auth))
        self.assertEqual(c.read_response().status, 200)

    def test_response_hop_by_hop_removed_via_added(self):
        hs = "&".join("h=" + urllib.parse.quote(h) for h in [
            "Connection: X-Resp-Hop", "X-Resp-Hop: secret",
            "Keep-Alive: timeout=5, max=100", "Proxy-Connection: keep-alive",
            "Proxy-Authenticate: Basic realm=\"x\"",
            "Trailer: X-Checksum", "Upgrade: foo/2",
            "Via: 1.1 upstream-cache", "X-Keep: yes"])
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/headers?" + hs),
                              self.o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"headers\n")
        for name in ["x-resp-hop", "keep-alive", "proxy-connection",
                     "proxy-authenticate", "trailer", "upgrade"]:
            self.assertNotIn(name, r.headers.names(),
                             "client got %s: %r" % (name, r.headers))
        self.assertNotIn("x-resp-hop", r.headers.tokens("connection"))
        self.assertEqual(r.headers.get_all("x-keep"), ["yes"])
        self.assertEqual(via_elements(r.headers),
                         ["1.1 upstream-cache", "1.1 hstsproxy"])

    def test_via_loop_508(self):
        for via in ["1.1 hstsproxy", "1.0 other, 1.1 hstsproxy"]:
            with self.subTest(via=via):
                n = self.o.conn_count()
                c = self.raw(self.p.port, timeout=10)
                c.send(H.http_request("GET", self.o.url("/echo"),
                                      self.o.authority, [("Via", via)]))
                r = c.read_response()
                self.assertEqual(r.status, 508, r)
                self.assertTrue(r.headers.get("content-type", "")
                                .startswith("text/plain"), r)
                self.assertTrue(r.body.strip(), "508 with an empty body")
                self.assertEqual(self.o.conn_count(), n,
                                 "the origin was contacted")
        # origin-form too: that is how a looped request arrives
        for path in ["/", "/proxy.pac", "/x"]:
            with self.subTest(origin_form=path):
                c = self.raw(self.p.port, timeout=10)
                c.send(H.http_request("GET", path, "127.0.0.1:%d"
                                      % self.p.port,
                                      [("Via", "1.1 hstsproxy")]))
                r = c.read_response()
                self.assertEqual(r.status, 508, r)

    def test_request_to_itself_answered_locally(self):
        """An absolute-form request naming the proxy's own address is not
        forwarded in a loop: the proxy answers it (locally, or 508)."""
        n = self.o.conn_count()
        r = self.curl("http://127.0.0.1:%d/loop-me" % self.p.port,
                      proxy=self.p.port, max_time=20)
        self.assertEqual(r.rc, 0, r)
        self.assertIn(r.status, (404, 508), r)
        self.assertEqual(self.o.conn_count(), n)

    def test_status_page(self):
        r = self.curl("http://127.0.0.1:%d/" % self.p.port)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "")
                        .startswith("text/html"), r)
        self.assertIn(b"hstsproxy", r.body)
        self.assertIn(b"<", r.body)

    def test_pac(self):
        r = self.curl("http://127.0.0.1:%d/proxy.pac" % self.p.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type", "").split(";")[0],
                         "application/x-ns-proxy-autoconfig", r)
        self.assertIn(b"FindProxyForURL", r.body)
        self.assertIn(b"PROXY 127.0.0.1:%d" % self.p.port, r.body)

    def test_http10_client(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo?v10"), None,
                              version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        got = self.last_request()
        self.assertEqual(got.headers.get_all("host"), [self.o.authority])
        # RFC 9110 6.2 wants the proxy's own version (1.1) upstream, but
        # also allows a purposeful downgrade to 1.0 for a 1.0 client
        self.assertIn(got.version, ("HTTP/1.1", "HTTP/1.0"))
        self.assertTrue(c.closed_by_peer(5),
                        "HTTP/1.0 connection without keep-alive not closed")

    def test_http10_client_chunked_origin(self):
        """An HTTP/1.0 client must not get chunked framing (RFC 9112 6.1):
        the origin chunks when the proxy forwards as HTTP/1.1 (the proxy
        must then de-chunk) and delimits by close when it forwards as 1.0."""
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET",
                              self.o.url("/bytes?n=70000&seed=5"
                                         "&mode=chunked&chunk=3000"),
                              None, version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("transfer-encoding", r.headers.names(), r)
        self.assertEqual(r.body, H.body_bytes(70000, 5))

    def test_http10_curl_same_as_direct(self):
        self.assert_same_as_direct(self.o.url("/bytes?n=4000&seed=6"),
                                   ["--http1.0"])

    def test_no_body_statuses_with_content_length(self):
        """304 may carry the Content-Length of the representation and 204
        a zero one: neither has a body, and the connection stays in sync."""
        c = self.raw(self.p.port, timeout=10)
        for status, cl in [(304, "1234"), (204, "0")]:
            with self.subTest(status=status):
                c.send(H.http_request("GET", self.o.url(
                    "/headers?status=%d&h=Content-Length:%%20%s"
                    % (status, cl)), self.o.authority))
                r = c.read_response()
                self.assertEqual(r.status, status, r)
                c.send(H.http_request("GET", self.o.url("/echo?after=%d"
                                                        % status),
                                      self.o.authority))
                r = c.read_response()
                self.assertEqual(json.loads(r.body)["target"],
                                 "/echo?after=%d" % status)

    def test_host_header_comes_from_the_target(self):
        """RFC 9112 3.2.2: a proxy replaces a Host that disagrees with the
        absolute-form target (or rejects the request); it never forwards
        the client's Host."""
        c = self.raw(self.p.port, timeout=10)
        n = self.o.request_count()
        c.send(H.http_request("GET", self.o.url("/echo?mismatch"),
                              "other.test"))
        r = c.read_response()
        if r.status == 400:
            self.assertEqual(self.o.request_count(), n)
        else:
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.last_request().headers.get_all("host"),
                             [self.o.authority])

    def test_userinfo_not_forwarded(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", "http://user:pw@%s/echo?ui"
                              % self.o.authority, self.o.authority))
        r = c.read_response()
        if r.status != 400:
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(b"user", self.last_request().head)

    def test_scheme_and_host_case_insensitive(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", "HTTP://EXAMPLE.TEST/echo?case",
                              "EXAMPLE.TEST"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.last_request().target, "/echo?case")

    def test_options_without_path_is_asterisk(self):
        """RFC 9112 3.2.4: OPTIONS to an absolute URI with an empty path
        is forwarded as OPTIONS *."""
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("OPTIONS", "http://%s" % self.o.authority,
                              self.o.authority))
        c.read_response()
        self.assertEqual(self.last_request().method, "OPTIONS")
        self.assertEqual(self.last_request().target, "*")

    def test_client_connection_close(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo?cc"),
                              self.o.authority, [("Connection", "close")]))
        self.assertEqual(c.read_response().status, 200)
        self.assertTrue(c.closed_by_peer(5))

    def test_client_half_close_still_answered(self):
        """A client that shuts down its sending side after the request
        (nc -N, some scripts) still gets the whole answer."""
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/bytes?n=300000&seed=8"),
                              self.o.authority))
        c.shutdown_write()
        r = c.read_response()
        self.assertEqual(r.body, H.body_bytes(300000, 8))

    def test_status_line_variants_from_origin(self):
        for name, status_line in [("empty reason", "HTTP/1.1 200 "),
                                  ("no reason, no space", "HTTP/1.1 200"),
                                  ("HTTP/1.0 origin", "HTTP/1.0 200 OK")]:
            with self.subTest(case=name):
                resp = status_line + "\r\nContent-Length: 2\r\n\r\nok"
                c = self.raw(self.p.port, timeout=10)
                c.send(H.http_request("GET", self.o.url(
                    "/raw?resp=" + urllib.parse.quote(resp, safe="")),
                    self.o.authority))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"ok"), r)

    def test_early_hints_then_final(self):
        resp = ("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload"
                "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        r = self.curl(self.o.url("/raw?resp=" + urllib.parse.quote(
            resp, safe="")), proxy=self.p.port)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual((r.status, r.body), (200, b"ok"), r)

    def test_large_response_head(self):
        """A 60 KB response field passes; a head over 64 KiB is a 502."""
        r = self.curl(self.o.url("/headers?big=60000"), proxy=self.p.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.headers.get("x-big", "")), 60000)
        r = self.curl(self.o.url("/headers?big=70000"), proxy=self.p.port)
        self.assertEqual(r.status, 502, r)

    def test_ipv6_literal_target(self):
        if not H.ipv6_available():
            self.skipTest("no IPv6 loopback")
        o6 = self.origin(host="::1")
        r = self.curl(o6.url("/echo?v6"), proxy=self.p.port,
                      args=["-g"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(o6.requests[-1].headers.get_all("host"),
                         [o6.authority])

    def test_stray_crlf_between_requests(self):
        """RFC 9112 2.2: an empty line before a request line is ignored
        (some clients send CRLF after a POST body)."""
        c = self.raw(self.p.port, timeout=10)
        c.send(b"\r\n" + H.http_request("POST", self.o.url("/echo?crlf1"),
                                         self.o.authority, [], b"abc")
               + b"\r\n")
        self.assertEqual(json.loads(c.read_response().body)["body_len"], 3)
        c.send(H.http_request("GET", self.o.url("/echo?crlf2"),
                              self.o.authority))
        self.assertEqual(json.loads(c.read_response().body)["target"],
                         "/echo?crlf2")

    def test_methods_forwarded_verbatim(self):
        c = self.raw(self.p.port, timeout=10)
        for method in ["get", "PROPFIND", "PATCH", "DELETE", "M-SEARCH"]:
            with self.subTest(method=method):
                c.send(H.http_request(method, self.o.url("/echo?m"),
                                      self.o.authority, [], b"<x/>"))
                r = c.read_response()
                self.assertEqual(json.loads(r.body)["method"], method)
                self.assertEqual(json.loads(r.body)["body_len"], 4)

    def test_long_target_and_leading_zero_lengths(self):
        c = self.raw(self.p.port, timeout=10)
        target = "/echo?" + "b" * 7900
        c.send(H.http_request("POST", "http://%s%s" % (self.o.authority,
                                                      target),
                              self.o.authority, [("Content-Length", "010")],
                              b"0123456789"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.last_request().target, target)
        self.assertEqual(self.last_request().body, b"0123456789")
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 002\r\n\r\nok"
        c.send(H.http_request("GET", self.o.url(
            "/raw?resp=" + urllib.parse.quote(resp, safe="")),
            self.o.authority))
        self.assertEqual(c.read_response().body, b"ok")

    def test_map_host_header_from_target(self):
        r = self.curl("http://example.test/echo?mapped", proxy=self.p.port)
        self.assertEqual(r.status, 200, r)
        got = self.last_request()
        self.assertEqual(got.target, "/echo?mapped")
        self.assertEqual(got.headers.get_all("host"), ["example.test"])


class ForwardLoop(H.ProxyTestCase):
    def test_mapped_loop_508(self):
        """--map loop.test to the proxy's own port: the forwarded request
        comes back carrying Via: 1.1 hstsproxy and is answered 508."""
        p, port = self.proxy_on_free_port(
            lambda port: ["--map", "loop.test:80=127.0.0.1:%d" % port])
        r = self.curl("http://loop.test/x", proxy=p.port, max_time=20)
        self.assertEqual(r.status, 508, r)
        self.assertTrue(r.headers.get("content-type", "")
                        .startswith("text/plain"), r)
        p.assert_alive()
        p.stop()


class ForwardIPv6(H.ProxyTestCase):
    def test_two_listeners(self):
        if not H.ipv6_available():
            self.skipTest("no IPv6 loopback")
        o = self.origin()
        p = self.proxy(listen=("127.0.0.1:0", "[::1]:0"))
        hosts = [h for h, _ in p.ports]
        self.assertEqual(hosts, ["127.0.0.1", "::1"], p.addresses)
        for host, port in p.ports:
            with self.subTest(host=host):
                c = self.raw(port, host=host, timeout=10)
                c.send(H.http_request("GET", o.url("/echo"), o.authority))
                self.assertEqual(c.read_response().status, 200)
        p.stop()


if __name__ == "__main__":
    H.main()
