/*
 * fuzz_http1_response.c - libFuzzer target for http1_parse_response() and
 * the response body decoder.
 *
 * The first byte's low bit says whether the request was HEAD; the rest is
 * what an origin sends on one connection. Invariants as for requests: the
 * result does not depend on the split (whole, two pieces, byte by byte
 * for short inputs); on success the views lie inside the head, the status
 * is 100-999, bodyless statuses have no body, a close-delimited body
 * disables keep-alive; errors map to a status; a body never takes more
 * than it is given. Then the next response, as the proxy would read it.
 */
#include "http1.h"
#include "../unit/http1/http1_same.h"
#include "fuzz_util.h"

#define BYTEWISE_MAX 512
#define MAX_MESSAGES 64

static void check_response(const struct http1_response *r, const char *buf,
                           size_t len, int is_head)
{
  size_t i;

  FUZZ_CHECK(r->head_len >= 4 && r->head_len <= len &&
             r->head_len <= HTTP1_MAX_HEAD);
  FUZZ_CHECK(memcmp(buf + r->head_len - 4, "\r\n\r\n", 4) == 0);
  FUZZ_CHECK(r->status >= 100 && r->status <= 999);
  FUZZ_CHECK(r->version_minor == 0 || r->version_minor == 1);
  FUZZ_CHECK(fuzz_inside(r->reason, r->reason_len, buf, r->head_len));
  FUZZ_CHECK(r->nfields <= HTTP1_MAX_FIELDS);
  for (i = 0; i < r->nfields; i++) {
    FUZZ_CHECK(fuzz_inside(r->fields[i].name, r->fields[i].name_len, buf,
                           r->head_len));
    FUZZ_CHECK(fuzz_inside(r->fields[i].value, r->fields[i].value_len, buf,
                           r->head_len));
    FUZZ_CHECK(r->fields[i].name_len > 0);
  }
  FUZZ_CHECK(
      !(is_head || r->status < 200 || r->status == 204 || r->status == 304) ||
      r->body.kind == HTTP1_BODY_NONE);
  FUZZ_CHECK(r->body.kind != HTTP1_BODY_CLOSE || !r->keep_alive);
  FUZZ_CHECK(r->body.kind != HTTP1_BODY_LENGTH || r->body.remaining > 0);
}

static void check_splits(const uint8_t *data, size_t len, int is_head,
                         const struct http1_response *whole, const char *wbuf,
                         int rc)
{
  static struct http1_response r;
  size_t k = fuzz_split(data, len), i;
  char *prefix = fuzz_copy(data, k);
  int rc1, rc2 = HTTP1_AGAIN;

  memset(&r, 0, sizeof(r));
  rc1 = http1_parse_response(prefix, k, is_head, &r);
  if (rc1 == HTTP1_AGAIN) {
    rc1 = http1_parse_response(wbuf, len, is_head, &r);
    FUZZ_CHECK(rc1 == rc);
    FUZZ_CHECK(rc != HTTP1_OK || http1_same_response(whole, wbuf, &r, wbuf));
  } else {
    FUZZ_CHECK(rc1 == rc);
    FUZZ_CHECK(rc != HTTP1_OK || http1_same_response(whole, wbuf, &r, prefix));
  }
  free(prefix);
  if (len > BYTEWISE_MAX) {
    return;
  }
  memset(&r, 0, sizeof(r));
  for (i = 1; i <= len && rc2 == HTTP1_AGAIN; i++) {
    rc2 = http1_parse_response(wbuf, i, is_head, &r);
  }
  FUZZ_CHECK(rc2 == rc);
  FUZZ_CHECK(rc != HTTP1_OK || http1_same_response(whole, wbuf, &r, wbuf));
}

static size_t one_response(const uint8_t *data, size_t len, int is_head)
{
  static struct http1_response resp;
  char *buf = fuzz_copy(data, len);
  size_t used = 0;
  ssize_t n;
  int rc, done = 0;

  memset(&resp, 0, sizeof(resp));
  rc = http1_parse_response(buf, len, is_head, &resp);
  FUZZ_CHECK(rc == HTTP1_OK || rc == HTTP1_AGAIN || rc < 0);
  FUZZ_CHECK(rc != HTTP1_AGAIN || len <= HTTP1_MAX_HEAD);
  FUZZ_CHECK(rc >= 0 || http1_error_status(rc) >= 400);
  check_splits(data, len, is_head, &resp, buf, rc);
  if (rc == HTTP1_OK) {
    check_response(&resp, buf, len, is_head);
    n = http1_body_feed(&resp.body, buf + resp.head_len, len - resp.head_len,
                        &done);
    FUZZ_CHECK(n < 0 || (size_t)n <= len - resp.head_len);
    FUZZ_CHECK(resp.body.kind != HTTP1_BODY_CLOSE ||
               (size_t)n == len - resp.head_len);
    if (n >= 0 && done) {
      used = resp.head_len + (size_t)n;
    }
  }
  free(buf);
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t pos = 1, used;
  int i, is_head;

  if (size == 0) {
    return 0;
  }
  is_head = data[0] & 1;
  for (i = 0; i < MAX_MESSAGES && pos < size; i++) {
    used = one_response(data + pos, size - pos, is_head);
    if (used == 0) {
      break;
    }
    pos += used;
  }
  return 0;
}
