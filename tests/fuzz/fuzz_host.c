/*
 * fuzz_host.c - libFuzzer target for hsts_host_normalize().
 *
 * The input is a host as it may appear in a Host header or a URL.
 * Invariants from hsts_host.h: on success the output is NUL-terminated,
 * at most HSTS_HOST_MAX bytes, lowercase, without a trailing dot or
 * brackets, and normalizing it again gives the same name and kind (the
 * normal form is a fixed point); on failure the error is a known code.
 */
#include "hsts_host.h"
#include "fuzz_util.h"

#define POISON 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char out[HSTS_HOST_MAX + 1], again[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind, kind2;
  char *buf = fuzz_copy(data, size);
  size_t i, n;
  int rc;

  memset(out, POISON, sizeof(out));
  rc = hsts_host_normalize(buf, size, out, &kind);
  free(buf);
  FUZZ_CHECK(rc >= HSTS_OK && rc <= HSTS_ENOTFOUND);
  FUZZ_CHECK(hsts_strerror(rc) != NULL);
  if (rc != HSTS_OK) {
    return 0;
  }
  FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
  n = strlen(out);
  FUZZ_CHECK(n <= HSTS_HOST_MAX);
  FUZZ_CHECK(kind == HSTS_HOST_NAME || kind == HSTS_HOST_IPV4 ||
             kind == HSTS_HOST_IPV6);
  for (i = 0; i < n; i++) {
    FUZZ_CHECK(!(out[i] >= 'A' && out[i] <= 'Z'));
    FUZZ_CHECK(out[i] != '[' && out[i] != ']');
  }
  FUZZ_CHECK(n == 0 || out[n - 1] != '.');
  (void)hsts_host_is_localhost(out);
  rc = hsts_host_normalize(out, n, again, &kind2);
  FUZZ_CHECK(rc == HSTS_OK);
  FUZZ_CHECK(strcmp(out, again) == 0 && kind == kind2);
  return 0;
}
