"""test_console_browser.py - the console's pages in a real headless Chromium
(Debian's `chromium`), driven over the DevTools protocol (browser_util.py).

Each page (/console, /hops, /hsts, /audit) loads with no JavaScript
exception, no console error and no Content-Security-Policy violation; a
request made with curl through the proxy appears on /hops within 2 s,
without a reload (the Server-Sent Events stream); a policy added on /hsts
(the form filled and its button clicked with Runtime.evaluate) makes the
next curl request get the internal 307. Each page is captured at
1280x800; with HSTSPROXY_CONSOLE_SHOTS=DIR the PNGs are also copied to
DIR (docs/console/ holds the ones in the README).

The browser reaches the proxy's own address directly (a PAC script sends
everything else to a closed loopback port: Debian's Chromium asks Google's
servers for things, and those must fail without any DNS query).
"""

import json
import os
import shutil
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import console_util as C  # noqa: E402
from browser_util import DevTools, chromium_binary, pac_data_url  # noqa

HOSTS = ["shop.test", "news.test", "mail.test", "bank.test", "form.test",
         "plain.test", "wiki.test"]
HSTS_HOSTS = ["shop.test", "news.test", "mail.test", "bank.test"]
LIVE_DEADLINE = 2.0  # seconds for a hop to show on /hops


class ConsoleBrowser(H.ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chromium = chromium_binary()
        if cls.chromium is None:
            raise __import__("unittest").SkipTest(
                "chromium is not installed: install the Debian package "
                "`chromium` (scripts/setup.sh does)")
        cls.o = cls.class_origin()
        maps = []
        for h in HOSTS:
            maps += ["--map", "%s=%s" % (h, cls.o.authority)]
        cls.p = cls.class_proxy(["--workers", "2"] + maps)
        cls.base = "http://127.0.0.1:%d" % cls.p.port
        sink, sink_port = H.refused_port()
        cls.addClassCleanup(sink.close)
        env = H.clean_env()
        env["HOME"] = cls.tmp  # nothing from the real profile
        cls.dt = DevTools(cls.chromium, os.path.join(cls.tmp, "profile"),
                          ["--proxy-pac-url=" + pac_data_url(
                              {"127.0.0.1": "DIRECT"}, sink_port)], env=env)
        cls.addClassCleanup(cls.dt.close)
        cls.dt.open_page()
        for h in HSTS_HOSTS:
            st, _, body = C.change(cls.p.port, "POST", "/api/policy",
                                   {"host": h, "max_age": 31536000,
                                    "include_subdomains": h != "bank.test"})
            assert st == 200, body
        cls.shots = os.environ.get("HSTSPROXY_CONSOLE_SHOTS")

    def proxied(self, urls):
        return self.curl(urls, proxy="http://127.0.0.1:%d" % self.p.port)

    def traffic(self, seconds):
        """Upgrades and forwards in the background for `seconds`."""
        def run():
            end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < end:
                urls = ["http://%s/page/%d" % (HOSTS[(i + k) % len(HOSTS)],
                                               i + k) for k in range(6)]
                urls += ["http://plain.test/echo", "http://wiki.test/echo"]
                self.proxied(urls)
                i += 6
                time.sleep(0.15)
        t = threading.Thread(target=run)
        t.start()
        return t

    def load(self, path, ready, settle=0.5):
        """Navigates, waits for `ready` (a JS expression), lets the page
        run `settle` s more, and asserts it did nothing wrong."""
        self.dt.navigate(self.base + path)
        self.dt.wait_for(ready, timeout=10)
        self.dt.pump(settle)
        self.assertEqual(self.dt.problems(), [], path)

    def shot(self, name):
        path = os.path.join(self.tmp, name + ".png")
        self.dt.screenshot(path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        if self.shots:
            os.makedirs(self.shots, exist_ok=True)
            shutil.copy(path, os.path.join(self.shots, name + ".png"))

    def test_1_overview(self):
        t = self.traffic(6.0)
        self.load("/console", "document.getElementById('t-ups')"
                  ".textContent !== '–'", settle=4.0)
        self.assertNotEqual(self.dt.evaluate(
            "document.getElementById('p-name').textContent"), "–")
        self.assertEqual(self.dt.evaluate(
            "document.getElementById('w-state').textContent"), "healthy")
        self.shot("overview")  # while the traffic flows
        t.join()
        self.assertEqual(self.dt.problems(), [])

    def test_2_hops_live(self):
        self.load("/hops", "document.getElementById('live').textContent"
                  " === 'live'")
        self.dt.evaluate("window.notReloaded = true")
        t0 = time.monotonic()
        r = self.proxied("http://shop.test/live-check?from=curl")
        self.assertEqual(r.status, 307)
        took = self.dt.wait_for(
            "window.notReloaded && document.querySelector('#hops tbody')"
            ".textContent.includes('shop.test/live-check?from=curl')",
            timeout=LIVE_DEADLINE)
        took = time.monotonic() - t0
        self.assertLess(took, LIVE_DEADLINE)
        print("the hop was on /hops %.0f ms after curl started" %
              (took * 1000))
        self.assertEqual(self.dt.problems(), [])
        # a filter narrows the rows; the chain view groups them
        self.dt.evaluate("(() => { const h = document.getElementById("
                         "'f-host'); h.value = 'shop.test';"
                         " h.dispatchEvent(new Event('input')); })()")
        self.dt.wait_for("[...document.querySelectorAll('#hops tbody tr')]"
                         ".every(r => r.textContent.includes('shop.test'))")
        self.dt.evaluate("(() => { const h = document.getElementById("
                         "'f-host'); h.value = '';"
                         " h.dispatchEvent(new Event('input')); })()")
        self.dt.pump(0.6)
        self.assertEqual(self.dt.problems(), [])
        self.shot("hops")
        self.dt.evaluate("document.getElementById('f-chains').click()")
        self.dt.wait_for("!!document.querySelector('#hops tr.chain')")
        self.assertEqual(self.dt.problems(), [])

    def test_3_hsts_add(self):
        self.assertEqual(self.proxied("http://form.test/echo").status, 200)
        self.load("/hsts", "document.getElementById('meta')"
                  ".textContent.startsWith('v')")
        self.dt.evaluate(
            "(() => { document.getElementById('a-host').value = 'form.test';"
            " document.getElementById('a-age').value = '86400';"
            " document.getElementById('a-sub').checked = true;"
            " document.getElementById('a-go').click(); })()")
        self.dt.wait_for("document.getElementById('a-msg').textContent"
                         ".startsWith('Added')")
        self.assertEqual(self.dt.problems(), [])
        r = self.proxied("http://form.test/echo")
        self.assertEqual((r.status, r.headers.get("location")),
                         (307, "https://form.test/echo"))
        r = self.proxied("http://www.form.test/")  # includeSubDomains
        self.assertEqual(r.status, 307)
        # a query through the form shows both sides and the reason
        self.dt.evaluate(
            "(() => { document.getElementById('q-host').value ="
            " 'www.shop.test'; document.getElementById('q-go').click(); })()")
        self.dt.wait_for("document.querySelector('#q-out .why') &&"
                         " document.querySelector('#q-out .verdict')"
                         ".textContent.includes('www.shop.test')")
        self.dt.evaluate("document.getElementById('d-host').value ="
                         " 'nothing.test'")
        self.dt.evaluate("document.getElementById('d-go').click()")
        self.dt.wait_for("document.getElementById('d-msg').textContent"
                         ".includes('no learned or manual policy')")
        self.shot("hsts")
        st, _, body = C.api(self.p.port, "GET", "/api/policy?host=form.test")
        self.assertEqual(json.loads(body)["source"], "manual")

    def test_4_audit(self):
        self.load("/audit", "(() => { const f = document.getElementById("
                  "'au-frame'); return f && f.contentDocument === null; })()",
                  settle=1.0)
        self.dt.evaluate("document.getElementById('au-days').value = '1'")
        self.dt.evaluate("document.getElementById('au-go').click()")
        self.dt.pump(1.0)
        self.assertEqual(self.dt.problems(), [])
        self.shot("audit")


if __name__ == "__main__":
    H.main()
