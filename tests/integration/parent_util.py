"""parent_util.py - parent proxies made of sockets, for the tests of
--upstream-proxy (test_upstream_proxy.py, test_upstream_tls.py).

Loopback only. SocketParent listens on 127.0.0.1:0 and serves each
connection on a thread; at the end of the test its accept loop is
stopped before the listener is closed (harness.close_listener), so that
it never takes the connections of the next test's listener. FakeParent
records the bytes of each connection and answers every request head
with fixed bytes (or closes); TunnelParent answers CONNECT and splices
every tunnel to one local port, so that no name is ever resolved.
"""

import socket
import threading

import harness as H


class SocketParent:
    """A listener on 127.0.0.1:0; serve(conn) runs per connection."""

    def __init__(self, case):
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        case.addCleanup(H.close_listener, self.sock, thread)

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def serve(self, c):
        raise NotImplementedError


class FakeParent(SocketParent):
    """Records each connection's bytes and answers each request head with
    `answer` (bytes), or closes when it is None."""

    def __init__(self, case, answer):
        self.answer = answer
        self.conns = []
        super().__init__(case)

    def serve(self, c):
        rec = bytearray()
        with self.lock:
            self.conns.append(rec)
        buf = b""
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                rec += data
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    if self.answer is None:
                        return
                    c.sendall(self.answer)

    def heads(self):
        with self.lock:
            return [bytes(r) for r in self.conns]


class TunnelParent(SocketParent):
    """Answers each CONNECT with `status` and, on 200, splices the client
    to 127.0.0.1:to_port. Records the request heads."""

    def __init__(self, case, to_port, status=200):
        self.to_port = to_port
        self.status = status
        self.heads = []
        super().__init__(case)

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def serve(self, c):
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = c.recv(4096)
            if not data:
                c.close()
                return
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        with self.lock:
            self.heads.append(head.decode())
        if self.status != 200:
            c.sendall(b"HTTP/1.1 %d No\r\nContent-Length: 0\r\n\r\n"
                      % self.status)
            c.close()
            return
        up = socket.create_connection(("127.0.0.1", self.to_port))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            up.sendall(rest)
        t = threading.Thread(target=self._pipe, args=(up, c), daemon=True)
        t.start()
        self._pipe(c, up)
        t.join(30)
        c.close()
        up.close()

    def connects(self):
        with self.lock:
            return [h.split("\r\n")[0] for h in self.heads]
