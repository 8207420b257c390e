"""cli_util.py - helpers for the tests of hstsproxy's store-facing commands.

Standard library only. CliTestCase gives each test a private temporary
directory and a store inside it (--db), and run() executes the binary
($HSTSPROXY_BIN, else build/hstsproxy) with a clean environment (no colour,
no HSTSPROXY_DB or XDG_STATE_HOME leaking in from the caller), returning
the exit status, stdout and stderr. Nothing here touches the network.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUN_TIMEOUT = 60  # seconds for one command
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer")

EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_FAIL = 0, 1, 2, 3


def binary():
    return os.environ.get("HSTSPROXY_BIN") or os.path.join(REPO, "build",
                                                          "hstsproxy")


def shared(*parts):
    """A file of the test data folder, $HSTSPROXY_SHARED (ctest sets it from
    the CMake cache variable HSTSPROXY_SHARED_DIR)."""
    base = os.environ.get("HSTSPROXY_SHARED")
    if not base:
        raise RuntimeError("HSTSPROXY_SHARED is not set: run the test "
                           "through ctest, or set it to the test data folder")
    return os.path.join(base, *parts)


def chromium_2016():
    return shared("data", "chromium-preload-2016.json")


def strip_comment_lines(text):
    """Drops the lines whose first non-blank characters are //."""
    return "\n".join(line for line in text.split("\n")
                     if not line.lstrip().startswith("//"))


def chromium_counts(path):
    """Counts of a Chromium list computed with Python's json module.

    Names are compared lowercased without a trailing dot, as the store
    normalizes them; a repeat with the same flags counts once.
    """
    with open(path, encoding="utf-8") as f:
        doc = json.loads(strip_comment_lines(f.read()))
    hosts = {}
    for e in doc["entries"]:
        name = e["name"].lower().rstrip(".")
        flags = (e.get("mode") == "force-https",
                 bool(e.get("include_subdomains", False)))
        assert hosts.setdefault(name, flags) == flags, name
    return {
        "entries": len(hosts),
        "force_https": sum(1 for f in hosts.values() if f[0]),
        "include_subdomains": sum(1 for f in hosts.values() if f[1]),
        "duplicates": len(doc["entries"]) - len(hosts),
    }


class Result:
    def __init__(self, proc):
        self.status = proc.returncode
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.out)

    def json_lines(self):
        return [json.loads(line) for line in self.out.splitlines()]

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.status, self.out,
                                                     self.err)


class CliTestCase(unittest.TestCase):
    """A private temp dir (self.tmp) and store (self.db) per test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hstsproxy-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.db = os.path.join(self.tmp, "store.db")

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if k not in ("HSTSPROXY_DB", "XDG_STATE_HOME")}
        env["NO_COLOR"] = "1"
        env["HOME"] = self.tmp
        env.update(extra)
        return env

    def run_raw(self, args, db=True, env=None, stdin=None, cwd=None):
        cmd = [binary()] + (["--db", self.db] if db else []) + list(args)
        proc = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT,
                              cwd=cwd,
                              env=env if env is not None else self.env(),
                              stdin=subprocess.DEVNULL if stdin is None
                              else stdin)
        res = Result(proc)
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, res.err, res)
        return res

    def run_ok(self, *args, **kw):
        res = self.run_raw(args, **kw)
        self.assertEqual(res.status, EXIT_OK, res)
        return res

    def run_status(self, status, *args, **kw):
        res = self.run_raw(args, **kw)
        self.assertEqual(res.status, status, res)
        return res

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path, mode) as f:
            f.write(data)
        return path

    def assert_one_error_line(self, res, what):
        """stderr is exactly one line "hstsproxy <what>: <why>"."""
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 1, res)
        self.assertTrue(lines[0].startswith("hstsproxy %s: " % what), res)
        return lines[0]
