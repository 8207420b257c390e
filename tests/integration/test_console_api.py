"""test_console_api.py - the console's JSON API through the real binary.

Every route; methods a route does not serve (405 with Allow); the CSRF
rule (no token, a wrong one, no JSON Content-Type: 403); bad JSON (400
naming the fault); --console-allow (a network without 127.0.0.1: 403 for
every console path, the proxy itself still serves); absolute-form
requests for the proxy's own address (a loop stays 508); policies added
and deleted through the API take effect on the next proxied request;
the hop stream (Server-Sent Events) carries each committed hop in the
shape of `log --json`, to 50 streams at once while upgrades flow.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import console_util as C  # noqa: E402

PAGES = ["/console", "/console/", "/hops", "/hsts", "/audit",
         "/console/console.css", "/console/console.js", "/console/icon.svg"]
API_GET = ["/api/status", "/api/hops", "/api/policy?host=example.com",
           "/api/audit"]
STATUS_KEYS = {"version", "time_ms", "uptime_s", "workers", "csrf_token",
               "counters", "preload", "policies", "writer", "streams"}
QUERY_KEYS = {"host", "normalized", "unicode", "hsts", "source",
              "matched_host", "include_subdomains", "max_age", "expires",
              "observed", "why", "static", "dynamic"}
HOST = "console.test"
STREAMS = 50


class ConsoleApi(H.ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.o = cls.class_origin()
        cls.db = os.path.join(cls.tmp, "db")
        maps = []
        for h in [HOST, "www." + HOST, "many." + HOST]:
            maps += ["--map", "%s=%s" % (h, cls.o.authority)]
        cls.p = cls.class_proxy(["--workers", "2"] + maps, db=cls.db)
        cls.port = cls.p.port

    def cli(self, *args):
        out = subprocess.run([H.proxy_bin(), "--db", self.db] + list(args),
                             capture_output=True, timeout=30)
        return out.stdout.decode()

    def proxied(self, url):
        """curl through the proxy: (status, Location)."""
        r = self.curl(url, proxy="http://127.0.0.1:%d" % self.port)
        return r.status, r.headers.get("location")

    # ---- routes ----

    def test_status(self):
        st, h, body = C.api(self.port, "GET", "/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["cache-control"], "no-store")
        doc = json.loads(body)
        self.assertEqual(set(doc), STATUS_KEYS)
        self.assertRegex(doc["csrf_token"], r"^[0-9a-f]{64}$")
        self.assertEqual(doc["workers"], 2)
        self.assertIn("upgrades", doc["counters"])
        self.assertEqual(set(doc["writer"]),
                         {"written", "dropped", "failed", "pending",
                          "failing"})
        # one token per process: the same on every request and worker
        self.assertEqual(C.token(self.port), doc["csrf_token"])

    def test_pages_are_self_contained(self):
        for path in PAGES:
            st, h, body = C.api(self.port, "GET", path)
            self.assertEqual(st, 200, path)
            csp = h["content-security-policy"]
            for d in ["default-src 'none'", "script-src 'self'",
                      "style-src 'self'", "connect-src 'self'"]:
                self.assertIn(d, csp, path)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            text = body.decode()
            self.assertNotIn("http://", text.replace(
                'xmlns="http://www.w3.org/2000/svg"', ""), path)
            self.assertNotIn("https://", text, path)  # nothing external
            if path.endswith(".html") or "." not in path:
                self.assertIn("text/html", h["content-type"])
                self.assertNotIn(" style=", text, path)  # no inline style
                self.assertNotIn("<style", text, path)
                for tag in text.split("<script")[1:]:  # only src scripts
                    self.assertIn("src=", tag.split(">")[0], path)
        st, h, _ = C.api(self.port, "HEAD", "/hops")
        self.assertEqual(st, 200)

    def test_status_page_and_pac_stay(self):
        st, h, body = C.api(self.port, "GET", "/")
        self.assertEqual(st, 200)
        self.assertIn(b"<table>", body)
        st, _, body = C.api(self.port, "GET", "/proxy.pac")
        self.assertEqual(st, 200)
        self.assertIn(b"FindProxyForURL", body)
        st, _, _ = C.api(self.port, "GET", "/console/nope.js")
        self.assertEqual(st, 404)

    def test_bad_methods(self):
        cases = [("POST", "/api/status", "GET, HEAD"),
                 ("DELETE", "/api/hops", "GET, HEAD"),
                 ("POST", "/api/hops/stream", "GET"),
                 ("PUT", "/api/policy", "GET, HEAD, POST, DELETE"),
                 ("PATCH", "/api/policy", "GET, HEAD, POST, DELETE"),
                 ("POST", "/hsts", "GET, HEAD"),
                 ("POST", "/api/audit", "GET, HEAD")]
        for method, path, allow in cases:
            st, h, body = C.api(self.port, method, path, body=b"{}",
                                headers={"Content-Type": "application/json"})
            self.assertEqual(st, 405, (method, path))
            self.assertEqual(h["allow"], allow, (method, path))
            self.assertIn("error", json.loads(body))

    def test_csrf(self):
        doc = json.dumps({"host": "csrf." + HOST, "max_age": 60}).encode()
        tok = C.token(self.port)
        bad = [({"Content-Type": "application/json"}, "missing X-CSRF-Token"),
               ({"Content-Type": "application/json",
                 "X-CSRF-Token": "0" * 64}, "wrong X-CSRF-Token"),
               ({"Content-Type": "application/json",
                 "X-CSRF-Token": tok[:-1]}, "wrong X-CSRF-Token"),
               ({"X-CSRF-Token": tok}, "Content-Type"),
               ({"Content-Type": "text/plain", "X-CSRF-Token": tok},
                "Content-Type"),
               ({"Content-Type": "application/x-www-form-urlencoded",
                 "X-CSRF-Token": tok}, "Content-Type")]
        for method in ["POST", "DELETE"]:
            for headers, why in bad:
                path = "/api/policy" + ("?host=csrf." + HOST
                                        if method == "DELETE" else "")
                st, _, body = C.api(self.port, method, path,
                                    body=doc if method == "POST" else None,
                                    headers=headers)
                self.assertEqual(st, 403, (method, headers))
                self.assertIn(why, json.loads(body)["error"])
        # nothing was added
        st, _, body = C.api(self.port, "GET",
                            "/api/policy?host=csrf." + HOST)
        self.assertIs(json.loads(body)["hsts"], False)

    def test_bad_json(self):
        cases = [(b'{"host":', "not valid JSON"),
                 (b"", "not valid JSON"),
                 (b"[1,2]", "must be a JSON object"),
                 (b'{"max_age": 60}', '"host" must be a string'),
                 (b'{"host": 7, "max_age": 60}', '"host" must be a string'),
                 (b'{"host": "a.example"}', '"max_age" must be an integer'),
                 (b'{"host": "a.example", "max_age": "60"}',
                  '"max_age" must be an integer'),
                 (b'{"host": "a.example", "max_age": 0}',
                  '"max_age" must be an integer'),
                 (b'{"host": "a.example", "max_age": 1.5}',
                  '"max_age" must be an integer'),
                 (b'{"host": "a.example", "max_age": 4294967296}',
                  '"max_age" must be an integer'),
                 (b'{"host": "a.example", "max_age": 9, '
                  b'"include_subdomains": "yes"}',
                  '"include_subdomains" must be true or false'),
                 (b'{"host": "127.0.0.1", "max_age": 60}', "IP literal"),
                 (b'{"host": "bad host!", "max_age": 60}', "host")]
        tok = C.token(self.port)
        for body, why in cases:
            st, h, out = C.api(self.port, "POST", "/api/policy", body=body,
                               headers={"Content-Type": "application/json",
                                        "X-CSRF-Token": tok})
            self.assertEqual(st, 400, body)
            self.assertIn(why, json.loads(out)["error"], body)
        for path, why in [("/api/policy", "host"),
                          ("/api/hops?kind=nope", "kind"),
                          ("/api/hops?limit=0", "limit"),
                          ("/api/hops?limit=x", "limit"),
                          ("/api/hops?host=%zz", "host")]:
            st, _, out = C.api(self.port, "GET", path)
            self.assertEqual(st, 400, path)
            self.assertIn(why, json.loads(out)["error"], path)

    def test_policy_add_query_delete(self):
        host = "www." + HOST
        url = "http://%s/echo" % host
        self.assertEqual(self.proxied(url)[0], 200)
        st, _, body = C.change(self.port, "POST", "/api/policy",
                               {"host": host.upper(), "max_age": 3600,
                                "include_subdomains": False})
        self.assertEqual(st, 200, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), QUERY_KEYS)
        self.assertEqual((doc["hsts"], doc["source"], doc["max_age"]),
                         (True, "manual", 3600))
        self.assertEqual(doc["dynamic"]["how"], "console")
        # effective at once, in every worker (several connections)
        for _ in range(4):
            self.assertEqual(self.proxied(url),
                             (307, "https://%s/echo" % host))
        # GET is `policy query --json`, byte for byte
        st, _, body = C.api(self.port, "GET", "/api/policy?host=" + host)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body),
                         json.loads(self.cli("policy", "query", host,
                                             "--json")))
        st, _, body = C.change(self.port, "DELETE",
                               "/api/policy?host=" + host)
        self.assertEqual(st, 200, body)
        self.assertIs(json.loads(body)["hsts"], False)
        for _ in range(4):
            self.assertEqual(self.proxied(url)[0], 200)
        st, _, body = C.change(self.port, "DELETE",
                               "/api/policy?host=" + host)
        self.assertEqual(st, 404, body)
        st, _, body = C.change(self.port, "DELETE", "/api/policy?host=dev")
        self.assertEqual(st, 409, body)  # on the preload list
        self.assertIn("preload", json.loads(body)["error"])

    def test_hops_and_stream(self):
        host = HOST
        s = C.Stream(self.port)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        self.assertIn("text/event-stream", s.headers["content-type"])
        st, _, _ = C.change(self.port, "POST", "/api/policy",
                            {"host": host, "max_age": 600})
        self.assertEqual(st, 200)
        self.addCleanup(C.change, self.port, "DELETE",
                        "/api/policy?host=" + host)
        t0 = time.monotonic()
        self.assertEqual(self.proxied("http://%s/live" % host)[0], 307)
        ev = []
        while time.monotonic() - t0 < 2.0 and not ev:  # ours, not others'
            ev = [e for e in s.events(1, timeout=2.0 - (time.monotonic()
                                                        - t0))
                  if "/live" in e[1]]
        self.assertEqual(len(ev), 1, "no hop within 2 s")
        took = time.monotonic() - t0
        kind, data = ev[0]
        self.assertEqual(kind, "hop")
        hop = json.loads(data)
        self.assertEqual((hop["url"], hop["kind"], hop["status"]),
                         ("http://%s/live" % host, "hsts-upgrade", 307))
        print("hop on the stream %.0f ms after the request" % (took * 1000))
        # the same object as `log --json`, and as GET /api/hops
        lines = [json.loads(x) for x in
                 self.cli("log", "--json").splitlines()]
        self.assertIn(hop, lines)
        st, _, body = C.api(self.port, "GET",
                            "/api/hops?limit=5&kind=hsts-upgrade&host="
                            + host)
        self.assertEqual(st, 200)
        hops = json.loads(body)
        self.assertEqual(hops[-1], hop)
        self.assertTrue(all(h["kind"] == "hsts-upgrade" for h in hops))
        st, _, body = C.api(self.port, "GET", "/api/hops?host=nothing.test")
        self.assertEqual(json.loads(body), [])

    def test_fifty_streams(self):
        host = "many." + HOST
        streams = [C.Stream(self.port) for _ in range(STREAMS)]
        for s in streams:
            self.addCleanup(s.close)
        H.wait_until(lambda: json.loads(C.api(
            self.port, "GET", "/api/status")[2])["streams"] >= STREAMS,
            5, what="50 streams open")
        st, _, _ = C.change(self.port, "POST", "/api/policy",
                            {"host": host, "max_age": 600})
        self.assertEqual(st, 200)
        self.addCleanup(C.change, self.port, "DELETE",
                        "/api/policy?host=" + host)
        n = 200
        urls = ["http://%s/%d" % (host, i) for i in range(n)]
        t0 = time.monotonic()
        r = self.curl(urls, proxy="http://127.0.0.1:%d" % self.port)
        took = time.monotonic() - t0
        self.assertEqual([i["response_code"] for i in r.info], [307] * n)
        for s in streams:
            got = s.events(n, timeout=5.0)
            self.assertEqual(len(got), n)
            self.assertEqual({json.loads(d)["url"] for _, d in got},
                             set(urls))
        print("%d upgrades with %d streams open: %.0f ms (%.0f/s)"
              % (n, STREAMS, took * 1000, n / took))


class ConsoleAllow(H.ProxyTestCase):
    """--console-allow without 127.0.0.1: the console refuses; the proxy
    itself, its status page and PAC file do not."""

    def test_outside_gets_403(self):
        o = self.origin()
        p = self.proxy(["--console-allow", "10.0.0.0/8",
                        "--console-allow", "::1",
                        "--map", "allow.test=%s" % o.authority])
        for path in PAGES + API_GET + ["/api/hops/stream"]:
            st, _, body = C.api(p.port, "GET", path)
            self.assertEqual(st, 403, path)
            self.assertIn(b"console-allow", body)
        st, _, _ = C.api(p.port, "POST", "/api/policy", b"{}",
                         {"Content-Type": "application/json"})
        self.assertEqual(st, 403)
        self.assertEqual(C.api(p.port, "GET", "/")[0], 200)
        self.assertEqual(C.api(p.port, "GET", "/proxy.pac")[0], 200)
        r = self.curl("http://allow.test/echo", proxy="http://127.0.0.1:%d"
                      % p.port)
        self.assertEqual(r.status, 200)
        p.stop()

    def test_bad_cidr_is_a_usage_error(self):
        out = subprocess.run([H.proxy_bin(), "--db",
                              os.path.join(self.tmp, "db"), "run",
                              "--console-allow", "10.0.0.1/8"],
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"--console-allow 10.0.0.1/8", out.stderr)


class ConsoleAuth(H.ProxyTestCase):
    """--auth-file applies to the console: a browser talks to it as to an
    origin, so the credentials come in Authorization and a refusal is a
    401 with WWW-Authenticate; the status page and PAC file stay open."""

    def test_auth_file(self):
        sha = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
        path = os.path.join(self.tmp, "users")
        with open(path, "w") as f:
            f.write("ann:{SHA}%s\n" % sha)
        p = self.proxy(["--auth-file", path])
        good = "Basic " + base64.b64encode(b"ann:s3cret").decode()
        bad = "Basic " + base64.b64encode(b"ann:wrong").decode()
        for path_ in ["/api/status", "/hsts", "/api/policy?host=a.test"]:
            st, h, _ = C.api(p.port, "GET", path_)
            self.assertEqual(st, 401, path_)
            self.assertEqual(h["www-authenticate"], 'Basic realm="hstsproxy"')
            st, _, _ = C.api(p.port, "GET", path_,
                             headers={"Authorization": bad})
            self.assertEqual(st, 401, path_)
            st, _, _ = C.api(p.port, "GET", path_,
                             headers={"Authorization": good})
            self.assertEqual(st, 200, path_)
        st, _, body = C.api(p.port, "GET", "/api/status",
                            headers={"Authorization": good})
        tok = json.loads(body)["csrf_token"]
        st, _, _ = C.api(p.port, "POST", "/api/policy",
                         json.dumps({"host": "auth.test",
                                     "max_age": 60}).encode(),
                         {"Content-Type": "application/json",
                          "X-CSRF-Token": tok})
        self.assertEqual(st, 401)  # the token alone is not enough
        st, _, _ = C.api(p.port, "POST", "/api/policy",
                         json.dumps({"host": "auth.test",
                                     "max_age": 60}).encode(),
                         {"Content-Type": "application/json",
                          "X-CSRF-Token": tok, "Authorization": good})
        self.assertEqual(st, 200)
        self.assertEqual(C.api(p.port, "GET", "/")[0], 200)
        self.assertEqual(C.api(p.port, "GET", "/proxy.pac")[0], 200)
        p.stop()


class ConsoleSelf(H.ProxyTestCase):
    """Absolute-form requests for the proxy's own address: its pages, as
    before; a Via naming us, or a --map loop back into itself, stays 508."""

    def test_self_and_loop(self):
        p, port = self.proxy_on_free_port(
            lambda port: ["--map", "loop.test:80=127.0.0.1:%d" % port])
        own = "http://127.0.0.1:%d" % port
        r = self.curl(own + "/api/status", proxy=p.port)
        self.assertEqual(r.status, 200)
        self.assertIn("csrf_token", json.loads(r.body))
        for target in [own + "/api/status", own + "/hsts", "/api/status"]:
            c = self.raw(p.port, timeout=10)
            c.send(H.http_request("GET", target, "127.0.0.1:%d" % port,
                                  [("Via", "1.1 hstsproxy")]))
            self.assertEqual(c.read_response().status, 508, target)
        for path in ["/api/status", "/hops", "/api/hops/stream"]:
            r = self.curl("http://loop.test" + path, proxy=p.port,
                          max_time=20)
            self.assertEqual(r.status, 508, path)
        p.stop()


if __name__ == "__main__":
    H.main()
