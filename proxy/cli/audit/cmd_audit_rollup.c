/*
 * cmd_audit_rollup.c - what the audit derives from the judged hosts.
 *
 *  - Regressions: the builder adds those between consecutive probes;
 *    here, policy_vanished: the newest upgrade of a host in the window was
 *    decided by a policy that is gone now (a learned or manual entry
 *    expired or deleted, or a preload entry absent from the active list)
 *    and no other policy covers the host now (the effective policy, as
 *    the proxy looks it up, decides: a parent's includeSubDomains too).
 *  - The hosts sorted worst first (cmd_audit__host_cmp).
 *  - The rollup by registrable domain (eTLD+1) with libpsl's built-in
 *    Public Suffix List; a host that is itself a public suffix is its own
 *    domain; IP literals have none and are left out. A domain is a preload
 *    candidate when its apex was seen and passes every preload check, the
 *    list does not already cover it with its subdomains, and none of its
 *    seen subdomains would break under includeSubDomains (plain HTTP only,
 *    or a certificate error).
 *  - Totals, the top clear-text hosts, and the per-day trend (hops and
 *    clear text per UTC day, from the hop log and the day counters; every
 *    request has its day since schema v4, so clear_unplaced stays 0).
 */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_audit.h"
#include "hsts_index.h"

#define REGS_INITIAL 16
#define DAYS_INITIAL 16

int cmd_audit__add_regression(struct cmd_audit_report *r, const char *host,
                              enum cmd_audit_regression_kind kind,
                              const struct cmd_audit_obs *before,
                              const struct cmd_audit_obs *after)
{
  struct cmd_audit_regression *g;

  if (r->nregs == r->regs_cap) {
    size_t cap = r->regs_cap ? 2 * r->regs_cap : REGS_INITIAL;
    void *p = realloc(r->regs, cap * sizeof(r->regs[0]));

    if (p == NULL)
      return STORE_ENOMEM;
    r->regs = p;
    r->regs_cap = cap;
  }
  g = &r->regs[r->nregs++];
  memset(g, 0, sizeof(*g));
  g->host = host;
  g->kind = kind;
  g->before = *before;
  g->after = *after;
  return STORE_OK;
}

/* Is the host still upgraded: by the policy that upgraded it in the
 * window, or by any other now (the effective policy decides)? */
static int still_there(const struct cmd_audit_host *h,
                       const struct hsts_index *dix)
{
  struct hsts_entry e;
  enum hsts_source src = hsts_source_parse(h->upgrade_source);

  if (h->source != HSTS_SOURCE_NONE)
    return 1;
  if (src == HSTS_SOURCE_LEARNED || src == HSTS_SOURCE_MANUAL)
    return hsts_index_get(dix, h->upgrade_policy_host,
                          strlen(h->upgrade_policy_host), &e);
  if (src == HSTS_SOURCE_PRELOAD || src == HSTS_SOURCE_BUILTIN)
    return h->facts.static_force;
  return 1; /* unknown source: nothing to say */
}

int cmd_audit__vanished(struct cmd_audit_report *r,
                        const struct hsts_index *dix)
{
  struct cmd_audit_obs before, after;
  size_t i;
  int err = STORE_OK;

  for (i = 0; err == STORE_OK && i < r->nhosts; i++) {
    struct cmd_audit_host *h = &r->hosts[i];
    struct cmd_audit_regression *g;

    if (!h->has_upgrade || h->facts.ip_literal || still_there(h, dix))
      continue;
    memset(&before, 0, sizeof(before));
    memset(&after, 0, sizeof(after));
    before.time = h->upgrade_time_ms / HSTS_MS_PER_S;
    after.time = r->now;
    err = cmd_audit__add_regression(r, h->host, CMD_AUDIT_REG_POLICY_VANISHED,
                                    &before, &after);
    if (err != STORE_OK)
      break;
    g = &r->regs[r->nregs - 1];
    snprintf(g->source, sizeof(g->source), "%s", h->upgrade_source);
    snprintf(g->policy_host, sizeof(g->policy_host), "%s",
             h->upgrade_policy_host);
  }
  return err;
}

void cmd_audit__domain_of(struct cmd_audit_host *h)
{
  const psl_ctx_t *psl = psl_builtin();
  const char *d = NULL;

  if (psl != NULL && !h->facts.ip_literal)
    d = psl_registrable_domain(psl, h->host);
  snprintf(h->domain, sizeof(h->domain), "%s", d != NULL ? d : h->host);
  h->registrable = strcmp(h->domain, h->host) == 0;
}

static int by_domain(const void *a, const void *b)
{
  const struct cmd_audit_host *const *x = a, *const *y = b;
  int d = strcmp((*x)->domain, (*y)->domain);

  return d != 0 ? d : strcmp((*x)->host, (*y)->host);
}

/* Is the domain covered, with its subdomains, by a force-https entry
 * (d->preloaded), or has it an entry of its own without them (listed)? */
static void domain_on_list(struct cmd_audit_domain *d,
                           const struct hsts_index *six, int64_t now)
{
  struct hsts_result res;

  hsts_lookup(NULL, six, d->domain, now, &res);
  if (!res.has_static || !res.static_entry.force_https)
    return;
  d->preloaded = res.static_entry.include_subdomains;
  d->listed = !d->preloaded && strcmp(res.static_entry.host, d->domain) == 0;
}

static int add_blocker(struct cmd_audit_domain *d,
                       const struct cmd_audit_host *h)
{
  void *p;
  int cert = h->tls == CMD_AUDIT_TLS_CERT;

  if (h->registrable || (!cert && h->category != CMD_AUDIT_HTTP_ONLY))
    return STORE_OK;
  p = realloc(d->blockers, (d->nblockers + 1) * sizeof(d->blockers[0]));
  if (p == NULL)
    return STORE_ENOMEM;
  d->blockers = p;
  d->blockers[d->nblockers].host = h->host;
  d->blockers[d->nblockers].cert_error = cert;
  d->nblockers++;
  return STORE_OK;
}

/* Adds host h to domain d (the last one, same domain). */
static int domain_add(struct cmd_audit_domain *d,
                      const struct cmd_audit_host *h)
{
  d->hosts++;
  d->per_category[h->category]++;
  if (h->verdict > d->worst)
    d->worst = h->verdict;
  if (h->registrable) {
    d->apex_seen = 1;
    d->apex_eligible = h->eligible;
  }
  return add_blocker(d, h);
}

static int domain_cmp(const void *a, const void *b)
{
  const struct cmd_audit_domain *x = a, *y = b;

  if (x->worst != y->worst)
    return x->worst > y->worst ? -1 : 1;
  return strcmp(x->domain, y->domain);
}

static int new_domain(struct cmd_audit_report *r, const char *name,
                      const struct hsts_index *six)
{
  struct cmd_audit_domain *d = &r->domains[r->ndomains];

  memset(d, 0, sizeof(*d));
  d->domain = strdup(name);
  if (d->domain == NULL)
    return STORE_ENOMEM;
  domain_on_list(d, six, r->now);
  r->ndomains++;
  return STORE_OK;
}

static int domains(struct cmd_audit_report *r, const struct hsts_index *six)
{
  struct cmd_audit_host **v;
  size_t i;
  int err = STORE_OK;

  if (r->nhosts == 0)
    return STORE_OK;
  v = malloc(r->nhosts * sizeof(*v));
  r->domains = calloc(r->nhosts, sizeof(r->domains[0]));
  if (v == NULL || r->domains == NULL) {
    free(v);
    return STORE_ENOMEM;
  }
  for (i = 0; i < r->nhosts; i++)
    v[i] = &r->hosts[i];
  qsort(v, r->nhosts, sizeof(*v), by_domain);
  for (i = 0; err == STORE_OK && i < r->nhosts; i++) {
    if (v[i]->facts.ip_literal)
      continue;
    if (r->ndomains == 0 ||
        strcmp(r->domains[r->ndomains - 1].domain, v[i]->domain) != 0)
      err = new_domain(r, v[i]->domain, six);
    if (err == STORE_OK)
      err = domain_add(&r->domains[r->ndomains - 1], v[i]);
  }
  free(v);
  for (i = 0; i < r->ndomains; i++) {
    struct cmd_audit_domain *d = &r->domains[i];

    d->candidate = d->apex_seen && d->apex_eligible && !d->preloaded &&
                   !d->listed && d->nblockers == 0;
  }
  qsort(r->domains, r->ndomains, sizeof(r->domains[0]), domain_cmp);
  return err;
}

static void count_host(struct cmd_audit_totals *t,
                       const struct cmd_audit_host *h)
{
  const struct store_audit_host *c = &h->counts;

  t->per_category[h->category]++;
  t->per_verdict[h->verdict]++;
  t->eligible += h->eligible != 0;
  t->http_requests += c->http_requests;
  t->traffic_upgrades += c->traffic_upgrades;
  t->clear_text += h->clear_text;
  t->upgrades += c->upgrades;
  t->upstream_redirects += c->upstream_redirects;
  t->connects += c->connects;
  if (h->has_completed)
    t->probed++;
  else if (!h->has_probe && !h->facts.ip_literal && !h->facts.localhost)
    t->unprobed++;
  if (h->tls == CMD_AUDIT_TLS_CERT || h->tls == CMD_AUDIT_TLS_UNREACHABLE)
    t->probe_failed++;
  if (!h->counters_exact)
    t->beyond_window++;
}

/* The most clear text first; the host order breaks ties. */
static void top_hosts(struct cmd_audit_report *r)
{
  struct cmd_audit_totals *t = &r->totals;
  size_t i, j, k;

  t->ntop = 0;
  for (i = 0; i < r->nhosts; i++) {
    uint64_t c = r->hosts[i].clear_text;

    if (c == 0)
      continue;
    for (j = 0; j < t->ntop && r->hosts[t->top[j]].clear_text >= c; j++)
      ;
    if (j >= CMD_AUDIT_TOP_MAX)
      continue;
    k = t->ntop < CMD_AUDIT_TOP_MAX ? t->ntop : CMD_AUDIT_TOP_MAX - 1;
    memmove(&t->top[j + 1], &t->top[j], (k - j) * sizeof(t->top[0]));
    t->top[j] = i;
    if (t->ntop < CMD_AUDIT_TOP_MAX)
      t->ntop++;
  }
}

static int on_day(const struct store_audit_day *d, void *arg)
{
  struct cmd_audit_report *r = arg;
  struct cmd_audit_day *x;

  if (r->ndays == r->days_cap) {
    size_t cap = r->days_cap ? 2 * r->days_cap : DAYS_INITIAL;
    void *p = realloc(r->days, cap * sizeof(r->days[0]));

    if (p == NULL)
      return STORE_ENOMEM;
    r->days = p;
    r->days_cap = cap;
  }
  x = &r->days[r->ndays++];
  x->day = d->day;
  x->upgrades = d->upgrades;
  x->upstream_redirects = d->upstream_redirects;
  x->redirects_up = d->redirects_up;
  x->clear_text = d->clear_text;
  return 0;
}

int cmd_audit__rollup(struct store *s, struct cmd_audit_report *r,
                      const struct hsts_index *six)
{
  size_t i;
  int err;

  if (psl_builtin() != NULL && r->psl_file == NULL) {
    r->psl_file = psl_builtin_filename();
    r->psl_time = (int64_t)psl_builtin_file_time();
  }
  if (r->nhosts > 0)
    qsort(r->hosts, r->nhosts, sizeof(r->hosts[0]), cmd_audit__host_cmp);
  err = domains(r, six);
  if (err != STORE_OK)
    return err;
  memset(&r->totals, 0, sizeof(r->totals));
  for (i = 0; i < r->nhosts; i++)
    count_host(&r->totals, &r->hosts[i]);
  top_hosts(r);
  return store_audit_days(s, &r->window, on_day, r);
}

void cmd_audit__report_cleanup(struct cmd_audit_report *r)
{
  size_t i;

  if (r == NULL)
    return;
  for (i = 0; i < r->nhosts; i++) {
    free(r->hosts[i].host);
    free(r->hosts[i].header_raw);
    free(r->hosts[i].probe_error);
    free(r->hosts[i].redirect_location);
  }
  for (i = 0; i < r->ndomains; i++) {
    free(r->domains[i].domain);
    free(r->domains[i].blockers);
  }
  free(r->hosts);
  free(r->domains);
  free(r->regs);
  free(r->days);
  memset(r, 0, sizeof(*r));
}
