#!/usr/bin/env python3
"""intercept.py - pass-through throughput of `run --intercept-tls` against
a direct connection, inside a network namespace of its own (bench.sh,
INTERCEPT=1 or INTERCEPT=only).

  intercept.py --bin HSTSPROXY [--seconds S] [--bytes N] [--workers N]

Re-runs itself under `unshare -n` (root; the namespace ends with it):
loopback up, two addresses (10.98.0.2 redirected, 10.98.0.3 not), an
nftables output rule sending 10.98.0.2:443 to the proxy's --intercept-tls
listener (the proxy's own marked connections exempt). One origin listens
on both addresses: it reads the client's first flight (a real TLS
ClientHello from python's ssl, so the proxy finds its SNI), answers with
N bytes and closes. The client repeats "connect, send the hello, read N
bytes to EOF" for S seconds, first direct (10.98.0.3), then through the
proxy (10.98.0.2), each after a warm-up transfer. Prints one line per
path: `BENCH path=direct transfers=.. seconds=.. mib_s=.. p50_ms=..
p99_ms=..`, then `BENCH ratio=..` (intercepted / direct throughput).
"""

import argparse
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

INSIDE = "HSTSPROXY_BENCH_NETNS"
REDIRECTED, DIRECT = "10.98.0.2", "10.98.0.3"
TLS_PORT = 8443
MARK = 0x4853
CHUNK = 1 << 20

NFT = """
table inet bench {
  chain out {
    type nat hook output priority -100; policy accept;
    meta mark %d accept
    ip daddr %s tcp dport 443 redirect to :%d
  }
}
""" % (MARK, REDIRECTED, TLS_PORT)


def client_hello(sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def serve(listener, hello_len, payload):
    while True:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=answer, args=(sock, hello_len, payload),
                         daemon=True).start()


def answer(sock, hello_len, payload):
    try:
        got = 0
        while got < hello_len:
            data = sock.recv(65536)
            if not data:
                return
            got += len(data)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    except OSError:
        pass
    finally:
        sock.close()


def transfer(host, hello, size):
    t0 = time.monotonic()
    s = socket.create_connection((host, 443), timeout=30)
    s.sendall(hello)
    got = 0
    while True:
        data = s.recv(CHUNK)
        if not data:
            break
        got += len(data)
    s.close()
    if got != size:
        raise SystemExit("%s: got %d bytes, expected %d" % (host, got, size))
    return time.monotonic() - t0


def measure(path, host, hello, size, seconds):
    transfer(host, hello, size)  # warm-up
    times = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        times.append(transfer(host, hello, size))
    total = time.monotonic() - t0
    times.sort()
    mib_s = len(times) * size / total / (1 << 20)
    print("BENCH path=%s transfers=%d seconds=%.2f mib_s=%.1f p50_ms=%.2f "
          "p99_ms=%.2f" % (path, len(times), total, mib_s,
                           times[len(times) // 2] * 1000,
                           times[min(len(times) - 1,
                                     int(len(times) * 0.99))] * 1000),
          flush=True)
    return mib_s


def inside(args):
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", REDIRECTED + "/32", "dev", "lo"],
                ["ip", "addr", "add", DIRECT + "/32", "dev", "lo"]):
        subprocess.run(cmd, check=True)
    subprocess.run(["nft", "-f", "-"], input=NFT.encode(), check=True)
    hello = client_hello("bench.test")
    payload = b"x" * args.bytes
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 443))
    listener.listen(128)
    threading.Thread(target=serve, args=(listener, len(hello), payload),
                     daemon=True).start()
    db = "/tmp/hstsproxy-bench-intercept-%d.db" % os.getpid()
    proxy = subprocess.Popen(
        [args.bin, "--db", db, "run", "--listen", "127.0.0.1:0",
         "--intercept-tls", "127.0.0.1:%d" % TLS_PORT, "--allow",
         "10.98.0.0/24", "--probe", "off", "--workers", str(args.workers)],
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        for line in proxy.stderr:
            if b"listening on" in line:
                break
        else:
            raise SystemExit("the proxy did not start")
        direct = measure("direct", DIRECT, hello, args.bytes, args.seconds)
        ours = measure("intercepted", REDIRECTED, hello, args.bytes,
                       args.seconds)
        print("BENCH ratio=%.2f" % (ours / direct))
    finally:
        proxy.terminate()
        proxy.wait(30)
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(db + suffix)
            except OSError:
                pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if os.environ.get(INSIDE) != "1":
        env = dict(os.environ, **{INSIDE: "1"})
        return subprocess.run(["unshare", "-n", sys.executable,
                               os.path.abspath(__file__)] + sys.argv[1:],
                              env=env).returncode
    return inside(args)


if __name__ == "__main__":
    sys.exit(main())
