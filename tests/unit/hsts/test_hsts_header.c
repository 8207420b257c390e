/*
 * test_hsts_header.c - the Strict-Transport-Security parser, row by row.
 *
 * Each row is one header value with its expected validity, max-age (as
 * used and as sent), flags, and the exact set of problems it reports,
 * written "E:code" or "W:code" for error and warning severity. The rows
 * pin RFC 6797 section 6.1 with Chromium's choices (quoted values, case,
 * whitespace, repeated directives, capping) and hstspreload.org's codes.
 */
#include "testlib.h"

#include "hsts_header.h"

/* Shorthands for the preload-eligibility problems most rows carry. */
#define ISD_MISSING     "E:header.preloadable.include_sub_domains.missing "
#define PRELOAD_MISSING "E:header.preloadable.preload.missing "
#define MAX_AGE_MISSING "E:header.preloadable.max_age.missing "
#define NOT_PRELOADABLE ISD_MISSING PRELOAD_MISSING
#define NO_MAX_AGE      NOT_PRELOADABLE MAX_AGE_MISSING
#define BELOW_1Y        "E:header.preloadable.max_age.below_1_year "
#define BELOW_6M        "W:proxy.header.max_age.below_6_months "
#define OVER_10Y        "W:header.preloadable.max_age.over_10_years "
#define UNKNOWN         "W:header.parse.unknown_directive "
#define EMPTY_DIRECTIVE "W:header.parse.empty_directive "
#define CAP             31536000u
#define U64_MAX_TEXT    "18446744073709551615"

struct row {
  const char *value;
  size_t len; /* 0: strlen(value) */
  int valid;
  int has_max_age;
  uint32_t max_age;
  uint64_t max_age_sent;
  int include_subdomains;
  int preload;
  const char *problems; /* "E:code W:code ...", any order */
};

static const struct row rows[] = {
  /* RFC 6797 section 6.2 examples, and the preload-ready header. */
  { "max-age=31536000", 0, 1, 1, CAP, CAP, 0, 0, NOT_PRELOADABLE },
  { "max-age=15768000 ; includeSubDomains", 0, 1, 1, 15768000, 15768000, 1, 0,
    PRELOAD_MISSING BELOW_1Y },
  { "max-age=31536000; includeSubDomains; preload", 0, 1, 1, CAP, CAP, 1, 1,
    "" },
  { "max-age=\"31536000\"", 0, 1, 1, CAP, CAP, 0, 0,
    NOT_PRELOADABLE "E:proxy.header.max_age.quoted" },
  { "max-age = \"100\"", 0, 1, 1, 100, 100, 0, 0,
    NOT_PRELOADABLE BELOW_1Y BELOW_6M "E:proxy.header.max_age.quoted" },
  /* Case, order and whitespace. */
  { "MAX-AGE=100; INCLUDESUBDOMAINS; PRELOAD", 0, 1, 1, 100, 100, 1, 1,
    BELOW_1Y BELOW_6M },
  { "includeSubDomains; preload; max-age=31536000", 0, 1, 1, CAP, CAP, 1, 1,
    "" },
  { "max-age=31536000;includeSubDomains;preload", 0, 1, 1, CAP, CAP, 1, 1, "" },
  { "  max-age = 31536000 ;\tincludeSubDomains\t; preload  ", 0, 1, 1, CAP, CAP,
    1, 1, "" },
  /* max-age=0: valid, it deletes a learned policy. */
  { "max-age=0", 0, 1, 1, 0, 0, 0, 0,
    NOT_PRELOADABLE "E:header.preloadable.max_age.zero" },
  { "max-age=0; includeSubDomains", 0, 1, 1, 0, 0, 1, 0,
    PRELOAD_MISSING "E:header.preloadable.max_age.zero" },
  { "max-age=86400", 0, 1, 1, 86400, 86400, 0, 0,
    NOT_PRELOADABLE BELOW_1Y BELOW_6M },
  { "max-age=1; includeSubDomains; preload", 0, 1, 1, 1, 1, 1, 1,
    BELOW_1Y BELOW_6M },
  /* Empty values, empty directives, stray semicolons. */
  { "", 0, 0, 0, 0, 0, 0, 0, "E:header.parse.empty " NO_MAX_AGE },
  { "   ", 0, 0, 0, 0, 0, 0, 0, "E:header.parse.empty " NO_MAX_AGE },
  { ";", 0, 0, 0, 0, 0, 0, 0, EMPTY_DIRECTIVE NO_MAX_AGE },
  { "max-age=31536000;", 0, 1, 1, CAP, CAP, 0, 0,
    EMPTY_DIRECTIVE NOT_PRELOADABLE },
  { ";max-age=31536000;;includeSubDomains; ;preload;", 0, 1, 1, CAP, CAP, 1, 1,
    EMPTY_DIRECTIVE },
  { "includeSubDomains; preload", 0, 0, 0, 0, 0, 1, 1, MAX_AGE_MISSING },
  /* max-age syntax: digits only. */
  { "max-age", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.invalid.max_age.no_value " NO_MAX_AGE },
  { "max-age=", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.invalid.max_age.no_value " NO_MAX_AGE },
  { "max-age=\"\"", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.invalid.max_age.no_value " NO_MAX_AGE },
  { "max-age=-1", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=+1", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=1.5", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=10abc", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=1 0", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=0x10", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=\" 10\"", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  /* curl accepts a missing ';' and a comma; RFC 6797 does not. */
  { "max-age=31536000 includeSubDomains", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age=31536000, includeSubDomains", 0, 0, 0, 0, 0, 0, 0,
    "E:header.parse.max_age.non_digit_characters " NO_MAX_AGE },
  { "max-age:31536000", 0, 0, 0, 0, 0, 0, 0,
    "E:proxy.header.directive.invalid_name " NO_MAX_AGE },
  /* Capping at one year; saturation past 64 bits. */
  { "max-age=31536001", 0, 1, 1, CAP, 31536001, 0, 0, NOT_PRELOADABLE },
  { "max-age=4294967296", 0, 1, 1, CAP, 4294967296u, 0, 0,
    NOT_PRELOADABLE OVER_10Y },
  { "max-age=315360001; includeSubDomains; preload", 0, 1, 1, CAP, 315360001, 1,
    1, OVER_10Y },
  { "max-age=" U64_MAX_TEXT, 0, 1, 1, CAP, UINT64_MAX, 0, 0,
    NOT_PRELOADABLE OVER_10Y },
  { "max-age=18446744073709551616", 0, 1, 1, CAP, UINT64_MAX, 0, 0,
    NOT_PRELOADABLE "E:header.parse.max_age.parse_int_error" },
  { "max-age=99999999999999999999999999999; includeSubDomains; preload", 0, 1,
    1, CAP, UINT64_MAX, 1, 1, "E:header.parse.max_age.parse_int_error" },
  { "max-age=0031536000", 0, 1, 1, CAP, CAP, 0, 0,
    NOT_PRELOADABLE "W:header.parse.max_age.leading_zero" },
  /* Any repeated directive invalidates, names compared in any case. */
  { "max-age=10; max-age=20", 0, 0, 1, 10, 10, 0, 0,
    "E:header.parse.repeated.max_age " NOT_PRELOADABLE BELOW_1Y BELOW_6M },
  { "max-age=31536000; includeSubDomains; preload; MAX-Age=31536000", 0, 0, 1,
    CAP, CAP, 1, 1, "E:header.parse.repeated.max_age" },
  { "max-age=31536000; includeSubDomains; IncludeSubdomains", 0, 0, 1, CAP, CAP,
    1, 0, "E:header.parse.repeated.include_sub_domains " PRELOAD_MISSING },
  { "max-age=31536000; preload; PRELOAD", 0, 0, 1, CAP, CAP, 0, 1,
    "E:header.parse.repeated.preload " ISD_MISSING },
  { "max-age=31536000; foo; FOO=1", 0, 0, 1, CAP, CAP, 0, 0,
    UNKNOWN "E:proxy.header.repeated.unknown_directive " NOT_PRELOADABLE },
  /* includeSubDomains takes no value, not even an empty one. */
  { "max-age=31536000; includeSubDomains=true", 0, 0, 1, CAP, CAP, 0, 0,
    "E:header.parse.invalid.include_sub_domains " NOT_PRELOADABLE },
  { "max-age=31536000; includeSubDomains=\"\"", 0, 0, 1, CAP, CAP, 0, 0,
    "E:header.parse.invalid.include_sub_domains " NOT_PRELOADABLE },
  { "max-age=31536000; includeSubDomains=", 0, 0, 1, CAP, CAP, 0, 0,
    "E:header.parse.invalid.include_sub_domains " NOT_PRELOADABLE },
  /* preload is an unknown directive to RFC 6797: a value is tolerated but
   * then it is not the preload token. */
  { "max-age=31536000; includeSubDomains; preload=yes", 0, 1, 1, CAP, CAP, 1, 0,
    "W:header.parse.invalid.preload " PRELOAD_MISSING },
  /* A longer name is an unknown directive (RFC 6797: ignored, the header
   * stays valid), with hstspreload.org's code for the directive it
   * starts with. */
  { "max-age=31536000; includeSubDomains; preloaded", 0, 1, 1, CAP, CAP, 1, 0,
    "W:header.parse.invalid.preload " PRELOAD_MISSING },
  { "max-age=31536000; PreloadX=1", 0, 1, 1, CAP, CAP, 0, 0,
    "W:header.parse.invalid.preload " NOT_PRELOADABLE },
  { "max-age=31536000; includeSubDomainsX; preload", 0, 1, 1, CAP, CAP, 0, 1,
    "W:header.parse.invalid.include_sub_domains " ISD_MISSING },
  { "max-age=31536000; includesubdomains2; includeSubDomains; preload", 0, 1, 1,
    CAP, CAP, 1, 1, "W:header.parse.invalid.include_sub_domains" },
  { "max-age=31536000; preloadedx; preloadedx", 0, 0, 1, CAP, CAP, 0, 0,
    "W:header.parse.invalid.preload "
    "E:proxy.header.repeated.unknown_directive " NOT_PRELOADABLE },
  /* Well-formed unknown directives are ignored. */
  { "max-age=31536000; foo=bar", 0, 1, 1, CAP, CAP, 0, 0,
    UNKNOWN NOT_PRELOADABLE },
  { "foo; max-age=31536000", 0, 1, 1, CAP, CAP, 0, 0, UNKNOWN NOT_PRELOADABLE },
  { "max-age=31536000; foo=\"b a;r=\"; includeSubDomains; preload", 0, 1, 1,
    CAP, CAP, 1, 1, UNKNOWN },
  { "max-age=31536000; foo=\"a\\\"b\"", 0, 1, 1, CAP, CAP, 0, 0,
    UNKNOWN NOT_PRELOADABLE },
  { "max-age=31536000; foo=\"\xc3\xa9\"", 0, 1, 1, CAP, CAP, 0, 0,
    UNKNOWN NOT_PRELOADABLE },
  /* Malformed unknown directives invalidate the header. */
  { "max-age=31536000; non@token", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_name " NOT_PRELOADABLE },
  { "max-age=31536000; =2", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_name " NOT_PRELOADABLE },
  { "max-age=31536000; \"foo\"", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_name " NOT_PRELOADABLE },
  { "max-age=31536000; foo=\"unterminated", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.quoted_string.unterminated " NOT_PRELOADABLE },
  { "max-age=\"31536000; includeSubDomains", 0, 0, 0, 0, 0, 0, 0,
    "E:proxy.header.quoted_string.unterminated " NO_MAX_AGE },
  { "max-age=31536000; foo=\"a\"b; preload", 0, 0, 1, CAP, CAP, 0, 1,
    "E:proxy.header.quoted_string.trailing_characters " ISD_MISSING },
  { "max-age=31536000; foo=a b", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_value " NOT_PRELOADABLE },
  { "max-age=31536000; foo=", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_value " NOT_PRELOADABLE },
  { "max-age=31536000; foo=b@r", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.directive.invalid_value " NOT_PRELOADABLE },
  /* Control and non-ASCII bytes. */
  { "max-age=31536000\x01", 0, 0, 0, 0, 0, 0, 0,
    "E:proxy.header.malformed_bytes " NO_MAX_AGE },
  { "max-age=31536000; foo=\xc3\xa9", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.malformed_bytes " NOT_PRELOADABLE },
  { "max-age=31536000\0; preload", 26, 0, 0, 0, 0, 0, 1,
    "E:proxy.header.malformed_bytes " ISD_MISSING MAX_AGE_MISSING },
  { "max-age=31536000; foo=\"a\rb\"", 0, 0, 1, CAP, CAP, 0, 0,
    "E:proxy.header.malformed_bytes " NOT_PRELOADABLE },
  /* `len` bounds the value: what follows is not read. */
  { "max-age=31536000; includeSubDomains; preload", 16, 1, 1, CAP, CAP, 0, 0,
    NOT_PRELOADABLE },
  { NULL, 0, 0, 0, 0, 0, 0, 0, NULL }
};

/* Fails the check with the row's value for context. */
static void row_fail(int row, const char *value, const char *what)
{
  fprintf(stderr, "  row %d [%s]: %s\n", row, value, what);
  testlib_failures++;
}

static const struct hsts_problem *find_problem(const struct hsts_header *h,
                                               const char *code, size_t n)
{
  size_t i;

  for (i = 0; i < h->nproblems; i++) {
    if (strlen(h->problems[i].code) == n &&
        strncmp(h->problems[i].code, code, n) == 0) {
      return &h->problems[i];
    }
  }
  return NULL;
}

/* Compares h->problems with "E:code W:code ..." as sets. */
static void check_problems(int row, const char *value,
                           const struct hsts_header *h, const char *want)
{
  const char *p = want;
  size_t expected = 0;
  char msg[256];

  while (*p != '\0') {
    const char *end = strchr(p, ' ');
    size_t n = end == NULL ? strlen(p) : (size_t)(end - p);
    const struct hsts_problem *got;
    enum hsts_severity sev =
        p[0] == 'E' ? HSTS_SEVERITY_ERROR : HSTS_SEVERITY_WARNING;

    if (n > 2) {
      expected++;
      got = find_problem(h, p + 2, n - 2);
      if (got == NULL) {
        snprintf(msg, sizeof(msg), "missing problem %.*s", (int)n, p);
        row_fail(row, value, msg);
      } else if (got->severity != sev) {
        snprintf(msg, sizeof(msg), "wrong severity for %.*s", (int)n, p);
        row_fail(row, value, msg);
      }
    }
    p += n;
    while (*p == ' ') {
      p++;
    }
  }
  if (h->nproblems != expected) {
    size_t i;

    snprintf(msg, sizeof(msg), "%zu problems, expected %zu:", h->nproblems,
             expected);
    row_fail(row, value, msg);
    for (i = 0; i < h->nproblems; i++) {
      fprintf(stderr, "    got %s\n", h->problems[i].code);
    }
  }
}

static void test_rows(void)
{
  int i;

  for (i = 0; rows[i].value != NULL; i++) {
    const struct row *r = &rows[i];
    size_t len = r->len != 0 ? r->len : strlen(r->value);
    struct hsts_header h;
    int rc = hsts_header_parse(r->value, len, &h);

    CHECK_ROW(h.valid == r->valid, i);
    CHECK_ROW(rc == (r->valid ? HSTS_OK : HSTS_EHEADER_INVALID), i);
    CHECK_ROW(h.has_max_age == r->has_max_age, i);
    CHECK_ROW(h.max_age == r->max_age, i);
    CHECK_ROW(h.max_age_sent == r->max_age_sent, i);
    CHECK_ROW(h.include_subdomains == r->include_subdomains, i);
    CHECK_ROW(h.preload == r->preload, i);
    check_problems(i, r->value, &h, r->problems);
    /* An invalid header always says why with an error. */
    CHECK_ROW(h.valid || hsts_header_has_errors(&h), i);
  }
  CHECK(i >= 45);
}

/* Every message is one sentence: capital first, full stop last. */
static void test_messages(void)
{
  static const char *const values[] = {
    "",
    ";",
    "max-age",
    "max-age=x",
    "max-age=01",
    "max-age=1; max-age=1",
    "max-age=99999999999999999999",
    "max-age=\"1\"",
    "max-age=0",
    "max-age=400000000; preload=1; foo; includeSubDomains=1; a=\"",
    "max-age=1; includeSubDomains; includeSubDomains; preload; preload",
    "max-age=1; a; a; b=\"x\"y",
    "max-age=1; \x01; b=c d; @",
    NULL
  };
  int i;
  size_t j, seen = 0;

  for (i = 0; values[i] != NULL; i++) {
    struct hsts_header h;

    hsts_header_parse(values[i], strlen(values[i]), &h);
    for (j = 0; j < h.nproblems; j++) {
      const char *m = h.problems[j].message;
      size_t n = strlen(m);

      CHECK_ROW(n > 10 && n < 200, i);
      CHECK_ROW(m[0] >= 'A' && m[0] <= 'Z', i);
      CHECK_ROW(m[n - 1] == '.', i);
      CHECK_ROW(strncmp(h.problems[j].code, "header.", 7) == 0 ||
                    strncmp(h.problems[j].code, "proxy.", 6) == 0,
                i);
      seen++;
    }
  }
  CHECK(seen >= 25);
}

/* More directives than HSTS_HEADER_DIRECTIVES_MAX: refused, not scanned
 * quadratically. */
static void test_too_many_directives(void)
{
  char value[1024];
  size_t len = 0;
  struct hsts_header h;
  int i;

  len += (size_t)snprintf(value, sizeof(value), "max-age=31536000");
  for (i = 1; i < HSTS_HEADER_DIRECTIVES_MAX; i++) {
    len += (size_t)snprintf(value + len, sizeof(value) - len, "; d%d", i);
  }
  CHECK_INT(hsts_header_parse(value, len, &h), HSTS_OK);
  CHECK(find_problem(&h, "proxy.header.too_many_directives", 32) == NULL);
  len += (size_t)snprintf(value + len, sizeof(value) - len, "; extra");
  CHECK_INT(hsts_header_parse(value, len, &h), HSTS_EHEADER_INVALID);
  CHECK(find_problem(&h, "proxy.header.too_many_directives", 32) != NULL);
  CHECK_INT(h.valid, 0);
}

/* Duplicate codes are listed once; the list never overflows. */
static void test_dedup(void)
{
  struct hsts_header h;
  const char *v = "a; b; c; d; e; max-age=5; ;;; f=1; g=\"2\"";
  size_t i, unknown = 0;

  CHECK_INT(hsts_header_parse(v, strlen(v), &h), HSTS_OK);
  for (i = 0; i < h.nproblems; i++) {
    if (strcmp(h.problems[i].code, "header.parse.unknown_directive") == 0) {
      unknown++;
    }
  }
  CHECK_INT(unknown, 1);
  CHECK(h.nproblems <= HSTS_PROBLEMS_MAX);
  CHECK_INT(h.max_age, 5);
}

/* The max-age as sent, in decimal: beyond 64 bits too, and bounded. */
static void test_max_age_text(void)
{
  static const struct {
    const char *value;
    const char *text;
  } texts[] = {
    { "max-age=99999999999999999999999", "99999999999999999999999" },
    { "max-age=\"0031536000\"", "31536000" },
    { "max-age=000", "0" },
    { "max-age=1"
      "0000000000"
      "0000000000"
      "0000000000"
      "0000000000"
      "0000000000",
      "1"
      "0000000000"
      "0000000000"
      "0000000000"
      "0000000000"
      "000..." },
    { "max-age=x", "" },
    { NULL, NULL } /* sentinel */
  };
  struct hsts_header h;
  int i;

  for (i = 0; texts[i].value != NULL; i++) {
    hsts_header_parse(texts[i].value, strlen(texts[i].value), &h);
    CHECK_STR(h.max_age_text, texts[i].text);
  }
}

TEST_MAIN({ "rows", test_rows }, { "messages", test_messages },
          { "too_many_directives", test_too_many_directives },
          { "dedup", test_dedup }, { "max_age_text", test_max_age_text })
