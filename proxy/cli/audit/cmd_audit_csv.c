/*
 * cmd_audit_csv.c - the audit's provenance rows for people, and CSV.
 *
 * The provenance block (cmd_audit__provenance) says what the report rests
 * on, so that it never overstates coverage: the window, the preload list
 * judged against, the Public Suffix List, when policies were looked up,
 * the thresholds, the hop records the log writer could not store, the
 * hosts never probed, and what the per-host counters can and cannot say
 * about a window. Text and HTML print these rows first; CSV leaves them
 * to --provenance FILE; JSON has its own provenance object.
 *
 * CSV (RFC 4180, CRLF line ends): one table, its header record first,
 * then one record per host in the order of the text table (worst first),
 * so that spreadsheets and csv.DictReader take the header as the header.
 * The provenance goes to a file of its own (audit --provenance FILE): a
 * two-column table, `key,value`, one record per provenance row. A field
 * holding a comma, a quote, CR or LF is quoted, with quotes doubled; lists
 * (problem codes, failing checks) are joined with spaces inside one field
 * (codes never contain one).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_audit.h"

#define CSV_FIELD_MAX   CMD_AUDIT_KV_MAX
#define SECONDS_PER_DAY 86400

/* --- Provenance --- */

static void window_row(const struct cmd_audit_report *r, char *out, size_t size)
{
  const struct store_audit_window *w = &r->window;
  char a[CLI_TIME_MAX], b[CLI_TIME_MAX];

  if (!w->has_since && !w->has_until) {
    if (r->meta.first_hop_ms == 0) {
      snprintf(out, size, "everything in the store (no hop logged yet)");
      return;
    }
    cmd_audit__time_ms(r->meta.first_hop_ms, a);
    cmd_audit__time_ms(r->meta.last_hop_ms, b);
    snprintf(out, size, "everything in the store (hops from %s to %s)", a, b);
    return;
  }
  if (w->has_since)
    cmd_audit__time_ms(w->since_ms, a);
  if (w->has_until)
    cmd_audit__time_ms(w->until_ms, b);
  snprintf(out, size, "from %s to %s", w->has_since ? a : "the start",
           w->has_until ? b : "now");
}

static void list_row(const struct store_list_info *l, char *out, size_t size)
{
  char t[CLI_TIME_MAX];

  if (l->builtin) {
    snprintf(out, size,
             "%s (built in: Chromium's list as of %s, no list imported), "
             "%zu entries",
             l->name, l->list_date, l->entries);
    return;
  }
  cli_time_rfc3339(l->imported, t);
  snprintf(
      out, size, "%s, %zu entries (%zu with subdomains), imported %s from %.*s",
      l->name, l->entries, l->with_subdomains, t, (int)(size / 2), l->source);
}

static void psl_row(const struct cmd_audit_report *r, char *out, size_t size)
{
  char t[CLI_TIME_MAX];

  if (r->psl_file == NULL) {
    snprintf(out, size, "unavailable: every host is its own domain");
    return;
  }
  cli_time_rfc3339(r->psl_time, t);
  snprintf(out, size, "libpsl built-in, from %.*s of %s", (int)(size / 2),
           r->psl_file, t);
}

static void records_row(const struct store_audit_meta *m, char *out,
                        size_t size)
{
  snprintf(out, size,
           "%" PRIu64 " written, %" PRIu64 " dropped (queue full), %" PRIu64
           " failed, by %" PRIu64 " proxy run%s overlapping the window",
           m->written, m->dropped, m->failed, m->writer_runs,
           m->writer_runs == 1 ? "" : "s");
}

static void probes_row(const struct cmd_audit_report *r, char *out, size_t size)
{
  const struct cmd_audit_totals *t = &r->totals;

  if (!r->meta.has_probe_table) {
    snprintf(out, size,
             "none recorded (this store has no probe table): %zu hosts left "
             "unprobed",
             t->unprobed);
    return;
  }
  snprintf(out, size,
           "%zu hosts probed, %zu left unprobed, %zu whose latest probe "
           "failed",
           t->probed, t->unprobed, t->probe_failed);
}

static void counters_row(const struct cmd_audit_report *r, char *out,
                         size_t size)
{
  snprintf(out, size,
           "plain-HTTP requests and CONNECTs are counted per UTC day (whole "
           "days meeting the window; %zu hosts may include traffic from "
           "outside it on a partly covered day, and no problem is inferred "
           "from comparing them with the window's hops); upgrades and "
           "redirects are counted in the window",
           r->totals.beyond_window);
}

size_t cmd_audit__provenance(const struct cmd_audit_report *r,
                             struct cmd_audit_kv *out)
{
  char now[CLI_TIME_MAX];
  size_t n = 0;

  if (r->nstores > 1) {
    size_t len = (size_t)snprintf(out[n].value, sizeof(out[n].value),
                                  "%d read as one:", r->nstores);
    int k;

    for (k = 0; k < r->nstores && len < sizeof(out[n].value); k++)
      len += (size_t)snprintf(out[n].value + len, sizeof(out[n].value) - len,
                              " %s", r->stores[k]);
    out[n++].key = "stores";
  }
  window_row(r, out[n].value, sizeof(out[n].value));
  out[n++].key = "window";
  list_row(&r->list, out[n].value, sizeof(out[n].value));
  out[n++].key = "preload list";
  psl_row(r, out[n].value, sizeof(out[n].value));
  out[n++].key = "public suffixes";
  cli_time_rfc3339(r->now, now);
  snprintf(out[n].value, sizeof(out[n].value),
           "policies and the preload list as of %s", now);
  out[n++].key = "judged";
  snprintf(out[n].value, sizeof(out[n].value),
           "hsts: max-age >= %u s (1 year), else weak-hsts; warning below "
           "%u s; expiring: within %d d",
           CMD_AUDIT_YEAR, HSTS_MAX_AGE_6_MONTHS,
           CMD_AUDIT_EXPIRING_S / SECONDS_PER_DAY);
  out[n++].key = "thresholds";
  records_row(&r->meta, out[n].value, sizeof(out[n].value));
  out[n++].key = "hop records";
  probes_row(r, out[n].value, sizeof(out[n].value));
  out[n++].key = "probes";
  counters_row(r, out[n].value, sizeof(out[n].value));
  out[n++].key = "counters";
  return n;
}

/* --- CSV --- */

static void csv_field(FILE *f, const char *s, int last)
{
  if (s == NULL)
    s = "";
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, f);
  } else {
    fputc('"', f);
    for (; *s != '\0'; s++) {
      if (*s == '"')
        fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  }
  fputs(last ? "\r\n" : ",", f);
}

static void csv_u64(FILE *f, uint64_t v)
{
  fprintf(f, "%" PRIu64 ",", v);
}

static void csv_time_s(FILE *f, int64_t t)
{
  char s[CLI_TIME_MAX];

  if (t != 0 && t != STORE_NEVER) {
    cli_time_rfc3339(t, s);
    fputs(s, f);
  }
  fputc(',', f);
}

static void csv_time_ms(FILE *f, int64_t ms)
{
  char s[CLI_TIME_MAX];

  if (ms != 0) {
    cmd_audit__time_ms(ms, s);
    fputs(s, f);
  }
  fputc(',', f);
}

static const char csv_header[] =
    "host,category,verdict,registrable_domain,http_requests,clear_text,"
    "upgrades,upstream_redirects,connects,first_seen,last_seen,"
    "counters_exact,policy_source,policy_host,policy_max_age,"
    "policy_include_subdomains,policy_expires,header_state,header,errors,"
    "warnings,problems,preload_eligible,failing_checks\r\n";

static void csv_policy(FILE *f, const struct cmd_audit_host *h)
{
  int dynamic =
      h->source == HSTS_SOURCE_LEARNED || h->source == HSTS_SOURCE_MANUAL;

  csv_field(f, hsts_source_name(h->source), 0);
  csv_field(f, h->source != HSTS_SOURCE_NONE ? h->policy_host : "", 0);
  if (dynamic && h->policy_has_max_age)
    fprintf(f, "%" PRIu32, h->policy_max_age);
  fputc(',', f);
  fputs(h->source == HSTS_SOURCE_NONE ? ","
        : h->policy_subdomains        ? "true,"
                                      : "false,",
        f);
  csv_time_s(f, dynamic ? h->policy_expires : 0);
}

/* Appends to buf (size bytes, NUL-terminated), cutting what does not fit. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
append(char *buf, size_t size, const char *fmt, ...)
{
  size_t n = strlen(buf);
  va_list ap;

  if (n + 1 >= size)
    return;
  va_start(ap, fmt);
  vsnprintf(buf + n, size - n, fmt, ap);
  va_end(ap);
}

/* Problem codes, or failing checks, joined by spaces. */
static void csv_lists(FILE *f, const struct cmd_audit_host *h)
{
  char buf[CSV_FIELD_MAX];
  size_t i, errors = 0, warnings = 0;

  buf[0] = '\0';
  for (i = 0; i < h->nproblems; i++) {
    errors += h->problems[i].severity == CMD_AUDIT_ERROR;
    warnings += h->problems[i].severity == CMD_AUDIT_WARNING;
    append(buf, sizeof(buf), "%s%s", i > 0 ? " " : "", h->problems[i].code);
  }
  fprintf(f, "%zu,%zu,", errors, warnings);
  csv_field(f, buf, 0);
  fputs(h->eligible ? "true," : "false,", f);
  buf[0] = '\0';
  for (i = 0; i < h->nchecks; i++)
    append(buf, sizeof(buf), "%s%s:%s", i > 0 ? " " : "", h->checks[i].check,
           h->checks[i].unknown        ? "unknown"
           : h->checks[i].code != NULL ? h->checks[i].code
                                       : "fail");
  csv_field(f, buf, 1);
}

static void csv_host(FILE *f, const struct cmd_audit_host *h)
{
  const struct store_audit_host *c = &h->counts;
  int64_t first, last;

  cmd_audit__seen(h, &first, &last);
  csv_field(f, h->host, 0);
  csv_field(f, cmd_audit__category_name(h->category), 0);
  csv_field(f, cmd_audit__verdict_name(h->verdict), 0);
  csv_field(f, h->facts.ip_literal ? "" : h->domain, 0);
  csv_u64(f, c->http_requests);
  csv_u64(f, h->clear_text);
  csv_u64(f, c->upgrades);
  csv_u64(f, c->upstream_redirects);
  csv_u64(f, c->connects);
  csv_time_ms(f, first);
  csv_time_ms(f, last);
  fputs(h->counters_exact ? "true," : "false,", f);
  csv_policy(f, h);
  csv_field(f, cmd_audit__header_name(h->facts.header), 0);
  csv_field(f, h->header_raw, 0);
  csv_lists(f, h);
}

int cmd_audit__csv(const struct cmd_audit_report *r, FILE *f)
{
  size_t i;

  fputs(csv_header, f);
  for (i = 0; i < r->nhosts; i++)
    csv_host(f, &r->hosts[i]);
  return ferror(f) ? -1 : 0;
}

int cmd_audit__csv_provenance(const struct cmd_audit_report *r, FILE *f)
{
  struct cmd_audit_kv *kv = calloc(CMD_AUDIT_PROV_MAX, sizeof(*kv));
  size_t i, n;

  if (kv == NULL)
    return -1;
  n = cmd_audit__provenance(r, kv);
  fputs("key,value\r\n", f);
  for (i = 0; i < n; i++) {
    csv_field(f, kv[i].key, 0);
    csv_field(f, kv[i].value, 1);
  }
  free(kv);
  return ferror(f) ? -1 : 0;
}
