"""The internal upgrade (README.md "What the proxy answers", docs/HSTS.md "The
upgrade"): plain-HTTP requests to HSTS hosts are answered by the proxy
with the exact 307 head, for every method, with no DNS lookup and no
origin connection; the request body is discarded so that keep-alive goes
on; Location keeps path and query byte for byte; policies apply as
Chromium applies them (includeSubDomains, IP literals never, the builtin
list). Every test host is mapped to a counting origin, which must see
nothing of an upgraded request."""

import sys
import threading

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

MB = 1024 * 1024
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
           "PURGE", "X-CUSTOM-METHOD"]


class UpgradeAnswer(U.UpgradeCase):
    HOSTS = ("withsubs.test", "sub.withsubs.test", "a.b.withsubs.test",
             "exact-only.test", "sub.exact-only.test", "notwithsubs.test",
             "something.dev")
    POLICIES = (("withsubs.test", True), ("exact-only.test", False))

    def setUp(self):
        self.before = self.o.request_count()
        self.conns_before = self.o.conn_count()

    def untouched(self):
        self.assertEqual(self.o.request_count(), self.before,
                         "the origin received an upgraded request")
        self.assertEqual(self.o.conn_count(), self.conns_before,
                         "the origin was connected to for an upgrade")

    def test_every_method_one_connection(self):
        c = self.raw(self.p.port)
        for m in METHODS:
            with self.subTest(method=m):
                body = b"x=1&y=2" if m in ("POST", "PUT", "PATCH") else None
                c.send(H.http_request(m, "http://withsubs.test/m/%s?q=1" % m,
                                      "withsubs.test", body=body))
                self.read_307(c, "https://withsubs.test/m/%s?q=1" % m)
        # nothing follows the last head: no body, no stray bytes
        self.assertTrue(c.no_data_within(0.3))
        self.untouched()

    def test_large_post_then_next_request(self):
        c = self.raw(self.p.port, timeout=30)
        body = H.body_bytes(MB, 5)
        c.send(H.http_request("POST", "http://withsubs.test/upload",
                              "withsubs.test", body=body))
        c.send(H.http_request("GET", "http://withsubs.test/after",
                              "withsubs.test"))
        self.read_307(c, "https://withsubs.test/upload")
        self.read_307(c, "https://withsubs.test/after")
        self.assertTrue(c.no_data_within(0.2))
        self.untouched()

    def test_body_sent_after_the_answer(self):
        """The 307 comes before the body; the body still goes away."""
        c = self.raw(self.p.port, timeout=30)
        n = 300000
        c.send(H.http_request("PUT", "http://withsubs.test/late",
                              "withsubs.test",
                              [("Content-Length", str(n))]))
        self.read_307(c, "https://withsubs.test/late")
        for chunk in H.body_iter(n, 6, block=7000):
            c.send(chunk)
        c.send(H.http_request("GET", "http://exact-only.test/next",
                              "exact-only.test"))
        self.read_307(c, "https://exact-only.test/next")
        self.untouched()

    def test_chunked_body_discarded(self):
        c = self.raw(self.p.port)
        chunked = (b"5\r\nhello\r\n1a;ext=1\r\n" + b"a" * 26 + b"\r\n"
                   b"0\r\nX-Trailer: t\r\n\r\n")
        req = H.http_request("POST", "http://withsubs.test/chunked",
                             "withsubs.test",
                             [("Transfer-Encoding", "chunked")])
        # all in one write, the next request pipelined behind the body
        c.send(req + chunked + H.http_request(
            "GET", "http://withsubs.test/next1", "withsubs.test"))
        self.read_307(c, "https://withsubs.test/chunked")
        self.read_307(c, "https://withsubs.test/next1")
        # and byte by byte, after the answer
        c.send(req)
        self.read_307(c, "https://withsubs.test/chunked")
        for i in range(len(chunked)):
            c.send(chunked[i:i + 1])
        c.send(H.http_request("GET", "http://withsubs.test/next2",
                              "withsubs.test"))
        self.read_307(c, "https://withsubs.test/next2")
        self.untouched()

    def test_malformed_chunked_body_closes(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", "http://withsubs.test/bad",
                              "withsubs.test",
                              [("Transfer-Encoding", "chunked")]))
        self.read_307(c, "https://withsubs.test/bad")
        c.send(b"zz\r\n")
        self.assertTrue(c.closed_by_peer())
        self.untouched()

    def test_expect_100_continue_without_body(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", "http://withsubs.test/expect",
                              "withsubs.test",
                              [("Content-Length", "1000"),
                               ("Expect", "100-continue")]))
        # the 307 at once (no 100 Continue before it), then the close
        self.read_307(c, "https://withsubs.test/expect",
                      connection="close")
        self.assertTrue(c.closed_by_peer())
        self.untouched()

    def test_expect_100_continue_with_body_sent(self):
        """A client that did not wait sent the body: keep-alive holds."""
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", "http://withsubs.test/eager",
                              "withsubs.test", [("Expect", "100-continue")],
                              body=b"0123456789"))
        self.read_307(c, "https://withsubs.test/eager")
        c.send(H.http_request("GET", "http://withsubs.test/more",
                              "withsubs.test"))
        self.read_307(c, "https://withsubs.test/more")
        self.untouched()

    def test_huge_declared_body_closes(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("POST", "http://withsubs.test/huge",
                              "withsubs.test",
                              [("Content-Length", str(100 * 1024 * MB))]))
        self.read_307(c, "https://withsubs.test/huge", connection="close")
        c.send(b"some of it")
        self.assertTrue(c.closed_by_peer())
        self.untouched()

    def test_location_byte_for_byte(self):
        paths = [
            "/",
            "/a%2Fb/%7Euser/..%2F/%E2%82%AC?q=%00&x=%ZZ&y=a+b",
            "/p?a=1&a=2&&=&b==c",
            "/odd?|{}^`'\"!$()*,;:@[]~",
            "/?",
            "/%25%20x%2b?%2B",
            "/path/with/./dots/../kept",
        ]
        c = self.raw(self.p.port)
        for path in paths:
            with self.subTest(path=path):
                c.send(H.http_request("GET", "http://withsubs.test" + path,
                                      "withsubs.test"))
                self.read_307(c, "https://withsubs.test" + path)
        # an empty path gets its "/", the query stays as it was
        c.send(H.http_request("GET", "http://withsubs.test?x=%41",
                              "withsubs.test"))
        self.read_307(c, "https://withsubs.test/?x=%41")
        # scheme and host case: the host is lowercased, the path is not
        c.send(H.http_request("GET", "HTTP://WithSubs.TEST/Case/%aB",
                              "WITHSUBS.test"))
        self.read_307(c, "https://withsubs.test/Case/%aB")
        self.untouched()

    def test_ports(self):
        cases = [("http://withsubs.test/p", "withsubs.test",
                  "https://withsubs.test/p"),
                 ("http://withsubs.test:80/p", "withsubs.test:80",
                  "https://withsubs.test/p"),
                 ("http://withsubs.test:8080/p?x", "withsubs.test:8080",
                  "https://withsubs.test:8080/p?x"),
                 ("http://withsubs.test:443/p", "withsubs.test:443",
                  "https://withsubs.test/p"),
                 ("http://sub.withsubs.test:8443/", "sub.withsubs.test:8443",
                  "https://sub.withsubs.test:8443/")]
        c = self.raw(self.p.port)
        for url, host, loc in cases:
            with self.subTest(url=url):
                c.send(H.http_request("GET", url, host))
                self.read_307(c, loc)
        self.untouched()

    def test_origin_echoed(self):
        c = self.raw(self.p.port)
        for origin in ["https://app.example", "http://withsubs.test:8080",
                       "null"]:
            with self.subTest(origin=origin):
                c.send(H.http_request("POST", "http://withsubs.test/api",
                                      "withsubs.test",
                                      [("Origin", origin)], body=b"{}"))
                self.read_307(c, "https://withsubs.test/api", origin=origin)
        self.untouched()

    def test_http10_and_connection_close(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("GET", "http://withsubs.test/10ka",
                              "withsubs.test",
                              [("Connection", "keep-alive")],
                              version="HTTP/1.0"))
        self.read_307(c, "https://withsubs.test/10ka",
                      connection="keep-alive")
        c.send(H.http_request("GET", "http://withsubs.test/10",
                              None, version="HTTP/1.0"))
        self.read_307(c, "https://withsubs.test/10", connection="close")
        self.assertTrue(c.closed_by_peer())
        c = self.raw(self.p.port)
        c.send(H.http_request("GET", "http://withsubs.test/close",
                              "withsubs.test", [("Connection", "close")]))
        self.read_307(c, "https://withsubs.test/close", connection="close")
        self.assertTrue(c.closed_by_peer())
        self.untouched()

    def test_include_subdomains_or_exact_only(self):
        upgraded = ["withsubs.test", "sub.withsubs.test",
                    "a.b.withsubs.test", "exact-only.test"]
        forwarded = ["sub.exact-only.test", "notwithsubs.test"]
        c = self.raw(self.p.port)
        for h in upgraded:
            with self.subTest(upgraded=h):
                c.send(H.http_request("GET", "http://%s/echo" % h, h))
                self.read_307(c, "https://%s/echo" % h)
        self.untouched()
        for h in forwarded:
            with self.subTest(forwarded=h):
                n = self.o.request_count()
                c.send(H.http_request("GET", "http://%s/echo?fw" % h, h))
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(self.o.request_count(), n + 1)
                self.assertEqual(self.o.requests[-1].headers.get("host"), h)

    def test_ip_literals_forwarded(self):
        # the store refuses a policy for an IP literal (usage error) ...
        r = U.cli(self.db, "policy", "add", "127.0.0.1", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        # ... and the proxy forwards IP literals whatever it holds
        c = self.raw(self.p.port)
        n = self.o.request_count()
        c.send(H.http_request("GET", self.o.url("/echo?ip"), self.o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.o.request_count(), n + 1)

    def test_builtin_list_host(self):
        c = self.raw(self.p.port)
        c.send(H.http_request("GET", "http://something.dev/x?y",
                              "something.dev"))
        self.read_307(c, "https://something.dev/x?y")
        self.untouched()

    def test_host_header_must_match(self):
        cases = [("http://withsubs.test/h", "other.test", 400),
                 ("http://withsubs.test/h", "withsubs.test:8080", 400),
                 ("http://withsubs.test:8080/h", "withsubs.test", 400),
                 ("http://notwithsubs.test/h", "withsubs.test", 400),
                 ("http://withsubs.test/h", "WITHSUBS.TEST.:80", 307),
                 ("http://withsubs.test:80/h", "withsubs.test:", 307)]
        for url, host, status in cases:
            with self.subTest(url=url, host=host):
                c = self.raw(self.p.port)
                c.send(H.http_request("GET", url, host))
                r = c.read_response()
                self.assertEqual(r.status, status, r)
        self.untouched()

    def test_parallel_keepalive_clients(self):
        errors = []

        def client(i):
            try:
                with H.RawClient(self.p.port) as c:
                    for j in range(30):
                        c.send(H.http_request(
                            "GET", "http://sub.withsubs.test/%d/%d" % (i, j),
                            "sub.withsubs.test"))
                        head = c.bs.read_head()
                        want = U.expected_head(
                            "https://sub.withsubs.test/%d/%d" % (i, j))
                        if head != want:
                            errors.append((i, j, head))
                            return
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.untouched()


if __name__ == "__main__":
    H.main()
