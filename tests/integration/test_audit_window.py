"""`hstsproxy audit` with a window that cuts a UTC day (issue 13, bug 2).

Plain-HTTP requests are counted per host and UTC day, hops exactly: a
window cutting a day must not compare the day's clear text with the
window's redirect hops and infer a problem from the difference.
"""

import json
import sys
import time
import unittest

sys.dont_write_bytecode = True
import audit_util as A  # noqa: E402
import cli_util as C  # noqa: E402

NOW = int(time.time())
DAY1 = (NOW // 86400 - 1) * 86400 * 1000  # yesterday, midnight UTC


def at(hour, minute=0):
    return DAY1 + (hour * 60 + minute) * 60000


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


class AuditWindow(C.CliTestCase):
    def setUp(self):
        super().setUp()
        self.run_ok("policy", "list")
        sc = A.Scenario(self.db)
        # one clear-text request, redirected to https, before the window
        sc.traffic("early.test", at(10), at(10), http=1, redirects=1,
                   to_https=1)
        sc.redirect("early.test", at(10), "https://early.test/")
        # one clear-text request without a redirect, inside the window
        sc.traffic("inside.test", at(10, 40), at(10, 40), http=1)
        sc.close()

    def hosts(self, *args):
        res = self.run_ok("audit", "--format", "json", *args)
        return {h["host"]: h for h in json.loads(res.out)["hosts"]}

    def test_day_counters_never_meet_window_hops(self):
        hosts = self.hosts("--since", iso(at(10, 30)), "--until",
                           iso(at(11)))
        early = hosts["early.test"]
        codes = {p["code"] for p in early["problems"]}
        self.assertFalse(early["counters_exact"])
        self.assertNotIn("redirects.http.no_redirect", codes)
        self.assertEqual(early["category"], "redirect-no-hsts")
        self.assertIsNone(early["first_redirect"])
        self.assertIn({"check": "http_redirect", "result": "unknown",
                       "code": None}, early["failing_checks"])
        # the same host judged over the whole day: the redirect is there
        whole = self.hosts("--since", iso(at(0)))["early.test"]
        self.assertTrue(whole["counters_exact"])
        self.assertEqual(whole["first_redirect"]["verdict"], "secure")
        # a clear-text request inside the window is still a finding
        inside = hosts["inside.test"]
        self.assertTrue(inside["counters_exact"])
        self.assertIn("redirects.http.no_redirect",
                      {p["code"] for p in inside["problems"]})

    def test_text_says_what_is_per_day(self):
        out = self.run_ok("audit", "--since", iso(at(10, 30))).out
        self.assertIn("counted per UTC day", out)
        self.assertIn("HTTP and CONN per whole UTC day: the window cuts a day"
                      " with traffic outside it", out)


if __name__ == "__main__":
    unittest.main()
