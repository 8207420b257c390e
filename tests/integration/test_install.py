"""Installed like a daemon (README.md "Install as a service"):
`cmake --install` puts the binary, the man page, the systemd unit and the
example config in place; the man page documents every subcommand and
every long option that --help prints; `systemd-analyze verify` accepts the
unit; `cpack -G DEB` builds a package with the files, the conffile and the
computed dependencies, which installs (`dpkg -i`), runs (`--version`, the
installed config starts a proxy) and purges cleanly (`dpkg -P`).

The package is built from the build tree the tests run (the binary of
$HSTSPROXY_BIN) into a temporary directory. `dpkg -i` touches the real
system, so it runs only as root, when no hstsproxy package is installed,
one test run at a time (a lock file), and is always followed by
`dpkg -P`."""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

CMD_TIMEOUT = 120
LOCK = "/tmp/hstsproxy-test-install.lock"
UNIT_MUST = ("DynamicUser=yes", "StateDirectory=hstsproxy",
             "ProtectSystem=strict", "NoNewPrivileges=yes",
             "ExecReload=/bin/kill -HUP $MAINPID", "ProtectHome=yes",
             "PrivateTmp=yes", "RestrictAddressFamilies=",
             "SystemCallFilter=", "CapabilityBoundingSet=")
DEPENDS = ("libuv1", "libssl3", "libsqlite3-0", "libpsl5")
FILES = ("usr/bin/hstsproxy", "usr/share/man/man1/hstsproxy.1",
         "usr/lib/systemd/system/hstsproxy.service",
         "etc/hstsproxy/hstsproxy.conf")
OPTION_RE = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=CMD_TIMEOUT, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv),
                                                    r.returncode, r.stdout,
                                                    r.stderr))
    return r


def build_dir():
    return os.path.dirname(os.path.abspath(H.proxy_bin()))


def man_text():
    """The man page's source with roff escapes undone (\\- is -)."""
    path = os.path.join(H.REPO, "docs", "hstsproxy.1")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    return text.replace("\\&", "")


class Install(H.ProxyTestCase):
    def help_text(self, *args):
        return run([H.proxy_bin()] + list(args) + ["--help"]).stdout

    def subcommands(self):
        text = self.help_text()
        block = text.split("Subcommands:\n")[1].split("\n\n")[0]
        return [line.split()[0] for line in block.splitlines()]

    def test_man_page_is_true_to_help(self):
        man = man_text()
        subs = self.subcommands()
        self.assertIn("run", subs)
        self.assertIn("reload", subs)
        for opt in OPTION_RE.findall(self.help_text()):
            self.assertIn(opt, man, "global option %s" % opt)
        for sub in subs:
            self.assertIn(".SS \"hstsproxy %s" % sub, man,
                          "subcommand %s" % sub)
            for opt in set(OPTION_RE.findall(self.help_text(sub))):
                self.assertIn(opt, man, "%s %s" % (sub, opt))
        run_opts = set(re.findall(r"^  (--[a-z-]+)", self.help_text("run"),
                                  re.M))
        self.assertIn("--config", run_opts)
        items = re.findall(r"^\.TP\n\.[BIR]+ (--[a-z-]+)", man, re.M)
        for opt in run_opts:  # each with a paragraph of its own
            self.assertIn(opt, items, "run %s: no .TP item" % opt)

    def install_tree(self):
        dest = os.path.join(self.tmp, "dest")
        env = dict(os.environ, DESTDIR=dest)
        run(["cmake", "--install", build_dir(), "--prefix", "/usr"], env=env)
        return dest

    def test_cmake_install_and_unit(self):
        dest = self.install_tree()
        for f in FILES:
            self.assertTrue(os.path.isfile(os.path.join(dest, f)), f)
        self.assertTrue(os.access(os.path.join(dest, FILES[0]), os.X_OK))
        with open(os.path.join(dest, FILES[2])) as f:
            unit = f.read()
        for must in UNIT_MUST:
            self.assertIn("\n" + must, unit)
        self.assertIn("ExecStart=/usr/bin/hstsproxy ", unit)
        conf = os.path.join(dest, FILES[3])
        r = run([os.path.join(dest, FILES[0]), "--db",
                 os.path.join(self.tmp, "c.db"), "run", "--check-config",
                 "--config", conf])
        self.assertEqual(r.stdout, "%s: configuration OK\n" % conf)
        self.verify_unit(unit, dest)

    def verify_unit(self, unit, dest):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is missing (Debian package "
                          "systemd; scripts/setup.sh installs it)")
        # the unit as installed, its binary at the staged path
        staged = os.path.join(self.tmp, "units", "hstsproxy.service")
        os.makedirs(os.path.dirname(staged), exist_ok=True)
        with open(staged, "w") as f:
            f.write(unit.replace("ExecStart=/usr/bin/hstsproxy",
                                 "ExecStart=%s/usr/bin/hstsproxy" % dest))
        env = dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man"))
        r = run([analyze, "verify", staged], check=False, env=env)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        with open(staged, "w") as f:  # and it would see a fault
            f.write(unit.replace("ProtectSystem=strict",
                                 "ProtectSystem=sometimes"))
        r = run([analyze, "verify", staged], check=False, env=env)
        self.assertNotEqual(r.returncode, 0)

    def build_deb(self):
        out = os.path.join(self.tmp, "pkg")
        run(["cpack", "-G", "DEB", "--config",
             os.path.join(build_dir(), "CPackConfig.cmake"), "-B", out],
            cwd=self.tmp)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, debs)
        return os.path.join(out, debs[0])

    def test_deb_package(self):
        deb = self.build_deb()
        depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
        for d in DEPENDS:
            self.assertRegex(depends, r"(^|, )%s( |,|$)" % re.escape(d))
        listing = run(["dpkg", "--contents", deb]).stdout
        for f in FILES:
            self.assertIn("./" + f + "\n", listing)
        ctl = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", deb, ctl])
        with open(os.path.join(ctl, "conffiles")) as f:
            self.assertEqual(f.read(), "/etc/hstsproxy/hstsproxy.conf\n")
        x = os.path.join(self.tmp, "x")
        run(["dpkg", "-x", deb, x])
        r = run([os.path.join(x, FILES[0]), "--version"])
        self.assertRegex(r.stdout, r"^hstsproxy \d+\.\d+\.\d+\n$")
        self.install_and_purge(deb)

    def install_and_purge(self, deb):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root; the package was checked "
                          "with dpkg -x")
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            st = run(["dpkg-query", "-W", "-f=${Status}", "hstsproxy"],
                     check=False)
            if "installed" in st.stdout:
                self.skipTest("an hstsproxy package is installed already: "
                              "not touched")
            try:
                run(["dpkg", "-i", deb])
                self.installed_works()
            finally:
                run(["dpkg", "-P", "hstsproxy"])
            for f in FILES:
                self.assertFalse(os.path.exists("/" + f), f)
            self.assertFalse(os.path.exists("/etc/hstsproxy"))

    def installed_works(self):
        r = run(["/usr/bin/hstsproxy", "--version"])
        self.assertRegex(r.stdout, r"^hstsproxy \d+\.\d+\.\d+\n$")
        r = run(["man", "-w", "hstsproxy"], check=False)
        self.assertEqual(r.stdout.strip(),
                         "/usr/share/man/man1/hstsproxy.1")
        if shutil.which("systemd-analyze"):
            r = run(["systemd-analyze", "verify",
                     "/usr/lib/systemd/system/hstsproxy.service"],
                    check=False)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
        # the installed config starts a proxy (on a free port here)
        p = subprocess.Popen(
            ["/usr/bin/hstsproxy", "--db", os.path.join(self.tmp, "i.db"),
             "run", "--config", "/etc/hstsproxy/hstsproxy.conf", "--listen",
             "127.0.0.1:0", "--probe", "off"],
            stderr=subprocess.PIPE, text=True, env=H.clean_env())
        try:
            line = p.stderr.readline()
            self.assertTrue(line.startswith("hstsproxy: listening on "),
                            line)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30), 0)
            p.stderr.close()


if __name__ == "__main__":
    H.main()
