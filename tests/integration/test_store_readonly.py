"""Read-only stores (README "Reading a store you cannot write"): the
commands that only read work on a store they cannot write, and change
nothing there.

A store is made by a real proxy run (an internal upgrade, a forward, an
origin's redirect, a manual policy), then read by `log --json`, `audit
--format json`, `policy query|list|export`, `preload stats` and `store
stats`:
- as the user `nobody` (setpriv), the store a 0444 file in a 0555
  directory owned by root: no -shm can be made there (immutable=1);
- as `nobody` while the proxy that owns it runs, its directory 0755 (the
  -wal and -shm files exist, readable only): what the proxy committed
  is seen;
- as root, through a read-only bind mount in a private mount namespace
  (read-only media; an unlimited user is refused by the file system);
- a copy whose schema is older (user_version lowered) on read-only media:
  a clear error naming the version, exit 3, nothing migrated.
Each time the answers equal those read from the writable original, and
no file in the read-only folder was created or changed.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
import faults_util as F  # noqa: E402
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "--"]
READERS = (("log", "--json"), ("audit", "--format", "json"),
           ("policy", "query", "manual.test", "--json"),
           ("policy", "list", "--json"), ("policy", "export"),
           ("preload", "stats", "--json"), ("store", "stats", "--json"))
TIMEOUT = 30


def run(argv, db, prefix=()):
    return subprocess.run(list(prefix) + [H.proxy_bin(), "--db", db]
                          + list(argv), capture_output=True, text=True,
                          timeout=TIMEOUT, env=H.clean_env())


def stable(argv, out):
    """What must not differ between two readers of the same store."""
    if argv[0] == "audit":
        doc = json.loads(out.splitlines()[0])
        doc.pop("generated", None)
        return json.dumps(doc.get("hosts", doc), sort_keys=True)
    if argv[0] == "store":
        doc = json.loads(out)
        doc.pop("path", None)
        doc.pop("file_bytes", None)
        doc.pop("immutable", None)
        return json.dumps(doc, sort_keys=True)
    return out


def snapshot(folder):
    """Names, sizes and mtimes of the files in folder."""
    return sorted((n, os.stat(os.path.join(folder, n)).st_size,
                   os.stat(os.path.join(folder, n)).st_mtime_ns)
                  for n in os.listdir(folder))


class ReadOnlyStore(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (setpriv, mount namespaces)")
        if shutil.which("setpriv") is None:
            raise unittest.SkipTest("needs setpriv")
        # a world-traversable folder: nobody reaches the stores in it
        cls.top = tempfile.mkdtemp(prefix="hstsproxy-ro-")
        os.chmod(cls.top, 0o755)
        cls.addClassCleanup(shutil.rmtree, cls.top, ignore_errors=True)
        cls.db = os.path.join(cls.top, "orig", "store.db")
        os.makedirs(os.path.dirname(cls.db))
        os.chmod(os.path.dirname(cls.db), 0o755)
        cls.o = cls.class_origin()
        U.add_policy(cls.db, "manual.test")
        p = H.start_proxy(U.maps(cls.o.port, "manual.test", "plain.test"),
                          workdir=cls.tmp, db=cls.db)
        try:
            with H.RawClient(p.port) as c:
                for url, host, status in (
                        ("http://manual.test/a", "manual.test", 307),
                        ("http://plain.test/echo", "plain.test", 200),
                        ("http://plain.test/redirect?code=301&to=https%3A"
                         "%2F%2Fplain.test%2F", "plain.test", 301)):
                    c.send(H.http_request("GET", url, host))
                    assert c.read_response().status == status, url
        finally:
            p.stop()
        cls.expected = {}
        for argv in READERS:
            r = run(argv, cls.db)
            assert r.returncode == 0, (argv, r.stderr)
            cls.expected[argv] = stable(argv, r.stdout)

    def copy_to(self, name, mode_file=0o444, mode_dir=0o555):
        folder = os.path.join(self.top, name)
        os.makedirs(folder)
        shutil.copy(self.db, os.path.join(folder, "store.db"))
        os.chmod(os.path.join(folder, "store.db"), mode_file)
        os.chmod(folder, mode_dir)
        self.addCleanup(os.chmod, folder, 0o755)
        return os.path.join(folder, "store.db")

    def check_readers(self, db, prefix=(), wrap=None):
        folder = os.path.dirname(db)
        before = snapshot(wrap(folder) if wrap else folder)
        for argv in READERS:
            with self.subTest(argv=argv):
                r = run(argv, db, prefix)
                self.assertEqual(r.returncode, 0, (argv, r.stderr))
                self.assertEqual(stable(argv, r.stdout), self.expected[argv])
        self.assertEqual(snapshot(wrap(folder) if wrap else folder), before)

    def test_nobody_readonly_folder(self):
        db = self.copy_to("ro-folder")
        self.check_readers(db, NOBODY)
        r = run(("store", "stats", "--json"), db, NOBODY)
        self.assertTrue(json.loads(r.stdout)["immutable"])

    def test_nobody_while_proxy_runs(self):
        folder = os.path.join(self.top, "live")
        os.makedirs(folder)
        os.chmod(folder, 0o755)
        db = os.path.join(folder, "store.db")
        shutil.copy(self.db, db)
        os.chmod(db, 0o644)
        p = self.proxy(U.maps(self.o.port, "manual.test"), db=db)
        with self.raw(p.port) as c:
            c.send(H.http_request("GET", "http://manual.test/live",
                                  "manual.test"))
            self.assertEqual(c.read_response().status, 307)
        H.wait_until(lambda: "http://manual.test/live" in run(
            ("log", "--json"), db).stdout, 10, what="the hop committed")
        for name in os.listdir(folder):
            os.chmod(os.path.join(folder, name), 0o644)
        r = run(("log", "--json"), db, NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("http://manual.test/live", r.stdout)
        r = run(("policy", "query", "manual.test"), db, NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        p.stop()

    def test_read_only_media(self):
        src = self.copy_to("media-src", 0o644, 0o755)
        ns = F.MountNS(self, 0, ro_bind=os.path.dirname(src))
        db = os.path.join(ns.dir, "store.db")
        self.check_readers(db, ns.wrapper(),
                           wrap=lambda f: os.path.dirname(ns.path("x")))
        r = run(("policy", "add", "other.test"), db, ns.wrapper())
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("Read-only file system", r.stderr)

    def test_older_schema_read_only(self):
        folder = os.path.join(self.top, "old")
        os.makedirs(folder)
        db = os.path.join(folder, "store.db")
        shutil.copy(self.db, db)
        con = sqlite3.connect(db)
        con.execute("PRAGMA user_version = 5")
        con.close()
        os.chmod(db, 0o444)
        os.chmod(folder, 0o555)
        self.addCleanup(os.chmod, folder, 0o755)
        for argv in (("log",), ("policy", "list"), ("store", "stats")):
            r = run(argv, db, NOBODY)
            self.assertEqual(r.returncode, 3, r)
            self.assertIn("%s: older schema (schema version 5, this "
                          "hstsproxy needs" % db, r.stderr)
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 5)
        con.close()


if __name__ == "__main__":
    H.main()
