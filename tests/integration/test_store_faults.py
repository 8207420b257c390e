"""Store faults through the real binary (README "Store faults"): none of
them stops the proxy or loses a record it had accepted, except what
`kill -9` catches still queued.

- kill -9 under load (internal upgrades, forwards, origin redirects from
  several clients) right after a probe taught a policy: the store passes
  `PRAGMA integrity_check` and keeps the learned policy; the hops lost
  are no more than the status page counted pending just before the kill,
  the newest ones only, answered in the last batch window (plus a
  margin); a restart on the store works. The upgrades are paced to what
  the writer commits (faster, the queue grows and kill -9 loses it all).
- A store locked by another connection (BEGIN EXCLUSIVE), a full disk
  (the store on a small tmpfs in a private mount namespace, then a
  filler file), a disk gone read-only (every pwrite64 of the proxy made
  to fail with EROFS: the kernel refuses to remount a tmpfs read-only
  while a file on it is open for writing): requests are answered
  promptly, the failure is reported once naming the store and the cause,
  the status page counts the records waiting, and once the cause is gone
  they are all committed and the recovery is reported.
- A store on a file system that is read-only at start: `run` refuses to
  start (exit 3) naming the store and the cause.
"""

import errno
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
from tls_util import Reply, tls_origin  # noqa: E402

BATCH_S = 0.1          # STORE_WRITER_BATCH_MS
RETRY_S = 1.0          # STORE_WRITER_RETRY_MS
BUSY_S = 5.0           # STORE_BUSY_TIMEOUT_MS: a lock fails after it
LOSS_MARGIN_S = 1.0    # scheduling and commit time beyond the window
PROMPT_S = 1.0         # an answer while the store fails: "at once"
WAIT_S = 20.0          # polled waits (reports, catching up)
CLIENTS = 6            # the first UPGRADERS only upgrade, the others
UPGRADERS = 4          # forward (the origin answers in ~40 ms)
# Upgrades per upgrader and second: what the writer keeps up with even in
# a sanitizer build (at full speed the loops outrun it: the queue grows).
UPGRADE_RATE = 400
# The proxy runs with H.small_quarantine_env(): ASan's default quarantine
# (256 MB) makes every SQLite allocation of the writer touch fresh pages,
# slowing it down some fifty times.
KILL_AFTER_HOPS = 1500  # answered hops before the kill
FAULT_ROUNDS = 10      # exchanges while a fault lasts (each kind once)
FAILED = "hstsproxy: store %s: cannot write hop log: %s"
RECOVERED = "hstsproxy: store %s: hop log: writing again"
UPGRADE_HOST = "thing.dev"  # the builtin list's "dev" (includeSubDomains)
KINDS = (("upgrade", 307), ("forward", 200), ("redirect", 302))


def target(kind, tag):
    """(host, URL) of a request of kind; tag makes the URL unique."""
    if kind == "upgrade":
        return UPGRADE_HOST, "http://%s/%s" % (UPGRADE_HOST, tag)
    if kind == "forward":
        return "plain.test", "http://plain.test/echo?n=%s" % tag
    return "plain.test", ("http://plain.test/redirect?code=302&to=http%%3A"
                          "%%2F%%2Fother.test%%2F&n=%s" % tag)


def exchange(c, kind, tag):
    """One request of kind on RawClient c; returns the URL when the proxy
    logs a hop for it (an upgrade, an origin's redirect), else None."""
    host, url = target(kind, tag)
    c.send(H.http_request("GET", url, host))
    status = c.read_response().status
    if status != dict(KINDS)[kind]:
        raise AssertionError("%s: status %d" % (url, status))
    return None if kind == "forward" else url


def drive(p, tag, rounds=FAULT_ROUNDS):
    """rounds x each kind on one connection: (hop URLs, slowest answer)."""
    urls, slowest = [], 0.0
    with H.RawClient(p.port) as c:
        for i in range(rounds):
            for kind, _ in KINDS:
                t0 = time.monotonic()
                url = exchange(c, kind, "%s-%d" % (tag, i))
                slowest = max(slowest, time.monotonic() - t0)
                if url:
                    urls.append(url)
    return urls, slowest


class Load:
    """CLIENTS threads sending requests until stop(): upgrades, or
    forwards and origin redirects in turn; keeps when each hop's answer
    arrived and every error with its time."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.answered = {}  # hop URL -> monotonic time of the answer
        self.sent = set()   # every URL sent
        self.errors = []    # (monotonic time, client, error)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(i,))
                        for i in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def _client(self, i):
        j, due = 0, time.monotonic()
        try:
            with H.RawClient(self.port) as c:
                while not self.stopping.is_set():
                    kind = KINDS[0 if i < UPGRADERS else 1 + j % 2][0]
                    if i < UPGRADERS:  # paced, not waiting for anything
                        due += 1.0 / UPGRADE_RATE
                        time.sleep(max(0.0, due - time.monotonic()))
                    tag = "c%d-%d" % (i, j)
                    with self.lock:
                        self.sent.add(target(kind, tag)[1])
                    url = exchange(c, kind, tag)
                    if url:
                        with self.lock:
                            self.answered[url] = time.monotonic()
                    j += 1
        except Exception as e:  # noqa: BLE001 - judged by the test
            with self.lock:
                self.errors.append((time.monotonic(), i, repr(e)))

    def hops(self):
        with self.lock:
            return len(self.answered)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(H.IO_TIMEOUT + 5)


class StoreFaults(H.ProxyTestCase):
    def setUp(self):
        self.o = self.origin()
        self.maps = U.maps(self.o.port, "plain.test", UPGRADE_HOST)

    # -- helpers

    @staticmethod
    def reported(p, start):
        return [l for l in p.stderr_lines if l.startswith(start)]

    def wait_line(self, p, start):
        H.wait_until(lambda: self.reported(p, start), WAIT_S,
                     what="stderr %r; stderr:\n%s" % (start, p.stderr()))

    def assert_reported_once(self, p, db, cause):
        failed = [l for l in p.stderr_lines if "cannot write hop log" in l]
        self.assertEqual(len(failed), 1, p.stderr())
        self.assertTrue(failed[0].startswith(FAILED % (db, cause)), failed)
        self.assertEqual(p.stderr_lines.count(RECOVERED % db), 1, p.stderr())

    def fail_while(self, p, db, cause, stored):
        """The store fails for cause: the proxy keeps answering at once,
        reports it, counts what waits. Drives traffic across two retries;
        returns the hop URLs answered meanwhile (none in the store yet)."""
        urls, slowest = drive(p, "fault")
        self.wait_line(p, FAILED % (db, cause))
        written = F.status(p)["hop records written"]
        until = time.monotonic() + 2 * RETRY_S + BATCH_S
        while time.monotonic() < until:  # retries fail meanwhile
            more, slow = drive(p, "still-%d" % len(urls), 5)
            urls, slowest = urls + more, max(slowest, slow)
        self.assertLess(slowest, PROMPT_S)
        st = F.status(p)
        self.assertEqual(st["hop records written"], written)
        self.assertGreaterEqual(st["hop records pending"], len(urls))
        self.assertEqual((st["hop records failed"],
                          st["hop records dropped"]), (0, 0))
        self.assertEqual(set(urls) & set(stored()), set())
        return urls

    def caught_up(self, p, db, urls, stored_urls):
        self.wait_line(p, RECOVERED % db)
        H.wait_until(lambda: sorted(stored_urls()) == sorted(urls), WAIT_S,
                     what="every hop in the store")
        st = F.status(p)
        self.assertEqual((st["hop records pending"], st["hop records failed"],
                          st["hop records dropped"]), (0, 0, 0))

    # -- the faults

    def test_kill_9_under_load(self):
        db = os.path.join(self.tmp, "kill.db")
        pki = H.make_pki(os.path.join(self.tmp, "pki"), names=("secure.test",))
        tls = tls_origin(self, pki, {(None, "/"): Reply(200, [(
            "Strict-Transport-Security", "max-age=86400")])})
        maps = self.maps + U.maps(self.o.port, "secure.test")
        args = ["--probe", "on", "--ca-file", pki["ca.pem"], "--workers", "2",
                "--map", "secure.test:443=127.0.0.1:%d" % tls.port] + maps
        p = self.proxy(args, db=db, env=H.small_quarantine_env())
        load = Load(p.port)
        self.addCleanup(load.stop)
        H.wait_until(lambda: load.hops() >= KILL_AFTER_HOPS // 3, WAIT_S,
                     what="load")
        r = self.curl("https://secure.test/", proxy=p.port,
                      args=["--cacert", pki["ca.pem"]])
        self.assertEqual(r.rc, 0, r)
        H.wait_until(lambda: F.status(p)["learned policies"] == 1, WAIT_S,
                     what="the learned policy published")
        H.wait_until(lambda: self.learned(db), WAIT_S,
                     what="the learned policy committed")
        H.wait_until(lambda: load.hops() >= KILL_AFTER_HOPS, WAIT_S * 2,
                     what="%d hops answered" % KILL_AFTER_HOPS)
        self.assertEqual(load.errors, [])
        t_status = time.monotonic()
        pending = F.status(p)["hop records pending"]
        t_kill = time.monotonic()
        p.kill()  # SIGKILL
        load.stop()
        self.assertEqual([e for e in load.errors if e[0] < t_kill], [])

        con = sqlite3.connect(db)
        self.addCleanup(con.close)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(),
                         [("ok",)])
        stored = {u for (u,) in con.execute("SELECT url FROM hop")}
        con.close()
        self.assertTrue(self.learned(db))
        self.assertEqual(stored - load.sent, set())
        self.check_loss(load.answered, stored, t_status, pending, t_kill)

        p2 = self.proxy(maps, db=db)
        c = self.raw(p2.port)
        c.send(H.http_request("GET", "http://secure.test/after",
                              "secure.test"))
        r = c.read_response()
        self.assertEqual((r.status, r.headers.get("location")),
                         (307, "https://secure.test/after"))
        urls, _ = drive(p2, "restarted", 3)
        p2.stop()
        hops = {h["url"] for h in U.log_json(db)}
        self.assertTrue({"http://secure.test/after"} | set(urls) <= hops)
        con = sqlite3.connect(db)
        last = con.execute("SELECT submitted, written, dropped, failed FROM "
                           "writer_stats ORDER BY id DESC LIMIT 1").fetchone()
        con.close()
        self.assertEqual(last[1:], (last[0], 0, 0))

    def check_loss(self, answered, stored, t_status, pending, t_kill):
        """Only what was queued is lost, only the newest of it, only the
        last batch window of it: every hop is submitted before it is
        answered, and the queue is FIFO."""
        missing = sorted(t for u, t in answered.items() if u not in stored)
        if not missing:
            return
        # queued when the status page was read: counted there
        self.assertLessEqual(sum(t < t_status for t in missing), pending)
        # the tail only: none older than a hop that was committed
        newest = max(t for u, t in answered.items() if u in stored)
        self.assertGreater(missing[0], newest - LOSS_MARGIN_S)
        # the writer keeps up: the last batch window only
        self.assertLess(t_kill - missing[0], BATCH_S + LOSS_MARGIN_S,
                        "%d hops missing, %d records pending at the kill"
                        % (len(missing), pending))

    @staticmethod
    def learned(db):
        r = U.cli(db, "policy", "query", "secure.test", "--json", check=False)
        return r.returncode == 0 and \
            json.loads(r.stdout)["source"] == "learned"

    def test_locked_store(self):
        db = os.path.join(self.tmp, "locked.db")
        p = self.proxy(self.maps, db=db)

        def stored():
            con = sqlite3.connect(db, timeout=BUSY_S)
            try:
                return [u for (u,) in con.execute("SELECT url FROM hop")]
            finally:
                con.close()
        urls, _ = drive(p, "warm", 3)
        H.wait_until(lambda: len(stored()) == len(urls), WAIT_S,
                     what="the warm-up hops")
        lock = sqlite3.connect(db, isolation_level=None, timeout=0)
        self.addCleanup(lock.close)
        lock.execute("BEGIN EXCLUSIVE")
        urls += self.fail_while(p, db, "database is locked", stored)
        lock.execute("COMMIT")
        self.caught_up(p, db, urls, stored)
        self.assert_reported_once(p, db, "database is locked")
        p.stop()
        con = sqlite3.connect(db)
        self.addCleanup(con.close)
        self.assertEqual(con.execute(
            "SELECT written = submitted, dropped, failed FROM writer_stats"
        ).fetchall(), [(1, 0, 0)])

    def test_full_disk(self):
        ns = F.MountNS(self, 4)
        db = os.path.join(ns.dir, "store.db")
        p = self.proxy(self.maps, db=db, wrapper=ns.wrapper())

        def stored():
            return [u for (u,) in ns.query(db, "SELECT url FROM hop")]
        urls, _ = drive(p, "warm", 3)
        H.wait_until(lambda: len(stored()) == len(urls), WAIT_S,
                     what="the warm-up hops")
        filler = ns.path("filler")
        F.fill_disk(filler)
        urls += self.fail_while(p, db, "database or disk is full", stored)
        os.unlink(filler)
        self.caught_up(p, db, urls, stored)
        self.assert_reported_once(p, db, "database or disk is full")
        self.assertEqual(ns.query(db, "PRAGMA integrity_check"), [("ok",)])
        p.stop()

    def test_read_only_disk(self):
        ns = F.MountNS(self, 4)
        db = os.path.join(ns.dir, "store.db")
        ns.run([H.proxy_bin(), "--db", db, "policy", "add", "ro.test"])
        ns.remount("ro")
        p = H.start_proxy(self.maps, workdir=self.tmp, db=db,
                          wrapper=ns.wrapper(), wait=False)
        self.addCleanup(p.kill)
        err = p.stop(sig=None, expect_code=3)
        self.assertIn("%s: cannot open or create: Read-only file system"
                      % db, err)
        ns.remount("rw")
        p = self.proxy(self.maps + U.maps(self.o.port, "ro.test"), db=db,
                       wrapper=ns.wrapper())
        c = self.raw(p.port)
        c.send(H.http_request("GET", "http://ro.test/", "ro.test"))
        self.assertEqual(c.read_response().status, 307)
        urls = ["http://ro.test/"]

        def stored():
            return [u for (u,) in ns.query(db, "SELECT url FROM hop")]
        H.wait_until(lambda: stored() == urls, WAIT_S, what="the first hop")
        inj = F.ErofsInjector(self, p.pid)

        def refusing():  # traffic until a write fails (strace attached)
            if inj.failed_to_attach() or self.reported(p, "hstsproxy: store"):
                return True
            urls.extend(drive(p, "attach-%d" % len(urls), 1)[0])
            return False
        H.wait_until(refusing, WAIT_S, what="strace refusing writes")
        if inj.failed_to_attach():
            self.skipTest("strace cannot attach: %s" % inj.failed_to_attach())
        urls += self.fail_while(p, db, "disk I/O error", stored)
        inj.stop()
        self.caught_up(p, db, urls, stored)
        self.assert_reported_once(p, db, "disk I/O error")
        self.assertEqual(ns.query(db, "PRAGMA integrity_check"), [("ok",)])
        p.stop()


if __name__ == "__main__":
    H.main()
