"""The proxy's own TLS connections through a parent proxy
(--upstream-proxy): the probes of `run` and `preload update
--upstream-proxy` send CONNECT host:443 to the parent and do their
verified TLS handshake (SNI and name of the real host) through its tunnel.

The parent here is a CONNECT-only proxy made of sockets that records each
request head and sends every tunnel to the local TLS origin, so no name is
ever resolved (a real parent such as tinyproxy would resolve
secure.test); a parent that refuses CONNECT makes the download fail with
a message naming it, and the store stays as it was."""

import base64
import json
import os
import sys

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
from parent_util import TunnelParent  # noqa: E402
from tls_util import Reply, run_cli, tls_origin  # noqa: E402

LIST = (b'{"entries": [{"name": "listed.test", "policy": "test", '
        b'"mode": "force-https", "include_subdomains": true}]}')
LEARN_WAIT = 15.0
USER, PASSWORD = "bob", "pw"


class UpstreamTls(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = H.make_pki(os.path.join(cls.tmp, "pki"),
                             names=("secure.test", "mirror.test"))

    def setUp(self):
        self.db = os.path.join(self.tmp, "%s.db" % self._testMethodName)
        self.routes = {}
        self.tls = tls_origin(self, self.pki, self.routes)

    def test_probe_goes_through_the_parent(self):
        self.routes[(None, "/")] = Reply(200, [("Strict-Transport-Security",
                                                "max-age=3600")])
        parent = TunnelParent(self, self.tls.port)
        p = self.proxy(["--probe", "on", "--ca-file", self.pki["ca.pem"],
                        "--upstream-proxy", "http://%s:%s@127.0.0.1:%d"
                        % (USER, PASSWORD, parent.port)], db=self.db)
        r = H.curl("https://secure.test/", proxy=p.port,
                   args=["--cacert", self.pki["ca.pem"]])
        self.assertEqual(r.status, 200, r)

        def learned():
            st, out, _, _ = run_cli(["policy", "query", "secure.test",
                                     "--json"], self.db)
            return st == 0 and json.loads(out)["source"] == "learned"
        H.wait_until(learned, LEARN_WAIT, interval=0.1, what="the probe")
        # the client's tunnel and the probe: both CONNECTs to the parent
        self.assertEqual(parent.connects(),
                         ["CONNECT secure.test:443 HTTP/1.1"] * 2)
        cred = base64.b64encode(b"%s:%s" % (USER.encode(),
                                            PASSWORD.encode())).decode()
        for h in parent.heads:
            self.assertIn("\r\nProxy-Authorization: Basic %s" % cred, h)
        r = H.curl("http://secure.test/x", proxy=p.port)
        self.assertEqual(r.status, 307, r)
        p.stop()

    def update(self, parent_port, expect):
        self.routes[(None, "/list.json")] = Reply(200, [], LIST)
        return run_cli(["preload", "update", "--url",
                        "https://mirror.test/list.json", "--ca-file",
                        self.pki["ca.pem"], "--force", "--upstream-proxy",
                        "http://127.0.0.1:%d" % parent_port], self.db)

    def test_preload_update_through_the_parent(self):
        parent = TunnelParent(self, self.tls.port)
        status, out, err, _ = self.update(parent.port, 0)
        self.assertEqual(status, 0, err)
        self.assertIn("imported 1 host ", out)
        self.assertEqual(parent.connects(),
                         ["CONNECT mirror.test:443 HTTP/1.1"])

    def test_parent_refusing_connect(self):
        parent = TunnelParent(self, self.tls.port, status=403)
        status, out, err, _ = self.update(parent.port, 3)
        self.assertEqual(status, 3, err)
        self.assertIn("parent proxy 127.0.0.1:%d refused CONNECT: "
                      "HTTP/1.1 403 No" % parent.port, err)
        st, out, _, _ = run_cli(["preload", "stats", "--json"], self.db)
        self.assertTrue(json.loads(out)["builtin"], out)
        status, out, err, _ = run_cli(
            ["preload", "update", "--upstream-proxy", "https://x:1"],
            self.db)
        self.assertEqual(status, 2, err)
        self.assertIn("--upstream-proxy https://x:1: not an http:// URL", err)


if __name__ == "__main__":
    H.main()
