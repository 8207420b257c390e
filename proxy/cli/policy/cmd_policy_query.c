/*
 * cmd_policy_query.c - `hstsproxy policy query HOST [--json]`.
 *
 * Answers with the same lookup the proxy makes (hsts_lookup over the
 * dynamic and static indexes, RFC 6797 section 8.2 in Chromium's order),
 * on indexes loaded with only the host's own entries and its parents', so
 * a query stays fast whatever the list's size. Like net-internals, both
 * sides are shown in full, plus one sentence saying why the answer is what
 * it is. Exit 0 when the host is HSTS, 1 when not; an invalid name is a
 * usage error (2). An IP literal is never HSTS (RFC 6797 section 8.1).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_json.h"
#include "cli_out.h"
#include "cli_store.h"
#include "cli_time.h"
#include "cmd_policy.h"
#include "hsts_idna.h"
#include "store_policy.h"
#include "store_preload.h"

#define WHAT      "policy query"
#define WHY_MAX   512
#define SHOWN_MAX 300 /* bytes of an invalid HOST quoted in the error */

struct answer {
  const char *given; /* the HOST operand */
  char norm[HSTS_HOST_MAX + 1];
  char unicode[HSTS_UNICODE_MAX]; /* norm's U-labels; "" when the same */
  enum hsts_host_kind kind;
  struct hsts_result r; /* entry hosts point to the copies: */
  char winner_host[HSTS_HOST_MAX + 1];
  char static_host[HSTS_HOST_MAX + 1];
  char dynamic_host[HSTS_HOST_MAX + 1];
  struct store_list_info list; /* the static side's list */
  struct store_policy dyn;     /* the dynamic entry's stored row */
  int have_dyn_row;
  int64_t now;
  char why[WHY_MAX];
};

/* Repoints e->host to a copy that outlives the index. */
static void keep_host(struct hsts_entry *e, char copy[HSTS_HOST_MAX + 1])
{
  snprintf(copy, HSTS_HOST_MAX + 1, "%s", e->host != NULL ? e->host : "");
  e->host = copy;
}

static void format_expiry(int64_t t, char out[CLI_TIME_MAX])
{
  if (t == STORE_NEVER)
    snprintf(out, CLI_TIME_MAX, "never");
  else
    cli_time_rfc3339(t, out);
}

static void explain(struct answer *a)
{
  const struct hsts_result *r = &a->r;
  const struct hsts_entry *w = &r->winner;
  int exact = r->source != HSTS_SOURCE_NONE && strcmp(w->host, a->norm) == 0;
  const char *cover = exact ? "" : " with includeSubDomains, which covers ";
  char t[CLI_TIME_MAX];

  if (a->kind != HSTS_HOST_NAME) {
    snprintf(a->why, sizeof(a->why),
             "%s is an IP literal, and an IP "
             "literal is never an HSTS host (RFC 6797 section 8.1)",
             a->norm);
  } else if (r->source == HSTS_SOURCE_LEARNED ||
             r->source == HSTS_SOURCE_MANUAL) {
    format_expiry(w->expires, t);
    snprintf(a->why, sizeof(a->why),
             "the %s policy for %s%s %s%s%s; it "
             "expires %s, and learned and manual policies are checked "
             "before the preload list",
             hsts_source_name(r->source), w->host,
             r->source == HSTS_SOURCE_LEARNED
                 ? " (from its Strict-Transport-Security header)"
                 : "",
             exact ? "applies" : "covers ", exact ? "" : a->norm,
             exact ? "" : " with includeSubDomains", t);
  } else if (r->hsts) {
    snprintf(a->why, sizeof(a->why), "%s is on the %s preload list%s%s",
             w->host, a->list.name, cover, exact ? "" : a->norm);
  } else if (r->has_static && !r->static_entry.force_https) {
    snprintf(a->why, sizeof(a->why),
             "the %s preload list's entry for %s "
             "only pins keys (no \"mode\": \"force-https\"), so it never "
             "upgrades, and it hides any entry for a parent domain",
             a->list.name, r->static_entry.host);
  } else {
    snprintf(a->why, sizeof(a->why),
             "no learned or manual policy and no "
             "entry of the %s preload list covers %s",
             a->list.name, a->norm);
  }
}

/* Looks the host up in the open store s; returns a store error. */
static int lookup_in(struct store *s, struct answer *a)
{
  struct hsts_index *st = NULL, *dy = NULL;
  int err = store_load_static(s, a->norm, &st, &a->list);

  if (err == STORE_OK)
    err = store_load_dynamic(s, a->norm, a->now, &dy);
  if (err == STORE_OK) {
    hsts_lookup(dy, st, a->norm, a->now, &a->r);
    keep_host(&a->r.winner, a->winner_host);
    keep_host(&a->r.static_entry, a->static_host);
    keep_host(&a->r.dynamic_entry, a->dynamic_host);
    a->have_dyn_row =
        a->r.has_dynamic &&
        store_policy_get(s, a->dynamic_host, a->now, &a->dyn) == STORE_OK;
  }
  hsts_index_free(&st);
  hsts_index_free(&dy);
  return err;
}

/* Loads the host's entries, looks it up, keeps what is printed. */
static int lookup(const struct cli_globals *g, struct answer *a)
{
  struct store *s;
  int rc = cli_store_open_reader(g, WHAT, &s), err;

  if (rc != CLI_EXIT_OK)
    return rc;
  err = lookup_in(s, a);
  if (err != STORE_OK)
    rc = cli_store_error(WHAT, s, err);
  store_close(&s);
  return rc;
}

static void json_static(struct cli_json *j, const struct answer *a)
{
  const struct hsts_entry *e = &a->r.static_entry;

  cli_json_key(j, "static");
  if (!a->r.has_static) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  cli_json_kstring(j, "host", e->host);
  cli_json_kbool(j, "include_subdomains", e->include_subdomains);
  cli_json_kbool(j, "include_subdomains_for_pinning",
                 e->include_subdomains_for_pinning);
  cli_json_kstring(j, "mode", e->force_https ? "force-https" : NULL);
  cli_json_kstring(j, "list", a->list.name);
  cli_json_kstring(j, "list_date", a->list.list_date);
  cli_json_object_end(j);
}

static void json_dynamic(struct cli_json *j, const struct answer *a)
{
  const struct hsts_entry *e = &a->r.dynamic_entry;

  cli_json_key(j, "dynamic");
  if (!a->r.has_dynamic) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  cli_json_kstring(j, "host", e->host);
  cli_json_kbool(j, "include_subdomains", e->include_subdomains);
  if (!a->have_dyn_row || a->dyn.has_max_age)
    cli_json_kuint(j, "max_age", e->max_age);
  else
    cli_json_knull(j, "max_age");
  cli_json_ktime(j, "observed", e->observed);
  cli_json_ktime(j, "expires", e->expires);
  cli_json_kstring(j, "source", hsts_source_name(e->source));
  cli_json_kstring(j, "how", a->have_dyn_row ? a->dyn.how : NULL);
  cli_json_kstring(j, "raw_header",
                   a->have_dyn_row && a->dyn.raw_header[0] != '\0'
                       ? a->dyn.raw_header
                       : NULL);
  cli_json_object_end(j);
}

static void print_json(const struct answer *a, FILE *f)
{
  const struct hsts_result *r = &a->r;
  int decided = r->source != HSTS_SOURCE_NONE;
  int dynamic =
      r->source == HSTS_SOURCE_LEARNED || r->source == HSTS_SOURCE_MANUAL;
  struct cli_json j;

  cli_json_init(&j, f);
  cli_json_object_begin(&j);
  cli_json_kstring(&j, "host", a->given);
  cli_json_kstring(&j, "normalized", a->norm);
  cli_json_kstring(&j, "unicode", a->unicode[0] != '\0' ? a->unicode : NULL);
  cli_json_kbool(&j, "hsts", r->hsts);
  cli_json_kstring(&j, "source", hsts_source_name(r->source));
  cli_json_kstring(&j, "matched_host", decided ? r->winner.host : NULL);
  if (decided)
    cli_json_kbool(&j, "include_subdomains", r->winner.include_subdomains);
  else
    cli_json_knull(&j, "include_subdomains");
  if (dynamic && (!a->have_dyn_row || a->dyn.has_max_age))
    cli_json_kuint(&j, "max_age", r->winner.max_age);
  else
    cli_json_knull(&j, "max_age");
  cli_json_ktime(&j, "expires", dynamic ? r->winner.expires : STORE_NEVER);
  cli_json_ktime(&j, "observed", dynamic ? r->winner.observed : STORE_NEVER);
  cli_json_kstring(&j, "why", a->why);
  json_static(&j, a);
  json_dynamic(&j, a);
  cli_json_object_end(&j);
}

/* "2027-02-21T10:00:00Z (expires in 293 d)" or "-" */
static void when(const struct answer *a, int64_t t, const char *verb, char *out,
                 size_t size)
{
  char rfc[CLI_TIME_MAX], rel[CLI_TIME_MAX];

  if (t == STORE_NEVER) {
    snprintf(out, size, "never");
    return;
  }
  cli_time_rfc3339(t, rfc);
  cli_time_relative(t, a->now, rel);
  snprintf(out, size, "%s (%s%s)", rfc, verb, rel);
}

static void text_sides(const struct cli_out *o, const struct answer *a)
{
  const struct hsts_entry *s = &a->r.static_entry, *d = &a->r.dynamic_entry;
  char exp[2 * CLI_TIME_MAX + 16];

  if (a->r.has_static)
    cli_out_row(o, "static", "%s (%s list): %s%s", s->host, a->list.name,
                s->force_https ? "force-https" : "pins only, never upgrades",
                s->include_subdomains ? ", includeSubDomains" : "");
  else if (a->list.name[0] != '\0')
    cli_out_row(o, "static", "none (%s list)", a->list.name);
  else
    cli_out_row(o, "static", "none");
  if (!a->r.has_dynamic) {
    cli_out_row(o, "dynamic", "none");
    return;
  }
  when(a, d->expires, "expires ", exp, sizeof(exp));
  cli_out_row(o, "dynamic", "%s (%s%s%s): max-age %u%s, expires %s", d->host,
              hsts_source_name(d->source), a->have_dyn_row ? " by " : "",
              a->have_dyn_row ? a->dyn.how : "", (unsigned)d->max_age,
              d->include_subdomains ? ", includeSubDomains" : "", exp);
}

static void print_text(const struct answer *a)
{
  const struct hsts_result *r = &a->r;
  int decided = r->source != HSTS_SOURCE_NONE;
  int dynamic =
      r->source == HSTS_SOURCE_LEARNED || r->source == HSTS_SOURCE_MANUAL;
  char buf[2 * CLI_TIME_MAX + 16], d[CLI_TIME_MAX];
  struct cli_out o;

  cli_out_init(&o, stdout);
  cli_out_row(&o, "host", "%s", a->given);
  if (a->unicode[0] != '\0')
    cli_out_row(&o, "normalized", "%s (%s)", a->norm, a->unicode);
  else
    cli_out_row(&o, "normalized", "%s", a->norm);
  cli_out_row_color(&o, r->hsts ? CLI_COLOR_GOOD : CLI_COLOR_BAD, "hsts", "%s",
                    r->hsts ? "yes" : "no");
  cli_out_row(&o, "source", "%s", hsts_source_name(r->source));
  cli_out_row(&o, "matched host", "%s", decided ? r->winner.host : "-");
  cli_out_row(&o, "include subdomains", "%s",
              !decided                       ? "-"
              : r->winner.include_subdomains ? "yes"
                                             : "no");
  if (dynamic) {
    cli_time_duration(r->winner.max_age, d);
    cli_out_row(&o, "max-age", "%u (%s)", (unsigned)r->winner.max_age, d);
    when(a, r->winner.observed, "", buf, sizeof(buf));
    cli_out_row(&o, "observed", "%s", buf);
    when(a, r->winner.expires, "expires ", buf, sizeof(buf));
    cli_out_row(&o, "expires", "%s", buf);
  } else {
    cli_out_row(&o, "max-age", "-");
    cli_out_row(&o, "observed", "-");
    cli_out_row(&o, "expires", "-");
  }
  cli_out_row(&o, "why", "%s", a->why);
  text_sides(&o, a);
}

int cmd_policy__query(int argc, char **argv, const struct cli_globals *g)
{
  struct cli_cmd cmd = { .what = WHAT, .help = "policy" }; /* messages */
  struct cmd_policy__opts o;
  struct answer a;
  size_t n;
  int rc = cmd_policy__parse(argc, argv, WHAT, CMD_POLICY_OPT_JSON, &o), err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (cli_opt_operands(&cmd, argc, argv, "HOST") != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  memset(&a, 0, sizeof(a));
  a.given = argv[optind];
  a.now = (int64_t)time(NULL);
  err =
      hsts_host_normalize_idna(a.given, strlen(a.given), a.norm, &a.kind, NULL);
  if (err != HSTS_OK) {
    n = strlen(a.given);
    fputs("hstsproxy " WHAT ": \"", stderr);
    cli_json_escape(stderr, a.given, n > SHOWN_MAX ? SHOWN_MAX : n);
    fprintf(stderr, "%s\": %s\n", n > SHOWN_MAX ? "..." : "",
            hsts_strerror(err));
    return CLI_EXIT_USAGE;
  }
  hsts_host_unicode(a.norm, a.unicode, sizeof(a.unicode));
  if (a.kind == HSTS_HOST_NAME) {
    rc = lookup(g, &a);
    if (rc != CLI_EXIT_OK)
      return rc;
  }
  explain(&a);
  if (o.json)
    print_json(&a, stdout);
  else
    print_text(&a);
  rc = cli_out_finish(WHAT);
  if (rc != CLI_EXIT_OK)
    return rc;
  return a.r.hsts ? CLI_EXIT_OK : CLI_EXIT_NO;
}

/* The console's policy query (struct proxy_console_ops): the same JSON,
 * on the proxy's thread pool. */
int cmd_policy_console_json(const char *db_path, const char *host, FILE *f,
                            char *err, size_t errsz)
{
  struct store *s = NULL;
  struct answer a;
  int rc;

  memset(&a, 0, sizeof(a));
  a.given = host;
  a.now = (int64_t)time(NULL);
  rc = hsts_host_normalize_idna(host, strlen(host), a.norm, &a.kind, NULL);
  if (rc != HSTS_OK) {
    snprintf(err, errsz, "host: %s", hsts_strerror(rc));
    return 1;
  }
  hsts_host_unicode(a.norm, a.unicode, sizeof(a.unicode));
  if (a.kind == HSTS_HOST_NAME) {
    rc = store_open(db_path, STORE_OPEN_READONLY, &s);
    if (rc == STORE_OK)
      rc = lookup_in(s, &a);
    if (rc != STORE_OK) {
      snprintf(err, errsz, "%s", store_errmsg(s)); /* names the file */
      store_close(&s);
      return -1;
    }
    store_close(&s);
  }
  explain(&a);
  print_json(&a, f);
  return 0;
}
