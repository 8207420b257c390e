/*
 * cmd_audit_text.c - the audit for people: aligned text, 100 columns.
 *
 * In order: the provenance rows; a one-line verdict per host, worst first,
 * the verdict word coloured red, yellow or green (only on a terminal,
 * unless NO_COLOR); the host table; each host's problems and preload
 * checks; the registrable-domain rollup; regressions; totals with the top
 * clear-text hosts; the per-day trend. A host name too long for its column
 * gets a line of its own and the row continues below it. Text that came
 * from the network (header values) is printed with control bytes as '?'.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli_out.h"
#include "cmd_audit.h"

#define WIDTH       100 /* columns of every line */
#define KEY_COL     18  /* provenance and totals: values start here */
#define HOST_COL    28
#define CAT_COL     16
#define VERDICT_COL 6
#define NUM_COL     6
#define SMALL_COL   5
#define DETAIL_CODE 46 /* problem codes column in the details */
#define SEV_COL     7
#define DATE_COL    20
#define BAR_MAX     40 /* trend bar width */
#define SUMMARY_MAX 256
#define POLICY_MAX  128

struct out {
  FILE *f;
  struct cli_out o;
};

static const char *color(const struct out *t, enum cmd_audit_verdict v)
{
  static const enum cli_color map[] = { CLI_COLOR_GOOD, CLI_COLOR_WARN,
                                        CLI_COLOR_BAD };

  return cli_out_color(&t->o, map[v]);
}

static const char *reset(const struct out *t)
{
  return cli_out_color(&t->o, CLI_COLOR_RESET);
}

/* Writes s with control bytes as '?' (header values from the network). */
static void safe(FILE *f, const char *s)
{
  for (; s != NULL && *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;

    fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
  }
}

/*
 * Writes `text` from column `col` to WIDTH, wrapping at spaces onto lines
 * indented by `indent`. The text is ours (no control bytes).
 */
static void wrap(FILE *f, const char *text, int col, int indent)
{
  const char *p = text;

  while (*p != '\0') {
    size_t room = col < WIDTH ? (size_t)(WIDTH - col) : 1;
    size_t n = strlen(p), cut = n;

    if (n > room) {
      for (cut = room; cut > 0 && p[cut] != ' '; cut--)
        ;
      if (cut == 0)
        cut = strcspn(p, " "); /* one long word: let it overflow */
    }
    fprintf(f, "%.*s\n", (int)cut, p);
    p += cut;
    p += strspn(p, " ");
    if (*p != '\0')
      fprintf(f, "%*s", indent, "");
    col = indent;
  }
}

static void provenance(const struct out *t, const struct cmd_audit_report *r)
{
  struct cmd_audit_kv *kv = calloc(CMD_AUDIT_PROV_MAX, sizeof(*kv));
  size_t i, n;

  fprintf(t->f, "hstsproxy audit\n\n");
  if (kv == NULL)
    return;
  n = cmd_audit__provenance(r, kv);
  for (i = 0; i < n; i++) {
    fprintf(t->f, "%-*s", KEY_COL, kv[i].key);
    wrap(t->f, kv[i].value, KEY_COL, KEY_COL);
  }
  free(kv);
}

static const char *category_summary(enum cmd_audit_category c)
{
  static const char *const text[CMD_AUDIT_CATEGORIES] = {
    "on the preload list: protected from the first visit",
    "sends a valid policy of a year or more",
    "sends a valid policy shorter than a year",
    "sends an invalid Strict-Transport-Security header",
    "redirects to HTTPS but sends no policy: exposed on first visits",
    "served over plain HTTP: no HTTPS evidence",
    "seen only over HTTPS (CONNECT), never probed"
  };

  return (unsigned)c < CMD_AUDIT_CATEGORIES ? text[c] : "";
}

/* The most severe problem, with how many more there are. */
static void summary(const struct cmd_audit_host *h, char *out, size_t size)
{
  const struct cmd_audit_problem *worst = NULL;
  size_t i, counted = 0;

  for (i = 0; i < h->nproblems; i++) {
    if (h->problems[i].severity == CMD_AUDIT_INFO)
      continue;
    counted++;
    if (worst == NULL || h->problems[i].severity > worst->severity)
      worst = &h->problems[i];
  }
  if (worst == NULL)
    snprintf(out, size, "%s", category_summary(h->category));
  else if (counted > 1)
    snprintf(out, size, "%s (+%zu more)", worst->code, counted - 1);
  else
    snprintf(out, size, "%s", worst->code);
}

/* Prints s from column col, cut with "..." to end by column WIDTH. */
static void fit(FILE *f, const char *s, int col)
{
  int room = WIDTH - col;

  if ((int)strlen(s) <= room)
    fprintf(f, "%s\n", s);
  else
    fprintf(f, "%.*s...\n", room > 3 ? room - 3 : 0, s);
}

static void verdicts(const struct out *t, const struct cmd_audit_report *r)
{
  static const int lead = 2 + VERDICT_COL + 2 + CAT_COL + 2;
  static const int deep = 4; /* names too long for the line */
  char sum[SUMMARY_MAX];
  size_t i;
  int n;

  fprintf(t->f, "\nVerdicts (worst first)\n");
  if (r->nhosts == 0)
    fprintf(t->f, "  no hosts seen in the window\n");
  for (i = 0; i < r->nhosts; i++) {
    const struct cmd_audit_host *h = &r->hosts[i];

    summary(h, sum, sizeof(sum));
    n = (int)strlen(h->host);
    fprintf(t->f, "  %s%-*s%s  %-*s", color(t, h->verdict), VERDICT_COL,
            cmd_audit__verdict_name(h->verdict), reset(t), CAT_COL,
            cmd_audit__category_name(h->category));
    if (lead + n > WIDTH) {
      fprintf(t->f, "\n%*s%s\n%*s", deep, "", h->host, deep, "");
      fit(t->f, sum, deep);
    } else if (lead + n + 2 + (int)strlen(sum) > WIDTH && n > WIDTH / 4) {
      fprintf(t->f, "  %s\n%*s", h->host, lead, "");
      fit(t->f, sum, lead);
    } else {
      fprintf(t->f, "  %s  ", h->host);
      fit(t->f, sum, lead + n + 2);
    }
  }
}

/* "preload", "learned 365 d", "manual 30 d, sub", "none". */
static void policy_text(const struct cmd_audit_host *h, char *out, size_t size)
{
  char d[CLI_TIME_MAX];

  if (h->source == HSTS_SOURCE_NONE) {
    snprintf(out, size, "none");
    return;
  }
  if (h->policy_has_max_age)
    cli_time_duration(h->policy_max_age, d);
  snprintf(out, size, "%s%s%s%s", hsts_source_name(h->source),
           h->policy_has_max_age ? " " : "", h->policy_has_max_age ? d : "",
           h->policy_subdomains ? " +sub" : "");
}

static void host_table(const struct out *t, const struct cmd_audit_report *r)
{
  char pol[POLICY_MAX];
  size_t i;

  fprintf(t->f, "\nHosts (worst first; HTTP and CONN per whole UTC day)\n");
  fprintf(t->f, "%-*s  %-*s %*s %*s %*s %*s %*s  %s\n", HOST_COL, "HOST",
          CAT_COL, "CATEGORY", NUM_COL, "HTTP", NUM_COL, "CLEAR", SMALL_COL,
          "UPGR", SMALL_COL, "REDIR", SMALL_COL, "CONN", "POLICY");
  for (i = 0; i < r->nhosts; i++) {
    const struct cmd_audit_host *h = &r->hosts[i];
    const struct store_audit_host *c = &h->counts;

    policy_text(h, pol, sizeof(pol));
    if (strlen(h->host) > HOST_COL)
      fprintf(t->f, "%s\n%-*s  ", h->host, HOST_COL, "");
    else
      fprintf(t->f, "%-*s  ", HOST_COL, h->host);
    fprintf(t->f,
            "%-*s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " %*" PRIu64
            "  %s\n",
            CAT_COL, cmd_audit__category_name(h->category), NUM_COL,
            c->http_requests, NUM_COL, h->clear_text, SMALL_COL, c->upgrades,
            SMALL_COL, c->upstream_redirects, SMALL_COL, c->connects, pol);
  }
}

static void header_line(const struct out *t, const struct cmd_audit_host *h)
{
  char when[CLI_TIME_MAX];

  if (h->from == CMD_AUDIT_FROM_NONE)
    return;
  cli_time_rfc3339(h->header_time, when);
  fprintf(t->f,
          "  header   %s (%s, %s): ", cmd_audit__header_name(h->facts.header),
          cmd_audit__from_name(h->from), when);
  if (h->header_raw != NULL)
    safe(t->f, h->header_raw);
  else
    fputs("-", t->f);
  fputc('\n', t->f);
}

static void checks_line(const struct out *t, const struct cmd_audit_host *h)
{
  char line[SUMMARY_MAX * 4];
  size_t i, n;

  if (h->eligible) {
    fprintf(t->f, "  preload  eligible\n");
    return;
  }
  n = (size_t)snprintf(line, sizeof(line), "not eligible:");
  for (i = 0; i < h->nchecks && n < sizeof(line); i++)
    n += (size_t)snprintf(line + n, sizeof(line) - n, " %s (%s)%s",
                          h->checks[i].check,
                          h->checks[i].unknown        ? "not observed"
                          : h->checks[i].code != NULL ? h->checks[i].code
                                                      : "failed",
                          i + 1 < h->nchecks ? "," : "");
  fprintf(t->f, "  preload  ");
  wrap(t->f, line, 2 + 9, 2 + 9);
}

static void details(const struct out *t, const struct cmd_audit_report *r)
{
  size_t i, k;

  fprintf(t->f, "\nProblems and preload checks\n");
  for (i = 0; i < r->nhosts; i++) {
    const struct cmd_audit_host *h = &r->hosts[i];

    fprintf(t->f, "%s%s%s  %s\n", color(t, h->verdict), h->host, reset(t),
            cmd_audit__category_name(h->category));
    header_line(t, h);
    if (!h->counters_exact)
      fprintf(t->f, "  counts   HTTP and CONN per whole UTC day: the window "
                    "cuts a day with traffic outside it\n");
    for (k = 0; k < h->nproblems; k++) {
      const struct cmd_audit_problem *p = &h->problems[k];

      fprintf(t->f, "  %-*s %-*s ", SEV_COL,
              cmd_audit__severity_name(p->severity), DETAIL_CODE, p->code);
      if ((int)strlen(p->code) > DETAIL_CODE)
        fprintf(t->f, "\n%*s", 2 + SEV_COL + 1 + DETAIL_CODE + 1, "");
      wrap(t->f, p->message, 2 + SEV_COL + 1 + DETAIL_CODE + 1,
           2 + SEV_COL + 1 + DETAIL_CODE + 1);
    }
    checks_line(t, h);
  }
}

/* "blocker: HOST (why)" under the PRELOAD column, or as far left as
 * needed for a long name to fit. */
static void blocker(FILE *f, const struct cmd_audit_blocker *b)
{
  const char *why = b->cert_error ? "certificate error" : "plain HTTP only";
  int n = (int)(strlen("blocker:  ()") + strlen(b->host) + strlen(why));

  if (HOST_COL + 1 + n <= WIDTH)
    fprintf(f, "%*s blocker: %s (%s)\n", HOST_COL, "", b->host, why);
  else if (2 + n <= WIDTH)
    fprintf(f, "  blocker: %s (%s)\n", b->host, why);
  else
    fprintf(f, "  blocker (%s):\n    %s\n", why, b->host);
}

static void domain_row(const struct out *t, const struct cmd_audit_domain *d)
{
  size_t k;
  int c;

  if (strlen(d->domain) > HOST_COL)
    fprintf(t->f, "%s\n%-*s ", d->domain, HOST_COL, "");
  else
    fprintf(t->f, "%-*s ", HOST_COL, d->domain);
  fprintf(t->f, "%*zu", SMALL_COL, d->hosts);
  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
    fprintf(t->f, " %*zu", SMALL_COL - 1, d->per_category[c]);
  fprintf(t->f, "  %s%s%s\n", color(t, d->worst), cmd_audit__domain_state(d),
          reset(t));
  for (k = 0; k < d->nblockers; k++)
    blocker(t->f, &d->blockers[k]);
}

static void domain_table(const struct out *t, const struct cmd_audit_report *r)
{
  size_t i;

  fprintf(t->f, "\nRegistrable domains (hosts per category; PRELOAD: "
                "preloaded, listed, candidate, blocked)\n");
  fprintf(t->f, "%-*s %*s %*s %*s %*s %*s %*s %*s %*s  %s\n", HOST_COL,
          "DOMAIN", SMALL_COL, "HOSTS", SMALL_COL - 1, "PRE", SMALL_COL - 1,
          "HSTS", SMALL_COL - 1, "WEAK", SMALL_COL - 1, "INV", SMALL_COL - 1,
          "RNH", SMALL_COL - 1, "HTTP", SMALL_COL - 1, "UNPR", "PRELOAD");
  for (i = 0; i < r->ndomains; i++)
    domain_row(t, &r->domains[i]);
  if (r->ndomains == 0)
    fprintf(t->f, "  none\n");
}

static void obs_text(const struct cmd_audit_obs *o, char *out, size_t size)
{
  if (o->header == CMD_AUDIT_HDR_VALID)
    snprintf(out, size, "max-age=%" PRId64 "%s", o->max_age,
             o->include_subdomains ? "; includeSubDomains" : "");
  else
    snprintf(out, size, "%s",
             o->header == CMD_AUDIT_HDR_NONE ? "no header" : "invalid header");
}

static void regressions(const struct out *t, const struct cmd_audit_report *r)
{
  char when[CLI_TIME_MAX], a[SUMMARY_MAX], now[SUMMARY_MAX];
  char b[2 * SUMMARY_MAX + POLICY_MAX];
  const char *kind;
  size_t i;
  int col;

  fprintf(t->f, "\nRegressions\n");
  if (r->nregs == 0)
    fprintf(t->f, "  none\n");
  for (i = 0; i < r->nregs; i++) {
    const struct cmd_audit_regression *g = &r->regs[i];

    cli_time_rfc3339(g->after.time, when);
    if (g->kind == CMD_AUDIT_REG_POLICY_VANISHED) {
      cli_time_rfc3339(g->before.time, a);
      snprintf(b, sizeof(b), "%s policy %s upgraded it until %s, gone now",
               g->source, g->policy_host, a);
    } else {
      obs_text(&g->before, a, sizeof(a));
      obs_text(&g->after, now, sizeof(now));
      snprintf(b, sizeof(b), "%s (was %s)", now, a);
    }
    kind = cmd_audit__regression_name(g->kind);
    col = DATE_COL + 2 + (int)strlen(g->host);
    if (col > WIDTH) {
      fprintf(t->f, "%s\n  %s\n%*s", when, g->host, DATE_COL + 2, "");
      col = DATE_COL + 2;
    } else {
      fprintf(t->f, "%-*s  %s  ", DATE_COL, when, g->host);
      col += 2;
      if (col + (int)strlen(kind) + 2 > WIDTH / 2 + DATE_COL) {
        fprintf(t->f, "\n%*s", DATE_COL + 2, ""); /* a long name */
        col = DATE_COL + 2;
      }
    }
    fprintf(t->f, "%s: ", kind);
    wrap(t->f, b, col + (int)strlen(kind) + 2, DATE_COL + 2);
  }
}

static void totals(const struct out *t, const struct cmd_audit_report *r)
{
  const struct cmd_audit_totals *x = &r->totals;
  int pct = cmd_audit__percent(x->traffic_upgrades, x->http_requests);
  char line[SUMMARY_MAX * 2];
  size_t i, n;
  int c;

  fprintf(t->f, "\nTotals\n");
  n = (size_t)snprintf(line, sizeof(line), "%zu:", r->nhosts);
  for (c = 0; c < CMD_AUDIT_CATEGORIES && n < sizeof(line); c++)
    n += (size_t)snprintf(line + n, sizeof(line) - n, " %zu %s%s",
                          x->per_category[c],
                          cmd_audit__category_name((enum cmd_audit_category)c),
                          c + 1 < CMD_AUDIT_CATEGORIES ? "," : "");
  fprintf(t->f, "%-*s", KEY_COL, "hosts");
  wrap(t->f, line, KEY_COL, KEY_COL);
  fprintf(t->f, "%-*s%s%zu red%s, %s%zu yellow%s, %s%zu green%s\n", KEY_COL,
          "verdicts", color(t, CMD_AUDIT_RED), x->per_verdict[CMD_AUDIT_RED],
          reset(t), color(t, CMD_AUDIT_YELLOW),
          x->per_verdict[CMD_AUDIT_YELLOW], reset(t), color(t, CMD_AUDIT_GREEN),
          x->per_verdict[CMD_AUDIT_GREEN], reset(t));
  fprintf(t->f, "%-*s%" PRIu64 ": %" PRIu64 " upgraded internally", KEY_COL,
          "plain HTTP", x->http_requests, x->traffic_upgrades);
  if (pct >= 0)
    fprintf(t->f, " (%d%%)", pct);
  fprintf(t->f, ", %" PRIu64 " sent in clear text\n", x->clear_text);
  fprintf(t->f, "%-*s%" PRIu64 " upgrades, %" PRIu64 " upstream redirects\n",
          KEY_COL, "in the window", x->upgrades, x->upstream_redirects);
  fprintf(t->f, "%-*s%" PRIu64 "\n", KEY_COL, "CONNECTs", x->connects);
  fprintf(t->f, "%-*s%zu\n", KEY_COL, "preload eligible", x->eligible);
  fprintf(t->f, "\nTop clear-text hosts (fix these first)\n");
  if (x->ntop == 0)
    fprintf(t->f, "  none\n");
  for (i = 0; i < x->ntop; i++) {
    const struct cmd_audit_host *h = &r->hosts[x->top[i]];
    const char *cat = cmd_audit__category_name(h->category);
    int col = 2 + NUM_COL + 2 + (int)strlen(h->host);

    fprintf(t->f, "  %*" PRIu64 "  %s", NUM_COL, h->clear_text, h->host);
    if (col + 3 + (int)strlen(cat) > WIDTH)
      fprintf(t->f, "\n%*s(%s)\n", 2 + NUM_COL + 2, "", cat);
    else
      fprintf(t->f, " (%s)\n", cat);
  }
}

/* A bar of `v` scaled so that `max` fills BAR_MAX columns. */
static void bar(FILE *f, uint64_t v, uint64_t max, char c)
{
  uint64_t n = max > 0 ? (v * BAR_MAX + max - 1) / max : 0;

  for (; n > 0; n--)
    fputc(c, f);
}

static void trend(const struct out *t, const struct cmd_audit_report *r)
{
  char date[CMD_AUDIT_DATE_MAX];
  uint64_t max = 0;
  size_t i;

  fprintf(t->f, "\nPer day (UTC; # clear text, = upgraded)\n");
  if (r->ndays == 0) {
    fprintf(t->f, "  no traffic in the window\n");
    return;
  }
  for (i = 0; i < r->ndays; i++) {
    uint64_t sum = r->days[i].clear_text + r->days[i].upgrades;

    max = sum > max ? sum : max;
  }
  fprintf(t->f, "%-*s %*s %*s %*s\n", CMD_AUDIT_DATE_MAX - 4, "DATE", NUM_COL,
          "CLEAR", NUM_COL, "UPGR", NUM_COL, "REDIR");
  for (i = 0; i < r->ndays; i++) {
    const struct cmd_audit_day *d = &r->days[i];

    cmd_audit__date(d->day, date);
    fprintf(t->f, "%-*s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 "  ",
            CMD_AUDIT_DATE_MAX - 4, date, NUM_COL, d->clear_text, NUM_COL,
            d->upgrades, NUM_COL, d->upstream_redirects);
    bar(t->f, d->clear_text, max, '#');
    bar(t->f, d->upgrades, max, '=');
    fputc('\n', t->f);
  }
}

int cmd_audit__text(const struct cmd_audit_report *r, FILE *f, int use_color)
{
  struct out t;

  t.f = f;
  t.o.f = f;
  t.o.color = use_color;
  provenance(&t, r);
  verdicts(&t, r);
  if (r->nhosts > 0) {
    host_table(&t, r);
    details(&t, r);
  }
  domain_table(&t, r);
  regressions(&t, r);
  totals(&t, r);
  trend(&t, r);
  return ferror(f) ? -1 : 0;
}
