"""`hstsproxy audit` after a scripted traffic mix through a running proxy.

Local origins stand for each kind of host (README.md "The audit"): a plain
origin answers plain HTTP (/echo, /redirect to https), a TLS origin with
a test CA answers `hstsproxy probe` with a Strict-Transport-Security
header chosen by host, and an echo server is the far end of a CONNECT.
The store gets a text preload list (`preload import`), a manual policy
(`policy add`) and learned policies (`probe`, as the proxy's prober
would), then the proxy carries the mix and stops (SIGTERM flushes the
log). The audit must put each host in its category with the counts the
mix produced, in JSON, text, CSV and HTML.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
import audit_util as A  # noqa: E402
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

TODAY = time.strftime("%Y-%m-%d", time.gmtime())
STS = {
    "strong.test": "max-age=31536000; includeSubDomains; preload",
    "weak.test": "max-age=86400",
    "invalid.test": "max-age=1y",
}
PROBED = ("strong.test", "weak.test", "invalid.test")
PLAIN_HOSTS = ("preloaded.test", "manual.test", "strong.test", "weak.test",
               "invalid.test", "redir.test", "plain.test")

# host: (category, http_requests, clear_text, upgrades, upstream_redirects,
#        connects)
EXPECTED = {
    "preloaded.test": ("preloaded", 2, 0, 2, 0, 0),
    "manual.test": ("hsts", 2, 0, 2, 0, 0),
    "strong.test": ("hsts", 1, 0, 1, 0, 0),
    "weak.test": ("weak-hsts", 1, 0, 1, 0, 0),
    "invalid.test": ("invalid-hsts", 1, 1, 0, 0, 0),
    "redir.test": ("redirect-no-hsts", 2, 2, 0, 2, 0),
    "plain.test": ("http-only", 3, 3, 0, 0, 0),
    "tunnel.test": ("https-unprobed", 0, 0, 0, 0, 1),
}


def sts_handler(origin, sock, bs, req, rec):
    """The TLS origin: 200 with the host's STS header (none for others)."""
    host = (req.headers.get("host") or "").split(":")[0]
    headers = [("Content-Type", "text/plain")]
    if host in STS:
        headers.append(("Strict-Transport-Security", STS[host]))
    return origin.send_response(sock, req, rec, 200, headers, b"ok\n")


class AuditTraffic(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = os.path.join(cls.tmp, "store.db")
        cls.pki = H.make_pki(os.path.join(cls.tmp, "pki"), names=PROBED)
        cls.tls = cls.class_origin(ssl_context=H.server_ssl_context(cls.pki),
                                   handler=sts_handler)
        cls.plain = cls.class_origin()
        cls.echo = H.EchoServer()
        cls.addClassCleanup(cls.echo.close)
        U.import_text_list(cls.db, os.path.join(cls.tmp, "list.txt"),
                           [("preloaded.test", False)])
        U.add_policy(cls.db, "manual.test")
        for host in PROBED:
            U.cli(cls.db, "probe", host, "--map",
                  "%s=127.0.0.1:%d" % (host, cls.tls.port), "--ca-file",
                  cls.pki["ca.pem"])
        cls.run_mix()

    @classmethod
    def run_mix(cls):
        args = U.maps(cls.plain.port, *PLAIN_HOSTS)
        args += ["--map", "tunnel.test=127.0.0.1:%d" % cls.echo.port,
                 "--connect-ports", "443,%d" % cls.echo.port]
        p = H.start_proxy(args, workdir=cls.tmp, db=cls.db)
        try:
            with H.RawClient(p.port) as c:
                cls.mix(c)
            with H.RawClient(p.port) as c:
                c.send(b"CONNECT tunnel.test:%d HTTP/1.1\r\nHost: "
                       b"tunnel.test:%d\r\n\r\n" % (cls.echo.port,
                                                    cls.echo.port))
                assert c.read_response("CONNECT").status == 200
                c.send(b"ping")
                assert c.bs.read_exact(4) == b"ping"
        finally:
            p.stop()

    @classmethod
    def mix(cls, c):
        def get(url, want):
            host = urllib.parse.urlsplit(url).hostname
            c.send(H.http_request("GET", url, host))
            status = c.read_response().status
            assert status == want, (url, status)
        to = urllib.parse.quote("https://redir.test/", safe="")
        for _ in range(2):
            get("http://preloaded.test/", 307)
            get("http://manual.test/a", 307)
            get("http://redir.test/redirect?code=301&to=" + to, 301)
        get("http://strong.test/", 307)
        get("http://weak.test/", 307)
        get("http://invalid.test/echo", 200)
        for i in range(3):
            get("http://plain.test/echo?%d" % i, 200)

    def audit(self, *args):
        """The audit's stdout, bytes decoded as they are (CRLF kept)."""
        r = subprocess.run([H.proxy_bin(), "--db", self.db, "audit"]
                           + list(args), capture_output=True,
                           env=H.clean_env(), timeout=U.CLI_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        for marker in H.SANITIZER_MARKERS:
            self.assertNotIn(marker.encode(), r.stderr)
        return r.stdout.decode("utf-8")

    def test_json_categories_and_counts(self):
        doc = json.loads(self.audit("--json"))
        hosts = {h["host"]: h for h in doc["hosts"]}
        self.assertEqual(set(hosts), set(EXPECTED))
        for name, want in EXPECTED.items():
            h = hosts[name]
            with self.subTest(host=name):
                self.assertEqual((h["category"], h["http_requests"],
                                  h["clear_text"], h["upgrades"],
                                  h["upstream_redirects"], h["connects"]),
                                 want)
        self.assertEqual(hosts["strong.test"]["policy"]["source"], "learned")
        self.assertEqual(hosts["manual.test"]["policy"]["source"], "manual")
        self.assertEqual(hosts["preloaded.test"]["policy"]["source"],
                         "preload")
        self.assertEqual(hosts["invalid.test"]["header"]["value"],
                         STS["invalid.test"])
        self.assertEqual(hosts["redir.test"]["first_redirect"]["verdict"],
                         "secure")
        self.assertIn("redirects.http.no_redirect",
                      {p["code"] for p in hosts["plain.test"]["problems"]})
        t = doc["totals"]
        self.assertEqual(t["categories"],
                         {c: sum(1 for w in EXPECTED.values() if w[0] == c)
                          for c in A.CATEGORIES})
        self.assertEqual((t["http_requests"], t["upgraded"],
                          t["clear_text"]), (12, 6, 6))
        p = doc["provenance"]
        self.assertEqual((p["preload_list"]["name"],
                          p["preload_list"]["entries"]),
                         ("text-" + TODAY, 1))
        self.assertEqual(p["hop_records"]["dropped"], 0)
        self.assertEqual(p["hop_records"]["writer_runs"], 1)
        self.assertGreater(p["hop_records"]["written"], 0)
        self.assertEqual(p["probes"]["hosts_probed"], 3)
        self.assertEqual(len(doc["trend"]), 1)
        self.assertEqual((doc["trend"][0]["upgraded"],
                          doc["trend"][0]["clear_text"]), (6, 6))

    def test_day_counters_add_up_to_the_totals(self):
        """The writer counts each host per UTC day (host_traffic_day) in
        the transaction that adds to its totals (host_traffic)."""
        db = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            cols = ("http_requests, upgrades, upstream_redirects,"
                    " redirects_to_https, connects")
            totals = db.execute("SELECT host, first_seen / %d,"
                                " last_seen / %d, %s FROM host_traffic"
                                " ORDER BY host" % (A.DAY_MS, A.DAY_MS,
                                                   cols)).fetchall()
            days = db.execute(
                "SELECT host, min(day), max(day), %s FROM (SELECT host, day,"
                " %s FROM host_traffic_day) GROUP BY host ORDER BY host"
                % (", ".join("sum(%s)" % c for c in cols.split(", ")),
                   cols)).fetchall()
        finally:
            db.close()
        self.assertEqual(days, totals)
        self.assertEqual({t[0]: (t[3], t[7]) for t in totals},
                         {h: (w[1], w[5]) for h, w in EXPECTED.items()})

    def test_text(self):
        out = self.audit()
        lines = out.splitlines()
        self.assertEqual(lines[0], "hstsproxy audit")
        self.assertTrue(lines[2].startswith("window "))
        for line in lines:
            self.assertLessEqual(len(line), 100, line)
        for name, want in EXPECTED.items():
            self.assertRegex(out, r"(?m)^  (red|yellow|green) +%s +%s "
                             % (want[0], name.replace(".", r"\.")))

    def test_csv(self):
        header, rows = A.parse_csv(self.audit("--format", "csv"))
        self.assertIn("category", header)
        self.assertEqual({r["host"]: (r["category"], int(r["http_requests"]),
                                      int(r["clear_text"]),
                                      int(r["upgrades"]),
                                      int(r["upstream_redirects"]),
                                      int(r["connects"])) for r in rows},
                         EXPECTED)

    def test_html(self):
        path = os.path.join(self.tmp, "audit.html")
        self.assertEqual(self.audit("--format", "html", "--output", path), "")
        with open(path, encoding="utf-8") as f:
            page = A.check_html(self, f.read())
        text = " ".join(page.text)
        for name in EXPECTED:
            self.assertIn(name, text)


if __name__ == "__main__":
    H.main()
