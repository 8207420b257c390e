/*
 * fuzz_tls_hello.c - libFuzzer target for proxy_hello_sni(), the
 * ClientHello reader of --intercept-tls.
 *
 * The input is what a redirected client sent first. Invariants from
 * proxy_hello.h: the status is a known one; a name is NUL-terminated,
 * non-empty and shorter than PROXY_HELLO_NAME_MAX; and the answer never
 * changes as more bytes come: a prefix (split where the input says) that
 * got a final answer gets the same answer as the whole input, since the
 * reader decides only on the bytes it has seen and ignores what follows
 * a complete hello.
 */
#include "proxy_hello.h"
#include "fuzz_util.h"

#define POISON 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char name[PROXY_HELLO_NAME_MAX], first[PROXY_HELLO_NAME_MAX];
  unsigned char *buf = (unsigned char *)fuzz_copy(data, size);
  size_t cut = fuzz_split(data, size);
  enum proxy_hello_status st, pre;

  memset(name, POISON, sizeof(name));
  st = proxy_hello_sni(buf, size, name);
  FUZZ_CHECK(st >= PROXY_HELLO_MORE && st <= PROXY_HELLO_TOO_BIG);
  FUZZ_CHECK(proxy_hello_strstatus(st) != NULL);
  if (st == PROXY_HELLO_SNI) {
    FUZZ_CHECK(memchr(name, '\0', sizeof(name)) != NULL);
    FUZZ_CHECK(strlen(name) > 0);
  }
  memset(first, POISON, sizeof(first));
  pre = proxy_hello_sni(buf, cut, first);
  if (pre != PROXY_HELLO_MORE) {
    FUZZ_CHECK(pre == st);
    FUZZ_CHECK(pre != PROXY_HELLO_SNI || strcmp(first, name) == 0);
  }
  free(buf);
  return 0;
}
