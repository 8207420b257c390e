"""A real browser behind hstsproxy (README.md "Using it": a browser
proxy): headless Chromium asks for http://secure.test/page through the
proxy, gets the internal 307, follows it through a CONNECT tunnel to the
test's own TLS origin, and the page it shows is the one served only over
TLS; the plain-HTTP origin receives nothing, and `hstsproxy log --json`
shows the hsts-upgrade hop.

secure.test is unknown to Chromium (no preload entry, never visited in a
fresh profile) and its own HTTPS upgrading features are turned off, so the
proxy's 307 is what upgrades. Everything stays on loopback: the proxy maps
secure.test:443 to the TLS origin and secure.test (other ports) to the
plain origin; the leaf certificate is trusted through its SPKI hash. The
test is skipped, saying why, when the Debian `chromium` package is not
installed (scripts/setup.sh installs it).

The browser is pointed at the proxy by a PAC script (a data: URL) rather
than --proxy-server: Debian's Chromium ships Google API keys and, even with
background networking and the component updater disabled, asks
accounts.google.com, update.googleapis.com and clients2.google.com for
things; through --proxy-server those requests would make hstsproxy resolve
real names. The PAC sends secure.test to hstsproxy (exactly what
--proxy-server does for it) and everything else to a closed loopback port,
where it fails without a DNS query anywhere."""

import base64
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
from browser_util import (CHROMIUM_FLAGS, chromium_binary,  # noqa: E402
                          pac_data_url)
import upgrade_util as U  # noqa: E402

BROWSER_TIMEOUT = 120  # seconds for one headless run
MARKER = "hstsproxy-browser-marker-served-over-tls"
PLAIN_MARKER = "served-over-plain-http"
HOST = "secure.test"


def spki_sha256_b64(cert_pem):
    """base64(sha256(SubjectPublicKeyInfo DER)) of a PEM certificate, the
    form --ignore-certificate-errors-spki-list takes."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-pubkey",
                          "-noout"], capture_output=True, check=True,
                         timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"],
                         input=pub, capture_output=True, check=True,
                         timeout=30).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def page(marker):
    return ("<!DOCTYPE html><html><head><title>t</title></head><body>"
            "<p id=\"m\">%s</p></body></html>" % marker).encode()


def serve_page(marker):
    def handler(origin, sock, bs, req, rec):
        return origin.send_response(sock, req, rec, 200,
                                    [("Content-Type",
                                      "text/html; charset=utf-8")],
                                    page(marker))
    return handler


class BrowserUpgrade(H.ProxyTestCase):
    def setUp(self):
        self.chromium = chromium_binary()
        if self.chromium is None:
            self.skipTest("chromium is not installed: install the Debian "
                          "package `chromium` (scripts/setup.sh does)")

    def pac_url(self, proxy_port):
        sink, sink_port = H.refused_port()
        self.addCleanup(sink.close)
        return pac_data_url({HOST: "PROXY 127.0.0.1:%d" % proxy_port},
                            sink_port)

    def run_browser(self, proxy_port, spki, url):
        profile = os.path.join(self.tmp, "profile")
        argv = [self.chromium] + CHROMIUM_FLAGS + [
            "--user-data-dir=%s" % profile,
            "--proxy-pac-url=%s" % self.pac_url(proxy_port),
            "--ignore-certificate-errors-spki-list=%s" % spki,
            "--dump-dom", url]
        env = H.clean_env()
        env["HOME"] = self.tmp  # nothing from the real profile
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=BROWSER_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group we started
            out, err = proc.communicate()
            self.fail("chromium did not finish in %ds; stderr:\n%s"
                      % (BROWSER_TIMEOUT, err.decode("utf-8", "replace")
                         [-3000:]))
        return proc.returncode, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace")

    def test_http_url_shows_the_https_page(self):
        pki = H.make_pki(os.path.join(self.tmp, "pki"), names=(HOST,))
        tls = self.origin(ssl_context=H.server_ssl_context(pki),
                          handler=serve_page(MARKER))
        plain = self.origin(handler=serve_page(PLAIN_MARKER))
        db = os.path.join(self.tmp, "browser.db")
        U.add_policy(db, HOST)
        p = self.proxy(["--map", "%s:443=127.0.0.1:%d" % (HOST, tls.port),
                        "--map", "%s=127.0.0.1:%d" % (HOST, plain.port),
                        "--connect-ports", "443"], db=db)

        rc, dom, err = self.run_browser(p.port,
                                        spki_sha256_b64(pki["leaf.pem"]),
                                        "http://%s/page" % HOST)
        self.assertEqual(rc, 0, err[-3000:])
        self.assertIn(MARKER, dom, "the page is not the TLS origin's:\n%s\n"
                      "chromium stderr:\n%s" % (dom[:2000], err[-3000:]))
        self.assertNotIn(PLAIN_MARKER, dom)
        self.assertEqual(plain.conn_count(), 0,
                         "the plain-HTTP origin was contacted")
        self.assertEqual([r.target for r in tls.requests if r.path == "/page"],
                         ["/page"])
        self.assertEqual(tls.tls_errors, [])
        p.stop()

        hops = U.log_json(db, "--kind", "hsts-upgrade")
        page_hops = [h for h in hops if h["url"] == "http://%s/page" % HOST]
        self.assertEqual(len(page_hops), 1, hops)
        h = page_hops[0]
        self.assertEqual((h["status"], h["location"], h["policy_source"],
                          h["policy_host"], h["method"], h["client"]),
                         (307, "https://%s/page" % HOST, "manual", HOST,
                          "GET", "127.0.0.1"))
        self.assertIn("Chrome", h["user_agent"] or "")
        # nothing else went through the proxy (so it resolved no other
        # name): the per-host counters name only our host
        con = sqlite3.connect(db)
        self.addCleanup(con.close)
        hosts = {r[0] for r in con.execute("SELECT host FROM host_traffic")}
        self.assertEqual(hosts, {HOST})


if __name__ == "__main__":
    H.main()
