/*
 * test_proxy_base64.c - the one base64 decoder (proxy_base64.c): strict
 * RFC 4648 section 4 text, with or without line breaks allowed.
 *
 * Rows pin the decoded bytes of well-formed text and the refusal of
 * everything else: no padding where it is due, data after padding, too
 * much padding, characters outside the alphabet (base64url, blanks), line
 * breaks where the caller does not allow them, and a result that does not
 * fit the caller's buffer. The check-only form (out NULL) agrees.
 */
#include "testlib.h"

#include <string.h>

#include "proxy_net.h"

#define OUT_MAX 16

struct row {
  const char *in;
  int lines;       /* CR and LF skipped */
  size_t cap;      /* bytes of the output buffer */
  const char *out; /* decoded, or NULL: refused */
};

static const struct row rows[] = {
  { "QUJD", 0, OUT_MAX, "ABC" },
  { "QUJDRA==", 0, OUT_MAX, "ABCD" },
  { "QUJDREU=", 0, OUT_MAX, "ABCDE" },
  { "dXNlcjpwdw==", 0, OUT_MAX, "user:pw" },
  { "QUJD\r\nREVG", 1, OUT_MAX, "ABCDEF" },
  { "QUJD\nREVG\n", 1, OUT_MAX, "ABCDEF" },
  { "QUJD\nREVG", 0, OUT_MAX, NULL }, /* line breaks not allowed */
  { "", 0, OUT_MAX, NULL },
  { "\n", 1, OUT_MAX, NULL },
  { "QUJ", 0, OUT_MAX, NULL },       /* not whole quanta */
  { "QUJDRA", 0, OUT_MAX, NULL },    /* padding missing */
  { "QU=D", 0, OUT_MAX, NULL },      /* data after padding */
  { "QQ==QQ==", 0, OUT_MAX, NULL },  /* data after padding */
  { "Q===", 0, OUT_MAX, NULL },      /* three pad characters */
  { "QU-D", 0, OUT_MAX, NULL },      /* base64url */
  { "QUJD REVG", 1, OUT_MAX, NULL }, /* a blank inside */
  { "QUJDREVG", 0, 5, NULL },        /* 6 bytes do not fit in 5 */
  { "QUJDREVG", 0, 6, "ABCDEF" },
  { NULL, 0, 0, NULL } /* sentinel */
};

static void test_rows(void)
{
  const struct row *r;

  for (r = rows; r->in != NULL; r++) {
    int row = (int)(r - rows);
    char out[OUT_MAX];
    ssize_t n =
        proxy__base64_decode(r->in, strlen(r->in), r->lines, out, r->cap);

    if (r->out == NULL) {
      CHECK_ROW(n == -1, row);
      continue;
    }
    CHECK_ROW(n == (ssize_t)strlen(r->out) && memcmp(out, r->out, n) == 0, row);
    CHECK_ROW(proxy__base64_decode(r->in, strlen(r->in), r->lines, NULL, 0) ==
                  n,
              row);
  }
}

TEST_MAIN({ "rows", test_rows })
