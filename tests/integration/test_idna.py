"""International names typed by people (issue 13): U-labels are
converted to A-labels with IDNA 2008 (libidn2, UTS #46 non-transitional,
as browsers do) by `policy query|add|delete`, `probe`, `log --host` and
the proxy's --map; what is shown keeps both forms."""

import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

BUECHER = "xn--bcher-kva.test"    # bücher.test
STRASSE = "xn--strae-oqa.test"    # straße.test (non-transitional: ß kept)


class Idna(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "idna-%s.db" % self._testMethodName)

    def test_policy_commands_take_u_labels(self):
        r = U.cli(self.db, "policy", "add", "BÜCHER.test",
                  "--include-subdomains")
        self.assertTrue(r.stdout.startswith(
            "added manual policy for %s (bücher.test): " % BUECHER), r.stdout)
        doc = json.loads(U.cli(self.db, "policy", "query", "www.bücher.test",
                               "--json").stdout)
        self.assertEqual((doc["host"], doc["normalized"], doc["unicode"],
                          doc["matched_host"], doc["source"]),
                         ("www.bücher.test", "www." + BUECHER,
                          "www.bücher.test", BUECHER, "manual"))
        doc = json.loads(U.cli(self.db, "policy", "query", BUECHER,
                               "--json").stdout)
        self.assertEqual((doc["unicode"], doc["hsts"]), ("bücher.test", True))
        doc = json.loads(U.cli(self.db, "policy", "query", "plain.test",
                               "--json", check=False).stdout)
        self.assertIsNone(doc["unicode"])
        text = U.cli(self.db, "policy", "query", "straße.test",
                     check=False).stdout
        self.assertIn("normalized          %s (straße.test)" % STRASSE, text)
        r = U.cli(self.db, "policy", "query", "a☃\u0301b..test", check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("not a valid internationalized domain name", r.stderr)
        r = U.cli(self.db, "policy", "delete", "bücher.test")
        self.assertEqual(r.stdout, "deleted manual policy for %s "
                         "(bücher.test)\n" % BUECHER)

    def test_probe_takes_u_labels(self):
        closed, port = H.refused_port()
        self.addCleanup(closed.close)
        r = U.cli(self.db, "probe", "bücher.test", "--json", "--timeout",
                  "5", "--map", "bücher.test=127.0.0.1:%d" % port,
                  check=False)
        self.assertEqual(r.returncode, 3, r)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["host"], doc["ok"]), (BUECHER, False))
        r = U.cli(self.db, "probe", "a\u2603b.test", check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("not a valid internationalized domain name", r.stderr)

    def test_proxy_maps_and_logs_both_forms(self):
        o = self.origin()
        U.add_policy(self.db, "bücher.test")
        p = self.proxy(U.maps(o.port, "bücher.test", "straße.test"),
                       db=self.db)
        c = self.raw(p.port)
        c.send(H.http_request("GET", "http://%s/x" % BUECHER, BUECHER))
        r = c.read_response()
        self.assertEqual(r.status, 307, r)
        self.assertEqual(r.headers.get("location"), "https://%s/x" % BUECHER)
        c.send(H.http_request("GET", "http://%s/echo" % STRASSE, STRASSE))
        self.assertEqual(c.read_response().status, 200)  # mapped: forwarded
        H.wait_until(lambda: U.cli(self.db, "log", "--json").stdout, 10,
                     what="the upgrade logged")
        out = U.cli(self.db, "log", "--host", "bücher.test").stdout
        self.assertIn("http://%s/x → https://%s/x" % (BUECHER, BUECHER), out)
        self.assertIn("unicode: bücher.test", out)
        p.stop()


if __name__ == "__main__":
    unittest.main()
