"""Several proxies' stores read as one (README "Several proxies"):
`hstsproxy --db A --db B log` interleaves the hops of both stores by time,
each naming its store ("store" in the JSON, a column in the text and
chain views); `audit` merges the hosts and sums their counters, its
provenance naming the stores; the same store given twice is refused (exit 2), a store of
a newer schema among them stops the command naming it (exit 3), --follow
over several stores is a usage error, and the commands that do not read
several stores say so (exit 2).
"""

import json
import os
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

TIMEOUT = 30


def hstsproxy(*argv):
    return subprocess.run([H.proxy_bin()] + list(argv), capture_output=True,
                          text=True, env=H.clean_env(), timeout=TIMEOUT)


class SeveralStores(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = os.path.join(cls.tmp, "a", "store.db")
        cls.b = os.path.join(cls.tmp, "b", "store.db")
        proxies = {}
        for db in (cls.a, cls.b):
            U.add_policy(db, "manual.test")
            proxies[db] = H.start_proxy(["--retain", "off"], workdir=cls.tmp,
                                        db=db)
        cls.order = []
        try:
            for i in range(2):
                for db, tag in ((cls.a, "a"), (cls.b, "b")):
                    url = "http://manual.test/%s%d" % (tag, i)
                    with H.RawClient(proxies[db].port) as c:
                        c.send(H.http_request("GET", url, "manual.test"))
                        assert c.read_response().status == 307
                    cls.order.append((url, db))
                    time.sleep(0.01)  # distinct milliseconds
        finally:
            for p in proxies.values():
                p.stop()

    def test_json_interleaved(self):
        r = hstsproxy("--db", self.a, "--db", self.b, "log", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        hops = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([(h["url"], h["store"]) for h in hops], self.order)
        times = [h["time"] for h in hops]
        self.assertEqual(times, sorted(times))
        single = hstsproxy("--db", self.a, "log", "--json")
        self.assertNotIn('"store"', single.stdout)

    def test_text_and_chains(self):
        r = hstsproxy("--db", self.a, "--db", self.b, "log")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l for l in r.stdout.splitlines() if "manual.test/" in l]
        self.assertEqual(len(rows), 4, r.stdout)
        for (url, db), row in zip(self.order, rows):
            self.assertIn(url, row)
            self.assertTrue(row.endswith("store " + db), row)
        r = hstsproxy("--db", self.a, "--db", self.b, "log", "--chains")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("store " + self.a), 2, r.stdout)
        self.assertEqual(r.stdout.count("store " + self.b), 2, r.stdout)

    def test_bad_input(self):
        link = os.path.join(self.tmp, "a-again.db")
        if not os.path.exists(link):
            os.link(self.a, link)
        r = hstsproxy("--db", self.a, "--db", link, "log")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("hstsproxy log: --db %s: the same store as --db %s, "
                      "given twice" % (link, self.a), r.stderr)
        newer = os.path.join(self.tmp, "newer.db")
        if not os.path.exists(newer):
            U.add_policy(newer, "n.test")
            con = sqlite3.connect(newer)
            con.execute("PRAGMA user_version = 99")
            con.close()
        r = hstsproxy("--db", self.a, "--db", newer, "log")
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("hstsproxy log: %s: database schema version 99 is "
                      "newer" % newer, r.stderr)
        r = hstsproxy("--db", self.a, "--db", self.b, "log", "--follow")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("several stores cannot be followed", r.stderr)
        r = hstsproxy("--db", self.a, "--db", self.b, "policy", "list")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("only log, audit and store stats read several stores",
                      r.stderr)

    def test_audit_as_one(self):
        def audit(*dbs):
            argv = []
            for db in dbs:
                argv += ["--db", db]
            r = hstsproxy(*argv, "audit", "--format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            return json.loads(r.stdout.splitlines()[0])
        a, b, both = audit(self.a), audit(self.b), audit(self.a, self.b)
        self.assertEqual(both["provenance"]["stores"], [self.a, self.b])
        self.assertNotIn("stores", a["provenance"])
        self.assertEqual([h["host"] for h in both["hosts"]], ["manual.test"])
        for field in ("upgrades", "http_requests"):
            self.assertEqual(both["hosts"][0][field],
                             a["hosts"][0][field] + b["hosts"][0][field])
        self.assertEqual(both["hosts"][0]["upgrades"], 4)
        runs = both["provenance"]["hop_records"]["writer_runs"]
        self.assertEqual(runs, a["provenance"]["hop_records"]["writer_runs"]
                         + b["provenance"]["hop_records"]["writer_runs"])
        r = hstsproxy("--db", self.a, "--db", self.b, "audit")
        self.assertIn("stores 2 read as one: %s %s" % (self.a, self.b),
                      " ".join(r.stdout.split()))  # the text wraps


if __name__ == "__main__":
    H.main()
