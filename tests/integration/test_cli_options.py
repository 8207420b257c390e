"""test_cli_options.py - the one option convention of every subcommand.

Through the real binary: option errors name the option at fault (optopt
or the argument itself, never the subcommand's own name), every error
line names its subcommand ("hstsproxy audit: ..."), `hstsproxy` alone
prints a short usage and exits 2, `log` and `audit` refuse an empty or
inverted window alike, `audit` refuses two output formats as `log` does,
and `run` sorts its start-up errors: a file the user named that cannot be
used is a usage error (2), a failure of the running system is 3. Nothing
here touches the network beyond binding a loopback port.
"""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import EXIT_FAIL, EXIT_NO, EXIT_USAGE, CliTestCase  # noqa


class OptionErrors(CliTestCase):
    def usage_line(self, *args):
        """Runs args, expects exit 2 and one error line; returns it."""
        res = self.run_status(EXIT_USAGE, *args)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 1, res)
        return lines[0]

    def test_short_option_named(self):
        """-max-age is reported as the unknown option -m inside it."""
        for args, what in [(["check-header", "-max-age"], "check-header"),
                           (["policy", "add", "-foo"], "policy add"),
                           (["policy", "query", "a.test", "-j"],
                            "policy query"),
                           (["audit", "-x"], "audit"),
                           (["run", "-v"], "run")]:
            with self.subTest(args=args):
                line = self.usage_line(*args)
                self.assertTrue(line.startswith("hstsproxy %s: unknown "
                                                "option -%s" %
                                                (what, args[-1][1])), line)
                if len(args[-1]) > 2:
                    self.assertIn('"%s"' % args[-1], line)
                self.assertNotIn("option %s" % args[0], line)

    def test_long_option_errors_named(self):
        cases = [
            (["check-header", "--max-age=1"], "check-header",
             "unknown option --max-age"),
            (["policy", "add", "a.test", "--json"], "policy add",
             "unknown option --json"),
            (["log", "--limit"], "log", "--limit needs a value"),
            (["audit", "--json=yes"], "audit", "--json takes no value"),
            (["run", "--timeout"], "run", "ambiguous option --timeout"),
            (["preload", "stats", "--url", "x"], "preload stats",
             "unknown option --url"),
            (["probe", "--bogus", "a.test"], "probe",
             "unknown option --bogus"),
            (["--bogus"], None, "unknown option --bogus"),
        ]
        for args, what, text in cases:
            with self.subTest(args=args):
                line = self.usage_line(*args)
                prefix = ("hstsproxy %s: " % what if what is not None
                          else "hstsproxy: ")
                self.assertTrue(line.startswith(prefix + text), line)

    def test_operand_after_double_dash(self):
        """-- ends the options: a VALUE may start with '-'."""
        res = self.run_status(EXIT_NO, "check-header", "--", "-max-age=1")
        self.assertEqual(res.err, "")

    def test_every_error_names_its_subcommand(self):
        cases = [
            (["run", "extra"], "run"),
            (["preload", "import"], "preload import"),
            (["preload", "nope"], "preload"),
            (["policy", "add"], "policy add"),
            (["policy", "delete", "a.test", "b.test"], "policy delete"),
            (["check-header"], "check-header"),
            (["log", "--kind", "x"], "log"),
            (["audit", "--format", "xml"], "audit"),
            (["probe"], "probe"),
        ]
        for args, what in cases:
            with self.subTest(args=args):
                line = self.usage_line(*args)
                self.assertTrue(line.startswith("hstsproxy %s: " % what), line)
                self.assertIn("(see hstsproxy %s --help)" % what.split()[0],
                              line)

    def test_no_arguments_short_usage(self):
        res = self.run_status(EXIT_USAGE, db=False)
        self.assertEqual(res.out, "")
        lines = res.err.splitlines()
        self.assertTrue(lines[0].startswith("usage: hstsproxy "), res)
        self.assertLessEqual(len(lines), 4, res)
        self.assertIn("audit", res.err)
        self.assertIn("--help", res.err)

    def test_help_is_immediate_and_states_exit_statuses(self):
        for args in (["--help"], ["run", "--help"], ["help", "run"],
                     ["audit", "-h"], ["policy", "add", "--help"]):
            with self.subTest(args=args):
                res = self.run_ok(*args)
                self.assertTrue(res.out.startswith("usage: hstsproxy"), res)
                self.assertIn("Exit status", res.out)
                self.assertEqual(res.err, "")


class Windows(CliTestCase):
    def setUp(self):
        super().setUp()
        self.run_ok("policy", "list")  # creates the store

    def test_log_and_audit_refuse_an_empty_window_alike(self):
        windows = [["--since", "2026-01-02", "--until", "2026-01-01"],
                   ["--since", "2026-01-02", "--until", "2026-01-02"],
                   ["--since", "1h", "--until", "2h"]]
        for w in windows:
            lines = {}
            for cmd in ("log", "audit"):
                with self.subTest(cmd=cmd, window=w):
                    res = self.run_status(EXIT_USAGE, cmd, *w)
                    self.assertEqual(res.out, "")
                    prefix = "hstsproxy %s: " % cmd
                    self.assertTrue(res.err.startswith(prefix), res)
                    lines[cmd] = res.err[len(prefix):].replace(cmd, "CMD")
            self.assertEqual(lines["log"], lines["audit"])

    def test_audit_two_formats_usage_error(self):
        for args in (["--json", "--format", "csv"],
                     ["--format", "html", "--format", "text"],
                     ["--format", "text", "--json"]):
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, "audit", *args)
                self.assertIn("cannot be combined", res.err)
                self.assertEqual(res.out, "")
        res = self.run_ok("audit", "--json", "--format", "json")
        self.assertTrue(res.out.startswith("{"), res)
        log = self.run_status(EXIT_USAGE, "log", "--json", "--har")
        self.assertIn("cannot be combined", log.err)


class RunStartup(CliTestCase):
    """Exit 2 for what the user named wrongly, 3 for the running system."""

    def start(self, *args):
        return self.run_raw(["run", "--listen", "127.0.0.1:0",
                             "--probe", "off"] + list(args))

    def assert_startup(self, res, status, text):
        self.assertEqual(res.status, status, res)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 1, res)
        self.assertTrue(lines[0].startswith("hstsproxy run: " + text), res)

    def test_unreadable_files_are_usage_errors(self):
        missing = os.path.join(self.tmp, "missing")
        for opt in ("--auth-file", "--ca-file"):
            with self.subTest(opt=opt):
                self.assert_startup(self.start(opt, missing), EXIT_USAGE,
                                    "%s %s: " % (opt, missing))
        nodir = os.path.join(self.tmp, "no-dir", "hops.jsonl")
        self.assert_startup(self.start("--log-json", nodir), EXIT_USAGE,
                            "--log-json %s: " % nodir)

    def test_open_proxy_refused_as_usage(self):
        res = self.run_raw(["run", "--listen", "0.0.0.0:0"])
        self.assert_startup(res, EXIT_USAGE, "--listen 0.0.0.0:0: ")

    def test_address_in_use_is_runtime(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = self.run_raw(["run", "--listen", "127.0.0.1:%d" % port,
                            "--probe", "off"])
        self.assertEqual(res.status, EXIT_FAIL, res)
        self.assertTrue(res.err.startswith("hstsproxy run: "), res)

    def test_store_unopenable_is_runtime(self):
        blocker = self.write("f", "a file where a directory should be")
        res = self.run_raw(["--db", os.path.join(blocker, "x.db"), "run",
                            "--listen", "127.0.0.1:0", "--probe", "off"],
                           db=False)
        self.assertEqual(res.status, EXIT_FAIL, res)
        self.assertTrue(res.err.startswith("hstsproxy run: "), res)


if __name__ == "__main__":
    unittest.main()
