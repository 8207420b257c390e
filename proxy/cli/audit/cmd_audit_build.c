/*
 * cmd_audit_build.c - gathering the audit's evidence into a report.
 *
 * One pass per store query (store_audit.h), each sorted by host, merged
 * into the report's host array (itself sorted by host until the end, so
 * that a host is found by binary search): the hosts seen with their
 * counters, then the probes (latest attempt, latest completed response,
 * and the regressions between consecutive completed ones), the first
 * redirects and the newest upgrades. Then each host is judged: its policy
 * now (the preload list and the live learned/manual policies, looked up
 * in Chromium's order as the proxy does), its header evidence (the newer
 * of the latest completed probe and its own learned policy), the facts
 * and, through cmd_audit_model.c, its category, problems and eligibility.
 * cmd_audit_rollup.c then sorts, rolls up and totals.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd_audit.h"
#include "hsts_index.h"
#include "store_policy.h"

#define HOSTS_INITIAL 64

/* State while the probe rows of one host go by. */
struct probe_walk {
  struct cmd_audit_report *r;
  struct cmd_audit_host *cur;   /* NULL: a host not seen in the window */
  char name[HSTS_HOST_MAX + 1]; /* the host of the rows going by */
  int has_prev;
  struct cmd_audit_obs prev;
  int err;
};

static char *dup_or_null(const char *s)
{
  return s != NULL ? strdup(s) : NULL;
}

static void set_owned(char **field, const char *s, int *err)
{
  free(*field);
  *field = dup_or_null(s);
  if (s != NULL && *field == NULL)
    *err = STORE_ENOMEM;
}

static int by_name(const void *key, const void *elem)
{
  const struct cmd_audit_host *h = elem;

  return strcmp(key, h->host);
}

struct cmd_audit_host *cmd_audit__find(struct cmd_audit_report *r,
                                       const char *host)
{
  if (host == NULL || r->nhosts == 0)
    return NULL;
  return bsearch(host, r->hosts, r->nhosts, sizeof(r->hosts[0]), by_name);
}

static int on_host(const struct store_audit_host *row, void *arg)
{
  struct cmd_audit_report *r = arg;
  struct cmd_audit_host *h;

  if (r->nhosts == r->hosts_cap) {
    size_t cap = r->hosts_cap ? 2 * r->hosts_cap : HOSTS_INITIAL;
    void *p = realloc(r->hosts, cap * sizeof(r->hosts[0]));

    if (p == NULL)
      return STORE_ENOMEM;
    r->hosts = p;
    r->hosts_cap = cap;
  }
  h = &r->hosts[r->nhosts];
  memset(h, 0, sizeof(*h));
  h->host = strdup(row->host);
  if (h->host == NULL)
    return STORE_ENOMEM;
  r->nhosts++;
  h->counts = *row;
  h->counts.host = NULL;
  h->probe_status = -1;
  return 0;
}

static enum cmd_audit_header header_of(const struct store_audit_probe *p)
{
  if (p->sts_count <= 0 || p->sts_header == NULL)
    return CMD_AUDIT_HDR_NONE;
  return p->valid == 1 ? CMD_AUDIT_HDR_VALID : CMD_AUDIT_HDR_INVALID;
}

/* The latest probe of the host so far (rows come in id order). */
static void note_attempt(struct probe_walk *pw,
                         const struct store_audit_probe *p)
{
  struct cmd_audit_host *h = pw->cur;

  h->has_probe = 1;
  h->probe_time = p->time;
  h->probe_port = p->port;
  h->probe_status = p->status;
  if (p->ok)
    h->tls = CMD_AUDIT_TLS_OK;
  else if (p->reason != NULL && strcmp(p->reason, "certificate") == 0)
    h->tls = CMD_AUDIT_TLS_CERT;
  else
    h->tls = CMD_AUDIT_TLS_UNREACHABLE;
  set_owned(&h->probe_error, p->ok ? NULL : p->error, &pw->err);
  snprintf(h->tls_version, sizeof(h->tls_version), "%s",
           p->tls_version != NULL ? p->tls_version : "");
}

/* A completed probe: the newest header seen so far, and a regression
 * when it is in the window and weaker than the one before. */
static void note_completed(struct probe_walk *pw,
                           const struct store_audit_probe *p)
{
  struct cmd_audit_host *h = pw->cur;
  const struct store_audit_window *w = &pw->r->window;
  struct cmd_audit_obs o;
  unsigned bits;
  int k;

  memset(&o, 0, sizeof(o));
  o.time = p->time;
  o.header = header_of(p);
  o.max_age = o.header == CMD_AUDIT_HDR_VALID ? p->max_age : 0;
  o.include_subdomains = p->include_subdomains == 1;
  o.preload = p->preload == 1;
  if (pw->has_prev &&
      (!w->has_since || p->time * HSTS_MS_PER_S >= w->since_ms)) {
    bits = cmd_audit__regressions(&pw->prev, &o);
    for (k = 0; k < CMD_AUDIT_REG_KINDS && pw->err == STORE_OK; k++)
      if ((bits & (1u << k)) != 0)
        pw->err = cmd_audit__add_regression(
            pw->r, h->host, (enum cmd_audit_regression_kind)k, &pw->prev, &o);
  }
  pw->prev = o;
  pw->has_prev = 1;
  h->has_completed = 1;
  h->probe_obs = o;
  h->sts_count = p->sts_count;
  h->header_too_long =
      p->reason != NULL && strcmp(p->reason, "header_too_long") == 0;
  set_owned(&h->header_raw,
            o.header == CMD_AUDIT_HDR_NONE ? NULL : p->sts_header, &pw->err);
  h->from = CMD_AUDIT_FROM_PROBE;
  h->header_time = p->time;
}

static int on_probe(const struct store_audit_probe *p, void *arg)
{
  struct probe_walk *pw = arg;

  if (p->host == NULL)
    return 0;
  if (strcmp(p->host, pw->name) != 0) {
    snprintf(pw->name, sizeof(pw->name), "%s", p->host);
    pw->cur = cmd_audit__find(pw->r, p->host);
    pw->has_prev = 0;
  }
  if (pw->cur == NULL)
    return 0;
  pw->cur->manual_failed = p->manual && !p->ok;
  if (pw->cur->manual_failed)
    return 0; /* its trust store, names and network are not the proxy's */
  note_attempt(pw, p);
  if (p->ok)
    note_completed(pw, p);
  return pw->err;
}

static int on_redirect(const struct store_audit_redirect *rd, void *arg)
{
  struct cmd_audit_report *r = arg;
  struct cmd_audit_host *h = cmd_audit__find(r, rd->host);
  int err = STORE_OK;

  if (h == NULL)
    return 0;
  h->redirect = cmd_audit__classify_redirect(h->host, rd->location);
  h->redirect_time_ms = rd->time_ms;
  set_owned(&h->redirect_location, rd->location, &err);
  return err;
}

static int on_upgrade(const struct store_audit_upgrade *u, void *arg)
{
  struct cmd_audit_report *r = arg;
  struct cmd_audit_host *h = cmd_audit__find(r, u->host);

  if (h == NULL)
    return 0;
  h->has_upgrade = 1;
  h->upgrade_time_ms = u->time_ms;
  snprintf(h->upgrade_source, sizeof(h->upgrade_source), "%s",
           u->policy_source != NULL ? u->policy_source : "");
  snprintf(h->upgrade_policy_host, sizeof(h->upgrade_policy_host), "%s",
           u->policy_host != NULL ? u->policy_host : "");
  return 0;
}

/* The policy in force now, for display: the lookup's winner. */
static void policy_now(struct cmd_audit_host *h, const struct hsts_result *res)
{
  const struct hsts_entry *e = &res->winner;

  h->source = res->source;
  if (res->source == HSTS_SOURCE_NONE)
    return;
  snprintf(h->policy_host, sizeof(h->policy_host), "%s", e->host);
  h->policy_subdomains = e->include_subdomains;
  if (res->source == HSTS_SOURCE_LEARNED || res->source == HSTS_SOURCE_MANUAL) {
    h->policy_has_max_age = e->max_age > 0;
    h->policy_max_age = e->max_age;
    h->policy_expires = e->expires;
    h->policy_observed = e->observed;
  }
}

/* A parent's live dynamic policy with includeSubDomains, if any. */
static int parent_policy(const struct hsts_index *dix, const char *host,
                         struct hsts_entry *out)
{
  const char *p = strchr(host, '.');

  for (; p != NULL; p = strchr(p + 1, '.'))
    if (hsts_index_get(dix, p + 1, strlen(p + 1), out) &&
        out->include_subdomains)
      return 1;
  return 0;
}

/* Header evidence from the own learned policy, when newer than probes. */
static int learned_evidence(struct store *s, struct cmd_audit_report *r,
                            struct cmd_audit_host *h,
                            const struct hsts_entry *own)
{
  struct store_policy p;
  int err = store_policy_get(s, h->host, r->now, &p);

  if (err == STORE_ENOTFOUND)
    return STORE_OK;
  if (err != STORE_OK)
    return err;
  h->from = CMD_AUDIT_FROM_POLICY;
  h->header_time = p.observed;
  h->header_too_long = 0;
  h->sts_count = 1;
  h->facts.header = CMD_AUDIT_HDR_VALID;
  h->facts.header_max_age = own->max_age;
  set_owned(&h->header_raw, p.raw_header[0] != '\0' ? p.raw_header : NULL,
            &err);
  return err;
}

/* The max-age a dynamic entry stands for (curl imports may lack one). */
static uint32_t entry_max_age(const struct hsts_entry *e)
{
  int64_t left;

  if (e->max_age > 0)
    return e->max_age;
  if (e->expires == 0 || e->expires == STORE_NEVER)
    return UINT32_MAX;
  left = e->expires - e->observed;
  return left <= 0 ? 0 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* Fills the facts that depend on the policies, and the header evidence. */
static int policy_facts(struct store *s, struct cmd_audit_report *r,
                        struct cmd_audit_host *h, const struct hsts_index *dix,
                        const struct hsts_index *six)
{
  struct cmd_audit_facts *f = &h->facts;
  struct hsts_result res;
  struct hsts_entry own, parent;
  int has_own, err = STORE_OK;

  hsts_lookup(dix, six, h->host, r->now, &res);
  policy_now(h, &res);
  f->static_own = res.has_static && res.static_entry.force_https &&
                  strcmp(res.static_entry.host, h->host) == 0;
  f->static_force =
      f->static_own || (res.has_static && res.static_entry.force_https &&
                        res.static_entry.include_subdomains);
  if (h->has_completed) {
    f->header = h->probe_obs.header;
    f->header_max_age = h->probe_obs.max_age > UINT32_MAX
                            ? UINT32_MAX
                            : (uint32_t)h->probe_obs.max_age;
  }
  has_own = hsts_index_get(dix, h->host, strlen(h->host), &own);
  if (has_own && own.source == HSTS_SOURCE_LEARNED &&
      (!h->has_completed || own.observed > h->probe_obs.time))
    err = learned_evidence(s, r, h, &own);
  if (has_own && own.source == HSTS_SOURCE_MANUAL) {
    f->standing = 1;
    f->standing_max_age = entry_max_age(&own);
  } else if (parent_policy(dix, h->host, &parent)) {
    f->standing = 1;
    f->standing_parent = 1;
    f->standing_max_age = entry_max_age(&parent);
  }
  return err;
}

/* h->parse: the raw header re-parsed, or (cut by the store, or a learned
 * policy without its raw value) the fields that are known. */
static void parse_evidence(struct cmd_audit_host *h)
{
  int preload = h->from == CMD_AUDIT_FROM_PROBE && h->probe_obs.preload;

  memset(&h->parse, 0, sizeof(h->parse));
  if (h->header_raw != NULL && !h->header_too_long) {
    hsts_header_parse(h->header_raw, strlen(h->header_raw), &h->parse);
    return;
  }
  if (h->facts.header != CMD_AUDIT_HDR_VALID)
    return;
  h->parse.valid = 1;
  h->parse.has_max_age = 1;
  h->parse.max_age = h->facts.header_max_age;
  h->parse.include_subdomains = h->from == CMD_AUDIT_FROM_PROBE
                                    ? h->probe_obs.include_subdomains
                                    : h->policy_subdomains;
  h->parse.preload = preload;
}

/*
 * Do the counters hold only traffic inside the window? They are the sums
 * of the whole UTC days that meet it (store_audit.h): a first day cut by
 * `since` may hold requests from before it, unless `since` is midnight
 * UTC or the host was first seen at or after it; the last day likewise
 * with `until` and the host's last sighting.
 */
static int counters_exact(const struct store_audit_window *w,
                          const struct store_audit_host *c)
{
  if (!c->has_traffic)
    return 1;
  if (w->has_since && w->since_ms % STORE_AUDIT_MS_PER_DAY != 0 &&
      c->first_seen_ms < w->since_ms)
    return 0;
  return !(w->has_until && w->until_ms % STORE_AUDIT_MS_PER_DAY != 0 &&
           c->last_seen_ms >= w->until_ms);
}

/*
 * The counter-derived facts and the window flag. Clear text is compared
 * with redirects of the same grain: with exact counters, the window's
 * redirect hops; with counters per UTC day (a window cutting a day the
 * host was also seen on outside it), the day counters of redirects to
 * https as well, and "no redirect" is never inferred: the clear-text
 * request may lie outside the window, its redirect with it.
 */
static void traffic_facts(struct cmd_audit_report *r, struct cmd_audit_host *h)
{
  const struct store_audit_host *c = &h->counts;
  struct cmd_audit_facts *f = &h->facts;

  h->clear_text = c->http_requests > c->traffic_upgrades
                      ? c->http_requests - c->traffic_upgrades
                      : 0;
  h->counters_exact = counters_exact(&r->window, c);
  f->redirect_up =
      c->redirects_up > 0 || (!h->counters_exact && c->redirects_to_https > 0);
  f->clear_text = h->clear_text;
  f->probe_completed = h->has_completed;
  f->https_seen = c->connects > 0 || h->has_probe;
  if (h->redirect == CMD_AUDIT_REDIR_UNKNOWN && h->clear_text > 0 &&
      h->counters_exact)
    h->redirect = CMD_AUDIT_REDIR_NONE;
}

static int judge(struct store *s, struct cmd_audit_report *r,
                 struct cmd_audit_host *h, const struct hsts_index *dix,
                 const struct hsts_index *six)
{
  char norm[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind = HSTS_HOST_NAME;
  int err = STORE_OK;

  if (hsts_host_normalize(h->host, strlen(h->host), norm, &kind) != HSTS_OK ||
      kind != HSTS_HOST_NAME) {
    h->facts.ip_literal = kind != HSTS_HOST_NAME;
    h->from = CMD_AUDIT_FROM_NONE; /* HSTS never applies */
    free(h->header_raw);
    h->header_raw = NULL;
  } else if (hsts_host_is_localhost(norm)) {
    h->facts.localhost = 1;
    h->from = CMD_AUDIT_FROM_NONE; /* the store refuses its policies */
  } else {
    err = policy_facts(s, r, h, dix, six);
    parse_evidence(h);
    h->facts.single_label =
        strchr(norm, '.') == NULL && h->source == HSTS_SOURCE_NONE;
  }
  cmd_audit__domain_of(h);
  traffic_facts(r, h);
  h->category = cmd_audit__categorize(&h->facts);
  cmd_audit__problems(h, r->now);
  cmd_audit__eligibility(h);
  return err;
}

static int gather(struct store *s, struct cmd_audit_report *r)
{
  struct probe_walk pw;
  int err;

  err = store_audit_hosts(s, &r->window, on_host, r);
  if (err != STORE_OK)
    return err;
  memset(&pw, 0, sizeof(pw));
  pw.r = r;
  err = store_audit_probes(s, &r->window, on_probe, &pw);
  if (err == STORE_OK)
    err = store_audit_redirects(s, &r->window, on_redirect, r);
  if (err == STORE_OK)
    err = store_audit_upgrades(s, &r->window, on_upgrade, r);
  return err;
}

int cmd_audit__build(struct store *s, const struct store_audit_window *w,
                     int64_t now, struct cmd_audit_report *r)
{
  struct hsts_index *dix = NULL, *six = NULL;
  size_t i;
  int err;

  memset(r, 0, sizeof(*r));
  r->now = now;
  r->window = *w;
  err = store_preload_info(s, &r->list);
  if (err == STORE_OK)
    err = store_audit_meta(s, w, &r->meta);
  if (err == STORE_OK)
    err = store_load_static(s, NULL, &six, NULL);
  if (err == STORE_OK)
    err = store_load_dynamic(s, NULL, now, &dix);
  if (err == STORE_OK)
    err = gather(s, r);
  for (i = 0; err == STORE_OK && i < r->nhosts; i++)
    err = judge(s, r, &r->hosts[i], dix, six);
  if (err == STORE_OK)
    err = cmd_audit__vanished(r, dix);
  if (err == STORE_OK)
    err = cmd_audit__rollup(s, r, six);
  hsts_index_free(&dix);
  hsts_index_free(&six);
  return err;
}
