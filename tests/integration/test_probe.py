"""test_probe.py - `hstsproxy probe`: learning policies over verified TLS.

Local HTTPS origins (harness.Origin with the test CA's leaf for
secure.test and localhost) answer HEAD / with the headers each test sets;
the probe reaches them with --map, as `run` would, and --ca-file trusts
the test CA. What was learned is checked through `policy query`, and the
probe rows through the store's probe table (schema v3, read with SQLite).
"""

import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ProxyTestCase, make_pki, refused_port, wait_until  # noqa
from tls_util import Reply, SilentServer, run_cli, tls_origin  # noqa

STS = "Strict-Transport-Security"
ONE_YEAR = 31536000
PROBE_KEYS = {"host", "port", "time", "ok", "error", "address",
              "tls_version", "method", "status", "sts_header", "sts_count",
              "header", "outcome", "reason", "why", "policy"}
HEADER_KEYS = {"valid", "max_age", "include_subdomains", "preload",
               "problems"}
POLICY_KEYS = {"host", "source", "include_subdomains", "max_age", "observed",
               "expires"}
EXPIRY_WAIT = 15.0  # bound for a 2 s max-age to run out, polled


class Probe(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = make_pki(os.path.join(cls.tmp, "pki"),
                           names=("secure.test", "localhost"))
        cls.other = make_pki(os.path.join(cls.tmp, "other"),
                             names=("other.test",))

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self.id().split(".")[-1])
        self.routes = {}
        self.o = tls_origin(self, self.pki, self.routes)

    def serve(self, *sts, status=200):
        self.routes[(None, "/")] = Reply(status, [(STS, v) for v in sts])

    def cli(self, *args, timeout=60):
        return run_cli(args, self.db, timeout=timeout)

    def probe(self, host="secure.test", port=None, ca=True, extra=(),
              expect=0):
        target = host if port is None else "%s:%d" % (host, port)
        src = host if port is None else target
        args = ["probe", target, "--json", "--map",
                "%s=127.0.0.1:%d" % (src, self.o.port)] + list(extra)
        if ca:
            args += ["--ca-file", self.pki["ca.pem"]]
        status, out, err, _ = self.cli(*args)
        self.assertEqual(status, expect, (out, err))
        doc = json.loads(out)
        self.assertEqual(set(doc), PROBE_KEYS)
        if doc["header"] is not None:
            self.assertEqual(set(doc["header"]), HEADER_KEYS)
        if doc["policy"] is not None:
            self.assertEqual(set(doc["policy"]), POLICY_KEYS)
        if expect == 0:
            self.assertEqual(err, "")
        else:
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertTrue(err.startswith("hstsproxy probe: "), err)
        return doc, err

    def query(self, host, expect):
        status, out, err, _ = self.cli("policy", "query", host, "--json")
        self.assertEqual(status, expect, (out, err))
        return json.loads(out)

    def rows(self):
        db = sqlite3.connect(self.db)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(
                "SELECT * FROM probe ORDER BY id")]
        finally:
            db.close()

    # -- learning

    def test_valid_header_learned(self):
        self.serve("max-age=31536000; includeSubDomains")
        doc, _ = self.probe()
        self.assertEqual((doc["host"], doc["port"], doc["ok"]),
                         ("secure.test", 443, True))
        self.assertIsNone(doc["error"])
        self.assertEqual(doc["address"], "127.0.0.1:%d" % self.o.port)
        self.assertIn(doc["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual((doc["method"], doc["status"]), ("HEAD", 200))
        self.assertEqual(doc["sts_header"],
                         "max-age=31536000; includeSubDomains")
        self.assertEqual(doc["sts_count"], 1)
        h = doc["header"]
        self.assertEqual((h["valid"], h["max_age"], h["include_subdomains"],
                          h["preload"]), (True, ONE_YEAR, True, False))
        self.assertEqual([p["code"] for p in h["problems"]],
                         ["header.preloadable.preload.missing"])
        self.assertEqual((doc["outcome"], doc["reason"]), ("learned", None))
        pol = doc["policy"]
        self.assertEqual((pol["host"], pol["source"], pol["max_age"],
                          pol["include_subdomains"]),
                         ("secure.test", "learned", ONE_YEAR, True))
        # the origin saw exactly one HEAD / with the host asked for
        self.assertEqual(len(self.o.requests), 1)
        req = self.o.requests[0]
        self.assertEqual((req.method, req.target, req.version),
                         ("HEAD", "/", "HTTP/1.1"))
        self.assertEqual(req.headers.get_all("host"), ["secure.test"])
        q = self.query("secure.test", 0)
        self.assertEqual((q["source"], q["dynamic"]["how"],
                          q["dynamic"]["raw_header"]),
                         ("learned", "probe",
                          "max-age=31536000; includeSubDomains"))
        q = self.query("sub.secure.test", 0)
        self.assertEqual((q["hsts"], q["source"], q["matched_host"]),
                         (True, "learned", "secure.test"))
        rows = self.rows()
        self.assertEqual(len(rows), 1)
        r = rows[0]
        self.assertEqual((r["host"], r["port"], r["ok"], r["outcome"],
                          r["reason"], r["valid"], r["max_age"],
                          r["include_subdomains"], r["preload"],
                          r["status"], r["method"], r["sts_count"]),
                         ("secure.test", 443, 1, "learned", None, 1,
                          ONE_YEAR, 1, 0, 200, "HEAD", 1))
        self.assertEqual(json.loads(r["problems"]),
                         ["header.preloadable.preload.missing"])

    def test_without_subdomains_covers_only_the_host(self):
        self.serve("max-age=600")
        doc, _ = self.probe()
        self.assertEqual(doc["outcome"], "learned")
        self.assertFalse(doc["policy"]["include_subdomains"])
        self.query("secure.test", 0)
        self.query("sub.secure.test", 1)

    def test_only_the_first_header_counts(self):
        self.serve("max-age=1000", "max-age=0")
        doc, _ = self.probe()
        self.assertEqual((doc["sts_count"], doc["sts_header"]),
                         (2, "max-age=1000"))
        self.assertEqual((doc["outcome"], doc["policy"]["max_age"]),
                         ("learned", 1000))

    def test_max_age_zero_deletes(self):
        self.serve("max-age=31536000")
        self.assertEqual(self.probe()[0]["outcome"], "learned")
        self.serve("max-age=0")
        doc, _ = self.probe()
        self.assertEqual((doc["outcome"], doc["reason"], doc["policy"]),
                         ("deleted", None, None))
        self.query("secure.test", 1)
        doc, _ = self.probe()  # nothing left to delete
        self.assertEqual((doc["outcome"], doc["reason"]),
                         ("ignored", "nothing_to_delete"))
        self.assertEqual([r["outcome"] for r in self.rows()],
                         ["learned", "deleted", "ignored"])

    def test_invalid_header_ignored_with_codes(self):
        cases = [
            ("max-age=12a; includeSubDomains",
             "header.parse.max_age.non_digit_characters"),
            ("max-age=10; max-age=20", "header.parse.repeated.max_age"),
            ("includeSubDomains", "header.preloadable.max_age.missing"),
            (None, None),  # sentinel
        ]
        for value, code in cases:
            if value is None:
                break
            with self.subTest(value=value):
                self.serve(value)
                doc, _ = self.probe()
                self.assertEqual((doc["outcome"], doc["reason"]),
                                 ("ignored", "invalid_header"))
                self.assertFalse(doc["header"]["valid"])
                self.assertIn(code, [p["code"]
                                     for p in doc["header"]["problems"]])
                self.assertIsNone(doc["policy"])
                self.query("secure.test", 1)
                row = self.rows()[-1]
                self.assertEqual((row["valid"], row["reason"]),
                                 (0, "invalid_header"))
                self.assertIn(code, json.loads(row["problems"]))

    def test_no_header_recorded(self):
        self.serve()
        doc, _ = self.probe()
        self.assertEqual((doc["ok"], doc["status"], doc["sts_header"],
                          doc["sts_count"], doc["header"], doc["outcome"],
                          doc["reason"]),
                         (True, 200, None, 0, None, "ignored", "no_header"))
        row = self.rows()[0]
        self.assertEqual((row["ok"], row["sts_header"], row["valid"],
                          row["problems"], row["reason"]),
                         (1, None, None, None, "no_header"))
        self.query("secure.test", 1)

    def test_manual_policy_takes_precedence(self):
        self.assertEqual(self.cli("policy", "add", "secure.test",
                                  "--max-age", "100")[0], 0)
        self.serve("max-age=31536000")
        doc, _ = self.probe()
        self.assertEqual((doc["outcome"], doc["reason"]),
                         ("ignored", "manual_policy"))
        self.assertEqual(self.query("secure.test", 0)["source"], "manual")

    def test_localhost_never_learned(self):
        self.serve("max-age=31536000")
        doc, _ = self.probe(host="localhost")
        self.assertEqual((doc["ok"], doc["outcome"], doc["reason"]),
                         (True, "ignored", "localhost"))
        self.query("localhost", 1)

    def test_head_refused_get_fallback_learns(self):
        for refused in (405, 501):
            with self.subTest(status=refused):
                self.o.reset()
                self.routes[("HEAD", "/")] = Reply(refused)
                self.routes[("GET", "/")] = Reply(
                    200, [(STS, "max-age=500")], b"x" * 100000)
                doc, _ = self.probe()
                self.assertEqual((doc["method"], doc["status"],
                                  doc["outcome"]), ("GET", 200, "learned"))
                self.assertEqual([r.method for r in self.o.requests],
                                 ["HEAD", "GET"])

    def test_no_redirect_followed(self):
        self.routes[(None, "/")] = Reply(301, [
            ("Location", "https://secure.test/elsewhere"),
            (STS, "max-age=300")])
        doc, _ = self.probe()
        self.assertEqual((doc["status"], doc["outcome"]), (301, "learned"))
        self.assertEqual(len(self.o.requests), 1)

    def test_short_max_age_expires(self):
        self.serve("max-age=2")
        doc, _ = self.probe()
        self.assertEqual((doc["outcome"], doc["policy"]["max_age"]),
                         ("learned", 2))
        self.query("secure.test", 0)

        def gone():
            return self.cli("policy", "query", "secure.test")[0] == 1
        wait_until(gone, EXPIRY_WAIT, interval=0.25,
                   what="the 2 s policy to expire")

    def test_port_kept_in_host_field(self):
        self.serve("max-age=60")
        doc, _ = self.probe(port=8443)
        self.assertEqual(doc["port"], 8443)
        self.assertEqual(self.o.requests[0].headers.get("host"),
                         "secure.test:8443")

    def test_text_output(self):
        self.serve("max-age=31536000; includeSubDomains; preload",
                   "max-age=5")
        status, out, err, _ = self.cli(
            "probe", "secure.test", "--map",
            "secure.test=127.0.0.1:%d" % self.o.port,
            "--ca-file", self.pki["ca.pem"])
        self.assertEqual((status, err), (0, ""), out)
        lines = out.splitlines()
        self.assertIn("status              200 (HEAD /)", lines)
        self.assertIn('header              "max-age=31536000; '
                      'includeSubDomains; preload" (first of 2: only the '
                      'first counts)', lines)
        self.assertIn("valid               yes", lines)
        self.assertTrue(any(l.startswith("tls                 TLSv1.")
                            for l in lines), out)
        self.assertTrue(lines[-1].startswith(
            "outcome             learned: secure.test and its subdomains, "
            "expires "), out)

    # -- failures: nothing learned, exit 3

    def test_unknown_ca(self):
        self.serve("max-age=31536000")
        doc, err = self.probe(ca=False, expect=3)
        self.assertIn("secure.test:443 (127.0.0.1:%d): certificate "
                      "verification failed: unable to get local issuer "
                      "certificate" % self.o.port, err)
        self.assertEqual((doc["ok"], doc["outcome"], doc["reason"],
                          doc["status"], doc["header"]),
                         (False, "ignored", "certificate", None, None))
        self.assertEqual(doc["error"], err.split("probe: ", 1)[1].strip())
        self.assertEqual(self.o.requests, [])  # not a byte of HTTP
        self.query("secure.test", 1)
        row = self.rows()[0]
        self.assertEqual((row["ok"], row["reason"], row["status"]),
                         (0, "certificate", None))
        self.assertIn("certificate verification failed", row["error"])
        # a probe from the command line is no traffic through the proxy,
        # and it was verified against the command's own trust store
        self.assertEqual(row["origin"], "cli")
        self.assertIn("this command's trust store", doc["why"])
        status, out, err, _ = self.cli("audit", "--json")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["hosts"], [])

    def test_wrong_host_name(self):
        routes = {(None, "/"): Reply(200, [(STS, "max-age=31536000")])}
        o = tls_origin(self, self.other, routes)
        status, out, err, _ = self.cli(
            "probe", "secure.test", "--map", "secure.test=127.0.0.1:%d"
            % o.port, "--ca-file", self.other["ca.pem"])
        self.assertEqual(status, 3, (out, err))
        self.assertEqual(out, "")
        self.assertIn("certificate verification failed: hostname mismatch",
                      err)
        self.query("secure.test", 1)

    def test_silent_server_times_out(self):
        silent = SilentServer()
        self.addCleanup(silent.close)
        t0 = time.monotonic()
        status, out, err, took = self.cli(
            "probe", "secure.test", "--timeout", "2", "--map",
            "secure.test=127.0.0.1:%d" % silent.port, "--ca-file",
            self.pki["ca.pem"])
        self.assertEqual(status, 3, (out, err))
        self.assertIn("timed out after 2000 ms before the TLS handshake "
                      "completed", err)
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(time.monotonic() - t0, 2 + 5.0)  # startup slack
        self.assertEqual(silent.accepted(), 1)
        self.assertEqual(self.rows()[0]["reason"], "unreachable")

    def test_connection_refused(self):
        sock, port = refused_port()
        self.addCleanup(sock.close)
        status, out, err, _ = self.cli(
            "probe", "secure.test", "--json", "--map",
            "secure.test=127.0.0.1:%d" % port)
        self.assertEqual(status, 3, err)
        self.assertIn("cannot connect: connection refused", err)
        doc = json.loads(out)
        self.assertEqual((doc["ok"], doc["reason"], doc["tls_version"]),
                         (False, "unreachable", None))

    # -- usage

    def test_usage_errors(self):
        cases = [
            (["probe"], "HOST is missing"),
            (["probe", "127.0.0.1"], "IP literal"),
            (["probe", "[::1]:443"], "IP literal"),
            (["probe", "a..b"], "invalid host name"),
            (["probe", "secure.test:0"], "PORT"),
            (["probe", "secure.test", "--timeout", "0"], "--timeout"),
            (["probe", "secure.test", "--map", "nonsense"], "--map"),
            (["probe", "a.test", "b.test"], "only one HOST"),
            (None, None),  # sentinel
        ]
        for args, text in cases:
            if args is None:
                break
            with self.subTest(args=args):
                status, out, err, _ = self.cli(*args)
                self.assertEqual(status, 2, (out, err))
                self.assertIn(text, err)
                self.assertEqual(len(err.splitlines()), 1, err)
        self.assertEqual(self.o.conn_count(), 0)


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    unittest.main(verbosity=2)
