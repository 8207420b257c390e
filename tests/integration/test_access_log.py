"""The access log through the real binary (README "Access log"):

- squid format: one line per request with Squid's fields and the HSTS
  action: TCP_MISS/200 forwarded (HIER_DIRECT and the origin's type),
  TCP_HSTS_UPGRADE/307, TCP_TUNNEL/200 for a CONNECT (logged when the
  tunnel ends, with the bytes sent to the client), TCP_DENIED/403 for a
  CONNECT port not allowed, TCP_MEM_HIT/200 for the status page,
  NONE/400 for a malformed head, NONE/502 for an origin that refuses,
  NONE/508 for a loop; keep-alive requests each get their line; the
  user of --auth-file on a request that proved it, TCP_DENIED/407 without.
- combined and json formats carry the same request (referer, user agent).
- Rotation: while clients keep sending, `mv` then SIGUSR1 moves the new
  lines to a new file and loses none (old + new = every request); the
  same for --log-json with SIGHUP. A removed log is created again on the
  next SIGUSR1.
- scripts/dist/hstsproxy.logrotate run by logrotate on the test's files.
- Bad input: a log in a missing directory is a usage error (exit 2)
  naming the file; an unknown format too.
- A full disk (the log on a small tmpfs in a private mount namespace,
  then a filler file): requests are answered promptly, the failure is
  said once naming the file and the cause, the status page counts the
  dropped lines, the file keeps whole lines only, and once there is room
  again lines are written and the count dropped meanwhile is said.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
import faults_util as F  # noqa: E402
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

WAIT_S = 10.0     # polled waits (the writer batches every 50 ms)
PROMPT_S = 1.0    # an answer while the log cannot be written
UA = "alog-test/1.0"
SQUID_RE = re.compile(
    r"^(\d+)\.(\d{3}) +(\d+) (\S+) ([A-Z_]+)/(\d{3}) (\d+) (\S+) (\S+) "
    r"(\S+) (HIER_[A-Z]+)/(\S+) (\S+)$")
COMBINED_RE = re.compile(
    r'^(\S+) - (\S+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')


def lines_of(path, whole=True):
    """The lines of path; whole=False while a writer may be mid-line
    (the last line is then left out when it has no newline yet)."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    if not whole:
        return data[:data.rfind("\n") + 1].splitlines()
    assert data == "" or data.endswith("\n"), "a cut line: %r" % data[-200:]
    return data.splitlines()


def wait_lines(path, n):
    H.wait_until(lambda: len(lines_of(path, False)) >= n, WAIT_S,
                 what="%d lines in %s" % (n, path))
    return lines_of(path)


class AccessLog(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self._testMethodName)
        self.log = os.path.join(self.tmp, "%s.log" % self._testMethodName)
        self.o = self.origin()

    def start(self, extra=(), **kw):
        return self.proxy(U.maps(self.o.port, "plain.test", "manual.test")
                          + ["--access-log", self.log] + list(extra),
                          db=self.db, **kw)

    def get(self, c, url, host, status, headers=()):
        c.send(H.http_request("GET", url, host, headers))
        r = c.read_response()
        self.assertEqual(r.status, status, (url, r.body))
        return r

    def test_squid_outcomes(self):
        U.add_policy(self.db, "manual.test")
        echo = H.EchoServer()
        self.addCleanup(echo.close)
        p = self.start(["--connect-ports", "%d" % echo.port])
        c = self.raw(p.port)
        self.get(c, "http://plain.test/echo?a", "plain.test", 200,
                 [("User-Agent", UA)])
        self.get(c, "http://plain.test/status?code=404", "plain.test", 404)
        self.get(c, "http://manual.test/x", "manual.test", 307)
        self.get(c, "/", "127.0.0.1:%d" % p.port, 200)
        sink, sink_port = H.refused_port()
        self.addCleanup(sink.close)
        self.get(c, "http://127.0.0.1:%d/" % sink_port,
                 "127.0.0.1:%d" % sink_port, 502)
        self.get(c, "http://plain.test/echo?loop", "plain.test", 508,
                 [("Via", "1.1 hstsproxy")])
        c2 = self.raw(p.port)
        c2.send(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
        self.assertEqual(c2.read_response("CONNECT").status, 403)
        t = self.raw(p.port)
        t.send(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
               % (echo.port, echo.port))
        self.assertEqual(t.read_response("CONNECT").status, 200)
        t.send(b"ping")
        self.assertEqual(t.bs.read_exact(4), b"ping")
        t.close()
        bad = self.raw(p.port)
        bad.send(b"GARBAGE\r\n\r\n")
        self.assertEqual(bad.read_response().status, 400)
        got = wait_lines(self.log, 9)
        rows = [SQUID_RE.match(l) for l in got]
        self.assertTrue(all(rows), got)
        by = {(m.group(5), m.group(6)): m for m in rows}
        self.assertEqual(len(got), 9, got)
        fwd = by[("TCP_MISS", "200")]
        self.assertEqual(fwd.group(4), "127.0.0.1")
        self.assertEqual((fwd.group(8), fwd.group(9)),
                         ("GET", "http://plain.test/echo?a"))
        self.assertEqual((fwd.group(11), fwd.group(12)),
                         ("HIER_DIRECT", "127.0.0.1"))
        self.assertTrue(fwd.group(13).startswith("application/json"), fwd)
        self.assertGreater(int(fwd.group(7)), 100)
        self.assertAlmostEqual(int(fwd.group(1)), time.time(), delta=60)
        self.assertIn(("TCP_MISS", "404"), by)
        up = by[("TCP_HSTS_UPGRADE", "307")]
        self.assertEqual((up.group(9), up.group(11), up.group(12),
                          up.group(13)),
                         ("http://manual.test/x", "HIER_NONE", "-", "-"))
        self.assertIn(("TCP_MEM_HIT", "200"), by)
        self.assertIn(("NONE", "502"), by)
        self.assertIn(("NONE", "508"), by)
        self.assertEqual(by[("TCP_DENIED", "403")].group(8), "CONNECT")
        tun = by[("TCP_TUNNEL", "200")]
        self.assertEqual((tun.group(9), tun.group(12)),
                         ("127.0.0.1:%d" % echo.port, "127.0.0.1"))
        self.assertEqual(int(tun.group(7)),
                         len(b"HTTP/1.1 200 Connection established\r\n\r\n")
                         + 4)
        bad = by[("NONE", "400")]
        self.assertEqual((bad.group(8), bad.group(9)),
                         ("NONE", "error:invalid-request"))
        p.stop()

    def test_user_and_407(self):
        pw = os.path.join(self.tmp, "users")
        with open(pw, "w") as f:
            f.write("bob:{SHA}%s\n" % base64.b64encode(
                hashlib.sha1(b"secret").digest()).decode())
        p = self.start(["--auth-file", pw])
        c = self.raw(p.port)
        self.get(c, "http://plain.test/echo?anon", "plain.test", 407)
        cred = base64.b64encode(b"bob:secret").decode()
        c = self.raw(p.port)
        self.get(c, "http://plain.test/echo?bob", "plain.test", 200,
                 [("Proxy-Authorization", "Basic " + cred)])
        rows = [SQUID_RE.match(l) for l in wait_lines(self.log, 2)]
        self.assertEqual([(m.group(5), m.group(6), m.group(10))
                          for m in rows],
                         [("TCP_DENIED", "407", "-"),
                          ("TCP_MISS", "200", "bob")])
        p.stop()

    def test_combined_and_json(self):
        for fmt in ("combined", "json"):
            with self.subTest(fmt=fmt):
                if os.path.exists(self.log):
                    os.unlink(self.log)
                p = self.start(["--access-log-format", fmt])
                c = self.raw(p.port)
                self.get(c, "http://plain.test/echo?q=%22", "plain.test", 200,
                         [("User-Agent", UA + ' "q"'),
                          ("Referer", "http://ref.test/")])
                line = wait_lines(self.log, 1)[0]
                p.stop()
                if fmt == "combined":
                    m = COMBINED_RE.match(line)
                    self.assertTrue(m, line)
                    self.assertEqual(m.group(4),
                                     "GET http://plain.test/echo?q=%22 "
                                     "HTTP/1.1")
                    self.assertEqual(m.group(5), "200")
                    self.assertEqual(m.group(7), "http://ref.test/")
                    self.assertEqual(m.group(8), UA + r' \x22q\x22')
                    continue
                doc = json.loads(line)
                self.assertEqual(doc["action"], "TCP_MISS")
                self.assertEqual(doc["status"], 200)
                self.assertEqual(doc["url"], "http://plain.test/echo?q=%22")
                self.assertEqual(doc["user_agent"], UA + ' "q"')
                self.assertEqual(doc["referer"], "http://ref.test/")
                self.assertEqual(doc["peer"], "127.0.0.1")
                self.assertIsNone(doc["user"])
                self.assertEqual(doc["http_version"], "HTTP/1.1")

    def rotate_under_load(self, p, path, sig, before=0):
        """Clients keep sending while path is moved and p signalled;
        returns (lines in the old file, lines in the new one, requests
        sent); `before` lines were in the file already."""
        stop = threading.Event()
        sent = []

        def client(i):
            c = H.RawClient(p.port)
            try:
                n = 0
                while not stop.is_set():
                    c.send(H.http_request("GET", "http://manual.test/%d-%d"
                                          % (i, n), "manual.test"))
                    self.assertEqual(c.read_response().status, 307)
                    sent.append(1)
                    n += 1
                    time.sleep(0.002)
            finally:
                c.close()
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(3)]
        for t in threads:
            t.start()
        H.wait_until(lambda: len(lines_of(path, False)) > 20, WAIT_S,
                     what="lines before the rotation")
        os.rename(path, path + ".1")
        p.send_signal(sig)
        H.wait_until(lambda: len(lines_of(path, False)) > 20, WAIT_S,
                     what="lines in the new file")
        stop.set()
        for t in threads:
            t.join()
        total = len(sent)
        H.wait_until(lambda: len(lines_of(path + ".1", False))
                     + len(lines_of(path, False)) >= total + before, WAIT_S,
                     what="every line written")
        return lines_of(path + ".1"), lines_of(path), total

    def test_rotation(self):
        U.add_policy(self.db, "manual.test")
        hops = os.path.join(self.tmp, "%s.json" % self._testMethodName)
        p = self.start(["--log-json", hops])
        old, new, total = self.rotate_under_load(p, self.log, signal.SIGUSR1)
        self.assertEqual(len(old) + len(new), total)
        self.assertEqual(len(set(old + new)), total)  # each URL once
        old, new, total2 = self.rotate_under_load(p, hops, signal.SIGHUP,
                                                  total)
        self.assertEqual(len(old) + len(new), total + total2)
        for line in old + new:
            json.loads(line)
        # a removed log is created again on the next reopen
        os.unlink(self.log)
        p.send_signal(signal.SIGUSR1)
        H.wait_until(lambda: os.path.exists(self.log), WAIT_S,
                     what="the log created again")
        c = self.raw(p.port)
        self.get(c, "http://manual.test/after", "manual.test", 307)
        self.assertIn("http://manual.test/after", wait_lines(self.log, 1)[0])
        p.stop()

    def test_logrotate_snippet(self):
        """scripts/dist/hstsproxy.logrotate, run by logrotate itself on
        the test's files (its paths and its systemctl line replaced by
        this folder and a kill of this proxy): the logs move to .1, the
        proxy writes new ones, no line is lost."""
        if shutil.which("logrotate") is None:
            self.skipTest("needs logrotate (scripts/setup.sh installs it)")
        U.add_policy(self.db, "manual.test")
        hops = os.path.join(self.tmp, "%s.json" % self._testMethodName)
        p = self.start(["--log-json", hops])
        c = self.raw(p.port)
        self.get(c, "http://manual.test/before", "manual.test", 307)
        wait_lines(self.log, 1)
        wait_lines(hops, 1)
        with open(os.path.join(H.REPO, "scripts", "dist",
                               "hstsproxy.logrotate")) as f:
            conf = f.read()
        conf = conf.replace("/var/log/hstsproxy/access.log", self.log)
        conf = conf.replace("/var/log/hstsproxy/hops.json", hops)
        conf = re.sub(r"systemctl kill .*", "kill -USR1 %d" % p.pid, conf)
        path = os.path.join(self.tmp, "logrotate.conf")
        with open(path, "w") as f:
            f.write(conf)
        r = subprocess.run(["logrotate", "-f", "-s",
                            os.path.join(self.tmp, "logrotate.state"), path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("/before", lines_of(self.log + ".1")[0])
        self.assertIn("/before", lines_of(hops + ".1")[0])
        # postrotate only signals: until the proxy has reopened (creating
        # the files), a line still goes to the moved file, as it should
        H.wait_until(lambda: os.path.exists(self.log) and
                     os.path.exists(hops), WAIT_S,
                     what="both files created again by the reopen")
        self.get(c, "http://manual.test/after", "manual.test", 307)
        self.assertIn("/after", wait_lines(self.log, 1)[0])
        self.assertIn("/after", wait_lines(hops, 1)[0])
        self.assertEqual(len(lines_of(self.log + ".1")), 1)
        p.stop()

    def test_bad_input(self):
        missing = os.path.join(self.tmp, "no-such-dir", "access.log")
        r = U.cli(self.db, "run", "--listen", "127.0.0.1:0", "--access-log",
                  missing, check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("hstsproxy run: --access-log %s: No such file or "
                      "directory" % missing, r.stderr)
        r = U.cli(self.db, "run", "--access-log-format", "apache",
                  check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--access-log-format apache: expected squid, "
                      "combined or json", r.stderr)

    def test_full_disk(self):
        ns = F.MountNS(self, 1)
        self.log = os.path.join(ns.dir, "access.log")
        p = self.start(wrapper=ns.wrapper())
        path = ns.path("access.log")
        c = self.raw(p.port)
        self.get(c, "http://plain.test/echo?warm", "plain.test", 200)
        wait_lines(path, 1)
        filler = ns.path("filler")
        F.fill_disk(filler)
        for i in range(200):
            t0 = time.monotonic()
            self.get(c, "http://plain.test/echo?full-%d" % i, "plain.test",
                     200, [("User-Agent", "x" * 900)])
            self.assertLess(time.monotonic() - t0, PROMPT_S)
        said = "hstsproxy: access-log %s: cannot write: No space left on " \
               "device" % self.log
        H.wait_until(lambda: said in p.stderr(), WAIT_S,
                     what="the failure said")
        page = H.wait_until(lambda: (lambda s: s if s.get(
            "access log lines dropped", 0) > 0 else None)(F.status(p)),
            WAIT_S, what="drops on the status page")
        self.assertEqual(page["access log failing"], "yes")
        lines_of(path)  # whole lines only
        os.unlink(filler)
        self.get(c, "http://plain.test/echo?again", "plain.test", 200)
        H.wait_until(lambda: any(l.endswith("/echo?again - HIER_DIRECT/"
                                            "127.0.0.1 application/json")
                                 for l in lines_of(path)), WAIT_S,
                     what="a line after the recovery")
        m = H.wait_until(lambda: re.search(
            r"access-log %s: writing again; (\d+) lines were dropped "
            r"meanwhile" % re.escape(self.log), p.stderr()), WAIT_S,
            what="the recovery said")
        self.assertGreater(int(m.group(1)), 0)
        self.assertEqual(p.stderr().count(said), 1, p.stderr())
        got = lines_of(path)
        self.assertTrue(all(SQUID_RE.match(l) for l in got), got[-3:])
        page = F.status(p)
        self.assertEqual(page["access log failing"], "no")
        self.assertEqual(page["access log lines written"], len(got))
        self.assertGreaterEqual(page["access log lines written"]
                                + page["access log lines dropped"], 202)
        p.stop()


if __name__ == "__main__":
    H.main()
