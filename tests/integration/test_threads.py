"""The proxy's threads (docs/ARCHITECTURE.md "Threads"): each is named, so
that `top -H`, `perf` and /proc/PID/task/*/comm tell them apart."""

import os
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402


def threads(pid):
    """{name: tid} of the process's threads (the first of each name)."""
    out = {}
    for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            out.setdefault(f.read().rstrip("\n"), int(tid))
    return out


class Threads(H.ProxyTestCase):
    def test_named(self):
        alog = os.path.join(self.tmp, "access.log")
        p = self.proxy(["--workers", "3", "--access-log", alog])
        want = ("worker 1", "worker 2", "worker 3", "hop-log writer",
                "access-log")
        # Each thread names itself as it starts: the listening line may
        # come first.
        H.wait_until(lambda: all(n in threads(p.pid) for n in want), 10.0,
                     what="named threads: %s" % (want,))
        names = threads(p.pid)
        self.assertNotIn("worker 4", names)
        self.assertEqual(names.get("hstsproxy"), p.pid)  # main keeps it
        p.stop()


if __name__ == "__main__":
    H.main()
