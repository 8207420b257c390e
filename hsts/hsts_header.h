/*
 * hsts_header.h - the Strict-Transport-Security header parser.
 *
 * RFC 6797 section 6.1, with Chromium's choices where the RFC leaves room
 * (net/http/http_security_headers.cc): directive names case-insensitive,
 * quoted values allowed, max-age required and digits only, max-age capped
 * at one year, any repeated directive invalidates the header, well-formed
 * unknown directives ignored, malformed ones invalidate.
 *
 * Besides validity, the parser reports problems with stable codes: the
 * dotted codes of hstspreload.org where one exists (header.parse.*,
 * header.preloadable.*), "proxy."-prefixed codes otherwise. The same
 * vocabulary is used by `check-header` and the audit. Each code appears
 * at most once per header. E = error, W = warning; * = makes it invalid.
 *   header.parse.empty E*                 header.parse.empty_directive W
 *   header.parse.unknown_directive W      header.parse.invalid.preload W
 *     (also for a longer name: "preloaded"; hstspreload.org's code)
 *   header.parse.repeated.{max_age,include_sub_domains,preload} E*
 *   header.parse.invalid.max_age.no_value E*  ("max-age", "max-age=")
 *   header.parse.max_age.non_digit_characters E*
 *   header.parse.max_age.leading_zero W
 *   header.parse.max_age.parse_int_error E (over 64 bits; capped, valid)
 *   header.parse.invalid.include_sub_domains E*  (any "=" value; W for
 *     a longer name, "includeSubDomainsX": an unknown directive)
 *   header.preloadable.{include_sub_domains,preload,max_age}.missing E
 *     (max_age.missing is also the reason a header without max-age is
 *     invalid), header.preloadable.max_age.zero E,
 *     header.preloadable.max_age.below_1_year E,
 *     header.preloadable.max_age.over_10_years W (as sent)
 *   proxy.header.malformed_bytes E* (CTL, DEL; non-ASCII outside quotes)
 *   proxy.header.directive.invalid_name E*, .invalid_value E*
 *   proxy.header.quoted_string.unterminated E*, .trailing_characters E*
 *   proxy.header.repeated.unknown_directive E*
 *   proxy.header.too_many_directives E*
 *   proxy.header.max_age.quoted E (valid, but hstspreload.org refuses it)
 *   proxy.header.max_age.below_6_months W
 */
#ifndef HSTS_HEADER_H
#define HSTS_HEADER_H

#include "hsts.h"

#define HSTS_PROBLEMS_MAX     16 /* problems kept per header; extra dropped */
#define HSTS_MAX_AGE_6_MONTHS 15768000u
/* Directives accepted per header (bounds the repeat check); a header with
 * more is invalid: proxy.header.too_many_directives. */
#define HSTS_HEADER_DIRECTIVES_MAX 32

enum hsts_severity {
  HSTS_SEVERITY_WARNING = 0, /* worth fixing; neither invalid nor blocking */
  HSTS_SEVERITY_ERROR        /* invalid header, or it blocks preloading */
};

/* One finding. `code` and `message` are static strings. */
struct hsts_problem {
  const char *code; /* e.g. "header.parse.max_age.non_digit_characters" */
  enum hsts_severity severity;
  const char *message; /* one English sentence */
};

/* max_age_text: the digits sent, leading zeros dropped; a longer number
 * keeps its first HSTS_MAX_AGE_TEXT_MAX - 4 digits followed by "...". */
#define HSTS_MAX_AGE_TEXT_MAX 48

/* The parse of one header value. Filled whether or not it is valid. */
struct hsts_header {
  int valid;              /* RFC 6797 validity */
  int has_max_age;        /* a well-formed max-age was present */
  uint32_t max_age;       /* effective: capped at HSTS_MAX_AGE_CAP */
  uint64_t max_age_sent;  /* as sent, saturated at UINT64_MAX */
  int include_subdomains; /* includeSubDomains present */
  int preload;            /* preload token present */
  /* max_age_sent in decimal, beyond 64 bits too */
  char max_age_text[HSTS_MAX_AGE_TEXT_MAX];
  size_t nproblems;
  struct hsts_problem problems[HSTS_PROBLEMS_MAX];
};

/*
 * Parses the `len` bytes of one header field value. Always fills *out.
 * Returns HSTS_OK when the header is valid, HSTS_EHEADER_INVALID when not
 * (out->problems then holds at least one error saying why). Preload
 * eligibility problems (header.preloadable.*) are reported for valid
 * headers too, with severity error, without making the header invalid.
 */
int hsts_header_parse(const char *value, size_t len, struct hsts_header *out);

/* Returns 1 if out->problems has an error-severity entry, else 0. */
int hsts_header_has_errors(const struct hsts_header *h);

#endif /* HSTS_HEADER_H */
