"""Idle-connection memory probe for scripts/bench.sh.

Opens --count TCP connections to a proxy and holds them idle, reading the
proxy's resident memory (VmRSS in /proc/PID/status) at each step:
  base       before any connection
  connected  once the proxy has accepted them all (its open descriptors,
             /proc/PID/fd, have grown by --count)
  requested  after one request was answered on each (--request, a full
             request head; the answer must have a Content-Length), so
             every connection sits idle in keep-alive
  closed     after all were closed and the proxy let go of them
Prints one line, parsed by bench.sh:
  BENCH opened=N answered=M base_kib=.. connected_kib=.. requested_kib=..
        closed_kib=..
The caller raises the descriptor limit (ulimit -n) for both sides.
"""

import argparse
import os
import socket
import sys
import time

HEAD_MAX = 16384
SETTLE_S = 0.5      # after the descriptor count is reached
POLL_S = 0.02
WAIT_MAX_S = 20.0   # for the proxy to accept or release everything


class Fail(Exception):
    pass


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Fail("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_fds(pid, want, growing):
    deadline = time.monotonic() + WAIT_MAX_S
    while time.monotonic() < deadline:
        n = fd_count(pid)
        if (growing and n >= want) or (not growing and n <= want):
            time.sleep(SETTLE_S)
            return
        time.sleep(POLL_S)
    raise Fail("proxy holds %d descriptors after %.0f s, waiting for %d"
               % (fd_count(pid), WAIT_MAX_S, want))


def read_answer(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(HEAD_MAX)
        if not data or len(buf) > HEAD_MAX:
            return False
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        data = sock.recv(HEAD_MAX)
        if not data:
            return False
        body += data
    return True


def run(args):
    host, _, port = args.proxy.rpartition(":")
    addr = (host, int(port))
    request = args.request.encode("latin-1").decode(
        "unicode_escape").encode("latin-1")
    base_fds = fd_count(args.pid)
    base = rss_kib(args.pid)
    socks = []
    try:
        for _ in range(args.count):
            s = socket.create_connection(addr, timeout=args.timeout)
            socks.append(s)
    except OSError as e:
        raise Fail("connection %d of %d: %s" % (len(socks) + 1,
                                                args.count, e))
    wait_fds(args.pid, base_fds + len(socks), True)
    connected = rss_kib(args.pid)
    for s in socks:
        s.sendall(request)
    answered = sum(1 for s in socks if read_answer(s))
    time.sleep(SETTLE_S)
    requested = rss_kib(args.pid)
    for s in socks:
        s.close()
    wait_fds(args.pid, base_fds, False)
    closed = rss_kib(args.pid)
    print("BENCH opened=%d answered=%d base_kib=%d connected_kib=%d "
          "requested_kib=%d closed_kib=%d"
          % (len(socks), answered, base, connected, requested, closed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", required=True, help="HOST:PORT")
    parser.add_argument("--pid", type=int, required=True,
                        help="the proxy's process id")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--request", required=True,
                        help="request head, with \\r\\n escapes")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    try:
        run(args)
    except (Fail, OSError, ValueError) as e:
        print("idle_conns.py: %s: %s" % (args.proxy, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
