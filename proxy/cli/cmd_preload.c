/*
 * cmd_preload.c - `hstsproxy preload import|update|stats|reset`.
 *
 * import replaces the store's active preload list with a file (Chromium
 * JSON, Mozilla .inc or text; sniffed unless --format says) in one
 * transaction, and reminds that a running proxy picks the list up on
 * SIGHUP. update downloads the list over HTTPS with the proxy's own TLS
 * client (proxy_fetch.h: certificate and name verified), decodes it when
 * it comes base64-encoded (gitiles' ?format=TEXT), and imports it the
 * same way. Both refuse a list with fewer than half the active entries
 * unless --force, and name in one warning line the entries skipped
 * because they can never apply. stats describes the active list (or the
 * built-in one), with its date and a warning past 70 days; reset goes
 * back to the built-in list. The
 * parsing and the transaction are the store's (store_preload.h); this file
 * only handles arguments, the download's progress and output.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_store.h"
#include "cli_time.h"
#include "proxy.h"
#include "proxy_fetch.h"
#include "store_preload.h"

#define WHAT_IMPORT          "preload import"
#define WHAT_UPDATE          "preload update"
#define WHAT_STATS           "preload stats"
#define WHAT_RESET           "preload reset"
#define PROGRESS_INTERVAL_NS 100000000u /* redraw at most 10 times a second */
#define KIB                  1024.0
#define WHY_MAX              160 /* a usage error's reason */

static const char usage_text[] =
    "usage: hstsproxy preload import FILE [--format chromium|mozilla|text] "
    "[--force] [--json]\n"
    "       hstsproxy preload update [--url URL] [--ca-file PEM] [--force] "
    "[--json]\n"
    "                                [--upstream-proxy http://HOST:PORT]\n"
    "       hstsproxy preload stats [--json]\n"
    "       hstsproxy preload reset [--json]\n"
    "\n"
    "import  replace the active preload list with FILE, atomically: a\n"
    "        malformed file changes nothing and the error names the line.\n"
    "        Formats: Chromium's transport_security_state_static.json,\n"
    "        Mozilla's nsSTSPreloadList.inc, or text (one host per line,\n"
    "        optionally followed by includeSubDomains; # comments).\n"
    "        Detected from the content unless --format is given.\n"
    "        Entries that can never apply (IP literals, invalid names) are\n"
    "        skipped and named in one warning line. A list with fewer than\n"
    "        half the active list's entries is refused unless --force.\n"
    "update  download the list over HTTPS (certificate and name verified\n"
    "        against the system's trust store, or --ca-file) and import it.\n"
    "        Default URL: Chromium's transport_security_state_static.json\n"
    "        from chromium.googlesource.com with ?format=TEXT (base64, which\n"
    "        is decoded; a mirror may serve the raw JSON). Only status 200\n"
    "        is accepted: redirects are not followed. Any network, TLS or\n"
    "        HTTP error leaves the store unchanged (exit 3). With\n"
    "        --upstream-proxy http://[USER:PASS@]HOST:PORT the download\n"
    "        goes through that parent proxy (CONNECT), as run's does.\n"
    "stats   the active list: name, date, age, source, counts. With no\n"
    "        list imported, the built-in list is active: Chromium's\n"
    "        force-https entries as of its date. A list more than 70 days\n"
    "        old is stale: stats says so.\n"
    "reset   make the built-in list active again (recorded in the history).\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 failure (unreadable or\n"
    "malformed file, network, TLS or HTTP error, database error).\n";

static int usage_error(const char *what, const char *why)
{
  struct cli_cmd cmd = { .what = what, .help = "preload", .usage = usage_text };

  return cli_usage_error(&cmd, "%s", why);
}

/* Common options: --json, --help; for import --format; for update --url
 * and --ca-file. */
struct opts {
  int json;
  int help; /* parsing stopped: return the status at once */
  const char *format;
  const char *url;
  const char *ca_file;
  int force;
  const char *parent; /* --upstream-proxy URL, or NULL */
};

#define WITH_FORMAT 0x1u /* --format */
#define WITH_URL    0x2u /* --url, --ca-file */
#define WITH_FORCE  0x4u /* --force */

/* The options of every preload subcommand, with the bit that allows each
 * (0: all). */
static const struct cli_opt_member all_options[] = {
  { { "format", required_argument, NULL, 'f' }, WITH_FORMAT },
  { { "url", required_argument, NULL, 'u' }, WITH_URL },
  { { "ca-file", required_argument, NULL, 'c' }, WITH_URL },
  { { "force", no_argument, NULL, 'F' }, WITH_FORCE },
  { { "upstream-proxy", required_argument, NULL, 'p' }, WITH_URL },
  { { "json", no_argument, NULL, 'j' }, 0 },
  { { "help", no_argument, NULL, 'h' }, 0 },
};

#define NOPTIONS (sizeof(all_options) / sizeof(all_options[0]))

/* Options (only those `with` allows: getopt reports the others unknown),
 * then the one operand named `operand`, or none when NULL. Sets o->help
 * when parsing stopped (--help answered, or a usage error printed) and
 * returns the exit status. */
static int parse(int argc, char **argv, const char *what, unsigned with,
                 const char *operand, struct opts *o)
{
  struct option longopts[NOPTIONS + 1];
  struct cli_cmd cmd = {
    .what = what, .help = "preload", .usage = usage_text, .longopts = longopts
  };
  int c;

  cli_opt_select(all_options, NOPTIONS, with, longopts);
  memset(o, 0, sizeof(*o));
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP) {
      o->help = 1;
      return cmd.status;
    }
    if (c == 'j')
      o->json = 1;
    else if (c == 'f')
      o->format = optarg;
    else if (c == 'u')
      o->url = optarg;
    else if (c == 'c')
      o->ca_file = optarg;
    else if (c == 'F')
      o->force = 1;
    else if (c == 'p')
      o->parent = optarg;
  }
  return cli_opt_operands(&cmd, argc, argv, operand);
}

static void json_info(struct cli_json *j, const struct store_list_info *in)
{
  char t[CLI_TIME_MAX];

  int64_t now = (int64_t)time(NULL);

  cli_json_kstring(j, "list", in->name);
  cli_json_kbool(j, "builtin", in->builtin);
  cli_json_kstring(j, "list_date", in->list_date);
  cli_json_kint(j, "age_days", store_list_age_days(in, now));
  cli_json_kbool(j, "stale", store_list_stale(in, now));
  cli_json_kstring(j, "source", in->builtin ? NULL : in->source);
  cli_json_kstring(j, "format", store_format_name(in->format));
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
  cli_json_kuint(j, "skipped", in->skipped);
  cli_json_kuint(j, "imports", in->imports);
}

/* One warning line for the entries that can never apply. */
static void warn_skipped(const char *what, const struct store_list_info *in)
{
  if (in->skipped == 0)
    return;
  cli_error(what,
            "warning: skipped %zu %s that can never apply (IP "
            "literals or invalid names): %s",
            in->skipped, in->skipped == 1 ? "entry" : "entries",
            in->skipped_names);
}

/* What import and update print: the list, or the JSON of stats. */
static void print_imported(const struct store_list_info *in, const char *source,
                           int json)
{
  struct cli_json j;

  if (json) {
    cli_json_init(&j, stdout);
    cli_json_object_begin(&j);
    json_info(&j, in);
    cli_json_object_end(&j);
    return;
  }
  printf("imported %zu %s (%zu force-https, %zu with subdomains) from %s\n",
         in->entries, in->entries == 1 ? "host" : "hosts", in->force_https,
         in->with_subdomains, source);
  printf("list %s, dated %s\n", in->name, in->list_date);
  if (in->duplicates > 0)
    printf("merged %zu repeated %s (the same host after normalization)\n",
           in->duplicates, in->duplicates == 1 ? "entry" : "entries");
  printf("a running proxy switches to the new list on SIGHUP "
         "(kill -HUP <pid>)\n");
}

/* Imports FILE, recorded under its absolute path, so that preload stats
 * says where the list came from whatever directory it is run in; without
 * force, a list of fewer than half the active entries is refused. */
static int import_file(struct store *s, const char *path,
                       enum store_format format, int force,
                       struct store_list_info *in)
{
  char *abs = realpath(path, NULL);
  int err = store_preload_import_file_flags(s, abs != NULL ? abs : path, format,
                                            time(NULL),
                                            force ? 0 : STORE_IMPORT_GUARD, in);

  free(abs);
  return err;
}

static int do_import(int argc, char **argv, const struct cli_globals *g)
{
  struct opts o;
  enum store_format format = STORE_FORMAT_AUTO;
  struct store_list_info in;
  struct store *s;
  int rc = parse(argc, argv, WHAT_IMPORT, WITH_FORMAT | WITH_FORCE, "FILE", &o),
      err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (o.format != NULL && (store_format_parse(o.format, &format) != STORE_OK ||
                           format == STORE_FORMAT_AUTO))
    return usage_error(WHAT_IMPORT, "--format must be chromium, mozilla or "
                                    "text");
  rc = cli_store_open(g, WHAT_IMPORT, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = import_file(s, argv[optind], format, o.force, &in);
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT_IMPORT, s, err);
    store_close(&s);
    return rc == CLI_EXIT_USAGE ? CLI_EXIT_FAIL : rc;
  }
  store_close(&s);
  warn_skipped(WHAT_IMPORT, &in);
  print_imported(&in, argv[optind], o.json);
  return cli_out_finish(WHAT_IMPORT);
}

/* ---- update ---- */

/* Progress on stderr, on a terminal only, at most every 100 ms. */
struct progress {
  int tty;
  int shown;
  uint64_t last_ns;
};

static uint64_t now_ns(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * HSTS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void on_progress(uint64_t received, uint64_t total, void *arg)
{
  struct progress *p = arg;
  uint64_t t;

  if (!p->tty)
    return;
  t = now_ns();
  if (p->shown && t - p->last_ns < PROGRESS_INTERVAL_NS && received != total)
    return;
  p->last_ns = t;
  p->shown = 1;
  if (total > 0)
    fprintf(stderr, "\rdownloading: %.0f / %.0f KiB (%3.0f%%)",
            (double)received / KIB, (double)total / KIB,
            100.0 * (double)received / (double)total);
  else
    fprintf(stderr, "\rdownloading: %.0f KiB", (double)received / KIB);
  fflush(stderr);
}

/* Downloads o->url (through parent when not NULL). Returns CLI_EXIT_OK
 * with r->body set, or an error. */
static int download(const struct opts *o, const struct proxy_parent *parent,
                    struct proxy_fetch_result *r)
{
  struct proxy_fetch_options fo;
  struct proxy_tls_ctx *tls = NULL;
  struct progress prog;
  char err[PROXY_TLS_ERROR_MAX];
  int rc;

  if (proxy_tls_ctx_new(o->ca_file, &tls, err, sizeof(err)) < 0) {
    cli_error(WHAT_UPDATE, "%s", err);
    return CLI_EXIT_FAIL;
  }
  memset(&prog, 0, sizeof(prog));
  prog.tty = isatty(STDERR_FILENO);
  memset(&fo, 0, sizeof(fo));
  fo.url = o->url;
  fo.tls = tls;
  fo.body_max = PROXY_FETCH_BODY_MAX;
  fo.timeout_ms = PROXY_FETCH_TIMEOUT_MS;
  fo.on_progress = on_progress;
  fo.arg = &prog;
  fo.parent = parent;
  rc = proxy_fetch_get(&fo, r);
  if (prog.shown)
    fputc('\n', stderr);
  proxy_tls_ctx_free(&tls);
  if (rc < 0) {
    cli_error(WHAT_UPDATE, "%s", r->error);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

/* A base64 body (gitiles' ?format=TEXT) is decoded in place of r->body. */
static int decode_body(const struct opts *o, struct proxy_fetch_result *r)
{
  char *plain;
  size_t len;

  if (!proxy_fetch_is_base64(r->body, r->len))
    return CLI_EXIT_OK;
  if (proxy_fetch_base64_decode(r->body, r->len, &plain, &len) < 0) {
    cli_error(WHAT_UPDATE,
              "%s: the body looks like base64 but does not "
              "decode",
              o->url);
    return CLI_EXIT_FAIL;
  }
  free(r->body);
  r->body = plain;
  r->len = len;
  return CLI_EXIT_OK;
}

static int do_update(int argc, char **argv, const struct cli_globals *g)
{
  static struct proxy_config parent_cfg; /* --upstream-proxy; large */
  struct opts o;
  struct proxy_fetch_result r;
  struct store_list_info in;
  struct store *s = NULL;
  const char *why = NULL;
  int rc = parse(argc, argv, WHAT_UPDATE, WITH_URL | WITH_FORCE, NULL, &o), err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (o.url == NULL)
    o.url = PROXY_PRELOAD_URL_DEFAULT;
  if (proxy_fetch_url_check(o.url, &why) < 0) {
    cli_error(WHAT_UPDATE, "--url %s: %s", o.url, why);
    return CLI_EXIT_USAGE;
  }
  proxy_config_init(&parent_cfg);
  if (o.parent != NULL &&
      proxy_config_set_parent(&parent_cfg, o.parent, &why) < 0) {
    cli_error(WHAT_UPDATE, "--upstream-proxy %s: %s", o.parent, why);
    return CLI_EXIT_USAGE;
  }
  rc = cli_store_open(g, WHAT_UPDATE, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  memset(&r, 0, sizeof(r));
  rc = download(&o, parent_cfg.has_parent ? &parent_cfg.parent : NULL, &r);
  if (rc == CLI_EXIT_OK)
    rc = decode_body(&o, &r);
  if (rc == CLI_EXIT_OK) {
    err = store_preload_import_mem_flags(s, r.body, r.len, o.url,
                                         STORE_FORMAT_AUTO, time(NULL),
                                         o.force ? 0 : STORE_IMPORT_GUARD, &in);
    if (err != STORE_OK) {
      cli_store_error(WHAT_UPDATE, s, err);
      rc = CLI_EXIT_FAIL; /* a malformed list is a failure, not usage */
    }
  }
  proxy_fetch_result_cleanup(&r);
  store_close(&s);
  if (rc != CLI_EXIT_OK)
    return rc;
  warn_skipped(WHAT_UPDATE, &in);
  print_imported(&in, o.url, o.json);
  return cli_out_finish(WHAT_UPDATE);
}

static void text_stats(const struct store_list_info *in)
{
  struct cli_out o;
  char t[CLI_TIME_MAX], rel[CLI_TIME_MAX];

  int64_t now = (int64_t)time(NULL);
  int age = store_list_age_days(in, now);

  cli_out_init(&o, stdout);
  cli_out_row(&o, "active list", "%s", in->name);
  cli_out_row(&o, "list date", "%s (%d %s old)%s", in->list_date, age,
              age == 1 ? "day" : "days",
              store_list_stale(in, now) ? ": STALE, more than 70 days" : "");
  if (in->builtin) {
    cli_out_row(&o, "source",
                "built into hstsproxy (Chromium's force-https "
                "entries)");
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
  cli_out_row(&o, "skipped", "%zu (never apply)", in->skipped);
  cli_out_row(&o, "imports (history)", "%zu", in->imports);
}

/* Runs stats (reset == 0) or reset: one store call, then the list. */
static int stats_or_reset(int argc, char **argv, const struct cli_globals *g,
                          const char *what, int reset)
{
  struct opts o;
  struct store_list_info in;
  struct store *s;
  struct cli_json j;
  int rc = parse(argc, argv, what, 0, NULL, &o), err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  rc = reset ? cli_store_open(g, what, 0, &s) /* it writes */
             : cli_store_open_reader(g, what, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = reset ? store_preload_reset(s, (int64_t)time(NULL), &in)
              : store_preload_info(s, &in);
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  if (o.json) {
    cli_json_init(&j, stdout);
    cli_json_object_begin(&j);
    json_info(&j, &in);
    cli_json_object_end(&j);
  } else if (reset) {
    printf("the built-in list %s is active again (%zu hosts)\n", in.name,
           in.entries);
  } else {
    text_stats(&in);
  }
  return cli_out_finish(what);
}

int cmd_preload(int argc, char **argv, const struct cli_globals *g)
{
  char why[WHY_MAX];

  if (argc < 2)
    return usage_error("preload",
                       "a subcommand is missing: import, update, stats or "
                       "reset");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(usage_text, stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "import") == 0)
    return do_import(argc - 1, argv + 1, g);
  if (strcmp(argv[1], "update") == 0)
    return do_update(argc - 1, argv + 1, g);
  if (strcmp(argv[1], "stats") == 0)
    return stats_or_reset(argc - 1, argv + 1, g, WHAT_STATS, 0);
  if (strcmp(argv[1], "reset") == 0)
    return stats_or_reset(argc - 1, argv + 1, g, WHAT_RESET, 1);
  snprintf(why, sizeof(why),
           "unknown subcommand \"%.64s\" (import, update, stats or reset)",
           argv[1]);
  return usage_error("preload", why);
}
