"""test_intercept.py - whole networks: --intercept, --intercept-tls and
--outgoing-mark, with real redirects by nftables.

The file re-runs itself in a network namespace of its own (`unshare -n`,
gone when the process ends): loopback up, test addresses on it
(10.99.0.0/24, fd99::/64) and an nftables table whose output chain
redirects what is sent to those addresses, port 80 to the proxy's
intercepting listener and port 443 to its TLS one, and lets the proxy's
own marked connections (0x4853) through. Clients (curl with no proxy
settings, raw sockets) dial the test addresses as if the proxy were not
there; origins listen on them. Only addresses this test made are dialled;
nothing is resolved (curl --resolve, IP literals).
"""

import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EchoServer, Origin, ProxyTestCase,  # noqa: E402
                     body_bytes, body_sha256, make_pki, server_ssl_context, start_proxy,
                     wait_until)
from tls_util import Reply, routed_handler, run_cli  # noqa: E402

INSIDE = "HSTSPROXY_TEST_NETNS"
HTTP_PORT, TLS_PORT = 8080, 8443  # the intercepting listeners
MARK = 0x4853
A, B, C = "10.99.0.2", "10.99.0.3", "10.99.0.4"
A6 = "fd99::2"
HELLO_TIMEOUT = 1   # --timeout-header for the hello phase
SLACK = 2.0         # seconds beyond it a close may take here
STS = "Strict-Transport-Security"
LEARN_WAIT = 15.0

NFT = """
table inet hstsproxy_test {
  chain out {
    type nat hook output priority -100; policy accept;
    meta mark %(mark)d counter accept
    ip daddr 10.99.0.0/24 tcp dport 80 counter redirect to :%(http)d
    ip6 daddr fd99::/64 tcp dport 80 counter redirect to :%(http)d
    ip daddr 10.99.0.0/24 tcp dport 443 counter redirect to :%(tls)d
    ip6 daddr fd99::/64 tcp dport 443 counter redirect to :%(tls)d
  }
}
""" % {"mark": MARK, "http": HTTP_PORT, "tls": TLS_PORT}


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def setup_network():
    sh("ip", "link", "set", "lo", "up")
    for a in (A, B, C):
        sh("ip", "addr", "add", a + "/32", "dev", "lo")
    sh("ip", "-6", "addr", "add", A6 + "/128", "dev", "lo", "nodad")
    subprocess.run(["nft", "-f", "-"], input=NFT.encode(), check=True,
                   capture_output=True, timeout=30)


def marked_packets():
    """Packets the mark exemption let through so far."""
    out = subprocess.run(["nft", "list", "ruleset"], capture_output=True,
                         text=True, timeout=30).stdout
    m = re.search(r"meta mark 0x0*4853 counter packets (\d+)", out)
    return int(m.group(1)) if m else 0


def client_hello(sni):
    """The first flight of a real TLS client (python's ssl) for sni."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def dial(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until_closed(s, limit=30.0):
    """Everything the peer sends until it closes; (bytes, seconds). Closes
    s."""
    t0 = time.monotonic()
    s.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return data, time.monotonic() - t0


def release(server):
    """Frees a server's fixed port at once: a listener closed while its
    thread waits in accept() stays bound until it is shut down."""
    try:
        server.listener.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Intercept(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = make_pki(os.path.join(cls.tmp, "pki"),
                           names=("secure.test", "learn.test"), ips=(A,))

    def start(self, extra=(), allow=True, db=None):
        args = ["--intercept", "127.0.0.1:%d" % HTTP_PORT,
                "--intercept", "[::1]:%d" % HTTP_PORT,
                "--intercept-tls", "127.0.0.1:%d" % TLS_PORT,
                "--intercept-tls", "[::1]:%d" % TLS_PORT,
                "--timeout-header", str(HELLO_TIMEOUT), "--verbose"]
        if allow:
            args += ["--allow", "10.99.0.0/24", "--allow", "fd99::/64",
                     "--allow", "127.0.0.0/8"]
        p = start_proxy(args + list(extra), workdir=self.tmp, db=db)
        self.addCleanup(p.kill)
        return p

    def origin(self, **kw):
        o = super().origin(**kw)
        self.addCleanup(release, o)
        return o

    def db(self):
        return os.path.join(self.tmp, "%s.db" % self.id().split(".")[-1])

    # -- plain HTTP

    def test_hsts_host_gets_the_307(self):
        db = self.db()
        st, _, err, _ = run_cli(["policy", "add", "secure.test"], db)
        self.assertEqual(st, 0, err)
        origin = self.origin(host=A, port=80)
        p = self.start(db=db)
        r = self.curl("http://secure.test/p?q=1",
                      args=["--resolve", "secure.test:80:%s" % A])
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("location"), "https://secure.test/p?q=1")
        self.assertEqual(r.headers.get("non-authoritative-reason"), "HSTS")
        # any method: a POST is answered the same (a client that follows
        # a 307 keeps its method and body)
        r = self.curl("http://secure.test:80/form",
                      args=["--resolve", "secure.test:80:%s" % A,
                            "-d", "a=1"])
        self.assertEqual(r.status, 307, r)
        self.assertEqual(origin.request_count(), 0)
        # a configured client of the same proxy, for the log's `via`
        r = self.curl("http://secure.test/proxied", proxy=p.port)
        self.assertEqual(r.status, 307, r)
        p.stop()
        self.assertIn("intercepting on 127.0.0.1:%d (http)" % HTTP_PORT,
                      p.stderr())
        st, out, err, _ = run_cli(["log", "--json"], db)
        self.assertEqual(st, 0, err)
        hops = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(h["url"], h["via"], h["client"]) for h in hops],
                         [("http://secure.test/p?q=1", "intercept", A),
                          ("http://secure.test/form", "intercept", A),
                          ("http://secure.test/proxied", "proxy",
                           "127.0.0.1")])
        st, out, err, _ = run_cli(["log"], db)
        self.assertEqual(out.count("(intercepted)"), 2, out)
        st, out, err, _ = run_cli(["audit", "--format", "json"], db)
        self.assertEqual(st, 0, err)
        host = [h for h in json.loads(out)["hosts"]
                if h["host"] == "secure.test"][0]
        self.assertEqual((host["upgrades"], host["intercepted_hops"]), (3, 2))

    def test_forwarded_to_the_dialled_address_whatever_host_says(self):
        a = self.origin(host=A, port=80)
        b = self.origin(host=B, port=80)
        self.start()
        marked = marked_packets()
        r = self.curl("http://%s/echo?x=1" % A,
                      args=["-H", "Host: %s" % B, "-H", "Connection: X-Hop",
                            "-H", "X-Hop: 1", "-H", "Keep-Alive: 5",
                            "-H", "Proxy-Connection: keep-alive"])
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertEqual(doc["target"], "/echo?x=1")
        names = {h[0].lower(): h[1] for h in doc["headers"]}
        self.assertEqual(names.get("host"), B)
        self.assertIn("hstsproxy", names.get("via", ""))
        for hop in ("x-hop", "keep-alive", "proxy-connection"):
            self.assertNotIn(hop, names)
        # a name too: never resolved, the request goes where it went
        r = self.curl("http://other.test/echo",
                      args=["--resolve", "other.test:80:%s" % A])
        self.assertEqual(r.status, 200, r)
        names = {h[0].lower(): h[1] for h in json.loads(r.body)["headers"]}
        self.assertEqual(names.get("host"), "other.test")
        self.assertEqual(a.request_count(), 2)
        self.assertEqual(b.request_count(), 0)
        # the proxy's own connections went out marked, past the redirect
        self.assertGreater(marked_packets(), marked)

    def test_ipv6_original_destination(self):
        a6 = self.origin(host=A6, port=80)
        e6 = self.echo(host=A6)
        p = self.start(extra=["--outgoing-mark", "18515"])  # 0x4853
        r = self.curl("http://[%s]/echo" % A6, args=["-g"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(a6.request_count(), 1)
        hello = client_hello("secure.test")
        s = socket.create_connection((A6, 443), timeout=10)
        s.sendall(hello)
        s.shutdown(socket.SHUT_WR)
        data, _ = read_until_closed(s)
        self.assertEqual(data, hello)
        self.assertEqual(bytes(e6.conns[0].raw), hello)
        p.stop()
        self.assertIn("outgoing mark 0x4853", p.stderr())
        self.assertIn("intercepted TLS to [%s]:443: SNI secure.test" % A6,
                      p.stderr())

    def test_unmarked_proxy_would_loop_and_is_stopped(self):
        self.origin(host=A, port=80)
        p = self.start(extra=["--outgoing-mark", "0"])
        r = self.curl("http://%s/echo" % A)
        self.assertEqual(r.status, 508, r)
        self.assertIn(b"loop", r.body)
        p.assert_alive()

    def test_not_redirected_is_refused(self):
        p = self.start()
        r = self.curl("http://127.0.0.1:%d/" % HTTP_PORT)
        self.assertEqual(r.status, 400, r)
        self.assertIn(b"not a redirected connection", r.body)
        s = dial("127.0.0.1", TLS_PORT)  # TLS: closed at once
        s.sendall(client_hello("secure.test"))
        data, secs = read_until_closed(s)
        self.assertEqual(data, b"")
        self.assertLess(secs, SLACK)
        p.assert_alive()

    def test_allow_applies(self):
        a = self.origin(host=A, port=80)
        self.start(allow=False)  # loopback only: 10.99.0.2 is not
        r = self.curl("http://%s/echo" % A)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(a.request_count(), 0)

    # -- TLS pass-through

    def test_tls_passes_through_and_teaches_by_probe(self):
        db = self.db()
        n = 1024 * 1024
        routes = {(None, "/"): Reply(200, [(STS, "max-age=600")]),
                  (None, "/big"): Reply(200, [], body_bytes(n, 7))}
        tls = Origin(host=A, port=443, ssl_context=server_ssl_context(self.pki),
                     handler=routed_handler(routes))
        self.addCleanup(tls.close)
        self.addCleanup(release, tls)
        p = self.start(extra=["--probe", "on", "--ca-file",
                              self.pki["ca.pem"]], db=db)
        r = self.curl("https://secure.test/big",
                      args=["--resolve", "secure.test:443:%s" % A,
                            "--cacert", self.pki["ca.pem"]])
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                         body_sha256(n, 7))

        def learned():
            st, out, _, _ = run_cli(["policy", "query", "secure.test",
                                     "--json"], db)
            return st == 0 and json.loads(out)["source"] == "learned"
        wait_until(learned, LEARN_WAIT, interval=0.1,
                   what="a policy learned for secure.test")
        # the running proxy upgrades the next plain request at once
        r = self.curl("http://secure.test/",
                      args=["--resolve", "secure.test:80:%s" % A])
        self.assertEqual(r.status, 307, r)
        p.stop()
        self.assertIn("SNI secure.test", p.stderr())

    def echo(self, host=C):
        e = EchoServer(host=host, port=443)
        self.addCleanup(e.close)
        self.addCleanup(release, e)
        return e

    def test_hello_in_pieces_is_passed_on_byte_for_byte(self):
        e = self.echo()
        p = self.start()
        hello = client_hello("learn.test") + b"tail after the hello"
        s = dial(C, 443)
        for i in range(0, len(hello), 100):  # many TCP segments
            s.sendall(hello[i:i + 100])
            time.sleep(0.01)
        s.shutdown(socket.SHUT_WR)
        data, _ = read_until_closed(s)
        self.assertEqual(data, hello)
        self.assertEqual(bytes(e.conns[0].raw), hello)
        p.stop()
        self.assertIn("SNI learn.test", p.stderr())

    def test_garbage_is_passed_through_as_is(self):
        e = self.echo()
        p = self.start()
        junk = b"GET / HTTP/1.0\r\n\r\n\x00\xff"
        s = dial(C, 443)
        s.sendall(junk)
        s.shutdown(socket.SHUT_WR)
        data, _ = read_until_closed(s)
        self.assertEqual(data, junk)
        self.assertEqual(bytes(e.conns[0].raw), junk)
        p.stop()
        self.assertIn("not a TLS ClientHello, passed through unnamed",
                      p.stderr())

    def test_no_sni_is_passed_through(self):
        e = self.echo()
        p = self.start()
        hello = client_hello(None)
        s = dial(C, 443)
        s.sendall(hello)
        s.shutdown(socket.SHUT_WR)
        data, _ = read_until_closed(s)
        self.assertEqual(data, hello)
        p.stop()
        self.assertIn("no SNI, passed through unnamed", p.stderr())
        self.assertEqual(e.conn_count(), 1)

    def test_half_hello_or_nothing_is_closed_on_time(self):
        e = self.echo()
        p = self.start()
        hello = client_hello("secure.test")
        half = dial(C, 443)
        half.sendall(hello[:len(hello) // 2])
        silent = dial(C, 443)
        for s in (half, silent):
            data, secs = read_until_closed(s)
            self.assertEqual(data, b"")
            self.assertLess(secs, HELLO_TIMEOUT + SLACK)
        self.assertEqual(e.conn_count(), 0)  # refused: nothing dialled
        p.stop()
        self.assertIn("ClientHello incomplete in time: refused", p.stderr())
        self.assertIn("no ClientHello in time", p.stderr())


class Options(ProxyTestCase):

    def test_open_intercepting_listener_needs_allow(self):
        for opt in ("--intercept", "--intercept-tls"):
            st, _, err, _ = run_cli(["run", "--listen", "127.0.0.1:0", opt,
                                     "0.0.0.0:0"],
                                    os.path.join(self.tmp, "x.db"))
            self.assertEqual(st, 2, err)
            self.assertIn("hstsproxy run: %s 0.0.0.0:0: not a loopback "
                          "address" % opt, err)

    def test_explicit_mark_that_cannot_be_set_fails_start(self):
        """Without CAP_NET_ADMIN and CAP_NET_RAW, SO_MARK is refused."""
        drop = ["setpriv", "--inh-caps=-net_admin,-net_raw",
                "--bounding-set=-net_admin,-net_raw"]
        p = start_proxy(["--outgoing-mark", "0x10"], workdir=self.tmp,
                        wrapper=drop, wait=False)
        self.addCleanup(p.kill)
        p.stop(sig=None, expect_code=3)
        self.assertIn("hstsproxy run: --outgoing-mark 0x10: cannot mark",
                      p.stderr())
        # the default with interception only warns, and runs
        p = start_proxy(["--intercept", "127.0.0.1:0"], workdir=self.tmp,
                        wrapper=drop)
        self.addCleanup(p.kill)
        p.stop()
        self.assertIn("outgoing connections are not marked", p.stderr())

    def test_bad_values_are_usage_errors(self):
        for v in ("0x", "0x1g", "4294967296", "-1", "0x100000000"):
            st, _, err, _ = run_cli(["run", "--outgoing-mark", v],
                                    os.path.join(self.tmp, "x.db"))
            self.assertEqual(st, 2, (v, err))
            self.assertIn("--outgoing-mark %s" % v, err)


def main():
    if os.environ.get(INSIDE) != "1":
        env = dict(os.environ, **{INSIDE: "1"})
        try:
            subprocess.run(["unshare", "-n", "true"], check=True,
                           capture_output=True, timeout=30)
        except (subprocess.CalledProcessError, OSError) as e:
            err = getattr(e, "stderr", b"") or b""
            print("SKIP: the kernel refuses a network namespace here "
                  "(unshare -n): %s %s" % (e, err.decode("utf-8", "replace")))
            return 0
        r = subprocess.run(["unshare", "-n", sys.executable,
                            os.path.abspath(__file__)] + sys.argv[1:],
                           env=env)
        return r.returncode
    try:
        setup_network()
    except (subprocess.CalledProcessError, OSError) as e:
        err = getattr(e, "stderr", b"") or b""
        print("SKIP: the kernel refuses a private network here: %s %s"
              % (e, err.decode("utf-8", "replace")))
        return 0
    result = unittest.main(verbosity=2, exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
