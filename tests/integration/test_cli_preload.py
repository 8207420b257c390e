"""test_cli_preload.py - `hstsproxy preload import|stats` end to end.

Counts of the real 2016 Chromium list are recomputed here with Python's
json module, independently of the C importer.
"""

import hashlib
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import (EXIT_FAIL, EXIT_USAGE, CliTestCase,  # noqa: E402
                      chromium_2016, chromium_counts)

STATS_KEYS = {"list", "builtin", "source", "format", "sha256", "imported",
              "bytes", "entries", "include_subdomains", "force_https",
              "duplicates", "imports"}

TEXT_LIST = ("# hosts, one per line\n"
             "one.example includeSubDomains\n"
             "two.example\n")
MOZILLA_LIST = ("/* generated */\n#include <stdint.h>\n%%\n"
                "moz.example, 1\nmoz2.example, 0\nmoz3.example, 0\n%%\n")


class PreloadImport(CliTestCase):

    def test_real_2016_list(self):
        path = chromium_2016()
        expect = chromium_counts(path)
        res = self.run_ok("preload", "import", path)
        lines = res.out.splitlines()
        self.assertEqual(lines[0], "imported %d hosts (%d with subdomains) "
                         "from %s" % (expect["entries"],
                                      expect["include_subdomains"], path))
        self.assertIn("SIGHUP", res.out)
        self.assertEqual(res.err, "")
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual(set(stats), STATS_KEYS)
        self.assertEqual(stats["list"], "chromium")
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
        self.assertRegex(text, r"(?m)^active list +chromium$")
        self.assertRegex(text, r"(?m)^entries +%d$" % expect["entries"])

    def test_relative_source_stored_absolute(self):
        self.write("list.txt", "a.test\n")
        res = self.run_raw(("preload", "import", "list.txt"), env=None,
                           cwd=self.tmp)
        self.assertEqual(res.status, 0, res)
        self.assertIn("from list.txt", res.out)  # as typed
        stats = self.run_ok("preload", "stats", "--json").json()
        self.assertEqual(stats["source"],
                         os.path.join(os.path.realpath(self.tmp), "list.txt"))

    def test_import_json_output(self):
        path = self.write("list.txt", TEXT_LIST)
        res = self.run_ok("preload", "import", path, "--json")
        doc = res.json()
        self.assertEqual(set(doc), STATS_KEYS)
        self.assertEqual((doc["list"], doc["format"], doc["entries"],
                          doc["include_subdomains"], doc["force_https"]),
                         ("text", "text", 2, 1, 2))

    def test_formats_sniffed_and_forced(self):
        moz = self.write("nsSTSPreloadList.inc", MOZILLA_LIST)
        res = self.run_ok("preload", "import", moz)
        self.assertTrue(res.out.startswith(
            "imported 3 hosts (1 with subdomains) from %s\n" % moz), res)
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
        self.run_ok("preload", "import", self.write("good.txt", TEXT_LIST))
        before = self.run_ok("preload", "stats", "--json").json()
        cases = [
            ("bad.txt", "ok.example\nalso.example\nnot a host!\n", "line 3:"),
            ("bad.json", '{\n  "entries": [\n    { "name": "a.example", '
             '"include_subdomains": "yes" }\n  ]\n}\n',
             'entry 0 "a.example" (line 3)'),
            ("syntax.json", '{\n  "entries": [\n    { "name": "a.example" }\n'
             '    { "name": "b.example" }\n  ]\n}\n', "line 4, column 5"),
            ("trunc.inc", "%%\na.example, 1\n", "truncated"),
            ("binary.txt", b"a.example\n\x00\x01\x02\n", "line 2: NUL byte"),
            ("long.txt", "a.example\n" + "x" * (10 << 20) + "\n",
             "line 2: longer than"),
            ("empty.txt", "", "empty"),
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
            (("preload", "frobnicate"), "preload"),
        ]
        for args, what in cases:
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, *args)
                self.assert_one_error_line(res, what)
        self.assertFalse(os.path.exists(self.db))

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
        self.assertEqual(stats["list"], "builtin")
        self.assertIs(stats["builtin"], True)
        for key in ("source", "format", "sha256", "imported", "bytes"):
            self.assertIsNone(stats[key], key)
        self.assertGreaterEqual(stats["entries"], 40)
        self.assertEqual(stats["force_https"], stats["entries"])
        self.assertEqual(stats["include_subdomains"], stats["entries"])
        self.assertEqual(stats["imports"], 0)
        text = self.run_ok("preload", "stats").out
        self.assertRegex(text, r"(?m)^active list +builtin$")

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
