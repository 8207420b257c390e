"""browser_util.py - headless Chromium (Debian's `chromium`) for the tests.

- chromium_binary(): its path, or None (the tests then skip, saying why).
- CHROMIUM_FLAGS: a quiet headless profile: no background networking,
  no sync or updates, Chromium's own https upgrading off (it would hide
  the proxy's 307).
- pac_data_url(routes, default_port): a PAC script as a data: URL that
  sends the hosts in `routes` ({host: "PROXY 127.0.0.1:N" or "DIRECT"})
  their way and everything else to default_port (a closed loopback
  port): Debian's Chromium asks Google's servers for things, and those
  requests must fail without a DNS query anywhere.
- DevTools: the DevTools protocol over --remote-debugging-pipe (file
  descriptors 3 and 4, NUL-terminated JSON; no WebSocket needed): open a
  page, navigate, evaluate, collect JavaScript errors, console errors and
  CSP violations, take screenshots.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
    "--no-default-browser-check", "--disable-breakpad",
    # Chromium's own http->https upgrading would hide the proxy's 307
    "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,"
    "HttpsFirstModeV2ForTypicallySecureUsers,"
    "HttpsFirstModeIncognito",
]


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def pac_data_url(routes, default_port):
    rules = "".join(" if (host == \"%s\") return \"%s\";" % (h, r)
                    for h, r in routes.items())
    pac = ("function FindProxyForURL(url, host) {%s"
           " return \"PROXY 127.0.0.1:%d\"; }" % (rules, default_port))
    return ("data:application/x-ns-proxy-autoconfig;base64,"
            + base64.b64encode(pac.encode()).decode())


class DevToolsError(Exception):
    pass


class DevTools:
    """One headless Chromium driven over the DevTools pipe; one page."""

    def __init__(self, binary, profile, extra_flags=(), env=None,
                 width=1280, height=800):
        r_ours, w_theirs = os.pipe()   # browser -> us (its fd 4)
        r_theirs, w_ours = os.pipe()   # us -> browser (its fd 3)
        argv = [binary] + CHROMIUM_FLAGS + list(extra_flags) + [
            "--user-data-dir=%s" % profile, "--remote-debugging-pipe",
            "--window-size=%d,%d" % (width, height), "about:blank"]

        def pipe_fds():  # in the child: its ends become fds 3 and 4
            r = fcntl.fcntl(r_theirs, fcntl.F_DUPFD, 5)  # clear of 3 and 4
            w = fcntl.fcntl(w_theirs, fcntl.F_DUPFD, 5)
            os.dup2(r, 3)  # dup2 leaves the copy inheritable
            os.dup2(w, 4)
        # close_fds=False: Python's own descriptors are close-on-exec
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env,
                                     close_fds=False, preexec_fn=pipe_fds,
                                     start_new_session=True)
        os.close(r_theirs)
        os.close(w_theirs)
        self.rfd, self.wfd = r_ours, w_ours
        self.buf = b""
        self.next_id = 0
        self.events = []   # every event received, in order
        self.session = None
        self.width, self.height = width, height

    # ---- the pipe ----

    def _send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def _read(self, timeout):
        """The next message, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.rfd], [], [], left)
            if not ready:
                return None
            data = os.read(self.rfd, 1 << 20)
            if not data:
                raise DevToolsError("chromium closed the DevTools pipe")
            self.buf += data
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method, params=None, timeout=30, session=True):
        want = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read(max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise DevToolsError("%s: no answer in %ds" % (method, timeout))
            if msg.get("id") == want:
                if "error" in msg:
                    raise DevToolsError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds):
        """Collects events for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self._read(deadline - time.monotonic())
            if msg is not None and "method" in msg:
                self.events.append(msg)

    # ---- a page ----

    def open_page(self):
        target = self.call("Target.createTarget", {"url": "about:blank"},
                           session=False)["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height,
                   "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url, timeout=30):
        self.events = []
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired"
                      for e in self.events):
            if time.monotonic() > deadline:
                raise DevToolsError("%s did not load in %ds" % (url, timeout))
            self.pump(0.1)

    def evaluate(self, expr, timeout=30):
        """The value of a JavaScript expression (promises awaited)."""
        res = self.call("Runtime.evaluate",
                        {"expression": expr, "awaitPromise": True,
                         "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in res:
            raise DevToolsError("%s: %s" % (expr, res["exceptionDetails"]))
        return res["result"].get("value")

    def wait_for(self, expr, timeout=10, interval=0.05):
        """Polls expr until it is truthy; returns the seconds it took."""
        t0 = time.monotonic()
        while not self.evaluate(expr):
            if time.monotonic() - t0 > timeout:
                raise DevToolsError("not true after %ds: %s" % (timeout, expr))
            self.pump(interval)
        return time.monotonic() - t0

    def problems(self):
        """JavaScript exceptions, console errors, CSP violations and other
        error-level log entries seen since the last navigate()."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append("exception: %s %s" % (
                    d.get("text"), d.get("exception", {}).get("description")))
            elif m == "Runtime.consoleAPICalled" and p["type"] in (
                    "error", "assert"):
                out.append("console.%s: %s" % (p["type"], [
                    a.get("value", a.get("description"))
                    for a in p["args"]]))
            elif m == "Log.entryAdded" and (
                    p["entry"]["level"] in ("error", "warning")
                    or "Content Security Policy" in p["entry"]["text"]):
                out.append("log %s/%s: %s" % (p["entry"]["source"],
                                              p["entry"]["level"],
                                              p["entry"]["text"]))
        return out

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except (DevToolsError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started
            self.proc.wait()
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass
