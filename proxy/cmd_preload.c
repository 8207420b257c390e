/*
 * cmd_preload.c - `hstsproxy preload import|stats`.
 *
 * import replaces the store's active preload list with a file (Chromium
 * JSON, Mozilla .inc or text; sniffed unless --format says) in one
 * transaction, and reminds that a running proxy picks the list up on
 * SIGHUP. stats describes the active list (or the builtin one). The
 * parsing and the transaction are the store's (store_preload.h); this file
 * only handles arguments and output. `preload update` (download) belongs
 * with the TLS client and is not here.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_store.h"
#include "cli_time.h"
#include "store_preload.h"

#define WHAT_IMPORT "preload import"
#define WHAT_STATS  "preload stats"

static const char usage_text[] =
    "usage: hstsproxy preload import FILE [--format chromium|mozilla|text] "
    "[--json]\n"
    "       hstsproxy preload stats [--json]\n"
    "\n"
    "import  replace the active preload list with FILE, atomically: a\n"
    "        malformed file changes nothing and the error names the line.\n"
    "        Formats: Chromium's transport_security_state_static.json,\n"
    "        Mozilla's nsSTSPreloadList.inc, or text (one host per line,\n"
    "        optionally followed by includeSubDomains; # comments).\n"
    "        Detected from the content unless --format is given.\n"
    "stats   the active list: name, source, when imported, counts. With no\n"
    "        list imported, the builtin list of preloaded top-level domains\n"
    "        is active.\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 failure (unreadable or\n"
    "malformed file, database error).\n";

static int usage_error(const char *what, const char *why)
{
  cli_error(what, "%s (see hstsproxy preload --help)", why);
  return CLI_EXIT_USAGE;
}

/* Common options: --json, --help, and for import --format. */
struct opts {
  int json;
  int help;
  const char *format;
};

static int parse(int argc, char **argv, const char *what, int with_format,
                 struct opts *o)
{
  static const struct option longopts[] = { { "format", required_argument, NULL,
                                              'f' },
                                            { "json", no_argument, NULL, 'j' },
                                            { "help", no_argument, NULL, 'h' },
                                            { NULL, 0, NULL, 0 } };
  char why[CLI_PATH_MAX];
  int c;

  memset(o, 0, sizeof(*o));
  optind = 0;
  opterr = 0;
  for (;;) {
    c = getopt_long(argc, argv, "h", longopts, NULL);
    if (c == -1)
      break;
    if (c == 'j') {
      o->json = 1;
    } else if (c == 'h') {
      o->help = 1;
    } else if (c == 'f' && with_format) {
      o->format = optarg;
    } else {
      snprintf(why, sizeof(why), "unknown or incomplete option %s",
               argv[optind - 1]);
      return usage_error(what, why);
    }
  }
  return CLI_EXIT_OK;
}

static void json_info(struct cli_json *j, const struct store_list_info *in)
{
  char t[CLI_TIME_MAX];

  cli_json_kstring(j, "list", in->name);
  cli_json_kbool(j, "builtin", in->builtin);
  cli_json_kstring(j, "source", in->builtin ? NULL : in->source);
  cli_json_kstring(j, "format",
                   in->builtin ? NULL : store_format_name(in->format));
  cli_json_kstring(j, "sha256", in->builtin ? NULL : in->sha256);
  if (in->builtin) {
    cli_json_knull(j, "imported");
    cli_json_knull(j, "bytes");
  } else {
    cli_time_rfc3339(in->imported, t);
    cli_json_kstring(j, "imported", t);
    cli_json_kuint(j, "bytes", in->bytes);
  }
  cli_json_kuint(j, "entries", in->entries);
  cli_json_kuint(j, "include_subdomains", in->with_subdomains);
  cli_json_kuint(j, "force_https", in->force_https);
  cli_json_kuint(j, "duplicates", in->duplicates);
  cli_json_kuint(j, "imports", in->imports);
}

static int do_import(int argc, char **argv, const struct cli_globals *g)
{
  struct opts o;
  enum store_format format = STORE_FORMAT_AUTO;
  struct store_list_info in;
  struct store *s;
  struct cli_json j;
  int rc = parse(argc, argv, WHAT_IMPORT, 1, &o), err;

  if (rc != CLI_EXIT_OK || o.help) {
    if (o.help)
      fputs(usage_text, stdout);
    return rc;
  }
  if (optind != argc - 1)
    return usage_error(WHAT_IMPORT,
                       optind >= argc ? "FILE is missing" : "only one FILE");
  if (o.format != NULL && (store_format_parse(o.format, &format) != STORE_OK ||
                           format == STORE_FORMAT_AUTO))
    return usage_error(WHAT_IMPORT, "--format must be chromium, mozilla or "
                                    "text");
  rc = cli_store_open(g, WHAT_IMPORT, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = store_preload_import_file(s, argv[optind], format, time(NULL), &in);
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT_IMPORT, s, err);
    store_close(&s);
    return rc == CLI_EXIT_USAGE ? CLI_EXIT_FAIL : rc;
  }
  store_close(&s);
  if (o.json) {
    cli_json_init(&j, stdout);
    cli_json_object_begin(&j);
    json_info(&j, &in);
    cli_json_object_end(&j);
  } else {
    printf("imported %zu hosts (%zu with subdomains) from %s\n", in.entries,
           in.with_subdomains, argv[optind]);
    if (in.duplicates > 0)
      printf("merged %zu repeated %s (the same host after normalization)\n",
             in.duplicates, in.duplicates == 1 ? "entry" : "entries");
    printf("a running proxy switches to the new list on SIGHUP "
           "(kill -HUP <pid>)\n");
  }
  return cli_out_finish(WHAT_IMPORT);
}

static void text_stats(const struct store_list_info *in)
{
  struct cli_out o;
  char t[CLI_TIME_MAX], rel[CLI_TIME_MAX];

  cli_out_init(&o, stdout);
  cli_out_row(&o, "active list", "%s", in->name);
  if (in->builtin) {
    cli_out_row(&o, "source",
                "built into hstsproxy (top-level domains "
                "preloaded by Chromium)");
  } else {
    cli_time_rfc3339(in->imported, t);
    cli_time_relative(in->imported, (int64_t)time(NULL), rel);
    cli_out_row(&o, "source", "%s", in->source);
    cli_out_row(&o, "format", "%s", store_format_name(in->format));
    cli_out_row(&o, "imported", "%s (%s)", t, rel);
    cli_out_row(&o, "sha256", "%s", in->sha256);
    cli_out_row(&o, "bytes", "%llu", (unsigned long long)in->bytes);
  }
  cli_out_row(&o, "entries", "%zu", in->entries);
  cli_out_row(&o, "force-https", "%zu", in->force_https);
  cli_out_row(&o, "include subdomains", "%zu", in->with_subdomains);
  if (!in->builtin)
    cli_out_row(&o, "duplicates merged", "%zu", in->duplicates);
  cli_out_row(&o, "imports (history)", "%zu", in->imports);
}

static int do_stats(int argc, char **argv, const struct cli_globals *g)
{
  struct opts o;
  struct store_list_info in;
  struct store *s;
  struct cli_json j;
  int rc = parse(argc, argv, WHAT_STATS, 0, &o), err;

  if (rc != CLI_EXIT_OK || o.help) {
    if (o.help)
      fputs(usage_text, stdout);
    return rc;
  }
  if (optind != argc)
    return usage_error(WHAT_STATS, "unexpected argument");
  rc = cli_store_open(g, WHAT_STATS, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = store_preload_info(s, &in);
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT_STATS, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  if (o.json) {
    cli_json_init(&j, stdout);
    cli_json_object_begin(&j);
    json_info(&j, &in);
    cli_json_object_end(&j);
  } else {
    text_stats(&in);
  }
  return cli_out_finish(WHAT_STATS);
}

int cmd_preload(int argc, char **argv, const struct cli_globals *g)
{
  if (argc < 2)
    return usage_error("preload", "a subcommand is missing: import or stats");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(usage_text, stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "import") == 0)
    return do_import(argc - 1, argv + 1, g);
  if (strcmp(argv[1], "stats") == 0)
    return do_stats(argc - 1, argv + 1, g);
  return usage_error("preload", "unknown subcommand (import or stats)");
}
