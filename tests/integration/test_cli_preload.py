"""test_cli_preload.py - `hstsproxy preload import|stats|reset` end to end.

Counts of the real 2016 Chromium list are recomputed here with Python's
json module, independently of the C importer.
"""

import datetime
import hashlib
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import (EXIT_FAIL, EXIT_USAGE, CliTestCase,  # noqa: E402
                      chromium_2016, chromium_counts, shared)

STATS_KEYS = {"list", "builtin", "list_date", "age_days", "stale", "source",
              "format", "sha256", "imported", "bytes", "entries",
              "include_subdomains", "force_https", "duplicates", "skipped",
              "imports"}
TODAY = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")

TEXT_LIST = ("# hosts, one per line\n"
             "one.example includeSubDomains\n"
             "two.example\n")
MOZILLA_LIST = ("/* generated */\n#include <stdint.h>\n%%\n"
                "moz.example, 1\nmoz2.example, 0\nmoz3.example, 0\n%%\n")


class PreloadImport(CliTestCase):

    def test_real_2016_list(self):
        path = chromium_2016()
        expect = chromium_counts(path)
        res = self.run_ok("preload", "import", "--force", path)
        lines = res.out.splitlines()
        self.assertEqual(lines[0], "imported %d hosts (%d force-https, %d "
                         "with subdomains) from %s"
                         % (expect["entries"], expect["force_https"],
                            expect["include_subdomains"], path))
        self.assertEqual(lines[1], "list chromium-%s, dated %s"
                         % (TODAY, TODAY))
        self.assertIn("SIGHUP", res.out)
        self.assertEqual(res.err, "")
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual(set(stats), STATS_KEYS)
        self.assertEqual(stats["list"], "chromium-" + TODAY)
        self.assertEqual((stats["list_date"], stats["age_days"],
                          stats["stale"]), (TODAY, 0, False))
        self.assertIs(stats["builtin"], False)
        self.assertEqual(stats["source"], os.path.realpath(path))
        self.assertEqual(stats["format"], "chromium")
        for key in ("entries", "force_https", "include_subdomains",
                    "duplicates"):
            self.assertEqual(stats[key], expect[key], key)
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(stats["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(stats["bytes"], len(data))
        self.assertRegex(stats["imported"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(stats["imports"], 1)
        text = self.run_ok("preload", "stats").out
        self.assertRegex(text, r"(?m)^active list +chromium-%s$" % TODAY)
        self.assertRegex(text, r"(?m)^entries +%d$" % expect["entries"])

    def test_relative_source_stored_absolute(self):
        self.write("list.txt", "a.test\n")
        res = self.run_raw(("preload", "import", "list.txt", "--force"),
                           env=None, cwd=self.tmp)
        self.assertEqual(res.status, 0, res)
        self.assertIn("from list.txt", res.out)  # as typed
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual(stats["source"],
                         os.path.join(os.path.realpath(self.tmp), "list.txt"))

    def test_import_json_output(self):
        path = self.write("list.txt", TEXT_LIST)
        res = self.run_ok("preload", "import", path, "--json", "--force")
        doc = res.json()
        self.assertEqual(set(doc), STATS_KEYS)
        self.assertEqual((doc["list"], doc["format"], doc["entries"],
                          doc["include_subdomains"], doc["force_https"]),
                         ("text-" + TODAY, "text", 2, 1, 2))

    def test_formats_sniffed_and_forced(self):
        moz = self.write("nsSTSPreloadList.inc", MOZILLA_LIST)
        res = self.run_ok("preload", "import", "--force", moz)
        self.assertTrue(res.out.startswith(
            "imported 3 hosts (3 force-https, 1 with subdomains) from %s\n"
            % moz), res)
        self.assertEqual(self.run_ok("preload", "stats", "--json").json()
                         ["format"], "mozilla")
        txt = self.write("hosts", TEXT_LIST)
        self.run_ok("preload", "import", "--format", "text", txt)
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual((stats["format"], stats["entries"],
                          stats["imports"]), ("text", 2, 2))
        # The Mozilla file read as text is refused, naming the line.
        res = self.run_status(EXIT_FAIL, "preload", "import", moz,
                              "--format", "text")
        self.assertIn("line 1:", self.assert_one_error_line(
            res, "preload import"))

    def test_malformed_changes_nothing(self):
        self.run_ok("preload", "import", "--force",
                    self.write("good.txt", TEXT_LIST))
        before = self.run_ok("preload", "stats", "--json").json()
        cases = [
            ("bad.txt", "ok.example\nalso.example\nnot a host!\n", "line 3:"),
            ("bad.json", '{\n  "entries": [\n    { "name": "a.example", '
             '"include_subdomains": "yes" }\n  ]\n}\n',
             'entry 1 "a.example" (line 3)'),
            ("syntax.json", '{\n  "entries": [\n    { "name": "a.example" }\n'
             '    { "name": "b.example" }\n  ]\n}\n', "line 4, column 5"),
            ("trunc.inc", "%%\na.example, 1\n", "truncated"),
            ("binary.txt", b"a.example\n\x00\x01\x02\n", "line 2: NUL byte"),
            ("long.txt", "a.example\n" + "x" * (10 << 20) + "\n",
             "line 2: longer than"),
            ("empty.txt", "", "empty"),
            ("junk.txt", "1.2.3.4\n[::1]\n", "no entries found"),
        ]
        for name, content, needle in cases:
            with self.subTest(name=name):
                path = self.write(name, content)
                res = self.run_status(EXIT_FAIL, "preload", "import", path)
                line = self.assert_one_error_line(res, "preload import")
                self.assertIn(path, line)
                self.assertIn(needle, line)
                self.assertEqual(res.out, "")
                after = self.run_ok("preload", "stats", "--json").json()
                self.assertEqual(after, before)

    def test_usage_errors(self):
        cases = [
            (("preload",), "preload"),
            (("preload", "import"), "preload import"),
            (("preload", "import", "a", "b"), "preload import"),
            (("preload", "import", "a", "--format", "json"),
             "preload import"),
            (("preload", "import", "a", "--bogus"), "preload import"),
            (("preload", "stats", "extra"), "preload stats"),
            (("preload", "stats", "--force"), "preload stats"),
            (("preload", "reset", "extra"), "preload reset"),
            (("preload", "frobnicate"), "preload"),
        ]
        for args, what in cases:
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, *args)
                self.assert_one_error_line(res, what)
        self.assertFalse(os.path.exists(self.db))

    def test_real_2026_list(self):
        """The snapshot the binary carries, imported as a file: 94,599
        entries, the IP literal named in one warning line."""
        path = shared("data", "chromium-preload-2026-06-01.json")
        res = self.run_ok("preload", "import", path)
        self.assertEqual(res.err.count("\n"), 1, res)
        self.assertIn("warning: skipped 1 entry that can never apply", res.err)
        self.assertIn("1.0.0.1", res.err)
        self.assertTrue(res.out.startswith(
            "imported 94599 hosts (94599 force-https, 94350 with subdomains)"
            " from %s\nlist chromium-2026-06-01, dated 2026-06-01\n" % path),
            res)
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual((stats["list"], stats["builtin"], stats["skipped"],
                          stats["list_date"]),
                         ("chromium-2026-06-01", False, 1, "2026-06-01"))

    def test_guard_and_force(self):
        """A list of fewer than half the active entries is refused; --force
        imports it; a UTF-8 BOM is accepted; one host is "1 host"."""
        path = self.write("one.txt", b"\xef\xbb\xbfonly.example\n")
        res = self.run_status(EXIT_FAIL, "preload", "import", path)
        line = self.assert_one_error_line(res, "preload import")
        self.assertIn("1 entry, fewer than half the 94599 of the active "
                      "list: refused", line)
        self.assertIn("--force", line)
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertIs(stats["builtin"], True)
        res = self.run_ok("preload", "import", "--force", path)
        self.assertTrue(res.out.startswith(
            "imported 1 host (1 force-https, 0 with subdomains)"), res)

    def test_missing_file(self):
        res = self.run_status(EXIT_FAIL, "preload", "import",
                              os.path.join(self.tmp, "nope.json"))
        self.assertIn("No such file", self.assert_one_error_line(
            res, "preload import"))

    def test_help(self):
        for args in (("preload", "--help"), ("help", "preload"),
                     ("preload", "import", "--help"),
                     ("preload", "stats", "--help")):
            with self.subTest(args=args):
                res = self.run_ok(*args)
                self.assertIn("usage: hstsproxy preload import FILE", res.out)


class PreloadStats(CliTestCase):

    def test_builtin_when_nothing_imported(self):
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual(set(stats), STATS_KEYS)
        self.assertEqual(stats["list"], "chromium-2026-06-01")
        self.assertIs(stats["builtin"], True)
        self.assertEqual(stats["list_date"], "2026-06-01")
        age = (datetime.date.today() - datetime.date(2026, 6, 1)).days
        self.assertLessEqual(abs(stats["age_days"] - age), 1)
        # Past 70 days the list is stale (the snapshot is dated 2026-06-01).
        self.assertEqual(stats["stale"], age > 70)
        for key in ("source", "sha256", "imported", "bytes"):
            self.assertIsNone(stats[key], key)
        self.assertEqual(stats["format"], "chromium")
        self.assertEqual((stats["entries"], stats["force_https"],
                          stats["include_subdomains"], stats["skipped"]),
                         (94599, 94599, 94350, 1))
        self.assertEqual(stats["imports"], 0)
        text = self.run_ok("preload", "stats").out
        self.assertRegex(text, r"(?m)^active list +chromium-2026-06-01$")
        if age > 70:
            self.assertRegex(text, r"(?m)^list date +2026-06-01 \(\d+ days "
                             r"old\): STALE, more than 70 days$")

    def test_stale_list_date(self):
        """An imported list dated 2026-01-02 by its head comment is stale
        past 70 days; a list without a date is dated by its import."""
        path = self.write("old.json", '// as of 2026-01-02\n{ "entries": [\n'
                          '  { "name": "a.example", "mode": "force-https" }'
                          '\n] }\n')
        self.run_ok("preload", "import", "--force", path)
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual((stats["list"], stats["list_date"], stats["stale"]),
                         ("chromium-2026-01-02", "2026-01-02", True))
        self.assertIn("STALE", self.run_ok("preload", "stats").out)
        path = self.write("new.txt", "a.example\n")
        self.run_ok("preload", "import", path)
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual((stats["list_date"], stats["stale"]),
                         (TODAY, False))

    def test_reset(self):
        self.run_ok("preload", "import", "--force",
                    self.write("l.txt", TEXT_LIST))
        res = self.run_ok("preload", "reset")
        self.assertEqual(res.out, "the built-in list chromium-2026-06-01 is "
                         "active again (94599 hosts)\n")
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual((stats["list"], stats["builtin"], stats["imports"]),
                         ("chromium-2026-06-01", True, 2))
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT name, builtin FROM preload_import "
                              "ORDER BY id").fetchall()
            left = db.execute("SELECT count(*) FROM preload_entry").fetchone()
        self.assertEqual(rows, [("text-" + TODAY, 0),
                                ("chromium-2026-06-01", 1)])
        self.assertEqual(left, (0,))
        doc = self.run_ok("preload", "reset", "--json").json()
        self.assertEqual(set(doc), STATS_KEYS)

    def test_default_database_locations(self):
        state = os.path.join(self.tmp, "state")
        env = self.env(XDG_STATE_HOME=state)
        self.run_ok("preload", "stats", db=False, env=env)
        path = os.path.join(state, "hstsproxy", "hstsproxy.db")
        self.assertTrue(os.path.isfile(path))
        self.assertEqual(os.stat(os.path.dirname(path)).st_mode & 0o777,
                         0o700)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        explicit = os.path.join(self.tmp, "env", "x.db")
        self.run_ok("preload", "stats", db=False,
                    env=self.env(HSTSPROXY_DB=explicit))
        self.assertTrue(os.path.isfile(explicit))
        self.run_ok("preload", "stats", db=False, env=self.env())
        self.assertTrue(os.path.isfile(os.path.join(
            self.tmp, ".local", "state", "hstsproxy", "hstsproxy.db")))

    def test_refuses_newer_schema_and_foreign_files(self):
        self.run_ok("preload", "stats")
        with sqlite3.connect(self.db) as db:
            db.execute("PRAGMA user_version = 99")
        res = self.run_status(EXIT_FAIL, "preload", "stats")
        line = self.assert_one_error_line(res, "preload stats")
        self.assertIn("schema version 99 is newer", line)
        self.assertIn(self.db, line)
        other = os.path.join(self.tmp, "other.db")
        with sqlite3.connect(other) as db:
            db.execute("CREATE TABLE notes (x)")
        res = self.run_raw(("--db", other, "preload", "stats"), db=False)
        self.assertEqual(res.status, EXIT_FAIL, res)
        self.assertIn("not an hstsproxy database", res.err)
        garbage = self.write("garbage.db", b"\x01" * 4096)
        res = self.run_raw(("--db", garbage, "preload", "stats"), db=False)
        self.assertEqual(res.status, EXIT_FAIL, res)
        self.assertIn("not a database", res.err)


if __name__ == "__main__":
    unittest.main()
