"""upgrade_util.py - helpers for the internal-upgrade and hop-log tests.

Standard library only, on top of harness.py: seeding a store with
policies (`policy add`) or a preload list (`preload import` of a text
list the test writes), reading the hop log back (`log --json`), and
checking an internal 307 head line by line.

The exact 307 head (README.md "What the proxy answers", docs/HSTS.md "The
upgrade"), in the order hstsproxy writes it:

    HTTP/1.1 307 Internal Redirect
    Location: <upgraded URL>
    Non-Authoritative-Reason: HSTS
    Cross-Origin-Resource-Policy: Cross-Origin
    Content-Length: 0
    [Access-Control-Allow-Origin: <Origin>]
    [Access-Control-Allow-Credentials: true]
    [Connection: close | Connection: keep-alive]
"""

import json
import os
import subprocess

import harness as H

CLI_TIMEOUT = 60


def shared_data():
    """The test data folder, $HSTSPROXY_SHARED/data (ctest sets it)."""
    base = os.environ.get("HSTSPROXY_SHARED")
    if not base:
        raise RuntimeError("HSTSPROXY_SHARED is not set: run the test "
                           "through ctest, or set it to the test data folder")
    return os.path.join(base, "data")


def cli(db, *args, check=True):
    """Runs `hstsproxy --db DB ARGS`; returns CompletedProcess (text)."""
    r = subprocess.run([H.proxy_bin(), "--db", db] + list(args),
                       capture_output=True, text=True, env=H.clean_env(),
                       timeout=CLI_TIMEOUT)
    if check and r.returncode != 0:
        raise AssertionError("hstsproxy %s: exit %d\n%s%s"
                             % (" ".join(args), r.returncode, r.stdout,
                                r.stderr))
    return r


def add_policy(db, host, subdomains=False):
    args = ["policy", "add", host]
    if subdomains:
        args.append("--include-subdomains")
    cli(db, *args)


def import_text_list(db, path, entries):
    """Writes entries [(host, subdomains)] as a text preload list and
    imports it; returns the import's output line."""
    with open(path, "w") as f:
        f.write("# hstsproxy test list\n")
        for host, subs in entries:
            f.write("%s%s\n" % (host, " includeSubDomains" if subs else ""))
    return cli(db, "preload", "import", "--force", path, "--format", "text").stdout


def log_json(db, *filters):
    """The hops of `hstsproxy log --json` as a list of dicts."""
    r = cli(db, "log", "--json", *filters)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def log_json_lines(db):
    return [l for l in cli(db, "log", "--json").stdout.splitlines()
            if l.strip()]


def maps(port, *hosts):
    """--map arguments sending each host (any port) to 127.0.0.1:port."""
    out = []
    for h in hosts:
        out += ["--map", "%s=127.0.0.1:%d" % (h, port)]
    return out


def expected_head(location, origin=None, connection=None):
    lines = ["HTTP/1.1 307 Internal Redirect",
             "Location: %s" % location,
             "Non-Authoritative-Reason: HSTS",
             "Cross-Origin-Resource-Policy: Cross-Origin",
             "Content-Length: 0"]
    if origin is not None:
        lines += ["Access-Control-Allow-Origin: %s" % origin,
                  "Access-Control-Allow-Credentials: true"]
    if connection is not None:
        lines.append("Connection: %s" % connection)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class UpgradeCase(H.ProxyTestCase):
    """A ProxyTestCase with a store per class and a counting origin that
    every test host is mapped to: whatever is forwarded shows up there,
    and nothing may for an upgraded request."""

    HOSTS = ()          # hosts mapped to the origin
    POLICIES = ()       # (host, include_subdomains) added before start
    PROXY_ARGS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = os.path.join(cls.tmp, "store.db")
        for host, subs in cls.POLICIES:
            add_policy(cls.db, host, subs)
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy(list(maps(cls.o.port, *cls.HOSTS))
                                + list(cls.PROXY_ARGS), db=cls.db)

    def read_307(self, c, location, origin=None, connection=None,
                 method="GET"):
        """Reads one response from RawClient c and checks it is exactly
        the 307 head for location, with no body."""
        head = c.bs.read_head()
        self.assertIsNotNone(head, "connection closed before the 307")
        self.assertEqual(head.decode("latin-1"),
                         expected_head(location, origin, connection)
                         .decode("latin-1"))
        return head

    def assert_origin_untouched(self, before=0):
        self.assertEqual(self.o.conn_count(), before,
                         "the origin was contacted for an upgraded request")
