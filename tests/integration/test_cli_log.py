"""test_cli_log.py - `hstsproxy log`: filters, text, chains, JSON, HAR, follow.

The hops are what the proxy's log writer stores; these tests insert them
into the store's hop table with Python's sqlite3, as the schema
(store/core/store_schema.c, docs/CLI.md) defines it, into a store that
`hstsproxy policy list` created (and migrated). --follow is checked by
inserting rows while `log --follow` runs, and reading its output with a
deadline (never a fixed sleep).
"""

import datetime
import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import (EXIT_FAIL, EXIT_USAGE, CliTestCase, binary)  # noqa

HOP_KEYS = ["time", "duration_ms", "request_id", "chain_id", "hop", "client",
            "user_agent", "method", "url", "http_version", "status", "reason",
            "location", "kind", "policy_source", "policy_host", "policy_list",
            "include_subdomains", "expires", "upstream_ip", "sts_header",
            "scheme_change", "same_host", "bootstrap", "error", "via"]
T0 = 1764097200000  # 2025-11-25T19:00:00Z in ms
FOLLOW_TIMEOUT = 20  # seconds to see a followed line


def rid(n):
    return "%016x" % n


class LogTestCase(CliTestCase):

    def setUp(self):
        super().setUp()
        self.run_ok("policy", "list")  # creates and migrates the store
        self.next_id = 1

    def insert(self, **kw):
        """One hop row; unspecified columns take an upgrade's values."""
        n = self.next_id
        self.next_id += 1
        row = {
            "time_ms": T0 + n, "duration_us": 15, "request_id": rid(n),
            "chain_id": rid(n), "hop": 0, "client": "127.0.0.1",
            "user_agent": "curl/8.5", "method": "GET",
            "url": "http://a.test/", "host": "a.test",
            "http_version": "HTTP/1.1", "status": 307,
            "reason": "Internal Redirect", "location": "https://a.test/",
            "kind": "hsts-upgrade", "policy_source": "preload",
            "policy_host": "a.test", "include_subdomains": 1,
            "expires": None, "upstream_ip": None, "sts_header": None,
            "scheme_change": "up", "same_host": 1, "bootstrap": 0,
            "error": None}
        if kw.get("kind") == "upstream-redirect":
            row.update(status=301, reason="Moved Permanently",
                       policy_source=None, policy_host=None,
                       include_subdomains=None, upstream_ip="192.0.2.1",
                       duration_us=23456)
        row.update(kw)
        with sqlite3.connect(self.db) as db:
            db.execute("INSERT INTO hop (%s) VALUES (%s)" % (
                ", ".join(row), ", ".join("?" * len(row))),
                list(row.values()))
        db.close()
        return row

    def view(self):
        with sqlite3.connect(self.db) as db:
            rows = [r[0] for r in db.execute(
                "SELECT json FROM hop_json ORDER BY id")]
        db.close()
        return rows

    def ids(self, *args):
        res = self.run_ok("log", "--json", *args)
        return [json.loads(line)["request_id"] for line in
                res.out.splitlines()]


class Basics(LogTestCase):

    def test_missing_store(self):
        self.db = os.path.join(self.tmp, "none", "store.db")
        res = self.run_status(EXIT_FAIL, "log")
        line = self.assert_one_error_line(res, "log")
        self.assertIn(self.db, line)
        self.assertIn("no store yet", line)
        self.assertFalse(os.path.exists(self.db))

    def test_empty(self):
        self.assertEqual(self.run_ok("log").out, "no hops logged yet\n")
        self.assertEqual(self.run_ok("log", "--json").out, "")
        self.assertEqual(self.run_ok("log", "--kind", "hsts-upgrade").out,
                         "no hops match the filters\n")

    def test_usage_errors(self):
        cases = [
            ["--kind", "upgrade"], ["--limit", "0"], ["--limit", "-1"],
            ["--limit", "1x"], ["--since", "yesterday"], ["--since", "10"],
            ["--since", "2025-02-30T00:00:00Z"], ["--until", "10y"],
            ["--since", "2025-11-25T19:00"], ["--host", "a..b"],
            ["--client", "nope"], ["--json", "--har"], ["--chains", "--json"],
            ["--har", "--follow"], ["extra"], ["--bogus"], ["--since"],
            None]
        for args in cases:
            if args is None:
                break
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, "log", *args)
                self.assert_one_error_line(res, "log")
                self.assertEqual(res.out, "")

    def test_help(self):
        res = self.run_ok("log", "--help")
        self.assertIn("--follow", res.out)
        self.assertEqual(self.run_ok("help", "log").out, res.out)


class Json(LogTestCase):

    def test_lines_are_the_view(self):
        self.insert(user_agent="a\x01b \u00e9")
        self.insert(kind="upstream-redirect", url="http://b.test/x?y=1",
                    host="b.test", location="https://b.test/x?y=1",
                    sts_header="max-age=300", bootstrap=1)
        self.insert(expires=1795633200, policy_source="learned",
                    include_subdomains=0, error="client went away")
        res = self.run_ok("log", "--json")
        self.assertEqual(res.out.splitlines(), self.view())
        docs = res.json_lines()
        for doc in docs:
            self.assertEqual(list(doc), HOP_KEYS)
        first, second, third = docs
        self.assertEqual(first["time"], "2025-11-25T19:00:00.001Z")
        self.assertEqual(first["duration_ms"], 0.015)
        self.assertEqual(first["user_agent"], "a\x01b \u00e9")
        self.assertIs(first["include_subdomains"], True)
        self.assertIs(first["same_host"], True)
        self.assertIs(first["bootstrap"], False)
        self.assertIsNone(first["expires"])
        self.assertEqual(first["request_id"], rid(1))
        self.assertEqual((first["hop"], first["status"]), (0, 307))
        self.assertEqual(second["kind"], "upstream-redirect")
        self.assertEqual(second["duration_ms"], 23.456)
        for key in ("policy_source", "policy_host", "policy_list",
                    "include_subdomains", "expires"):
            self.assertIsNone(second[key], key)
        self.assertEqual(second["upstream_ip"], "192.0.2.1")
        self.assertEqual(second["sts_header"], "max-age=300")
        self.assertIs(second["bootstrap"], True)
        self.assertEqual(third["expires"], "2026-11-25T19:00:00Z")
        self.assertIs(third["include_subdomains"], False)
        self.assertEqual(third["error"], "client went away")


class Filters(LogTestCase):

    def test_filters(self):
        now = int(time.time() * 1000)
        self.insert(time_ms=now - 3 * 86400 * 1000)  # 1
        self.insert(url="http://www.a.test/", host="www.a.test",
                    time_ms=now - 3 * 3600 * 1000)  # 2
        self.insert(url="http://xa.test/", host="xa.test",
                    client="10.0.0.2", time_ms=now - 30 * 60 * 1000)  # 3
        self.insert(kind="upstream-redirect", client="::1",
                    time_ms=now - 5 * 60 * 1000)  # 4
        self.insert(url="http://b.test/", host="b.test",
                    time_ms=now - 1000)  # 5
        self.insert(time_ms=T0)  # 6, long ago but logged last
        cases = [
            ([], [1, 2, 3, 4, 5, 6]),
            (["--host", "a.test"], [1, 2, 4, 6]),
            (["--host", "A.Test."], [1, 2, 4, 6]),
            (["--host", "www.a.test"], [2]),
            (["--host", "test"], [1, 2, 3, 4, 5, 6]),
            (["--host", "c.test"], []),
            (["--kind", "upstream-redirect"], [4]),
            (["--kind", "hsts-upgrade"], [1, 2, 3, 5, 6]),
            (["--client", "10.0.0.2"], [3]),
            (["--client", "0:0::1"], [4]),
            (["--since", "1h"], [3, 4, 5]),
            (["--since", "2h", "--until", "10m"], [3]),
            (["--since", "4d", "--until", "2d"], [1]),
            (["--until", "2025-11-26T00:00:00Z"], [6]),
            (["--since", "2025-11-25T19:00:00.000Z",
              "--until", "2025-11-25T20:00:00.001+01:00"], [6]),
            (["--until", "2025-11-25T20:00:00+01:00"], []),
            # no offset: UTC
            (["--since", "2025-11-25T19:00:00",
              "--until", "2025-11-25T19:00:00.001"], [6]),
            (["--until", "2025-11-25T19:00:00"], []),
            (["--since", "2025-11-25T19:00:00.001Z",
              "--until", "2025-11-26"], []),
            (["--limit", "2"], [5, 6]),
            (["--limit", "2", "--host", "a.test"], [4, 6]),
            (["--limit", "100"], [1, 2, 3, 4, 5, 6]),
            (["--since", "30s", "--kind", "hsts-upgrade"], [5]),
            None]
        for args, want in filter(None, cases):
            with self.subTest(args=args):
                self.assertEqual(self.ids(*args), [rid(n) for n in want])


class Text(LogTestCase):

    def test_columns(self):
        self.insert()
        self.insert(kind="upstream-redirect", url="http://b.test/",
                    host="b.test", location="https://b.test/", bootstrap=1,
                    client="2001:db8::1", sts_header="max-age=1\x07")
        self.insert(status=None, location=None, error="connect refused",
                    kind="upstream-redirect", scheme_change=None,
                    same_host=None)
        lines = self.run_ok("log").out.splitlines()
        self.assertEqual(len(lines), 4)
        head, up, redir, failed = lines
        self.assertEqual(head.split(), ["TIME", "CLIENT", "STATUS", "KIND",
                                        "URL", "→", "LOCATION", "WHY"])
        self.assertEqual(
            up, "2025-11-25T19:00:00.001Z  127.0.0.1        307     "
                "hsts-upgrade       http://a.test/ → https://a.test/  "
                "preload a.test, subdomains")
        self.assertEqual(
            redir, "2025-11-25T19:00:00.002Z  2001:db8::1      301     "
                   "upstream-redirect  http://b.test/ → https://b.test/  "
                   "upstream 192.0.2.1, bootstrap, sts: max-age=1?")
        self.assertIn(" -       upstream-redirect  http://a.test/ → "
                      "(no location)  upstream 192.0.2.1, error: connect "
                      "refused", failed)
        for line in lines:
            self.assertEqual(line.index("CLIENT") if line is head else
                             line.index(" ") + 2, 26)


class Chains(LogTestCase):

    def test_blocks(self):
        # a.test -> www.a.test (upstream, off-host) -> https (ours)
        self.insert(kind="upstream-redirect", location="http://www.a.test/",
                    scheme_change="none", same_host=0, chain_id=rid(1))
        # another client's chain, interleaved
        self.insert(client="10.0.0.9", url="http://c.test/", host="c.test",
                    location="https://c.test/", kind="upstream-redirect",
                    bootstrap=1)
        self.insert(url="http://www.a.test/", host="www.a.test",
                    location="https://www.a.test/", chain_id=rid(1), hop=1,
                    expires=1795633200, policy_source="learned")
        self.insert(kind="upstream-redirect", url="https://d.test/",
                    host="d.test", location="http://d.test/",
                    scheme_change="down")
        res = self.run_ok("log", "--chains")
        self.assertEqual(res.out, (
            "client 127.0.0.1  2025-11-25T19:00:00.001Z  chain %s, 2 hops\n"
            "  http://a.test/ ─301 upstream (192.0.2.1)→ http://www.a.test/"
            "  [off-host]\n"
            "  http://www.a.test/ ─307 hsts (learned a.test, subdomains, "
            "expires 2026-11-25T19:00:00Z)→ https://www.a.test/\n"
            "\n"
            "client 10.0.0.9  2025-11-25T19:00:00.002Z  chain %s, 1 hop\n"
            "  http://c.test/ ─301 upstream (192.0.2.1)→ https://c.test/"
            "  [bootstrap]\n"
            "\n"
            "client 127.0.0.1  2025-11-25T19:00:00.004Z  chain %s, 1 hop\n"
            "  https://d.test/ ─301 upstream (192.0.2.1)→ http://d.test/"
            "  [downgrade https→http]\n") % (rid(1), rid(2), rid(4)))

    def test_spec_example(self):
        self.insert()
        self.assertIn("  http://a.test/ ─307 hsts (preload a.test, "
                      "subdomains)→ https://a.test/\n",
                      self.run_ok("log", "--chains").out)

    def test_partial_chain(self):
        self.insert(kind="upstream-redirect", location="http://www.a.test/",
                    same_host=0, scheme_change="none")
        self.insert(url="http://www.a.test/", host="www.a.test",
                    location="https://www.a.test/", chain_id=rid(1), hop=1)
        out = self.run_ok("log", "--chains", "--host", "www.a.test").out
        self.assertTrue(out.startswith(
            "client 127.0.0.1  2025-11-25T19:00:00.002Z  chain %s, 1 hop "
            "(from hop 1)\n" % rid(1)), out)


class Har(LogTestCase):

    def test_har_1_2(self):
        self.insert(url="http://a.test/p?q=1&r&s=a%20b")
        self.insert(kind="upstream-redirect", url="http://b.test/",
                    host="b.test", location="https://b.test/", bootstrap=1,
                    sts_header="max-age=300")
        self.insert(status=None, location=None, error="timeout",
                    kind="upstream-redirect", user_agent=None)
        doc = json.loads(self.run_ok("log", "--har").out)
        log = doc["log"]
        self.assertEqual(log["version"], "1.2")
        self.assertEqual(log["creator"]["name"], "hstsproxy")
        self.assertIsInstance(log["creator"]["version"], str)
        self.assertEqual(len(log["entries"]), 3)
        for e in log["entries"]:
            self.check_entry(e)
        up, redir, failed = log["entries"]
        self.assertEqual(up["startedDateTime"], "2025-11-25T19:00:00.001Z")
        self.assertEqual(up["response"]["redirectURL"], "https://a.test/")
        self.assertEqual(up["response"]["statusText"], "Internal Redirect")
        self.assertEqual(up["request"]["queryString"], [
            {"name": "q", "value": "1"}, {"name": "r", "value": ""},
            {"name": "s", "value": "a%20b"}])
        self.assertEqual(up["request"]["headers"],
                         [{"name": "User-Agent", "value": "curl/8.5"}])
        self.assertIn({"name": "Non-Authoritative-Reason", "value": "HSTS"},
                      up["response"]["headers"])
        self.assertEqual(up["comment"],
                         "hsts-upgrade: preload a.test, subdomains")
        self.assertEqual(up["time"], 0.015)
        self.assertEqual(redir["serverIPAddress"], "192.0.2.1")
        self.assertIn({"name": "Strict-Transport-Security",
                       "value": "max-age=300"}, redir["response"]["headers"])
        self.assertTrue(redir["comment"].startswith(
            "upstream-redirect, no HSTS policy: upstream 192.0.2.1, "
            "bootstrap"))
        self.assertEqual(failed["response"]["status"], 0)
        self.assertEqual(failed["response"]["redirectURL"], "")
        self.assertEqual(failed["request"]["headers"], [])

    def check_entry(self, e):
        for key in ("startedDateTime", "time", "request", "response",
                    "cache", "timings"):
            self.assertIn(key, e)
        req, resp, t = e["request"], e["response"], e["timings"]
        for key, kind in (("method", str), ("url", str),
                          ("httpVersion", str), ("cookies", list),
                          ("headers", list), ("queryString", list),
                          ("headersSize", int), ("bodySize", int)):
            self.assertIsInstance(req[key], kind, key)
        for key, kind in (("status", int), ("statusText", str),
                          ("httpVersion", str), ("cookies", list),
                          ("headers", list), ("content", dict),
                          ("redirectURL", str), ("headersSize", int),
                          ("bodySize", int)):
            self.assertIsInstance(resp[key], kind, key)
        self.assertIsInstance(resp["content"]["size"], int)
        self.assertIsInstance(resp["content"]["mimeType"], str)
        for key in ("send", "wait", "receive"):
            self.assertGreaterEqual(t[key], 0)
        self.assertAlmostEqual(e["time"], t["send"] + t["wait"] +
                               t["receive"])
        datetime.datetime.strptime(e["startedDateTime"],
                                   "%Y-%m-%dT%H:%M:%S.%fZ")
        self.assertIsInstance(e["comment"], str)

    def test_empty(self):
        doc = json.loads(self.run_ok("log", "--har").out)
        self.assertEqual(doc["log"]["entries"], [])


class Follow(LogTestCase):

    def start(self, *args):
        self.pending = b""
        proc = subprocess.Popen(
            [binary(), "--db", self.db, "log", "--follow"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env())
        self.addCleanup(self.reap, proc)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        self.addCleanup(sel.close)
        return proc, sel

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    def read_line(self, proc, sel):
        """The next line, read unbuffered (select() sees only the pipe)."""
        deadline = time.monotonic() + FOLLOW_TIMEOUT
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("no line from log --follow in %d s" %
                          FOLLOW_TIMEOUT)
            if sel.select(timeout=left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                self.assertTrue(chunk, "log --follow ended early")
                self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode("utf-8")

    def stop(self, proc, sig):
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=FOLLOW_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(err, b"")
        return self.pending + out

    def test_follow_json(self):
        self.insert()  # 1: the backlog
        proc, sel = self.start("--json", "--kind", "upstream-redirect",
                               "--limit", "5")
        self.insert(kind="upstream-redirect")  # 2
        self.assertEqual(json.loads(self.read_line(proc, sel))["request_id"],
                         rid(2))
        self.insert()  # 3: filtered out
        self.insert(kind="upstream-redirect", client="10.0.0.3")  # 4
        line = self.read_line(proc, sel)
        self.assertEqual(json.loads(line)["request_id"], rid(4))
        self.assertEqual(line, self.view()[3])
        self.assertEqual(self.stop(proc, signal.SIGINT), b"")

    def test_follow_text_backlog_then_new(self):
        for _ in range(3):
            self.insert()
        proc, sel = self.start("--limit", "2")
        self.assertTrue(self.read_line(proc, sel).startswith("TIME"))
        self.assertIn(".002Z", self.read_line(proc, sel))
        self.assertIn(".003Z", self.read_line(proc, sel))
        self.insert(url="http://new.test/", host="new.test")
        self.assertIn("http://new.test/", self.read_line(proc, sel))
        self.assertEqual(self.stop(proc, signal.SIGTERM), b"")


if __name__ == "__main__":
    unittest.main()
