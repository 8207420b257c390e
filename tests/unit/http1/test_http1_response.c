/*
 * test_http1_response.c - the response head parser, as a specification.
 *
 * As for requests, every vector is parsed whole and one byte at a time
 * (a fresh, growing copy per call) with identical results. Valid rows
 * state the status, reason, body framing (RFC 9112 section 6.3) and
 * persistence; invalid rows the error. Then limits and a pipeline of
 * responses with every kind of body.
 */
#include "http1.h"
#include "testlib.h"
#include "http1_same.h"
#include "test_http1_util.h"

/* Parses whole into *out (views into *outbuf, freed by the caller) and
 * one byte at a time; checks both agree. Returns the result. */
static int parse_both(const char *in, size_t len, int is_head,
                      struct http1_response *out, char **outbuf)
{
  static struct http1_response inc;
  char *whole = copy_exact(in, len), *buf = NULL;
  size_t i;
  int rc, irc = HTTP1_AGAIN;

  dump_vector(is_head ? "head-response" : "response", in, len);
  memset(out, 0, sizeof(*out));
  rc = http1_parse_response(whole, len, is_head, out);
  memset(&inc, 0, sizeof(inc));
  if (len > COPY_EACH_CALL_MAX) {
    buf = copy_exact(in, len);
  }
  for (i = 1; i <= len && irc == HTTP1_AGAIN; i++) {
    if (len <= COPY_EACH_CALL_MAX) {
      free(buf);
      buf = copy_exact(in, i);
    }
    irc = http1_parse_response(buf, i, is_head, &inc);
  }
  CHECK_INT(irc, rc);
  if (rc == HTTP1_OK && irc == HTTP1_OK) {
    CHECK(http1_same_response(out, whole, &inc, buf));
  }
  free(buf);
  *outbuf = whole;
  return rc;
}

/* ---- valid responses ---- */

struct valid_case {
  const char *name;
  const char *in;
  size_t len;
  int is_head; /* the request was HEAD */
  int status;
  int minor;
  const char *reason;
  size_t nfields;
  enum http1_body_kind body;
  uint64_t remaining;
  int keep_alive;
  unsigned conn_flags;
};

static const struct valid_case valid_cases[] = {
  { "content-length", V("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 0, 200,
    1, "OK", 1, HTTP1_BODY_LENGTH, 5, 1, 0 },
  { "close-delimited", V("HTTP/1.1 200 OK\r\nX: y\r\n\r\n"), 0, 200, 1, "OK", 1,
    HTTP1_BODY_CLOSE, 0, 0, 0 },
  { "chunked", V("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 0,
    200, 1, "OK", 1, HTTP1_BODY_CHUNKED, 0, 1, 0 },
  { "gzip, chunked",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n"), 0, 200, 1,
    "OK", 1, HTTP1_BODY_CHUNKED, 0, 1, 0 },
  { "unknown coding then chunked",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"),
    0, 200, 1, "OK", 2, HTTP1_BODY_CHUNKED, 0, 1, 0 },
  { "TE not chunked: until close",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), 0, 200, 1, "OK", 1,
    HTTP1_BODY_CLOSE, 0, 0, 0 },
  { "chunked not final: until close",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 0, 200, 1,
    "OK", 1, HTTP1_BODY_CLOSE, 0, 0, 0 },
  { "204", V("HTTP/1.1 204 No Content\r\n\r\n"), 0, 204, 1, "No Content", 0,
    HTTP1_BODY_NONE, 0, 1, 0 },
  { "304 with length",
    V("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), 0, 304, 1,
    "Not Modified", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "100 continue", V("HTTP/1.1 100 Continue\r\n\r\n"), 0, 100, 1, "Continue",
    0, HTTP1_BODY_NONE, 0, 1, 0 },
  { "101 upgrade",
    V("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
      "Upgrade: websocket\r\n\r\n"),
    0, 101, 1, "Switching Protocols", 2, HTTP1_BODY_NONE, 0, 1,
    HTTP1_CONN_UPGRADE },
  { "HEAD with length", V("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), 1,
    200, 1, "OK", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "HEAD with chunked",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 1, 200, 1, "OK",
    1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "HEAD without length", V("HTTP/1.1 200 OK\r\n\r\n"), 1, 200, 1, "OK", 0,
    HTTP1_BODY_NONE, 0, 1, 0 },
  { "length 0", V("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 200, 1,
    "OK", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "identical lengths (accepted)",
    V("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n"),
    0, 200, 1, "OK", 2, HTTP1_BODY_LENGTH, 3, 1, 0 },
  { "1.0 length", V("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n"), 0, 200, 0,
    "OK", 1, HTTP1_BODY_LENGTH, 2, 0, 0 },
  { "1.0 keep-alive",
    V("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"),
    0, 200, 0, "OK", 2, HTTP1_BODY_LENGTH, 2, 1, HTTP1_CONN_KEEP_ALIVE },
  { "1.0 chunked: faulty framing, until close",
    V("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "Connection: keep-alive\r\n\r\n"),
    0, 200, 0, "OK", 2, HTTP1_BODY_CLOSE, 0, 0, HTTP1_CONN_KEEP_ALIVE },
  { "1.1 close",
    V("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n"), 0,
    200, 1, "OK", 2, HTTP1_BODY_LENGTH, 1, 0, HTTP1_CONN_CLOSE },
  { "empty reason", V("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"), 0, 404, 1,
    "", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "no reason, no space", V("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"), 0,
    404, 1, "", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "reason with spaces and obs-text",
    V("HTTP/1.1 500 Server \t Err\xc3\xa9  \r\nContent-Length: 0\r\n\r\n"), 0,
    500, 1, "Server \t Err\xc3\xa9  ", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { "status 999", V("HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n"), 0, 999, 1,
    "X", 1, HTTP1_BODY_NONE, 0, 1, 0 },
  { .name = NULL } /* sentinel */
};

static void test_valid(void)
{
  const struct valid_case *c;
  struct http1_response resp;
  char *buf;
  int i, rc;

  for (i = 0; valid_cases[i].name != NULL; i++) {
    c = &valid_cases[i];
    rc = parse_both(c->in, c->len, c->is_head, &resp, &buf);
    CHECK_ROW(rc == HTTP1_OK, i);
    if (rc == HTTP1_OK) {
      CHECK_ROW(resp.status == c->status, i);
      CHECK_ROW(resp.version_minor == c->minor, i);
      CHECK_ROW(resp.reason_len == strlen(c->reason) &&
                    memcmp(resp.reason, c->reason, resp.reason_len) == 0,
                i);
      CHECK_ROW(resp.nfields == c->nfields, i);
      CHECK_ROW(resp.body.kind == c->body, i);
      CHECK_ROW(resp.body.remaining == c->remaining, i);
      CHECK_ROW(resp.keep_alive == c->keep_alive, i);
      CHECK_ROW(resp.conn_flags == c->conn_flags, i);
      CHECK_ROW(resp.head_len == c->len, i);
    } else {
      fprintf(stderr, "  %s: %s\n", c->name, http1_strerror(rc));
    }
    free(buf);
  }
}

/* ---- rejected responses ---- */

struct invalid_case {
  const char *name;
  const char *in;
  size_t len;
  int rc;
};

static const struct invalid_case invalid_cases[] = {
  { "TE with CL",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "Content-Length: 5\r\n\r\n"),
    HTTP1_ECL_TE },
  { "TE with CL on 304",
    V("HTTP/1.1 304 OK\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"),
    HTTP1_ECL_TE },
  { "conflicting CL",
    V("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n"),
    HTTP1_ECL_CONFLICT },
  { "malformed CL", V("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\n"),
    HTTP1_ECL },
  { "CL overflow",
    V("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
    HTTP1_ECL },
  { "chunked twice",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
    HTTP1_ETE_TWICE },
  { "TE parameter",
    V("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;level=1, chunked\r\n\r\n"),
    HTTP1_ETE_SYNTAX },
  { "obs-fold",
    V("HTTP/1.1 200 OK\r\nX: a\r\n  b\r\nContent-Length: 0\r\n\r\n"),
    HTTP1_EOBS_FOLD },
  { "space before colon", V("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
    HTTP1_EFIELD_SPACE },
  { "NUL in value", V("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"), HTTP1_EFIELD_VALUE },
  { "bare LF", V("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), HTTP1_EBARE_LF },
  { "leading empty line", V("\r\nHTTP/1.1 200 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "HTTP/2.0", V("HTTP/2.0 200 OK\r\n\r\n"), HTTP1_EVERSION },
  { "HTTP/1.2", V("HTTP/1.2 200 OK\r\n\r\n"), HTTP1_EVERSION },
  { "not HTTP", V("ICY 200 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "HTTP/2 short", V("HTTP/2 200 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "two-digit status", V("HTTP/1.1 20 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "four-digit status", V("HTTP/1.1 2000 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "status below 100", V("HTTP/1.1 099 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "no space after status", V("HTTP/1.1 200OK\r\n\r\n"), HTTP1_ESTATUS },
  { "double space", V("HTTP/1.1  200 OK\r\n\r\n"), HTTP1_ESTATUS },
  { "version only", V("HTTP/1.1\r\n\r\n"), HTTP1_ESTATUS },
  { "CTL in reason", V("HTTP/1.1 200 O\x01K\r\n\r\n"), HTTP1_ESTATUS },
  { .name = NULL } /* sentinel */
};

static void check_invalid(const char *name, const char *in, size_t len,
                          int want, int row)
{
  struct http1_response resp;
  char *buf;
  int rc = parse_both(in, len, 0, &resp, &buf);

  CHECK_ROW(rc == want, row);
  CHECK_ROW(want == HTTP1_OK || http1_error_status(rc) >= 400, row);
  if (rc != want) {
    fprintf(stderr, "  %s: got %d (%s), expected %d (%s)\n", name, rc,
            http1_strerror(rc), want, http1_strerror(want));
  }
  free(buf);
}

static void test_invalid(void)
{
  int i;

  for (i = 0; invalid_cases[i].name != NULL; i++) {
    check_invalid(invalid_cases[i].name, invalid_cases[i].in,
                  invalid_cases[i].len, invalid_cases[i].rc, i);
  }
}

/* ---- limits ---- */

struct big_case {
  const char *name;
  const char *pre;
  const char *unit;
  size_t count;
  const char *post;
  int rc;
};

/* "HTTP/1.1 200 " + 8179 is 8192 bytes. */
static const struct big_case big_cases[] = {
  { "status line at limit", "HTTP/1.1 200 ", "a", 8179, "\r\n\r\n", HTTP1_OK },
  { "status line over limit", "HTTP/1.1 200 ", "a", 8180, "\r\n\r\n",
    HTTP1_ELINE_TOO_LONG },
  { "head over limit", "HTTP/1.1 200 OK\r\nX: ", "a", 70000, "\r\n\r\n",
    HTTP1_EHEAD_TOO_LARGE },
  { "101 fields", "HTTP/1.1 200 OK\r\n", "X: y\r\n", 101, "\r\n",
    HTTP1_ETOO_MANY_FIELDS },
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
    check_invalid(c->name, in, len, c->rc, i);
    free(in);
  }
}

/* ---- a pipeline of responses on one connection ---- */

static void test_pipelined(void)
{
  static const char in[] =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nhi\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" /* HEAD */
      "HTTP/1.1 304 Not Modified\r\n\r\n"
      "HTTP/1.1 200 OK\r\n\r\nto the end";
  static const int statuses[] = { 100, 200, 200, 200, 304, 200, 0 };
  static const int heads[] = { 0, 0, 0, 1, 0, 0 };
  struct http1_response resp;
  size_t pos = 0, len = sizeof(in) - 1;
  ssize_t n;
  int i, done;

  dump_vector("response", in, len);
  for (i = 0; statuses[i] != 0; i++) {
    memset(&resp, 0, sizeof(resp));
    CHECK_INT(http1_parse_response(in + pos, len - pos, heads[i], &resp),
              HTTP1_OK);
    CHECK_INT(resp.status, statuses[i]);
    pos += resp.head_len;
    n = http1_body_feed(&resp.body, in + pos, len - pos, &done);
    CHECK(n >= 0);
    CHECK_INT(done, resp.body.kind != HTTP1_BODY_CLOSE);
    pos += n > 0 ? (size_t)n : 0;
  }
  CHECK_INT(resp.body.kind, HTTP1_BODY_CLOSE);
  CHECK_INT(resp.keep_alive, 0);
  CHECK_INT(pos, len);
}

/* A buffer shorter than what was already scanned is refused. */
static void test_shrunk_buffer(void)
{
  static const char in[] = "HTTP/1.1 200 OK\r\n";
  struct http1_response resp;

  memset(&resp, 0, sizeof(resp));
  CHECK_INT(http1_parse_response(in, sizeof(in) - 1, 0, &resp), HTTP1_AGAIN);
  CHECK_INT(http1_parse_response(in, 4, 0, &resp), HTTP1_EBAD);
}

TEST_MAIN({ "valid", test_valid }, { "invalid", test_invalid },
          { "limits", test_limits }, { "pipelined", test_pipelined },
          { "shrunk buffer", test_shrunk_buffer })
