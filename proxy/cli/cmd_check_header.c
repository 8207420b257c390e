/*
 * cmd_check_header.c - `hstsproxy check-header VALUE [--json]`.
 *
 * Parses one Strict-Transport-Security value with the proxy's own parser
 * (hsts_header_parse: RFC 6797 validity with Chromium's choices) and prints
 * its reading and every problem found, validity and preload eligibility
 * alike, with hstspreload.org's codes. Exit 0 when the header is valid, 1
 * when it is not (a question answered "no"), 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_time.h"
#include "hsts_header.h"

#define WHAT "check-header"
/* The largest integer every JSON reader holds exactly (2^53): above it,
 * max_age_sent is written as a string of its digits. */
#define JSON_EXACT_MAX 9007199254740992ull

static const char usage_text[] =
    "usage: hstsproxy check-header VALUE [--json]\n"
    "\n"
    "Parses a Strict-Transport-Security header value as the proxy does\n"
    "(RFC 6797, with Chromium's choices: max-age capped at one year, a\n"
    "repeated directive invalidates the header) and lists its problems,\n"
    "validity and preload eligibility alike, with hstspreload.org's codes\n"
    "(header.parse.*, header.preloadable.*) or proxy.* codes.\n"
    "\n"
    "Exit status: 0 valid, 1 invalid, 2 usage error.\n";

static const char *severity_name(enum hsts_severity s)
{
  return s == HSTS_SEVERITY_ERROR ? "error" : "warning";
}

static void print_json(const char *value, const struct hsts_header *h)
{
  struct cli_json j;
  size_t i;

  cli_json_init(&j, stdout);
  cli_json_object_begin(&j);
  cli_json_kstring(&j, "header", value);
  cli_json_kbool(&j, "valid", h->valid);
  if (h->has_max_age) {
    cli_json_kuint(&j, "max_age", h->max_age);
    if (h->max_age_sent <= JSON_EXACT_MAX)
      cli_json_kuint(&j, "max_age_sent", h->max_age_sent);
    else
      cli_json_kstring(&j, "max_age_sent", h->max_age_text);
  } else {
    cli_json_knull(&j, "max_age");
    cli_json_knull(&j, "max_age_sent");
  }
  cli_json_kbool(&j, "include_subdomains", h->include_subdomains);
  cli_json_kbool(&j, "preload", h->preload);
  cli_json_key(&j, "problems");
  cli_json_array_begin(&j);
  for (i = 0; i < h->nproblems; i++) {
    cli_json_object_begin(&j);
    cli_json_kstring(&j, "code", h->problems[i].code);
    cli_json_kstring(&j, "severity", severity_name(h->problems[i].severity));
    cli_json_kstring(&j, "message", h->problems[i].message);
    cli_json_object_end(&j);
  }
  cli_json_array_end(&j);
  cli_json_object_end(&j);
}

static void print_problems(const struct cli_out *o, const struct hsts_header *h)
{
  size_t i, width = 0, n;

  for (i = 0; i < h->nproblems; i++) {
    n = strlen(h->problems[i].code);
    if (n > width)
      width = n;
  }
  for (i = 0; i < h->nproblems; i++) {
    const struct hsts_problem *p = &h->problems[i];
    enum cli_color c =
        p->severity == HSTS_SEVERITY_ERROR ? CLI_COLOR_BAD : CLI_COLOR_WARN;

    printf("  %s%-7s%s  %-*s  %s\n", cli_out_color(o, c),
           severity_name(p->severity), cli_out_color(o, CLI_COLOR_RESET),
           (int)width, p->code, p->message);
  }
}

static void print_text(const char *value, const struct hsts_header *h)
{
  struct cli_out o;
  char d[CLI_TIME_MAX];

  cli_out_init(&o, stdout);
  printf("%-*s \"", CLI_OUT_KEY_WIDTH - 1, "header");
  cli_json_escape(stdout, value, strlen(value));
  fputs("\"\n", stdout);
  cli_out_row_color(&o, h->valid ? CLI_COLOR_GOOD : CLI_COLOR_BAD, "valid",
                    "%s", h->valid ? "yes" : "no (browsers ignore it)");
  if (h->has_max_age) {
    cli_time_duration(h->max_age, d);
    if (h->max_age_sent != h->max_age)
      cli_out_row(&o, "max-age", "%u (%s; %s sent, capped at one year)",
                  (unsigned)h->max_age, d, h->max_age_text);
    else
      cli_out_row(&o, "max-age", "%u (%s)", (unsigned)h->max_age, d);
  } else {
    cli_out_row(&o, "max-age", "-");
  }
  cli_out_row(&o, "include subdomains", "%s",
              h->include_subdomains ? "yes" : "no");
  cli_out_row(&o, "preload", "%s", h->preload ? "yes" : "no");
  cli_out_row(&o, "problems", "%zu", h->nproblems);
  print_problems(&o, h);
}

int cmd_check_header(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option longopts[] = { { "json", no_argument, NULL, 'j' },
                                            { "help", no_argument, NULL, 'h' },
                                            { NULL, 0, NULL, 0 } };
  struct hsts_header h;
  int c, json = 0, rc;

  (void)g;
  optind = 0;
  opterr = 0;
  for (;;) {
    c = getopt_long(argc, argv, "h", longopts, NULL);
    if (c == -1)
      break;
    if (c == 'j') {
      json = 1;
    } else if (c == 'h') {
      fputs(usage_text, stdout);
      return CLI_EXIT_OK;
    } else {
      cli_error(WHAT,
                "unknown or incomplete option %s (see hstsproxy "
                "check-header --help)",
                argv[optind - 1]);
      return CLI_EXIT_USAGE;
    }
  }
  if (argc - optind != 1) {
    cli_error(WHAT, "%s (see hstsproxy check-header --help)",
              optind >= argc ? "VALUE is missing"
                             : "only one VALUE (quote "
                               "it)");
    return CLI_EXIT_USAGE;
  }
  hsts_header_parse(argv[optind], strlen(argv[optind]), &h);
  if (json)
    print_json(argv[optind], &h);
  else
    print_text(argv[optind], &h);
  rc = cli_out_finish(WHAT);
  if (rc != CLI_EXIT_OK)
    return rc;
  return h.valid ? CLI_EXIT_OK : CLI_EXIT_NO;
}
