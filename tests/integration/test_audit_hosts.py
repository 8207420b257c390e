"""`hstsproxy audit`: which hosts are judged, and how (issue 13).

Hosts that can never have a policy (IP literals, localhost and names
below it, single-label intranet names no policy covers) are reported as
such, never as red `proxy.policy.none`.
"""

import json
import sys
import time
import unittest

sys.dont_write_bytecode = True
import audit_util as A  # noqa: E402
import cli_util as C  # noqa: E402

NOW_MS = int(time.time()) * 1000
T = NOW_MS - 3600 * 1000


class AuditHosts(C.CliTestCase):
    def setUp(self):
        super().setUp()
        self.run_ok("policy", "list")

    def audit(self, *args):
        res = self.run_ok("audit", "--format", "json", *args)
        return {h["host"]: h for h in json.loads(res.out)["hosts"]}

    def test_hosts_that_never_have_a_policy(self):
        self.run_ok("policy", "add", "wiki", "--max-age", str(A.YEAR))
        sc = A.Scenario(self.db)
        for host in ("127.0.0.1", "localhost", "app.localhost", "intranet",
                     "wiki", "plain.test"):
            sc.traffic(host, T, T, http=1)
        sc.close()
        hosts = self.audit()
        want = {"127.0.0.1": "proxy.host.ip_literal",
                "localhost": "proxy.host.localhost",
                "app.localhost": "proxy.host.localhost",
                "intranet": "proxy.host.single_label"}
        for host, code in want.items():
            with self.subTest(host=host):
                h = hosts[host]
                codes = {p["code"]: p["severity"] for p in h["problems"]}
                self.assertEqual(codes, {code: "info",
                                         "redirects.http.no_redirect":
                                         "warning"})
                self.assertEqual(h["verdict"], "yellow")
                self.assertEqual(h["failing_checks"],
                                 [{"check": "domain", "result": "fail",
                                   "code": code}])
        # a single-label name with a policy is judged as any other
        self.assertEqual(hosts["wiki"]["category"], "hsts")
        self.assertEqual(hosts["plain.test"]["verdict"], "red")
        self.assertIn("proxy.policy.none",
                      {p["code"] for p in hosts["plain.test"]["problems"]})

    def test_manual_probes_are_not_traffic(self):
        sc = A.Scenario(self.db)
        # only probed from the command line: never seen through the proxy
        sc.probe("nobody.test", T // 1000, "max-age=600", True, 600, False,
                 False, origin="cli")
        sc.probe("failed.test", T // 1000, ok=False, reason="certificate",
                 error="unable to get local issuer certificate",
                 origin="cli")
        # seen, then a command-line probe failed against its trust store
        sc.traffic("seen.test", T, T, connects=1)
        sc.probe("seen.test", T // 1000 - 60, "max-age=31536000", True,
                 A.YEAR, False, False)
        sc.probe("seen.test", T // 1000, ok=False, reason="certificate",
                 error="unable to get local issuer certificate",
                 origin="cli")
        # the proxy's own probe makes a host seen
        sc.probe("probed.test", T // 1000, "max-age=600", True, 600, False,
                 False)
        sc.close()
        hosts = self.audit()
        self.assertEqual(set(hosts), {"seen.test", "probed.test"})
        seen = hosts["seen.test"]
        codes = {p["code"]: p["severity"] for p in seen["problems"]}
        self.assertNotIn("domain.tls.invalid_cert_chain", codes)
        self.assertEqual(codes["proxy.probe.manual_failed"], "info")
        self.assertEqual(seen["category"], "hsts")
        self.assertTrue(seen["probe"]["ok"])

    def test_regressions_judge_the_effective_policy(self):
        sc = A.Scenario(self.db)
        # upgraded by its own learned policy, gone now; a parent's learned
        # policy with includeSubDomains covers it now
        sc.traffic("www.chain.test", T, T, http=1, upgrades=1)
        sc.upgrade("www.chain.test", T, "learned", "www.chain.test",
                   expires=T // 1000 + 60)
        sc.learned("chain.test", T // 1000, A.YEAR, True,
                   "max-age=31536000; includeSubDomains")
        # upgraded by a policy gone now, and nothing covers it any more
        sc.traffic("gone.test", T, T, http=1, upgrades=1)
        sc.upgrade("gone.test", T, "learned", "gone.test",
                   expires=T // 1000 + 60)
        sc.close()
        res = self.run_ok("audit", "--format", "json")
        regs = [(g["host"], g["kind"]) for g in json.loads(res.out)
                ["regressions"]]
        self.assertEqual(regs, [("gone.test", "policy_vanished")])


if __name__ == "__main__":
    unittest.main()
