/*
 * test_http1_util.h - helpers shared by the test_http1_* unit tests.
 *
 * copy_exact() gives each parse its own heap copy of exactly the bytes it
 * may read, so AddressSanitizer reports any read past `len`, and so the
 * buffer moves between incremental calls as a growing read buffer would.
 *
 * dump_vector(): when HSTSPROXY_DUMP_VECTORS names a directory, every
 * input a test feeds (up to DUMP_MAX bytes) is written there as a file;
 * scripts/fuzz.sh seeds the fuzz corpora that way, so the seeds follow
 * the unit vectors.
 */
#ifndef TEST_HTTP1_UTIL_H
#define TEST_HTTP1_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string literal and its length, NUL bytes inside included. */
#define V(s) s, sizeof(s) - 1

/* Larger vectors are not dumped: they would slow the fuzzers down. */
#define DUMP_MAX 100000

/* Inputs up to this size are copied afresh for every incremental call;
 * larger ones grow in place (the copies would be quadratic). */
#define COPY_EACH_CALL_MAX 4096

static char *copy_exact(const char *s, size_t n)
{
  char *p = malloc(n > 0 ? n : 1);

  if (p == NULL) {
    fprintf(stderr, "test: out of memory copying %zu bytes\n", n);
    exit(EXIT_FAILURE);
  }
  memcpy(p, s, n);
  return p;
}

static void dump_vector(const char *tag, const char *buf, size_t len)
{
  static unsigned count;
  const char *dir = getenv("HSTSPROXY_DUMP_VECTORS");
  char path[4096];
  FILE *f;

  if (dir == NULL || dir[0] == '\0' || len > DUMP_MAX) {
    return;
  }
  snprintf(path, sizeof(path), "%s/%s-%04u", dir, tag, count++);
  f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "test: cannot write vector %s: %s\n", path,
            strerror(errno));
    exit(EXIT_FAILURE);
  }
  if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "test: cannot write vector %s\n", path);
    exit(EXIT_FAILURE);
  }
}

/* Repeats `unit` `count` times between `pre` and `post`, for the limit
 * cases; the caller frees. */
static char *build_big(const char *pre, const char *unit, size_t count,
                       const char *post, size_t *len)
{
  size_t lp = strlen(pre), lu = strlen(unit), lpost = strlen(post), i;
  char *p = malloc(lp + lu * count + lpost + 1);

  if (p == NULL) {
    fprintf(stderr, "test: out of memory building a big vector\n");
    exit(EXIT_FAILURE);
  }
  memcpy(p, pre, lp);
  for (i = 0; i < count; i++) {
    memcpy(p + lp + i * lu, unit, lu);
  }
  memcpy(p + lp + count * lu, post, lpost + 1);
  *len = lp + lu * count + lpost;
  return p;
}

#endif /* TEST_HTTP1_UTIL_H */
