"""`hstsproxy audit` on a store with known evidence (docs/CLI.md `audit`).

The evidence is written straight into a migrated store with python's
sqlite3 (audit_util.Scenario), as the proxy's log writer and prober would
have left it, so that every category, count, problem code, preload check,
regression, domain and trend day is pinned exactly: JSON first, then the
same report as text, CSV and HTML, the window options, and the errors.
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True
import audit_util as A  # noqa: E402
import cli_util as C  # noqa: E402

NOW = int(time.time())
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
# Day 0 starts at midnight UTC two days ago; hour h of day d:
DAY0 = (NOW // 86400 - 2) * 86400 * 1000


def at(day, hour, minute=0):
    return DAY0 + day * A.DAY_MS + (hour * 60 + minute) * 60000


def s(ms):
    return ms // 1000


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def date(ms):
    return time.strftime("%Y-%m-%d", time.gmtime(ms / 1000))


STRONG = "max-age=31536000; includeSubDomains; preload"

# host: (category, verdict, http_requests, clear_text, upgrades,
#        upstream_redirects, connects, problem codes, preload_eligible)
PRELOADABLE = {"header.preloadable.include_sub_domains.missing",
               "header.preloadable.preload.missing"}
WEAK = PRELOADABLE | {"header.preloadable.max_age.below_1_year",
                      "proxy.header.max_age.below_6_months"}
EXPECTED = {
    "preloaded.test": ("preloaded", "green", 5, 0, 5, 0, 0, set(), False),
    "sub.parent.test": ("preloaded", "green", 2, 0, 2, 0, 0,
                        {"proxy.policy.covered_by_parent"}, False),
    "strong.test": ("hsts", "yellow", 3, 1, 2, 1, 0,
                    {"proxy.header.preload_not_listed"}, True),
    "multi.test": ("hsts", "red", 0, 0, 0, 0, 1,
                   PRELOADABLE | {"response.multiple_headers"}, False),
    "blockdom.test": ("hsts", "yellow", 0, 0, 0, 0, 2, PRELOADABLE, False),
    "weak.test": ("weak-hsts", "yellow", 0, 0, 0, 0, 1, WEAK, False),
    "regress.test": ("weak-hsts", "yellow", 0, 0, 0, 0, 4, WEAK, False),
    "expiring.test": ("weak-hsts", "yellow", 1, 0, 1, 0, 0,
                      {"proxy.policy.expiring", "proxy.policy.manual_only"},
                      False),
    "invalid.test": ("invalid-hsts", "red", 0, 0, 0, 0, 1,
                     PRELOADABLE | {
                         "header.parse.max_age.non_digit_characters",
                         "header.preloadable.max_age.missing"}, False),
    "redirect.test": ("redirect-no-hsts", "red", 4, 4, 0, 4, 0,
                      {"proxy.policy.none", "proxy.https.unprobed",
                       "proxy.header.sent_over_http"}, False),
    "gone.test": ("redirect-no-hsts", "red", 0, 0, 0, 0, 3,
                  {"response.no_header"}, False),
    "apex.test": ("redirect-no-hsts", "red", 2, 2, 0, 2, 0,
                  {"redirects.http.www_first", "proxy.policy.none",
                   "proxy.https.unprobed"}, False),
    "plain.test": ("http-only", "red", 10, 10, 0, 0, 0,
                   {"redirects.http.no_redirect", "proxy.policy.none"},
                   False),
    "shop.blockdom.test": ("http-only", "red", 6, 6, 0, 0, 0,
                           {"redirects.http.no_redirect",
                            "proxy.policy.none"}, False),
    "vanished.test": ("http-only", "red", 2, 0, 2, 0, 0,
                      {"proxy.policy.none"}, False),
    "10.0.0.1": ("http-only", "yellow", 3, 3, 0, 0, 0,
                 {"proxy.host.ip_literal", "redirects.http.no_redirect"},
                 False),
    "tunnel.test": ("https-unprobed", "yellow", 0, 0, 0, 0, 3,
                    {"proxy.https.unprobed"}, False),
    "certbad.test": ("https-unprobed", "red", 0, 0, 0, 0, 2,
                     {"domain.tls.invalid_cert_chain"}, False),
}
VERDICT_RANK = {"red": 0, "yellow": 1, "green": 2}


def build(path, tmp, run):
    """The scenario: one host (or two) per category and per rule."""
    listfile = os.path.join(tmp, "list.txt")
    with open(listfile, "w") as f:
        f.write("# audit test list\npreloaded.test\n"
                "parent.test includeSubDomains\n")
    run("preload", "import", "--force", listfile, "--format", "text")
    run("policy", "add", "expiring.test", "--max-age", "864000")
    sc = A.Scenario(path)
    sc.writer(at(0, 0), at(2, 12), written=120, dropped=7)
    # preloaded, by its own entry and through a parent's
    sc.traffic("preloaded.test", at(0, 9), at(0, 9, 30), http=5, upgrades=5)
    for i in range(5):
        sc.upgrade("preloaded.test", at(0, 9, i), "preload", "preloaded.test")
    sc.traffic("sub.parent.test", at(1, 10), at(1, 11), http=2, upgrades=2)
    for i in range(2):
        sc.upgrade("sub.parent.test", at(1, 10, i), "preload", "parent.test",
                   subdomains=True)
    # hsts: learned by a probe after a bootstrap redirect
    sc.traffic("strong.test", at(0, 8), at(0, 8, 20), http=3, upgrades=2,
               redirects=1, to_https=1)
    sc.redirect("strong.test", at(0, 8), "https://strong.test/")
    sc.probe("strong.test", s(at(0, 8, 1)), STRONG, True, A.YEAR, True, True)
    sc.learned("strong.test", s(at(0, 8, 1)), A.YEAR, True, STRONG)
    for i in range(2):
        sc.upgrade("strong.test", at(0, 8, 10 + i), "learned", "strong.test",
                   expires=s(at(0, 8, 1)) + A.YEAR)
    # hsts, but two STS fields in one response
    sc.traffic("multi.test", at(1, 1), at(1, 1), connects=1)
    sc.probe("multi.test", s(at(1, 1)), "max-age=31536000", True, A.YEAR,
             False, False, sts_count=2)
    # hsts apex of a domain with a plain-HTTP subdomain (a preload blocker)
    sc.traffic("blockdom.test", at(1, 2), at(1, 2), connects=2)
    sc.probe("blockdom.test", s(at(1, 2)), "max-age=63072000", True, A.YEAR,
             False, False)
    sc.traffic("shop.blockdom.test", at(1, 3), at(1, 4), http=6)
    # weak-hsts
    sc.traffic("weak.test", at(1, 5), at(1, 5), connects=1)
    sc.probe("weak.test", s(at(1, 5)), "max-age=86400", True, 86400, False,
             False)
    # weak-hsts after cutting max-age and dropping includeSubDomains
    sc.traffic("regress.test", at(0, 5), at(2, 5), connects=4,
               days=[A.day(at(0, 5), connects=3), A.day(at(2, 5), connects=1)])
    sc.probe("regress.test", s(at(0, 5)), "max-age=31536000; "
             "includeSubDomains", True, A.YEAR, True, False)
    sc.probe("regress.test", s(at(2, 5)), "max-age=600", True, 600, False,
             False)
    # weak-hsts by a manual policy alone (expiring within 30 days)
    sc.traffic("expiring.test", at(2, 6), at(2, 6), http=1, upgrades=1)
    sc.upgrade("expiring.test", at(2, 6), "manual", "expiring.test",
               expires=NOW + 864000)
    # invalid-hsts
    sc.traffic("invalid.test", at(1, 6), at(1, 6), connects=1)
    sc.probe("invalid.test", s(at(1, 6)), "max-age=abc", False)
    # redirect-no-hsts: bootstraps, never probed, an STS header over http
    sc.traffic("redirect.test", at(0, 7), at(0, 7, 40), http=4, redirects=4,
               to_https=4)
    for i in range(4):
        sc.redirect("redirect.test", at(0, 7, 10 * i),
                    "https://redirect.test/",
                    sts="max-age=300" if i == 0 else None)
    # redirect-no-hsts: the header went away (a regression)
    sc.traffic("gone.test", at(0, 3), at(2, 3), connects=3,
               days=[A.day(at(0, 3), connects=1), A.day(at(1, 3), connects=1),
                     A.day(at(2, 3), connects=1)])
    sc.probe("gone.test", s(at(0, 3)), "max-age=31536000", True, A.YEAR,
             False, False)
    sc.learned("gone.test", s(at(0, 3)), A.YEAR, False, "max-age=31536000")
    sc.probe("gone.test", s(at(2, 3)))
    # redirect-no-hsts: www first
    sc.traffic("apex.test", at(1, 7), at(1, 7), http=2, redirects=2,
               to_https=2)
    for i in range(2):
        sc.redirect("apex.test", at(1, 7, i), "https://www.apex.test/")
    # http-only
    sc.traffic("plain.test", at(0, 12), at(0, 13), http=10)
    sc.traffic("10.0.0.1", at(1, 12), at(1, 12), http=3)
    # http-only: upgraded under a learned policy that is gone now
    sc.traffic("vanished.test", at(0, 14), at(0, 14), http=2, upgrades=2)
    for i in range(2):
        sc.upgrade("vanished.test", at(0, 14, i), "learned", "vanished.test",
                   expires=s(at(0, 14)) + 60)
    # https-unprobed: CONNECT only; and a probe that failed verification
    sc.traffic("tunnel.test", at(1, 15), at(1, 16), connects=3)
    sc.traffic("certbad.test", at(1, 17), at(1, 17), connects=2)
    sc.probe("certbad.test", s(at(1, 17)), ok=False, reason="certificate",
             error="certificate verify failed: self-signed certificate")
    sc.close()


class AuditStore(C.CliTestCase):
    def setUp(self):
        super().setUp()
        self.run_ok("policy", "list")  # creates and migrates the store
        build(self.db, self.tmp, self.run_ok)

    def audit_json(self, *args):
        return json.loads(self.run_ok("audit", "--format", "json",
                                      *args).out)

    def hosts(self, doc):
        return {h["host"]: h for h in doc["hosts"]}

    def test_every_host_in_its_category_with_its_counts(self):
        doc = self.audit_json()
        hosts = self.hosts(doc)
        self.assertEqual(set(hosts), set(EXPECTED))
        for name, want in EXPECTED.items():
            h = hosts[name]
            with self.subTest(host=name):
                got = (h["category"], h["verdict"], h["http_requests"],
                       h["clear_text"], h["upgrades"],
                       h["upstream_redirects"], h["connects"],
                       {p["code"] for p in h["problems"]},
                       h["preload_eligible"])
                self.assertEqual(got, want)
                self.assertTrue(h["counters_exact"])
        t = doc["totals"]
        want_cats = {c: sum(1 for w in EXPECTED.values() if w[0] == c)
                     for c in A.CATEGORIES}
        self.assertEqual(t["categories"], want_cats)
        self.assertEqual(list(t["categories"]), list(A.CATEGORIES))
        self.assertEqual(t["hosts"], len(EXPECTED))
        self.assertEqual(t["verdicts"], {"red": 9, "yellow": 7, "green": 2})
        self.assertEqual((t["http_requests"], t["upgraded"],
                          t["clear_text"], t["upgraded_percent"],
                          t["upgrades"], t["upstream_redirects"],
                          t["connects"], t["preload_eligible"]),
                         (38, 12, 26, 32, 12, 7, 17, 1))
        self.assertEqual([(x["host"], x["clear_text"])
                          for x in t["top_clear_text"]],
                         [("plain.test", 10), ("shop.blockdom.test", 6),
                          ("redirect.test", 4), ("10.0.0.1", 3),
                          ("apex.test", 2), ("strong.test", 1)])

    def test_worst_first(self):
        doc = self.audit_json()
        ranks = [VERDICT_RANK[h["verdict"]] for h in doc["hosts"]]
        self.assertEqual(ranks, sorted(ranks))
        self.assertEqual(doc["hosts"][0]["host"], "plain.test")
        self.assertEqual(doc["hosts"][-1]["category"], "preloaded")

    def test_policy_header_probe_and_redirect_detail(self):
        hosts = self.hosts(self.audit_json())
        st = hosts["strong.test"]
        self.assertEqual(
            (st["policy"]["source"], st["policy"]["host"],
             st["policy"]["max_age"], st["policy"]["include_subdomains"],
             st["policy"]["preloaded"]),
            ("learned", "strong.test", A.YEAR, True, False))
        self.assertEqual((st["header"]["value"], st["header"]["from"],
                          st["header"]["valid"], st["header"]["preload"]),
                         (STRONG, "probe", True, True))
        self.assertEqual((st["probe"]["ok"], st["probe"]["tls_version"]),
                         (True, "TLSv1.3"))
        self.assertEqual(st["first_redirect"]["verdict"], "secure")
        self.assertEqual(st["failing_checks"], [])
        sub = hosts["sub.parent.test"]
        self.assertEqual((sub["policy"]["source"], sub["policy"]["host"],
                          sub["registrable_domain"]),
                         ("preload", "parent.test", "parent.test"))
        gone = hosts["gone.test"]  # learned earlier, no header now
        self.assertEqual((gone["policy"]["source"], gone["header"]["state"]),
                         ("learned", "none"))
        self.assertEqual(hosts["apex.test"]["first_redirect"]["location"],
                         "https://www.apex.test/")
        self.assertIsNone(hosts["10.0.0.1"]["registrable_domain"])
        cert = hosts["certbad.test"]["probe"]
        self.assertEqual((cert["ok"], cert["error"]),
                         (False, "certificate verify failed: self-signed "
                          "certificate"))

    def test_failing_checks(self):
        hosts = self.hosts(self.audit_json())

        def checks(name):
            return [(c["check"], c["result"], c["code"])
                    for c in hosts[name]["failing_checks"]]
        self.assertEqual(checks("weak.test"), [
            ("http_redirect", "unknown", None),
            ("max_age", "fail", "header.preloadable.max_age.below_1_year"),
            ("include_subdomains", "fail",
             "header.preloadable.include_sub_domains.missing"),
            ("preload", "fail", "header.preloadable.preload.missing")])
        self.assertEqual(checks("shop.blockdom.test")[:2], [
            ("domain", "fail", "domain.is_subdomain"),
            ("certificate", "unknown", "proxy.https.unprobed")])
        self.assertIn(("certificate", "fail", "domain.tls.invalid_cert_chain"),
                      checks("certbad.test"))
        self.assertIn(("http_redirect", "fail", "redirects.http.www_first"),
                      checks("apex.test"))
        self.assertIn(("http_redirect", "fail", "redirects.http.no_redirect"),
                      checks("plain.test"))
        self.assertIn(("header", "fail", "response.no_header"),
                      checks("gone.test"))
        self.assertIn(("header", "fail", "response.multiple_headers"),
                      checks("multi.test"))
        self.assertEqual(checks("10.0.0.1"),
                         [("domain", "fail", "proxy.host.ip_literal")])

    def test_regressions(self):
        regs = self.audit_json()["regressions"]
        got = [(g["host"], g["kind"]) for g in regs]
        self.assertEqual(got, [("gone.test", "header_gone"),
                               ("regress.test", "max_age_cut"),
                               ("regress.test", "include_subdomains_dropped"),
                               ("vanished.test", "policy_vanished")])
        cut = regs[1]
        self.assertEqual((cut["before"]["max_age"], cut["after"]["max_age"],
                          cut["before"]["include_subdomains"],
                          cut["after"]["include_subdomains"]),
                         (A.YEAR, 600, True, False))
        self.assertLess(cut["before"]["time"], cut["after"]["time"])
        self.assertEqual((regs[3]["policy_source"], regs[3]["policy_host"]),
                         ("learned", "vanished.test"))
        self.assertIsNone(regs[0]["policy_source"])

    def test_domains(self):
        doms = {d["domain"]: d for d in self.audit_json()["domains"]}
        self.assertNotIn("10.0.0.1", doms)
        b = doms["blockdom.test"]
        self.assertEqual((b["hosts"], b["categories"]["hsts"],
                          b["categories"]["http-only"], b["apex_seen"],
                          b["preload_candidate"], b["blockers"]),
                         (2, 1, 1, True, False,
                          [{"host": "shop.blockdom.test",
                            "reason": "plain_http_only"}]))
        self.assertTrue(doms["strong.test"]["preload_candidate"])
        p = doms["parent.test"]
        self.assertEqual((p["preloaded"], p["apex_seen"], p["hosts"]),
                         (True, False, 1))
        self.assertEqual((doms["preloaded.test"]["listed"],
                          doms["preloaded.test"]["preloaded"]), (True, False))
        self.assertEqual(sum(1 for d in doms.values()
                             if d["preload_candidate"]), 1)

    def test_trend(self):
        trend = self.audit_json()["trend"]
        self.assertEqual(
            [(d["clear_text"], d["upgraded"], d["upstream_redirects"])
             for d in trend], [(15, 9, 5), (11, 2, 2), (0, 1, 0)])
        self.assertEqual(trend[0]["date"],
                         time.strftime("%Y-%m-%d", time.gmtime(DAY0 / 1000)))

    def test_provenance(self):
        doc = self.audit_json()
        self.assertEqual(list(doc)[:2], ["window", "provenance"])
        self.assertEqual(list(doc), ["window", "provenance", "totals",
                                     "hosts", "domains", "regressions",
                                     "trend"])
        w = doc["window"]
        self.assertEqual((w["since"], w["until"]), (None, None))
        p = doc["provenance"]
        self.assertEqual((p["preload_list"]["name"],
                          p["preload_list"]["entries"],
                          p["preload_list"]["builtin"]),
                         ("text-" + TODAY, 2, False))
        self.assertTrue(p["preload_list"]["source"].endswith("list.txt"))
        self.assertRegex(p["preload_list"]["imported"], r"Z$")
        self.assertEqual(p["hop_records"], {"writer_runs": 1,
                                            "submitted": 127,
                                            "written": 120, "dropped": 7,
                                            "failed": 0})
        self.assertEqual(p["probes"], {"recorded": True, "hosts_probed": 7,
                                       "hosts_unprobed": 9,
                                       "hosts_probe_failed": 1})
        self.assertEqual(p["thresholds"]["hsts_min_max_age"], A.YEAR)
        self.assertEqual(p["counters"]["hosts_beyond_window"], 0)

    def test_window(self):
        since = iso(at(1, 0))
        doc = self.audit_json("--since", since)
        hosts = self.hosts(doc)
        gone_before = {"preloaded.test", "strong.test", "redirect.test",
                       "plain.test", "vanished.test"}
        self.assertEqual(set(hosts), set(EXPECTED) - gone_before)
        self.assertEqual(doc["window"]["since"], since)
        # counted per UTC day: a window from midnight leaves day 0 out
        self.assertEqual((hosts["regress.test"]["connects"],
                          hosts["gone.test"]["connects"]), (1, 2))
        self.assertTrue(all(h["counters_exact"] for h in hosts.values()))
        self.assertEqual(doc["provenance"]["counters"],
                         {"http_requests_and_connects": "window days (UTC)",
                          "upgrades_and_redirects": "window",
                          "hosts_beyond_window": 0,
                          "clear_text_unplaced": 0})
        self.assertEqual([(g["host"], g["kind"]) for g in doc["regressions"]],
                         [("gone.test", "header_gone"),
                          ("regress.test", "max_age_cut"),
                          ("regress.test", "include_subdomains_dropped")])
        self.assertEqual(len(doc["trend"]), 2)
        early = self.hosts(self.audit_json("--until", iso(at(1, 0))))
        self.assertIn("plain.test", early)
        self.assertNotIn("certbad.test", early)
        # before the second probe, regress.test still sent a year
        self.assertEqual(early["regress.test"]["category"], "hsts")
        self.assertEqual(early["regress.test"]["connects"], 3)

    def test_window_excludes_earlier_days_exactly(self):
        """Plain-HTTP requests and CONNECTs of a host seen over three days:
        a window gets exactly the days it covers (UTC days are the grain:
        a window cut inside a day counts that whole day, and says so)."""
        sc = A.Scenario(self.db)
        sc.traffic("daily.test", at(0, 20), at(2, 1), http=9, connects=3,
                   days=[A.day(at(0, 20), http=4, connects=1),
                         A.day(at(1, 9), http=3, connects=2),
                         A.day(at(2, 1), http=2)])
        sc.close()
        cases = (  # window; http_requests, clear_text, connects, exact
            ((), (9, 9, 3, True)),
            (("--since", iso(at(1, 0))), (5, 5, 2, True)),
            (("--since", iso(at(1, 0)), "--until", iso(at(2, 0))),
             (3, 3, 2, True)),
            (("--until", iso(at(1, 0))), (4, 4, 1, True)),
            (("--since", iso(at(0, 20))), (9, 9, 3, True)),
            (("--since", iso(at(1, 12))), (5, 5, 2, False)),
            (("--until", iso(at(1, 12))), (7, 7, 3, False)),
            (("--until", iso(at(2, 1, 1))), (9, 9, 3, True)),
            (None, None))  # sentinel
        for args, want in cases[:-1]:
            with self.subTest(window=args):
                doc = self.audit_json(*args)
                h = self.hosts(doc)["daily.test"]
                self.assertEqual((h["http_requests"], h["clear_text"],
                                  h["connects"], h["counters_exact"]), want)
                if not want[3]:
                    self.assertGreater(
                        doc["provenance"]["counters"]["hosts_beyond_window"],
                        0)
        doc = self.audit_json("--since", iso(at(1, 0)), "--until",
                              iso(at(2, 0)))
        self.assertEqual(
            [(d["date"], d["clear_text"], d["upgraded"],
              d["upstream_redirects"]) for d in doc["trend"]],
            [(date(at(1, 0)), 14, 2, 2)])
        trend = self.audit_json()["trend"]
        self.assertEqual([d["clear_text"] for d in trend], [19, 14, 2])

    def test_text(self):
        out = self.run_ok("audit").out
        lines = out.splitlines()
        self.assertEqual(lines[0], "hstsproxy audit")
        self.assertTrue(lines[2].startswith("window "), lines[2])
        for key in ("preload list", "hop records", "probes", "counters",
                    "thresholds"):
            self.assertTrue(any(l.startswith(key + " ") for l in lines[:20]),
                            key)
        self.assertIn("7 dropped", out)
        for line in lines:
            self.assertLessEqual(len(line), 100, line)
        self.assertNotIn("\x1b[", out)
        verdict = [l for l in lines if l.startswith("  red ")
                   or l.startswith("  yellow ") or l.startswith("  green ")]
        self.assertEqual(len(verdict), len(EXPECTED))
        self.assertTrue(verdict[0].split()[2] == "plain.test", verdict[0])
        for name, want in EXPECTED.items():
            self.assertTrue(any(l.split()[:3] == [want[1], want[0], name]
                                for l in verdict), name)

    def test_text_long_names_fit(self):
        host = "%s.%s.example.test" % ("a" * 40, "b" * 30)
        sc = A.Scenario(self.db)
        sc.traffic(host, at(1, 1), at(1, 1), http=1)
        sc.redirect(host, at(1, 1), "http://%s/x" % host)
        sc.probe(host, s(at(1, 1)), "max-age=31536000", True, A.YEAR, False,
                 False)
        sc.probe(host, s(at(1, 2)), "max-age=60", True, 60, False, False)
        sc.close()
        out = self.run_ok("audit").out
        for line in out.splitlines():
            self.assertLessEqual(len(line), 100, line)
        self.assertIn(host, out)
        self.assertRegex(out, r"\n +max_age_cut: max-age=60 ")

    def test_text_colour_on_a_terminal(self):
        import pty
        import subprocess
        master, slave = pty.openpty()
        env = self.env()
        del env["NO_COLOR"]
        proc = subprocess.Popen([C.binary(), "--db", self.db, "audit"],
                                stdout=slave, stderr=subprocess.DEVNULL,
                                env=env)
        os.close(slave)
        chunks = []
        while True:  # read until the child closes the terminal (EIO)
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        proc.wait(timeout=C.RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0)
        out = b"".join(chunks).decode()
        self.assertIn("\x1b[", out)
        self.assertRegex(out, r"\x1b\[[0-9;]*m *red")

    def test_csv(self):
        path = os.path.join(self.tmp, "provenance.csv")
        header, rows = A.parse_csv(self.run_ok(
            "audit", "--format", "csv", "--provenance", path).out)
        prov = A.parse_provenance(path)
        self.assertEqual(list(prov)[0], "window")
        self.assertTrue(
            prov["preload list"].startswith("text-%s, 2 entries" % TODAY), prov)
        self.assertIn("7 dropped", prov["hop records"])
        self.assertEqual(header[:3], ["host", "category", "verdict"])
        doc = self.audit_json()
        self.assertEqual([r["host"] for r in rows],
                         [h["host"] for h in doc["hosts"]])
        for r in rows:
            want = EXPECTED[r["host"]]
            with self.subTest(host=r["host"]):
                self.assertEqual(
                    (r["category"], r["verdict"], int(r["http_requests"]),
                     int(r["clear_text"]), int(r["upgrades"]),
                     int(r["upstream_redirects"]), int(r["connects"]),
                     set(r["problems"].split()),
                     r["preload_eligible"] == "true"), want)
        strong = next(r for r in rows if r["host"] == "strong.test")
        self.assertEqual((strong["policy_source"], strong["policy_max_age"],
                          strong["header"]), ("learned", str(A.YEAR), STRONG))
        self.run_ok("preload", "reset")  # the built-in list, named so
        self.run_ok("audit", "--format", "csv", "--provenance", path)
        self.assertEqual(
            A.parse_provenance(path)["preload list"],
            "chromium-2026-06-01 (built in: Chromium's list as of "
            "2026-06-01, no list imported), 94599 entries")

    def test_html(self):
        out = self.run_ok("audit", "--format", "html").out
        page = A.check_html(self, out)
        text = " ".join(page.text)
        for name in EXPECTED:
            self.assertIn(name, text)
        for cat in A.CATEGORIES:
            self.assertIn(cat, text)
        self.assertLess(text.index("Provenance"), text.index("Verdicts"))
        self.assertIn("7 dropped", text)

    def test_output_file(self):
        path = os.path.join(self.tmp, "report.html")
        res = self.run_ok("audit", "--format", "html", "--output", path)
        self.assertEqual(res.out, "")
        with open(path, encoding="utf-8") as f:
            A.check_html(self, f.read())
        self.assertEqual([n for n in os.listdir(self.tmp)
                          if n.startswith("report.html.")], [])
        bad = os.path.join(self.tmp, "no-such-dir", "r.json")
        res = self.run_status(C.EXIT_FAIL, "audit", "--output", bad)
        line = self.assert_one_error_line(res, "audit")
        self.assertIn("no-such-dir/r.json", line)

    def test_escaping_in_every_format(self):
        raw = "max-age=600; ext=\"<i>a,b</i> & 'x'\""
        sc = A.Scenario(self.db)
        sc.traffic("esc.test", at(1, 1), at(1, 1), connects=1)
        sc.probe("esc.test", s(at(1, 1)), raw, True, 600, False, False)
        sc.close()
        h = self.hosts(self.audit_json())["esc.test"]
        self.assertEqual(h["header"]["value"], raw)
        _, rows = A.parse_csv(self.run_ok("audit", "--format", "csv").out)
        self.assertEqual(next(r for r in rows if r["host"] == "esc.test")
                         ["header"], raw)
        page = self.run_ok("audit", "--format", "html").out
        A.check_html(self, page)
        self.assertNotIn("<i>", page)
        self.assertIn("&lt;i&gt;a,b&lt;/i&gt; &amp; &#39;x&#39;", page)

    def test_without_probe_table(self):
        import sqlite3
        db = sqlite3.connect(self.db)
        db.execute("DROP VIEW probe_latest")
        db.execute("DROP TABLE probe")
        db.commit()
        db.close()
        doc = self.audit_json()
        self.assertEqual(doc["provenance"]["probes"]["recorded"], False)
        self.assertEqual(doc["provenance"]["probes"]["hosts_probed"], 0)
        hosts = self.hosts(doc)
        self.assertEqual(hosts["weak.test"]["category"], "https-unprobed")
        self.assertEqual(hosts["strong.test"]["header"]["from"], "policy")
        self.assertEqual(hosts["strong.test"]["category"], "hsts")
        self.assertIn("no probe table", self.run_ok("audit").out)

    def test_usage_errors(self):
        for args in (["--format", "xml"], ["--since", "yesterday"],
                     ["--until", "2025-02-30"], ["extra"], ["--bogus"],
                     ["--since", "2025-01-02", "--until", "2025-01-01"]):
            with self.subTest(args=args):
                res = self.run_status(C.EXIT_USAGE, "audit", *args)
                self.assert_one_error_line(res, "audit")

    def test_missing_store(self):
        res = self.run_raw(["--db", os.path.join(self.tmp, "none.db"),
                            "audit"], db=False)
        self.assertEqual(res.status, C.EXIT_FAIL, res)
        self.assert_one_error_line(res, "audit")

    def test_help(self):
        out = self.run_ok("audit", "--help").out
        self.assertIn("--format", out)
        self.assertIn("audit", self.run_ok("--help").out)


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
