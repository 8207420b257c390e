/*
 * cmd_policy.c - `hstsproxy policy add|delete|list|export|import` and the
 * dispatch to `policy query` (cmd_policy_query.c).
 *
 * Modelled on chrome://net-internals/#hsts: query a host, add a manual
 * policy, delete a learned or manual one (a preloaded host cannot be
 * deleted), list, and move policies in and out in curl's --hsts cache
 * format. Everything that touches the database is in store_policy.h; this
 * file parses arguments and prints.
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

#define DEFAULT_MAX_AGE       HSTS_MAX_AGE_CAP /* one year */
#define EXPORT_FORMAT_NAME    "hstsproxy-policies"
#define EXPORT_FORMAT_VERSION 1
#define HOW_COLUMN            5 /* width of "probe", "proxy", "curl", "cli" */

static const char usage_text[] =
    "usage: hstsproxy policy query HOST [--json]\n"
    "       hstsproxy policy add HOST [--max-age SECONDS] "
    "[--include-subdomains]\n"
    "       hstsproxy policy delete HOST\n"
    "       hstsproxy policy list [--source learned|manual|preload|builtin] "
    "[--json]\n"
    "       hstsproxy policy export [--format curl|json]\n"
    "       hstsproxy policy import FILE\n"
    "\n"
    "query   the policy that applies to HOST, with the static (preload) and\n"
    "        dynamic (learned, manual) sides in full; exit 0 when HOST is\n"
    "        HSTS, 1 when not.\n"
    "add     add or replace a manual policy (default max-age 31536000 s,\n"
    "        one year; 1 to 4294967295).\n"
    "delete  delete the learned or manual policy for HOST; exit 1 when there\n"
    "        is none (a preloaded host cannot be deleted).\n"
    "list    live policies sorted by host (default: learned and manual;\n"
    "        --source preload or builtin lists a static list); --json\n"
    "        prints one object per line.\n"
    "export  write the live learned and manual policies to stdout in curl's\n"
    "        --hsts cache format (default) or as one JSON object.\n"
    "import  add the entries of FILE as manual policies, in one\n"
    "        transaction (expired entries are skipped): either format\n"
    "        export writes, curl's or JSON, detected from content.\n"
    "\n"
    "Exit status: 0 success, 1 negative answer, 2 usage error, 3 failure.\n";

int cmd_policy__usage_error(const char *what, const char *why)
{
  struct cli_cmd cmd = { .what = what, .help = "policy", .usage = usage_text };

  return cli_usage_error(&cmd, "%s", why);
}

/* The options of every policy subcommand, with the bit that allows each. */
static const struct cli_opt_member all_options[] = {
  { { "json", no_argument, NULL, 'j' }, CMD_POLICY_OPT_JSON },
  { { "max-age", required_argument, NULL, 'm' }, CMD_POLICY_OPT_MAX_AGE },
  { { "include-subdomains", no_argument, NULL, 'i' },
    CMD_POLICY_OPT_SUBDOMAINS },
  { { "source", required_argument, NULL, 's' }, CMD_POLICY_OPT_SOURCE },
  { { "format", required_argument, NULL, 'f' }, CMD_POLICY_OPT_FORMAT },
  { { "help", no_argument, NULL, 'h' }, 0 },
};

#define NOPTIONS (sizeof(all_options) / sizeof(all_options[0]))

int cmd_policy__parse(int argc, char **argv, const char *what, unsigned allowed,
                      struct cmd_policy__opts *o)
{
  struct option longopts[NOPTIONS + 1];
  struct cli_cmd cmd = {
    .what = what, .help = "policy", .usage = usage_text, .longopts = longopts
  };
  int c;

  cli_opt_select(all_options, NOPTIONS, allowed, longopts);
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
    else if (c == 'm')
      o->max_age = optarg;
    else if (c == 'i')
      o->include_subdomains = 1;
    else if (c == 's')
      o->source = optarg;
    else if (c == 'f')
      o->format = optarg;
  }
  return CLI_EXIT_OK;
}

/* Parses options, then requires the one operand named `operand` (or none
 * when NULL). */
static int args(int argc, char **argv, const char *what, unsigned allowed,
                const char *operand, struct cmd_policy__opts *o)
{
  struct cli_cmd cmd = { .what = what, .help = "policy", .usage = usage_text };
  int rc = cmd_policy__parse(argc, argv, what, allowed, o);

  if (rc != CLI_EXIT_OK || o->help)
    return rc;
  return cli_opt_operands(&cmd, argc, argv, operand);
}

/* A normalized host, with its U-label form in parentheses when it has
 * one ("xn--bcher-kva.de (bücher.de)"). */
static void print_host(const char *host)
{
  char u[HSTS_UNICODE_MAX];

  fputs(host, stdout);
  if (hsts_host_unicode(host, u, sizeof(u)))
    printf(" (%s)", u);
}

static int do_add(int argc, char **argv, const struct cli_globals *g)
{
  const char *what = "policy add";
  struct cmd_policy__opts o;
  struct store_policy p;
  struct store *s;
  uint64_t max_age = DEFAULT_MAX_AGE;
  int64_t now = (int64_t)time(NULL);
  char t[CLI_TIME_MAX], rel[CLI_TIME_MAX], d[CLI_TIME_MAX];
  int rc = args(argc, argv, what,
                CMD_POLICY_OPT_MAX_AGE | CMD_POLICY_OPT_SUBDOMAINS, "HOST", &o);
  int err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (o.max_age != NULL &&
      (cli_parse_u64(o.max_age, UINT32_MAX, &max_age) != 0 || max_age == 0))
    return cmd_policy__usage_error(what, "--max-age must be a number of "
                                         "seconds from 1 to 4294967295");
  rc = cli_store_open(g, what, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = store_policy_add(s, argv[optind], o.include_subdomains,
                         (uint32_t)max_age, "cli", now, &p);
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  cli_time_rfc3339(p.expires, t);
  cli_time_relative(p.expires, now, rel);
  cli_time_duration(p.max_age, d);
  printf("added manual policy for ");
  print_host(p.host);
  printf(": max-age %u (%s)%s, expires %s (%s)\n", (unsigned)p.max_age, d,
         p.include_subdomains ? ", includeSubDomains" : "", t, rel);
  return cli_out_finish(what);
}

/* For a host with nothing to delete: the static entry covering it, if any,
 * in `note` ("" when none). */
static void static_cover(struct store *s, const char *host, char *note,
                         size_t size)
{
  struct hsts_index *ix = NULL;
  struct store_list_info in;
  struct hsts_result r;
  char norm[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;

  note[0] = '\0';
  if (hsts_host_normalize_idna(host, strlen(host), norm, &kind, NULL) !=
          HSTS_OK ||
      kind != HSTS_HOST_NAME ||
      store_load_static(s, norm, &ix, &in) != STORE_OK)
    return;
  hsts_lookup(NULL, ix, norm, 0, &r);
  if (r.has_static && r.static_entry.host != NULL)
    snprintf(note, size,
             "; it is covered by the preload entry %s (list %s), "
             "which cannot be deleted",
             r.static_entry.host, in.name);
  hsts_index_free(&ix);
}

static int do_delete(int argc, char **argv, const struct cli_globals *g)
{
  const char *what = "policy delete";
  struct cmd_policy__opts o;
  struct store_policy p;
  char note[STORE_ERRMSG_MAX];
  struct store *s;
  int rc = args(argc, argv, what, 0, "HOST", &o), err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  rc = cli_store_open(g, what, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  /* Expired entries are gone for every reader: prune, best effort. */
  (void)store_policy_prune(s, (int64_t)time(NULL), NULL);
  err = store_policy_delete(s, argv[optind], &p);
  if (err == STORE_ENOTFOUND) {
    static_cover(s, argv[optind], note, sizeof(note));
    cli_error(what, "%s%s", store_errmsg(s), note);
    store_close(&s);
    return CLI_EXIT_NO;
  }
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  printf("deleted %s policy for ", hsts_source_name(p.source));
  print_host(p.host);
  putchar('\n');
  return cli_out_finish(what);
}

/* Shared by the list and export walkers. */
struct walk {
  struct cli_json j;
  int json;
  int64_t now;
  int width; /* of the host column */
  size_t rows;
  const char *list; /* static list name */
};

static void json_policy(struct cli_json *j, const struct store_policy *p)
{
  cli_json_object_begin(j);
  cli_json_kstring(j, "host", p->host);
  cli_json_kstring(j, "source", hsts_source_name(p->source));
  cli_json_kbool(j, "include_subdomains", p->include_subdomains);
  if (p->has_max_age)
    cli_json_kuint(j, "max_age", p->max_age);
  else
    cli_json_knull(j, "max_age");
  cli_json_ktime(j, "observed", p->observed);
  cli_json_ktime(j, "expires", p->expires);
  cli_json_kstring(j, "how", p->how);
  cli_json_kstring(j, "raw_header",
                   p->raw_header[0] != '\0' ? p->raw_header : NULL);
  cli_json_object_end(j);
}

static int width_policy(const struct store_policy *p, void *arg)
{
  struct walk *w = arg;
  int n = (int)strlen(p->host);

  if (n > w->width)
    w->width = n;
  return 0;
}

static int print_policy(const struct store_policy *p, void *arg)
{
  struct walk *w = arg;
  char t[CLI_TIME_MAX], rel[CLI_TIME_MAX];

  w->rows++;
  if (w->json) {
    json_policy(&w->j, p);
    return 0;
  }
  if (w->rows == 1)
    printf("%-*s  %-7s  %-10s  %-*s  %s\n", w->width, "HOST", "SOURCE",
           "SUBDOMAINS", HOW_COLUMN, "HOW", "EXPIRES");
  if (p->expires == STORE_NEVER) {
    snprintf(t, sizeof(t), "never");
    rel[0] = '\0';
  } else {
    cli_time_rfc3339(p->expires, t);
    cli_time_relative(p->expires, w->now, rel);
  }
  printf("%-*s  %-7s  %-10s  %-*s  %s%s%s%s\n", w->width, p->host,
         hsts_source_name(p->source), p->include_subdomains ? "yes" : "no",
         HOW_COLUMN, p->how, t, rel[0] != '\0' ? " (" : "", rel,
         rel[0] != '\0' ? ")" : "");
  return 0;
}

static int width_entry(const struct hsts_entry *e, void *arg)
{
  struct walk *w = arg;
  int n = (int)strlen(e->host);

  if (n > w->width)
    w->width = n;
  return 0;
}

static int print_entry(const struct hsts_entry *e, void *arg)
{
  struct walk *w = arg;

  w->rows++;
  if (w->json) {
    cli_json_object_begin(&w->j);
    cli_json_kstring(&w->j, "host", e->host);
    cli_json_kstring(&w->j, "source", hsts_source_name(e->source));
    cli_json_kbool(&w->j, "include_subdomains", e->include_subdomains);
    cli_json_kbool(&w->j, "include_subdomains_for_pinning",
                   e->include_subdomains_for_pinning);
    cli_json_kstring(&w->j, "mode", e->force_https ? "force-https" : NULL);
    cli_json_kstring(&w->j, "list", w->list);
    cli_json_object_end(&w->j);
    return 0;
  }
  if (w->rows == 1)
    printf("%-*s  %-7s  %-10s  %s\n", w->width, "HOST", "SOURCE", "SUBDOMAINS",
           "MODE");
  printf("%-*s  %-7s  %-10s  %s\n", w->width, e->host,
         hsts_source_name(e->source), e->include_subdomains ? "yes" : "no",
         e->force_https ? "force-https" : "pins only (never upgrades)");
  return 0;
}

static int list_static(struct store *s, int builtin, struct walk *w)
{
  struct store_list_info in;
  int err = store_preload_info(s, &in);

  if (err != STORE_OK)
    return err;
  w->list = builtin ? "builtin" : in.name;
  if (!w->json) {
    err = store_preload_foreach(s, builtin, width_entry, w);
    if (err != STORE_OK)
      return err;
  }
  return store_preload_foreach(s, builtin, print_entry, w);
}

static int list_dynamic(struct store *s, enum hsts_source src, struct walk *w)
{
  int err = STORE_OK;

  if (!w->json)
    err = store_policy_foreach(s, src, w->now, width_policy, w);
  if (err == STORE_OK)
    err = store_policy_foreach(s, src, w->now, print_policy, w);
  return err;
}

static int do_list(int argc, char **argv, const struct cli_globals *g)
{
  const char *what = "policy list";
  struct cmd_policy__opts o;
  enum hsts_source src = HSTS_SOURCE_NONE;
  struct store *s;
  struct walk w;
  int rc = args(argc, argv, what, CMD_POLICY_OPT_JSON | CMD_POLICY_OPT_SOURCE,
                NULL, &o);
  int err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (o.source != NULL) {
    src = hsts_source_parse(o.source);
    if (src == HSTS_SOURCE_NONE)
      return cmd_policy__usage_error(what, "--source must be learned, "
                                           "manual, preload or builtin");
  }
  rc = cli_store_open_reader(g, what, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  memset(&w, 0, sizeof(w));
  w.json = o.json;
  w.now = (int64_t)time(NULL);
  w.width = (int)strlen("HOST");
  cli_json_init(&w.j, stdout);
  if (src == HSTS_SOURCE_PRELOAD || src == HSTS_SOURCE_BUILTIN)
    err = list_static(s, src == HSTS_SOURCE_BUILTIN, &w);
  else
    err = list_dynamic(s, src, &w);
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  if (!w.json && w.rows == 0)
    printf("no %s policies\n",
           src == HSTS_SOURCE_NONE ? "learned or manual" : o.source);
  return cli_out_finish(what);
}

static int export_json(struct store *s, int64_t now)
{
  struct walk w;
  char t[CLI_TIME_MAX];
  int err;

  memset(&w, 0, sizeof(w));
  w.json = 1;
  w.now = now;
  cli_json_init(&w.j, stdout);
  cli_json_object_begin(&w.j);
  cli_json_kstring(&w.j, "format", EXPORT_FORMAT_NAME);
  cli_json_kint(&w.j, "version", EXPORT_FORMAT_VERSION);
  cli_time_rfc3339(now, t);
  cli_json_kstring(&w.j, "exported", t);
  cli_json_key(&w.j, "policies");
  cli_json_array_begin(&w.j);
  err = store_policy_foreach(s, HSTS_SOURCE_NONE, now, print_policy, &w);
  cli_json_array_end(&w.j);
  cli_json_object_end(&w.j);
  return err;
}

static int do_export(int argc, char **argv, const struct cli_globals *g)
{
  const char *what = "policy export";
  struct cmd_policy__opts o;
  struct store *s;
  int64_t now = (int64_t)time(NULL);
  int json, err;
  int rc = args(argc, argv, what, CMD_POLICY_OPT_FORMAT, NULL, &o);

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (o.format != NULL && strcmp(o.format, "curl") != 0 &&
      strcmp(o.format, "json") != 0)
    return cmd_policy__usage_error(what, "--format must be curl or json");
  json = o.format != NULL && strcmp(o.format, "json") == 0;
  rc = cli_store_open_reader(g, what, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = json ? export_json(s, now) : store_policy_export_curl(s, stdout, now);
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  return cli_out_finish(what);
}

static int do_import(int argc, char **argv, const struct cli_globals *g)
{
  const char *what = "policy import";
  struct cmd_policy__opts o;
  struct store *s;
  size_t imported = 0, expired = 0;
  int64_t now = (int64_t)time(NULL);
  int rc = args(argc, argv, what, 0, "FILE", &o), err;

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  rc = cli_store_open(g, what, 0, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  (void)store_policy_prune(s, now, NULL); /* best effort, as in delete */
  err = store_policy_import(s, argv[optind], now, &imported, &expired, NULL);
  if (err != STORE_OK) {
    rc = cli_store_error(what, s, err);
    store_close(&s);
    return rc;
  }
  store_close(&s);
  printf("imported %zu %s from %s as manual policies", imported,
         imported == 1 ? "policy" : "policies", argv[optind]);
  if (expired > 0)
    printf(" (%zu expired %s skipped)", expired,
           expired == 1 ? "entry" : "entries");
  printf("\n");
  return cli_out_finish(what);
}

struct sub {
  const char *name;
  int (*fn)(int argc, char **argv, const struct cli_globals *g);
};

static const struct sub subs[] = { { "query", cmd_policy__query },
                                   { "add", do_add },
                                   { "delete", do_delete },
                                   { "list", do_list },
                                   { "export", do_export },
                                   { "import", do_import },
                                   { NULL, NULL } };

int cmd_policy(int argc, char **argv, const struct cli_globals *g)
{
  const struct sub *s;
  char why[CMD_POLICY_WHY_MAX];

  if (argc < 2)
    return cmd_policy__usage_error("policy", "a subcommand is missing "
                                             "(query, add, delete, list, "
                                             "export, import)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(usage_text, stdout);
    return CLI_EXIT_OK;
  }
  for (s = subs; s->name != NULL; s++)
    if (strcmp(s->name, argv[1]) == 0)
      return s->fn(argc - 1, argv + 1, g);
  snprintf(why, sizeof(why),
           "unknown subcommand \"%.64s\" (query, add, delete, list, "
           "export, import)",
           argv[1]);
  return cmd_policy__usage_error("policy", why);
}
