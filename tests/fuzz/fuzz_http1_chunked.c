/*
 * fuzz_http1_chunked.c - libFuzzer target for the chunked body decoder.
 *
 * The input is what follows a chunked head. It is fed whole, in two pieces
 * split at a point drawn from the input, and (when short) one byte per
 * call; all three must agree on the error, on the bytes that belong to
 * the body and on whether it ended. A body never takes more than it is
 * given, an ended body is at least "0\r\n\r\n", an error sticks.
 */
#include "http1.h"
#include "fuzz_util.h"

#define BYTEWISE_MAX     4096
#define MIN_CHUNKED_BODY 5 /* "0\r\n\r\n" */

struct outcome {
  ssize_t err; /* 0 or the error */
  size_t used;
  int done;
};

static void start(struct http1_body *b)
{
  memset(b, 0, sizeof(*b));
  b->kind = HTTP1_BODY_CHUNKED;
}

/* Feeds buf[0..len) as pieces of at most `step` bytes (0: one call). */
static struct outcome run(const char *buf, size_t len, size_t first,
                          size_t step)
{
  struct outcome o = { 0, 0, 0 };
  struct http1_body b;
  size_t pos = 0, piece;
  ssize_t n;

  start(&b);
  while (pos < len && !o.done) {
    piece = pos == 0 && first > 0 ? first : step > 0 ? step : len - pos;
    piece = piece < len - pos ? piece : len - pos;
    n = http1_body_feed(&b, buf + pos, piece, &o.done);
    if (n < 0) {
      o.err = n;
      FUZZ_CHECK(http1_body_feed(&b, buf, len, NULL) == n);
      return o;
    }
    FUZZ_CHECK((size_t)n <= piece);
    FUZZ_CHECK(o.done || (size_t)n == piece);
    pos += (size_t)n;
  }
  o.used = pos;
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *buf = fuzz_copy(data, size);
  size_t k = fuzz_split(data, size);
  struct outcome whole = run(buf, size, 0, 0), two, bytes;

  FUZZ_CHECK(whole.err <= 0);
  FUZZ_CHECK(whole.err == 0 || http1_error_status((int)whole.err) >= 400);
  FUZZ_CHECK(!whole.done || whole.used >= MIN_CHUNKED_BODY);
  two = run(buf, size, k, 0);
  FUZZ_CHECK(two.err == whole.err);
  FUZZ_CHECK(two.err != 0 ||
             (two.used == whole.used && two.done == whole.done));
  if (size <= BYTEWISE_MAX) {
    bytes = run(buf, size, 0, 1);
    FUZZ_CHECK(bytes.err == whole.err);
    FUZZ_CHECK(bytes.err != 0 ||
               (bytes.used == whole.used && bytes.done == whole.done));
  }
  free(buf);
  return 0;
}
