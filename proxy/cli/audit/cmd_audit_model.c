/*
 * cmd_audit_model.c - the audit's judgement: category, problems, preload
 * eligibility, regressions and verdict of one host, as pure functions of
 * the evidence gathered by cmd_audit_build.c (no I/O, no clock: `now` is
 * passed in), so that tests/unit/cli/test_cli_audit_model.c can drive them with
 * tables.
 *
 * Categories, one per host, first rule that applies (README "The audit"):
 *  1. preloaded        a force-https entry of the active preload list (or
 *                      the builtin list) covers the host: browsers upgrade
 *                      from the first visit, whatever it sends.
 *  2. invalid-hsts     the newest header evidence (latest completed probe,
 *                      or the learned policy when it is newer) is an
 *                      invalid header. It beats an older learned policy:
 *                      that one can no longer be renewed and will expire.
 *  3. hsts / weak-hsts the newest header evidence is a valid header with
 *                      max-age > 0; else a standing policy: the host's own
 *                      manual policy (the operator's decision: newer "no
 *                      header" evidence does not undo it) or a parent's
 *                      live learned/manual policy with includeSubDomains.
 *                      hsts when max-age >= 1 year, else weak-hsts. A
 *                      learned policy that newer evidence contradicts (no
 *                      header, max-age=0) does not count here; it is a
 *                      regression.
 *  4. redirect-no-hsts a plain-HTTP answer redirected to https.
 *  5. http-only        plain-HTTP requests were served in clear text and
 *                      none was redirected to https.
 *  6. redirect-no-hsts a probe completed over HTTPS and found no policy
 *                      (the host was reached only over HTTPS).
 *  7. https-unprobed   seen only through CONNECT, or by probes that never
 *                      completed: its header is unknown.
 *  8. http-only        anything else (e.g. only upgrades under a policy
 *                      that has since vanished: the next plain-HTTP
 *                      request goes out in clear text).
 */
#include <string.h>
#include <strings.h>

#include "cmd_audit.h"
#include "hsts_url.h"

#define YEAR CMD_AUDIT_YEAR

static const char *const category_names[CMD_AUDIT_CATEGORIES] = {
  "preloaded",        "hsts",      "weak-hsts",     "invalid-hsts",
  "redirect-no-hsts", "http-only", "https-unprobed"
};

/* Worst first: what to fix first heads the table. */
static const int category_ranks[CMD_AUDIT_CATEGORIES] = {
  [CMD_AUDIT_HTTP_ONLY] = 0,        [CMD_AUDIT_INVALID_HSTS] = 1,
  [CMD_AUDIT_REDIRECT_NO_HSTS] = 2, [CMD_AUDIT_HTTPS_UNPROBED] = 3,
  [CMD_AUDIT_WEAK_HSTS] = 4,        [CMD_AUDIT_HSTS] = 5,
  [CMD_AUDIT_PRELOADED] = 6
};

static const char *const regression_names[CMD_AUDIT_REG_KINDS] = {
  "max_age_cut",    "include_subdomains_dropped",
  "max_age_zero",   "header_gone",
  "header_invalid", "policy_vanished"
};

const char *cmd_audit__category_name(enum cmd_audit_category c)
{
  return (unsigned)c < CMD_AUDIT_CATEGORIES ? category_names[c] : "?";
}

int cmd_audit__category_rank(enum cmd_audit_category c)
{
  return (unsigned)c < CMD_AUDIT_CATEGORIES ? category_ranks[c] : 0;
}

const char *cmd_audit__verdict_name(enum cmd_audit_verdict v)
{
  static const char *const names[] = { "green", "yellow", "red" };

  return (unsigned)v < CMD_AUDIT_VERDICTS ? names[v] : "?";
}

const char *cmd_audit__severity_name(enum cmd_audit_severity s)
{
  static const char *const names[] = { "info", "warning", "error" };

  return (unsigned)s <= CMD_AUDIT_ERROR ? names[s] : "?";
}

const char *cmd_audit__regression_name(enum cmd_audit_regression_kind k)
{
  return (unsigned)k < CMD_AUDIT_REG_KINDS ? regression_names[k] : "?";
}

const char *cmd_audit__from_name(enum cmd_audit_from f)
{
  static const char *const names[] = { "none", "probe", "policy" };

  return (unsigned)f <= CMD_AUDIT_FROM_POLICY ? names[f] : "?";
}

static enum cmd_audit_category by_max_age(uint32_t max_age)
{
  return max_age >= YEAR ? CMD_AUDIT_HSTS : CMD_AUDIT_WEAK_HSTS;
}

enum cmd_audit_category cmd_audit__categorize(const struct cmd_audit_facts *f)
{
  if (f->static_force && !f->ip_literal)
    return CMD_AUDIT_PRELOADED;
  if (f->header == CMD_AUDIT_HDR_INVALID)
    return CMD_AUDIT_INVALID_HSTS;
  if (f->header == CMD_AUDIT_HDR_VALID && f->header_max_age > 0)
    return by_max_age(f->header_max_age);
  if (f->standing)
    return by_max_age(f->standing_max_age);
  if (f->redirect_up)
    return CMD_AUDIT_REDIRECT_NO_HSTS;
  if (f->clear_text > 0)
    return CMD_AUDIT_HTTP_ONLY;
  if (f->probe_completed)
    return CMD_AUDIT_REDIRECT_NO_HSTS;
  if (f->https_seen)
    return CMD_AUDIT_HTTPS_UNPROBED;
  return CMD_AUDIT_HTTP_ONLY;
}

/* The audit's own problems (the header's come from hsts_header_parse). */
enum own_problem {
  P_NO_HEADER,
  P_MULTIPLE_HEADERS,
  P_NO_REDIRECT,
  P_FIRST_INSECURE,
  P_WWW_FIRST,
  P_INSECURE_INITIAL,
  P_INSECURE_SUBSEQUENT,
  P_CERT,
  P_CANNOT_CONNECT,
  P_IS_SUBDOMAIN,
  P_OVER_HTTP,
  P_EXPIRING,
  P_PRELOAD_NOT_LISTED,
  P_NO_LONGER_QUALIFIES,
  P_COVERED_BY_PARENT,
  P_MANUAL_ONLY,
  P_NO_POLICY,
  P_UNPROBED,
  P_TOO_LONG,
  P_IP_LITERAL,
  P_LOCALHOST,
  P_SINGLE_LABEL,
  P_MANUAL_FAILED,
  P_COUNT
};

#define E                                CMD_AUDIT_ERROR
#define W                                CMD_AUDIT_WARNING
#define I                                CMD_AUDIT_INFO
#define DEF(id, code, severity, message) [id] = { code, severity, message }
static const struct cmd_audit_problem own[P_COUNT] = {
  DEF(P_NO_HEADER, "response.no_header", E,
      "The HTTPS response carries no Strict-Transport-Security header."),
  DEF(P_MULTIPLE_HEADERS, "response.multiple_headers", E,
      "The HTTPS response carries more than one Strict-Transport-Security "
      "header; only the first counts."),
  DEF(P_NO_REDIRECT, "redirects.http.no_redirect", E,
      "Plain-HTTP requests were answered in clear text, without a redirect "
      "to HTTPS."),
  DEF(P_FIRST_INSECURE, "redirects.http.first_redirect.insecure", E,
      "The first redirect of a plain-HTTP URL does not go to HTTPS on the "
      "same host."),
  DEF(P_WWW_FIRST, "redirects.http.www_first", E,
      "Plain HTTP redirects to the www subdomain before HTTPS on the same "
      "host."),
  DEF(P_INSECURE_INITIAL, "redirects.insecure.initial", E,
      "An HTTPS URL redirects to plain HTTP."),
  DEF(P_INSECURE_SUBSEQUENT, "redirects.insecure.subsequent", E,
      "A redirect chain goes back to plain HTTP after reaching HTTPS."),
  DEF(P_CERT, "domain.tls.invalid_cert_chain", E,
      "The latest probe failed: the certificate chain or name did not "
      "verify."),
  DEF(P_CANNOT_CONNECT, "domain.tls.cannot_connect", E,
      "The latest probe could not get an HTTPS response."),
  DEF(P_IS_SUBDOMAIN, "domain.is_subdomain", E,
      "Only registrable domains (eTLD+1) can be submitted for preloading."),
  DEF(P_OVER_HTTP, "proxy.header.sent_over_http", W,
      "A Strict-Transport-Security header came over plain HTTP, where "
      "browsers ignore it."),
  DEF(P_EXPIRING, "proxy.policy.expiring", W,
      "The policy in force expires within 30 days unless a new header "
      "renews it."),
  DEF(P_PRELOAD_NOT_LISTED, "proxy.header.preload_not_listed", W,
      "The header asks for preloading, but the host is not on the preload "
      "list judged against."),
  DEF(P_NO_LONGER_QUALIFIES, "proxy.preload.header_no_longer_qualifies", W,
      "The host is on the preload list, but its live header no longer "
      "meets the preload requirements."),
  DEF(P_COVERED_BY_PARENT, "proxy.policy.covered_by_parent", I,
      "The host is covered only through a parent domain's "
      "includeSubDomains."),
  DEF(P_MANUAL_ONLY, "proxy.policy.manual_only", I,
      "Only a manual policy protects the host here; no valid header from "
      "it was observed."),
  DEF(P_NO_POLICY, "proxy.policy.none", E,
      "No HSTS policy is known for the host: every first visit over plain "
      "HTTP is exposed."),
  DEF(P_UNPROBED, "proxy.https.unprobed", W,
      "The host's HTTPS side was never probed: its header is unknown."),
  DEF(P_TOO_LONG, "proxy.header.too_long", W,
      "The header is longer than the store keeps; it was judged from the "
      "probe's own parse."),
  DEF(P_IP_LITERAL, "proxy.host.ip_literal", I,
      "An IP literal: HSTS never applies to it."),
  DEF(P_LOCALHOST, "proxy.host.localhost", I,
      "localhost or a name below it: it never gets an HSTS policy."),
  DEF(P_SINGLE_LABEL, "proxy.host.single_label", I,
      "A single-label (intranet) name: no preload list can hold it and no "
      "policy covers it."),
  DEF(P_MANUAL_FAILED, "proxy.probe.manual_failed", I,
      "The latest probe, from the command line, failed; it was verified "
      "against that command's trust store, so it says nothing about the "
      "host's certificate as the proxy sees it."),
};
#undef DEF
#undef E
#undef W
#undef I

static void add(struct cmd_audit_host *h, enum own_problem id,
                enum cmd_audit_severity severity)
{
  size_t i;

  for (i = 0; i < h->nproblems; i++)
    if (strcmp(h->problems[i].code, own[id].code) == 0)
      return;
  if (h->nproblems >= CMD_AUDIT_PROBLEMS_MAX)
    return;
  h->problems[h->nproblems] = own[id];
  h->problems[h->nproblems].severity = severity;
  h->nproblems++;
}

static void add_default(struct cmd_audit_host *h, enum own_problem id)
{
  add(h, id, own[id].severity);
}

static int is_preload_only(const char *code)
{
  static const char preloadable[] = "header.preloadable.";

  return strncmp(code, preloadable, sizeof(preloadable) - 1) == 0 ||
         strcmp(code, "proxy.header.max_age.quoted") == 0;
}

/*
 * The live header's own problems, in check-header's vocabulary. What only
 * blocks preloading is an error for a host that asks for it (the preload
 * token) or is listed, and a warning for the others: for them preloading
 * is an option, not a broken promise.
 */
static void header_problems(struct cmd_audit_host *h)
{
  int wants = h->parse.preload || h->facts.static_own;
  size_t i;

  for (i = 0; i < h->parse.nproblems && h->nproblems < CMD_AUDIT_PROBLEMS_MAX;
       i++) {
    const struct hsts_problem *p = &h->parse.problems[i];
    struct cmd_audit_problem *q = &h->problems[h->nproblems++];

    q->code = p->code;
    q->message = p->message;
    q->severity = p->severity == HSTS_SEVERITY_ERROR ? CMD_AUDIT_ERROR
                                                     : CMD_AUDIT_WARNING;
    if (h->parse.valid && !wants && is_preload_only(p->code))
      q->severity = CMD_AUDIT_WARNING;
  }
}

static int unprotected(enum cmd_audit_category c)
{
  return c == CMD_AUDIT_REDIRECT_NO_HSTS || c == CMD_AUDIT_HTTP_ONLY ||
         c == CMD_AUDIT_HTTPS_UNPROBED;
}

/* Does the live header meet hstspreload.org's header requirements? */
static int header_qualifies(const struct cmd_audit_host *h)
{
  return h->facts.header == CMD_AUDIT_HDR_VALID &&
         h->facts.header_max_age >= YEAR && h->parse.include_subdomains &&
         h->parse.preload;
}

static void evidence_problems(struct cmd_audit_host *h)
{
  const struct store_audit_host *c = &h->counts;

  if (h->header_too_long)
    add_default(h, P_TOO_LONG);
  if (h->sts_count > 1)
    add_default(h, P_MULTIPLE_HEADERS);
  if (h->facts.header == CMD_AUDIT_HDR_NONE)
    add(h, P_NO_HEADER,
        unprotected(h->category) ? CMD_AUDIT_ERROR : CMD_AUDIT_WARNING);
  if (h->tls == CMD_AUDIT_TLS_CERT)
    add_default(h, P_CERT);
  else if (h->tls == CMD_AUDIT_TLS_UNREACHABLE)
    add_default(h, P_CANNOT_CONNECT);
  if (h->manual_failed)
    add_default(h, P_MANUAL_FAILED);
  if (h->redirect == CMD_AUDIT_REDIR_NONE)
    add_default(h, P_NO_REDIRECT);
  else if (h->redirect == CMD_AUDIT_REDIR_WWW)
    add_default(h, P_WWW_FIRST);
  else if (h->redirect == CMD_AUDIT_REDIR_INSECURE)
    add_default(h, P_FIRST_INSECURE);
  if (c->downgrades_first > 0)
    add_default(h, P_INSECURE_INITIAL);
  if (c->downgrades_later > 0)
    add_default(h, P_INSECURE_SUBSEQUENT);
  if (c->sts_over_http > 0)
    add(h, P_OVER_HTTP,
        unprotected(h->category) ? CMD_AUDIT_WARNING : CMD_AUDIT_INFO);
}

static void policy_problems(struct cmd_audit_host *h, int64_t now)
{
  int dynamic =
      h->source == HSTS_SOURCE_LEARNED || h->source == HSTS_SOURCE_MANUAL;

  if (dynamic && h->policy_expires != STORE_NEVER && h->policy_expires > 0 &&
      h->policy_expires - now < CMD_AUDIT_EXPIRING_S)
    add_default(h, P_EXPIRING);
  if (h->header_raw != NULL && h->parse.preload && !h->facts.static_force)
    add_default(h, P_PRELOAD_NOT_LISTED);
  if (h->facts.static_own && h->facts.header != CMD_AUDIT_HDR_UNKNOWN &&
      !header_qualifies(h))
    add_default(h, P_NO_LONGER_QUALIFIES);
  if (h->facts.static_force && !h->facts.static_own)
    add(h, P_COVERED_BY_PARENT, CMD_AUDIT_INFO);
  else if ((h->category == CMD_AUDIT_HSTS ||
            h->category == CMD_AUDIT_WEAK_HSTS) &&
           h->facts.header != CMD_AUDIT_HDR_VALID && h->facts.standing) {
    if (h->facts.standing_parent)
      add(h, P_COVERED_BY_PARENT, CMD_AUDIT_WARNING);
    else
      add_default(h, P_MANUAL_ONLY);
  }
  if ((h->category == CMD_AUDIT_REDIRECT_NO_HSTS ||
       h->category == CMD_AUDIT_HTTP_ONLY) &&
      h->facts.header != CMD_AUDIT_HDR_NONE)
    add_default(h, P_NO_POLICY);
  if ((h->category == CMD_AUDIT_HTTPS_UNPROBED ||
       h->category == CMD_AUDIT_REDIRECT_NO_HSTS) &&
      !h->has_probe)
    add_default(h, P_UNPROBED);
}

static enum cmd_audit_verdict verdict_of(const struct cmd_audit_host *h)
{
  enum cmd_audit_verdict v = CMD_AUDIT_GREEN;
  size_t i;

  for (i = 0; i < h->nproblems; i++) {
    if (h->problems[i].severity == CMD_AUDIT_ERROR)
      return CMD_AUDIT_RED;
    if (h->problems[i].severity == CMD_AUDIT_WARNING)
      v = CMD_AUDIT_YELLOW;
  }
  return v;
}

/* Why no policy can be expected for the host, or P_COUNT. */
static enum own_problem never_policy(const struct cmd_audit_facts *f)
{
  if (f->ip_literal)
    return P_IP_LITERAL;
  if (f->localhost)
    return P_LOCALHOST;
  return f->single_label ? P_SINGLE_LABEL : P_COUNT;
}

void cmd_audit__problems(struct cmd_audit_host *h, int64_t now)
{
  enum own_problem never = never_policy(&h->facts);

  h->nproblems = 0;
  if (never != P_COUNT) {
    add_default(h, never);
    if (h->redirect == CMD_AUDIT_REDIR_NONE)
      add(h, P_NO_REDIRECT, CMD_AUDIT_WARNING);
    h->verdict = verdict_of(h);
    return;
  }
  if (h->header_raw != NULL && !h->header_too_long)
    header_problems(h);
  evidence_problems(h);
  policy_problems(h, now);
  h->verdict = verdict_of(h);
}

static void check(struct cmd_audit_host *h, const char *name, int unknown,
                  const char *code)
{
  struct cmd_audit_check *c;

  if (h->nchecks >= CMD_AUDIT_CHECKS_MAX)
    return;
  c = &h->checks[h->nchecks++];
  c->check = name;
  c->unknown = unknown;
  c->code = code;
}

static void tls_check(struct cmd_audit_host *h)
{
  if (h->tls == CMD_AUDIT_TLS_CERT)
    check(h, "certificate", 0, own[P_CERT].code);
  else if (h->tls == CMD_AUDIT_TLS_UNREACHABLE)
    check(h, "certificate", 0, own[P_CANNOT_CONNECT].code);
  else if (h->tls == CMD_AUDIT_TLS_UNKNOWN)
    check(h, "certificate", 1, own[P_UNPROBED].code);
}

static void redirect_check(struct cmd_audit_host *h)
{
  switch (h->redirect) {
  case CMD_AUDIT_REDIR_SECURE:
    return;
  case CMD_AUDIT_REDIR_WWW:
    check(h, "http_redirect", 0, own[P_WWW_FIRST].code);
    return;
  case CMD_AUDIT_REDIR_INSECURE:
    check(h, "http_redirect", 0, own[P_FIRST_INSECURE].code);
    return;
  case CMD_AUDIT_REDIR_NONE:
    check(h, "http_redirect", 0, own[P_NO_REDIRECT].code);
    return;
  default:
    check(h, "http_redirect", 1, NULL);
  }
}

/* The first error of the parse: why the header is invalid. */
static const char *first_error(const struct hsts_header *p)
{
  size_t i;

  for (i = 0; i < p->nproblems; i++)
    if (p->problems[i].severity == HSTS_SEVERITY_ERROR)
      return p->problems[i].code;
  return NULL;
}

static const char *max_age_code(const struct cmd_audit_host *h)
{
  if (!h->parse.has_max_age)
    return "header.preloadable.max_age.missing";
  if (h->parse.max_age == 0)
    return "header.preloadable.max_age.zero";
  return "header.preloadable.max_age.below_1_year";
}

static void header_checks(struct cmd_audit_host *h)
{
  enum cmd_audit_header hd = h->facts.header;
  const char *none = own[P_NO_HEADER].code;
  int seen = hd == CMD_AUDIT_HDR_VALID || hd == CMD_AUDIT_HDR_INVALID;

  if (hd == CMD_AUDIT_HDR_UNKNOWN) {
    check(h, "header", 1, NULL);
    return;
  }
  if (hd == CMD_AUDIT_HDR_NONE)
    check(h, "header", 0, none);
  else if (h->sts_count > 1)
    check(h, "header", 0, own[P_MULTIPLE_HEADERS].code);
  else if (hd == CMD_AUDIT_HDR_INVALID)
    check(h, "header", 0, first_error(&h->parse));
  if (!seen || !h->parse.has_max_age || h->parse.max_age < YEAR)
    check(h, "max_age", 0, seen ? max_age_code(h) : none);
  if (!seen || !h->parse.include_subdomains)
    check(h, "include_subdomains", 0,
          seen ? "header.preloadable.include_sub_domains.missing" : none);
  if (!seen || !h->parse.preload)
    check(h, "preload", 0, seen ? "header.preloadable.preload.missing" : none);
}

void cmd_audit__eligibility(struct cmd_audit_host *h)
{
  enum own_problem never = never_policy(&h->facts);

  h->nchecks = 0;
  if (never != P_COUNT) {
    check(h, "domain", 0, own[never].code);
    h->eligible = 0;
    return;
  }
  if (!h->registrable)
    check(h, "domain", 0, own[P_IS_SUBDOMAIN].code);
  tls_check(h);
  redirect_check(h);
  header_checks(h);
  h->eligible = h->nchecks == 0;
}

enum cmd_audit_redirect cmd_audit__classify_redirect(const char *host,
                                                     const char *location)
{
  static const char www[] = "www.";
  char to[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  struct hsts_url u;
  size_t n = strlen(host);

  if (location == NULL ||
      hsts_url_parse(location, strlen(location), &u) != HSTS_OK ||
      hsts_host_normalize(u.host, u.host_len, to, &kind) != HSTS_OK)
    return CMD_AUDIT_REDIR_INSECURE;
  if (strlen(to) == n + sizeof(www) - 1 &&
      strncmp(to, www, sizeof(www) - 1) == 0 &&
      strcmp(to + sizeof(www) - 1, host) == 0)
    return CMD_AUDIT_REDIR_WWW;
  if (u.scheme_len == sizeof("https") - 1 &&
      strncasecmp(u.scheme, "https", u.scheme_len) == 0 &&
      strcmp(to, host) == 0)
    return CMD_AUDIT_REDIR_SECURE;
  return CMD_AUDIT_REDIR_INSECURE;
}

unsigned cmd_audit__regressions(const struct cmd_audit_obs *before,
                                const struct cmd_audit_obs *after)
{
  unsigned bits = 0;

  if (before->header != CMD_AUDIT_HDR_VALID || before->max_age <= 0)
    return 0; /* there was no policy to weaken */
  switch (after->header) {
  case CMD_AUDIT_HDR_NONE:
    return 1u << CMD_AUDIT_REG_HEADER_GONE;
  case CMD_AUDIT_HDR_INVALID:
    return 1u << CMD_AUDIT_REG_HEADER_INVALID;
  case CMD_AUDIT_HDR_VALID:
    break;
  default:
    return 0;
  }
  if (after->max_age <= 0)
    return 1u << CMD_AUDIT_REG_MAX_AGE_ZERO;
  if (after->max_age < before->max_age)
    bits |= 1u << CMD_AUDIT_REG_MAX_AGE_CUT;
  if (before->include_subdomains && !after->include_subdomains)
    bits |= 1u << CMD_AUDIT_REG_SUBDOMAINS_DROPPED;
  return bits;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
  return a > b ? -1 : a < b ? 1 : 0;
}

int cmd_audit__host_cmp(const void *a, const void *b)
{
  const struct cmd_audit_host *x = a, *y = b;
  int d;

  if (x->verdict != y->verdict)
    return x->verdict > y->verdict ? -1 : 1;
  d = cmd_audit__category_rank(x->category) -
      cmd_audit__category_rank(y->category);
  if (d != 0)
    return d;
  d = cmp_u64_desc(x->clear_text, y->clear_text);
  if (d != 0)
    return d;
  d = cmp_u64_desc(x->counts.http_requests, y->counts.http_requests);
  if (d != 0)
    return d;
  return strcmp(x->host, y->host);
}
