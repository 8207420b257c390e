/*
 * cmd_audit_html.c - the audit as one self-contained HTML page.
 *
 * One file that opens anywhere, offline, on a phone: inline CSS, two
 * inline SVG bar charts (hosts per category; plain-HTTP requests per day,
 * clear text against upgraded), no script, no image, no font, no link:
 * nothing is fetched, and a Content-Security-Policy of default-src 'none'
 * says so to the browser. The SVG elements carry no namespace attribute
 * (HTML5 parsing puts them in the SVG namespace). Tables scroll sideways
 * inside their box on a narrow screen (viewport meta). Every text that
 * comes from the store (host names, header values, paths, error messages)
 * goes through esc(): & < > " ' become entities, control bytes '?'.
 *
 * Sections, in order: provenance, one-line verdicts (red, yellow, green),
 * charts, hosts, problems, registrable domains, regressions, totals,
 * trend.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_audit.h"

#define CHART_W     640 /* SVG user units */
#define LABEL_W     150 /* category names */
#define ROW_H       26
#define BAR_H       18
#define PAD         8
#define DAY_CHART_H 220
#define AXIS_H      30
#define LEGEND_H    24
#define LABEL_EVERY 7 /* a date label every N days */
#define TEXT_DY     13
#define SUMMARY_MAX 256

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:0 auto;max-width:72rem;padding:0 1rem 2rem;color:#1b1b1b;"
    "background:#fff}"
    "h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;"
    "border-bottom:1px solid #ddd}"
    "dl.prov{display:grid;grid-template-columns:max-content 1fr;"
    "gap:.2rem 1rem}dl.prov dt{font-weight:600}dl.prov dd{margin:0;"
    "overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
    "table{border-collapse:collapse;font-size:.9rem;min-width:100%}"
    "th,td{padding:.25rem .5rem;border-bottom:1px solid #eee;"
    "text-align:left;vertical-align:top}td.n,th.n{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    "ul.v{list-style:none;padding:0}ul.v li{padding:.15rem 0;"
    "overflow-wrap:anywhere}"
    ".badge{display:inline-block;min-width:4.2em;text-align:center;"
    "border-radius:.3em;color:#fff;font-weight:600;margin-right:.4em}"
    ".red{background:#b3261e}.yellow{background:#a66f00}"
    ".green{background:#2e7d32}"
    "code{font-size:.85em;overflow-wrap:anywhere}"
    "figure{margin:1rem 0}svg{width:100%;height:auto;max-width:40rem}"
    ".sev-error{color:#b3261e}.sev-warning{color:#8a5a00}"
    ".sev-info{color:#555}"
    "@media (max-width:600px){body{font-size:14px;padding:0 .5rem}"
    "th,td{padding:.2rem .3rem}}";

/* Text from the store, escaped for element content and attributes. */
static void esc(FILE *f, const char *s)
{
  for (; s != NULL && *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;

    switch (c) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    case '\'':
      fputs("&#39;", f);
      break;
    default:
      fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
  }
}

static void head(FILE *f)
{
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<title>hstsproxy audit</title>\n<style>",
        f);
  fputs(style, f);
  fputs("</style>\n</head>\n<body>\n<h1>hstsproxy audit</h1>\n", f);
}

static void provenance(FILE *f, const struct cmd_audit_report *r)
{
  struct cmd_audit_kv *kv = calloc(CMD_AUDIT_PROV_MAX, sizeof(*kv));
  size_t i, n;

  fputs("<section id=\"provenance\">\n<h2>Provenance</h2>\n"
        "<dl class=\"prov\">\n",
        f);
  n = kv != NULL ? cmd_audit__provenance(r, kv) : 0;
  for (i = 0; i < n; i++) {
    fputs("<dt>", f);
    esc(f, kv[i].key);
    fputs("</dt><dd>", f);
    esc(f, kv[i].value);
    fputs("</dd>\n", f);
  }
  free(kv);
  fputs("</dl>\n</section>\n", f);
}

static void badge(FILE *f, enum cmd_audit_verdict v)
{
  fprintf(f, "<span class=\"badge %s\">%s</span>", cmd_audit__verdict_name(v),
          cmd_audit__verdict_name(v));
}

static const char *worst_code(const struct cmd_audit_host *h, size_t *more)
{
  const struct cmd_audit_problem *w = NULL;
  size_t i, n = 0;

  for (i = 0; i < h->nproblems; i++) {
    if (h->problems[i].severity == CMD_AUDIT_INFO)
      continue;
    n++;
    if (w == NULL || h->problems[i].severity > w->severity)
      w = &h->problems[i];
  }
  *more = n > 0 ? n - 1 : 0;
  return w != NULL ? w->code : NULL;
}

static void verdicts(FILE *f, const struct cmd_audit_report *r)
{
  size_t i, more;

  fputs("<section id=\"verdicts\">\n<h2>Verdicts (worst first)</h2>\n"
        "<ul class=\"v\">\n",
        f);
  if (r->nhosts == 0)
    fputs("<li>No hosts seen in the window.</li>\n", f);
  for (i = 0; i < r->nhosts; i++) {
    const struct cmd_audit_host *h = &r->hosts[i];
    const char *code = worst_code(h, &more);

    fputs("<li>", f);
    badge(f, h->verdict);
    fprintf(f, "<b>");
    esc(f, h->host);
    fprintf(f, "</b> %s", cmd_audit__category_name(h->category));
    if (code != NULL) {
      fprintf(f, ": <code>%s</code>", code);
      if (more > 0)
        fprintf(f, " (+%zu more)", more);
    }
    fputs("</li>\n", f);
  }
  fputs("</ul>\n</section>\n", f);
}

/* Horizontal bars: hosts per category. */
static void category_chart(FILE *f, const struct cmd_audit_report *r)
{
  const size_t *per = r->totals.per_category;
  int h = CMD_AUDIT_CATEGORIES * ROW_H + PAD, c;
  size_t max = 1;
  int plot = CHART_W - LABEL_W - 4 * PAD;

  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
    max = per[c] > max ? per[c] : max;
  fprintf(f,
          "<figure>\n<figcaption>Hosts per category</figcaption>\n"
          "<svg viewBox=\"0 0 %d %d\" role=\"img\" "
          "aria-label=\"Hosts per category\">\n",
          CHART_W, h);
  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++) {
    int y = c * ROW_H + PAD;
    int w = (int)((uint64_t)per[c] * (uint64_t)plot / max);

    fprintf(f,
            "<text x=\"0\" y=\"%d\" font-size=\"13\">%s</text>"
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
            "fill=\"%s\"></rect>"
            "<text x=\"%d\" y=\"%d\" font-size=\"13\">%zu</text>\n",
            y + TEXT_DY, cmd_audit__category_name((enum cmd_audit_category)c),
            LABEL_W, y, w, BAR_H,
            c <= CMD_AUDIT_HSTS        ? "#2e7d32"
            : c == CMD_AUDIT_WEAK_HSTS ? "#a66f00"
                                       : "#b3261e",
            LABEL_W + w + PAD / 2, y + TEXT_DY, per[c]);
  }
  fputs("</svg>\n</figure>\n", f);
}

static void day_bars(FILE *f, const struct cmd_audit_day *d, int x, int slot,
                     uint64_t max, int plot_h)
{
  int bw = slot / 2 > 1 ? slot / 2 - 1 : 1;
  int hc = (int)(d->clear_text * (uint64_t)plot_h / max);
  int hu = (int)(d->upgrades * (uint64_t)plot_h / max);
  int base = LEGEND_H + plot_h;

  fprintf(f,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
          "fill=\"#b3261e\"></rect>"
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
          "fill=\"#2e7d32\"></rect>\n",
          x, base - hc, bw, hc, x + bw, base - hu, bw, hu);
}

/* Vertical bars per day: clear text (red) and upgraded (green). The
 * chart widens (and scales down) when the days do not fit at 2 units. */
static void day_chart(FILE *f, const struct cmd_audit_report *r)
{
  char date[CMD_AUDIT_DATE_MAX];
  int plot_h = DAY_CHART_H - LEGEND_H - AXIS_H, slot, x, width;
  uint64_t max = 1;
  size_t i, every;

  for (i = 0; i < r->ndays; i++) {
    max = r->days[i].clear_text > max ? r->days[i].clear_text : max;
    max = r->days[i].upgrades > max ? r->days[i].upgrades : max;
  }
  slot = r->ndays > 0 ? (CHART_W - 2 * PAD) / (int)r->ndays : 0;
  slot = slot > 2 ? slot : 2;
  width = 2 * PAD + (int)r->ndays * slot;
  width = width > CHART_W ? width : CHART_W;
  fprintf(f,
          "<figure>\n<figcaption>Plain-HTTP requests per day (UTC): clear "
          "text and upgraded internally</figcaption>\n"
          "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Clear text "
          "and upgraded requests per day\">\n"
          "<rect x=\"0\" y=\"4\" width=\"12\" height=\"12\" fill=\"#b3261e\">"
          "</rect><text x=\"18\" y=\"15\" font-size=\"13\">clear text</text>"
          "<rect x=\"110\" y=\"4\" width=\"12\" height=\"12\" "
          "fill=\"#2e7d32\"></rect><text x=\"128\" y=\"15\" "
          "font-size=\"13\">upgraded</text>\n",
          width, DAY_CHART_H);
  if (r->ndays == 0)
    fprintf(f,
            "<text x=\"0\" y=\"%d\" font-size=\"13\">no traffic in the "
            "window</text>\n",
            LEGEND_H + plot_h / 2);
  every =
      r->ndays > LABEL_EVERY ? (r->ndays + LABEL_EVERY - 1) / LABEL_EVERY : 1;
  for (i = 0; i < r->ndays; i++) {
    x = PAD + (int)i * slot;
    day_bars(f, &r->days[i], x, slot, max, plot_h);
    if (i % every != 0)
      continue;
    cmd_audit__date(r->days[i].day, date);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", x,
            DAY_CHART_H - AXIS_H / 3, date);
  }
  fprintf(f,
          "<text x=\"%d\" y=\"%d\" font-size=\"11\" "
          "text-anchor=\"end\">max %" PRIu64 "</text>\n",
          width, LEGEND_H - 8, max);
  fputs("</svg>\n</figure>\n", f);
}

static void td_u64(FILE *f, uint64_t v)
{
  fprintf(f, "<td class=\"n\">%" PRIu64 "</td>", v);
}

static void host_rows(FILE *f, const struct cmd_audit_report *r)
{
  char d[CLI_TIME_MAX];
  size_t i;

  for (i = 0; i < r->nhosts; i++) {
    const struct cmd_audit_host *h = &r->hosts[i];
    const struct store_audit_host *c = &h->counts;

    fputs("<tr><td>", f);
    badge(f, h->verdict);
    fputs("</td><td>", f);
    esc(f, h->host);
    fprintf(f, "</td><td>%s</td>", cmd_audit__category_name(h->category));
    td_u64(f, c->http_requests);
    td_u64(f, h->clear_text);
    td_u64(f, c->upgrades);
    td_u64(f, c->upstream_redirects);
    td_u64(f, c->connects);
    fprintf(f, "<td>%s", hsts_source_name(h->source));
    if (h->source != HSTS_SOURCE_NONE) {
      fputs(" ", f);
      esc(f, h->policy_host);
    }
    if (h->policy_has_max_age) {
      cli_time_duration(h->policy_max_age, d);
      fprintf(f, " %s", d);
    }
    fprintf(f, "%s</td><td>%s</td></tr>\n", h->policy_subdomains ? " +sub" : "",
            h->eligible ? "yes" : "no");
  }
}

static void host_table(FILE *f, const struct cmd_audit_report *r)
{
  fputs("<section id=\"hosts\">\n<h2>Hosts</h2>\n<div class=\"scroll\">"
        "<table>\n<thead><tr><th>verdict</th><th>host</th>"
        "<th>category</th><th class=\"n\">HTTP</th>"
        "<th class=\"n\">clear</th><th class=\"n\">upgrades</th>"
        "<th class=\"n\">redirects</th><th class=\"n\">CONNECT</th>"
        "<th>policy</th><th>preload</th></tr></thead>\n<tbody>\n",
        f);
  host_rows(f, r);
  fputs("</tbody>\n</table></div>\n<p>HTTP and CONNECT are counted per "
        "UTC day (whole days meeting the window); upgrades and redirects in "
        "the window.</p>\n</section>\n",
        f);
}

static void host_problems(FILE *f, const struct cmd_audit_host *h)
{
  size_t k;

  fputs("<li>", f);
  badge(f, h->verdict);
  fputs("<b>", f);
  esc(f, h->host);
  fprintf(f, "</b> %s", cmd_audit__category_name(h->category));
  if (h->from != CMD_AUDIT_FROM_NONE) {
    fprintf(f, "<br>header (%s, %s): <code>",
            cmd_audit__header_name(h->facts.header),
            cmd_audit__from_name(h->from));
    esc(f, h->header_raw != NULL ? h->header_raw : "-");
    fputs("</code>", f);
  }
  fputs("<ul>\n", f);
  for (k = 0; k < h->nproblems; k++) {
    const struct cmd_audit_problem *p = &h->problems[k];
    const char *sev = cmd_audit__severity_name(p->severity);

    fprintf(f, "<li class=\"sev-%s\">%s <code>%s</code> ", sev, sev, p->code);
    esc(f, p->message);
    fputs("</li>\n", f);
  }
  fprintf(f, "<li>preload: %s", h->eligible ? "eligible" : "not eligible:");
  for (k = 0; k < h->nchecks; k++)
    fprintf(f, " %s (%s)%s", h->checks[k].check,
            h->checks[k].unknown        ? "not observed"
            : h->checks[k].code != NULL ? h->checks[k].code
                                        : "failed",
            k + 1 < h->nchecks ? "," : "");
  fputs("</li>\n</ul></li>\n", f);
}

static void problems(FILE *f, const struct cmd_audit_report *r)
{
  size_t i;

  fputs("<section id=\"problems\">\n<h2>Problems and preload checks</h2>\n"
        "<ul class=\"v\">\n",
        f);
  for (i = 0; i < r->nhosts; i++)
    host_problems(f, &r->hosts[i]);
  fputs("</ul>\n</section>\n", f);
}

static void domains(FILE *f, const struct cmd_audit_report *r)
{
  size_t i, k;
  int c;

  fputs("<section id=\"domains\">\n<h2>Registrable domains</h2>\n"
        "<div class=\"scroll\"><table>\n<thead><tr><th>domain</th>"
        "<th class=\"n\">hosts</th>",
        f);
  for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
    fprintf(f, "<th class=\"n\">%s</th>",
            cmd_audit__category_name((enum cmd_audit_category)c));
  fputs("<th>preload</th></tr></thead>\n<tbody>\n", f);
  for (i = 0; i < r->ndomains; i++) {
    const struct cmd_audit_domain *d = &r->domains[i];

    fputs("<tr><td>", f);
    esc(f, d->domain);
    fputs("</td>", f);
    td_u64(f, d->hosts);
    for (c = 0; c < CMD_AUDIT_CATEGORIES; c++)
      td_u64(f, d->per_category[c]);
    fprintf(f, "<td>%s%s", cmd_audit__domain_state(d),
            d->nblockers > 0 ? ":" : "");
    for (k = 0; k < d->nblockers; k++) {
      fputs(k > 0 ? ", " : " ", f);
      esc(f, d->blockers[k].host);
      fputs(d->blockers[k].cert_error ? " (certificate error)"
                                      : " (plain HTTP only)",
            f);
    }
    fputs("</td></tr>\n", f);
  }
  fputs("</tbody>\n</table></div>\n</section>\n", f);
}

static void obs_cell(FILE *f, const struct cmd_audit_obs *o)
{
  if (o->header == CMD_AUDIT_HDR_VALID)
    fprintf(f, "<td>max-age=%" PRId64 "%s</td>", o->max_age,
            o->include_subdomains ? "; includeSubDomains" : "");
  else
    fprintf(f, "<td>%s</td>", cmd_audit__header_name(o->header));
}

static void regressions(FILE *f, const struct cmd_audit_report *r)
{
  char a[CLI_TIME_MAX], b[CLI_TIME_MAX];
  size_t i;

  fputs("<section id=\"regressions\">\n<h2>Regressions</h2>\n", f);
  if (r->nregs == 0)
    fputs("<p>None.</p>\n", f);
  else
    fputs("<div class=\"scroll\"><table>\n<thead><tr><th>host</th>"
          "<th>change</th><th>before</th><th>after</th></tr></thead>\n"
          "<tbody>\n",
          f);
  for (i = 0; i < r->nregs; i++) {
    const struct cmd_audit_regression *g = &r->regs[i];

    cli_time_rfc3339(g->before.time, a);
    cli_time_rfc3339(g->after.time, b);
    fputs("<tr><td>", f);
    esc(f, g->host);
    fprintf(f, "</td><td>%s</td>", cmd_audit__regression_name(g->kind));
    if (g->kind == CMD_AUDIT_REG_POLICY_VANISHED) {
      fputs("<td>", f);
      esc(f, g->source);
      fputs(" ", f);
      esc(f, g->policy_host);
      fprintf(f, " until %s</td><td>none at %s</td></tr>\n", a, b);
      continue;
    }
    obs_cell(f, &g->before);
    obs_cell(f, &g->after);
    fputs("</tr>\n", f);
  }
  if (r->nregs > 0)
    fputs("</tbody>\n</table></div>\n", f);
  fputs("</section>\n", f);
}

static void totals(FILE *f, const struct cmd_audit_report *r)
{
  const struct cmd_audit_totals *t = &r->totals;
  int pct = cmd_audit__percent(t->traffic_upgrades, t->http_requests);
  size_t i;

  fprintf(f,
          "<section id=\"totals\">\n<h2>Totals</h2>\n<dl class=\"prov\">"
          "<dt>hosts</dt><dd>%zu</dd><dt>verdicts</dt><dd>%zu red, %zu "
          "yellow, %zu green</dd><dt>plain HTTP</dt><dd>%" PRIu64
          " requests: %" PRIu64 " upgraded internally",
          r->nhosts, t->per_verdict[CMD_AUDIT_RED],
          t->per_verdict[CMD_AUDIT_YELLOW], t->per_verdict[CMD_AUDIT_GREEN],
          t->http_requests, t->traffic_upgrades);
  if (pct >= 0)
    fprintf(f, " (%d%%)", pct);
  fprintf(f,
          ", %" PRIu64 " in clear text</dd><dt>CONNECTs</dt><dd>%" PRIu64
          "</dd><dt>preload eligible</dt><dd>%zu</dd></dl>\n"
          "<h3>Top clear-text hosts</h3>\n<ol>\n",
          t->clear_text, t->connects, t->eligible);
  for (i = 0; i < t->ntop; i++) {
    const struct cmd_audit_host *h = &r->hosts[t->top[i]];

    fputs("<li>", f);
    esc(f, h->host);
    fprintf(f, ": %" PRIu64 " (%s)</li>\n", h->clear_text,
            cmd_audit__category_name(h->category));
  }
  fputs("</ol>\n</section>\n", f);
}

static void trend(FILE *f, const struct cmd_audit_report *r)
{
  char date[CMD_AUDIT_DATE_MAX];
  size_t i;

  fputs("<section id=\"trend\">\n<h2>Per day (UTC)</h2>\n<div "
        "class=\"scroll\"><table>\n<thead><tr><th>date</th>"
        "<th class=\"n\">clear text</th><th class=\"n\">upgraded</th>"
        "<th class=\"n\">redirects</th></tr></thead>\n<tbody>\n",
        f);
  for (i = 0; i < r->ndays; i++) {
    cmd_audit__date(r->days[i].day, date);
    fprintf(f, "<tr><td>%s</td>", date);
    td_u64(f, r->days[i].clear_text);
    td_u64(f, r->days[i].upgrades);
    td_u64(f, r->days[i].upstream_redirects);
    fputs("</tr>\n", f);
  }
  fputs("</tbody>\n</table></div>\n</section>\n", f);
}

int cmd_audit__html(const struct cmd_audit_report *r, FILE *f)
{
  head(f);
  provenance(f, r);
  verdicts(f, r);
  fputs("<section id=\"charts\">\n<h2>Charts</h2>\n", f);
  category_chart(f, r);
  day_chart(f, r);
  fputs("</section>\n", f);
  host_table(f, r);
  problems(f, r);
  domains(f, r);
  regressions(f, r);
  totals(f, r);
  trend(f, r);
  fputs("</body>\n</html>\n", f);
  return ferror(f) ? -1 : 0;
}
