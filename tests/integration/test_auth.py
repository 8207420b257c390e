"""`hstsproxy run --auth-file FILE` (README.md, `hstsproxy run`, "Access"): Basic
proxy authentication from an htpasswd file as nginx reads it. Hashes are
made by `openssl passwd -6/-5/-apr1` and, for {SHA}, base64(SHA-1). A
request without valid credentials gets 407 with
`Proxy-Authenticate: Basic realm="hstsproxy"` and never reaches the
origin; Proxy-Authorization is never forwarded; SIGHUP re-reads the file
(a bad file then keeps the previous users); a malformed file at start is
a usage error (exit 2) naming the line."""

import base64
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

REALM = 'Basic realm="hstsproxy"'
USERS = [  # user, password, openssl passwd flag (None: {SHA})
    ("six", "pw-six:with colon", "-6"),
    ("five", "pw five", "-5"),
    ("apr", "pw-apr \u00e9", "-apr1"),
    ("sha", "pw-sha", None),
]


def hash_line(user, password, flag):
    if flag is None:
        digest = hashlib.sha1(password.encode("utf-8")).digest()
        return "%s:{SHA}%s" % (user, base64.b64encode(digest).decode())
    out = subprocess.run(["openssl", "passwd", flag, "-stdin"],
                         input=password.encode("utf-8"), capture_output=True,
                         check=True)
    return "%s:%s" % (user, out.stdout.decode().strip())


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode()


class Auth(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lines = [hash_line(*u) for u in USERS]
        cls.path = os.path.join(cls.tmp, "htpasswd")
        with open(cls.path, "w") as f:
            f.write("# users of the proxy\n\n" + "\n".join(cls.lines) + "\n")
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy(["--auth-file", cls.path])

    def get(self, user=None, password=None, path="/echo"):
        args = [] if user is None else ["--proxy-user",
                                        "%s:%s" % (user, password)]
        return self.curl(self.o.url(path), proxy=self.p.port, args=args)

    def assert_407(self, r):
        self.assertEqual(r.status, 407, r)
        self.assertEqual(r.headers.get("proxy-authenticate"), REALM, r)
        self.assertTrue(r.headers.get("content-type", "")
                        .startswith("text/plain"), r)

    def test_each_hash_kind_admits_its_user(self):
        for user, password, flag in USERS:
            with self.subTest(user=user, flag=flag):
                r = self.get(user, password, "/echo?" + user)
                self.assertEqual(r.status, 200, r)
                doc = json.loads(r.body)
                self.assertEqual(doc["target"], "/echo?" + user)
                names = [n.lower() for n, _ in doc["headers"]]
                self.assertNotIn("proxy-authorization", names)

    def test_missing_or_wrong_credentials_get_407(self):
        rows = [
            (None, None),
            ("six", "pw-six"),             # the password up to its colon
            ("six", "pw-six:with colon "),
            ("five", "PW FIVE"),
            ("apr", "pw-apr"),
            ("sha", ""),
            ("nobody", "pw-sha"),
            ("", "pw-sha"),
            ("SHA", "pw-sha"),             # user names are exact
        ]
        for user, password in rows:
            with self.subTest(user=user, password=password):
                before = self.o.request_count()
                r = self.get(user, password, "/echo?denied")
                self.assert_407(r)
                self.assertEqual(self.o.request_count(), before,
                                 "forwarded without valid credentials")

    def test_malformed_authorization_values(self):
        rows = [
            "Basic",
            "Basic ",
            "Basic !!!!",
            "Basic " + base64.b64encode(b"sha:pw-sha").decode().rstrip("="),
            "Bearer " + base64.b64encode(b"sha:pw-sha").decode(),
            "Basic " + base64.b64encode(b"sha-pw-sha").decode(),
        ]
        for value in rows:
            with self.subTest(value=value):
                c = self.raw(self.p.port, timeout=10)
                c.send(H.http_request("GET", self.o.url("/echo"),
                                      self.o.authority,
                                      [("Proxy-Authorization", value)]))
                r = c.read_response()
                self.assertEqual(r.status, 407, r)
        # Two fields, even both valid, are refused.
        good = ("Proxy-Authorization", basic("sha", "pw-sha"))
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo"), self.o.authority,
                              [good, good]))
        self.assertEqual(c.read_response().status, 407)

    def test_keep_alive_after_407_and_scheme_case(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", self.o.url("/echo?a"), self.o.authority))
        r = c.read_response()
        self.assertEqual(r.status, 407, r)
        self.assertEqual(r.headers.get("proxy-authenticate"), REALM)
        c.send(H.http_request(
            "GET", self.o.url("/echo?b"), self.o.authority,
            [("Proxy-Authorization",
              "basic " + basic("apr", "pw-apr \u00e9")[len("Basic "):])]))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["target"], "/echo?b")

    def test_connect_needs_credentials(self):
        c = self.raw(self.p.port, timeout=10)
        target = "127.0.0.1:%d" % self.o.port
        c.send(H.http_request("CONNECT", target, target))
        r = c.read_response(method="CONNECT")
        self.assertEqual(r.status, 407, r)
        self.assertEqual(r.headers.get("proxy-authenticate"), REALM)
        self.assertTrue(c.closed_by_peer(5))

    def test_own_pages_need_no_credentials(self):
        c = self.raw(self.p.port, timeout=10)
        c.send(H.http_request("GET", "/proxy.pac",
                              "127.0.0.1:%d" % self.p.port))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"PROXY 127.0.0.1:%d" % self.p.port, r.body)


# A deliberately slow hash (3,000,000 SHA-256-crypt rounds, about half a
# second of CPU), precomputed: crypt("pw", "$5$rounds=3000000$saltsalt$").
SLOW_HASH = ("$5$rounds=3000000$saltsalt$"
             "qsMFzu40/7KNhwCTHicTqDA0.rSm2hsuRfAnl9GOeo1")


class SlowHash(H.ProxyTestCase):
    """A password hash costs CPU: it runs on the thread pool, never on the
    event loop, and an unknown user costs the same hash as a wrong
    password (the first user's), so timing does not reveal user names."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.tmp, "htpasswd")
        with open(cls.path, "w") as f:
            f.write("slow:%s\n%s\n" % (SLOW_HASH,
                                        hash_line("sha", "pw-sha", None)))
        cls.o = cls.class_origin()
        cls.p = cls.class_proxy(["--auth-file", cls.path, "--workers", "1"])

    def request(self, user, password):
        return H.http_request("GET", self.o.url("/echo"), self.o.authority,
                              [("Proxy-Authorization",
                                basic(user, password))])

    def timed_status(self, user, password):
        c = self.raw(self.p.port, timeout=30)
        t0 = time.monotonic()
        c.send(self.request(user, password))
        status = c.read_response().status
        return status, time.monotonic() - t0

    def test_loop_serves_others_while_a_hash_runs(self):
        slow = self.raw(self.p.port, timeout=30)
        slow.send(self.request("slow", "pw"))
        # The same (only) worker answers its status page and a user with a
        # cheap hash while the slow check is in flight.
        r = self.curl("http://127.0.0.1:%d/" % self.p.port)
        self.assertEqual(r.status, 200, r)
        fast = self.raw(self.p.port, timeout=30)
        fast.send(self.request("sha", "pw-sha"))
        self.assertEqual(fast.read_response().status, 200)
        self.assertEqual(select.select([slow.sock], [], [], 0)[0], [],
                         "the slow check was answered before the cheap one")
        self.assertEqual(slow.read_response().status, 200)
        # The proved value is remembered: the next request needs no hash.
        slow.send(self.request("slow", "pw"))
        self.assertEqual(slow.read_response().status, 200)

    def test_checks_in_flight_are_bounded(self):
        # PROXY_AUTH_JOBS_MAX (16) checks per worker: the next gets 503.
        waiting = [self.raw(self.p.port, timeout=30) for _ in range(16)]
        for c in waiting:
            c.send(self.request("slow", "wrong"))
        extra = self.raw(self.p.port, timeout=30)
        extra.send(self.request("slow", "wrong"))
        r = extra.read_response()
        self.assertEqual(r.status, 503, r)
        self.assertIn(b"credential checks", r.body)
        # Closing the waiting clients cancels their queued checks: the
        # worker admits a new user once the running ones end.
        for c in waiting:
            c.close()
        H.wait_until(lambda: self.curl(
            self.o.url("/echo"), proxy=self.p.port,
            args=["--proxy-user", "sha:pw-sha"]).status == 200, 30,
            interval=0.2, what="a user admitted after the flood")
        self.p.assert_alive()

    def test_unknown_user_costs_a_hash(self):
        wrong, t_wrong = self.timed_status("slow", "not-pw")
        unknown, t_unknown = self.timed_status("nobody", "pw")
        self.assertEqual((wrong, unknown), (407, 407))
        # Both run the same 3,000,000-round hash; without it an unknown
        # user would be answered a thousand times faster.
        self.assertGreater(t_unknown, 0.3 * t_wrong,
                           "unknown user %.3f s, wrong password %.3f s"
                           % (t_unknown, t_wrong))
        self.p.assert_alive()


class AuthFile(H.ProxyTestCase):
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_malformed_file_refuses_to_start(self):
        good = hash_line("sha", "pw-sha", None)
        rows = [  # file text, what stderr must name
            (good + "\nno-colon-here\n", "line 2"),
            (good + "\n" + good + "\n", "line 2: duplicate user"),
            ("# c\n:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n", "line 2"),
            ("plain:secret\n", "line 1"),
            ("md5:$1$abc$0123456789012345678901\n", "line 1"),
            ("six:$6$salt$tooshort\n", "line 1"),
            ("sha:{SHA}abc\n", "line 1"),
            ("# nothing but a comment\n", "no users"),
        ]
        for i, (text, named) in enumerate(rows):
            with self.subTest(row=i):
                path = self.write("bad-%d" % i, text)
                p = H.start_proxy(["--auth-file", path], workdir=self.tmp,
                                  wait=False)
                self.addCleanup(p.kill)
                rc = p.proc.wait(10)
                p.kill()
                self.assertEqual(rc, 2, p.stderr())
                self.assertIn("hstsproxy run: --auth-file %s: " % path,
                              p.stderr())
                self.assertIn(named, p.stderr())
        p = H.start_proxy(["--auth-file", os.path.join(self.tmp, "absent")],
                          workdir=self.tmp, wait=False)
        self.addCleanup(p.kill)
        rc = p.proc.wait(10)
        p.kill()  # joins the stderr reader: every line is in
        self.assertEqual(rc, 2, p.stderr())
        self.assertIn("No such file", p.stderr())

    def test_sighup_rereads_the_file(self):
        o = self.origin()
        path = self.write("htpasswd", hash_line("old", "pw-old", "-5") + "\n")
        p = self.proxy(["--auth-file", path])

        def status(user, password):
            return self.curl(o.url("/echo"), proxy=p.port,
                             args=["--proxy-user",
                                   "%s:%s" % (user, password)]).status

        self.assertEqual(status("old", "pw-old"), 200)
        self.assertEqual(status("new", "pw-new"), 407)
        # A keep-alive connection that proved "old" (twice: the second
        # time from its cache) must prove it again after the reload.
        kept = self.raw(p.port, timeout=10)
        old_cred = [("Proxy-Authorization", basic("old", "pw-old"))]
        for _ in range(2):
            kept.send(H.http_request("GET", o.url("/echo"), o.authority,
                                     old_cred))
            self.assertEqual(kept.read_response().status, 200)
        self.write("htpasswd", hash_line("new", "pw-new", "-apr1") + "\n")
        p.send_signal(signal.SIGHUP)
        H.wait_until(lambda: status("new", "pw-new") == 200, 10,
                     interval=0.1, what="the new user admitted after SIGHUP")
        self.assertEqual(status("old", "pw-old"), 407)
        kept.send(H.http_request("GET", o.url("/echo"), o.authority,
                                 old_cred))
        self.assertEqual(kept.read_response().status, 407)
        # A bad file on reload keeps the users there are, and says so.
        self.write("htpasswd", "broken line\n")
        p.send_signal(signal.SIGHUP)
        H.wait_until(lambda: "keeping the previous users" in p.stderr(), 10,
                     what="the reload failure reported")
        self.assertIn("line 1", p.stderr())
        self.assertEqual(status("new", "pw-new"), 200)
        p.assert_alive()
        p.stop()


if __name__ == "__main__":
    H.main()
