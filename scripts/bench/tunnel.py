"""Tunnel throughput client for scripts/bench.sh (load 5).

Opens one TCP connection, either through a proxy with CONNECT (--proxy)
or straight to the origin (no --proxy: the reference), then fetches the
same file over and over on that one connection, keeping --depth requests
in flight so the stream never waits for a round trip. Only bytes that
arrive inside the measured window count; a warm-up runs first.

Prints one line, parsed by bench.sh:
  BENCH bytes=N seconds=S responses=R p50_us=X p99_us=Y
where X and Y are percentiles of the time each response took to stream
(from the end of the previous response, or its request if later, to its
last byte). On any failure it prints `tunnel.py: <what>: <why>` to stderr
and exits 1.
"""

import argparse
import socket
import sys
import time

RECV_CHUNK = 256 * 1024
HEAD_CHUNK = 4096
HEAD_MAX = 65536
CONNECT_OK = 200


class Fail(Exception):
    pass


def parse_addr(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise Fail("address %r: want HOST:PORT" % text)
    return host, int(port)


def read_head(sock, pending):
    """Reads one response head; returns (status, headers, leftover)."""
    buf = bytearray(pending)
    while b"\r\n\r\n" not in buf:
        if len(buf) > HEAD_MAX:
            raise Fail("response head longer than %d bytes" % HEAD_MAX)
        data = sock.recv(HEAD_CHUNK)
        if not data:
            raise Fail("connection closed before a response head")
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise Fail("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, bytes(buf[end:])


def open_stream(args):
    host, port = parse_addr(args.proxy or args.target)
    sock = socket.create_connection((host, port), timeout=args.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.proxy:
        sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                      % (args.target, args.target)).encode("ascii"))
        status, _, extra = read_head(sock, b"")
        if status != CONNECT_OK:
            raise Fail("CONNECT %s via %s answered %d"
                       % (args.target, args.proxy, status))
        if extra:
            raise Fail("bytes after the CONNECT answer")
    return sock


class Stream:
    """One connection fetching args.path repeatedly, args.depth deep."""

    def __init__(self, sock, args):
        self.sock = sock
        self.request = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                        % (args.path, args.target)).encode("ascii")
        self.depth = args.depth
        self.inflight = 0
        self.pending = b""
        self.body = bytearray(RECV_CHUNK)
        self.view = memoryview(self.body)

    def fill(self):
        while self.inflight < self.depth:
            self.sock.sendall(self.request)
            self.inflight += 1

    def one(self, window):
        """Reads one response; returns bytes that arrived inside window
        (a (start, end) pair of monotonic times)."""
        self.fill()
        status, headers, extra = read_head(self.sock, self.pending)
        self.pending = b""
        if status != 200:
            raise Fail("GET %s answered %d" % (self.request[:40], status))
        length = headers.get("content-length", "")
        if not length.isdigit():
            raise Fail("response without a Content-Length")
        remaining = int(length)
        counted = 0
        if len(extra) > remaining:
            self.pending = extra[remaining:]
            extra = extra[:remaining]
        remaining -= len(extra)
        if window[0] <= time.monotonic() < window[1]:
            counted += len(extra)
        while remaining > 0:
            got = self.sock.recv_into(self.view[:min(remaining, RECV_CHUNK)])
            if got == 0:
                raise Fail("connection closed mid-body")
            remaining -= got
            now = time.monotonic()
            if window[0] <= now < window[1]:
                counted += got
        self.inflight -= 1
        return counted


def run(args):
    sock = open_stream(args)
    stream = Stream(sock, args)
    start = time.monotonic() + args.warmup
    window = (start, start + args.seconds)
    total = 0
    responses = 0
    times = []
    last = time.monotonic()
    while True:
        got = stream.one(window)
        now = time.monotonic()
        if now >= window[1]:
            break
        if now >= window[0]:
            total += got
            responses += 1
            times.append(now - last)
        last = now
    sock.close()
    if not times:
        raise Fail("no response completed in %.1f s" % args.seconds)
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, (len(times) * 99) // 100)]
    print("BENCH bytes=%d seconds=%.3f responses=%d p50_us=%d p99_us=%d"
          % (total, args.seconds, responses, p50 * 1e6, p99 * 1e6))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", help="HOST:PORT of the proxy (CONNECT)")
    parser.add_argument("--target", required=True,
                        help="HOST:PORT of the origin")
    parser.add_argument("--path", default="/1m")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    try:
        run(args)
    except (Fail, OSError) as e:
        where = "via " + args.proxy if args.proxy else "direct"
        print("tunnel.py: %s %s: %s" % (where, args.target, e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
