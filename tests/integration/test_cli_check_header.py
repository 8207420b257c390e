"""test_cli_check_header.py - `hstsproxy check-header VALUE [--json]`.

Vectors for the exit status (0 valid, 1 invalid), the reading of the
header, and the problem codes (hstspreload.org's where one exists).
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_util import (EXIT_NO, EXIT_OK, EXIT_USAGE, RUN_TIMEOUT,  # noqa
                      CliTestCase, binary)

KEYS = {"header", "field_name_removed", "valid", "max_age", "max_age_sent",
        "include_subdomains", "preload", "problems"}
PRELOAD_OK = "max-age=31536000; includeSubDomains; preload"

# (value, exit status, max_age, include_subdomains, preload,
#  codes that must be present, codes that must be absent)
VECTORS = [
    (PRELOAD_OK, EXIT_OK, 31536000, True, True, [],
     ["header.preloadable.preload.missing"]),
    ("max-age=63072000; includeSubDomains; preload", EXIT_OK, 31536000, True,
     True, [], []),
    ("max-age=300", EXIT_OK, 300, False, False,
     ["header.preloadable.max_age.below_1_year",
      "header.preloadable.include_sub_domains.missing",
      "header.preloadable.preload.missing",
      "proxy.header.max_age.below_6_months"], []),
    ('MAX-AGE="600" ; INCLUDESUBDOMAINS', EXIT_OK, 600, True, False,
     ["header.preloadable.preload.missing"], []),
    ("max-age=0", EXIT_OK, 0, False, False,
     ["header.preloadable.max_age.zero"], []),
    ("max-age=1;;", EXIT_OK, 1, False, False,
     ["header.parse.empty_directive"], []),
    ("max-age=1; unknown=token", EXIT_OK, 1, False, False,
     ["header.parse.unknown_directive"], []),
    ("max-age=1; max-age=2", EXIT_NO, None, False, False,
     ["header.parse.repeated.max_age"], []),
    ("max-age=12a", EXIT_NO, None, False, False,
     ["header.parse.max_age.non_digit_characters"], []),
    ("includeSubDomains", EXIT_NO, None, True, False,
     ["header.preloadable.max_age.missing"], []),
    ("", EXIT_NO, None, False, False, [], []),
    ("max-age=1; includeSubDomains; includeSubDomains", EXIT_NO, None, True,
     False, ["header.parse.repeated.include_sub_domains"], []),
]


class CheckHeader(CliTestCase):

    def test_vectors(self):
        for value, status, max_age, sub, preload, present, absent in VECTORS:
            with self.subTest(value=value):
                res = self.run_raw(("check-header", value, "--json"),
                                   db=False)
                self.assertEqual(res.status, status, res)
                doc = res.json()
                self.assertEqual(set(doc), KEYS)
                self.assertEqual(doc["header"], value)
                self.assertIs(doc["valid"], status == EXIT_OK)
                if max_age is not None:
                    self.assertEqual(doc["max_age"], max_age)
                self.assertIs(doc["include_subdomains"], sub)
                self.assertIs(doc["preload"], preload)
                codes = [p["code"] for p in doc["problems"]]
                for p in doc["problems"]:
                    self.assertEqual(set(p), {"code", "severity", "message"})
                    self.assertIn(p["severity"], ("error", "warning"))
                    self.assertTrue(p["message"])
                    self.assertRegex(p["code"], r"^(header|proxy)\.[a-z0-9_.]+$")
                for code in present:
                    self.assertIn(code, codes)
                for code in absent:
                    self.assertNotIn(code, codes)
                if status == EXIT_NO:
                    self.assertIn("error", [p["severity"]
                                            for p in doc["problems"]])

    def test_capped_max_age_reports_what_was_sent(self):
        doc = self.run_status(EXIT_OK, "check-header", "max-age=99999999999",
                              "--json", db=False).json()
        self.assertEqual((doc["max_age"], doc["max_age_sent"]),
                         (31536000, 99999999999))

    def test_max_age_beyond_what_json_holds_is_a_string(self):
        sent = "99999999999999999999999"
        doc = self.run_status(EXIT_OK, "check-header", "max-age=" + sent,
                              "--json", db=False).json()
        self.assertEqual((doc["max_age"], doc["max_age_sent"]),
                         (31536000, sent))
        doc = self.run_status(EXIT_OK, "check-header",
                              "max-age=9007199254740993", "--json",
                              db=False).json()
        self.assertEqual(doc["max_age_sent"], "9007199254740993")
        doc = self.run_status(EXIT_OK, "check-header",
                              "max-age=9007199254740992", "--json",
                              db=False).json()
        self.assertEqual(doc["max_age_sent"], 9007199254740992)
        res = self.run_status(EXIT_OK, "check-header", "max-age=" + sent,
                              db=False)
        self.assertRegex(res.out, r"(?m)^max-age +31536000 \(365 d; %s sent,"
                         r" capped at one year\)$" % sent)

    def test_text_output(self):
        res = self.run_status(EXIT_OK, "check-header", "max-age=300",
                              db=False)
        self.assertRegex(res.out, r'(?m)^header +"max-age=300"$')
        self.assertRegex(res.out, r"(?m)^valid +yes$")
        self.assertRegex(res.out, r"(?m)^max-age +300 \(5 min\)$")
        self.assertRegex(res.out, r"(?m)^  warning +header\.preloadable\."
                         r"max_age\.below_1_year +\S")
        self.assertRegex(res.out, r"(?m)^  warning +proxy\.header\.max_age\."
                         r"below_6_months")
        res = self.run_status(EXIT_NO, "check-header", "max-age=x", db=False)
        self.assertRegex(res.out, r"(?m)^valid +no")

    def test_preload_requirements_are_errors_only_when_asked(self):
        doc = self.run_status(EXIT_OK, "check-header", "max-age=300",
                              "--json", db=False).json()
        sev = {p["code"]: p["severity"] for p in doc["problems"]}
        self.assertEqual(sev["header.preloadable.preload.missing"], "warning")
        self.assertNotIn("error", sev.values())
        doc = self.run_status(EXIT_NO, "check-header", "max-age=300",
                              "--preload", "--json", db=False).json()
        sev = {p["code"]: p["severity"] for p in doc["problems"]}
        self.assertTrue(doc["valid"])
        self.assertEqual(sev["header.preloadable.preload.missing"], "error")
        self.assertEqual(sev["proxy.header.max_age.below_6_months"],
                         "warning")
        self.run_status(EXIT_OK, "check-header", "--preload", PRELOAD_OK,
                        db=False)
        # an invalid header keeps its errors either way
        doc = self.run_status(EXIT_NO, "check-header", "max-age=x",
                              "--json", db=False).json()
        self.assertIn("error", [p["severity"] for p in doc["problems"]])

    def test_pasted_header_line(self):
        for line in ("Strict-Transport-Security: max-age=600",
                     "strict-transport-security:max-age=600",
                     "  STRICT-TRANSPORT-SECURITY :  max-age=600"):
            with self.subTest(line=line):
                doc = self.run_status(EXIT_OK, "check-header", line,
                                      "--json", db=False).json()
                self.assertEqual((doc["header"], doc["field_name_removed"],
                                  doc["max_age"]), ("max-age=600", True, 600))
        res = self.run_status(EXIT_OK, "check-header",
                              "Strict-Transport-Security: max-age=600",
                              db=False)
        self.assertRegex(res.out, r'(?m)^note +the field name '
                         r'"Strict-Transport-Security:" was removed')
        doc = self.run_status(EXIT_NO, "check-header", "max-age=600; x:y",
                              "--json", db=False).json()
        self.assertFalse(doc["field_name_removed"])

    def test_value_from_stdin(self):
        path = self.write("in.txt", "Strict-Transport-Security: "
                          "max-age=31536000; includeSubDomains\r\n")
        with open(path, "rb") as f:
            res = self.run_raw(("check-header", "-", "--json"), db=False,
                               stdin=f)
        self.assertEqual(res.status, EXIT_OK, res)
        doc = res.json()
        self.assertEqual((doc["header"], doc["field_name_removed"],
                          doc["include_subdomains"]),
                         ("max-age=31536000; includeSubDomains", True, True))
        path = self.write("nul.txt", b"max-age=1\0")
        with open(path, "rb") as f:
            res = self.run_raw(("check-header", "-"), db=False, stdin=f)
        self.assertEqual(res.status, EXIT_USAGE, res)
        self.assert_one_error_line(res, "check-header")

    def test_bytes_that_are_not_text(self):
        value = b"max-age=5\x01\xff; x=\"\xc3\xa9\""
        proc = subprocess.run([binary(), "check-header", value, "--json"],
                              capture_output=True, env=self.env(),
                              timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, EXIT_NO, proc)
        text = proc.stdout.decode("utf-8")  # valid UTF-8 whatever came in
        self.assertIn("\\u0001", text)
        doc = json.loads(text)
        self.assertEqual(doc["header"], "max-age=5\x01\ufffd; x=\"\u00e9\"")
        codes = [p["code"] for p in doc["problems"]]
        self.assertIn("proxy.header.malformed_bytes", codes)

    def test_usage(self):
        for args in (("check-header",), ("check-header", "a", "b"),
                     ("check-header", "max-age=1", "--bogus")):
            with self.subTest(args=args):
                res = self.run_status(EXIT_USAGE, *args, db=False)
                self.assert_one_error_line(res, "check-header")
        res = self.run_status(EXIT_OK, "check-header", "--help", db=False)
        self.assertIn("usage: hstsproxy check-header VALUE", res.out)
        res = self.run_status(EXIT_OK, "help", "check-header", db=False)
        self.assertIn("usage: hstsproxy check-header VALUE", res.out)
        # "--" lets a value start with a dash.
        res = self.run_status(EXIT_NO, "check-header", "--", "-max-age=1",
                              db=False)
        self.assertRegex(res.out, r"(?m)^valid +no")


if __name__ == "__main__":
    unittest.main()
