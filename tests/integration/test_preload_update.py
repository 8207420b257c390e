"""test_preload_update.py - `hstsproxy preload update` over verified HTTPS.

A local HTTPS mirror (harness.Origin with the test CA's leaf, whose SANs
include IP:127.0.0.1, so the URL needs no name resolution) serves small
Chromium lists base64-encoded (as gitiles' ?format=TEXT does) or raw,
framed by Content-Length, chunked, or the connection's end. Failures
(HTTP status, TLS, network, a bad list) must leave the store unchanged:
checked by comparing `preload stats --json` before and after.
"""

import base64
import json
import os
import pty
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import chromium_2016, chromium_counts  # noqa: E402
from harness import (Origin, ProxyTestCase, clean_env, make_pki,  # noqa
                     proxy_bin, refused_port, server_ssl_context)
from tls_util import Reply, run_cli, tls_origin  # noqa: E402

SMALL = b"""// A small list in Chromium's format, with its comment lines.
{
  "pinsets": [],
  "entries": [
    // comment inside
    { "name": "a.test", "policy": "test", "mode": "force-https",
      "include_subdomains": true },
    { "name": "B.test", "policy": "test", "mode": "force-https" },
    { "name": "pins.test", "policy": "test", "pins": "x" }
  ]
}
"""
SMALL_COUNTS = (3, 1)  # hosts, with subdomains
TEXT_PATH = "/list"


class PreloadUpdate(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = make_pki(os.path.join(cls.tmp, "pki"),
                           names=("mirror.test",), ips=("127.0.0.1",))

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self.id().split(".")[-1])
        self.routes = {}
        self.o = tls_origin(self, self.pki, self.routes)

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.o.port, path)

    def update(self, path, expect=0, ca=True, extra=()):
        url = self.url(path)
        # --force: these small lists would be refused against the built-in
        # list's 94,599 entries (test_guard below).
        args = ["preload", "update", "--force", "--url", url] + list(extra)
        if ca:
            args += ["--ca-file", self.pki["ca.pem"]]
        status, out, err, _ = run_cli(args, self.db)
        self.assertEqual(status, expect, (out, err))
        if expect == 0:
            self.assertEqual(err, "")  # no progress: stderr is not a TTY
        else:
            self.assertEqual(out, "")
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertTrue(err.startswith("hstsproxy preload update: "),
                            err)
        return url, out, err

    def stats(self):
        status, out, err, _ = run_cli(["preload", "stats", "--json"],
                                      self.db)
        self.assertEqual(status, 0, err)
        return json.loads(out)

    def assert_imported(self, out, url, hosts, subs):
        self.assertRegex(out.splitlines()[0],
                         r"^imported %d hosts \(\d+ force-https, %d with "
                         r"subdomains\) from %s$"
                         % (hosts, subs, re.escape(url)))
        st = self.stats()
        self.assertEqual((st["source"], st["entries"],
                          st["include_subdomains"], st["list"]),
                         (url, hosts, subs, "chromium-" + st["list_date"]))

    def prepared_store(self):
        """A store with SMALL imported from a raw mirror: the baseline that
        failed updates must leave as it is."""
        self.routes[(None, "/base.json")] = Reply(200, [], SMALL)
        self.update("/base.json")
        return self.stats()

    # -- successes

    def test_base64_mirror(self):
        self.routes[(None, TEXT_PATH)] = Reply(
            200, [("Content-Type", "text/plain")], base64.b64encode(SMALL))
        url, out, _ = self.update(TEXT_PATH + "?format=TEXT")
        self.assert_imported(out, url, *SMALL_COUNTS)
        self.assertEqual(self.o.requests[0].target, "/list?format=TEXT")
        self.assertEqual(self.o.requests[0].headers.get("host"),
                         "127.0.0.1:%d" % self.o.port)
        status, out, _, _ = run_cli(["policy", "query", "x.a.test",
                                     "--json"], self.db)
        self.assertEqual((status, json.loads(out)["source"]), (0, "preload"))

    def test_raw_json_each_framing(self):
        cases = [
            ("cl", False),
            ("chunked", False),
            ("close", True),  # close-delimited, ended by close_notify
            (None, None),     # sentinel
        ]
        for mode, notify in cases:
            if mode is None:
                break
            with self.subTest(mode=mode):
                self.routes[(None, "/raw.json")] = Reply(
                    200, [], SMALL, mode=mode, close_notify=notify)
                url, out, _ = self.update("/raw.json")
                self.assert_imported(out, url, *SMALL_COUNTS)

    def test_real_2016_list_base64_with_line_breaks(self):
        with open(chromium_2016(), "rb") as f:
            data = f.read()
        want = chromium_counts(chromium_2016())
        self.routes[(None, TEXT_PATH)] = Reply(
            200, [], base64.encodebytes(data), mode="chunked")
        url, out, _ = self.update(TEXT_PATH + "?format=TEXT")
        self.assert_imported(out, url, want["entries"],
                             want["include_subdomains"])
        st = self.stats()
        self.assertEqual((st["bytes"], st["duplicates"]),
                         (len(data), want["duplicates"]))

    def test_json_output(self):
        self.routes[(None, TEXT_PATH)] = Reply(200, [],
                                               base64.b64encode(SMALL))
        status, out, err, _ = run_cli(
            ["preload", "update", "--force", "--url", self.url(TEXT_PATH),
             "--ca-file", self.pki["ca.pem"], "--json"], self.db)
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), self.stats())

    def test_progress_on_a_terminal_only(self):
        self.routes[(None, TEXT_PATH)] = Reply(200, [],
                                               base64.b64encode(SMALL))
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        argv = [proxy_bin(), "--db", self.db, "preload", "update", "--force",
                "--url", self.url(TEXT_PATH), "--ca-file", self.pki["ca.pem"]]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave,
                           stdin=subprocess.DEVNULL, env=clean_env(),
                           timeout=60)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        self.assertEqual(p.returncode, 0, seen)
        total = len(base64.b64encode(SMALL))
        self.assertIn(b"downloading:", seen)
        self.assertIn(b"(100%)", seen)
        self.assertIn(b"/ %d KiB" % round(total / 1024), seen)

    # -- failures leave the store unchanged, exit 3

    def test_http_404(self):
        before = self.prepared_store()
        _, _, err = self.update("/missing?format=TEXT", expect=3)
        self.assertIn("HTTP 404 Not Found (expected 200)", err)
        self.assertEqual(self.stats(), before)

    def test_redirect_not_followed(self):
        before = self.prepared_store()
        self.routes[(None, "/moved")] = Reply(
            302, [("Location", "https://127.0.0.1:1/list")], b"moved")
        _, _, err = self.update("/moved", expect=3)
        self.assertIn("HTTP 302 Found to https://127.0.0.1:1/list: "
                      "redirects are not followed", err)
        self.assertEqual(len(self.o.requests), 2)  # base, moved: no third
        self.assertEqual(self.stats(), before)

    def test_untrusted_certificate(self):
        before = self.prepared_store()
        self.routes[(None, TEXT_PATH)] = Reply(200, [],
                                               base64.b64encode(SMALL))
        _, _, err = self.update(TEXT_PATH, expect=3, ca=False)
        self.assertIn("127.0.0.1:%d: certificate verification failed: "
                      "unable to get local issuer certificate" % self.o.port,
                      err)
        self.assertEqual(self.stats(), before)

    def test_certificate_without_the_ip(self):
        pki = make_pki(os.path.join(self.tmp, "noip"), names=("mirror.test",),
                       ips=())
        routes = {(None, TEXT_PATH): Reply(200, [], SMALL)}
        o = tls_origin(self, pki, routes)
        status, out, err, _ = run_cli(
            ["preload", "update", "--url", "https://127.0.0.1:%d/list"
             % o.port, "--ca-file", pki["ca.pem"]], self.db)
        self.assertEqual(status, 3, out)
        self.assertIn("certificate verification failed: IP address mismatch",
                      err)

    def test_connection_refused(self):
        before = self.prepared_store()
        sock, port = refused_port()
        self.addCleanup(sock.close)
        status, out, err, _ = run_cli(
            ["preload", "update", "--url", "https://127.0.0.1:%d/list" % port,
             "--ca-file", self.pki["ca.pem"]], self.db)
        self.assertEqual((status, out), (3, ""), err)
        self.assertEqual(err, "hstsproxy preload update: 127.0.0.1:%d: "
                         "cannot connect: connection refused\n" % port)
        self.assertEqual(self.stats(), before)

    def test_truncated_bodies(self):
        before = self.prepared_store()
        cases = [
            # close-delimited without close_notify: maybe truncated
            (Reply(200, [], SMALL, mode="close"), "may be truncated"),
            (None, None),  # sentinel
        ]
        for reply, text in cases:
            if reply is None:
                break
            with self.subTest(text=text):
                self.routes[(None, "/t")] = reply
                _, _, err = self.update("/t", expect=3)
                self.assertIn(text, err)
                self.assertEqual(self.stats(), before)

    def test_guard(self):
        """Without --force, a list of fewer than half the active entries
        (here the built-in list's) is refused and nothing changes."""
        self.routes[(None, "/small.json")] = Reply(200, [], SMALL)
        args = ["preload", "update", "--url", self.url("/small.json"),
                "--ca-file", self.pki["ca.pem"]]
        before = self.stats()
        status, out, err, _ = run_cli(args, self.db)
        self.assertEqual(status, 3, (out, err))
        self.assertIn("fewer than half the 94599 of the active list: "
                      "refused", err)
        self.assertEqual(self.stats(), before)

    def test_malformed_list(self):
        before = self.prepared_store()
        self.routes[(None, "/bad.json")] = Reply(
            200, [], b'{"entries": [{"name": "a.b", "mode": 7}]}')
        _, _, err = self.update("/bad.json", expect=3)
        self.assertIn("entry 1 \"a.b\"", err)
        self.assertEqual(self.stats(), before)

    def test_oversized_content_length(self):
        before = self.prepared_store()

        def huge(origin, sock, bs, req, rec):
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n"
                         b"\r\nabc")
            return False
        o = Origin(ssl_context=server_ssl_context(self.pki), handler=huge)
        self.addCleanup(o.close)
        status, out, err, _ = run_cli(
            ["preload", "update", "--url", "https://127.0.0.1:%d/x" % o.port,
             "--ca-file", self.pki["ca.pem"]], self.db)
        self.assertEqual(status, 3, out)
        self.assertIn("Content-Length 104857600 is over the limit", err)
        self.assertEqual(self.stats(), before)

    def test_usage(self):
        cases = [
            (["--url", "http://127.0.0.1/list"], "only https://"),
            (["--url", "https://user@127.0.0.1/list"], "user name"),
            (["--url", "not a url"], "not a valid absolute URL"),
            (["extra"], 'unexpected operand "extra"'),
            (["--bogus"], "unknown option --bogus"),
            (None, None),  # sentinel
        ]
        for args, text in cases:
            if args is None:
                break
            with self.subTest(args=args):
                status, out, err, _ = run_cli(["preload", "update"] + args,
                                              self.db)
                self.assertEqual(status, 2, (out, err))
                self.assertIn(text, err)
        self.assertEqual(self.o.conn_count(), 0)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    unittest.main(verbosity=2)
