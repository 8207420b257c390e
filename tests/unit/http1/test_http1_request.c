/*
 * test_http1_request.c - the request head parser, as a specification.
 *
 * Every vector is parsed twice: whole, and fed one byte at a time from a
 * buffer that grows by one byte per call (a fresh copy each time, so it
 * also moves). Both must give the same result and, on success, the same
 * message. Valid rows state the parsed message; invalid rows the error
 * and the HTTP status a proxy answers with. Then: limits at and over each
 * bound, pipelined requests with bodies, views and helpers.
 */
#include "http1.h"
#include "testlib.h"
#include "http1_same.h"
#include "test_http1_util.h"

/* Parses in[0..len) whole into *out (views into *outbuf, which the caller
 * frees) and incrementally; checks that both agree. Returns the result. */
static int parse_both(const char *in, size_t len, struct http1_request *out,
                      char **outbuf);

static int parse_both(const char *in, size_t len, struct http1_request *out,
                      char **outbuf)
{
  static struct http1_request inc;
  char *whole = copy_exact(in, len), *buf = NULL;
  size_t i;
  int rc, irc = HTTP1_AGAIN;

  dump_vector("request", in, len);
  memset(out, 0, sizeof(*out));
  rc = http1_parse_request(whole, len, out);
  memset(&inc, 0, sizeof(inc));
  if (len > COPY_EACH_CALL_MAX) {
    buf = copy_exact(in, len);
  }
  for (i = 1; i <= len && irc == HTTP1_AGAIN; i++) {
    if (len <= COPY_EACH_CALL_MAX) {
      free(buf);
      buf = copy_exact(in, i);
    }
    irc = http1_parse_request(buf, i, &inc);
  }
  CHECK_INT(irc, rc);
  if (rc == HTTP1_OK && irc == HTTP1_OK) {
    CHECK(http1_same_request(out, whole, &inc, buf));
  }
  free(buf);
  *outbuf = whole;
  return rc;
}

/* ---- valid requests ---- */

struct valid_case {
  const char *name;
  const char *in;
  size_t len;
  const char *method;
  const char *target;
  enum http1_target_form form;
  int minor;
  size_t nfields;
  const char *host; /* expected Host value, or NULL for none */
  enum http1_body_kind body;
  uint64_t remaining;
  int keep_alive;
  unsigned conn_flags;
  int expect_continue;
  size_t head_len; /* 0: the whole input */
};

#define GET11  "GET / HTTP/1.1\r\nHost: a.test\r\n"
#define POST11 "POST /p HTTP/1.1\r\nHost: a.test\r\n"

static const struct valid_case valid_cases[] = {
  { "simple", V(GET11 "\r\n"), "GET", "/", HTTP1_FORM_ORIGIN, 1, 1, "a.test",
    .keep_alive = 1 },
  { "query", V("GET /a/b?c=d&e HTTP/1.1\r\nHost: a.test:8080\r\n\r\n"), "GET",
    "/a/b?c=d&e", HTTP1_FORM_ORIGIN, 1, 1, "a.test:8080", .keep_alive = 1 },
  { "absolute-form",
    V("GET http://a.test/x?y HTTP/1.1\r\nHost: a.test\r\n\r\n"), "GET",
    "http://a.test/x?y", HTTP1_FORM_ABSOLUTE, 1, 1, "a.test", .keep_alive = 1 },
  { "connect", V("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"),
    "CONNECT", "a.test:443", HTTP1_FORM_AUTHORITY, 1, 1, "a.test:443",
    .keep_alive = 1 },
  { "connect ipv6 and CL 0",
    V("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n"
      "Content-Length: 0\r\n\r\n"),
    "CONNECT", "[::1]:8443", HTTP1_FORM_AUTHORITY, 1, 2, "[::1]:8443",
    .keep_alive = 1 },
  { "options asterisk", V("OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n"),
    "OPTIONS", "*", HTTP1_FORM_ASTERISK, 1, 1, "a.test", .keep_alive = 1 },
  { "head", V("HEAD / HTTP/1.1\r\nHost: a.test\r\n\r\n"), "HEAD", "/",
    HTTP1_FORM_ORIGIN, 1, 1, "a.test", .keep_alive = 1 },
  { "extension method", V("M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n"),
    "M-SEARCH", "/x", HTTP1_FORM_ORIGIN, 1, 1, "a", .keep_alive = 1 },
  { "1.0 without host", V("GET / HTTP/1.0\r\n\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 0, 0, NULL, .keep_alive = 0 },
  { "1.0 keep-alive", V("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
    "GET", "/", HTTP1_FORM_ORIGIN, 0, 1, NULL, .keep_alive = 1,
    .conn_flags = HTTP1_CONN_KEEP_ALIVE },
  { "1.1 close", V(GET11 "Connection: close\r\n\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 1, 2, "a.test", .conn_flags = HTTP1_CONN_CLOSE },
  { "connection list, two fields",
    V(GET11 "Connection: keep-alive , Upgrade,\r\nConnection: x, CLOSE\r\n"
            "Upgrade: websocket\r\n\r\n"),
    "GET", "/", HTTP1_FORM_ORIGIN, 1, 4, "a.test",
    .conn_flags =
        HTTP1_CONN_CLOSE | HTTP1_CONN_KEEP_ALIVE | HTTP1_CONN_UPGRADE },
  { "expect 100-continue",
    V(POST11 "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc"), "POST",
    "/p", HTTP1_FORM_ORIGIN, 1, 3, "a.test", .body = HTTP1_BODY_LENGTH,
    .remaining = 3, .keep_alive = 1, .expect_continue = 1,
    .head_len = sizeof(POST11 "Expect: 100-Continue\r\n"
                              "Content-Length: 3\r\n\r\n") -
                1 },
  { "expect ignored in 1.0",
    V("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), "POST", "/",
    HTTP1_FORM_ORIGIN, 0, 1, NULL, .keep_alive = 0 },
  { "content-length", V(POST11 "Content-Length: 10\r\n\r\n"), "POST", "/p",
    HTTP1_FORM_ORIGIN, 1, 2, "a.test", .body = HTTP1_BODY_LENGTH,
    .remaining = 10, .keep_alive = 1 },
  { "content-length 0 is no body", V(POST11 "Content-Length: 0\r\n\r\n"),
    "POST", "/p", HTTP1_FORM_ORIGIN, 1, 2, "a.test", .body = HTTP1_BODY_NONE,
    .remaining = 0, .keep_alive = 1 },
  { "content-length leading zeros", V(POST11 "Content-Length: 007\r\n\r\n"),
    "POST", "/p", HTTP1_FORM_ORIGIN, 1, 2, "a.test", .body = HTTP1_BODY_LENGTH,
    .remaining = 7, .keep_alive = 1 },
  { "content-length identical list (accepted)",
    V(POST11 "Content-Length: 5, 5\r\n\r\n"), "POST", "/p", HTTP1_FORM_ORIGIN,
    1, 2, "a.test", .body = HTTP1_BODY_LENGTH, .remaining = 5,
    .keep_alive = 1 },
  { "content-length identical fields (accepted)",
    V(POST11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"), "POST", "/p",
    HTTP1_FORM_ORIGIN, 1, 3, "a.test", .body = HTTP1_BODY_LENGTH,
    .remaining = 5, .keep_alive = 1 },
  { "content-length 2^63-1",
    V(POST11 "Content-Length: 9223372036854775807\r\n\r\n"), "POST", "/p",
    HTTP1_FORM_ORIGIN, 1, 2, "a.test", .body = HTTP1_BODY_LENGTH,
    .remaining = INT64_MAX, .keep_alive = 1 },
  { "chunked", V(POST11 "Transfer-Encoding: chunked\r\n\r\n"), "POST", "/p",
    HTTP1_FORM_ORIGIN, 1, 2, "a.test", .body = HTTP1_BODY_CHUNKED,
    .remaining = 0, .keep_alive = 1 },
  { "gzip then chunked, two fields",
    V(POST11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n"),
    "POST", "/p", HTTP1_FORM_ORIGIN, 1, 3, "a.test", .body = HTTP1_BODY_CHUNKED,
    .remaining = 0, .keep_alive = 1 },
  { "leading empty lines skipped", V("\r\n\r\n" GET11 "\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 1, 1, "a.test", .keep_alive = 1 },
  { "host pct-encoded", V("GET / HTTP/1.1\r\nHost: a%2Db.test:80\r\n\r\n"),
    "GET", "/", HTTP1_FORM_ORIGIN, 1, 1, "a%2Db.test:80", .keep_alive = 1 },
  { "host IPv6 literal", V("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 1, 1, "[::1]", .keep_alive = 1 },
  { "empty host", V("GET / HTTP/1.1\r\nHost:\r\n\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 1, 1, "", .keep_alive = 1 },
  { "trailing bytes are not the head", V(GET11 "\r\nGET / HTTP/1.1\r\n"), "GET",
    "/", HTTP1_FORM_ORIGIN, 1, 1, "a.test", .keep_alive = 1,
    .head_len = sizeof(GET11 "\r\n") - 1 },
  { "obs-text in value", V(GET11 "X: caf\xc3\xa9\r\n\r\n"), "GET", "/",
    HTTP1_FORM_ORIGIN, 1, 2, "a.test", .keep_alive = 1 },
  { .name = NULL } /* sentinel */
};

static void check_valid_row(const struct valid_case *c, int row)
{
  struct http1_request req;
  char *buf;
  int rc = parse_both(c->in, c->len, &req, &buf);

  CHECK_ROW(rc == HTTP1_OK, row);
  if (rc != HTTP1_OK) {
    fprintf(stderr, "  %s: %s\n", c->name, http1_strerror(rc));
  } else if (c->method != NULL) {
    CHECK_ROW(http1_token_eq(req.method, req.method_len, c->method), row);
    CHECK_ROW(req.target_len == strlen(c->target) &&
                  memcmp(req.target, c->target, req.target_len) == 0,
              row);
    CHECK_ROW(req.form == c->form, row);
    CHECK_ROW(req.version_minor == c->minor, row);
    CHECK_ROW(req.nfields == c->nfields, row);
    CHECK_ROW(
        c->host == NULL
            ? req.host == NULL
            : req.host != NULL && req.host->value_len == strlen(c->host) &&
                  memcmp(req.host->value, c->host, req.host->value_len) == 0,
        row);
    CHECK_ROW(req.body.kind == c->body, row);
    CHECK_ROW(req.body.remaining == c->remaining, row);
    CHECK_ROW(req.keep_alive == c->keep_alive, row);
    CHECK_ROW(req.conn_flags == c->conn_flags, row);
    CHECK_ROW(req.expect_continue == c->expect_continue, row);
    CHECK_ROW(req.head_len == (c->head_len ? c->head_len : c->len), row);
    CHECK_ROW(req.is_head == (strcmp(c->method, "HEAD") == 0), row);
    CHECK_ROW(req.is_connect == (strcmp(c->method, "CONNECT") == 0), row);
  }
  free(buf);
}

static void test_valid(void)
{
  int i;

  for (i = 0; valid_cases[i].name != NULL; i++) {
    check_valid_row(&valid_cases[i], i);
  }
}

/* ---- rejected requests: one row per rejection ---- */

struct invalid_case {
  const char *name;
  const char *in;
  size_t len;
  int rc;
  int status; /* http1_error_status(rc) */
};

static const struct invalid_case invalid_cases[] = {
  { "CL with TE",
    V(POST11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    HTTP1_ECL_TE, 400 },
  { "TE with CL",
    V(POST11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
    HTTP1_ECL_TE, 400 },
  { "CL differing fields",
    V(POST11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    HTTP1_ECL_CONFLICT, 400 },
  { "CL differing list", V(POST11 "Content-Length: 5, 6\r\n\r\n"),
    HTTP1_ECL_CONFLICT, 400 },
  { "CL plus sign", V(POST11 "Content-Length: +5\r\n\r\n"), HTTP1_ECL, 400 },
  { "CL negative", V(POST11 "Content-Length: -5\r\n\r\n"), HTTP1_ECL, 400 },
  { "CL hex", V(POST11 "Content-Length: 0x5\r\n\r\n"), HTTP1_ECL, 400 },
  { "CL space inside", V(POST11 "Content-Length: 1 2\r\n\r\n"), HTTP1_ECL,
    400 },
  { "CL empty", V(POST11 "Content-Length:\r\n\r\n"), HTTP1_ECL, 400 },
  { "CL empty element", V(POST11 "Content-Length: 5,\r\n\r\n"), HTTP1_ECL,
    400 },
  { "CL 2^63", V(POST11 "Content-Length: 9223372036854775808\r\n\r\n"),
    HTTP1_ECL, 400 },
  { "CL 2^64+", V(POST11 "Content-Length: 18446744073709551617\r\n\r\n"),
    HTTP1_ECL, 400 },
  { "TE gzip only", V(POST11 "Transfer-Encoding: gzip\r\n\r\n"), HTTP1_ETE,
    400 },
  { "TE chunked not final",
    V(POST11 "Transfer-Encoding: chunked, gzip\r\n\r\n"), HTTP1_ETE, 400 },
  { "TE unknown", V(POST11 "Transfer-Encoding: foo, chunked\r\n\r\n"),
    HTTP1_ETE_UNKNOWN, 501 },
  { "TE identity", V(POST11 "Transfer-Encoding: identity\r\n\r\n"),
    HTTP1_ETE_UNKNOWN, 501 },
  { "TE chunked twice", V(POST11 "Transfer-Encoding: chunked, chunked\r\n\r\n"),
    HTTP1_ETE_TWICE, 400 },
  { "TE chunked twice, two fields",
    V(POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
             "\r\n"),
    HTTP1_ETE_TWICE, 400 },
  { "TE parameter", V(POST11 "Transfer-Encoding: chunked;q=1\r\n\r\n"),
    HTTP1_ETE_SYNTAX, 400 },
  { "TE empty element", V(POST11 "Transfer-Encoding: gzip,,chunked\r\n\r\n"),
    HTTP1_ETE_SYNTAX, 400 },
  { "TE empty", V(POST11 "Transfer-Encoding:\r\n\r\n"), HTTP1_ETE_SYNTAX, 400 },
  { "TE in 1.0", V("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
    HTTP1_ETE_HTTP10, 400 },
  { "space before colon", V(GET11 "X-A : b\r\n\r\n"), HTTP1_EFIELD_SPACE, 400 },
  { "tab before colon", V("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
    HTTP1_EFIELD_SPACE, 400 },
  { "space inside name", V(GET11 "X A: b\r\n\r\n"), HTTP1_EFIELD_NAME, 400 },
  { "no colon", V(GET11 "X-A\r\n\r\n"), HTTP1_EFIELD_NAME, 400 },
  { "empty name", V(GET11 ": b\r\n\r\n"), HTTP1_EFIELD_NAME, 400 },
  { "bad name char", V(GET11 "X(A): b\r\n\r\n"), HTTP1_EFIELD_NAME, 400 },
  { "obs-fold", V(GET11 "X-A: b\r\n c\r\n\r\n"), HTTP1_EOBS_FOLD, 400 },
  { "obs-fold tab", V(GET11 "X-A: b\r\n\tc\r\n\r\n"), HTTP1_EOBS_FOLD, 400 },
  { "space before first field", V("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
    HTTP1_EOBS_FOLD, 400 },
  { "NUL in value", V(GET11 "X: a\0b\r\n\r\n"), HTTP1_EFIELD_VALUE, 400 },
  { "CR in value", V(GET11 "X: a\rb\r\n\r\n"), HTTP1_EFIELD_VALUE, 400 },
  { "CTL in value", V(GET11 "X: a\x01\r\n\r\n"), HTTP1_EFIELD_VALUE, 400 },
  { "DEL in value", V(GET11 "X: a\x7f\r\n\r\n"), HTTP1_EFIELD_VALUE, 400 },
  { "bare LF request line", V("GET / HTTP/1.1\nHost: a\r\n\r\n"),
    HTTP1_EBARE_LF, 400 },
  { "bare LF field", V("GET / HTTP/1.1\r\nHost: a\n\r\n"), HTTP1_EBARE_LF,
    400 },
  { "bare LF end", V(GET11 "\n"), HTTP1_EBARE_LF, 400 },
  { "bare LF leading", V("\nGET / HTTP/1.1\r\n"), HTTP1_EBARE_LF, 400 },
  { "host missing", V("GET / HTTP/1.1\r\n\r\n"), HTTP1_EHOST, 400 },
  { "host repeated", V(GET11 "Host: a.test\r\n\r\n"), HTTP1_EHOST_DUP, 400 },
  { "host repeated 1.0", V("GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n"),
    HTTP1_EHOST_DUP, 400 },
  { "host with space", V("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host with path", V("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host with userinfo", V("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host port too big", V("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host bad pct-encoding", V("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host pct non-hex", V("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host port not digits", V("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host junk after literal", V("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host bad char in literal", V("GET / HTTP/1.1\r\nHost: [a/b]\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "host open bracket", V("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    HTTP1_EHOST_VALUE, 400 },
  { "method bad char", V("G(T / HTTP/1.1\r\n"), HTTP1_EMETHOD, 400 },
  { "method empty", V(" / HTTP/1.1\r\n"), HTTP1_EMETHOD, 400 },
  { "method with CTL", V("GE\x01T / HTTP/1.1\r\n"), HTTP1_EMETHOD, 400 },
  { "target with space", V("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
    HTTP1_ETARGET, 400 },
  { "target with tab", V("GET /a\tb HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target with DEL", V("GET /a\x7f HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target with NUL", V("GET /a\0 HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target non-ASCII", V("GET /caf\xc3\xa9 HTTP/1.1\r\n"), HTTP1_ETARGET,
    400 },
  { "target with fragment", V("GET /a#b HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target empty", V("GET  HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target no form", V("GET a.test HTTP/1.1\r\n"), HTTP1_ETARGET, 400 },
  { "target authority-form for GET", V("GET a.test:80 HTTP/1.1\r\n"),
    HTTP1_ETARGET, 400 },
  { "absolute-form without host", V("GET http:///x HTTP/1.1\r\n"),
    HTTP1_ETARGET, 400 },
  { "connect origin-form", V("CONNECT / HTTP/1.1\r\n"), HTTP1_ETARGET_FORM,
    400 },
  { "connect without port", V("CONNECT a.test HTTP/1.1\r\n"),
    HTTP1_ETARGET_FORM, 400 },
  { "connect absolute-form", V("CONNECT http://a.test:443/ HTTP/1.1\r\n"),
    HTTP1_ETARGET_FORM, 400 },
  { "connect empty host", V("CONNECT :443 HTTP/1.1\r\n"), HTTP1_ETARGET_FORM,
    400 },
  { "asterisk for GET", V("GET * HTTP/1.1\r\n"), HTTP1_ETARGET_FORM, 400 },
  { "connect with body",
    V("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\n"),
    HTTP1_ECONNECT_BODY, 400 },
  { "connect chunked",
    V("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"),
    HTTP1_ECONNECT_BODY, 400 },
  { "HTTP/0.9", V("GET /\r\n"), HTTP1_EVERSION, 505 },
  { "HTTP/2.0", V("GET / HTTP/2.0\r\n"), HTTP1_EVERSION, 505 },
  { "HTTP/1.2", V("GET / HTTP/1.2\r\n"), HTTP1_EVERSION, 505 },
  { "HTTP/0.9 with version", V("GET / HTTP/0.9\r\n"), HTTP1_EVERSION, 505 },
  { "version two digits", V("GET / HTTP/1.10\r\n"), HTTP1_EBAD, 400 },
  { "version lowercase", V("GET / http/1.1\r\n"), HTTP1_EBAD, 400 },
  { "trailing space", V("GET / HTTP/1.1 \r\n"), HTTP1_EBAD, 400 },
  { "no space", V("GET\r\n"), HTTP1_EBAD, 400 },
  { .name = NULL } /* sentinel */
};

static void check_invalid_row(const char *name, const char *in, size_t len,
                              int want_rc, int want_status, int row)
{
  struct http1_request req;
  char *buf;
  int rc = parse_both(in, len, &req, &buf);

  CHECK_ROW(rc == want_rc, row);
  CHECK_ROW(http1_error_status(rc) == want_status, row);
  if (rc != want_rc) {
    fprintf(stderr, "  %s: got %d (%s), expected %d (%s)\n", name, rc,
            http1_strerror(rc), want_rc, http1_strerror(want_rc));
  }
  free(buf);
}

static void test_invalid(void)
{
  const struct invalid_case *c;
  int i;

  for (i = 0; invalid_cases[i].name != NULL; i++) {
    c = &invalid_cases[i];
    check_invalid_row(c->name, c->in, c->len, c->rc, c->status, i);
  }
}

/* ---- limits, at and just over each bound ---- */

struct big_case {
  const char *name;
  const char *pre;
  const char *unit; /* repeated `count` times */
  size_t count;
  const char *post;
  int rc;
  int status;
};

/* "GET /" + 8178 + " HTTP/1.1" is 8192 bytes; the head of "huge value"
 * is 28 + 65504 + 4 = 65536 bytes. */
static const struct big_case big_cases[] = {
  { "request line at limit", "GET /", "a", 8178, " HTTP/1.1\r\nHost: a\r\n\r\n",
    HTTP1_OK, 0 },
  { "request line over limit", "GET /", "a", 8179,
    " HTTP/1.1\r\nHost: a\r\n\r\n", HTTP1_ELINE_TOO_LONG, 414 },
  { "request line without end", "GET /", "a", 9000, "", HTTP1_ELINE_TOO_LONG,
    414 },
  { "head at limit", "GET / HTTP/1.1\r\nHost: a\r\nX: ", "a", 65504, "\r\n\r\n",
    HTTP1_OK, 0 },
  { "head over limit", "GET / HTTP/1.1\r\nHost: a\r\nX: ", "a", 65505,
    "\r\n\r\n", HTTP1_EHEAD_TOO_LARGE, 431 },
  { "many fields without end", "GET / HTTP/1.1\r\nHost: a\r\n", "X: y\r\n",
    12000, "", HTTP1_ETOO_MANY_FIELDS, 431 },
  { "long field line without end", "GET / HTTP/1.1\r\nX: ", "a", 70000, "",
    HTTP1_EHEAD_TOO_LARGE, 431 },
  { "100 fields", "GET / HTTP/1.1\r\nHost: a\r\n", "X: y\r\n", 99, "\r\n",
    HTTP1_OK, 0 },
  { "101 fields", "GET / HTTP/1.1\r\nHost: a\r\n", "X: y\r\n", 100, "\r\n",
    HTTP1_ETOO_MANY_FIELDS, 431 },
  { "many leading empty lines", "", "\r\n", 4000, GET11 "\r\n", HTTP1_OK, 0 },
  { .name = NULL } /* sentinel */
};

static void test_limits(void)
{
  const struct big_case *c;
  size_t len;
  char *in;
  int i;

  for (i = 0; big_cases[i].name != NULL; i++) {
    c = &big_cases[i];
    in = build_big(c->pre, c->unit, c->count, c->post, &len);
    check_invalid_row(c->name, in, len, c->rc, c->status, i);
    free(in);
  }
}

/* ---- pipelining: each head plus its body ends where the next starts ---- */

static void test_pipelined(void)
{
  static const char in[] =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"
      "\r\nGET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  static const char *const targets[] = { "/1", "/2", "/3", "/4", NULL };
  struct http1_request req;
  size_t pos = 0, len = sizeof(in) - 1;
  ssize_t n;
  int i, done;

  dump_vector("request", in, len);
  for (i = 0; targets[i] != NULL; i++) {
    memset(&req, 0, sizeof(req));
    CHECK_INT(http1_parse_request(in + pos, len - pos, &req), HTTP1_OK);
    CHECK(req.target_len == 2 && memcmp(req.target, targets[i], 2) == 0);
    pos += req.head_len;
    n = http1_body_feed(&req.body, in + pos, len - pos, &done);
    CHECK(n >= 0);
    CHECK_INT(done, 1);
    pos += n > 0 ? (size_t)n : 0;
  }
  CHECK_INT(pos, len);
  CHECK_INT(req.keep_alive, 0);
}

/* ---- views and helpers ---- */

static void test_views(void)
{
  static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Sp:  a  b \t\r\n"
                           "X-Empty:\r\nX-Ws: \t \r\n\r\n";
  struct http1_request req;
  const struct http1_field *f;

  memset(&req, 0, sizeof(req));
  CHECK_INT(http1_parse_request(in, sizeof(in) - 1, &req), HTTP1_OK);
  f = http1_find_field(req.fields, req.nfields, "x-sp");
  CHECK(f != NULL && f->value_len == 4 && memcmp(f->value, "a  b", 4) == 0);
  CHECK(f != NULL && f->name_len == 4 && memcmp(f->name, "X-Sp", 4) == 0);
  f = http1_find_field(req.fields, req.nfields, "X-EMPTY");
  CHECK(f != NULL && f->value_len == 0);
  f = http1_find_field(req.fields, req.nfields, "x-ws");
  CHECK(f != NULL && f->value_len == 0);
  CHECK(http1_find_field(req.fields, req.nfields, "x-s") == NULL);
  CHECK(http1_find_field(NULL, 0, "host") == NULL);
  CHECK(req.host == &req.fields[0]);
}

static void test_helpers(void)
{
  static const char list[] = " a ,b,, c\t,";
  static const char *const elems[] = { "a", "b", "", "c", "", NULL };
  const char *e;
  size_t elen, pos = 0;
  int i = 0;

  CHECK(http1_token_eq("Chunked", 7, "chunked"));
  CHECK(!http1_token_eq("chunked", 6, "chunked"));
  CHECK(!http1_token_eq("chunkedx", 8, "chunked"));
  CHECK(http1_token_eq("", 0, ""));
  while (http1_list_next(list, sizeof(list) - 1, &pos, &e, &elen)) {
    CHECK(elems[i] != NULL && elen == strlen(elems[i]) &&
          memcmp(e, elems[i], elen) == 0);
    i++;
  }
  CHECK_INT(i, 5);
  pos = 0;
  CHECK_INT(http1_list_next("", 0, &pos, &e, &elen), 1);
  CHECK_INT(elen, 0);
  CHECK_INT(http1_list_next("", 0, &pos, &e, &elen), 0);
}

static void test_errors(void)
{
  int err;

  for (err = HTTP1_ETRAILER_TOO_LARGE; err <= HTTP1_EBAD; err++) {
    CHECK(strcmp(http1_strerror(err), "unknown HTTP/1 parser error") != 0);
    CHECK(http1_error_status(err) >= 400);
  }
  CHECK_STR(http1_strerror(HTTP1_ECL_TE),
            "Content-Length with Transfer-Encoding");
  CHECK_STR(http1_strerror(-1000), "unknown HTTP/1 parser error");
  CHECK_INT(http1_error_status(-1000), 400);
  CHECK_INT(http1_error_status(HTTP1_OK), 0);
  CHECK_INT(http1_error_status(HTTP1_AGAIN), 0);
}

/* A request split anywhere parses as a whole: every split point. */
static void test_every_split(void)
{
  static const char in[] = "\r\nPOST http://a.test/x HTTP/1.1\r\n"
                           "Host: a.test\r\nContent-Length: 5, 5\r\n"
                           "Connection: keep-alive\r\n\r\n";
  struct http1_request whole, split;
  size_t len = sizeof(in) - 1, k;

  memset(&whole, 0, sizeof(whole));
  CHECK_INT(http1_parse_request(in, len, &whole), HTTP1_OK);
  for (k = 0; k <= len; k++) {
    memset(&split, 0, sizeof(split));
    CHECK_INT(http1_parse_request(in, k, &split),
              k == len ? HTTP1_OK : HTTP1_AGAIN);
    CHECK_INT(http1_parse_request(in, len, &split), HTTP1_OK);
    CHECK(http1_same_request(&whole, in, &split, in));
  }
}

/* After HTTP1_OK a call with the moved buffer refreshes the views; a
 * buffer shorter than what was scanned is refused. */
static void test_reentry(void)
{
  static const char in[] = GET11 "\r\n";
  struct http1_request req;
  char *a = copy_exact(in, sizeof(in) - 1), *b = copy_exact(in, sizeof(in) - 1);

  memset(&req, 0, sizeof(req));
  CHECK_INT(http1_parse_request(a, sizeof(in) - 1, &req), HTTP1_OK);
  CHECK(req.method == a);
  CHECK_INT(http1_parse_request(b, sizeof(in) - 1, &req), HTTP1_OK);
  CHECK(req.method == b && req.host == &req.fields[0]);
  CHECK(req.fields[0].value == b + sizeof("GET / HTTP/1.1\r\nHost: ") - 1);
  CHECK_INT(http1_parse_request(b, 5, &req), HTTP1_EBAD);
  free(a);
  free(b);
}

TEST_MAIN({ "valid", test_valid }, { "invalid", test_invalid },
          { "limits", test_limits }, { "pipelined", test_pipelined },
          { "views", test_views }, { "helpers", test_helpers },
          { "errors", test_errors }, { "every split", test_every_split },
          { "reentry", test_reentry })
