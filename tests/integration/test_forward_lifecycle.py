"""Proxy lifecycle: SIGTERM during large downloads stops accepting, lets
the in-flight transfers finish intact and exits 0 (an idle keep-alive
client does not hold it up); SIGINT exits 0; --max-conns holds extra
connections unserved until a slot frees and never crashes."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402

DOWNLOADS = 3
DL_SIZE = 12 * H.MB
DL_RATE = 4 * H.MB  # bytes/s: each download takes about 3 s


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class Lifecycle(H.ProxyTestCase):
    def test_graceful_sigterm_during_transfers(self):
        o = self.origin()
        p = self.proxy()
        idle = self.raw(p.port, timeout=10)
        idle.send(H.http_request("GET", o.url("/echo?idle"), o.authority))
        self.assertEqual(idle.read_response().status, 200)

        procs = []
        for i in range(DOWNLOADS):
            out = os.path.join(self.tmp, "dl-%d" % i)
            argv = ["curl", "-q", "-sS", "--max-time", "40", "-x",
                    "http://127.0.0.1:%d" % p.port, "-o", out,
                    "-w", "%{http_code}",
                    o.url("/bytes?n=%d&seed=%d&rate=%d"
                          % (DL_SIZE, 70 + i, DL_RATE))]
            procs.append((subprocess.Popen(argv, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE,
                                           env=H.clean_env()), out))
        H.wait_until(lambda: sum(c.sent >= H.MB for c in o.conns)
                     >= DOWNLOADS, 15, what="all downloads under way")
        p.send_signal(signal.SIGTERM)
        H.wait_until(lambda: refused(p.port), 3,
                     what="the listener to close after SIGTERM")
        running = sum(pr.poll() is None for pr, _ in procs)
        self.assertGreater(running, 0, "downloads ended too early for the "
                           "test to mean anything")
        for i, (pr, out) in enumerate(procs):
            stdout, stderr = pr.communicate(timeout=45)
            self.assertEqual(pr.returncode, 0,
                             "download %d: curl rc %d: %s"
                             % (i, pr.returncode, stderr.decode()))
            self.assertEqual(stdout, b"200")
            with open(out, "rb") as f:
                self.assertEqual(H.sha256(f.read()),
                                 H.body_sha256(DL_SIZE, 70 + i))
        p.stop(sig=None, timeout=15)
        self.assertTrue(idle.closed_by_peer(1))

    def test_sigint_exits_0(self):
        p = self.proxy()
        r = self.curl("http://127.0.0.1:%d/" % p.port)
        self.assertEqual(r.status, 200, r)
        p.stop(sig=signal.SIGINT, timeout=15)

    def test_idle_stop_is_immediate_and_says_what_was_committed(self):
        o = self.origin()
        p = self.proxy()
        for i in range(2):  # two hops: an upstream redirect each
            r = self.curl(o.url("/redirect?to=/echo&n=%d" % i), proxy=p.port)
            self.assertEqual(r.status, 302, r)
        r = self.curl(o.url("/echo"), proxy=p.port)  # no hop: forwarded
        self.assertEqual(r.status, 200, r)
        started = time.monotonic()
        err = p.stop(timeout=15)
        self.assertLess(time.monotonic() - started, 1.0, err)  # was 1-2 s
        self.assertEqual(err.splitlines()[-1],
                         "hstsproxy: stopped (2 hop records committed)")

    def test_sighup_keeps_running(self):
        """README.md, "Signals": SIGHUP reloads the store without dropping
        connections. At the least the proxy must survive it: the open
        keep-alive connection and new ones keep being served."""
        o = self.origin()
        p = self.proxy()
        c = self.raw(p.port, timeout=10)
        c.send(H.http_request("GET", o.url("/echo?before"), o.authority))
        self.assertEqual(c.read_response().status, 200)
        p.send_signal(signal.SIGHUP)
        for i in range(5):  # a few round trips after the signal
            try:
                c.send(H.http_request("GET", o.url("/echo?after=%d" % i),
                                      o.authority))
                r = c.read_response()
            except (OSError, H.HTTPError) as e:
                self.fail("connection dropped after SIGHUP (%r); proxy "
                          "exit status %r" % (e, p.proc.poll()))
            self.assertEqual(r.status, 200, r)
        r = self.curl(o.url("/echo?new"), proxy=p.port)
        self.assertEqual(r.status, 200, r)
        p.assert_alive()
        p.stop()

    def test_max_conns_extra_not_served_until_a_slot_frees(self):
        """With both slots busy a third connection is not served: it
        waits (then is served), or it gets a clean 503 and is closed (the
        documented `run --help` behaviour); once a slot frees, a client is
        served again."""
        o = self.origin()
        p = self.proxy(["--max-conns", "2"])
        held = []
        for i in range(2):
            c = self.raw(p.port, timeout=10)
            c.send(H.http_request("GET", o.url("/echo?held=%d" % i),
                                  o.authority))
            self.assertEqual(c.read_response().status, 200)
            held.append(c)

        third = self.raw(p.port, timeout=10)
        third.send(H.http_request("GET", o.url("/echo?third"),
                                  o.authority))
        waited = third.no_data_within(1.0)  # bounded negative check
        if not waited:
            r = third.read_response()
            self.assertEqual(r.status, 503, r)
            self.assertTrue(r.headers.get("content-type", "")
                            .startswith("text/plain"), r)
            self.assertTrue(third.closed_by_peer(5))
        self.assertNotIn("/echo?third", [q.target for q in o.requests])

        held[0].close()
        if waited:
            r = third.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(json.loads(r.body)["target"], "/echo?third")
        else:
            def served():
                with H.RawClient(p.port, timeout=10) as c:
                    c.send(H.http_request("GET", o.url("/echo?fourth"),
                                          o.authority))
                    return c.read_response().status == 200
            H.wait_until(served, 10, interval=0.1,
                         what="a client served after a slot freed")
        p.stop()

    def test_max_conns_burst_survives(self):
        """30 clients at once through 2 slots: each is served or refused
        with a clean 503, the proxy lives, and serves afterwards."""
        o = self.origin()
        p = self.proxy(["--max-conns", "2"])
        statuses, errors = [], []

        def client(i):
            try:
                with H.RawClient(p.port, timeout=30) as c:
                    c.send(H.http_request(
                        "GET", o.url("/slow?delay=0.1&n=%d&seed=%d"
                                     % (5000 + i, i)),
                        o.authority, [("Connection", "close")]))
                    r = c.read_response()
                    statuses.append(r.status)
                    if r.status == 200 and r.body != H.body_bytes(5000 + i,
                                                                  i):
                        errors.append((i, "bad body"))
                    elif r.status not in (200, 503):
                        errors.append((i, r.status))
            except Exception as e:  # collected, asserted below
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(statuses.count(200), 2, statuses)
        p.assert_alive()
        r = self.curl(o.url("/echo?after-burst"), proxy=p.port)
        self.assertEqual(r.status, 200, r)
        p.stop()


if __name__ == "__main__":
    H.main()
