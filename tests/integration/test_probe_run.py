"""test_probe_run.py - probes `run` starts by itself, and what they teach.

A local HTTPS origin (the test CA's leaf for secure.test, sub.secure.test
and boot.test) answers HEAD / with the Strict-Transport-Security value a
test sets; a plain recording Origin stands for the same hosts on port 80.
The proxy runs with --probe on, --ca-file (the test CA) and --map for
both ports, so nothing is resolved. A CONNECT (curl through the proxy)
or an origin's http://X -> https://X redirect triggers the probe; the
tests poll the store (`policy query`, the probe table) with a bounded
wait, then check that the next plain-HTTP request is upgraded (or not)
by the running proxy, without a reload.
"""

import json
import os
import socket
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ProxyTestCase, make_pki, start_proxy,  # noqa: E402
                     wait_until)
from tls_util import Reply, SilentServer, run_cli, tls_origin  # noqa: E402

STS = "Strict-Transport-Security"
NAMES = ("secure.test", "sub.secure.test", "boot.test", "slow.test")
LEARN_WAIT = 15.0   # a probe and the writer's batch, polled
TIMEOUT_WAIT = 25.0  # a probe that times out (10 s), polled
EXPIRY_WAIT = 15.0  # a 2 s max-age runs out, polled
PROBE_UA = "(HSTS probe)"


class ProbeRun(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = make_pki(os.path.join(cls.tmp, "pki"), names=NAMES)
        cls.rogue = make_pki(os.path.join(cls.tmp, "rogue"),
                             names=("secure.test",))

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self.id().split(".")[-1])
        self.routes = {}
        self.tls = tls_origin(self, self.pki, self.routes)
        self.plain = self.origin()

    # -- helpers

    def serve(self, *sts):
        self.routes[(None, "/")] = Reply(200, [(STS, v) for v in sts])

    def start(self, probe="on", maps=(), extra=()):
        args = ["--probe", probe, "--ca-file", self.pki["ca.pem"],
                "--connect-ports", "443", "--workers", "2"]
        for host in NAMES:
            args += ["--map", "%s:80=127.0.0.1:%d" % (host, self.plain.port)]
        for m in maps:
            args += ["--map", m]
        args += ["--map", "secure.test:443=127.0.0.1:%d" % self.tls.port,
                 "--map", "boot.test:443=127.0.0.1:%d" % self.tls.port]
        p = start_proxy(args + list(extra), workdir=self.tmp, db=self.db)
        self.addCleanup(p.kill)
        return p

    def cli(self, *args):
        return run_cli(args, self.db)

    def query(self, host):
        status, out, err, _ = self.cli("policy", "query", host, "--json")
        self.assertIn(status, (0, 1), err)
        return status, json.loads(out)

    def wait_source(self, host, source):
        def ok():
            st, doc = self.query(host)
            return doc["source"] == source
        wait_until(ok, LEARN_WAIT, interval=0.1,
                   what="%s with source %s" % (host, source))

    def rows(self, host=None):
        if not os.path.exists(self.db):
            return []
        db = sqlite3.connect(self.db)
        db.row_factory = sqlite3.Row
        try:
            q = "SELECT * FROM probe ORDER BY id"
            return [dict(r) for r in db.execute(q)
                    if host is None or r["host"] == host]
        except sqlite3.OperationalError:
            return []
        finally:
            db.close()

    def wait_row(self, host, timeout=LEARN_WAIT):
        wait_until(lambda: self.rows(host), timeout, interval=0.1,
                   what="a probe row for %s" % host)
        return self.rows(host)[-1]

    def connect(self, p, host="secure.test", ca=True):
        args = ["--cacert", self.pki["ca.pem"]] if ca else ["-k"]
        r = self.curl("https://%s/" % host, proxy=p.port, args=args)
        self.assertEqual(r.rc, 0, r)
        return r

    def plain_get(self, p, url):
        r = self.curl(url, proxy=p.port)
        self.assertEqual(r.rc, 0, r)
        return r

    def probe_heads(self, origin):
        with origin.lock:
            reqs = list(origin.requests)
        return [q for q in reqs
                if PROBE_UA in (q.headers.get("user-agent") or "")]

    def last_hop(self):
        status, out, err, _ = self.cli("log", "--json")
        self.assertEqual(status, 0, err)
        lines = out.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    def learn(self, p, value="max-age=3600; includeSubDomains"):
        self.serve(value)
        self.connect(p)
        self.wait_source("secure.test", "learned")

    # -- tests

    def test_connect_teaches_and_next_request_is_upgraded(self):
        p = self.start()
        self.learn(p)
        r = self.plain_get(p, "http://secure.test/x")
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("location"), "https://secure.test/x")
        wait_until(lambda: self.last_hop().get("url") ==
                   "http://secure.test/x",
                   LEARN_WAIT, interval=0.1, what="the upgrade hop")
        hop = self.last_hop()
        self.assertEqual(hop["kind"], "hsts-upgrade")
        self.assertEqual(hop["policy_source"], "learned")
        r = self.plain_get(p, "http://sub.secure.test/y")
        self.assertEqual(r.status, 307, r)  # includeSubDomains
        heads = self.probe_heads(self.tls)
        self.assertEqual([q.method for q in heads], ["HEAD"])
        row = self.rows("secure.test")[-1]
        self.assertEqual((row["ok"], row["outcome"]), (1, "learned"))
        self.assertEqual(self.plain.request_count(), 0)
        p.stop()

    def test_without_subdomains_only_the_host(self):
        p = self.start()
        self.learn(p, "max-age=3600")
        self.assertEqual(self.plain_get(p, "http://secure.test/").status, 307)
        r = self.plain_get(p, "http://sub.secure.test/echo")
        self.assertEqual(r.status, 200, r)  # forwarded
        p.stop()

    def test_max_age_zero_deletes(self):
        self.serve("max-age=3600")
        status, out, err, _ = self.cli(
            "probe", "secure.test", "--ca-file", self.pki["ca.pem"],
            "--map", "secure.test=127.0.0.1:%d" % self.tls.port)
        self.assertEqual(status, 0, (out, err))
        # Make the learned entry old enough to be probed again.
        db = sqlite3.connect(self.db)
        db.execute("UPDATE policy SET observed = observed - 3000")
        db.commit()
        db.close()
        p = self.start()
        self.assertEqual(self.plain_get(p, "http://secure.test/").status, 307)
        self.serve("max-age=0")
        self.connect(p)
        wait_until(lambda: self.query("secure.test")[0] == 1, LEARN_WAIT,
                   interval=0.1, what="the policy deleted")
        self.assertEqual(self.rows("secure.test")[-1]["outcome"], "deleted")
        r = self.plain_get(p, "http://secure.test/echo")
        self.assertEqual(r.status, 200, r)  # forwarded again, at once
        p.stop()

    def check_ignored(self, p, host, reason, ok):
        row = self.wait_row(host)
        self.assertEqual((row["outcome"], row["reason"], row["ok"]),
                         ("ignored", reason, ok), row)
        self.assertEqual(row["origin"], "run")  # the proxy's own probe
        self.assertEqual(self.query(host)[0], 1)
        r = self.plain_get(p, "http://%s/echo" % host)
        self.assertEqual(r.status, 200, r)

    def test_invalid_header_teaches_nothing(self):
        p = self.start()
        self.serve("max-age=abc")
        self.connect(p)
        self.check_ignored(p, "secure.test", "invalid_header", 1)
        self.assertIsNotNone(self.rows("secure.test")[-1]["problems"])
        p.stop()

    def test_no_header_is_recorded(self):
        p = self.start()
        self.routes[(None, "/")] = Reply(200, [])
        self.connect(p)
        self.check_ignored(p, "secure.test", "no_header", 1)
        p.stop()

    def test_unknown_ca_teaches_nothing(self):
        rogue = tls_origin(self, self.rogue, {
            (None, "/"): Reply(200, [(STS, "max-age=3600")])})
        p = self.start(maps=["secure.test:443=127.0.0.1:%d" % rogue.port])
        self.connect(p, ca=False)
        self.check_ignored(p, "secure.test", "certificate", 0)
        p.stop()

    def test_wrong_name_teaches_nothing(self):
        self.serve("max-age=3600")
        p = self.start(maps=["wrong.test:443=127.0.0.1:%d" % self.tls.port,
                             "wrong.test:80=127.0.0.1:%d" % self.plain.port])
        self.connect(p, host="wrong.test", ca=False)
        self.check_ignored(p, "wrong.test", "certificate", 0)
        p.stop()

    def test_silent_origin_times_out_traffic_unaffected(self):
        silent = SilentServer()
        self.addCleanup(silent.close)
        p = self.start(maps=["slow.test:443=127.0.0.1:%d" % silent.port])
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"CONNECT slow.test:443 HTTP/1.1\r\nHost: slow.test:443"
                  b"\r\n\r\n")
        head = s.recv(4096)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        r = self.plain_get(p, "http://secure.test/echo")  # in parallel
        self.assertEqual(r.status, 200, r)
        self.assertLess(time.monotonic() - t0, 5.0)
        wait_until(lambda: silent.accepted() >= 2, 5, what="the probe's TCP")
        row = self.wait_row("slow.test", TIMEOUT_WAIT)
        self.assertEqual((row["ok"], row["reason"]), (0, "unreachable"))
        self.assertIn("timed out", row["error"])
        s.sendall(b"still here")  # the tunnel is still open
        p.stop()

    def test_learned_policy_survives_restart_without_probe(self):
        p = self.start()
        self.learn(p)
        p.stop()
        probes = len(self.probe_heads(self.tls))
        rows = len(self.rows())
        p = self.start()
        r = self.plain_get(p, "http://secure.test/x")
        self.assertEqual(r.status, 307, r)
        self.connect(p)  # fresh: the learned entry is young
        p.stop()
        self.assertEqual(len(self.probe_heads(self.tls)), probes)
        self.assertEqual(len(self.rows()), rows)

    def test_short_max_age_expires(self):
        p = self.start()
        self.serve("max-age=2")
        self.connect(p)
        wait_until(lambda: self.rows("secure.test"), LEARN_WAIT,
                   interval=0.05, what="the probe")
        self.assertEqual(self.rows("secure.test")[-1]["outcome"], "learned")

        def forwarded():
            return self.plain_get(p, "http://secure.test/echo").status == 200
        wait_until(forwarded, EXPIRY_WAIT, interval=0.2,
                   what="the 2 s policy to expire")
        p.stop()

    def test_bootstrap_redirect_triggers_probe(self):
        self.serve("max-age=3600")
        p = self.start()
        r = self.plain_get(p, "http://boot.test/redirect?code=301&"
                              "to=https://boot.test/")
        self.assertEqual(r.status, 301, r)
        self.wait_source("boot.test", "learned")
        r = self.plain_get(p, "http://boot.test/again")
        self.assertEqual(r.status, 307, r)
        p.stop()

    def test_redirect_elsewhere_or_relative_no_probe(self):
        self.serve("max-age=3600")
        p = self.start()
        for to in ("/relative", "https://secure.test/", "http://boot.test/"):
            r = self.plain_get(p, "http://boot.test/redirect?code=302&to="
                               + to)
            self.assertEqual(r.status, 302, r)
        p.stop()  # the drain would cancel a probe; none may have started
        self.assertEqual(self.rows(), [])
        self.assertEqual(self.probe_heads(self.tls), [])

    def test_probe_off_never_probes(self):
        self.serve("max-age=3600")
        p = self.start(probe="off")
        self.connect(p)
        self.plain_get(p, "http://boot.test/redirect?code=301&"
                          "to=https://boot.test/")
        p.stop()
        self.assertEqual(self.tls.conn_count(), 1)  # the tunnel only
        self.assertEqual(self.probe_heads(self.tls), [])
        self.assertEqual(self.rows(), [])
        self.assertEqual(self.query("secure.test")[0], 1)

    def test_bad_ca_file_usage(self):
        """A --ca-file the user named that cannot be read, or is no trust
        store, is a usage error (2) like --auth-file, not a runtime one."""
        bad = os.path.join(self.tmp, "missing.pem")
        junk = os.path.join(self.tmp, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        for path in (bad, junk):
            with self.subTest(path=path):
                status, out, err, _ = run_cli(
                    ["run", "--listen", "127.0.0.1:0", "--ca-file", path],
                    self.db, timeout=30)
                self.assertEqual(status, 2, err)
                self.assertTrue(err.startswith("hstsproxy run: --ca-file %s: "
                                               % path), err)

    def test_bad_probe_value_usage(self):
        status, out, err, _ = run_cli(["run", "--probe", "maybe"], self.db)
        self.assertEqual(status, 2, err)
        self.assertIn("--probe", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
