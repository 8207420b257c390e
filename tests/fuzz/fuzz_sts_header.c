/*
 * fuzz_sts_header.c - libFuzzer target for hsts_header_parse().
 *
 * The input is one Strict-Transport-Security field value. Invariants from
 * hsts_header.h: the return value says whether the header is valid; an
 * invalid header carries at least one error; problem counts stay within
 * HSTS_PROBLEMS_MAX with static code and message strings; the effective
 * max-age never exceeds the cap nor what was sent; parsing is a pure
 * function of the bytes (a second parse gives the same answer).
 */
#include "hsts_header.h"
#include "fuzz_util.h"

static void check_header(const struct hsts_header *h, int rc)
{
  size_t i;

  FUZZ_CHECK(rc == HSTS_OK || rc == HSTS_EHEADER_INVALID);
  FUZZ_CHECK((rc == HSTS_OK) == (h->valid != 0));
  FUZZ_CHECK(h->valid || hsts_header_has_errors(h));
  FUZZ_CHECK(!h->valid || h->has_max_age);
  FUZZ_CHECK(h->nproblems <= HSTS_PROBLEMS_MAX);
  for (i = 0; i < h->nproblems; i++) {
    FUZZ_CHECK(h->problems[i].code != NULL && h->problems[i].code[0] != '\0');
    FUZZ_CHECK(h->problems[i].message != NULL);
    FUZZ_CHECK(h->problems[i].severity == HSTS_SEVERITY_WARNING ||
               h->problems[i].severity == HSTS_SEVERITY_ERROR);
  }
  FUZZ_CHECK(!h->has_max_age || h->max_age <= HSTS_MAX_AGE_CAP);
  FUZZ_CHECK(!h->has_max_age || h->max_age <= h->max_age_sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct hsts_header h1, h2;
  char *buf = fuzz_copy(data, size);
  int rc1, rc2;

  memset(&h1, 0xa5, sizeof(h1));
  rc1 = hsts_header_parse(buf, size, &h1);
  check_header(&h1, rc1);
  memset(&h2, 0, sizeof(h2));
  rc2 = hsts_header_parse(buf, size, &h2);
  FUZZ_CHECK(rc1 == rc2);
  FUZZ_CHECK(h1.valid == h2.valid && h1.max_age == h2.max_age &&
             h1.max_age_sent == h2.max_age_sent &&
             h1.include_subdomains == h2.include_subdomains &&
             h1.preload == h2.preload && h1.nproblems == h2.nproblems);
  free(buf);
  return 0;
}
