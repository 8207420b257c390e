/*
 * test_hsts_utf8.c - the UTF-8 sequence validator (RFC 3629).
 *
 * Rows give bytes, how many may be read (0: sizeof - 1) and the expected
 * length of the sequence at the start, 0 for invalid. They cover each
 * length at its lowest and highest code point, the overlong forms, the
 * surrogates, the end of Unicode, stray continuation bytes and sequences
 * cut short. A last test walks every 2-byte lead with every second byte.
 */
#include "testlib.h"

#include "hsts_utf8.h"

struct row {
  const char *in;
  size_t avail;
  size_t want;
};

static const struct row rows[] = {
  /* ASCII, NUL included. */
  { "a", 0, 1 },
  { "\x7f", 0, 1 },
  { "\0", 1, 1 },
  /* Two bytes: U+0080 to U+07FF; 0xc0 and 0xc1 only start overlong forms. */
  { "\xc2\x80", 0, 2 },
  { "\xc3\xbc", 0, 2 },
  { "\xdf\xbf", 0, 2 },
  { "\xc0\x80", 0, 0 },
  { "\xc1\xbf", 0, 0 },
  /* Three bytes: U+0800 to U+FFFF without the surrogates. */
  { "\xe0\xa0\x80", 0, 3 },
  { "\xe2\x82\xac", 0, 3 },
  { "\xef\xbf\xbd", 0, 3 },
  { "\xef\xbf\xbf", 0, 3 },
  { "\xe0\x80\x80", 0, 0 }, /* overlong U+0000 */
  { "\xe0\x9f\xbf", 0, 0 }, /* overlong U+07FF */
  { "\xed\x9f\xbf", 0, 3 }, /* U+D7FF */
  { "\xed\xa0\x80", 0, 0 }, /* U+D800 */
  { "\xed\xbf\xbf", 0, 0 }, /* U+DFFF */
  { "\xee\x80\x80", 0, 3 }, /* U+E000 */
  /* Four bytes: U+10000 to U+10FFFF. */
  { "\xf0\x90\x80\x80", 0, 4 },
  { "\xf0\x9f\x98\x80", 0, 4 },
  { "\xf4\x8f\xbf\xbf", 0, 4 },
  { "\xf0\x8f\xbf\xbf", 0, 0 }, /* overlong U+FFFF */
  { "\xf4\x90\x80\x80", 0, 0 }, /* U+110000 */
  { "\xf5\x80\x80\x80", 0, 0 },
  { "\xff", 0, 0 },
  /* Continuation bytes where a lead is expected, and bad continuations. */
  { "\x80", 0, 0 },
  { "\xbf", 0, 0 },
  { "\xc3"
    "a",
    0, 0 },
  { "\xe2\x82"
    "a",
    0, 0 },
  { "\xf0\x9f\x98\xc0", 0, 0 },
  /* Cut short by avail, though the bytes after would complete it. */
  { "\xc3\xbc", 1, 0 },
  { "\xe2\x82\xac", 2, 0 },
  { "\xf0\x9f\x98\x80", 3, 0 },
  /* Only the first sequence counts. */
  { "\xc3\xbc\xff", 0, 2 },
  { "ab", 0, 1 },
  { NULL, 0, 0 }
};

static void test_rows(void)
{
  const struct row *r;

  for (r = rows; r->in != NULL; r++) {
    size_t avail = r->avail != 0 ? r->avail : strlen(r->in);
    size_t got = hsts_utf8_len((const unsigned char *)r->in, avail);

    if (!CHECK_ROW(got == r->want, r - rows))
      fprintf(stderr, "  got %zu, want %zu\n", got, r->want);
  }
}

static void test_empty(void)
{
  CHECK_INT(hsts_utf8_len(NULL, 0), 0);
  CHECK_INT(hsts_utf8_len((const unsigned char *)"a", 0), 0);
}

/* Every 2-byte pair: valid exactly for leads 0xc2-0xdf with a
 * continuation byte 0x80-0xbf. */
static void test_two_byte_grid(void)
{
  unsigned char b[2];
  unsigned lead, next;
  size_t want;

  for (lead = 0x80; lead <= 0xdf; lead++)
    for (next = 0; next <= 0xff; next++) {
      b[0] = (unsigned char)lead;
      b[1] = (unsigned char)next;
      want = lead >= 0xc2 && next >= 0x80 && next <= 0xbf ? 2 : 0;
      if (hsts_utf8_len(b, 2) != want) {
        fprintf(stderr, "  %02x %02x\n", lead, next);
        CHECK(hsts_utf8_len(b, 2) == want);
      }
    }
}

TEST_MAIN({ "rows", test_rows }, { "empty", test_empty },
          { "two_byte_grid", test_two_byte_grid })
