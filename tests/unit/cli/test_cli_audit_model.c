/*
 * test_cli_audit_model.c - the audit's judgement as a spec: categories and
 * their precedence, problems and verdicts, preload eligibility, first
 * redirects and regressions.
 *
 * cmd_audit_model.c (linked from the hstsproxy_cli library) is pure (no
 * I/O, `now` passed in), so each table row is a complete case.
 */
#include "cmd_audit.h"

#include "testlib.h"

#define NOW     1700000000
#define DAY     86400
#define HALF_YR 15768000u

enum { NO = 0, YES = 1 };

/* --- Categories --- */

struct category_row {
  const char *why;
  struct cmd_audit_facts f;
  enum cmd_audit_category want;
};

#define HDR_VALID(age) .header = CMD_AUDIT_HDR_VALID, .header_max_age = (age)
#define HDR(state)     .header = CMD_AUDIT_HDR_##state
#define STANDING(age)  .standing = 1, .standing_max_age = (age)

static const struct category_row category_rows[] = {
  { "a preload entry wins over everything",
    { .static_force = 1, HDR(INVALID), .clear_text = 9 },
    CMD_AUDIT_PRELOADED },
  { "preloaded even with no header at all",
    { .static_force = 1, .static_own = 1, HDR(NONE) },
    CMD_AUDIT_PRELOADED },
  { "an IP literal is never preloaded",
    { .ip_literal = 1, .static_force = 1, .clear_text = 1 },
    CMD_AUDIT_HTTP_ONLY },
  { "a newer invalid header beats a standing policy",
    { HDR(INVALID), STANDING(HSTS_MAX_AGE_CAP) },
    CMD_AUDIT_INVALID_HSTS },
  { "a valid header of a year",
    { HDR_VALID(HSTS_MAX_AGE_CAP), .redirect_up = 1 },
    CMD_AUDIT_HSTS },
  { "a valid header under a year",
    { HDR_VALID(HSTS_MAX_AGE_CAP - 1), .clear_text = 3 },
    CMD_AUDIT_WEAK_HSTS },
  { "max-age=0 is no policy: the redirect decides",
    { HDR_VALID(0), .redirect_up = 1 },
    CMD_AUDIT_REDIRECT_NO_HSTS },
  { "a manual policy stands without header evidence",
    { STANDING(HSTS_MAX_AGE_CAP), .clear_text = 2 },
    CMD_AUDIT_HSTS },
  { "a short manual policy is weak",
    { STANDING(10 * DAY) },
    CMD_AUDIT_WEAK_HSTS },
  { "a parent's policy stands against a missing own header",
    { HDR(NONE), STANDING(HALF_YR), .standing_parent = 1 },
    CMD_AUDIT_WEAK_HSTS },
  { "a header beats a standing policy",
    { HDR_VALID(600), STANDING(HSTS_MAX_AGE_CAP) },
    CMD_AUDIT_WEAK_HSTS },
  { "a redirect to https without a policy",
    { .redirect_up = 1, .clear_text = 4 },
    CMD_AUDIT_REDIRECT_NO_HSTS },
  { "a redirect and a probe that saw no header",
    { HDR(NONE), .redirect_up = 1, .probe_completed = 1 },
    CMD_AUDIT_REDIRECT_NO_HSTS },
  { "clear text, no redirect",
    { .clear_text = 1, .https_seen = 1 },
    CMD_AUDIT_HTTP_ONLY },
  { "clear text beats a completed probe without a header",
    { HDR(NONE), .clear_text = 1, .probe_completed = 1, .https_seen = 1 },
    CMD_AUDIT_HTTP_ONLY },
  { "HTTPS only, probed, no header",
    { HDR(NONE), .probe_completed = 1, .https_seen = 1 },
    CMD_AUDIT_REDIRECT_NO_HSTS },
  { "CONNECT only, never probed",
    { .https_seen = 1 },
    CMD_AUDIT_HTTPS_UNPROBED },
  { "a probe that never completed",
    { .https_seen = 1, .probe_completed = 0 },
    CMD_AUDIT_HTTPS_UNPROBED },
  { "only upgrades under a policy that vanished", { 0 }, CMD_AUDIT_HTTP_ONLY },
  { NULL, { 0 }, CMD_AUDIT_PRELOADED } /* sentinel */
};

static void test_categories(void)
{
  const struct category_row *r;

  for (r = category_rows; r->why != NULL; r++) {
    enum cmd_audit_category got = cmd_audit__categorize(&r->f);

    if (got != r->want)
      fprintf(stderr, "  %s: got %s, want %s\n", r->why,
              cmd_audit__category_name(got), cmd_audit__category_name(r->want));
    CHECK_ROW(got == r->want, r - category_rows);
  }
}

static void test_category_names_and_ranks(void)
{
  static const char *const names[] = { "preloaded",        "hsts",
                                       "weak-hsts",        "invalid-hsts",
                                       "redirect-no-hsts", "http-only",
                                       "https-unprobed" };
  int seen[CMD_AUDIT_CATEGORIES] = { 0 };
  int c;

  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++) {
    CHECK_STR(cmd_audit__category_name((enum cmd_audit_category)c), names[c]);
    seen[cmd_audit__category_rank((enum cmd_audit_category)c)]++;
  }
  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
    CHECK_INT(seen[c], 1); /* a total order */
  CHECK_INT(cmd_audit__category_rank(CMD_AUDIT_HTTP_ONLY), 0);
  CHECK_INT(cmd_audit__category_rank(CMD_AUDIT_PRELOADED),
            CMD_AUDIT_CATEGORIES - 1);
}

/* --- Problems and verdicts --- */

/* A host whose evidence is a header value (or none) plus a few facts. */
static void host_init(struct cmd_audit_host *h, const char *header,
                      const struct cmd_audit_facts *f)
{
  static char name[] = "example.test";

  memset(h, 0, sizeof(*h));
  h->host = name;
  h->registrable = 1;
  h->facts = *f;
  if (header != NULL) {
    h->header_raw = (char *)header;
    h->from = CMD_AUDIT_FROM_PROBE;
    h->sts_count = 1;
    hsts_header_parse(header, strlen(header), &h->parse);
    h->facts.header =
        h->parse.valid ? CMD_AUDIT_HDR_VALID : CMD_AUDIT_HDR_INVALID;
    h->facts.header_max_age = h->parse.max_age;
    h->has_probe = h->has_completed = 1;
    h->tls = CMD_AUDIT_TLS_OK;
  }
  h->category = cmd_audit__categorize(&h->facts);
}

static int has_problem(const struct cmd_audit_host *h, const char *code,
                       enum cmd_audit_severity sev)
{
  size_t i;

  for (i = 0; i < h->nproblems; i++)
    if (strcmp(h->problems[i].code, code) == 0)
      return h->problems[i].severity == sev;
  return 0;
}

struct problem_row {
  const char *header; /* NULL: none observed */
  struct cmd_audit_facts f;
  const char *code;                 /* expected among the problems ... */
  enum cmd_audit_severity severity; /* ... with this severity */
  enum cmd_audit_verdict verdict;
};

static const struct problem_row problem_rows[] = {
  /* preloadable problems only warn a host that does not ask for it */
  { "max-age=31536000",
    { 0 },
    "header.preloadable.preload.missing",
    CMD_AUDIT_WARNING,
    CMD_AUDIT_YELLOW },
  { "max-age=31536000; includeSubDomains; preload",
    { 0 },
    "proxy.header.preload_not_listed",
    CMD_AUDIT_WARNING,
    CMD_AUDIT_YELLOW },
  { "max-age=600; preload",
    { 0 },
    "header.preloadable.max_age.below_1_year",
    CMD_AUDIT_ERROR,
    CMD_AUDIT_RED },
  { "max-age=600",
    { .static_force = 1, .static_own = 1 },
    "proxy.preload.header_no_longer_qualifies",
    CMD_AUDIT_WARNING,
    CMD_AUDIT_RED },
  { "max-age=31536000; includeSubDomains; preload",
    { .static_force = 1, .static_own = 1 },
    NULL,
    CMD_AUDIT_INFO,
    CMD_AUDIT_GREEN },
  { "max-age=x",
    { 0 },
    "header.parse.max_age.non_digit_characters",
    CMD_AUDIT_ERROR,
    CMD_AUDIT_RED },
  { NULL,
    { .clear_text = 3 },
    "redirects.http.no_redirect",
    CMD_AUDIT_ERROR,
    CMD_AUDIT_RED },
  { NULL,
    { .clear_text = 3 },
    "proxy.policy.none",
    CMD_AUDIT_ERROR,
    CMD_AUDIT_RED },
  { NULL,
    { .https_seen = 1 },
    "proxy.https.unprobed",
    CMD_AUDIT_WARNING,
    CMD_AUDIT_YELLOW },
  { NULL,
    { .static_force = 1 },
    "proxy.policy.covered_by_parent",
    CMD_AUDIT_INFO,
    CMD_AUDIT_GREEN },
  { NULL,
    { STANDING(HSTS_MAX_AGE_CAP), .standing_parent = 1 },
    "proxy.policy.covered_by_parent",
    CMD_AUDIT_WARNING,
    CMD_AUDIT_YELLOW },
  { NULL,
    { STANDING(HSTS_MAX_AGE_CAP) },
    "proxy.policy.manual_only",
    CMD_AUDIT_INFO,
    CMD_AUDIT_GREEN },
  { NULL,
    { .ip_literal = 1, .clear_text = 1 },
    "proxy.host.ip_literal",
    CMD_AUDIT_INFO,
    CMD_AUDIT_YELLOW },
  { NULL,
    { .localhost = 1, .clear_text = 1 },
    "proxy.host.localhost",
    CMD_AUDIT_INFO,
    CMD_AUDIT_YELLOW },
  { NULL,
    { .single_label = 1 },
    "proxy.host.single_label",
    CMD_AUDIT_INFO,
    CMD_AUDIT_GREEN },
  { NULL, { 0 }, NULL, CMD_AUDIT_INFO, CMD_AUDIT_GREEN } /* sentinel */
};

static void test_problems(void)
{
  const struct problem_row *r;
  struct cmd_audit_host h;
  size_t i;

  for (i = 0; problem_rows[i].code != NULL || problem_rows[i].header != NULL;
       i++) {
    r = &problem_rows[i];
    host_init(&h, r->header, &r->f);
    if (r->f.clear_text > 0)
      h.redirect = CMD_AUDIT_REDIR_NONE;
    cmd_audit__problems(&h, NOW);
    if (r->code != NULL)
      CHECK_ROW(has_problem(&h, r->code, r->severity), i);
    else
      CHECK_ROW(h.nproblems == 0, i);
    CHECK_ROW(h.verdict == r->verdict, i);
  }
}

static void test_problems_from_evidence(void)
{
  static const struct cmd_audit_facts none = { 0 };
  struct cmd_audit_host h;

  host_init(&h, "max-age=31536000", &none);
  h.sts_count = 2;
  h.counts.sts_over_http = 1;
  h.counts.downgrades_first = 1;
  h.counts.downgrades_later = 1;
  h.redirect = CMD_AUDIT_REDIR_WWW;
  cmd_audit__problems(&h, NOW);
  CHECK(has_problem(&h, "response.multiple_headers", CMD_AUDIT_ERROR));
  CHECK(has_problem(&h, "proxy.header.sent_over_http", CMD_AUDIT_INFO));
  CHECK(has_problem(&h, "redirects.insecure.initial", CMD_AUDIT_ERROR));
  CHECK(has_problem(&h, "redirects.insecure.subsequent", CMD_AUDIT_ERROR));
  CHECK(has_problem(&h, "redirects.http.www_first", CMD_AUDIT_ERROR));

  host_init(&h, NULL, &none);
  h.facts.header = CMD_AUDIT_HDR_NONE;
  h.facts.probe_completed = 1;
  h.has_probe = 1;
  h.category = cmd_audit__categorize(&h.facts);
  h.tls = CMD_AUDIT_TLS_CERT;
  cmd_audit__problems(&h, NOW);
  CHECK(h.category == CMD_AUDIT_REDIRECT_NO_HSTS);
  CHECK(has_problem(&h, "response.no_header", CMD_AUDIT_ERROR));
  CHECK(has_problem(&h, "domain.tls.invalid_cert_chain", CMD_AUDIT_ERROR));
  CHECK(!has_problem(&h, "proxy.policy.none", CMD_AUDIT_ERROR));
  CHECK(!has_problem(&h, "proxy.https.unprobed", CMD_AUDIT_WARNING));

  host_init(&h, NULL, &none);
  h.source = HSTS_SOURCE_LEARNED;
  h.policy_expires = NOW + 29 * DAY;
  cmd_audit__problems(&h, NOW);
  CHECK(has_problem(&h, "proxy.policy.expiring", CMD_AUDIT_WARNING));
  h.policy_expires = NOW + 31 * DAY;
  cmd_audit__problems(&h, NOW);
  CHECK(!has_problem(&h, "proxy.policy.expiring", CMD_AUDIT_WARNING));
  h.policy_expires = STORE_NEVER;
  cmd_audit__problems(&h, NOW);
  CHECK(!has_problem(&h, "proxy.policy.expiring", CMD_AUDIT_WARNING));
}

/* --- Preload eligibility --- */

struct check_row {
  const char *header;
  int registrable;
  enum cmd_audit_tls tls;
  enum cmd_audit_redirect redirect;
  int eligible;
  const char *check; /* a failing check expected ... */
  int unknown;       /* ... its result ... */
  const char *code;  /* ... and its code (NULL: none) */
};

static const struct check_row check_rows[] = {
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_SECURE, 1, NULL, 0, NULL },
  { "max-age=63072000; includeSubDomains; preload", 0, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_SECURE, 0, "domain", 0, "domain.is_subdomain" },
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_CERT,
    CMD_AUDIT_REDIR_SECURE, 0, "certificate", 0,
    "domain.tls.invalid_cert_chain" },
  { "max-age=31536000; includeSubDomains; preload", 1,
    CMD_AUDIT_TLS_UNREACHABLE, CMD_AUDIT_REDIR_SECURE, 0, "certificate", 0,
    "domain.tls.cannot_connect" },
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_UNKNOWN, 0, "http_redirect", 1, NULL },
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_WWW, 0, "http_redirect", 0, "redirects.http.www_first" },
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_INSECURE, 0, "http_redirect", 0,
    "redirects.http.first_redirect.insecure" },
  { "max-age=31536000; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_NONE, 0, "http_redirect", 0, "redirects.http.no_redirect" },
  { "max-age=31535999; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_SECURE, 0, "max_age", 0,
    "header.preloadable.max_age.below_1_year" },
  { "max-age=0; includeSubDomains; preload", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_SECURE, 0, "max_age", 0,
    "header.preloadable.max_age.zero" },
  { "max-age=31536000; preload", 1, CMD_AUDIT_TLS_OK, CMD_AUDIT_REDIR_SECURE, 0,
    "include_subdomains", 0, "header.preloadable.include_sub_domains.missing" },
  { "max-age=31536000; includeSubDomains", 1, CMD_AUDIT_TLS_OK,
    CMD_AUDIT_REDIR_SECURE, 0, "preload", 0,
    "header.preloadable.preload.missing" },
  { "max-age=1; max-age=2", 1, CMD_AUDIT_TLS_OK, CMD_AUDIT_REDIR_SECURE, 0,
    "header", 0, "header.parse.repeated.max_age" },
  { NULL, 1, CMD_AUDIT_TLS_OK, CMD_AUDIT_REDIR_SECURE, 0, "header", 1, NULL },
  { NULL, 0, 0, 0, 0, NULL, 0, NULL } /* sentinel */
};

static const struct cmd_audit_check *find_check(const struct cmd_audit_host *h,
                                                const char *name)
{
  size_t i;

  for (i = 0; i < h->nchecks; i++)
    if (strcmp(h->checks[i].check, name) == 0)
      return &h->checks[i];
  return NULL;
}

static void test_eligibility(void)
{
  static const struct cmd_audit_facts none = { 0 };
  const struct check_row *r;
  struct cmd_audit_host h;
  size_t i;

  for (i = 0; check_rows[i].tls != 0; i++) {
    const struct cmd_audit_check *c;

    r = &check_rows[i];
    host_init(&h, r->header, &none);
    h.registrable = r->registrable;
    h.tls = r->tls;
    h.redirect = r->redirect;
    cmd_audit__eligibility(&h);
    CHECK_ROW(h.eligible == r->eligible, i);
    CHECK_ROW(r->eligible == (h.nchecks == 0), i);
    if (r->check == NULL)
      continue;
    c = find_check(&h, r->check);
    if (!CHECK_ROW(c != NULL, i))
      continue;
    CHECK_ROW(c->unknown == r->unknown, i);
    CHECK_ROW(r->code == NULL
                  ? c->code == NULL
                  : c->code != NULL && strcmp(c->code, r->code) == 0,
              i);
  }
}

static void test_eligibility_without_header(void)
{
  static const struct cmd_audit_facts none_seen = { HDR(NONE) };
  static const struct cmd_audit_facts ip = { .ip_literal = 1 };
  static const struct cmd_audit_facts local = { .localhost = 1 };
  struct cmd_audit_host h;

  host_init(&h, NULL, &none_seen);
  h.tls = CMD_AUDIT_TLS_OK;
  h.redirect = CMD_AUDIT_REDIR_SECURE;
  cmd_audit__eligibility(&h);
  CHECK_INT(h.nchecks, 4); /* header, max_age, include_subdomains, preload */
  CHECK_STR(find_check(&h, "preload")->code, "response.no_header");
  host_init(&h, NULL, &ip);
  cmd_audit__eligibility(&h);
  CHECK_INT(h.nchecks, 1);
  CHECK_STR(h.checks[0].code, "proxy.host.ip_literal");
  host_init(&h, NULL, &local);
  cmd_audit__eligibility(&h);
  CHECK_INT(h.nchecks, 1);
  CHECK_STR(h.checks[0].code, "proxy.host.localhost");
}

/* --- First redirects --- */

struct redirect_row {
  const char *host;
  const char *location;
  enum cmd_audit_redirect want;
};

static const struct redirect_row redirect_rows[] = {
  { "a.test", "https://a.test/", CMD_AUDIT_REDIR_SECURE },
  { "a.test", "HTTPS://A.TEST./x?y", CMD_AUDIT_REDIR_SECURE },
  { "a.test", "https://www.a.test/", CMD_AUDIT_REDIR_WWW },
  { "a.test", "http://www.a.test/", CMD_AUDIT_REDIR_WWW },
  { "a.test", "http://a.test/login", CMD_AUDIT_REDIR_INSECURE },
  { "a.test", "https://b.test/", CMD_AUDIT_REDIR_INSECURE },
  { "a.test", "https://wwwa.test/", CMD_AUDIT_REDIR_INSECURE },
  { "a.test", "/relative", CMD_AUDIT_REDIR_INSECURE },
  { "a.test", NULL, CMD_AUDIT_REDIR_INSECURE },
  { NULL, NULL, CMD_AUDIT_REDIR_UNKNOWN } /* sentinel */
};

static void test_redirects(void)
{
  const struct redirect_row *r;

  for (r = redirect_rows; r->host != NULL; r++)
    CHECK_ROW(cmd_audit__classify_redirect(r->host, r->location) == r->want,
              r - redirect_rows);
}

/* --- Regressions --- */

struct regression_row {
  struct cmd_audit_obs before, after;
  unsigned want;
};

#define OBS(state, age, sub)                  \
  {                                           \
    0, CMD_AUDIT_HDR_##state, (age), (sub), 0 \
  }
#define BIT(k) (1u << CMD_AUDIT_REG_##k)

static const struct regression_row regression_rows[] = {
  { OBS(VALID, 31536000, 1), OBS(VALID, 31536000, 1), 0 },
  { OBS(VALID, 600, 0), OBS(VALID, 31536000, 1), 0 }, /* stronger */
  { OBS(VALID, 31536000, 0), OBS(VALID, 600, 0), BIT(MAX_AGE_CUT) },
  { OBS(VALID, 31536000, 1), OBS(VALID, 31536000, 0), BIT(SUBDOMAINS_DROPPED) },
  { OBS(VALID, 31536000, 1), OBS(VALID, 86400, 0),
    BIT(MAX_AGE_CUT) | BIT(SUBDOMAINS_DROPPED) },
  { OBS(VALID, 31536000, 1), OBS(VALID, 0, 1), BIT(MAX_AGE_ZERO) },
  { OBS(VALID, 31536000, 1), OBS(NONE, 0, 0), BIT(HEADER_GONE) },
  { OBS(VALID, 31536000, 1), OBS(INVALID, 0, 0), BIT(HEADER_INVALID) },
  { OBS(NONE, 0, 0), OBS(NONE, 0, 0), 0 },                /* nothing to lose */
  { OBS(INVALID, 0, 0), OBS(NONE, 0, 0), 0 },             /* nothing to lose */
  { OBS(VALID, 0, 0), OBS(NONE, 0, 0), 0 },               /* already deleted */
  { OBS(VALID, 600, 0), OBS(UNKNOWN, 0, 0), 0 },          /* no evidence */
  { OBS(UNKNOWN, 0, 0), OBS(UNKNOWN, 0, 0), 0xffffffffu } /* sentinel */
};

static void test_regressions(void)
{
  const struct regression_row *r;

  for (r = regression_rows; r->want != 0xffffffffu; r++)
    CHECK_ROW(cmd_audit__regressions(&r->before, &r->after) == r->want,
              r - regression_rows);
}

/* --- Sorting --- */

static void test_host_order(void)
{
  struct cmd_audit_host a, b;
  static const struct cmd_audit_facts none = { 0 };

  host_init(&a, NULL, &none);
  host_init(&b, NULL, &none);
  a.verdict = CMD_AUDIT_RED;
  b.verdict = CMD_AUDIT_YELLOW;
  CHECK(cmd_audit__host_cmp(&a, &b) < 0);
  b.verdict = CMD_AUDIT_RED;
  a.category = CMD_AUDIT_HTTP_ONLY;
  b.category = CMD_AUDIT_INVALID_HSTS;
  CHECK(cmd_audit__host_cmp(&a, &b) < 0);
  b.category = CMD_AUDIT_HTTP_ONLY;
  a.clear_text = 1;
  b.clear_text = 5;
  CHECK(cmd_audit__host_cmp(&a, &b) > 0);
  b.clear_text = 1;
  CHECK_INT(cmd_audit__host_cmp(&a, &b), 0);
}

TEST_MAIN({ "categories", test_categories },
          { "category_names_and_ranks", test_category_names_and_ranks },
          { "problems", test_problems },
          { "problems_from_evidence", test_problems_from_evidence },
          { "eligibility", test_eligibility },
          { "eligibility_without_header", test_eligibility_without_header },
          { "redirects", test_redirects }, { "regressions", test_regressions },
          { "host_order", test_host_order })
