"""Start-up time and idle memory of `hstsproxy run`, for scripts/bench.sh.

Runs the command after `--` (an `hstsproxy ... run` listening on port 0)
--runs times. Each time it notes the clock just before exec, reads the
child's stderr until the line `hstsproxy: listening on ...`, and takes
the difference as the start-up time; then lets the idle proxy settle for
--settle seconds, reads its VmRSS, and stops it with SIGTERM.

Prints, parsed by bench.sh:
  BENCH startup_ms_median=.. startup_ms_min=.. rss_kib_median=..
  LINE <the last listening line>
Exits 1 with `startup.py: <what>: <why>` on stderr if the proxy does not
print the line within --timeout seconds or exits early.
"""

import argparse
import select
import signal
import subprocess
import sys
import time

LISTEN_MARK = "listening on"
STOP_WAIT_S = 15.0

child = None


def stop_child(*_):
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    sys.exit(1)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_run(cmd, args):
    """Returns (startup seconds, RSS KiB, listening line)."""
    global child
    t0 = time.monotonic()
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    deadline = t0 + args.timeout
    buf = b""
    line = None
    while line is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError("no listening line after %.0f s"
                               % args.timeout)
        ready, _, _ = select.select([child.stderr], [], [], left)
        if not ready:
            continue
        data = child.stderr.read1(4096)
        if not data:
            raise RuntimeError("exited (status %s) before listening: %s"
                               % (child.wait(), buf.decode(errors="replace")
                                  .strip()))
        buf += data
        for text in buf.decode(errors="replace").splitlines():
            if LISTEN_MARK in text:
                line = text
    elapsed = time.monotonic() - t0
    time.sleep(args.settle)
    rss = rss_kib(child.pid)
    child.terminate()
    child.wait(STOP_WAIT_S)
    child = None
    return elapsed, rss, line


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("a command after --")
    signal.signal(signal.SIGTERM, stop_child)
    signal.signal(signal.SIGINT, stop_child)
    times, rss, line = [], [], ""
    try:
        for _ in range(args.runs):
            t, r, line = one_run(cmd, args)
            times.append(t)
            rss.append(r)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print("startup.py: %s: %s" % (cmd[0], e), file=sys.stderr)
        stop_child()
    times.sort()
    rss.sort()
    print("BENCH startup_ms_median=%.1f startup_ms_min=%.1f "
          "rss_kib_median=%d" % (times[len(times) // 2] * 1e3,
                                 times[0] * 1e3, rss[len(rss) // 2]))
    print("LINE " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
