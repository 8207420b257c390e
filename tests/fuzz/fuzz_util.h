/*
 * fuzz_util.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * FUZZ_CHECK() aborts with the failed invariant, so libFuzzer records the
 * input as a crash. fuzz_split() draws a split point from the input
 * itself (libFuzzer mutates it, so every split gets tried). fuzz_copy()
 * makes an exact-size heap copy, so ASan sees a read past a prefix.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FNV_OFFSET 2166136261u
#define FUZZ_FNV_PRIME  16777619u

static inline void fuzz_check(int ok, const char *what, const char *file,
                              int line)
{
  if (!ok) {
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    abort();
  }
}

#define FUZZ_CHECK(cond) fuzz_check((cond) != 0, #cond, __FILE__, __LINE__)

/* A point in [0, len], from an FNV-1a hash of the input. */
static inline size_t fuzz_split(const uint8_t *data, size_t len)
{
  uint32_t h = FUZZ_FNV_OFFSET;
  size_t i;

  for (i = 0; i < len; i++) {
    h = (h ^ data[i]) * FUZZ_FNV_PRIME;
  }
  return len == 0 ? 0 : h % (len + 1);
}

static inline char *fuzz_copy(const uint8_t *data, size_t len)
{
  char *p = malloc(len > 0 ? len : 1);

  FUZZ_CHECK(p != NULL);
  memcpy(p, data, len);
  return p;
}

/* 1 when [p, p + n) lies within [base, base + len). */
static inline int fuzz_inside(const char *p, size_t n, const char *base,
                              size_t len)
{
  return p != NULL && p >= base && (size_t)(p - base) <= len &&
         n <= len - (size_t)(p - base);
}

#endif /* FUZZ_UTIL_H */
