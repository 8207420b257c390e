/*
 * cmd_audit_data.c - the audit for scripts: one JSON object.
 *
 * JSON (docs/CLI.md "audit"): one object written with cli_json (escaping
 * per RFC 8259, invalid UTF-8 as U+FFFD), keys in a fixed order: window,
 * provenance, totals, hosts, domains, regressions, trend. Every field is
 * present in every object; an absent value is null.
 *
 * Also here: the small helpers every renderer shares. CSV and the
 * provenance rows for people are in cmd_audit_csv.c.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "cmd_audit.h"

#define PERCENT 100

static const char *const header_names[] = { "unknown", "none", "invalid",
                                            "valid" };
static const char *const redirect_names[] = { "unknown", "secure", "www_first",
                                              "insecure", "none" };

void cmd_audit__time_ms(int64_t ms, char out[CLI_TIME_MAX])
{
  cli_time_rfc3339(ms >= 0 ? ms / HSTS_MS_PER_S
                           : -((-ms + HSTS_MS_PER_S - 1) / HSTS_MS_PER_S),
                   out);
}

void cmd_audit__date(int64_t day, char out[CMD_AUDIT_DATE_MAX])
{
  time_t t = (time_t)(day * (STORE_AUDIT_MS_PER_DAY / HSTS_MS_PER_S));
  struct tm tm;

  if (gmtime_r(&t, &tm) == NULL)
    snprintf(out, CMD_AUDIT_DATE_MAX, "?");
  else
    strftime(out, CMD_AUDIT_DATE_MAX, "%Y-%m-%d", &tm);
}

/* The first and last evidence of a host (ms): traffic, hops, probe. */
void cmd_audit__seen(const struct cmd_audit_host *h, int64_t *first,
                     int64_t *last)
{
  const struct store_audit_host *c = &h->counts;
  int64_t a = INT64_MAX, b = INT64_MIN;

  if (c->has_traffic) {
    a = c->first_seen_ms;
    b = c->last_seen_ms;
  }
  if (c->hop_first_ms != 0 || c->hop_last_ms != 0) {
    a = c->hop_first_ms < a ? c->hop_first_ms : a;
    b = c->hop_last_ms > b ? c->hop_last_ms : b;
  }
  if (h->has_probe && c->probes > 0) {
    a = h->probe_time * HSTS_MS_PER_S < a ? h->probe_time * HSTS_MS_PER_S : a;
    b = h->probe_time * HSTS_MS_PER_S > b ? h->probe_time * HSTS_MS_PER_S : b;
  }
  *first = a == INT64_MAX ? 0 : a;
  *last = b == INT64_MIN ? 0 : b;
}

const char *cmd_audit__header_name(enum cmd_audit_header h)
{
  return (unsigned)h <= CMD_AUDIT_HDR_VALID ? header_names[h] : "?";
}

const char *cmd_audit__redirect_name(enum cmd_audit_redirect r)
{
  return (unsigned)r <= CMD_AUDIT_REDIR_NONE ? redirect_names[r] : "?";
}

/* Rounded percentage of part in whole; -1 when whole is 0. */
int cmd_audit__percent(uint64_t part, uint64_t whole)
{
  if (whole == 0)
    return -1;
  return (int)((part * PERCENT + whole / 2) / whole);
}

const char *cmd_audit__domain_state(const struct cmd_audit_domain *d)
{
  if (d->preloaded)
    return "preloaded";
  if (d->listed)
    return "listed";
  if (d->candidate)
    return "candidate";
  return d->nblockers > 0 ? "blocked" : "-";
}

/* --- JSON --- */

static void ktime_s(struct cli_json *j, const char *key, int64_t t)
{
  char s[CLI_TIME_MAX];

  if (t == 0 || t == STORE_NEVER) {
    cli_json_knull(j, key);
    return;
  }
  cli_time_rfc3339(t, s);
  cli_json_kstring(j, key, s);
}

static void ktime_ms(struct cli_json *j, const char *key, int has, int64_t ms)
{
  char s[CLI_TIME_MAX];

  if (!has) {
    cli_json_knull(j, key);
    return;
  }
  cmd_audit__time_ms(ms, s);
  cli_json_kstring(j, key, s);
}

static void json_window(struct cli_json *j, const struct cmd_audit_report *r)
{
  const struct store_audit_meta *m = &r->meta;

  cli_json_key(j, "window");
  cli_json_object_begin(j);
  ktime_ms(j, "since", r->window.has_since, r->window.since_ms);
  ktime_ms(j, "until", r->window.has_until, r->window.until_ms);
  ktime_s(j, "generated", r->now);
  ktime_ms(j, "first_hop", m->first_hop_ms != 0, m->first_hop_ms);
  ktime_ms(j, "last_hop", m->last_hop_ms != 0, m->last_hop_ms);
  cli_json_object_end(j);
}

static void json_list(struct cli_json *j, const struct store_list_info *l)
{
  cli_json_key(j, "preload_list");
  cli_json_object_begin(j);
  cli_json_kstring(j, "name", l->name);
  cli_json_kbool(j, "builtin", l->builtin);
  if (l->builtin)
    cli_json_knull(j, "source");
  else
    cli_json_kstring(j, "source", l->source);
  ktime_s(j, "imported", l->imported);
  cli_json_kuint(j, "entries", l->entries);
  cli_json_kuint(j, "with_subdomains", l->with_subdomains);
  cli_json_kuint(j, "force_https", l->force_https);
  if (l->builtin)
    cli_json_knull(j, "sha256");
  else
    cli_json_kstring(j, "sha256", l->sha256);
  cli_json_object_end(j);
}

static void json_provenance(struct cli_json *j,
                            const struct cmd_audit_report *r)
{
  const struct store_audit_meta *m = &r->meta;
  const struct cmd_audit_totals *t = &r->totals;

  cli_json_key(j, "provenance");
  cli_json_object_begin(j);
  if (r->nstores > 1) { /* several --db, read as one */
    int k;

    cli_json_key(j, "stores");
    cli_json_array_begin(j);
    for (k = 0; k < r->nstores; k++)
      cli_json_string(j, r->stores[k]);
    cli_json_array_end(j);
  }
  json_list(j, &r->list);
  cli_json_key(j, "public_suffix_list");
  cli_json_object_begin(j);
  cli_json_kstring(j, "file", r->psl_file);
  ktime_s(j, "date", r->psl_time);
  cli_json_object_end(j);
  ktime_s(j, "policies_as_of", r->now);
  cli_json_key(j, "thresholds");
  cli_json_object_begin(j);
  cli_json_kuint(j, "hsts_min_max_age", CMD_AUDIT_YEAR);
  cli_json_kuint(j, "short_max_age_below", HSTS_MAX_AGE_6_MONTHS);
  cli_json_kuint(j, "expiring_within", CMD_AUDIT_EXPIRING_S);
  cli_json_kuint(j, "top_hosts", CMD_AUDIT_TOP_MAX);
  cli_json_object_end(j);
  cli_json_key(j, "hop_records");
  cli_json_object_begin(j);
  cli_json_kuint(j, "writer_runs", m->writer_runs);
  cli_json_kuint(j, "submitted", m->submitted);
  cli_json_kuint(j, "written", m->written);
  cli_json_kuint(j, "dropped", m->dropped);
  cli_json_kuint(j, "failed", m->failed);
  cli_json_object_end(j);
  cli_json_key(j, "probes");
  cli_json_object_begin(j);
  cli_json_kbool(j, "recorded", m->has_probe_table);
  cli_json_kuint(j, "hosts_probed", t->probed);
  cli_json_kuint(j, "hosts_unprobed", t->unprobed);
  cli_json_kuint(j, "hosts_probe_failed", t->probe_failed);
  cli_json_object_end(j);
  cli_json_key(j, "counters");
  cli_json_object_begin(j);
  cli_json_kstring(j, "http_requests_and_connects",
                   r->window.has_since || r->window.has_until
                       ? "window days (UTC)"
                       : "since first seen");
  cli_json_kstring(j, "upgrades_and_redirects", "window");
  cli_json_kuint(j, "hosts_beyond_window", t->beyond_window);
  cli_json_kuint(j, "clear_text_unplaced", t->clear_unplaced);
  cli_json_object_end(j);
  cli_json_object_end(j);
}

static void json_categories(struct cli_json *j, const size_t *per)
{
  int c;

  cli_json_object_begin(j);
  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
    cli_json_kuint(j, cmd_audit__category_name((enum cmd_audit_category)c),
                   per[c]);
  cli_json_object_end(j);
}

static void json_totals(struct cli_json *j, const struct cmd_audit_report *r)
{
  const struct cmd_audit_totals *t = &r->totals;
  int pct = cmd_audit__percent(t->traffic_upgrades, t->http_requests);
  size_t i;
  int v;

  cli_json_key(j, "totals");
  cli_json_object_begin(j);
  cli_json_kuint(j, "hosts", r->nhosts);
  cli_json_key(j, "categories");
  json_categories(j, t->per_category);
  cli_json_key(j, "verdicts");
  cli_json_object_begin(j);
  for (v = CMD_AUDIT_RED; v >= CMD_AUDIT_GREEN; v--)
    cli_json_kuint(j, cmd_audit__verdict_name((enum cmd_audit_verdict)v),
                   t->per_verdict[v]);
  cli_json_object_end(j);
  cli_json_kuint(j, "preload_eligible", t->eligible);
  cli_json_kuint(j, "http_requests", t->http_requests);
  cli_json_kuint(j, "upgraded", t->traffic_upgrades);
  cli_json_kuint(j, "clear_text", t->clear_text);
  if (pct < 0)
    cli_json_knull(j, "upgraded_percent");
  else
    cli_json_kint(j, "upgraded_percent", pct);
  cli_json_kuint(j, "upgrades", t->upgrades);
  cli_json_kuint(j, "upstream_redirects", t->upstream_redirects);
  cli_json_kuint(j, "connects", t->connects);
  cli_json_key(j, "top_clear_text");
  cli_json_array_begin(j);
  for (i = 0; i < t->ntop; i++) {
    const struct cmd_audit_host *h = &r->hosts[t->top[i]];

    cli_json_object_begin(j);
    cli_json_kstring(j, "host", h->host);
    cli_json_kstring(j, "category", cmd_audit__category_name(h->category));
    cli_json_kuint(j, "clear_text", h->clear_text);
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
  cli_json_object_end(j);
}

static void json_policy(struct cli_json *j, const struct cmd_audit_host *h)
{
  int dynamic =
      h->source == HSTS_SOURCE_LEARNED || h->source == HSTS_SOURCE_MANUAL;

  cli_json_key(j, "policy");
  cli_json_object_begin(j);
  cli_json_kstring(j, "source", hsts_source_name(h->source));
  if (h->source == HSTS_SOURCE_NONE) {
    cli_json_knull(j, "host");
    cli_json_knull(j, "include_subdomains");
  } else {
    cli_json_kstring(j, "host", h->policy_host);
    cli_json_kbool(j, "include_subdomains", h->policy_subdomains);
  }
  if (dynamic && h->policy_has_max_age)
    cli_json_kuint(j, "max_age", h->policy_max_age);
  else
    cli_json_knull(j, "max_age");
  ktime_s(j, "expires", dynamic ? h->policy_expires : 0);
  ktime_s(j, "observed", dynamic ? h->policy_observed : 0);
  cli_json_kbool(j, "preloaded", h->facts.static_force);
  cli_json_object_end(j);
}

static void json_header(struct cli_json *j, const struct cmd_audit_host *h)
{
  cli_json_key(j, "header");
  if (h->from == CMD_AUDIT_FROM_NONE) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  cli_json_kstring(j, "state", cmd_audit__header_name(h->facts.header));
  cli_json_kstring(j, "value", h->header_raw);
  cli_json_kstring(j, "from", cmd_audit__from_name(h->from));
  ktime_s(j, "time", h->header_time);
  cli_json_kbool(j, "valid", h->facts.header == CMD_AUDIT_HDR_VALID);
  if (h->parse.has_max_age)
    cli_json_kuint(j, "max_age", h->parse.max_age);
  else
    cli_json_knull(j, "max_age");
  cli_json_kbool(j, "include_subdomains", h->parse.include_subdomains);
  cli_json_kbool(j, "preload", h->parse.preload);
  cli_json_object_end(j);
}

static void json_probe(struct cli_json *j, const struct cmd_audit_host *h)
{
  cli_json_key(j, "probe");
  if (!h->has_probe) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  ktime_s(j, "time", h->probe_time);
  cli_json_kbool(j, "ok", h->tls == CMD_AUDIT_TLS_OK);
  cli_json_kint(j, "port", h->probe_port);
  cli_json_kstring(j, "tls_version",
                   h->tls_version[0] != '\0' ? h->tls_version : NULL);
  if (h->probe_status > 0)
    cli_json_kint(j, "status", h->probe_status);
  else
    cli_json_knull(j, "status");
  cli_json_kstring(j, "error", h->probe_error);
  cli_json_object_end(j);
}

static void json_redirect(struct cli_json *j, const struct cmd_audit_host *h)
{
  cli_json_key(j, "first_redirect");
  if (h->redirect_time_ms == 0) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  ktime_ms(j, "time", 1, h->redirect_time_ms);
  cli_json_kstring(j, "location", h->redirect_location);
  cli_json_kstring(j, "verdict", cmd_audit__redirect_name(h->redirect));
  cli_json_object_end(j);
}

static void json_problems(struct cli_json *j, const struct cmd_audit_host *h)
{
  size_t i;

  cli_json_key(j, "problems");
  cli_json_array_begin(j);
  for (i = 0; i < h->nproblems; i++) {
    cli_json_object_begin(j);
    cli_json_kstring(j, "code", h->problems[i].code);
    cli_json_kstring(j, "severity",
                     cmd_audit__severity_name(h->problems[i].severity));
    cli_json_kstring(j, "message", h->problems[i].message);
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
  cli_json_kbool(j, "preload_eligible", h->eligible);
  cli_json_key(j, "failing_checks");
  cli_json_array_begin(j);
  for (i = 0; i < h->nchecks; i++) {
    cli_json_object_begin(j);
    cli_json_kstring(j, "check", h->checks[i].check);
    cli_json_kstring(j, "result", h->checks[i].unknown ? "unknown" : "fail");
    cli_json_kstring(j, "code", h->checks[i].code);
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
}

static void json_host(struct cli_json *j, const struct cmd_audit_host *h)
{
  const struct store_audit_host *c = &h->counts;
  int64_t first, last;

  cmd_audit__seen(h, &first, &last);
  cli_json_object_begin(j);
  cli_json_kstring(j, "host", h->host);
  cli_json_kstring(j, "category", cmd_audit__category_name(h->category));
  cli_json_kstring(j, "verdict", cmd_audit__verdict_name(h->verdict));
  if (h->facts.ip_literal)
    cli_json_knull(j, "registrable_domain");
  else
    cli_json_kstring(j, "registrable_domain", h->domain);
  cli_json_kuint(j, "http_requests", c->http_requests);
  cli_json_kuint(j, "clear_text", h->clear_text);
  cli_json_kuint(j, "upgrades", c->upgrades);
  cli_json_kuint(j, "upstream_redirects", c->upstream_redirects);
  cli_json_kuint(j, "redirects_to_https", c->redirects_up);
  cli_json_kuint(j, "connects", c->connects);
  cli_json_kuint(j, "intercepted_hops", c->intercepted);
  ktime_ms(j, "first_seen", first != 0, first);
  ktime_ms(j, "last_seen", last != 0, last);
  cli_json_kbool(j, "counters_exact", h->counters_exact);
  json_policy(j, h);
  json_header(j, h);
  json_probe(j, h);
  json_redirect(j, h);
  json_problems(j, h);
  cli_json_object_end(j);
}

static void json_domain(struct cli_json *j, const struct cmd_audit_domain *d)
{
  size_t i;

  cli_json_object_begin(j);
  cli_json_kstring(j, "domain", d->domain);
  cli_json_kuint(j, "hosts", d->hosts);
  cli_json_key(j, "categories");
  json_categories(j, d->per_category);
  cli_json_kstring(j, "worst", cmd_audit__verdict_name(d->worst));
  cli_json_kbool(j, "apex_seen", d->apex_seen);
  cli_json_kbool(j, "preloaded", d->preloaded);
  cli_json_kbool(j, "listed", d->listed);
  cli_json_kbool(j, "preload_candidate", d->candidate);
  cli_json_key(j, "blockers");
  cli_json_array_begin(j);
  for (i = 0; i < d->nblockers; i++) {
    cli_json_object_begin(j);
    cli_json_kstring(j, "host", d->blockers[i].host);
    cli_json_kstring(j, "reason",
                     d->blockers[i].cert_error ? "certificate_error"
                                               : "plain_http_only");
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
  cli_json_object_end(j);
}

static void json_obs(struct cli_json *j, const char *key,
                     const struct cmd_audit_obs *o)
{
  cli_json_key(j, key);
  cli_json_object_begin(j);
  ktime_s(j, "time", o->time);
  cli_json_kstring(j, "header", cmd_audit__header_name(o->header));
  if (o->header == CMD_AUDIT_HDR_VALID)
    cli_json_kint(j, "max_age", o->max_age);
  else
    cli_json_knull(j, "max_age");
  if (o->header == CMD_AUDIT_HDR_VALID)
    cli_json_kbool(j, "include_subdomains", o->include_subdomains);
  else
    cli_json_knull(j, "include_subdomains");
  cli_json_object_end(j);
}

static void json_regression(struct cli_json *j,
                            const struct cmd_audit_regression *g)
{
  int vanished = g->kind == CMD_AUDIT_REG_POLICY_VANISHED;

  cli_json_object_begin(j);
  cli_json_kstring(j, "host", g->host);
  cli_json_kstring(j, "kind", cmd_audit__regression_name(g->kind));
  json_obs(j, "before", &g->before);
  json_obs(j, "after", &g->after);
  cli_json_kstring(j, "policy_source", vanished ? g->source : NULL);
  cli_json_kstring(j, "policy_host", vanished ? g->policy_host : NULL);
  cli_json_object_end(j);
}

static void json_trend(struct cli_json *j, const struct cmd_audit_report *r)
{
  char date[CMD_AUDIT_DATE_MAX];
  size_t i;

  cli_json_key(j, "trend");
  cli_json_array_begin(j);
  for (i = 0; i < r->ndays; i++) {
    const struct cmd_audit_day *d = &r->days[i];

    cmd_audit__date(d->day, date);
    cli_json_object_begin(j);
    cli_json_kstring(j, "date", date);
    cli_json_kuint(j, "clear_text", d->clear_text);
    cli_json_kuint(j, "upgraded", d->upgrades);
    cli_json_kuint(j, "upstream_redirects", d->upstream_redirects);
    cli_json_kuint(j, "redirects_to_https", d->redirects_up);
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
}

int cmd_audit__json(const struct cmd_audit_report *r, FILE *f)
{
  struct cli_json j;
  size_t i;

  cli_json_init(&j, f);
  cli_json_object_begin(&j);
  json_window(&j, r);
  json_provenance(&j, r);
  json_totals(&j, r);
  cli_json_key(&j, "hosts");
  cli_json_array_begin(&j);
  for (i = 0; i < r->nhosts; i++)
    json_host(&j, &r->hosts[i]);
  cli_json_array_end(&j);
  cli_json_key(&j, "domains");
  cli_json_array_begin(&j);
  for (i = 0; i < r->ndomains; i++)
    json_domain(&j, &r->domains[i]);
  cli_json_array_end(&j);
  cli_json_key(&j, "regressions");
  cli_json_array_begin(&j);
  for (i = 0; i < r->nregs; i++)
    json_regression(&j, &r->regs[i]);
  cli_json_array_end(&j);
  json_trend(&j, r);
  cli_json_object_end(&j);
  return j.failed || ferror(f) ? -1 : 0;
}
