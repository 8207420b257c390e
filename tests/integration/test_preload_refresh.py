"""test_preload_refresh.py - the preload list refreshes itself in `run`.

A local HTTPS mirror (the test CA's leaf carries IP:127.0.0.1, so the URL
needs no name resolution) serves the 2026 Chromium snapshot, then a copy
with one more host: the running proxy answers 307 for that host within
seconds, with no signal. A truncated list (fewer than half the entries) is
refused and the list before stays; an unreachable mirror changes nothing
and is retried. With no network at all, a fresh store already upgrades
paypal.com (the built-in list), and says the list is stale on its start
line and status page. No test reaches the internet or DNS: the
proxy answers the 307 itself, other hosts are --map'ped to a local origin.
"""

import datetime
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402
from parent_util import TunnelParent  # noqa: E402
from tls_util import Reply, run_cli, tls_origin  # noqa: E402

NEW_HOST = "newly-added.test"
REFRESH_TIMEOUT = 20.0
CHANGED_RE = re.compile(r"^hstsproxy: preload refresh: now (\S+) \((\d+) "
                        r"hosts")
FAILED_RE = re.compile(r"^hstsproxy: preload refresh: (.+); keeping the "
                       r"list loaded before, retrying in \d+ s$")


def snapshot_2026():
    with open(os.path.join(U.shared_data(),
                           "chromium-preload-2026-06-01.json"), "rb") as f:
        return f.read()


def with_new_host(data):
    return data.replace(b'"entries": [\n', b'"entries": [\n    { "name": "'
                        + NEW_HOST.encode() + b'", "mode": "force-https" },\n',
                        1)


def truncated(data, entries):
    """The list cut after `entries` entries, still well-formed: what a
    mirror serving half a file would give."""
    head, rest = data.split(b'"entries": [\n', 1)
    lines = rest.split(b"\n")[:entries]
    lines[-1] = lines[-1].rstrip(b",")
    return head + b'"entries": [\n' + b"\n".join(lines) + b"\n  ]\n}\n"


class Refresh(H.ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = H.make_pki(os.path.join(cls.tmp, "pki"),
                             names=("mirror.test",), ips=("127.0.0.1",))

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self._testMethodName)
        self.routes = {}
        self.mirror = tls_origin(self, self.pki, self.routes)
        self.o = self.origin()

    def start(self, url):
        return self.proxy(["--preload-refresh", "1s", "--preload-url", url,
                           "--ca-file", self.pki["ca.pem"]]
                          + U.maps(self.o.port, NEW_HOST), db=self.db)

    def status(self, p, host):
        c = self.raw(p.port)
        c.send(H.http_request("GET", "http://%s/" % host, host))
        return c.read_response().status

    def wait_line(self, p, pattern, seen):
        def line():
            for l in p.stderr_lines[seen:]:
                if pattern.match(l):
                    return l
            return None
        return H.wait_until(line, REFRESH_TIMEOUT, what=pattern.pattern)

    def test_changed_list_reaches_the_workers(self):
        data = snapshot_2026()
        self.routes[(None, "/list")] = Reply(200, [], data)
        url = "https://127.0.0.1:%d/list" % self.mirror.port
        p = self.start(url)
        line = self.wait_line(p, CHANGED_RE, 0)
        self.assertEqual(CHANGED_RE.match(line).groups(),
                         ("chromium-2026-06-01", "94599"))
        self.assertNotEqual(self.status(p, NEW_HOST), 307)  # not listed yet
        # Unchanged (the same sha256): nothing happens, nothing is said.
        requests = self.mirror.request_count()
        H.wait_until(lambda: self.mirror.request_count() >= requests + 2,
                     REFRESH_TIMEOUT, what="two more checks")
        self.assertEqual(sum(1 for l in p.stderr_lines
                             if "preload refresh" in l), 1, p.stderr())
        # Changed: the new host is upgraded within seconds, no signal.
        seen = len(p.stderr_lines)
        self.routes[(None, "/list")] = Reply(200, [], with_new_host(data))
        line = self.wait_line(p, CHANGED_RE, seen)
        self.assertEqual(CHANGED_RE.match(line).group(2), "94600")
        self.assertEqual(self.status(p, NEW_HOST), 307)
        self.assertEqual(self.status(p, "paypal.com"), 307)
        # Truncated: refused, the list before stays.
        seen = len(p.stderr_lines)
        self.routes[(None, "/list")] = Reply(200, [], truncated(data, 40000))
        line = self.wait_line(p, FAILED_RE, seen)
        self.assertIn("fewer than half the 94600 of the active list: "
                      "refused", line)
        self.assertEqual(self.status(p, NEW_HOST), 307)
        self.assertEqual(self.status(p, "zzzzz.click"), 307)
        p.stop()

    def test_refresh_goes_through_the_parent_proxy(self):
        self.routes[(None, "/list")] = Reply(200, [],
                                             with_new_host(snapshot_2026()))
        parent = TunnelParent(self, self.mirror.port)
        # A name, so that only the parent can reach it: the proxy never
        # resolves mirror.test, the parent splices to the mirror.
        p = self.proxy(["--preload-refresh", "1s", "--preload-url",
                        "https://mirror.test/list", "--ca-file",
                        self.pki["ca.pem"], "--upstream-proxy",
                        "http://127.0.0.1:%d" % parent.port]
                       + U.maps(self.o.port, NEW_HOST), db=self.db)
        line = self.wait_line(p, CHANGED_RE, 0)
        self.assertEqual(CHANGED_RE.match(line).group(2), "94600")
        self.assertIn("CONNECT mirror.test:443 HTTP/1.1", parent.connects())
        self.assertEqual(self.status(p, NEW_HOST), 307)
        p.stop()

    def test_unreachable_mirror_is_retried(self):
        sock, port = H.refused_port()
        self.addCleanup(sock.close)
        p = self.start("https://127.0.0.1:%d/list" % port)
        first = self.wait_line(p, FAILED_RE, 0)
        seen = p.stderr_lines.index(first) + 1
        self.wait_line(p, FAILED_RE, seen)  # retried
        self.assertEqual(self.status(p, "paypal.com"), 307)
        self.assertNotEqual(self.status(p, NEW_HOST), 307)
        p.stop()

    def test_fresh_store_upgrades_with_no_network(self):
        # The harness turns the refresh off.
        p = self.proxy(U.maps(self.o.port, "x.www.figma.com"), db=self.db)
        start = [l for l in p.stderr_lines
                 if l.startswith("hstsproxy: listening on")][0]
        self.assertIn("(preload: chromium-2026-06-01 94599 hosts", start)
        for host in ("paypal.com", "x.figma.com", "github.com"):
            self.assertEqual(self.status(p, host), 307, host)
        self.assertNotEqual(self.status(p, "x.www.figma.com"), 307)
        # Stale past 70 days: the start line and the status page say so.
        age = (datetime.date.today() - datetime.date(2026, 6, 1)).days
        c = self.raw(p.port)
        c.send(H.http_request("GET", "/", "127.0.0.1:%d" % p.port))
        page = c.read_response().body.decode()
        if age > 71:
            self.assertRegex(start, r", STALE: \d+ days old, run "
                             r"`hstsproxy preload update`, learned: 0, "
                             r"manual: 0\)$")
            self.assertRegex(page, r"chromium-2026-06-01 \(94599 hosts\) "
                             r"STALE: \d+ days old")
        elif age < 70:
            self.assertNotIn("STALE", start)
            self.assertNotIn("STALE", page)
        p.stop()

    def test_option_errors(self):
        for args in (("--preload-refresh", "0s"), ("--preload-refresh", "1"),
                     ("--preload-refresh", "1w"),
                     ("--preload-refresh", "366d"),
                     ("--preload-url", "http://127.0.0.1/list")):
            with self.subTest(args=args):
                status, out, err, _ = run_cli(("run",) + args, self.db)
                self.assertEqual(status, 2, (out, err))
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertTrue(err.startswith("hstsproxy run: " + args[0]),
                                err)


if __name__ == "__main__":
    H.main()
