"""The hop log written by `hstsproxy run` (README.md "The hop log"): an
"hsts-upgrade" hop for every internal 307 with the policy that decided,
an "upstream-redirect" hop for every 3xx with a Location an origin sent
(bootstrap and scheme_change derived), nothing lost on SIGTERM even under
load, and --log-json FILE|- lines identical to `log --json`. Read back
with `hstsproxy log --json`, as a user would."""

import json
import os
import re
import sqlite3
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

RID_RE = re.compile(r"^[0-9a-f]{16}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
EXPIRES_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UA = "hoplog-test/1.0 (upgrade)"
CLIENTS = 50
PER_CLIENT = 20
UPGRADE_MAX_MS = 1000.0  # "about 0": far below any network round trip


def parse_time(s):
    return time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) \
        - time.timezone


class HopLog(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "hops-%s.db" % self._testMethodName)
        self.o = self.origin()

    def start(self, extra=()):
        return self.proxy(U.maps(self.o.port, "manual.test", "sub.subs.test",
                                 "redir.test", "plain.test", "thing.dev")
                          + list(extra), db=self.db)

    def test_upgrade_records(self):
        U.add_policy(self.db, "manual.test")
        U.add_policy(self.db, "subs.test", subdomains=True)
        p = self.start()
        t0 = time.time()
        c = self.raw(p.port)
        sent = [("GET", "http://manual.test/a%20b?x=1", "manual.test"),
                ("POST", "http://sub.subs.test:8080/p", "sub.subs.test:8080"),
                ("HEAD", "http://thing.dev/", "thing.dev")]
        for method, url, host in sent:
            c.send(H.http_request(method, url, host, [("User-Agent", UA)],
                                  body=b"abc" if method == "POST" else None))
            self.assertEqual(c.read_response(method).status, 307)
        c.send(H.http_request("GET", "http://manual.test/v10", None,
                              version="HTTP/1.0"))
        self.assertEqual(c.read_response().status, 307)
        p.stop()
        hops = U.log_json(self.db)
        self.assertEqual(len(hops), 4, hops)
        want = [
            ("GET", "http://manual.test/a%20b?x=1",
             "https://manual.test/a%20b?x=1", "manual", "manual.test", False,
             "HTTP/1.1", UA),
            ("POST", "http://sub.subs.test:8080/p",
             "https://sub.subs.test:8080/p", "manual", "subs.test", True,
             "HTTP/1.1", UA),
            ("HEAD", "http://thing.dev/", "https://thing.dev/", "builtin",
             "dev", True, "HTTP/1.1", UA),
            ("GET", "http://manual.test/v10", "https://manual.test/v10",
             "manual", "manual.test", False, "HTTP/1.0", None),
        ]
        for h, w in zip(hops, want):
            with self.subTest(url=w[1]):
                self.assertEqual(
                    (h["method"], h["url"], h["location"], h["policy_source"],
                     h["policy_host"], h["include_subdomains"],
                     h["http_version"], h["user_agent"]), w)
                self.assertEqual(h["kind"], "hsts-upgrade")
                # The list that judged it: only for a static entry.
                self.assertEqual(h["policy_list"],
                                 "chromium-2026-06-01"
                                 if w[3] == "builtin" else None)
                self.assertEqual(h["status"], 307)
                self.assertEqual(h["reason"], "Internal Redirect")
                self.assertEqual(h["client"], "127.0.0.1")
                self.assertRegex(h["request_id"], RID_RE)
                self.assertRegex(h["time"], TIME_RE)
                self.assertLess(abs(parse_time(h["time"]) - t0), 120)
                self.assertLess(h["duration_ms"], UPGRADE_MAX_MS)
                self.assertEqual(h["scheme_change"], "up")
                self.assertIs(h["bootstrap"], False)
                self.assertIsNone(h["upstream_ip"])
                self.assertIsNone(h["error"])
                if h["policy_source"] == "manual":
                    self.assertRegex(h["expires"], EXPIRES_RE)
                else:
                    self.assertIsNone(h["expires"])
        self.assertEqual(len({h["request_id"] for h in hops}), 4)
        self.assertEqual(self.o.request_count(), 0)

    def test_upstream_redirect_records(self):
        p = self.start()
        to = "https://redir.test/"
        c = self.raw(p.port)
        c.send(H.http_request("GET", "http://redir.test/redirect?code=301&to="
                              + urllib.parse.quote(to, safe=""),
                              "redir.test", [("User-Agent", UA)]))
        r = c.read_response()
        self.assertEqual((r.status, r.headers.get("location")), (301, to))
        # a relative Location carrying an STS header (over plain HTTP: it
        # teaches nothing, but the hop records it raw)
        sts = "max-age=31536000; includeSubDomains"
        q = urllib.parse.urlencode([("status", "302"),
                                    ("h", "Location: /elsewhere?a=1"),
                                    ("h", "Strict-Transport-Security: "
                                     + sts)])
        c.send(H.http_request("GET", "http://plain.test/headers?" + q,
                              "plain.test"))
        self.assertEqual(c.read_response().status, 302)
        # not a redirect: no hop
        c.send(H.http_request("GET", "http://plain.test/echo", "plain.test"))
        self.assertEqual(c.read_response().status, 200)
        p.stop()
        hops = U.log_json(self.db)
        self.assertEqual(len(hops), 2, hops)
        a, b = hops
        self.assertEqual(
            (a["kind"], a["status"], a["reason"], a["location"],
             a["scheme_change"], a["bootstrap"], a["same_host"],
             a["upstream_ip"], a["sts_header"], a["user_agent"]),
            ("upstream-redirect", 301, "Moved Permanently", to, "up", True,
             True, "127.0.0.1", None, UA))
        self.assertEqual(
            (b["kind"], b["status"], b["location"], b["scheme_change"],
             b["bootstrap"], b["sts_header"]),
            ("upstream-redirect", 302, "http://plain.test/elsewhere?a=1",
             "none", False, sts))
        for h in hops:
            self.assertIsNone(h["policy_source"])
            self.assertGreaterEqual(h["duration_ms"], 0)
            self.assertRegex(h["request_id"], RID_RE)

    def test_sigterm_loses_none(self):
        U.add_policy(self.db, "subs.test", subdomains=True)
        p = self.start(["--workers", "4"])
        errors = []
        start = threading.Barrier(CLIENTS)

        def client(i):
            try:
                with H.RawClient(p.port) as c:
                    start.wait(30)
                    for j in range(PER_CLIENT):
                        host = "c%d.subs.test" % i
                        c.send(H.http_request("GET", "http://%s/%d" % (host, j),
                                              host))
                        if c.read_response().status != 307:
                            errors.append((i, j))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        p.stop()  # SIGTERM right after the last answer
        hops = U.log_json(self.db, "--kind", "hsts-upgrade")
        self.assertEqual(len(hops), CLIENTS * PER_CLIENT)
        self.assertEqual(len({h["request_id"] for h in hops}),
                         CLIENTS * PER_CLIENT)
        self.assertEqual({h["url"] for h in hops},
                         {"http://c%d.subs.test/%d" % (i, j)
                          for i in range(CLIENTS) for j in range(PER_CLIENT)})
        self.assertEqual(self.o.request_count(), 0)

    def run_for_json(self, dest):
        U.add_policy(self.db, "manual.test")
        p = self.start(["--log-json", dest])
        c = self.raw(p.port)
        for i in range(5):
            c.send(H.http_request("GET", "http://manual.test/%d" % i,
                                  "manual.test"))
            self.assertEqual(c.read_response().status, 307)
        c.send(H.http_request("GET", "http://redir.test/redirect?code=302&to="
                              "https%3A%2F%2Fredir.test%2F", "redir.test"))
        self.assertEqual(c.read_response().status, 302)
        p.stop()
        return p

    def check_same(self, lines):
        stored = U.log_json_lines(self.db)
        self.assertEqual(len(stored), 6)
        self.assertEqual([json.loads(l) for l in lines],
                         [json.loads(l) for l in stored])
        self.assertEqual(lines, stored)

    def test_log_json_file(self):
        path = os.path.join(self.tmp, "hops.jsonl")
        self.run_for_json(path)
        with open(path) as f:
            self.check_same([l.rstrip("\n") for l in f if l.strip()])

    def test_log_json_stdout(self):
        p = self.run_for_json("-")
        with open(p.stdout_path) as f:
            self.check_same([l.rstrip("\n") for l in f if l.strip()])

    def test_traffic_counts_and_status_page(self):
        """Traffic records reach the per-host counters (read straight from
        the store: no command shows them yet), and the status page shows
        the writer's counters."""
        U.add_policy(self.db, "manual.test")
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        p = self.start(["--connect-ports", str(echo.port)])
        c = self.raw(p.port)
        for i in range(3):
            c.send(H.http_request("GET", "http://manual.test/%d" % i,
                                  "manual.test"))
            self.assertEqual(c.read_response().status, 307)
        c.send(H.http_request("GET", "http://plain.test/echo", "plain.test"))
        self.assertEqual(c.read_response().status, 200)
        t = self.raw(p.port)
        t.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
               % (echo.port, echo.port))
        self.assertEqual(t.read_response("CONNECT").status, 200)
        t.close()
        # a CONNECT to a port not in --connect-ports counts too
        t = self.raw(p.port)
        t.send("CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n")
        self.assertEqual(t.read_response("CONNECT").status, 403)

        def page():
            s = self.raw(p.port)
            s.send(H.http_request("GET", "/", "127.0.0.1:%d" % p.port))
            return s.read_response().body.decode()
        H.wait_until(lambda: re.search(r"hop records written</th><td>[1-9]",
                                       page()), 10, what="records written")
        body = page()
        self.assertIn("<th>internal upgrades</th><td>3</td>", body)
        self.assertIn("<th>hop records dropped</th><td>0</td>", body)
        # manual.test's policy is manual: counted apart from learned ones
        self.assertIn("<th>learned policies</th><td>0</td>", body)
        self.assertIn("<th>manual policies</th><td>1</td>", body)
        p.stop()
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        rows = dict((h, (n, u, k)) for h, n, u, k in con.execute(
            "SELECT host, http_requests, upgrades, connects FROM host_traffic"))
        self.assertEqual(rows.get("manual.test"), (3, 3, 0))
        self.assertEqual(rows.get("plain.test"), (1, 0, 0))
        self.assertEqual(rows.get("127.0.0.1"), (0, 0, 2))
        ports = sorted(con.execute("SELECT host, port, count FROM "
                                   "host_connect_port"))
        self.assertEqual(ports, sorted([("127.0.0.1", echo.port, 1),
                                        ("127.0.0.1", 25, 1)]))


if __name__ == "__main__":
    H.main()
