"""SIGHUP (README.md "Signals"): the proxy re-reads the preload list and the
learned and manual policies from the store without dropping connections.
A host listed by a `preload import` made while the proxy runs is upgraded
after the reload, also on a keep-alive connection opened before it; a
reload that cannot read the store keeps the policies loaded before and
says why on stderr; the start line shows the real counts."""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

RELOAD_TIMEOUT = 20.0
RELOADS = 25
# Replaced snapshots must be freed while the proxy runs: after RELOADS
# reloads of a large list the process may hold a few copies (allocator
# slack, the sanitizer's quarantine), never one per reload.
HELD_COPIES_MAX = 10
RELOADED_RE = re.compile(r"^hstsproxy: reloaded \(preload: (\S+) (\d+) hosts,"
                         r" learned: (\d+), manual: (\d+)\)$")
FAILED_RE = re.compile(r"^hstsproxy: reload: .+; keeping the policies "
                       r"loaded before$")


class Reload(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "reload-%s.db" % self._testMethodName)
        self.o = self.origin()

    def start(self):
        return self.proxy(U.maps(self.o.port, "listed.test", "manual.test",
                                 "sub.listed.test", "plain.test"),
                          db=self.db)

    def hup_and_wait(self, p, pattern):
        seen = len(p.stderr_lines)
        p.send_signal(signal.SIGHUP)

        def line():
            for l in p.stderr_lines[seen:]:
                if pattern.match(l):
                    return l
            return None
        return H.wait_until(line, RELOAD_TIMEOUT, what="the reload line")

    def get(self, c, host, path):
        c.send(H.http_request("GET", "http://%s%s" % (host, path), host))
        return c.read_response()

    def test_import_then_sighup_keeps_connections(self):
        U.add_policy(self.db, "manual.test")
        p = self.start()
        start = [l for l in p.stderr_lines if l.startswith(
            "hstsproxy: listening on")][0]
        # manual.test is a manual policy, not a learned one
        self.assertRegex(start, r"\(preload: chromium-2026-06-01 94599 hosts"
                         r"(, STALE: \d+ days old, run `hstsproxy preload "
                         r"update`)?, learned: 0, manual: 1\)$")
        c = self.raw(p.port)
        r = self.get(c, "listed.test", "/echo?before")
        self.assertEqual(r.status, 200, r)       # not listed yet: forwarded
        r = self.get(c, "manual.test", "/m")
        self.assertEqual(r.status, 307, r)

        out = U.import_text_list(self.db, os.path.join(self.tmp, "list.txt"),
                                 [("listed.test", True), ("other.test", False)])
        self.assertIn("imported 2 hosts", out)
        line = self.hup_and_wait(p, RELOADED_RE)
        self.assertEqual(RELOADED_RE.match(line).groups(),
                         ("text-" + time.strftime("%Y-%m-%d", time.gmtime()),
                          "2", "0", "1"))

        n = self.o.request_count()
        # the connection opened before the reload goes on, with the new list
        r = self.get(c, "listed.test", "/echo?after")
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("location"),
                         "https://listed.test/echo?after")
        r = self.get(c, "sub.listed.test", "/s")
        self.assertEqual(r.status, 307, r)
        r = self.get(c, "manual.test", "/m2")        # dynamic still there
        self.assertEqual(r.status, 307, r)
        r = self.get(c, "plain.test", "/echo?plain")   # unlisted: forwarded
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.o.request_count(), n + 1)
        # a new connection too
        c2 = self.raw(p.port)
        self.assertEqual(self.get(c2, "listed.test", "/new").status, 307)
        p.stop()

    def test_reloads_under_traffic(self):
        """Many reloads while clients keep asking: every answer is right,
        no connection drops, old snapshots are freed (sanitizer build)."""
        U.add_policy(self.db, "manual.test")
        p = self.start()
        conns = [self.raw(p.port) for _ in range(4)]
        for i in range(15):
            p.send_signal(signal.SIGHUP)
            for j, c in enumerate(conns):
                r = self.get(c, "manual.test", "/r/%d/%d" % (i, j))
                self.assertEqual(r.status, 307, r)
        H.wait_until(lambda: len([l for l in p.stderr_lines
                                  if RELOADED_RE.match(l)]) >= 1,
                     RELOAD_TIMEOUT, what="reload lines")
        for c in conns:
            self.assertEqual(self.get(c, "manual.test", "/last").status, 307)
        self.assertEqual(self.o.request_count(), 0)
        p.stop()

    def test_failed_reload_keeps_policies(self):
        U.add_policy(self.db, "manual.test")
        p = self.start()
        c = self.raw(p.port)
        self.assertEqual(self.get(c, "manual.test", "/a").status, 307)
        moved = self.db + ".away"
        os.rename(self.db, moved)
        try:
            line = self.hup_and_wait(p, FAILED_RE)
            self.assertIn(self.db, line)
        finally:
            os.rename(moved, self.db)
        self.assertEqual(self.get(c, "manual.test", "/b").status, 307)
        self.assertEqual(self.o.request_count(), 0)
        # and a later reload works again
        self.hup_and_wait(p, RELOADED_RE)
        self.assertEqual(self.get(c, "manual.test", "/c").status, 307)
        p.stop()

    def test_old_snapshots_are_freed(self):
        # A small list first, so that the 2016 one makes a bigger snapshot.
        U.import_text_list(self.db, os.path.join(self.tmp, "small.txt"),
                           [("small.test", False)])
        p = self.proxy(["--workers", "2"], db=self.db,
                       env=H.small_quarantine_env(1))
        c = self.raw(p.port)

        def status():
            c.send(H.http_request("GET", "/", "127.0.0.1:%d" % p.port))
            self.assertEqual(c.read_response().status, 200)
        status()
        rss0 = p.status_field("VmRSS")
        U.cli(self.db, "preload", "import", "--force",
              os.path.join(U.shared_data(), "chromium-preload-2016.json"))
        self.hup_and_wait(p, RELOADED_RE)
        status()
        rss1 = p.status_field("VmRSS")
        one = rss1 - rss0  # about one snapshot of the 2016 list
        self.assertGreater(one, 0)
        for _ in range(RELOADS):
            self.hup_and_wait(p, RELOADED_RE)
            status()  # the workers go on answering between reloads
        growth = p.status_field("VmRSS") - rss1
        self.assertLess(growth, HELD_COPIES_MAX * one,
                        "memory grew by %d kB over %d reloads of a %d kB "
                        "snapshot: replaced snapshots are not freed"
                        % (growth, RELOADS, one))
        p.stop()

    def test_store_that_cannot_be_opened(self):
        bad = os.path.join(self.tmp, "not-a-db")
        with open(bad, "wb") as f:
            f.write(b"this is not an SQLite database, not at all" * 100)
        p = H.start_proxy([], workdir=self.tmp, db=bad, wait=False)
        self.addCleanup(p.kill)
        rc = p.proc.wait(H.STOP_TIMEOUT)
        p._reader.join(5)
        self.assertEqual(rc, 3, p.stderr())
        err = [l for l in p.stderr_lines if l.startswith("hstsproxy run: ")]
        self.assertEqual(len(err), 1, p.stderr())
        self.assertIn(bad, err[0])
        self.assertFalse(any("listening" in l for l in p.stderr_lines))


if __name__ == "__main__":
    H.main()
