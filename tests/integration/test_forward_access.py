"""`hstsproxy run` access control (README.md, "Access"): clients are loopback only
unless --allow CIDR says otherwise; listening on a non-loopback address
with no --allow refuses to start, saying why; a client outside --allow
gets a 403 text/plain answer and nothing is forwarded.

Non-loopback addresses are needed, so the file re-runs itself in a
private network namespace (unshare -n) whose only interface is lo, with
10.99.0.1 and 10.99.0.2 added to it: nothing leaves the namespace."""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

NETNS_ENV = "HSTSPROXY_ITEST_NETNS"
CLIENT_ADDR = "10.99.0.1"
OTHER_ADDR = "10.99.0.2"


def reexec_in_netns():
    """Runs this file again inside `unshare -n` with lo up and the two
    test addresses; returns only when that is not possible."""
    if os.environ.get(NETNS_ENV) or shutil.which("unshare") is None:
        return
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return
    script = ("ip link set lo up && ip addr add %s/32 dev lo && "
              "ip addr add %s/32 dev lo && exec \"$@\""
              % (CLIENT_ADDR, OTHER_ADDR))
    env = dict(os.environ, **{NETNS_ENV: "1"})
    os.execvpe("unshare", ["unshare", "-n", "sh", "-c", script, "sh",
                           sys.executable, os.path.abspath(__file__)]
               + sys.argv[1:], env)


class AccessControl(H.ProxyTestCase):
    def setUp(self):
        if not os.environ.get(NETNS_ENV):
            self.skipTest("needs unshare -n (a private network namespace)")

    def client(self, port, source):
        c = H.RawClient.__new__(H.RawClient)
        c.sock = H.socket.socket()
        c.sock.settimeout(10)
        c.sock.bind((source, 0))
        c.sock.connect(("127.0.0.1", port))
        c.bs = H.BufferedSocket(c.sock)
        self.addCleanup(c.close)
        return c

    def test_non_loopback_listen_without_allow_refuses_to_start(self):
        for addr in ["0.0.0.0:0", "%s:0" % CLIENT_ADDR]:
            with self.subTest(listen=addr):
                p = H.start_proxy([], workdir=self.tmp, listen=(addr,),
                                  wait=False)
                self.addCleanup(p.kill)
                try:
                    rc = p.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.fail("started an open proxy on %s with no --allow"
                              % addr)
                p.kill()
                self.assertIn(rc, (2, 3), p.stderr())
                self.assertRegex(p.stderr(), r"(?m)^hstsproxy run: .+: .+")
                self.assertFalse(p.listening.is_set())

    def test_allow_admits_listed_clients_only(self):
        o = self.origin()
        p = self.proxy(["--allow", "%s/32" % CLIENT_ADDR],
                       listen=("0.0.0.0:0",))
        c = self.client(p.port, CLIENT_ADDR)
        c.send(H.http_request("GET", o.url("/echo?allowed"), o.authority))
        self.assertEqual(c.read_response().status, 200)

        c = self.client(p.port, OTHER_ADDR)
        n = o.conn_count()
        c.send(H.http_request("GET", o.url("/echo?denied"), o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 403, r)
        self.assertTrue(r.headers.get("content-type", "")
                        .startswith("text/plain"), r)
        self.assertEqual(o.conn_count(), n, "a denied client was forwarded")
        p.stop()

    def test_default_is_loopback_only(self):
        """With only a loopback listener and no --allow, a client whose
        source address is not loopback (reachable here because lo carries
        10.99.0.1) is refused with 403."""
        o = self.origin()
        p = self.proxy()
        c = self.client(p.port, "127.0.0.1")
        c.send(H.http_request("GET", o.url("/echo?lo"), o.authority))
        self.assertEqual(c.read_response().status, 200)
        c = self.client(p.port, CLIENT_ADDR)
        c.send(H.http_request("GET", o.url("/echo?not-lo"), o.authority))
        self.assertEqual(c.read_response().status, 403)
        p.stop()


    def test_denied_answer_names_client_and_is_logged(self):
        o = self.origin()
        p = self.proxy(["--allow", "%s/32" % CLIENT_ADDR],
                       listen=("0.0.0.0:0",))
        c = self.client(p.port, OTHER_ADDR)
        c.send(H.http_request("GET", o.url("/echo"), o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 403, r)
        self.assertIn(OTHER_ADDR.encode(), r.body)
        self.assertIn("close", r.headers.tokens("connection"))
        self.assertTrue(c.closed_by_peer(5))
        H.wait_until(lambda: "client %s: refused" % OTHER_ADDR in p.stderr(),
                     5, what="the refusal logged on stderr")
        p.stop()

    def test_request_for_another_own_address_is_not_forwarded(self):
        """Listening on 0.0.0.0, a request that reaches the proxy on one of
        its addresses and names another (or the wildcard's loopback) is
        answered by the proxy: locally, or 508 once it comes back with our
        Via. It never loops and never reaches an origin."""
        o = self.origin()
        p = self.proxy(["--allow", "127.0.0.0/8", "--allow",
                        "10.99.0.0/24"], listen=("0.0.0.0:0",))
        for via, target in [(CLIENT_ADDR, OTHER_ADDR),
                            (CLIENT_ADDR, "127.0.0.1"),
                            ("127.0.0.1", CLIENT_ADDR)]:
            with self.subTest(connect=via, target=target):
                n = o.request_count()
                c = H.RawClient(p.port, host=via, timeout=10)
                self.addCleanup(c.close)
                url = "http://%s:%d/loop-me" % (target, p.port)
                c.send(H.http_request("GET", url, "%s:%d" % (target, p.port)))
                r = c.read_response()
                self.assertIn(r.status, (404, 508), r)
                self.assertEqual(o.request_count(), n)
        p.assert_alive()
        p.stop()


class MaxConns(H.ProxyTestCase):
    """--max-conns N: past N client connections (all workers together) the
    proxy stops accepting until a slot frees; it never answers 503 or
    fails open. Needs no network namespace."""

    def test_extra_client_waits_then_is_served(self):
        for workers in ("1", "2"):
            with self.subTest(workers=workers):
                self.check_waits(workers)

    def check_waits(self, workers):
        o = self.origin()
        p = self.proxy(["--max-conns", "2", "--workers", workers])
        held = [self.raw(p.port, timeout=10) for _ in range(2)]
        # An idle connection holds a slot: make sure both are accepted
        # (a request through each) before the third one arrives.
        for i, c in enumerate(held):
            c.send(H.http_request("GET", o.url("/echo?held=%d" % i),
                                  o.authority))
            self.assertEqual(c.read_response().status, 200)
        n = o.conn_count()
        third = self.raw(p.port, timeout=10)
        third.send(H.http_request("GET", o.url("/echo?third"), o.authority))
        self.assertTrue(third.no_data_within(1.0),
                        "a client past --max-conns got an answer")
        self.assertEqual(o.conn_count(), n, "past --max-conns, forwarded")
        self.assertNotIn("/echo?third", [q.target for q in o.requests])
        held[0].close()
        r = third.read_response()
        self.assertEqual(r.status, 200, r)
        # Still at the limit: a fourth waits until another slot frees.
        fourth = self.raw(p.port, timeout=10)
        fourth.send(H.http_request("GET", o.url("/echo?fourth"), o.authority))
        self.assertTrue(fourth.no_data_within(0.5))
        third.close()
        self.assertEqual(fourth.read_response().status, 200)
        p.assert_alive()
        p.stop()

    def test_help_documents_waiting(self):
        out = subprocess.run([H.proxy_bin(), "run", "--help"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--max-conns", out.stdout)
        self.assertNotIn("503", out.stdout)


if __name__ == "__main__":
    reexec_in_netns()
    H.main()
