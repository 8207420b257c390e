"""`run --config FILE` and `run --check-config` (README.md "Config file"),
and `--listen NAME:PORT` (every address of a host name, resolved at start).

A config file holds `name value` lines whose names are exactly the long
options of `run`; repeatable options repeat, `#` starts a comment line,
command-line options override the file (a repeatable one replaces the
file's lines of its name). `--check-config` validates all of it as `run`
would (files read, addresses parsed, the auth file loaded) and exits 0, or
2 with FILE:LINE and the fault; a misspelled name gets the nearest valid
one. A faulty configuration starts nothing: no listener, no store.
Host names come from /etc/hosts only (localhost)."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

EXIT_OK, EXIT_USAGE = 0, 2


class Config(H.ProxyTestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_cmd(self, *args, db=None):
        db = db or os.path.join(self.tmp, "check.db")
        r = subprocess.run([H.proxy_bin(), "--db", db, "run"] + list(args),
                           capture_output=True, text=True, timeout=30,
                           env=H.clean_env())
        return r.returncode, r.stdout, r.stderr

    def assert_usage(self, args, *needles, db=None):
        rc, out, err = self.run_cmd(*args, db=db)
        self.assertEqual(rc, EXIT_USAGE, err)
        self.assertEqual(err.count("\n"), 1, err)
        for n in needles:
            self.assertIn(n, err)
        return err

    def test_file_options_run_the_proxy(self):
        conf = self.write("a.conf", "# a comment\n\n"
                          "listen 127.0.0.1:0\n"
                          "  listen\t127.0.0.2:0  \n")
        with open(conf, "a") as f:
            f.write("probe off\nverbose\ntimeout-idle 7\n")
        p = self.proxy(["--config", conf], listen=())
        self.assertEqual(len(p.addresses), 2, p.addresses)
        r = H.curl(p.url + "/")
        self.assertEqual(r.status, 200)
        p.stop()

    def test_command_line_overrides_the_file(self):
        busy, port = H.refused_port()  # the file's address is taken
        self.addCleanup(busy.close)
        conf = self.write("o.conf", "listen 127.0.0.1:%d\nlisten "
                          "127.0.0.2:%d\nprobe on\n" % (port, port))
        p = self.proxy(["--config", conf, "--probe", "off"],
                       listen=("127.0.0.1:0",))
        self.assertEqual(len(p.addresses), 1, p.addresses)
        self.assertNotEqual(p.port, port)
        p.stop()

    def test_check_config_ok(self):
        htp = self.write("users", "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")
        conf = self.write("ok.conf", "listen 127.0.0.1:3128\n"
                          "auth-file %s\nallow 10.0.0.0/8\n" % htp)
        db = os.path.join(self.tmp, "never.db")
        rc, out, err = self.run_cmd("--check-config", "--config", conf, db=db)
        self.assertEqual(rc, EXIT_OK, err)
        self.assertEqual(out, "%s: configuration OK\n" % conf)
        self.assertFalse(os.path.exists(db), "check-config made the store")
        rc, out, err = self.run_cmd("--check-config")
        self.assertEqual(rc, EXIT_OK, err)

    def test_misspelled_name_names_the_line_and_nearest(self):
        conf = self.write("m.conf", "listen 127.0.0.1:0\n# x\n"
                          "timeout-idel 5\n")
        err = self.assert_usage(["--check-config", "--config", conf],
                                "%s:3:" % conf, '"timeout-idel"',
                                "did you mean timeout-idle?")
        self.assertTrue(err.startswith("hstsproxy run: "), err)
        conf = self.write("m2.conf", "lisen 127.0.0.1:0\n")
        self.assert_usage(["--config", conf], "%s:1:" % conf,
                          "did you mean listen?")

    def test_bad_values_name_the_line(self):
        cases = [
            ("workers 0\n", "--workers 0"),
            ("listen 127.0.0.1\n", "--listen 127.0.0.1: missing :PORT"),
            ("listen\n", "listen needs a value"),
            ("verbose yes\n", "verbose takes no value"),
            ("config other.conf\n", "config cannot be set in a config file"),
            ("check-config\n", "check-config cannot be set"),
            ("probe maybe\n", "--probe maybe"),
            ("listen localhost:99999\n", "port is not a number"),
        ]
        for i, (text, needle) in enumerate(cases):
            conf = self.write("bad%d.conf" % i, "# first\n" + text)
            for args in (["--check-config", "--config", conf],
                         ["--config", conf]):
                self.assert_usage(args, "%s:2:" % conf, needle)

    def test_files_named_in_the_config_are_checked(self):
        missing = os.path.join(self.tmp, "nope")
        for name in ("auth-file", "ca-file"):
            conf = self.write(name + ".conf", "listen 127.0.0.1:0\n"
                              "%s %s\n" % (name, missing))
            self.assert_usage(["--check-config", "--config", conf],
                              "%s:2:" % conf, "--%s" % name, missing)
        bad = self.write("htpasswd", "alice\n")
        conf = self.write("h.conf", "auth-file %s\n" % bad)
        self.assert_usage(["--config", conf], "%s:1:" % conf)

    def test_unreadable_config_starts_nothing(self):
        db = os.path.join(self.tmp, "untouched.db")
        missing = os.path.join(self.tmp, "missing.conf")
        self.assert_usage(["--config", missing], "--config %s" % missing,
                          "No such file", db=db)
        self.assert_usage(["--config", self.tmp], "--config %s" % self.tmp,
                          db=db)
        conf = self.write("nul.conf", "listen 127.0.0.1:0\0\n")
        self.assert_usage(["--config", conf], "NUL", db=db)
        self.assertFalse(os.path.exists(db), "a store was made")

    def test_listen_host_name(self):
        p = self.proxy(listen=("localhost:0",))
        self.assertIn(("127.0.0.1", p.port), p.ports)
        r = H.curl("http://localhost:%d/" % p.port)
        self.assertEqual(r.status, 200)
        p.stop()
        self.assert_usage(["--listen", "localhost"], "missing :PORT")
        self.assert_usage(["--listen", "-bad-:80"], "--listen -bad-:80")


if __name__ == "__main__":
    H.main()
