/*
 * test_http1_chunked.c - the body decoder (RFC 9112 sections 6 and 7.1).
 *
 * Every chunked vector is fed whole, then one byte per call; both must
 * agree on the error, on how many bytes belong to the body and on whether
 * it ended. Bytes after the last chunk's final CRLF are the next message
 * and must not be consumed. Then the limits, sticky errors, and the
 * Content-Length, close-delimited and empty framings.
 */
#include "http1.h"
#include "testlib.h"
#include "test_http1_util.h"

/* Feeds in[0..len) as one call, or one byte per call until the end of
 * the body or an error. Returns the error or HTTP1_OK; *consumed and
 * *done say how far the body went. */
static int feed(const char *in, size_t len, int bytewise, size_t *consumed,
                int *done)
{
  struct http1_body b;
  size_t i;
  ssize_t n;
  char *buf = copy_exact(in, len);

  memset(&b, 0, sizeof(b));
  b.kind = HTTP1_BODY_CHUNKED;
  *consumed = 0;
  *done = 0;
  if (!bytewise) {
    n = http1_body_feed(&b, buf, len, done);
    free(buf);
    if (n < 0) {
      return (int)n;
    }
    *consumed = (size_t)n;
    return HTTP1_OK;
  }
  for (i = 0; i < len && !*done; i++) {
    n = http1_body_feed(&b, buf + i, 1, done);
    if (n < 0) {
      free(buf);
      return (int)n;
    }
    *consumed += (size_t)n;
  }
  free(buf);
  return HTTP1_OK;
}

/* Returns the result, checking that both ways of feeding agree. */
static int feed_both(const char *in, size_t len, size_t *consumed, int *done,
                     int row)
{
  size_t c1, c2;
  int d1, d2, r1, r2;

  dump_vector("chunked", in, len);
  r1 = feed(in, len, 0, &c1, &d1);
  r2 = feed(in, len, 1, &c2, &d2);
  CHECK_ROW(r1 == r2, row);
  CHECK_ROW(r1 != HTTP1_OK || (c1 == c2 && d1 == d2), row);
  *consumed = c1;
  *done = d1;
  return r1;
}

struct chunk_case {
  const char *name;
  const char *in;
  size_t len;
  int rc;      /* HTTP1_OK or the error */
  size_t rest; /* OK: bytes left unconsumed (the next message) */
  int done;    /* OK: the body ended */
};

#define NEXT "GET / HTTP/1.1\r\n"

static const struct chunk_case chunk_cases[] = {
  /* well-formed */
  { "one chunk", V("5\r\nhello\r\n0\r\n\r\n"), HTTP1_OK, 0, 1 },
  { "empty body", V("0\r\n\r\n"), HTTP1_OK, 0, 1 },
  { "next message untouched", V("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" NEXT),
    HTTP1_OK, sizeof(NEXT) - 1, 1 },
  { "hex digits", V("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
    HTTP1_OK, 0, 1 },
  { "leading zeros, 16 digits", V("0000000000000003\r\nabc\r\n0\r\n\r\n"),
    HTTP1_OK, 0, 1 },
  { "largest size", V("7fffffffffffffff\r\n"), HTTP1_OK, 0, 0 },
  { "extension name", V("5;last\r\nhello\r\n0;x\r\n\r\n"), HTTP1_OK, 0, 1 },
  { "extensions with values", V("5;a=b;c=\"q \\\" x\"\r\nhello\r\n0\r\n\r\n"),
    HTTP1_OK, 0, 1 },
  { "extension whitespace", V("5 ;\ta = b ; c\r\nhello\r\n0\r\n\r\n"), HTTP1_OK,
    0, 1 },
  { "trailers", V("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n" NEXT), HTTP1_OK,
    sizeof(NEXT) - 1, 1 },
  { "incomplete data", V("5\r\nhel"), HTTP1_OK, 0, 0 },
  { "missing final CRLF at EOF", V("5\r\nhello\r\n0\r\n"), HTTP1_OK, 0, 0 },
  { "trailer without final CRLF", V("0\r\nX: y\r\n"), HTTP1_OK, 0, 0 },
  /* chunk size line */
  { "size 0x10", V("0x10\r\n"), .rc = HTTP1_ECHUNK },
  { "size negative", V("-5\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "size plus", V("+5\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "size leading space", V(" 5\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "size trailing space", V("5 \r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "size empty", V("\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "size not hex", V("g\r\n"), .rc = HTTP1_ECHUNK },
  { "size bare CR", V("5\r\r\n"), .rc = HTTP1_ECHUNK },
  { "size bare LF", V("5\nhello\r\n0\r\n\r\n"), .rc = HTTP1_EBARE_LF },
  { "size 17 digits", V("10000000000000000\r\n"), .rc = HTTP1_ECHUNK_OVERFLOW },
  { "size 17 digits, leading zero", V("00000000000000001\r\n"),
    .rc = HTTP1_ECHUNK_OVERFLOW },
  { "size 2^63", V("8000000000000000\r\n"), .rc = HTTP1_ECHUNK_OVERFLOW },
  { "size 2^64-1", V("ffffffffffffffff\r\n"), .rc = HTTP1_ECHUNK_OVERFLOW },
  { "extension empty", V("5;\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "extension no name", V("5;=b\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "extension empty value", V("5;a=\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "extension two words", V("5;a b\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "extension value two words", V("5;a=b c\r\nhello\r\n"),
    .rc = HTTP1_ECHUNK },
  { "extension unterminated quote", V("5;a=\"x\r\nhello\r\n"),
    .rc = HTTP1_ECHUNK },
  { "extension after quote", V("5;a=\"x\"y\r\nhello\r\n"), .rc = HTTP1_ECHUNK },
  { "extension CTL in quote", V("5;a=\"\x01\"\r\nhello\r\n"),
    .rc = HTTP1_ECHUNK },
  /* chunk data */
  { "data too long", V("5\r\nhello world\r\n0\r\n\r\n"),
    .rc = HTTP1_ECHUNK_CRLF },
  { "data then LF", V("5\r\nhello\n0\r\n\r\n"), .rc = HTTP1_ECHUNK_CRLF },
  { "data then CR", V("5\r\nhello\rX"), .rc = HTTP1_ECHUNK_CRLF },
  /* trailer section */
  { "next request as trailer", V("0\r\n" NEXT "Host: a\r\n\r\n"),
    .rc = HTTP1_EFIELD_NAME },
  { "trailer obs-fold", V("0\r\nX: a\r\n b\r\n\r\n"), .rc = HTTP1_EOBS_FOLD },
  { "trailer space before colon", V("0\r\nX : a\r\n\r\n"),
    .rc = HTTP1_EFIELD_SPACE },
  { "trailer NUL", V("0\r\nX: a\0\r\n\r\n"), .rc = HTTP1_EFIELD_VALUE },
  { "trailer CR in value", V("0\r\nX: a\rb\r\n\r\n"),
    .rc = HTTP1_EFIELD_VALUE },
  { "trailer bare LF", V("0\r\nX: a\n\r\n"), .rc = HTTP1_EBARE_LF },
  { "final bare LF", V("0\r\n\n"), .rc = HTTP1_EBARE_LF },
  { "trailer empty name", V("0\r\n: a\r\n\r\n"), .rc = HTTP1_EFIELD_NAME },
  { "trailer no colon", V("0\r\nX\r\n\r\n"), .rc = HTTP1_EFIELD_NAME },
  { "final CR then junk", V("0\r\n\rX"), .rc = HTTP1_EFIELD_NAME },
  { .name = NULL } /* sentinel */
};

static void test_chunked(void)
{
  const struct chunk_case *c;
  size_t consumed;
  int i, rc, done;

  for (i = 0; chunk_cases[i].name != NULL; i++) {
    c = &chunk_cases[i];
    rc = feed_both(c->in, c->len, &consumed, &done, i);
    CHECK_ROW(rc == c->rc, i);
    if (rc != c->rc) {
      fprintf(stderr, "  %s: got %d (%s), expected %d (%s)\n", c->name, rc,
              http1_strerror(rc), c->rc, http1_strerror(c->rc));
    } else if (rc == HTTP1_OK) {
      CHECK_ROW(consumed == c->len - c->rest, i);
      CHECK_ROW(done == c->done, i);
    } else {
      CHECK_ROW(http1_error_status(rc) >= 400, i);
    }
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

/* A size line is "1;" + n letters (n + 2 bytes, at most 4096); a trailer
 * section is "X: " + n + CRLF + CRLF (n + 7 bytes, at most 16384). */
static const struct big_case big_cases[] = {
  { "size line at limit", "1;", "a", 4094, "\r\nx\r\n0\r\n\r\n", HTTP1_OK },
  { "size line over limit", "1;", "a", 4095, "\r\nx\r\n0\r\n\r\n",
    HTTP1_ECHUNK_LINE_TOO_LONG },
  { "trailer at limit", "0\r\nX: ", "a", 16377, "\r\n\r\n", HTTP1_OK },
  { "trailer over limit", "0\r\nX: ", "a", 16378, "\r\n\r\n",
    HTTP1_ETRAILER_TOO_LARGE },
  { "many chunks", "", "1\r\na\r\n", 10000, "0\r\n\r\n", HTTP1_OK },
  { "big chunk", "fffff\r\n", "a", 0xfffff, "\r\n0\r\n\r\n", HTTP1_OK },
  { .name = NULL } /* sentinel */
};

static void test_limits(void)
{
  const struct big_case *c;
  size_t len, consumed;
  char *in;
  int i, rc, done;

  for (i = 0; big_cases[i].name != NULL; i++) {
    c = &big_cases[i];
    in = build_big(c->pre, c->unit, c->count, c->post, &len);
    rc = feed_both(in, len, &consumed, &done, i);
    CHECK_ROW(rc == c->rc, i);
    CHECK_ROW(rc != HTTP1_OK || (consumed == len && done), i);
    free(in);
  }
}

/* An error sticks: later calls return it without consuming. */
static void test_sticky_error(void)
{
  struct http1_body b;
  int done = 1;

  memset(&b, 0, sizeof(b));
  b.kind = HTTP1_BODY_CHUNKED;
  CHECK_INT(http1_body_feed(&b, "5\r\nhelloX", 9, &done), HTTP1_ECHUNK_CRLF);
  CHECK_INT(done, 0);
  CHECK_INT(http1_body_feed(&b, "\r\n0\r\n\r\n", 7, &done), HTTP1_ECHUNK_CRLF);
  CHECK_INT(done, 0);
}

/* After the end, a chunked body consumes nothing more. */
static void test_done_stays_done(void)
{
  struct http1_body b;
  int done = 0;

  memset(&b, 0, sizeof(b));
  b.kind = HTTP1_BODY_CHUNKED;
  CHECK_INT(http1_body_feed(&b, "0\r\n\r\n", 5, &done), 5);
  CHECK_INT(done, 1);
  done = 0;
  CHECK_INT(http1_body_feed(&b, "0\r\n\r\n", 5, &done), 0);
  CHECK_INT(done, 1);
  CHECK_INT(http1_body_feed(&b, "", 0, NULL), 0);
}

/* ---- the other framings ---- */

struct framing_case {
  const char *name;
  enum http1_body_kind kind;
  uint64_t remaining;
  const char *in;
  size_t len;
  ssize_t consumed;
  int done;
  uint64_t remaining_after;
};

static const struct framing_case framing_cases[] = {
  { "length, more bytes", HTTP1_BODY_LENGTH, 5, V("helloGET"), 5, 1, 0 },
  { "length, fewer bytes", HTTP1_BODY_LENGTH, 5, V("hel"), 3, 0, 2 },
  { "length, exact", HTTP1_BODY_LENGTH, 3, V("abc"), 3, 1, 0 },
  { "length, nothing yet", HTTP1_BODY_LENGTH, 3, V(""), 0, 0, 3 },
  { "length, huge", HTTP1_BODY_LENGTH, INT64_MAX, V("abc"), 3, 0,
    INT64_MAX - 3 },
  { "close", HTTP1_BODY_CLOSE, 0, V("anything at all"), 15, 0, 0 },
  { "none", HTTP1_BODY_NONE, 0, V("GET /"), 0, 1, 0 },
  { .name = NULL } /* sentinel */
};

static void test_framings(void)
{
  const struct framing_case *c;
  struct http1_body b;
  int i, done;

  for (i = 0; framing_cases[i].name != NULL; i++) {
    c = &framing_cases[i];
    memset(&b, 0, sizeof(b));
    b.kind = c->kind;
    b.remaining = c->remaining;
    done = -1;
    CHECK_ROW(http1_body_feed(&b, c->in, c->len, &done) == c->consumed, i);
    CHECK_ROW(done == c->done, i);
    CHECK_ROW(b.remaining == c->remaining_after, i);
  }
}

TEST_MAIN({ "chunked", test_chunked }, { "limits", test_limits },
          { "sticky error", test_sticky_error },
          { "done stays done", test_done_stays_done },
          { "framings", test_framings })
