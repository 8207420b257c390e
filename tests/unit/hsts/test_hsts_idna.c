/*
 * test_hsts_idna.c - names people type with U-labels (IDNA 2008, UTS #46
 * non-transitional), and their Unicode form for display.
 *
 * Rows give a typed name, the expected error, and on success the
 * normalized A-label name and whether a conversion happened.
 */
#include <string.h>

#include "testlib.h"

#include "hsts_idna.h"

struct row {
  const char *in;
  int err;
  const char *out;
  int converted;
};

static const struct row rows[] = {
  /* ASCII names are normalized as they are, A-labels included. */
  { "Example.COM.", HSTS_OK, "example.com", 0 },
  { "xn--bcher-kva.de", HSTS_OK, "xn--bcher-kva.de", 0 },
  { "10.0.0.1", HSTS_OK, "10.0.0.1", 0 },
  { "exa mple.com", HSTS_EHOST_CHAR, "", 0 },
  /* U-labels: mapped (case, NFC), then A-labels. */
  { "b\xc3\xbc"
    "cher.de",
    HSTS_OK, "xn--bcher-kva.de", 1 },
  { "B\xc3\x9c"
    "CHER.de.",
    HSTS_OK, "xn--bcher-kva.de", 1 },
  { "bu\xcc\x88"
    "cher.de",
    HSTS_OK, "xn--bcher-kva.de", 1 }, /* NFD */
  { "www.b\xc3\xbc"
    "cher.de",
    HSTS_OK, "www.xn--bcher-kva.de", 1 },
  /* Non-transitional, as browsers: sharp s kept, not "ss". */
  { "stra\xc3\x9f"
    "e.de",
    HSTS_OK, "xn--strae-oqa.de", 1 },
  { "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", HSTS_OK,
    "xn--r8jz45g.xn--zckzah", 1 },
  /* Not names: a snowman is not allowed, nor invalid UTF-8. */
  { "a\xe2\x98\x83"
    "b.de",
    HSTS_EHOST_IDNA, "", 0 },
  { "b\xfc"
    "cher.de",
    HSTS_EHOST_IDNA, "", 0 },
  { "b\xc3\xbc"
    "cher..de",
    HSTS_ELABEL_EMPTY, "", 0 }, /* then checked */
  { NULL, 0, NULL, 0 }          /* sentinel */
};

static void test_rows(void)
{
  char out[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  int i, converted, err;

  for (i = 0; rows[i].in != NULL; i++) {
    err = hsts_host_normalize_idna(rows[i].in, strlen(rows[i].in), out, &kind,
                                   &converted);
    CHECK_ROW(err == rows[i].err, i);
    if (err == HSTS_OK) {
      CHECK_ROW(strcmp(out, rows[i].out) == 0, i);
      CHECK_ROW(converted == rows[i].converted, i);
    }
  }
}

static void test_unicode(void)
{
  char u[HSTS_UNICODE_MAX];

  CHECK_INT(hsts_host_unicode("www.xn--bcher-kva.de", u, sizeof(u)), 1);
  CHECK_STR(u, "www.b\xc3\xbc"
               "cher.de");
  CHECK_INT(hsts_host_unicode("example.com", u, sizeof(u)), 0);
  CHECK_STR(u, "");
  CHECK_INT(hsts_host_unicode("xn--invalid-", u, sizeof(u)), 0);
  CHECK_INT(hsts_host_unicode("xn--bcher-kva.de", u, 4), 0); /* no room */
  CHECK_STR(hsts_strerror(HSTS_EHOST_IDNA),
            "the host name is not a valid internationalized domain name "
            "(IDNA 2008)");
}

TEST_MAIN({ "rows", test_rows }, { "unicode", test_unicode })
