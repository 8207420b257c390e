"""test_cli_policy.py - `hstsproxy policy query|add|delete|list|export|import`.

Learned policies come from TLS probes, which are not these commands: the
tests that need one insert it into the store's policy table with Python's
sqlite3, as the schema (docs/CLI.md, store/core/store_schema.c) defines it.
"""

import datetime
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import (EXIT_FAIL, EXIT_NO, EXIT_USAGE, RUN_TIMEOUT,  # noqa
                      CliTestCase, binary, chromium_2016)

ONE_YEAR = 31536000
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
QUERY_KEYS = {"host", "normalized", "unicode", "hsts", "source",
              "matched_host", "include_subdomains", "max_age", "expires",
              "observed", "why", "static", "dynamic"}
STATIC_KEYS = {"host", "include_subdomains", "include_subdomains_for_pinning",
               "mode", "list", "list_date"}
TODAY = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
DYNAMIC_KEYS = {"host", "include_subdomains", "max_age", "observed",
                "expires", "source", "how", "raw_header"}
POLICY_KEYS = {"host", "source", "include_subdomains", "max_age", "observed",
               "expires", "how", "raw_header"}


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class PolicyQuery(CliTestCase):

    def query(self, host, status):
        res = self.run_status(status, "policy", "query", host, "--json")
        doc = res.json()
        self.assertEqual(set(doc), QUERY_KEYS)
        self.assertEqual(doc["host"], host)
        self.assertIsInstance(doc["why"], str)
        self.assertTrue(doc["why"])
        if doc["static"] is not None:
            self.assertEqual(set(doc["static"]), STATIC_KEYS)
        if doc["dynamic"] is not None:
            self.assertEqual(set(doc["dynamic"]), DYNAMIC_KEYS)
        return doc

    def test_builtin_tld(self):
        doc = self.query("WWW.Example.DEV.", 0)
        self.assertEqual(doc["normalized"], "www.example.dev")
        self.assertIs(doc["hsts"], True)
        self.assertEqual((doc["source"], doc["matched_host"]),
                         ("builtin", "dev"))
        self.assertIs(doc["include_subdomains"], True)
        self.assertIsNone(doc["max_age"])
        self.assertIsNone(doc["expires"])
        self.assertIsNone(doc["observed"])
        self.assertEqual(doc["static"], {
            "host": "dev", "include_subdomains": True,
            "include_subdomains_for_pinning": False, "mode": "force-https",
            "list": "chromium-2026-06-01", "list_date": "2026-06-01"})
        self.assertIsNone(doc["dynamic"])
        self.assertIn("dev", doc["why"])

    def test_no_policy(self):
        doc = self.query("example.org", EXIT_NO)
        self.assertIs(doc["hsts"], False)
        self.assertEqual(doc["source"], "none")
        for key in ("matched_host", "include_subdomains", "max_age",
                    "expires", "observed", "static", "dynamic"):
            self.assertIsNone(doc[key], key)

    def test_ip_literals_never(self):
        for host, norm in (("192.0.2.7", "192.0.2.7"), ("[2001:DB8::1]",
                                                        "2001:db8::1")):
            with self.subTest(host=host):
                doc = self.query(host, EXIT_NO)
                self.assertEqual(doc["normalized"], norm)
                self.assertIs(doc["hsts"], False)
                self.assertIn("IP literal", doc["why"])

    def test_invalid_host(self):
        for host in ("a..b", "bad_char!.example", "x" * 300, "",
                     "10.1", "a\x01b"):
            with self.subTest(host=host):
                res = self.run_status(EXIT_USAGE, "policy", "query", host)
                line = self.assert_one_error_line(res, "policy query")
                self.assertNotIn("\x01", line)
                self.assertEqual(res.out, "")

    def test_real_list_entries(self):
        self.run_ok("preload", "import", "--force", chromium_2016())
        doc = self.query("a.b.accounts.google.com", 0)
        self.assertEqual((doc["source"], doc["matched_host"]),
                         ("preload", "accounts.google.com"))
        self.assertRegex(doc["static"]["list"], r"^chromium-\d{4}-\d\d-\d\d$")
        self.assertEqual(doc["static"]["list"],
                         "chromium-" + doc["static"]["list_date"])
        # Pins only: never upgrades, hides the parent's entry.
        doc = self.query("www.googlecode.com", EXIT_NO)
        self.assertIs(doc["hsts"], False)
        self.assertEqual(doc["static"]["host"], "googlecode.com")
        self.assertIsNone(doc["static"]["mode"])
        self.assertIn("pins", doc["why"])
        doc = self.query("gmail.com", 0)
        self.assertIs(doc["include_subdomains"], False)
        self.query("mail.gmail.com", EXIT_NO)
        # An imported list replaces the builtin one.
        self.query("www.example.dev", EXIT_NO)

    def test_text_output(self):
        self.run_ok("policy", "add", "example.com", "--include-subdomains")
        res = self.run_ok("policy", "query", "a.example.com")
        self.assertRegex(res.out, r"(?m)^hsts +yes$")
        self.assertRegex(res.out, r"(?m)^source +manual$")
        self.assertRegex(res.out, r"(?m)^matched host +example\.com$")
        self.assertRegex(res.out, r"(?m)^expires +\d{4}-\d\d-\d\dT\d\d:\d\d:"
                         r"\d\dZ \(expires in 36[45] d\)$")
        self.assertRegex(res.out, r"(?m)^why +.*example\.com")
        self.assertNotIn("\033[", res.out)
        res = self.run_status(EXIT_NO, "policy", "query", "example.net")
        self.assertRegex(res.out, r"(?m)^hsts +no$")
        self.assertRegex(res.out, r"(?m)^dynamic +none$")


class PolicyAddDelete(CliTestCase):

    def test_add_then_query_then_delete(self):
        before = time.time()
        res = self.run_ok("policy", "add", "Example.COM")
        self.assertTrue(res.out.startswith(
            "added manual policy for example.com: max-age 31536000"), res)
        doc = self.run_ok("policy", "query", "example.com", "--json").json()
        self.assertEqual((doc["hsts"], doc["source"], doc["max_age"],
                          doc["include_subdomains"]),
                         (True, "manual", ONE_YEAR, False))
        self.assertRegex(doc["expires"], RFC3339)
        self.assertAlmostEqual(parse_time(doc["expires"]) -
                               parse_time(doc["observed"]), ONE_YEAR)
        self.assertLessEqual(abs(parse_time(doc["observed"]) - before), 5)
        dyn = doc["dynamic"]
        self.assertEqual((dyn["host"], dyn["source"], dyn["how"],
                          dyn["raw_header"]),
                         ("example.com", "manual", "cli", None))
        # Without includeSubDomains a subdomain is not covered.
        self.run_status(EXIT_NO, "policy", "query", "www.example.com")
        self.run_ok("policy", "add", "example.com", "--max-age", "60",
                    "--include-subdomains")
        doc = self.run_ok("policy", "query", "www.example.com",
                          "--json").json()
        self.assertEqual((doc["max_age"], doc["matched_host"]),
                         (60, "example.com"))
        res = self.run_ok("policy", "delete", "EXAMPLE.com")
        self.assertEqual(res.out, "deleted manual policy for example.com\n")
        res = self.run_status(EXIT_NO, "policy", "delete", "example.com")
        self.assertIn("no learned or manual policy", res.err)
        self.run_status(EXIT_NO, "policy", "query", "example.com")

    def test_add_refusals(self):
        cases = [
            ("example.com", "--max-age", "0"),
            ("example.com", "--max-age", "4294967296"),
            ("example.com", "--max-age", "-5"),
            ("example.com", "--max-age", "1e3"),
            ("example.com", "--max-age", " 10"),
            ("example.com", "--max-age", ""),
            ("192.0.2.1",),
            ("[::1]",),
            ("localhost",),
            ("api.localhost",),
            ("a..b",),
            ("example.com", "--bogus"),
            (),
            ("a.example", "b.example"),
        ]
        for args in cases:
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, "policy", "add", *args)
                self.assert_one_error_line(res, "policy add")
        self.run_ok("policy", "add", "max.example", "--max-age",
                    "4294967295")
        doc = self.run_ok("policy", "list", "--json").json_lines()
        self.assertEqual([(d["host"], d["max_age"]) for d in doc],
                         [("max.example", 4294967295)])

    def test_delete_preloaded_refused(self):
        res = self.run_status(EXIT_NO, "policy", "delete", "dev")
        line = self.assert_one_error_line(res, "policy delete")
        self.assertIn("preloaded", line)
        self.assertIn("chromium-2026-06-01", line)
        res = self.run_status(EXIT_NO, "policy", "delete", "www.example.dev")
        line = self.assert_one_error_line(res, "policy delete")
        self.assertIn("no learned or manual policy", line)
        self.assertIn("covered by the preload entry dev (list "
                      "chromium-2026-06-01)", line)
        self.run_ok("preload", "import", "--force", chromium_2016())
        res = self.run_status(EXIT_NO, "policy", "delete",
                              "accounts.google.com")
        self.assertIn("preloaded (list chromium-%s)" % TODAY, res.err)
        res = self.run_status(EXIT_USAGE, "policy", "delete", "1.2.3.4")
        self.assertIn("IP literal", res.err)


def insert_learned(db, host, sub, max_age, observed, header):
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO policy (host, source, include_subdomains, max_age, "
            "observed, expires, raw_header, how) VALUES "
            "(?, 'learned', ?, ?, ?, ?, ?, 'probe')",
            (host, sub, max_age, observed, observed + max_age, header))


class PolicyList(CliTestCase):

    def test_list_sources_and_shapes(self):
        now = int(time.time())
        self.run_ok("policy", "list")  # creates the store
        insert_learned(self.db, "learned.example", 1, 3600, now,
                       "max-age=3600; includeSubDomains")
        insert_learned(self.db, "expired.example", 0, 10, now - 100,
                       "max-age=10")
        self.run_ok("policy", "add", "b-manual.example")
        rows = self.run_ok("policy", "list", "--json").json_lines()
        self.assertEqual([r["host"] for r in rows],
                         ["b-manual.example", "learned.example"])
        for r in rows:
            self.assertEqual(set(r), POLICY_KEYS)
            self.assertRegex(r["expires"], RFC3339)
        learned = rows[1]
        self.assertEqual((learned["source"], learned["include_subdomains"],
                          learned["max_age"], learned["how"],
                          learned["raw_header"]),
                         ("learned", True, 3600, "probe",
                          "max-age=3600; includeSubDomains"))
        only = self.run_ok("policy", "list", "--source", "learned",
                           "--json").json_lines()
        self.assertEqual([r["host"] for r in only], ["learned.example"])
        text = self.run_ok("policy", "list").out.splitlines()
        self.assertEqual(text[0].split(),
                         ["HOST", "SOURCE", "SUBDOMAINS", "HOW", "EXPIRES"])
        self.assertEqual(len(text), 3)
        col = text[0].index("SOURCE")
        self.assertTrue(all(line[col - 2:col] == "  " for line in text))
        # The learned policy answers a query, with its header.
        doc = self.run_ok("policy", "query", "x.learned.example",
                          "--json").json()
        self.assertEqual((doc["source"], doc["max_age"]), ("learned", 3600))
        self.assertEqual(doc["dynamic"]["raw_header"],
                         "max-age=3600; includeSubDomains")
        self.run_status(EXIT_NO, "policy", "query", "expired.example")
        res = self.run_ok("policy", "list", "--source", "manual")
        self.assertIn("b-manual.example", res.out)
        self.assertNotIn("learned.example", res.out)

    def test_list_static_lists(self):
        rows = self.run_ok("policy", "list", "--source", "builtin",
                           "--json").json_lines()
        hosts = [r["host"] for r in rows]
        self.assertEqual(hosts, sorted(hosts))
        for tld in ("app", "dev", "page", "google", "foo"):
            self.assertIn(tld, hosts)
        self.assertEqual(len(rows), 94599)
        self.assertTrue(all(r["mode"] == "force-https" for r in rows))
        self.assertEqual(sum(r["include_subdomains"] for r in rows), 94350)
        self.assertEqual(set(rows[0]), {"host", "source", "include_subdomains",
                                        "include_subdomains_for_pinning",
                                        "mode", "list"})
        res = self.run_ok("policy", "list", "--source", "preload")
        self.assertEqual(res.out, "no preload policies\n")
        self.run_ok("preload", "import", "--force", self.write(
            "l.txt", "b.example\na.example includeSubDomains\n"))
        rows = self.run_ok("policy", "list", "--source", "preload",
                           "--json").json_lines()
        self.assertEqual([(r["host"], r["include_subdomains"], r["list"])
                          for r in rows],
                         [("a.example", True, "text-" + TODAY),
                          ("b.example", False, "text-" + TODAY)])

    def test_list_empty_and_usage(self):
        res = self.run_ok("policy", "list")
        self.assertEqual(res.out, "no learned or manual policies\n")
        self.assertEqual(self.run_ok("policy", "list", "--json").out, "")
        for args in (("--source", "none"), ("--source", "x"), ("extra",)):
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, "policy", "list", *args)
                self.assert_one_error_line(res, "policy list")


class PolicyExportImport(CliTestCase):

    def import_elsewhere(self, path, said):
        """Imports path into another store: (our policies, theirs)."""
        other = os.path.join(self.tmp, "other.db")
        res = self.run_raw(("--db", other, "policy", "import", path),
                           db=False)
        self.assertEqual(res.status, 0, res)
        self.assertEqual(res.out, said)
        mine = {r["host"]: r for r in
                self.run_ok("policy", "list", "--json").json_lines()}
        res = self.run_raw(("--db", other, "policy", "list", "--json"),
                           db=False)
        return mine, {r["host"]: r for r in res.json_lines()}

    def test_curl_round_trip(self):
        self.run_ok("policy", "add", "sub.example", "--include-subdomains",
                    "--max-age", "86400")
        self.run_ok("policy", "add", "plain.example", "--max-age", "3600")
        curl = self.run_ok("policy", "export", "--format", "curl").out
        lines = [l for l in curl.splitlines() if not l.startswith("#")]
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r'^plain\.example "\d{8} \d\d:\d\d:\d\d"$')
        self.assertRegex(lines[1], r'^\.sub\.example "\d{8} \d\d:\d\d:\d\d"$')
        self.assertEqual(self.run_ok("policy", "export").out, curl)
        path = self.write("hsts.txt", curl + "# comment\n"
                          'forever.example "unlimited"\n'
                          'old.example "20000101 00:00:00"\n')
        mine, theirs = self.import_elsewhere(
            path, "imported 3 policies from %s as manual policies (1 expired"
            " entry skipped)\n" % path)
        self.assertEqual(set(theirs), {"sub.example", "plain.example",
                                       "forever.example"})
        for host in mine:
            self.assertEqual(theirs[host]["expires"], mine[host]["expires"])
            self.assertEqual(theirs[host]["include_subdomains"],
                             mine[host]["include_subdomains"])
            self.assertEqual(theirs[host]["how"], "curl")
        self.assertIsNone(theirs["forever.example"]["expires"])
        self.assertIsNone(theirs["forever.example"]["max_age"])

    def test_json_export(self):
        self.run_ok("policy", "add", "a.example", "--include-subdomains")
        doc = self.run_ok("policy", "export", "--format", "json").json()
        self.assertEqual(set(doc), {"format", "version", "exported",
                                    "policies"})
        self.assertEqual((doc["format"], doc["version"]),
                         ("hstsproxy-policies", 1))
        self.assertRegex(doc["exported"], RFC3339)
        self.assertEqual([p["host"] for p in doc["policies"]], ["a.example"])
        self.assertEqual(set(doc["policies"][0]), POLICY_KEYS)

    def test_json_round_trip(self):
        """import reads what export --format json writes (issue 13)."""
        self.run_ok("policy", "add", "sub.example", "--include-subdomains",
                    "--max-age", "86400")
        self.run_ok("policy", "add", "plain.example", "--max-age", "3600")
        text = self.run_ok("policy", "export", "--format", "json").out
        path = self.write("policies.json", "\ufeff" + text)
        mine, theirs = self.import_elsewhere(
            path, "imported 2 policies from %s as manual policies\n" % path)
        self.assertEqual(set(theirs), set(mine))
        for host in mine:
            for key in ("expires", "include_subdomains", "max_age",
                        "source"):
                self.assertEqual(theirs[host][key], mine[host][key])
            self.assertEqual(theirs[host]["how"], "json")

    def test_json_import_malformed_changes_nothing(self):
        self.run_ok("policy", "add", "kept.example")
        before = self.run_ok("policy", "list", "--json").out
        good = ('{"host":"good.example","include_subdomains":false,'
                '"max_age":null,"expires":null}')
        cases = (
            ('{"format":"hstsproxy-policies","version":1,"policies":[%s,'
             '{"host":"bad.example","include_subdomains":1}]}' % good,
             "policies[2]: \"include_subdomains\""),
            ('{"format":"hstsproxy-policies","version":1,"policies":[%s,'
             '{"host":"10.0.0.1","include_subdomains":true}]}' % good,
             "policies[2]: \"10.0.0.1\": an IP literal"),
            ('{"format":"hstsproxy-policies","version":1,"policies":[%s,'
             '{"host":"x.example","include_subdomains":true,'
             '"expires":"soon"}]}' % good, "policies[2]: \"expires\""),
            ('{"format":"other","version":1,"policies":[]}', "\"format\""),
            ('{"format":"hstsproxy-policies", "version":1', "not valid JSON"),
        )
        for text, want in cases:
            with self.subTest(want=want):
                path = self.write("bad.json", text)
                res = self.run_status(EXIT_FAIL, "policy", "import", path)
                line = self.assert_one_error_line(res, "policy import")
                self.assertIn(want, line)
                self.assertEqual(
                    self.run_ok("policy", "list", "--json").out, before)

    def test_import_malformed_changes_nothing(self):
        self.run_ok("policy", "add", "kept.example")
        before = self.run_ok("policy", "list", "--json").out
        path = self.write("bad.txt", 'good.example "unlimited"\n'
                          'bad.example "2024-01-01"\n')
        res = self.run_status(EXIT_FAIL, "policy", "import", path)
        line = self.assert_one_error_line(res, "policy import")
        self.assertIn("line 2:", line)
        self.assertEqual(self.run_ok("policy", "list", "--json").out, before)
        res = self.run_status(EXIT_USAGE, "policy", "export", "--format",
                              "wget")
        self.assert_one_error_line(res, "policy export")
        res = self.run_status(EXIT_USAGE, "policy", "import")
        self.assert_one_error_line(res, "policy import")


class PolicyMisc(CliTestCase):

    def test_help_and_usage(self):
        for args in (("policy", "--help"), ("help", "policy"),
                     ("policy", "query", "--help"),
                     ("policy", "add", "--help")):
            with self.subTest(args=args):
                self.assertIn("usage: hstsproxy policy query HOST",
                              self.run_ok(*args).out)
        for args in (("policy",), ("policy", "nope"),
                     ("policy", "query"), ("policy", "query", "a", "b"),
                     ("policy", "query", "a.example", "--max-age", "5")):
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, *args)
                self.assertTrue(res.err.startswith("hstsproxy policy"), res)

    def test_works_while_another_process_writes(self):
        """WAL: readers are not blocked; the busy timeout makes writers
        wait for another process's write transaction instead of failing."""
        self.run_ok("policy", "add", "first.example")
        conn = sqlite3.connect(self.db, timeout=0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM policy")  # uncommitted
        released = threading.Event()

        def release():
            time.sleep(0.5)
            conn.execute("ROLLBACK")
            released.set()

        # A reader answers at once from the last committed state.
        self.run_ok("policy", "query", "first.example")
        thread = threading.Thread(target=release)
        thread.start()
        proc = subprocess.run([binary(), "--db", self.db, "policy", "add",
                               "second.example"], capture_output=True,
                              timeout=RUN_TIMEOUT, env=self.env())
        thread.join()
        conn.close()
        self.assertTrue(released.is_set())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        hosts = [r["host"] for r in
                 self.run_ok("policy", "list", "--json").json_lines()]
        self.assertEqual(hosts, ["first.example", "second.example"])


if __name__ == "__main__":
    unittest.main()
