"""Changes take effect at once (README.md "Signals and reloading"): a
running proxy notices within 2 s that another process changed its store
(PRAGMA data_version, watched by the writer thread) and reloads the
policies and the preload list as SIGHUP does, with no signal; its own hop
records never trigger a reload. `run --pid-file PATH` (written once the
proxy listens, removed at exit; an unwritable one is exit 2 with nothing
started) and `hstsproxy reload [--pid-file PATH]` (SIGHUP; a missing or
malformed pid file is exit 2, a stale one exit 3 and nothing signalled)."""

import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

TAKE_EFFECT_S = 2.0  # the contract
RELOADED_RE = re.compile(r"^hstsproxy: reloaded \(preload: (\S+) (\d+) "
                         r"hosts, learned: (\d+), manual: (\d+)\)$")
EXIT_OK, EXIT_USAGE, EXIT_FAIL = 0, 2, 3


class StoreWatch(H.ProxyTestCase):
    def setUp(self):
        self.db = os.path.join(self.tmp, "w-%s.db" % self._testMethodName)
        self.o = self.origin()

    def start(self, *args):
        return self.proxy(U.maps(self.o.port, "added.test", "listed.test",
                                 "plain.test") + list(args), db=self.db)

    def get(self, c, host, path):
        c.send(H.http_request("GET", "http://%s%s" % (host, path), host))
        return c.read_response()

    def reloads(self, p):
        return len([l for l in p.stderr_lines if RELOADED_RE.match(l)])

    def wait_status(self, c, host, status):
        """Asks until host gets status; returns the seconds it took."""
        t0 = time.monotonic()
        i = 0
        while True:
            i += 1
            r = self.get(c, host, "/echo?%d" % i)
            if r.status == status:
                return time.monotonic() - t0
            self.assertLess(time.monotonic() - t0, TAKE_EFFECT_S + 3,
                            "no %d for %s" % (status, host))
            time.sleep(0.05)

    def test_policy_add_elsewhere_upgrades_within_2s(self):
        p = self.start()
        c = self.raw(p.port)
        self.assertEqual(self.get(c, "added.test", "/echo?a").status, 200)
        # our own hop records and traffic counts are commits too: they
        # must not look like another process's change
        for i in range(20):
            self.assertEqual(self.get(c, "plain.test", "/echo?p%d" % i).status,
                             200)
        time.sleep(1.2)
        self.assertEqual(self.reloads(p), 0, p.stderr())
        t0 = time.monotonic()  # from the start of `policy add`
        U.add_policy(self.db, "added.test")
        self.wait_status(c, "added.test", 307)
        took = time.monotonic() - t0
        self.assertLess(took, TAKE_EFFECT_S, "took %.2fs" % took)
        print("policy add -> 307 in %.2f s" % took, file=sys.stderr)
        U.cli(self.db, "policy", "delete", "added.test")
        self.wait_status(c, "added.test", 200)
        U.import_text_list(self.db, os.path.join(self.tmp, "l.txt"),
                           [("listed.test", False)])
        self.wait_status(c, "listed.test", 307)
        H.wait_until(lambda: self.reloads(p) >= 3, 5, what="3 reloads")
        p.stop()

    def test_pid_file_and_reload(self):
        pidf = os.path.join(self.tmp, "run", "hp.pid")
        os.mkdir(os.path.dirname(pidf))
        p = self.start("--pid-file", pidf)
        with open(pidf) as f:
            self.assertEqual(f.read(), "%d\n" % p.pid)
        r = U.cli(self.db, "reload", "--pid-file", pidf)
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        H.wait_until(lambda: self.reloads(p) >= 1, 5, what="a reload")
        p.assert_alive()
        p.stop()
        self.assertFalse(os.path.exists(pidf), "pid file left at exit")

    def reload_fails(self, pidf, code, *needles):
        r = U.cli(self.db, "reload", "--pid-file", pidf, check=False)
        self.assertEqual(r.returncode, code, r.stderr)
        self.assertTrue(r.stderr.startswith("hstsproxy reload: "), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)

    def test_reload_errors(self):
        pidf = os.path.join(self.tmp, "x.pid")
        self.reload_fails(pidf, EXIT_USAGE, pidf, "No such file")
        for text in ("", "abc\n", "12x\n", "1\n", "-5\n"):
            with open(pidf, "w") as f:
                f.write(text)
            self.reload_fails(pidf, EXIT_USAGE, "not a process id")
        gone = subprocess.Popen(["true"])
        gone.wait()
        with open(pidf, "w") as f:
            f.write("%d\n" % gone.pid)
        self.reload_fails(pidf, EXIT_FAIL, "stale", str(gone.pid))
        other = subprocess.Popen(["sleep", "30"])
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        with open(pidf, "w") as f:
            f.write("%d\n" % other.pid)
        self.reload_fails(pidf, EXIT_FAIL, "stale", "sleep")
        time.sleep(0.2)
        self.assertIsNone(other.poll(), "reload signalled a stranger")

    def test_unwritable_pid_file_starts_nothing(self):
        for pidf in (os.path.join(self.tmp, "no", "such", "dir.pid"),
                     self.tmp):
            r = subprocess.run([H.proxy_bin(), "--db", self.db, "run",
                                "--listen", "127.0.0.1:0", "--pid-file",
                                pidf], capture_output=True, text=True,
                               timeout=30, env=H.clean_env())
            self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
            self.assertIn("hstsproxy run: --pid-file %s: " % pidf, r.stderr)
            self.assertNotIn("listening", r.stderr)
            self.assertFalse(os.path.exists(self.db), "a store was made")


if __name__ == "__main__":
    H.main()
