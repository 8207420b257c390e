"""A parent proxy (README.md "Parent proxy"): --upstream-proxy
http://[user:pass@]HOST:PORT and --upstream-no-proxy LIST.

Against a real parent, tinyproxy from Debian, started here on loopback
with a config this test writes (one open, one with BasicAuth): forwarded
requests and CONNECT tunnels go through it (the origin sees its Via after
ours), credentials work, a 407 becomes a clear 502, and the internal 307
never needs the parent. Against parents made here with raw sockets: the
exact bytes hstsproxy sends (absolute-form, its own Proxy-Authorization,
one pooled connection for requests to different origins, CONNECT), and a
parent that refuses connections, answers garbage or closes: 502 naming
the parent. Targets are IP literals, so that the parent never resolves a
name. Bad URLs are usage errors (exit 2)."""

import base64
import os
import shutil
import socket
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402
from parent_util import FakeParent  # noqa: E402

USER, PASSWORD = "alice", "s3cret:x@y"
PASS_URL = "s3cret%3Ax%40y"  # percent-encoded in the URL


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Tinyproxy:
    """tinyproxy in the foreground on 127.0.0.1 with our own config."""

    def __init__(self, case, connect_ports, auth=None):
        self.port = free_port()
        conf = os.path.join(case.tmp, "tinyproxy-%d.conf" % self.port)
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 30",
                 "MaxClients 50", "Allow 127.0.0.1", "LogLevel Connect",
                 "ViaProxyName \"tinyproxy\""]
        lines += ["ConnectPort %d" % p for p in connect_ports]
        if auth:
            lines.append("BasicAuth %s %s" % auth)
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(case.tmp, "tinyproxy-%d.log"
                                     % self.port), "w+")
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", conf],
                                     stdout=self.log, stderr=self.log)
        case.addCleanup(self.stop)
        H.wait_for_port(self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()

    def requests(self):
        self.log.flush()
        with open(self.log.name) as f:
            return [l.split("): ", 1)[1].strip() for l in f
                    if "Request (file descriptor" in l]


OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive"
      b"\r\n\r\nok")


class Upstream(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if shutil.which("tinyproxy") is None:
            raise unittest.SkipTest("tinyproxy is missing (Debian package "
                                    "tinyproxy; scripts/setup.sh installs "
                                    "it)")

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self._testMethodName)
        self.o = self.origin()

    def start(self, parent, *args):
        return self.proxy(["--upstream-proxy", parent] + list(args),
                          db=self.db)

    def get(self, p, url, args=()):
        return H.curl(url, proxy=p.port, args=list(args))

    def test_forward_and_connect_through_tinyproxy(self):
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        tp = Tinyproxy(self, [echo.port])
        U.add_policy(self.db, "manual.test")
        p = self.start("http://127.0.0.1:%d" % tp.port,
                       "--connect-ports", str(echo.port))
        r = self.get(p, "http://127.0.0.1:%d/echo?via=parent" % self.o.port)
        self.assertEqual(r.status, 200, r)
        seen = self.o.requests[-1]
        via = seen.headers.get("via")
        self.assertIn("hstsproxy", via)
        self.assertIn("tinyproxy", via)
        self.assertIn("GET http://127.0.0.1:%d/echo?via=parent HTTP/1.1"
                      % self.o.port, tp.requests())
        # CONNECT goes as CONNECT through the parent
        c = self.raw(p.port)
        c.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % echo.port)
        r = c.read_response("CONNECT")
        self.assertEqual(r.status, 200, r)
        c.send(b"ping through two proxies")
        self.assertEqual(c.bs.read_exact(24), b"ping through two proxies")
        self.assertIn("CONNECT 127.0.0.1:%d HTTP/1.1" % echo.port,
                      tp.requests())
        # the internal 307 needs no parent
        n = len(tp.requests())
        r = self.get(p, "http://manual.test/x")
        self.assertEqual(r.status, 307, r)
        self.assertEqual(len(tp.requests()), n)
        p.stop()

    def test_parent_asking_for_auth(self):
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        tp = Tinyproxy(self, [echo.port], auth=(USER, "s3cretxy"))
        bare = "127.0.0.1:%d" % tp.port
        url = "http://127.0.0.1:%d/echo" % self.o.port
        p = self.start("http://" + bare)
        r = self.get(p, url)
        self.assertEqual(r.status, 502, r)
        self.assertIn(b"parent proxy %s requires authentication (407)"
                      % bare.encode(), r.body)
        self.assertIn(b"--upstream-proxy", r.body)
        p.stop()
        # wrong credentials: tinyproxy 1.11 answers 401 (an origin's
        # answer, passed on); a parent that says 407 is refused clearly
        fake = FakeParent(self, b"HTTP/1.1 407 Proxy Authentication "
                          b"Required\r\nProxy-Authenticate: Basic realm=x"
                          b"\r\nContent-Length: 0\r\n\r\n")
        p = self.start("http://%s:wrong@127.0.0.1:%d" % (USER, fake.port),
                       "--connect-ports", "443")
        r = self.get(p, url)
        self.assertEqual(r.status, 502, r)
        self.assertIn(b"refused the credentials", r.body)
        self.assertIsNone(r.headers.get("proxy-authenticate"))
        c = self.raw(p.port)
        c.send(b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 502, r)
        self.assertIn(b"requires authentication (407)", r.body)
        p.stop()
        p = self.start("http://%s:%s@%s" % (USER, "s3cretxy", bare),
                       "--connect-ports", str(echo.port))
        r = self.get(p, url)
        self.assertEqual(r.status, 200, r)
        c = self.raw(p.port)
        c.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               % echo.port)
        self.assertEqual(c.read_response("CONNECT").status, 200)
        c.send(b"authenticated")
        self.assertEqual(c.bs.read_exact(13), b"authenticated")
        # the client's own Proxy-Authorization never reaches anyone
        self.assertIsNone(self.o.requests[-1].headers.get(
            "proxy-authorization"))
        p.stop()

    def test_exact_bytes_and_pooling(self):
        fake = FakeParent(self, OK)
        p = self.start("http://%s:%s@127.0.0.1:%d/" % (USER, PASS_URL,
                                                       fake.port))
        c = self.raw(p.port)
        for host in ("127.0.0.1:1111", "127.0.0.2:2222"):
            c.send(H.http_request("GET", "http://%s/a?b" % host, host))
            self.assertEqual(c.read_response().status, 200)
        heads = fake.heads()
        self.assertEqual(len(heads), 1, "one pooled connection to the parent")
        text = heads[0].decode()
        self.assertTrue(text.startswith(
            "GET http://127.0.0.1:1111/a?b HTTP/1.1\r\n"), text)
        self.assertIn("GET http://127.0.0.2:2222/a?b HTTP/1.1\r\n", text)
        cred = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode())
        self.assertEqual(text.count("Proxy-Authorization: Basic %s\r\n"
                                    % cred.decode()), 2)
        p.stop()

    def test_parent_failures_are_502_naming_it(self):
        refused, rport = H.refused_port()
        self.addCleanup(refused.close)
        garbage = FakeParent(self, b"SPDY/9 what\r\n\r\n")
        closing = FakeParent(self, None)
        url = "http://127.0.0.1:%d/echo" % self.o.port
        for port, why in ((rport, b"cannot connect to parent proxy "
                                  b"127.0.0.1:%d at " % rport),
                          (garbage.port, b"invalid response from parent "
                                         b"proxy 127.0.0.1:%d" % garbage.port),
                          (closing.port, b"parent proxy 127.0.0.1:%d closed "
                                         b"the connection" % closing.port)):
            p = self.start("http://127.0.0.1:%d" % port,
                           "--connect-ports", "443")
            r = self.get(p, url)
            self.assertEqual(r.status, 502, r)
            self.assertIn(why, r.body)
            c = self.raw(p.port)
            c.send(b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 502, r)
            self.assertIn(b"parent proxy 127.0.0.1:%d" % port, r.body)
            p.stop()

    def test_no_proxy_goes_direct(self):
        refused, rport = H.refused_port()
        self.addCleanup(refused.close)
        p = self.start("http://127.0.0.1:%d" % rport,
                       "--upstream-no-proxy", "example.net, 127.0.0.0/8")
        r = self.get(p, "http://127.0.0.1:%d/echo" % self.o.port)
        self.assertEqual(r.status, 200, r)
        p.stop()

    def test_bad_urls_are_usage_errors(self):
        for url, why in (("https://127.0.0.1:3128", "not an http:// URL"),
                         ("socks5://127.0.0.1:1080", "not an http:// URL"),
                         ("http://127.0.0.1", "port is required"),
                         ("http://127.0.0.1:0", "port is not a number"),
                         ("http://127.0.0.1:3128/x", "has no path"),
                         ("http://a%zz@127.0.0.1:3128", "user:password"),
                         ("http://bad..host:3128", "not a valid host")):
            r = subprocess.run([H.proxy_bin(), "--db", self.db, "run",
                                "--upstream-proxy", url], capture_output=True,
                               text=True, timeout=30, env=H.clean_env())
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("hstsproxy run: --upstream-proxy %s: " % url,
                          r.stderr)
            self.assertIn(why, r.stderr)
        r = subprocess.run([H.proxy_bin(), "--db", self.db, "run",
                            "--upstream-no-proxy", "10.0.0.1/8"],
                           capture_output=True, text=True, timeout=30,
                           env=H.clean_env())
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertFalse(os.path.exists(self.db))


if __name__ == "__main__":
    H.main()
