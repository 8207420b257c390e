"""Slow clients (slowloris): hundreds of connections dribbling header bytes
do not stop a normal client from being served, and the header timeout
closes every one of them (issue 7, "Bad input")."""

import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SLOW_CLIENTS = 300
HEADER_TIMEOUT_S = 2
DRIBBLE_EVERY_S = 0.2
CLOSE_DEADLINE_S = 15.0  # generous: the header timeout is 2 s


class SlowClientsTest(harness.ProxyTestCase):
    def test_dribblers_do_not_block_and_are_closed(self):
        o = self.origin()
        # One worker: every dribbler shares the loop with the normal client.
        p = self.proxy(["--workers", "1",
                        "--timeout-header", str(HEADER_TIMEOUT_S)])
        socks = []
        for _ in range(SLOW_CLIENTS):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
            s.sendall(b"GET http://127.0.0.1:%d/ HTTP/1.1\r\n" % o.port)
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])

        stop = threading.Event()

        def dribble():
            # One more header byte per connection every DRIBBLE_EVERY_S,
            # never the blank line that would end the head.
            while not stop.is_set():
                for s in socks:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
                stop.wait(DRIBBLE_EVERY_S)

        t = threading.Thread(target=dribble, daemon=True)
        t.start()
        try:
            r = self.curl(o.url("/status?code=200"), proxy=p.port,
                          max_time=5)
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertEqual(r.status, 200)
        finally:
            stop.set()
            t.join()

        # Every dribbler is answered (408) or closed by the header timeout.
        open_socks = set(socks)
        got = {s: b"" for s in socks}
        deadline = time.monotonic() + CLOSE_DEADLINE_S
        while open_socks and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_socks), [], [], 0.5)
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    open_socks.discard(s)
                    if got[s]:
                        self.assertTrue(got[s].startswith(b"HTTP/1.1 408"),
                                        got[s])
                else:
                    got[s] += data
        self.assertEqual(len(open_socks), 0,
                         "%d slow connections still open" % len(open_socks))
        # The origin never saw a dribbler's request.
        self.assertEqual(o.request_count(), 1)
        p.stop()


if __name__ == "__main__":
    harness.main()
