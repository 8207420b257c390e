/*
 * fuzz_http1_request.c - libFuzzer target for http1_parse_request() and
 * the request body decoder.
 *
 * The input is what a client sends on one connection. Invariants, each an
 * abort when violated: the result does not depend on how the bytes were
 * split (whole; two pieces at a point drawn from the input, the first in
 * its own exact-size buffer; byte by byte for short inputs); on success
 * head_len <= len, every view lies inside the head, Host points at one of
 * the fields, and the facts agree with each other; every error maps to a
 * known status and description; a body never takes more than it is given.
 * Then the pipeline goes on as the proxy would: body, next request.
 */
#include "http1.h"
#include "../unit/http1/http1_same.h"
#include "fuzz_util.h"

#define BYTEWISE_MAX 512 /* longer inputs are not also fed byte by byte */
#define MAX_MESSAGES 64  /* pipelined requests followed per input */

static void check_result(int rc, size_t len)
{
  int status = http1_error_status(rc);

  FUZZ_CHECK(rc == HTTP1_OK || rc == HTTP1_AGAIN || rc < 0);
  FUZZ_CHECK(rc != HTTP1_AGAIN || len <= HTTP1_MAX_HEAD);
  FUZZ_CHECK(rc >= 0 || status == 400 || status == 414 || status == 431 ||
             status == 501 || status == 505);
  FUZZ_CHECK(rc >= 0 ||
             strcmp(http1_strerror(rc), "unknown HTTP/1 parser error") != 0);
}

static void check_field(const struct http1_field *f, const char *buf,
                        size_t head_len)
{
  size_t i;

  FUZZ_CHECK(fuzz_inside(f->name, f->name_len, buf, head_len));
  FUZZ_CHECK(f->name_len > 0);
  FUZZ_CHECK(fuzz_inside(f->value, f->value_len, buf, head_len));
  for (i = 0; i < f->value_len; i++) {
    unsigned char c = (unsigned char)f->value[i];
    FUZZ_CHECK(c == '\t' || (c >= ' ' && c != 0x7f));
  }
  FUZZ_CHECK(f->value_len == 0 || (f->value[0] != ' ' && f->value[0] != '\t'));
}

static void check_request(const struct http1_request *r, const char *buf,
                          size_t len)
{
  size_t i;

  FUZZ_CHECK(r->head_len >= 4 && r->head_len <= len &&
             r->head_len <= HTTP1_MAX_HEAD);
  FUZZ_CHECK(memcmp(buf + r->head_len - 4, "\r\n\r\n", 4) == 0);
  FUZZ_CHECK(fuzz_inside(r->method, r->method_len, buf, r->head_len));
  FUZZ_CHECK(fuzz_inside(r->target, r->target_len, buf, r->head_len));
  FUZZ_CHECK(r->method_len > 0 && r->target_len > 0);
  FUZZ_CHECK(r->nfields <= HTTP1_MAX_FIELDS);
  for (i = 0; i < r->nfields; i++) {
    check_field(&r->fields[i], buf, r->head_len);
  }
  FUZZ_CHECK(r->host == NULL ||
             (r->host >= r->fields && r->host < r->fields + r->nfields));
  FUZZ_CHECK(r->version_minor == 0 || r->version_minor == 1);
  FUZZ_CHECK(r->version_minor == 0 || r->host != NULL);
  FUZZ_CHECK(r->is_connect == (r->form == HTTP1_FORM_AUTHORITY));
  FUZZ_CHECK(!r->is_connect || r->body.kind == HTTP1_BODY_NONE);
  FUZZ_CHECK(r->body.kind != HTTP1_BODY_CLOSE);
  FUZZ_CHECK(r->body.kind != HTTP1_BODY_LENGTH || r->body.remaining > 0);
  FUZZ_CHECK(!r->keep_alive || !(r->conn_flags & HTTP1_CONN_CLOSE));
}

/* The same bytes in two pieces, then byte by byte, must parse the same. */
static void check_splits(const uint8_t *data, size_t len,
                         const struct http1_request *whole, const char *wbuf,
                         int rc)
{
  static struct http1_request r;
  size_t k = fuzz_split(data, len), i;
  char *prefix = fuzz_copy(data, k);
  int rc1, rc2 = HTTP1_AGAIN;

  memset(&r, 0, sizeof(r));
  rc1 = http1_parse_request(prefix, k, &r);
  if (rc1 == HTTP1_AGAIN) {
    rc1 = http1_parse_request(wbuf, len, &r);
    FUZZ_CHECK(rc1 == rc);
    FUZZ_CHECK(rc != HTTP1_OK || http1_same_request(whole, wbuf, &r, wbuf));
  } else {
    FUZZ_CHECK(rc1 == rc);
    FUZZ_CHECK(rc != HTTP1_OK || http1_same_request(whole, wbuf, &r, prefix));
  }
  free(prefix);
  if (len > BYTEWISE_MAX) {
    return;
  }
  memset(&r, 0, sizeof(r));
  for (i = 1; i <= len && rc2 == HTTP1_AGAIN; i++) {
    rc2 = http1_parse_request(wbuf, i, &r);
  }
  FUZZ_CHECK(rc2 == rc);
  FUZZ_CHECK(rc != HTTP1_OK || http1_same_request(whole, wbuf, &r, wbuf));
}

/* Parses one request and its body; returns the bytes they took, or 0
 * when the connection would stop here. */
static size_t one_request(const uint8_t *data, size_t len)
{
  static struct http1_request req;
  char *buf = fuzz_copy(data, len);
  size_t used = 0;
  ssize_t n;
  int rc, done = 0;

  memset(&req, 0, sizeof(req));
  rc = http1_parse_request(buf, len, &req);
  check_result(rc, len);
  check_splits(data, len, &req, buf, rc);
  if (rc == HTTP1_OK) {
    check_request(&req, buf, len);
    n = http1_body_feed(&req.body, buf + req.head_len, len - req.head_len,
                        &done);
    FUZZ_CHECK(n < 0 || (size_t)n <= len - req.head_len);
    if (n >= 0 && done) {
      used = req.head_len + (size_t)n;
    }
  }
  free(buf);
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t pos = 0, used;
  int i;

  for (i = 0; i < MAX_MESSAGES && pos < size; i++) {
    used = one_request(data + pos, size - pos);
    if (used == 0) {
      break;
    }
    pos += used;
  }
  return 0;
}
