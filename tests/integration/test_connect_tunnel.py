"""CONNECT tunnels and WebSocket upgrades: curl reaches a local TLS origin
(test CA, secure.test) through the proxy with --map; the proxy answers
"200 Connection established" and then relays bytes untouched, including
bytes sent right after the CONNECT head and a half-close; CONNECT to a
port outside --connect-ports is 403 without touching the target, to a
refused port 502; a WebSocket upgrade is passed through and echoes."""

import base64
import json
import os
import sys
import threading

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
WS_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class ConnectTunnel(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = H.make_pki(os.path.join(cls.tmp, "pki"))
        cls.tls = cls.class_origin(ssl_context=H.server_ssl_context(cls.pki))
        cls.echo = H.EchoServer()
        cls.addClassCleanup(cls.echo.close)
        cls.plain = cls.class_origin()
        cls.refused_sock, cls.refused = H.refused_port()
        cls.addClassCleanup(cls.refused_sock.close)
        cls.p = cls.class_proxy([
            "--map", "secure.test:443=127.0.0.1:%d" % cls.tls.port,
            "--connect-ports", "443,%d,%d" % (cls.echo.port, cls.refused)])

    def setUp(self):
        self.p.assert_alive()

    def tearDown(self):
        self.p.assert_alive()

    def connect(self, authority, extra=b""):
        c = self.raw(self.p.port, timeout=15)
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                % (authority, authority)).encode() + extra)
        return c, c.read_response("CONNECT")

    def test_curl_https_through_tunnel(self):
        r = self.curl("https://secure.test/echo?tls", proxy=self.p.port,
                      args=["--cacert", self.pki["ca.pem"]])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.info[0]["http_connect"], 200, r.info)
        self.assertEqual(len(r.blocks), 2, r.blocks)
        self.assertRegex(r.blocks[0][0], r"^HTTP/1\.[01] 200")
        doc = json.loads(r.body)
        self.assertEqual(doc["target"], "/echo?tls")
        # end to end: the origin got the client's request untouched
        got = [q for q in self.tls.requests if q.target == "/echo?tls"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].headers.get_all("host"), ["secure.test"])
        self.assertNotIn("via", got[0].headers.names())

    def test_curl_https_upload(self):
        path = os.path.join(self.tmp, "up.bin")
        digest = H.write_body_file(path, 10 * H.MB, 40)
        r = self.curl("https://secure.test/echo?up", proxy=self.p.port,
                      args=["--cacert", self.pki["ca.pem"],
                            "--data-binary", "@" + path])
        self.assertEqual(r.rc, 0, r)
        doc = json.loads(r.body)
        self.assertEqual((doc["body_len"], doc["body_sha256"]),
                         (10 * H.MB, digest))

    def test_curl_https_tunnel_reused(self):
        r = self.curl(["https://secure.test/bytes?n=3000000&seed=41",
                       "https://secure.test/echo?second"],
                      proxy=self.p.port,
                      args=["--cacert", self.pki["ca.pem"]])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(H.sha256(r.bodies[0]),
                         H.body_sha256(3000000, 41))
        self.assertEqual(json.loads(r.bodies[1])["target"], "/echo?second")
        self.assertEqual(sum(i["num_connects"] for i in r.info), 1)

    def test_raw_connect_then_tls(self):
        c, r = self.connect("secure.test:443")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.reason, "Connection established")
        ctx = H.client_ssl_context(self.pki)
        s = ctx.wrap_socket(c.sock, server_hostname="secure.test")
        s.sendall(H.http_request("GET", "/bytes?n=100000&seed=42",
                                 "secure.test", [("Connection", "close")]))
        bs = H.BufferedSocket(s)
        head = bs.read_head()
        self.assertRegex(head, rb"^HTTP/1\.1 200 ")
        self.assertEqual(bs.read_exact(100000), H.body_bytes(100000, 42))
        s.close()

    def test_bytes_sent_with_the_connect_head(self):
        c, r = self.connect("127.0.0.1:%d" % self.echo.port,
                            extra=b"early-bytes")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(c.bs.read_exact(11), b"early-bytes")

    def test_tunnel_half_close_and_volume(self):
        c, r = self.connect("127.0.0.1:%d" % self.echo.port)
        self.assertEqual(r.status, 200, r)
        data = H.body_bytes(4 * H.MB, 43)
        back = c.send_and_read_back(data)
        self.assertEqual(len(back), len(data))
        self.assertEqual(H.sha256(back), H.sha256(data))

    def test_forbidden_port_403(self):
        fresh = self.origin()
        for target in ["127.0.0.1:%d" % fresh.port, "127.0.0.1:25",
                       "secure.test:8443"]:
            with self.subTest(target=target):
                c, r = self.connect(target)
                self.assertEqual(r.status, 403, r)
                self.assertTrue(r.headers.get("content-type", "")
                                .startswith("text/plain"), r)
        self.assertEqual(fresh.conn_count(), 0)
        r = self.curl("https://127.0.0.1:%d/" % fresh.port,
                      proxy=self.p.port,
                      args=["--cacert", self.pki["ca.pem"]])
        self.assertNotEqual(r.rc, 0)
        self.assertEqual(r.info[0]["http_connect"], 403, r)
        self.assertEqual(fresh.conn_count(), 0)

    def test_connect_refused_502(self):
        c, r = self.connect("127.0.0.1:%d" % self.refused)
        self.assertEqual(r.status, 502, r)

    def test_connect_without_port_400(self):
        c, r = self.connect("secure.test")
        self.assertEqual(r.status, 400, r)

    def test_websocket_upgrade(self):
        o = self.plain
        c = self.raw(self.p.port, timeout=15)
        c.send(H.http_request("GET", o.url("/ws?chat"), o.authority, [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13"),
            ("Origin", "http://example.test")]))
        r = c.read_response(skip_interim=False)
        self.assertEqual(r.status, 101, r)
        self.assertEqual(r.headers.tokens("upgrade"), ["websocket"])
        self.assertIn("upgrade", r.headers.tokens("connection"))
        self.assertEqual(r.headers.get("sec-websocket-accept"), WS_ACCEPT)
        got = o.requests[-1].headers
        self.assertEqual(got.tokens("upgrade"), ["websocket"])
        self.assertIn("upgrade", got.tokens("connection"))
        self.assertEqual(got.get("sec-websocket-key"), WS_KEY)
        self.assertEqual(got.get("sec-websocket-version"), "13")
        # a masked text frame, then bulk bytes: all echoed untouched
        frame = bytes([0x81, 0x85, 1, 2, 3, 4]) + bytes(
            b ^ (1, 2, 3, 4)[i % 4] for i, b in enumerate(b"hello"))
        c.send(frame)
        self.assertEqual(c.bs.read_exact(len(frame)), frame)
        bulk = base64.b64encode(H.body_bytes(300000, 44))
        c.send(bulk)
        self.assertEqual(c.bs.read_exact(len(bulk)), bulk)
        c.shutdown_write()
        self.assertTrue(c.closed_by_peer(10))


    def ws_request(self, o, path):
        return H.http_request("GET", o.url(path), o.authority, [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WS_KEY), ("Sec-WebSocket-Version", "13")])

    def test_websocket_server_speaks_first(self):
        """Bytes the origin sends in the same write as its 101 reach the
        client right after the 101 head."""
        c = self.raw(self.p.port, timeout=15)
        c.send(self.ws_request(self.plain, "/ws?greet=SERVER-FIRST"))
        r = c.read_response(skip_interim=False)
        self.assertEqual(r.status, 101, r)
        self.assertEqual(c.bs.read_exact(12), b"SERVER-FIRST")

    def test_websocket_client_speaks_first(self):
        """Bytes the client sends right behind the upgrade request (before
        the 101) are relayed once the tunnel is up."""
        c = self.raw(self.p.port, timeout=15)
        c.send(self.ws_request(self.plain, "/ws?early") + b"CLIENT-FIRST")
        r = c.read_response(skip_interim=False)
        self.assertEqual(r.status, 101, r)
        self.assertEqual(c.bs.read_exact(12), b"CLIENT-FIRST")

    def test_websocket_upgrade_refused_stays_http(self):
        """An origin that answers an upgrade request with a plain 200: the
        connection stays HTTP and carries the next request."""
        c = self.raw(self.p.port, timeout=15)
        c.send(self.ws_request(self.plain, "/echo?no-upgrade"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        c.send(H.http_request("GET", self.plain.url("/echo?next"),
                              self.plain.authority))
        r = c.read_response()
        self.assertEqual(json.loads(r.body)["target"], "/echo?next")

    def test_connect_ipv6_literal(self):
        if not H.ipv6_available():
            self.skipTest("no IPv6 loopback")
        echo6 = H.EchoServer(host="::1")
        self.addCleanup(echo6.close)
        p = self.proxy(["--connect-ports", str(echo6.port)])
        c = self.raw(p.port, timeout=15)
        c.send("CONNECT [::1]:%d HTTP/1.1\r\nHost: [::1]:%d\r\n\r\n"
               % (echo6.port, echo6.port))
        self.assertEqual(c.read_response("CONNECT").status, 200)
        c.send(b"ping6")
        self.assertEqual(c.bs.read_exact(5), b"ping6")
        c.close()
        p.stop()

    def test_parallel_tunnels(self):
        errors = []

        def one(i):
            try:
                with H.RawClient(self.p.port, timeout=30) as c:
                    c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n"
                           "\r\n" % self.echo.port)
                    r = c.read_response("CONNECT")
                    if r.status != 200:
                        errors.append((i, r.status))
                        return
                    data = H.body_bytes(100000 + i, 300 + i)
                    c.send(data)
                    if c.bs.read_exact(len(data)) != data:
                        errors.append((i, "echo differs"))
            except Exception as e:  # collected, asserted below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=one, args=(i,))
                   for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])


if __name__ == "__main__":
    H.main()
