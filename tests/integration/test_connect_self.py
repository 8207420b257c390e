"""A CONNECT whose target is the proxy's own listening address is refused
with 508, even when its port is in --connect-ports: the proxy never opens a
tunnel to itself."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class ConnectSelfTest(harness.ProxyTestCase):
    def test_connect_to_own_address_is_refused(self):
        hold, port = harness.refused_port()  # a free port, held until start
        hold.close()
        p = self.proxy(["--connect-ports", "%d" % port],
                       listen=("127.0.0.1:%d" % port,))
        c = self.raw(p.port)
        c.send("CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
               % (port, port))
        r = c.read_response(method="CONNECT")
        self.assertEqual(r.status, 508)
        self.assertIn(b"own address", r.body)
        p.stop()


if __name__ == "__main__":
    harness.main()
