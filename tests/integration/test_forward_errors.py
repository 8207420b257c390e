"""Forwarding core, upstream failures: a refused port and an unresolvable
name give 502 (the name lookup confined to a private resolv.conf, so no
query reaches the machine's resolver); an origin that hangs up, answers
garbage or a smuggling-shaped response gives 502; an origin that dies
mid-body leaves the client with a connection that is visibly cut short,
never a response that looks complete."""

import json
import os
import shutil
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True
import harness as H  # noqa: E402


def is_text_error(tc, r, status):
    tc.assertEqual(r.status, status, r)
    tc.assertTrue(r.headers.get("content-type", "").startswith("text/plain"),
                  r)
    tc.assertTrue(r.body.strip(), "error answer with an empty body")


class ForwardErrors(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy()
        cls.refused_sock, cls.refused = H.refused_port()
        cls.addClassCleanup(cls.refused_sock.close)

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def test_refused_port_502(self):
        c = self.raw(self.p.port, timeout=15)
        c.send(H.http_request("GET", "http://127.0.0.1:%d/x" % self.refused,
                              "127.0.0.1:%d" % self.refused))
        is_text_error(self, c.read_response(), 502)
        r = self.curl("http://127.0.0.1:%d/" % self.refused,
                      proxy=self.p.port)
        self.assertEqual(r.status, 502, r)

    def test_origin_hangs_up_502(self):
        c = self.raw(self.p.port, timeout=15)
        c.send(H.http_request("GET", self.o.url("/hangup"),
                              self.o.authority))
        is_text_error(self, c.read_response(), 502)

    def test_bad_origin_responses_502(self):
        table = [
            ("garbage status line", "garbage\r\n\r\n"),
            ("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("two different CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
             "Content-Length: 6\r\n\r\nhello!"),
            ("obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n"
             "Content-Length: 0\r\n\r\n"),
            ("NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n"
             "Content-Length: 0\r\n\r\n"),
            ("HTTP/2.0 status line", "HTTP/2.0 200 OK\r\n"
             "Content-Length: 0\r\n\r\n"),
            ("empty response", ""),
            (None, None),
        ]
        for name, resp in table:
            if name is None:
                break
            with self.subTest(case=name):
                c = self.raw(self.p.port, timeout=15)
                c.send(H.http_request(
                    "GET", self.o.url("/raw?resp=" + urllib.parse.quote(
                        resp, safe="")), self.o.authority))
                is_text_error(self, c.read_response(), 502)

    def test_dies_mid_body_curl(self):
        for mode in ["cl", "chunked"]:
            with self.subTest(mode=mode):
                r = self.curl(self.o.url("/die?n=200000&after=50000&mode=%s"
                                         % mode), proxy=self.p.port)
                self.assertNotEqual(r.rc, 0, "curl saw a complete response "
                                    "from an origin that died: %r" % r)
                if r.status == 200:
                    self.assertLess(len(r.body), 200000)

    def test_dies_mid_body_raw(self):
        for mode in ["cl", "chunked"]:
            with self.subTest(mode=mode):
                c = self.raw(self.p.port, timeout=15)
                c.send(H.http_request(
                    "GET", self.o.url("/die?n=200000&after=50000&mode=%s"
                                      % mode), self.o.authority))
                try:
                    r = c.read_response()
                except H.HTTPError:
                    continue  # cut short: the client can tell
                self.assertEqual(r.status, 502,
                                 "a %s response that looks complete "
                                 "(framing %s, %d body bytes) from an "
                                 "origin that died mid-body"
                                 % (r.status, r.framing, len(r.body)))

    def test_still_forwarding_after_errors(self):
        r = self.curl(self.o.url("/echo?alive"), proxy=self.p.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["target"], "/echo?alive")


class UnresolvableName(H.ProxyTestCase):
    """The proxy runs in a private mount namespace whose /etc/resolv.conf
    names 127.0.0.1, where no DNS server listens: the lookup fails fast
    and nothing is asked of the machine's resolver."""

    def test_unresolvable_502(self):
        if shutil.which("unshare") is None:
            self.skipTest("unshare(1) not available: cannot confine DNS")
        probe = subprocess.run(["unshare", "-m", "true"],
                               capture_output=True)
        if probe.returncode != 0:
            self.skipTest("unshare -m not permitted here: %s"
                          % probe.stderr.decode().strip())
        resolv = os.path.join(self.tmp, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        wrapper = ["unshare", "-m", "sh", "-c",
                   'mount --bind "$1" /etc/resolv.conf && shift && '
                   'exec "$@"', "sh", resolv]
        o = self.origin()
        p = self.proxy(wrapper=wrapper)
        for url in ["http://no-such-host.invalid/",
                    "http://no-such-host.invalid:8080/x?y=1"]:
            with self.subTest(url=url):
                c = self.raw(p.port, timeout=15)
                host = urllib.parse.urlsplit(url).netloc
                c.send(H.http_request("GET", url, host))
                is_text_error(self, c.read_response(), 502)
        r = self.curl(o.url("/echo"), proxy=p.port)
        self.assertEqual(r.status, 200, r)
        p.stop()


if __name__ == "__main__":
    H.main()
