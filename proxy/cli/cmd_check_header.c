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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_time.h"
#include "hsts_header.h"

#define WHAT "check-header"
/* The largest integer every JSON reader holds exactly (2^53): above it,
 * max_age_sent is written as a string of its digits. */
#define JSON_EXACT_MAX 9007199254740992ull
#define FIELD_NAME     "Strict-Transport-Security"
#define STDIN_MAX      65536 /* bytes of a value read from "-" */

/* What was checked: the value, and how it was found. */
struct input {
  char *value; /* owned when read from stdin */
  size_t len;
  int field_name; /* "Strict-Transport-Security:" was removed */
  int preload;    /* --preload: preload requirements are errors */
};

static const char usage_text[] =
    "usage: hstsproxy check-header VALUE|- [--preload] [--json]\n"
    "\n"
    "Parses a Strict-Transport-Security header value as the proxy does\n"
    "(RFC 6797, with Chromium's choices: max-age capped at one year, a\n"
    "repeated directive invalidates the header) and lists its problems,\n"
    "validity and preload eligibility alike, with hstspreload.org's codes\n"
    "(header.parse.*, header.preloadable.*) or proxy.* codes.\n"
    "\n"
    "VALUE may be a pasted header line (\"Strict-Transport-Security: ...\":\n"
    "the field name is removed, and the output says so), or - to read it\n"
    "from standard input (one trailing line break dropped). For a valid\n"
    "header the preload requirements are warnings; --preload makes them\n"
    "errors and asks whether the header can be preloaded.\n"
    "\n"
    "Exit status: 0 valid (with --preload: and preloadable), 1 not,\n"
    "2 usage error, 3 standard input unreadable.\n";

static const char *severity_name(enum hsts_severity s)
{
  return s == HSTS_SEVERITY_ERROR ? "error" : "warning";
}

static void print_json(const struct input *in, const struct hsts_header *h)
{
  struct cli_json j;
  size_t i;

  cli_json_init(&j, stdout);
  cli_json_object_begin(&j);
  cli_json_kstring(&j, "header", in->value);
  cli_json_kbool(&j, "field_name_removed", in->field_name);
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

static void print_text(const struct input *in, const struct hsts_header *h)
{
  struct cli_out o;
  char d[CLI_TIME_MAX];

  cli_out_init(&o, stdout);
  printf("%-*s \"", CLI_OUT_KEY_WIDTH - 1, "header");
  cli_json_escape(stdout, in->value, strlen(in->value));
  fputs("\"\n", stdout);
  if (in->field_name)
    cli_out_row(&o, "note",
                "the field name \"" FIELD_NAME ":\" was "
                "removed: only the value is checked");
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

/* Reads the value from standard input into in->value (owned). */
static int read_stdin(struct input *in)
{
  size_t n;

  in->value = malloc(STDIN_MAX + 1);
  if (in->value == NULL) {
    cli_error(WHAT, "out of memory");
    return CLI_EXIT_FAIL;
  }
  n = fread(in->value, 1, STDIN_MAX + 1, stdin);
  if (ferror(stdin)) {
    cli_error(WHAT, "cannot read standard input");
    return CLI_EXIT_FAIL;
  }
  if (n > STDIN_MAX || memchr(in->value, '\0', n) != NULL) {
    cli_error(WHAT,
              "standard input is not one header value (over %d "
              "bytes, or a NUL byte)",
              STDIN_MAX);
    return CLI_EXIT_USAGE;
  }
  if (n > 0 && in->value[n - 1] == '\n')
    n--;
  if (n > 0 && in->value[n - 1] == '\r')
    n--;
  in->value[n] = '\0';
  return CLI_EXIT_OK;
}

/* A pasted "Strict-Transport-Security: VALUE" line: the value alone. */
static void strip_field_name(struct input *in)
{
  static const size_t n = sizeof(FIELD_NAME) - 1;
  char *p = in->value;

  p += strspn(p, " \t");
  if (strncasecmp(p, FIELD_NAME, n) != 0)
    return;
  p += n;
  p += strspn(p, " \t");
  if (*p != ':')
    return;
  p++;
  in->value = p + strspn(p, " \t");
  in->field_name = 1;
}

/* Without --preload, what only blocks preloading a valid header is a
 * warning: a site that does not preload is not failing. */
static void preload_as_warnings(struct hsts_header *h)
{
  size_t i;

  if (!h->valid)
    return;
  for (i = 0; i < h->nproblems; i++)
    h->problems[i].severity = HSTS_SEVERITY_WARNING;
}

static int check(struct input *in, int json)
{
  struct hsts_header h;
  int rc;

  strip_field_name(in);
  in->len = strlen(in->value);
  hsts_header_parse(in->value, in->len, &h);
  if (!in->preload)
    preload_as_warnings(&h);
  if (json)
    print_json(in, &h);
  else
    print_text(in, &h);
  rc = cli_out_finish(WHAT);
  if (rc != CLI_EXIT_OK)
    return rc;
  return h.valid && !hsts_header_has_errors(&h) ? CLI_EXIT_OK : CLI_EXIT_NO;
}

int cmd_check_header(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option longopts[] = { { "json", no_argument, NULL, 'j' },
                                            { "help", no_argument, NULL, 'h' },
                                            { "preload", no_argument, NULL,
                                              'p' },
                                            { NULL, 0, NULL, 0 } };
  struct cli_cmd cmd = {
    .what = WHAT, .help = WHAT, .usage = usage_text, .longopts = longopts
  };
  struct input in;
  char *owned = NULL;
  int c, json = 0, rc;

  (void)g;
  memset(&in, 0, sizeof(in));
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    if (c == 'j')
      json = 1;
    else if (c == 'p')
      in.preload = 1;
  }
  if (cli_opt_operands(&cmd, argc, argv, "VALUE") != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  in.value = argv[optind];
  if (strcmp(in.value, "-") == 0) {
    rc = read_stdin(&in);
    owned = in.value;
    if (rc != CLI_EXIT_OK)
      goto done;
  }
  rc = check(&in, json);
done:
  free(owned);
  return rc;
}
