/*
 * hsts_header.c - the Strict-Transport-Security header parser.
 *
 * Grammar (RFC 6797 section 6.1):
 *   value     = [ directive ] *( ";" [ directive ] )
 *   directive = name [ "=" ( token / quoted-string ) ]
 * with optional whitespace (SP, HTAB) around names, '=' and values. The
 * parser walks the value once, directive by directive, and keeps going
 * after an error so that check-header can list every problem it sees;
 * validity is decided as Chromium does (net/http/http_security_headers.cc)
 * except where Chromium is laxer than the RFC grammar: an empty unquoted
 * value ("foo=") and a repeated unknown directive are invalid here.
 *
 * Problems carry hstspreload.org's codes where one exists (its header.go),
 * and "proxy."-prefixed codes for what only this program checks. Each code
 * is reported at most once per header.
 */
#include <string.h>

#include "hsts_header.h"

#define DECIMAL_BASE      10u
#define ONE_YEAR_SECONDS  31536000u
#define TEN_YEARS_SECONDS 315360000u
#define ASCII_DEL         0x7f
#define ASCII_MAX         0x7f

/* Every problem the parser can report, indexing `problem_defs`. */
enum problem_id {
  P_EMPTY,
  P_EMPTY_DIRECTIVE,
  P_UNKNOWN_DIRECTIVE,
  P_MALFORMED_BYTES,
  P_INVALID_NAME,
  P_INVALID_VALUE,
  P_UNTERMINATED_QUOTE,
  P_TRAILING_AFTER_QUOTE,
  P_TOO_MANY_DIRECTIVES,
  P_REPEATED_MAX_AGE,
  P_REPEATED_INCLUDE_SUB_DOMAINS,
  P_REPEATED_PRELOAD,
  P_REPEATED_UNKNOWN,
  P_MAX_AGE_NO_VALUE,
  P_MAX_AGE_NON_DIGIT,
  P_MAX_AGE_LEADING_ZERO,
  P_MAX_AGE_OVERFLOW,
  P_MAX_AGE_QUOTED,
  P_INVALID_INCLUDE_SUB_DOMAINS,
  P_INVALID_PRELOAD,
  P_LONGER_INCLUDE_SUB_DOMAINS,
  P_LONGER_PRELOAD,
  P_PRELOADABLE_INCLUDE_SUB_DOMAINS_MISSING,
  P_PRELOADABLE_PRELOAD_MISSING,
  P_PRELOADABLE_MAX_AGE_MISSING,
  P_PRELOADABLE_MAX_AGE_ZERO,
  P_PRELOADABLE_MAX_AGE_BELOW_1_YEAR,
  P_PRELOADABLE_MAX_AGE_OVER_10_YEARS,
  P_MAX_AGE_BELOW_6_MONTHS
};

#define E                                    HSTS_SEVERITY_ERROR
#define W                                    HSTS_SEVERITY_WARNING
#define PROBLEM(id, code, severity, message) [id] = { code, severity, message }
_Static_assert(HSTS_HEADER_DIRECTIVES_MAX == 32,
               "the too_many_directives message names the limit");
static const struct hsts_problem problem_defs[] = {
  PROBLEM(P_EMPTY, "header.parse.empty", E,
          "The header value is empty, so browsers ignore it."),
  PROBLEM(P_EMPTY_DIRECTIVE, "header.parse.empty_directive", W,
          "The header has an empty directive or an extra semicolon."),
  PROBLEM(P_UNKNOWN_DIRECTIVE, "header.parse.unknown_directive", W,
          "The header has a directive that RFC 6797 does not define; browsers "
          "ignore it."),
  PROBLEM(P_MALFORMED_BYTES, "proxy.header.malformed_bytes", E,
          "The header contains control characters, or non-ASCII bytes outside "
          "a quoted string, so browsers ignore it."),
  PROBLEM(P_INVALID_NAME, "proxy.header.directive.invalid_name", E,
          "A directive name is empty or not a token, so browsers ignore the "
          "whole header."),
  PROBLEM(P_INVALID_VALUE, "proxy.header.directive.invalid_value", E,
          "A directive value is empty or not a token (it needs quotes), so "
          "browsers ignore the whole header."),
  PROBLEM(
      P_UNTERMINATED_QUOTE, "proxy.header.quoted_string.unterminated", E,
      "A quoted value is never closed, so browsers ignore the whole header."),
  PROBLEM(P_TRAILING_AFTER_QUOTE,
          "proxy.header.quoted_string.trailing_characters", E,
          "Characters follow a closing quote before the next semicolon, so "
          "browsers ignore the whole header."),
  PROBLEM(P_TOO_MANY_DIRECTIVES, "proxy.header.too_many_directives", E,
          "The header has more than 32 directives, so this program ignores "
          "it."),
  PROBLEM(P_REPEATED_MAX_AGE, "header.parse.repeated.max_age", E,
          "The max-age directive appears more than once, which makes the "
          "header invalid."),
  PROBLEM(P_REPEATED_INCLUDE_SUB_DOMAINS,
          "header.parse.repeated.include_sub_domains", E,
          "The includeSubDomains directive appears more than once, which makes "
          "the header invalid."),
  PROBLEM(P_REPEATED_PRELOAD, "header.parse.repeated.preload", E,
          "The preload directive appears more than once, which makes the "
          "header invalid."),
  PROBLEM(
      P_REPEATED_UNKNOWN, "proxy.header.repeated.unknown_directive", E,
      "A directive appears more than once, which makes the header invalid."),
  PROBLEM(
      P_MAX_AGE_NO_VALUE, "header.parse.invalid.max_age.no_value", E,
      "The max-age directive has no value; it needs the number of seconds."),
  PROBLEM(P_MAX_AGE_NON_DIGIT, "header.parse.max_age.non_digit_characters", E,
          "The max-age value contains characters that are not digits."),
  PROBLEM(P_MAX_AGE_LEADING_ZERO, "header.parse.max_age.leading_zero", W,
          "The max-age value has a leading zero."),
  PROBLEM(P_MAX_AGE_OVERFLOW, "header.parse.max_age.parse_int_error", E,
          "The max-age value does not fit in 64 bits: browsers cap it at one "
          "year, but hstspreload.org rejects it."),
  PROBLEM(P_MAX_AGE_QUOTED, "proxy.header.max_age.quoted", E,
          "The max-age value is quoted: RFC 6797 allows it, but "
          "hstspreload.org rejects it."),
  PROBLEM(P_INVALID_INCLUDE_SUB_DOMAINS,
          "header.parse.invalid.include_sub_domains", E,
          "The includeSubDomains directive has a value, which makes the header "
          "invalid."),
  PROBLEM(
      P_INVALID_PRELOAD, "header.parse.invalid.preload", W,
      "The preload directive has a value, so it does not count as preload."),
  PROBLEM(P_LONGER_INCLUDE_SUB_DOMAINS,
          "header.parse.invalid.include_sub_domains", W,
          "A directive's name starts with includeSubDomains but is longer: "
          "an unknown directive, so it does not include subdomains."),
  PROBLEM(P_LONGER_PRELOAD, "header.parse.invalid.preload", W,
          "A directive's name starts with preload but is longer: an unknown "
          "directive, so it does not count as preload."),
  PROBLEM(P_PRELOADABLE_INCLUDE_SUB_DOMAINS_MISSING,
          "header.preloadable.include_sub_domains.missing", E,
          "The header lacks the includeSubDomains directive, which preloading "
          "requires."),
  PROBLEM(P_PRELOADABLE_PRELOAD_MISSING, "header.preloadable.preload.missing",
          E,
          "The header lacks the preload directive, which preloading requires."),
  PROBLEM(P_PRELOADABLE_MAX_AGE_MISSING, "header.preloadable.max_age.missing",
          E,
          "The header has no valid max-age directive: browsers ignore it and "
          "it cannot be preloaded."),
  PROBLEM(P_PRELOADABLE_MAX_AGE_ZERO, "header.preloadable.max_age.zero", E,
          "The max-age is 0, which removes the HSTS policy; preloading needs "
          "at least 31536000 seconds (1 year)."),
  PROBLEM(P_PRELOADABLE_MAX_AGE_BELOW_1_YEAR,
          "header.preloadable.max_age.below_1_year", E,
          "The max-age is below 31536000 seconds (1 year), the minimum for "
          "preloading."),
  PROBLEM(P_PRELOADABLE_MAX_AGE_OVER_10_YEARS,
          "header.preloadable.max_age.over_10_years", W,
          "The max-age is over 10 years, which is unusually long (browsers cap "
          "it at 1 year)."),
  PROBLEM(P_MAX_AGE_BELOW_6_MONTHS, "proxy.header.max_age.below_6_months", W,
          "The max-age is below 15768000 seconds (6 months), short enough to "
          "leave returning visitors exposed."),
};
#undef PROBLEM
#undef E
#undef W

/* One directive as read, before its meaning is applied. */
struct directive {
  const char *name;
  size_t name_len;
  int has_value;     /* an '=' followed */
  int quoted;        /* the value is a quoted-string */
  int malformed;     /* a syntax error was already reported for it */
  const char *value; /* unquoted: the token; quoted: between the quotes */
  size_t value_len;
};

struct parser {
  const char *s;
  size_t len;
  size_t pos;
  struct hsts_header *out;
  int invalid; /* an RFC 6797 validity error was seen */
  int max_age_overflow;
  size_t ndirectives;
  const char *names[HSTS_HEADER_DIRECTIVES_MAX]; /* views into s */
  size_t name_lens[HSTS_HEADER_DIRECTIVES_MAX];
};

/* Adds a problem unless its code is already listed or the list is full. */
static void note(struct parser *p, enum problem_id id)
{
  struct hsts_header *h = p->out;
  size_t i;

  for (i = 0; i < h->nproblems; i++) {
    if (h->problems[i].code == problem_defs[id].code) {
      return;
    }
  }
  if (h->nproblems < HSTS_PROBLEMS_MAX) {
    h->problems[h->nproblems++] = problem_defs[id];
  }
}

/* Adds a problem that makes the header invalid. */
static void fail(struct parser *p, enum problem_id id)
{
  p->invalid = 1;
  note(p, id);
}

static int is_lws(char c)
{
  return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z')) {
    return 1;
  }
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A control byte (HTAB aside), DEL, or, when !quoted, a non-ASCII byte. */
static int has_bad_bytes(const char *s, size_t n, int quoted)
{
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];

    if ((c < ' ' && c != '\t') || c == ASCII_DEL ||
        (!quoted && c > ASCII_MAX)) {
      return 1;
    }
  }
  return 0;
}

static int is_token(const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    if (!is_tchar((unsigned char)s[i])) {
      return 0;
    }
  }
  return n > 0;
}

/* Does the name start with `lower` (compared case-insensitively)? */
static int name_starts(const struct directive *d, const char *lower)
{
  size_t i, n = strlen(lower);

  if (d->name_len < n) {
    return 0;
  }
  for (i = 0; i < n; i++) {
    char c = d->name[i];

    if (c >= 'A' && c <= 'Z') {
      c = (char)(c - 'A' + 'a');
    }
    if (c != lower[i]) {
      return 0;
    }
  }
  return 1;
}

static int name_is(const struct directive *d, const char *lower)
{
  return d->name_len == strlen(lower) && name_starts(d, lower);
}

static void skip_lws(struct parser *p)
{
  while (p->pos < p->len && is_lws(p->s[p->pos])) {
    p->pos++;
  }
}

/* Reads a quoted-string at p->pos (on the opening quote). */
static void read_quoted(struct parser *p, struct directive *d)
{
  size_t start = ++p->pos;

  d->quoted = 1;
  while (p->pos < p->len && p->s[p->pos] != '"') {
    p->pos += p->s[p->pos] == '\\' ? 2 : 1; /* quoted-pair */
  }
  if (p->pos >= p->len) {
    d->value = p->s + start;
    d->value_len = p->len - start;
    d->malformed = 1;
    p->pos = p->len;
    fail(p, P_UNTERMINATED_QUOTE);
    return;
  }
  d->value = p->s + start;
  d->value_len = p->pos - start;
  p->pos++;
  skip_lws(p);
  if (p->pos < p->len && p->s[p->pos] != ';') {
    d->malformed = 1;
    fail(p, P_TRAILING_AFTER_QUOTE);
    while (p->pos < p->len && p->s[p->pos] != ';') {
      p->pos++;
    }
  }
}

/* Reads one directive; leaves p->pos on the next ';' or at the end. */
static void read_directive(struct parser *p, struct directive *d)
{
  size_t start = p->pos, end;

  memset(d, 0, sizeof(*d));
  while (p->pos < p->len && p->s[p->pos] != '=' && p->s[p->pos] != ';') {
    p->pos++;
  }
  end = p->pos;
  while (end > start && is_lws(p->s[end - 1])) {
    end--;
  }
  d->name = p->s + start;
  d->name_len = end - start;
  if (p->pos >= p->len || p->s[p->pos] != '=') {
    return;
  }
  d->has_value = 1;
  p->pos++;
  skip_lws(p);
  if (p->pos < p->len && p->s[p->pos] == '"') {
    read_quoted(p, d);
    return;
  }
  start = p->pos;
  while (p->pos < p->len && p->s[p->pos] != ';') {
    p->pos++;
  }
  end = p->pos;
  while (end > start && is_lws(p->s[end - 1])) {
    end--;
  }
  d->value = p->s + start;
  d->value_len = end - start;
}

/* Records the name; returns 1 when it was seen before (any case). */
static int seen_before(struct parser *p, const struct directive *d)
{
  size_t i, j;

  for (i = 0; i < p->ndirectives; i++) {
    if (p->name_lens[i] != d->name_len) {
      continue;
    }
    for (j = 0; j < d->name_len; j++) {
      char a = p->names[i][j], b = d->name[j];

      if (a >= 'A' && a <= 'Z') {
        a = (char)(a - 'A' + 'a');
      }
      if (b >= 'A' && b <= 'Z') {
        b = (char)(b - 'A' + 'a');
      }
      if (a != b) {
        break;
      }
    }
    if (j == d->name_len) {
      return 1;
    }
  }
  p->names[p->ndirectives] = d->name;
  p->name_lens[p->ndirectives] = d->name_len;
  p->ndirectives++;
  return 0;
}

/* Appends digit c to the text of the max-age sent (no leading zeros). */
static void add_digit(char text[HSTS_MAX_AGE_TEXT_MAX], size_t *n, char c)
{
  static const char cut[] = "...";

  if (*n == 0 && c == '0') {
    return;
  }
  if (*n < HSTS_MAX_AGE_TEXT_MAX - sizeof(cut)) {
    text[(*n)++] = c;
  } else if (*n == HSTS_MAX_AGE_TEXT_MAX - sizeof(cut)) {
    memcpy(text + *n, cut, sizeof(cut)); /* with its NUL: the end */
    *n = HSTS_MAX_AGE_TEXT_MAX;
  }
}

/* Interprets the max-age value: digits only, saturating, then capped. */
static void apply_max_age(struct parser *p, const struct directive *d,
                          int repeated)
{
  struct hsts_header *h = p->out;
  char text[HSTS_MAX_AGE_TEXT_MAX] = "";
  uint64_t value = 0;
  size_t i, digits = 0, ntext = 0;
  int overflow = 0, leading_zero = 0;

  if (!d->has_value) {
    fail(p, P_MAX_AGE_NO_VALUE);
    return;
  }
  for (i = 0; i < d->value_len; i++) {
    char c = d->value[i];

    if (d->quoted && c == '\\' && i + 1 < d->value_len) {
      c = d->value[++i];
    }
    if (c < '0' || c > '9') {
      fail(p, P_MAX_AGE_NON_DIGIT);
      return;
    }
    if (digits == 1 && value == 0) {
      leading_zero = 1;
    }
    digits++;
    add_digit(text, &ntext, c);
    if (value > (UINT64_MAX - (uint64_t)(c - '0')) / DECIMAL_BASE) {
      overflow = 1;
      value = UINT64_MAX;
    } else {
      value = value * DECIMAL_BASE + (uint64_t)(c - '0');
    }
  }
  if (digits == 0) {
    fail(p, P_MAX_AGE_NO_VALUE);
    return;
  }
  if (leading_zero) {
    note(p, P_MAX_AGE_LEADING_ZERO);
  }
  if (d->quoted) {
    note(p, P_MAX_AGE_QUOTED);
  }
  if (overflow) {
    note(p, P_MAX_AGE_OVERFLOW);
  }
  if (repeated) {
    return; /* the first max-age is the one reported */
  }
  h->has_max_age = 1;
  h->max_age_sent = value;
  if (ntext == 0) {
    text[0] = '0';
  }
  memcpy(h->max_age_text, text, sizeof(text));
  h->max_age = value > HSTS_MAX_AGE_CAP ? HSTS_MAX_AGE_CAP : (uint32_t)value;
  p->max_age_overflow = overflow;
}

/* Checks an unknown directive's value: a token or a closed quote. */
static int value_well_formed(struct parser *p, const struct directive *d)
{
  if (!d->has_value || d->quoted) {
    return 1;
  }
  if (!is_token(d->value, d->value_len)) {
    fail(p, P_INVALID_VALUE);
    return 0;
  }
  return 1;
}

/*
 * An unknown directive: ignored when well-formed. A name that starts with
 * includeSubDomains or preload but is longer gets hstspreload.org's code
 * for those directives (header.parse.invalid.*), as a warning: to RFC
 * 6797 and browsers it is an unknown directive, which leaves the header
 * valid.
 */
static void apply_unknown(struct parser *p, const struct directive *d,
                          int repeated)
{
  if (repeated) {
    fail(p, P_REPEATED_UNKNOWN);
  }
  if (d->malformed || !value_well_formed(p, d)) {
    return;
  }
  if (name_starts(d, "includesubdomains")) {
    note(p, P_LONGER_INCLUDE_SUB_DOMAINS);
  } else if (name_starts(d, "preload")) {
    note(p, P_LONGER_PRELOAD);
  } else {
    note(p, P_UNKNOWN_DIRECTIVE);
  }
}

/* Applies one directive that has a well-formed name. */
static void apply_directive(struct parser *p, const struct directive *d)
{
  struct hsts_header *h = p->out;
  int repeated = seen_before(p, d);

  if (name_is(d, "max-age")) {
    if (repeated) {
      fail(p, P_REPEATED_MAX_AGE);
    }
    if (!d->malformed) {
      apply_max_age(p, d, repeated);
    }
  } else if (name_is(d, "includesubdomains")) {
    if (repeated) {
      fail(p, P_REPEATED_INCLUDE_SUB_DOMAINS);
    }
    if (d->has_value) {
      fail(p, P_INVALID_INCLUDE_SUB_DOMAINS);
    } else {
      h->include_subdomains = 1;
    }
  } else if (name_is(d, "preload")) {
    if (repeated) {
      fail(p, P_REPEATED_PRELOAD);
    }
    if (!d->has_value) {
      h->preload = 1;
    } else if (!d->malformed && value_well_formed(p, d)) {
      note(p, P_INVALID_PRELOAD);
    }
  } else {
    apply_unknown(p, d, repeated);
  }
}

/* Checks the bytes and the name of a directive, then applies it. */
static void handle_directive(struct parser *p, const struct directive *d)
{
  if (has_bad_bytes(d->name, d->name_len, 0) ||
      has_bad_bytes(d->value, d->value_len, d->quoted)) {
    fail(p, P_MALFORMED_BYTES);
    return;
  }
  if (!is_token(d->name, d->name_len)) {
    fail(p, P_INVALID_NAME);
    return;
  }
  apply_directive(p, d);
}

static void parse_directives(struct parser *p)
{
  struct directive d;

  for (;;) {
    skip_lws(p);
    if (p->pos >= p->len || p->s[p->pos] == ';') {
      note(p, P_EMPTY_DIRECTIVE);
    } else if (p->ndirectives >= HSTS_HEADER_DIRECTIVES_MAX) {
      fail(p, P_TOO_MANY_DIRECTIVES);
      return;
    } else {
      read_directive(p, &d);
      handle_directive(p, &d);
    }
    if (p->pos >= p->len) {
      return;
    }
    p->pos++; /* the ';' */
  }
}

/* Preload eligibility (hstspreload.org) and this program's own advice. */
static void check_preloadable(struct parser *p)
{
  const struct hsts_header *h = p->out;

  if (!h->include_subdomains) {
    note(p, P_PRELOADABLE_INCLUDE_SUB_DOMAINS_MISSING);
  }
  if (!h->preload) {
    note(p, P_PRELOADABLE_PRELOAD_MISSING);
  }
  if (!h->has_max_age) {
    note(p, P_PRELOADABLE_MAX_AGE_MISSING);
    return;
  }
  if (h->max_age_sent == 0) {
    note(p, P_PRELOADABLE_MAX_AGE_ZERO);
  } else if (h->max_age_sent < ONE_YEAR_SECONDS) {
    note(p, P_PRELOADABLE_MAX_AGE_BELOW_1_YEAR);
  } else if (h->max_age_sent > TEN_YEARS_SECONDS && !p->max_age_overflow) {
    note(p, P_PRELOADABLE_MAX_AGE_OVER_10_YEARS);
  }
  if (h->max_age_sent > 0 && h->max_age_sent < HSTS_MAX_AGE_6_MONTHS) {
    note(p, P_MAX_AGE_BELOW_6_MONTHS);
  }
}

int hsts_header_parse(const char *value, size_t len, struct hsts_header *out)
{
  struct parser p;

  memset(out, 0, sizeof(*out));
  memset(&p, 0, sizeof(p));
  p.s = value;
  p.len = value == NULL ? 0 : len;
  p.out = out;
  skip_lws(&p);
  if (p.pos >= p.len) {
    fail(&p, P_EMPTY);
  } else {
    p.pos = 0;
    parse_directives(&p);
  }
  if (!out->has_max_age) {
    p.invalid = 1; /* reported by header.preloadable.max_age.missing */
  }
  check_preloadable(&p);
  out->valid = !p.invalid;
  return out->valid ? HSTS_OK : HSTS_EHEADER_INVALID;
}

int hsts_header_has_errors(const struct hsts_header *h)
{
  size_t i;

  for (i = 0; i < h->nproblems; i++) {
    if (h->problems[i].severity == HSTS_SEVERITY_ERROR) {
      return 1;
    }
  }
  return 0;
}
