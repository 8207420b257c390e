"""Retention through the real binary (README "Keeping months of logs"):

- run --retain: a store holding hops, probes and per-day rows of long
  ago and of today; the proxy's writer deletes the old ones soon after
  start (in small steps) and keeps today's, the per-host totals and the
  policies; the status page counts the rows pruned and shows the
  store's size and oldest hop; `--retain off` keeps everything; a bad value is exit 2.
- hstsproxy prune --older-than beside a running proxy that keeps
  upgrading: prune waits its turn (small transactions), the proxy's
  hops are all committed (no failure said, none given up), the store
  passes integrity_check; --vacuum shrinks the file.
- store stats [--json]: rows per table, oldest and newest, schema
  version, file size; with several --db each store and their sum; a
  store given twice is exit 2; a store of a newer schema among several
  is exit 3 naming it.
"""

import json
import os
import sqlite3
import sys
import threading
import time

sys.dont_write_bytecode = True
import faults_util as F  # noqa: E402
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

DAY_MS = 86400000
OLD_DAYS = 200
OLD_HOPS = 30000
WAIT_S = 20.0
PACE_S = 0.005  # a busy proxy, not a saturated writer (prune waits its turn)


def seed(db, old=OLD_HOPS):
    """Adds `old` hops, one probe and per-day rows dated OLD_DAYS ago, and
    one of each dated now, straight into the store (a copy of what months
    of traffic leave)."""
    now = int(time.time() * 1000)
    then = now - OLD_DAYS * DAY_MS
    con = sqlite3.connect(db)
    with con:
        cols = ("time_ms, duration_us, request_id, chain_id, hop, client,"
                " method, url, host, status, kind, bootstrap")
        con.executemany(
            "INSERT INTO hop (%s) VALUES (?, 0, ?, ?, 0, '127.0.0.1', 'GET',"
            " ?, 'old.test', 307, 'hsts-upgrade', 0)" % cols,
            [(then + i, "%016x" % i, "%016x" % i, "http://old.test/%d" % i)
             for i in range(old)])
        con.execute(
            "INSERT INTO hop (%s) VALUES (?, 0, 'ffff', 'ffff', 0,"
            " '127.0.0.1', 'GET', 'http://new.test/', 'new.test', 307,"
            " 'hsts-upgrade', 0)" % cols, (now,))
        for t, host in ((then, "old.test"), (now, "new.test")):
            con.execute("INSERT INTO probe (host, port, time, ok, outcome,"
                        " reason_text) VALUES (?, 443, ?, 0, 'ignored',"
                        " 'seeded')", (host, t // 1000))
            con.execute("INSERT INTO host_traffic_day (host, day, upgrades)"
                        " VALUES (?, ?, 1)", (host, t // DAY_MS))
            con.execute("INSERT INTO host_traffic (host, first_seen,"
                        " last_seen, upgrades) VALUES (?, ?, ?, 1)",
                        (host, t, t))
    con.close()


def counts(db):
    con = sqlite3.connect(db)
    try:
        return {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in ("hop", "probe", "host_traffic_day", "host_traffic",
                          "policy")}
    finally:
        con.close()


class Retention(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self._testMethodName)
        U.add_policy(self.db, "manual.test")
        seed(self.db)

    def test_run_retain(self):
        p = self.proxy(["--retain", "30d"], db=self.db)
        H.wait_until(lambda: counts(self.db)["hop"] == 1, WAIT_S,
                     what="the old hops pruned")
        H.wait_until(lambda: counts(self.db)["host_traffic_day"] == 1,
                     WAIT_S, what="the old per-day rows pruned")
        self.assertEqual(counts(self.db), {"hop": 1, "probe": 1,
                                           "host_traffic_day": 1,
                                           "host_traffic": 2, "policy": 1})
        page = F.status(p)
        self.assertEqual(page["log rows pruned"], OLD_HOPS + 2)
        # measured at start (once a minute): the store as it was then
        self.assertRegex(page["store size"], r"^\d+\.\d MiB$")
        old = time.strftime("%Y-%m-%d", time.gmtime(
            time.time() - OLD_DAYS * 86400))
        self.assertTrue(page["oldest hop"].startswith(old), page)
        p.stop()

    def test_retain_off_and_bad(self):
        p = self.proxy(["--retain", "off"], db=self.db)
        time.sleep(1.5)  # the writer would have started pruning by now
        self.assertEqual(counts(self.db)["hop"], OLD_HOPS + 1)
        p.stop()
        r = U.cli(self.db, "run", "--retain", "90x", check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--retain 90x: expected a duration", r.stderr)

    def test_prune_beside_proxy(self):
        o = self.origin()
        p = self.proxy(U.maps(o.port, "manual.test") + ["--retain", "off"],
                       db=self.db)
        stop = threading.Event()
        sent = []

        def client():
            with H.RawClient(p.port) as c:
                while not stop.is_set():
                    c.send(H.http_request("GET", "http://manual.test/%d"
                                          % len(sent), "manual.test"))
                    assert c.read_response().status == 307
                    sent.append(1)
                    time.sleep(PACE_S)
        t = threading.Thread(target=client)
        t.start()
        try:
            r = U.cli(self.db, "prune", "--older-than", "30d")
        finally:
            stop.set()
            t.join()
        self.assertIn("pruned %d hops, 1 probes, 1 per-day rows older than"
                      % OLD_HOPS, r.stdout)
        self.assertGreater(len(sent), 0)
        p.stop()
        self.assertNotIn("cannot write hop log", p.stderr())
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        self.assertEqual(con.execute("SELECT count(*) FROM hop WHERE url"
                                     " LIKE 'http://manual.test/%'")
                         .fetchone()[0], len(sent))
        self.assertEqual(con.execute("SELECT sum(failed), sum(dropped) FROM"
                                     " writer_stats").fetchone(), (0, 0))
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone(),
                         ("ok",))
        r = U.cli(self.db, "prune", "--older-than", "30d", "--vacuum")
        self.assertIn("pruned 0 hops", r.stdout)
        self.assertRegex(r.stdout, r"vacuumed: [\d.]+ MiB -> [\d.]+ MiB")
        r = U.cli(self.db, "prune", check=False)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--older-than DURATION is missing", r.stderr)

    def test_store_stats(self):
        r = U.cli(self.db, "store", "stats", "--json")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["path"], self.db)
        con = sqlite3.connect(self.db)
        self.addCleanup(con.close)
        self.assertEqual(doc["schema_version"],
                         con.execute("PRAGMA user_version").fetchone()[0])
        self.assertGreater(doc["file_bytes"], 0)
        hop = doc["tables"]["hop"]
        self.assertEqual(hop["rows"], OLD_HOPS + 1)
        old = time.strftime("%Y-%m-%d", time.gmtime(
            time.time() - OLD_DAYS * 86400))
        self.assertTrue(hop["oldest"].startswith(old), hop)
        self.assertTrue(hop["newest"].startswith(
            time.strftime("%Y-%m-%d", time.gmtime())), hop)
        self.assertEqual(doc["tables"]["policy"]["rows"], 1)
        self.assertIsNone(doc["tables"]["preload_entry"]["oldest"])
        r = U.cli(self.db, "store", "stats")
        self.assertIn("hop", r.stdout)
        self.assertIn("%d rows, %s" % (OLD_HOPS + 1, old), r.stdout)

    def test_store_stats_several(self):
        other = os.path.join(self.tmp, "other.db")
        U.add_policy(other, "other.test")
        seed(other, 10)
        r = H.subprocess.run([H.proxy_bin(), "--db", self.db, "--db", other,
                              "store", "stats", "--json"],
                             capture_output=True, text=True,
                             env=H.clean_env(), timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([d["path"] for d in docs], [self.db, other, None])
        self.assertEqual(docs[2]["stores"], 2)
        self.assertEqual(docs[2]["tables"]["hop"]["rows"], OLD_HOPS + 12)
        self.assertEqual(docs[2]["tables"]["policy"]["rows"], 2)
        same = os.path.join(self.tmp, "same-link.db")
        os.link(self.db, same)
        r = H.subprocess.run([H.proxy_bin(), "--db", self.db, "--db", same,
                              "store", "stats"], capture_output=True,
                             text=True, env=H.clean_env(), timeout=30)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--db %s: the same store as --db %s, given twice"
                      % (same, self.db), r.stderr)
        newer = os.path.join(self.tmp, "newer.db")
        U.add_policy(newer, "n.test")
        con = sqlite3.connect(newer)
        con.execute("PRAGMA user_version = 99")
        con.close()
        r = H.subprocess.run([H.proxy_bin(), "--db", self.db, "--db", newer,
                              "store", "stats"], capture_output=True,
                             text=True, env=H.clean_env(), timeout=30)
        self.assertEqual(r.returncode, 3, r)
        self.assertIn(newer, r.stderr)
        self.assertIn("99", r.stderr)
        r = H.subprocess.run([H.proxy_bin(), "--db", self.db, "--db", other,
                              "policy", "list"], capture_output=True,
                             text=True, env=H.clean_env(), timeout=30)
        self.assertEqual(r.returncode, 2, r)


if __name__ == "__main__":
    H.main()
