"""GET /metrics (README.md "Metrics"): the proxy's counters in the
Prometheus text format, on its own address in origin-form like the status
page. Parsed with the real Prometheus text parser (Debian's
python3-prometheus-client: prometheus_client.parser), every required
family has its HELP and TYPE, and the values move with real traffic:
upgrades, forwards, a CONNECT tunnel (to a TLS origin, which also starts a
probe that learns a policy), the proxy's own pages, an error, the hop
records written, the policies by source, the preload list after an import
made by another process."""

import calendar
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
import harness as H  # noqa: E402
import upgrade_util as U  # noqa: E402
from tls_util import Reply, tls_origin  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # Debian's package, seen from another python3.11
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

WAIT_S = 15.0
HOPS = 500  # internal upgrades on one connection: CPU time to see
FAMILIES = {  # name as the parser reports it: type
    "hstsproxy_requests": "counter",
    "hstsproxy_hop_records": "counter",
    "hstsproxy_connections_open": "gauge",
    "hstsproxy_preload_entries": "gauge",
    "hstsproxy_preload_age_seconds": "gauge",
    "hstsproxy_policies": "gauge",
    "hstsproxy_probes": "counter",
    "hstsproxy_store_pending_records": "gauge",
    "hstsproxy_thread_cpu_seconds": "counter",
}
THREAD_CPU = "hstsproxy_thread_cpu_seconds_total"


class Metrics(H.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = H.make_pki(os.path.join(cls.tmp, "pki"),
                             names=("secure.test",))

    def scrape(self, p):
        self.scrapes = getattr(self, "scrapes", 0) + 1
        r = H.curl("http://127.0.0.1:%d/metrics" % p.port)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"),
                         "text/plain; version=0.0.4; charset=utf-8")
        text = r.body.decode("utf-8")
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        values = {}
        for f in fams.values():
            for s in f.samples:
                key = (s.name,) + tuple(sorted(s.labels.items()))
                values[key] = s.value
        return fams, values

    def v(self, values, name, **labels):
        return values[(name,) + tuple(sorted(labels.items()))]

    def test_families_and_values_move(self):
        db = os.path.join(self.tmp, "m.db")
        U.add_policy(db, "manual.test")
        o = self.origin()
        routes = {(None, "/"): Reply(200, [("Strict-Transport-Security",
                                            "max-age=3600")])}
        tls = tls_origin(self, self.pki, routes)
        refused, rport = H.refused_port()
        self.addCleanup(refused.close)
        p = self.proxy(U.maps(o.port, "manual.test", "plain.test") +
                       ["--map", "secure.test:443=127.0.0.1:%d" % tls.port,
                        "--map", "down.test=127.0.0.1:%d" % rport,
                        "--probe", "on", "--ca-file", self.pki["ca.pem"]],
                       db=db)
        fams, before = self.scrape(p)
        for name, typ in FAMILIES.items():
            self.assertIn(name, fams)
            self.assertEqual(fams[name].type, typ, name)
            self.assertTrue(fams[name].documentation, name)
        for action in ("upgrade", "forward", "tunnel", "local", "error"):
            self.assertIn(("hstsproxy_requests_total", ("action", action)),
                          before)
        for result in ("written", "dropped"):
            self.assertEqual(self.v(before, "hstsproxy_hop_records_total",
                                    result=result), 0)
        self.assertEqual(self.v(before, "hstsproxy_policies",
                                source="manual"), 1)
        self.assertEqual(self.v(before, "hstsproxy_policies",
                                source="learned"), 0)
        # the built-in list, as old as its date
        self.assertEqual(self.v(before, "hstsproxy_preload_entries"), 94599)
        builtin = calendar.timegm((2026, 6, 1, 0, 0, 0))
        self.assertAlmostEqual(self.v(before, "hstsproxy_preload_age_seconds"),
                               time.time() - builtin, delta=60)
        self.assertEqual(self.v(before, "hstsproxy_requests_total",
                                action="local"), 1)  # this very scrape

        for i in range(2):
            r = H.curl("http://manual.test/%d" % i, proxy=p.port)
            self.assertEqual(r.status, 307, r)
        r = H.curl("http://plain.test/echo", proxy=p.port)
        self.assertEqual(r.status, 200, r)
        r = H.curl("http://down.test/", proxy=p.port)
        self.assertEqual(r.status, 502, r)
        r = H.curl("https://secure.test/", proxy=p.port,
                   args=["--cacert", self.pki["ca.pem"]])
        self.assertEqual(r.status, 200, r)
        held = socket.create_connection(("127.0.0.1", p.port))
        self.addCleanup(held.close)
        H.wait_until(lambda: self.v(self.scrape(p)[1],
                                    "hstsproxy_connections_open") == 2,
                     WAIT_S, what="2 open connections (held + scrape)")

        def settled():
            _, now = self.scrape(p)
            return (self.v(now, "hstsproxy_hop_records_total",
                           result="written") >= 2 and
                    self.v(now, "hstsproxy_store_pending_records") == 0 and
                    self.v(now, "hstsproxy_probes_total",
                           result="learned") == 1 and
                    self.v(now, "hstsproxy_policies",
                           source="learned") == 1) and now
        now = H.wait_until(settled, WAIT_S, interval=0.1,
                           what="hops written, the probe learned")
        delta = {a: self.v(now, "hstsproxy_requests_total", action=a) -
                 self.v(before, "hstsproxy_requests_total", action=a)
                 for a in ("upgrade", "forward", "tunnel", "error")}
        self.assertEqual(delta, {"upgrade": 2, "forward": 2, "tunnel": 1,
                                 "error": 1})
        # the proxy's own pages: every scrape so far, each counting itself
        self.assertEqual(self.v(now, "hstsproxy_requests_total",
                                action="local"), self.scrapes)
        self.assertEqual(self.v(now, "hstsproxy_hop_records_total",
                                result="dropped"), 0)

        U.import_text_list(db, os.path.join(self.tmp, "l.txt"),
                           [("a.test", False), ("b.test", True)])
        H.wait_until(lambda: self.v(self.scrape(p)[1],
                                    "hstsproxy_preload_entries") == 2,
                     WAIT_S, what="the imported list")
        age = self.v(self.scrape(p)[1], "hstsproxy_preload_age_seconds")
        self.assertTrue(0 <= age < 60, age)
        held.close()
        p.stop()

    def test_thread_cpu_time(self):
        """One CPU-time line per worker and one for the hop-log writer,
        named as top -H names the threads; they grow with the work each
        does and never go back."""
        db = os.path.join(self.tmp, "cpu.db")
        U.add_policy(db, "manual.test")
        p = self.proxy(["--workers", "3"], db=db)

        def cpu(values):
            return {dict(k[1:])["thread"]: v for k, v in values.items()
                    if k[0] == THREAD_CPU}
        before = cpu(self.scrape(p)[1])
        self.assertEqual(sorted(before), ["hop-log writer", "worker 1",
                                          "worker 2", "worker 3"])
        self.assertTrue(all(v >= 0 for v in before.values()), before)
        c = self.raw(p.port)
        for i in range(HOPS):
            c.send(H.http_request("GET", "http://manual.test/%d" % i,
                                  "manual.test"))
            self.assertEqual(c.read_response().status, 307)

        def grown():
            _, now = self.scrape(p)
            return (self.v(now, "hstsproxy_hop_records_total",
                           result="written") == HOPS and
                    cpu(now)["hop-log writer"] > before["hop-log writer"] and
                    cpu(now))
        after = H.wait_until(grown, WAIT_S, interval=0.1,
                             what="%d hops written" % HOPS)
        workers = ["worker %d" % i for i in (1, 2, 3)]
        self.assertGreater(sum(after[w] for w in workers),
                           sum(before[w] for w in workers))
        for name, seconds in after.items():
            self.assertGreaterEqual(seconds, before[name], name)
        c.close()
        p.stop()

    def test_metrics_only_get(self):
        p = self.proxy()
        c = self.raw(p.port)
        c.send(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
               b"\r\n\r\n")
        self.assertEqual(c.read_response().status, 405)
        p.stop()


if __name__ == "__main__":
    H.main()
