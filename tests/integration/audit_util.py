"""audit_util.py - helpers for the `hstsproxy audit` tests.

Standard library only. A Scenario writes evidence straight into a store
that `hstsproxy --db X policy list` created and migrated, with python's
sqlite3, as the proxy's log writer and the prober would have: hop rows
(internal upgrades and upstream redirects), per-host traffic counters
(totals and per UTC day, as the writer keeps them since schema 4),
writer statistics, probe rows and learned policies. Times are Unix ms
(hops, counters) or seconds (probes, policies), as in the schema.

Also: checks shared by the audit tests for the CSV (RFC 4180, one table
with its header first; the provenance in a file of its own) and the HTML
(well-formed, self-contained, with its SVG charts).
"""

import csv
import html.parser
import io
import itertools
import re
import sqlite3

DAY_MS = 86400 * 1000
YEAR = 31536000
SVG_NS = "http://www.w3.org/2000/svg"

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input",
                 "link", "meta", "source", "track", "wbr"}
FORBIDDEN_ELEMENTS = {"script", "img", "link", "iframe", "object", "embed",
                      "image", "use", "foreignobject", "audio", "video",
                      "base", "form"}
URL_RE = re.compile(r"(?i)\b(?:https?:)?//|url\s*\(|@import")

CATEGORIES = ("preloaded", "hsts", "weak-hsts", "invalid-hsts",
              "redirect-no-hsts", "http-only", "https-unprobed")


def day(t_ms, http=0, upgrades=0, redirects=0, to_https=0, connects=0):
    """One UTC day's share of a host's counters (Scenario.traffic days):
    the day of t_ms and the counts, in traffic()'s order."""
    return (t_ms // DAY_MS, (http, upgrades, redirects, to_https, connects))


class Scenario:
    """Rows written into the store at `path` (already migrated)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.ids = itertools.count(1)

    def close(self):
        self.db.commit()
        self.db.close()

    def _rid(self):
        return "%016x" % next(self.ids)

    def upgrade(self, host, t_ms, source, policy_host, subdomains=False,
                expires=None, path="/", client="127.0.0.1"):
        rid = self._rid()
        url = "http://%s%s" % (host, path)
        self.db.execute(
            "INSERT INTO hop (time_ms, duration_us, request_id, chain_id,"
            " hop, client, method, url, host, http_version, status, reason,"
            " location, kind, policy_source, policy_host, include_subdomains,"
            " expires, scheme_change, same_host, bootstrap) VALUES"
            " (?, 5, ?, ?, 0, ?, 'GET', ?, ?, 'HTTP/1.1', 307,"
            " 'Internal Redirect', ?, 'hsts-upgrade', ?, ?, ?, ?, 'up', 1, 0)",
            (t_ms, rid, rid, client, url, host,
             "https://%s%s" % (host, path), source, policy_host,
             1 if subdomains else 0, expires))

    def redirect(self, host, t_ms, location, status=301, sts=None,
                 bootstrap=None, hop=0, url=None, scheme_change=None,
                 same_host=None):
        rid = self._rid()
        url = url or "http://%s/" % host
        if scheme_change is None:
            scheme_change = ("up" if url.startswith("http:")
                             and location.startswith("https:") else
                             "down" if url.startswith("https:")
                             and location.startswith("http:") else "none")
        if same_host is None:
            same_host = 1 if location.split("/")[2] == host else 0
        if bootstrap is None:
            bootstrap = 1 if scheme_change == "up" else 0
        self.db.execute(
            "INSERT INTO hop (time_ms, duration_us, request_id, chain_id,"
            " hop, client, method, url, host, http_version, status, reason,"
            " location, kind, upstream_ip, sts_header, scheme_change,"
            " same_host, bootstrap) VALUES (?, 900, ?, ?, ?, '127.0.0.1',"
            " 'GET', ?, ?, 'HTTP/1.1', ?, 'Moved', ?, 'upstream-redirect',"
            " '127.0.0.1', ?, ?, ?, ?)",
            (t_ms, rid, rid, hop, url, host, status, location, sts,
             scheme_change, same_host, bootstrap))

    def traffic(self, host, first_ms, last_ms, http=0, upgrades=0,
                redirects=0, to_https=0, connects=0, days=None):
        """The host's totals (host_traffic) and their split per UTC day
        (host_traffic_day): `days` is a list of day() values adding up to
        the totals; by default all on one day, which first_ms and last_ms
        must then share."""
        totals = (http, upgrades, redirects, to_https, connects)
        if days is None:
            assert first_ms // DAY_MS == last_ms // DAY_MS, \
                "%s: traffic over several days needs `days`" % host
            days = [day(first_ms, *totals)]
        assert tuple(map(sum, zip(*(c for _, c in days)))) == totals, host
        self.db.execute(
            "INSERT INTO host_traffic (host, first_seen, last_seen,"
            " http_requests, upgrades, upstream_redirects,"
            " redirects_to_https, connects) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (host, first_ms, last_ms) + totals)
        for number, counts in days:
            self.db.execute(
                "INSERT INTO host_traffic_day (host, day, http_requests,"
                " upgrades, upstream_redirects, redirects_to_https,"
                " connects) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (host, number) + counts)

    def writer(self, started_ms, updated_ms, written, dropped=0, failed=0):
        self.db.execute(
            "INSERT INTO writer_stats (pid, started, updated, submitted,"
            " written, dropped, failed) VALUES (4242, ?, ?, ?, ?, ?, ?)",
            (started_ms, updated_ms, written + dropped + failed, written,
             dropped, failed))

    def probe(self, host, t_s, header=None, valid=None, max_age=None,
              subdomains=None, preload=None, ok=True, reason=None,
              error=None, sts_count=None, outcome=None, origin="run"):
        if sts_count is None:
            sts_count = 1 if header is not None else 0
        if not ok:
            outcome, reason = "ignored", reason or "unreachable"
            error = error or "connection refused"
        elif header is None:
            outcome, reason = outcome or "ignored", reason or "no_header"
        elif not valid:
            outcome, reason = outcome or "ignored", reason or "invalid_header"
        else:
            outcome = outcome or ("deleted" if max_age == 0 else "learned")
        self.db.execute(
            "INSERT INTO probe (host, port, time, ok, error, address,"
            " tls_version, method, status, sts_header, sts_count, valid,"
            " max_age, include_subdomains, preload, problems, outcome,"
            " reason, reason_text, origin) VALUES (?, 443, ?, ?, ?,"
            " '127.0.0.1:443', ?, 'HEAD', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 'test', ?)",
            (host, t_s, 1 if ok else 0, error, "TLSv1.3" if ok else None,
             200 if ok else None, header, sts_count,
             None if header is None else (1 if valid else 0), max_age,
             None if subdomains is None else int(subdomains),
             None if preload is None else int(preload),
             None if header is None else "[]", outcome, reason, origin))

    def learned(self, host, observed_s, max_age, subdomains, raw):
        self.db.execute(
            "INSERT INTO policy (host, source, include_subdomains, max_age,"
            " observed, expires, raw_header, how) VALUES"
            " (?, 'learned', ?, ?, ?, ?, ?, 'probe')",
            (host, int(subdomains), max_age, observed_s,
             observed_s + max_age, raw))


def parse_csv(text):
    """(header, rows as dicts) of the audit's CSV: one table, its header
    record first, as csv.DictReader reads it."""
    assert "\r\n" in text, "CSV records end with CRLF"
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0]
    assert header[0] == "host", header
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for rec in records[1:]:
        assert len(rec) == len(header), (header, rec)
    return header, rows


def parse_provenance(path):
    """The `audit --provenance FILE` table as a dict key -> value."""
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("key,value\r\n"), text[:40]
    return {r["key"]: r["value"]
            for r in csv.DictReader(io.StringIO(text, newline=""))}


class HtmlCheck(html.parser.HTMLParser):
    """Well-formedness and self-containment of the audit's HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.counts = {}
        self.text = []
        self.doctype = False
        self.in_style = False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in FORBIDDEN_ELEMENTS:
            self.errors.append("forbidden element <%s>" % tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.errors.append("event handler %s" % name)
            if value is None:
                continue
            if name == "xmlns" and tag == "svg" and value == SVG_NS:
                continue
            if name in ("href", "src", "xlink:href", "action", "srcset"):
                self.errors.append("reference %s=%r" % (name, value))
            if URL_RE.search(value):
                self.errors.append("URL in %s=%r" % (name, value))
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)
        self.in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            self.errors.append("end tag of void <%s>" % tag)
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (
                tag, self.stack[-1] if self.stack else "nothing"))
            return
        self.stack.pop()
        self.in_style = False

    def handle_data(self, data):
        if self.in_style and URL_RE.search(data):
            self.errors.append("URL in CSS: %r" % data[:80])
        self.text.append(data)


def check_html(testcase, text):
    """Asserts the page is well formed and self-contained; returns the
    checker (element counts, text)."""
    p = HtmlCheck()
    p.feed(text)
    p.close()
    testcase.assertTrue(p.doctype, "no <!DOCTYPE html>")
    testcase.assertEqual(p.errors, [])
    testcase.assertEqual(p.stack, [], "unclosed elements")
    testcase.assertIn('name="viewport"', text)
    testcase.assertGreaterEqual(p.counts.get("svg", 0), 2, "two charts")
    testcase.assertGreater(p.counts.get("rect", 0), 0, "bars in the charts")
    testcase.assertNotIn("<script", text.lower())
    for m in re.finditer(r"(?i)https?://", text):
        testcase.assertEqual(text[m.start():m.start() + len(SVG_NS)],
                             SVG_NS, "an http(s) URL in the page")
    return p
