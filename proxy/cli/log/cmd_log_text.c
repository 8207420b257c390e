/*
 * cmd_log_text.c - `hstsproxy log` for people: columns and chains.
 *
 * Columns: TIME (RFC 3339 UTC, ms), CLIENT, STATUS, KIND, then
 * "url → location" and why (the policy that caused an upgrade; the
 * upstream address and what is notable about a redirect: bootstrap,
 * downgrade, off-host, an STS header, an error), and "(intercepted)" for
 * a client the network redirected to the proxy. --chains prints a header
 * line per chain (client, start time, chain id, hops shown) and one line
 * per hop: `http://a.test/ ─307 hsts (preload a.test, subdomains)→
 * https://a.test/`. Text from the network goes through cmd_log__safe().
 */
#include <inttypes.h>
#include <string.h>

#include "cmd_log.h"
#include "hsts_idna.h"

#define TIME_COL   24 /* 2025-11-25T19:00:00.042Z */
#define CLIENT_COL 15 /* 255.255.255.255 */
#define KIND_COL   17 /* upstream-redirect */
#define STATUS_COL 6
#define MARKS_MAX  (CMD_LOG_WHY_MAX / 2)

void cmd_log__time(int64_t ms, char out[CMD_LOG_TIME_MAX])
{
  char s[CLI_TIME_MAX];
  int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int frac = (int)(ms - sec * 1000);
  size_t n;

  cli_time_rfc3339(sec, s);
  n = strlen(s);
  if (n > 0 && s[n - 1] == 'Z')
    s[n - 1] = '\0';
  /* s holds at most an RFC 3339 second: the result always fits; checking
   * the length only tells the compiler so. */
  if (snprintf(out, CMD_LOG_TIME_MAX, "%s.%03dZ", s, frac) >= CMD_LOG_TIME_MAX)
    out[CMD_LOG_TIME_MAX - 1] = '\0';
}

void cmd_log__safe(FILE *f, const char *s)
{
  for (; s != NULL && *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;

    fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
  }
}

static int is_upgrade(const struct store_log_row *r)
{
  return r->kind != NULL && strcmp(r->kind, "hsts-upgrade") == 0;
}

static int is_downgrade(const struct store_log_row *r)
{
  return r->scheme_change != NULL && strcmp(r->scheme_change, "down") == 0;
}

/* "preload a.test, subdomains" or "upstream 192.0.2.1". */
static void policy_text(const struct store_log_row *r, char *out, size_t size)
{
  char t[CMD_LOG_TIME_MAX];
  size_t n;

  if (!is_upgrade(r)) {
    snprintf(out, size, "upstream%s%s", r->upstream_ip != NULL ? " " : "",
             r->upstream_ip != NULL ? r->upstream_ip : "");
    return;
  }
  snprintf(out, size, "%s %s%s",
           r->policy_source != NULL ? r->policy_source : "?",
           r->policy_host != NULL ? r->policy_host : "?",
           r->include_subdomains == 1 ? ", subdomains" : "");
  if (r->expires != 0) {
    cli_time_rfc3339(r->expires, t);
    n = strlen(out);
    snprintf(out + n, size - n, ", expires %s", t);
  }
}

static void add_mark(char *out, size_t size, const char *sep, const char *a,
                     const char *b)
{
  size_t n = strlen(out);

  snprintf(out + n, size - n, "%s%s%s", n > 0 ? sep : "", a, b);
}

/* What is notable, joined by sep: bootstrap, downgrade, off-host, ... */
static void marks(const struct store_log_row *r, const char *sep, char *out,
                  size_t size)
{
  char u[HSTS_UNICODE_MAX];

  out[0] = '\0';
  if (r->host != NULL && hsts_host_unicode(r->host, u, sizeof(u)))
    add_mark(out, size, sep, "unicode: ", u); /* the name people know */
  if (r->bootstrap)
    add_mark(out, size, sep, "bootstrap", "");
  if (is_downgrade(r))
    add_mark(out, size, sep, "downgrade https→http", "");
  if (r->same_host == 0)
    add_mark(out, size, sep, "off-host", "");
  if (r->sts_header != NULL)
    add_mark(out, size, sep, "sts: ", r->sts_header);
  if (r->error != NULL)
    add_mark(out, size, sep, "error: ", r->error);
}

void cmd_log__describe(const struct store_log_row *r, char *out, size_t size)
{
  char m[MARKS_MAX];
  size_t n;

  policy_text(r, out, size);
  marks(r, ", ", m, sizeof(m));
  n = strlen(out);
  if (m[0] != '\0')
    snprintf(out + n, size - n, ", %s", m);
}

static enum cli_color row_color(const struct store_log_row *r)
{
  if (is_upgrade(r))
    return CLI_COLOR_GOOD;
  if (r->bootstrap || is_downgrade(r) || r->error != NULL)
    return CLI_COLOR_BAD;
  return CLI_COLOR_RESET;
}

/* A client the network redirected to the proxy (run --intercept). */
static int intercepted(const struct store_log_row *r)
{
  return r->via != NULL && strcmp(r->via, "intercept") == 0;
}

void cmd_log__text_row(struct cmd_log__out *o, const struct store_log_row *r)
{
  char t[CMD_LOG_TIME_MAX], why[CMD_LOG_WHY_MAX], status[STATUS_COL + 1];
  FILE *f = o->o.f;

  if (!o->header_done) {
    fprintf(f, "%-*s  %-*s  %-*s  %-*s  %s\n", TIME_COL, "TIME", CLIENT_COL,
            "CLIENT", STATUS_COL, "STATUS", KIND_COL, "KIND",
            "URL → LOCATION  WHY");
    o->header_done = 1;
  }
  cmd_log__time(r->time_ms, t);
  snprintf(status, sizeof(status), r->status != 0 ? "%d" : "-", r->status);
  fprintf(f, "%-*s  %-*s  %-*s  %s%-*s%s  ", TIME_COL, t, CLIENT_COL,
          r->client != NULL ? r->client : "-", STATUS_COL, status,
          cli_out_color(&o->o, row_color(r)), KIND_COL, r->kind,
          cli_out_color(&o->o, CLI_COLOR_RESET));
  cmd_log__safe(f, r->url);
  fputs(" → ", f);
  cmd_log__safe(f, r->location != NULL ? r->location : "(no location)");
  cmd_log__describe(r, why, sizeof(why));
  fprintf(f, "  %s", cli_out_color(&o->o, CLI_COLOR_DIM));
  cmd_log__safe(f, why);
  if (intercepted(r))
    fputs(" (intercepted)", f);
  if (r->store != NULL) { /* several stores: whose hop */
    fputs("  store ", f);
    cmd_log__safe(f, r->store);
  }
  fprintf(f, "%s\n", cli_out_color(&o->o, CLI_COLOR_RESET));
}

static void chain_header(struct cmd_log__out *o, const struct store_log_row *r)
{
  char t[CMD_LOG_TIME_MAX];
  FILE *f = o->o.f;

  if (o->rows > 0)
    fputc('\n', f);
  cmd_log__time(r->time_ms, t);
  fprintf(f, "%s", cli_out_color(&o->o, CLI_COLOR_DIM));
  fputs("client ", f);
  cmd_log__safe(f, r->client != NULL ? r->client : "-");
  if (intercepted(r))
    fputs(" (intercepted)", f);
  fprintf(f, "  %s  chain %s", t, r->chain_id);
  if (r->store != NULL) {
    fputs("  store ", f);
    cmd_log__safe(f, r->store);
  }
  if (r->chain_hops > 0)
    fprintf(f, ", %" PRId64 " hop%s", r->chain_hops,
            r->chain_hops == 1 ? "" : "s");
  if (r->hop > 0)
    fprintf(f, " (from hop %d)", r->hop);
  fprintf(f, "%s\n", cli_out_color(&o->o, CLI_COLOR_RESET));
}

void cmd_log__chain_row(struct cmd_log__out *o, const struct store_log_row *r)
{
  char label[CMD_LOG_WHY_MAX], m[MARKS_MAX];
  FILE *f = o->o.f;

  if (strcmp(o->last_chain, r->chain_id != NULL ? r->chain_id : "") != 0)
    chain_header(o, r);
  if (is_upgrade(r)) {
    char p[CMD_LOG_WHY_MAX / 2];

    policy_text(r, p, sizeof(p));
    snprintf(label, sizeof(label), "hsts (%s)", p);
  } else {
    snprintf(label, sizeof(label), "upstream%s%s%s",
             r->upstream_ip != NULL ? " (" : "",
             r->upstream_ip != NULL ? r->upstream_ip : "",
             r->upstream_ip != NULL ? ")" : "");
  }
  fputs("  ", f);
  cmd_log__safe(f, r->url);
  if (r->status != 0)
    fprintf(f, " ─%d ", r->status);
  else
    fputs(" ─ ", f);
  fprintf(f, "%s", cli_out_color(&o->o, row_color(r)));
  cmd_log__safe(f, label);
  fprintf(f, "%s→ ", cli_out_color(&o->o, CLI_COLOR_RESET));
  cmd_log__safe(f, r->location != NULL ? r->location : "(no location)");
  marks(r, "] [", m, sizeof(m));
  if (m[0] != '\0') {
    fprintf(f, "  %s[", cli_out_color(&o->o, CLI_COLOR_BAD));
    cmd_log__safe(f, m);
    fprintf(f, "]%s", cli_out_color(&o->o, CLI_COLOR_RESET));
  }
  fputc('\n', f);
}
