"""faults_util.py - what test_store_faults.py needs to break a store.

Standard library only, on top of harness.py:

- status(p): the proxy's status page rows as a dict (numbers as int).
- fill_disk(path): a filler file that takes every free byte.
- MountNS: a private mount namespace holding a small tmpfs (or a
  read-only bind mount of a folder), kept alive by
  a `sleep` process; programs run in it through nsenter (wrapper()), the
  test reaches its files through /proc/PID/root (path()) and queries a
  store in it with a Python run inside it (query(): SQLite resolves
  /proc/PID/root to "/" and would miss the file).
- ErofsInjector: makes every pwrite64 of a running process fail with
  EROFS (strace's fault injection), what writes see once the kernel has
  turned a file system read-only under open files; a remount cannot do
  that to a tmpfs with a file open for writing (EBUSY).
Each class skips the test (unittest.SkipTest) when the machine cannot
do it, saying why.
"""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import harness as H

STATUS_ROW_RE = re.compile(r"<tr><th>([^<]+)</th><td>([^<]*)</td></tr>")
NS_TIMEOUT = 30
STRACE_STOP_TIMEOUT = 10

_QUERY = """
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=10)
print(json.dumps(con.execute(sys.argv[2]).fetchall()))
"""


def status(p):
    """The status page of proxy p: {row name: int or text}."""
    with H.RawClient(p.port) as c:
        c.send(H.http_request("GET", "/", "127.0.0.1:%d" % p.port))
        body = c.read_response().body.decode()
    return {k: int(v) if v.isdigit() else v
            for k, v in STATUS_ROW_RE.findall(body)}


def fill_disk(path):
    """Creates path and writes until not even a byte fits."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for block in (H.BLOCK, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)


def need_root_tools(*tools):
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (mount namespaces, tmpfs)")
    for t in tools:
        if shutil.which(t) is None:
            raise unittest.SkipTest("needs %s, not found on PATH" % t)


class MountNS:
    """A tmpfs of size_mb at self.dir, visible only in a new mount
    namespace held open by a sleeping process until close(). With
    ro_bind=SRC instead: SRC bind-mounted read-only at self.dir (a copy
    on read-only media)."""

    def __init__(self, case, size_mb, ro_bind=None):
        need_root_tools("unshare", "nsenter", "mount")
        self.dir = tempfile.mkdtemp(prefix="ns-", dir=case.tmp)
        mount = 'mount -t tmpfs -o size=%dm tmpfs "$0"' % size_mb
        if ro_bind is not None:
            mount = ('mount --bind "$1" "$0" && '
                     'mount -o remount,bind,ro "$0"')
        script = mount + ' && echo ready && exec sleep 3600'
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
             self.dir, ro_bind or ""], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        case.addCleanup(self.close)
        if self.proc.stdout.readline() != b"ready\n":
            err = self.proc.stderr.read().decode("utf-8", "replace")
            raise unittest.SkipTest("cannot mount %s in a private "
                                    "mount namespace: %s"
                                    % ("a tmpfs" if ro_bind is None
                                       else "a read-only bind",
                                       err.strip()))

    def wrapper(self):
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--"]

    def path(self, name):
        return "/proc/%d/root%s/%s" % (self.proc.pid, self.dir, name)

    def run(self, argv, check=True):
        r = subprocess.run(self.wrapper() + list(argv), capture_output=True,
                           text=True, timeout=NS_TIMEOUT, env=H.clean_env())
        if check and r.returncode != 0:
            raise AssertionError("%s: exit %d\n%s%s" % (argv, r.returncode,
                                                         r.stdout, r.stderr))
        return r

    def remount(self, mode):
        self.run(["mount", "-o", "remount," + mode, self.dir])

    def query(self, db, sql):
        """Rows of sql on the store db (a path inside the namespace)."""
        r = self.run([sys.executable, "-c", _QUERY, db, sql])
        return [tuple(row) for row in json.loads(r.stdout)]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(NS_TIMEOUT)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


class ErofsInjector:
    """While active, every pwrite64 of process pid (all its threads)
    fails with EROFS. stop() detaches: writes work again."""

    def __init__(self, case, pid):
        need_root_tools("strace")
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-o", os.devnull, "-p", str(pid),
             "-e", "trace=pwrite64", "-e", "inject=pwrite64:error=EROFS"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        case.addCleanup(self.stop)

    def failed_to_attach(self):
        """None while strace runs; else why it stopped."""
        if self.proc.poll() is None:
            return None
        return self.proc.stderr.read().decode("utf-8", "replace").strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # strace detaches
        self.proc.wait(STRACE_STOP_TIMEOUT)
        self.proc.stderr.close()
