/*
 * cmd_audit.c - `hstsproxy audit`: the HSTS coverage of the hosts seen
 * through the proxy, as text, JSON, CSV or one self-contained HTML page.
 *
 * Options are parsed here, the store is opened read-only (the proxy may
 * be writing it: WAL), the report is built (cmd_audit_build.c) and
 * rendered to stdout or, with --output FILE, to a temporary file in the
 * same directory renamed over FILE once complete, so that a failed run
 * never leaves half a report behind. Times given as --since/--until take
 * the forms of `hstsproxy log`: 30s, 10m, 2h, 7d ago, or RFC 3339.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_store.h"
#include "cli_out.h"
#include "cli_time.h"
#include "cmd_audit.h"

#define WHAT       "audit"
#define WHY_MAX    512
#define TMP_SUFFIX ".XXXXXX"
#define FILE_MODE  0666 /* before the umask, as open(2) would */

enum format {
  FORMAT_TEXT = 0,
  FORMAT_JSON,
  FORMAT_CSV,
  FORMAT_HTML,
  FORMAT_PROVENANCE /* --provenance FILE: the provenance rows as CSV */
};

static const char *const format_names[] = { "text", "json", "csv", "html",
                                            NULL };

static const char usage_text[] =
    "usage: hstsproxy audit [--since WHEN] [--until WHEN]\n"
    "                       [--format text|json|csv|html] [--json]\n"
    "                       [--output FILE] [--provenance FILE]\n"
    "\n"
    "The HSTS coverage of every host seen through the proxy: its category\n"
    "(preloaded, hsts, weak-hsts, invalid-hsts, redirect-no-hsts,\n"
    "http-only, https-unprobed), traffic, policy, problems and preload\n"
    "eligibility; a rollup by registrable domain; regressions; totals and\n"
    "a per-day trend. The report first states its window, the preload\n"
    "list it judged against and what the store could not record.\n"
    "\n"
    "  --since WHEN   evidence at or after WHEN: 30s, 10m, 2h, 7d ago, or\n"
    "                 an RFC 3339 time (2025-11-25T19:00:00Z) or date\n"
    "  --until WHEN   evidence before WHEN (same forms)\n"
    "  --format F     text (default), json, csv or html\n"
    "  --json         the same as --format json\n"
    "  --output FILE  write the report to FILE (replaced when complete)\n"
    "  --provenance FILE\n"
    "                 also write the provenance (window, list, ...) to\n"
    "                 FILE as a CSV table key,value (the CSV report is one\n"
    "                 table of hosts)\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 failure (no store, ...).\n";

struct audit_opts {
  struct store_audit_window w;
  enum format format;
  int format_given; /* --format or --json seen */
  const char *output;
  const char *provenance; /* --provenance FILE, or NULL */
};

static const struct cli_cmd audit_cmd = { .what = WHAT,
                                          .help = WHAT,
                                          .usage = usage_text };

static int usage_error(const char *fmt, const char *arg)
{
  return cli_usage_error(&audit_cmd, fmt, arg);
}

/* The WHEN of --since/--until (cli_time_parse_when) into *out. */
static int parse_when(const char *opt, const char *s, int64_t now, int64_t *out)
{
  char fmt[WHY_MAX];

  if (cli_time_parse_when(s, now, out) == 0)
    return 0;
  snprintf(fmt, sizeof(fmt), "%s %%s: expected 10m, 2h, 7d or RFC 3339", opt);
  return usage_error(fmt, s);
}

/* One output format: a second, different one is a usage error (as in
 * `log`); repeating the same one is not. */
static int set_format(struct audit_opts *o, enum format f, const char *given)
{
  if (o->format_given && o->format != f)
    return usage_error("%s cannot be combined with the output chosen before",
                       given);
  o->format = f;
  o->format_given = 1;
  return 0;
}

static int parse_format(struct audit_opts *o, const char *arg)
{
  char given[WHY_MAX];
  int i;

  for (i = 0; format_names[i] != NULL; i++)
    if (strcmp(arg, format_names[i]) == 0) {
      snprintf(given, sizeof(given), "--format %s", arg);
      return set_format(o, (enum format)i, given);
    }
  return usage_error("--format %s: expected text, json, csv or html", arg);
}

static int parse_one(struct audit_opts *o, int c, const char *arg, int64_t now)
{
  switch (c) {
  case 's':
    o->w.has_since = 1;
    return parse_when("--since", arg, now, &o->w.since_ms);
  case 'u':
    o->w.has_until = 1;
    return parse_when("--until", arg, now, &o->w.until_ms);
  case 'f':
    return parse_format(o, arg);
  case 'j':
    return set_format(o, FORMAT_JSON, "--json");
  case 'o':
    if (arg[0] == '\0')
      return usage_error("--output %s: expected a file name", "\"\"");
    o->output = arg;
    return 0;
  case 'p':
    if (arg[0] == '\0')
      return usage_error("--provenance %s: expected a file name", "\"\"");
    o->provenance = arg;
    return 0;
  default:
    return usage_error("%s: unknown option", arg);
  }
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct audit_opts *o, int64_t now)
{
  static const struct option longopts[] = {
    { "since", required_argument, NULL, 's' },
    { "until", required_argument, NULL, 'u' },
    { "format", required_argument, NULL, 'f' },
    { "json", no_argument, NULL, 'j' },
    { "output", required_argument, NULL, 'o' },
    { "provenance", required_argument, NULL, 'p' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct cli_cmd cmd = audit_cmd;
  int c, rc;

  memset(o, 0, sizeof(*o));
  cmd.longopts = longopts;
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    rc = parse_one(o, c, optarg, now);
    if (rc != 0)
      return rc;
  }
  if (cli_opt_operands(&cmd, argc, argv, NULL) != CLI_EXIT_OK ||
      cli_opt_window(&cmd, o->w.has_since, o->w.since_ms, o->w.has_until,
                     o->w.until_ms) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  return -1;
}

static int render(const struct cmd_audit_report *r, enum format fmt, FILE *f)
{
  switch (fmt) {
  case FORMAT_JSON:
    return cmd_audit__json(r, f);
  case FORMAT_CSV:
    return cmd_audit__csv(r, f);
  case FORMAT_HTML:
    return cmd_audit__html(r, f);
  case FORMAT_PROVENANCE:
    return cmd_audit__csv_provenance(r, f);
  default:
    return cmd_audit__text(r, f, cli_use_color(f));
  }
}

/* Writes to the open temporary file f and closes it. Returns 0 or -1
 * with errno set (EIO when only the renderer knows why). */
static int fill_file(const struct cmd_audit_report *r, enum format fmt, FILE *f)
{
  mode_t mask = umask(0);
  int failed;

  umask(mask);
  errno = 0;
  failed = fchmod(fileno(f), FILE_MODE & ~mask) != 0 ||
           render(r, fmt, f) != 0 || fflush(f) != 0 || ferror(f) ||
           fsync(fileno(f)) != 0;
  if (failed && errno == 0)
    errno = EIO;
  if (fclose(f) != 0 && !failed)
    failed = 1;
  return failed ? -1 : 0;
}

/* Writes the report to a temporary file next to path, then renames it. */
static int write_file(const struct cmd_audit_report *r, enum format fmt,
                      const char *path)
{
  size_t n = strlen(path);
  char *tmp = malloc(n + sizeof(TMP_SUFFIX));
  FILE *f;
  int fd, err;

  if (tmp == NULL) {
    cli_error(WHAT, "%s: out of memory", path);
    return CLI_EXIT_FAIL;
  }
  memcpy(tmp, path, n);
  memcpy(tmp + n, TMP_SUFFIX, sizeof(TMP_SUFFIX));
  fd = mkstemp(tmp);
  if (fd < 0)
    goto fail;
  f = fdopen(fd, "w");
  if (f == NULL) {
    err = errno;
    close(fd);
    errno = err;
    goto fail_unlink;
  }
  if (fill_file(r, fmt, f) != 0 || rename(tmp, path) != 0)
    goto fail_unlink;
  free(tmp);
  return CLI_EXIT_OK;
fail_unlink:
  err = errno;
  unlink(tmp);
  errno = err;
fail:
  cli_error(WHAT, "%s: cannot write the report: %s", path, strerror(errno));
  free(tmp);
  return CLI_EXIT_FAIL;
}

static int write_stdout(const struct cmd_audit_report *r, enum format fmt)
{
  int bad = render(r, fmt, stdout) != 0;
  int rc = cli_out_finish(WHAT);

  if (bad && rc == CLI_EXIT_OK) {
    cli_error(WHAT, "cannot write the report: %s", "output failed");
    rc = CLI_EXIT_FAIL;
  }
  return rc;
}

/* The provenance file first (--provenance), then the report. */
static int write_outputs(const struct cmd_audit_report *r,
                         const struct audit_opts *o)
{
  int rc = CLI_EXIT_OK;

  if (o->provenance != NULL)
    rc = write_file(r, FORMAT_PROVENANCE, o->provenance);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (o->output != NULL)
    return write_file(r, o->format, o->output);
  return write_stdout(r, o->format);
}

static int build_error(const struct store *s, int err)
{
  if (err == STORE_ENOMEM)
    cli_error(WHAT, "out of memory");
  else
    cli_error(WHAT, "%s", store_errmsg(s));
  return CLI_EXIT_FAIL;
}

int cmd_audit(int argc, char **argv, const struct cli_globals *g)
{
  struct audit_opts o;
  struct cmd_audit_report r;
  struct store *s = NULL;
  int64_t now = cli_time_now_ms();
  int rc, err;

  rc = parse_args(argc, argv, &o, now);
  if (rc >= 0)
    return rc;
  rc = cli_store_open_several(g, WHAT, &s); /* several --db: as one */
  if (rc != CLI_EXIT_OK)
    return rc;
  err = store_attached(s) > 0 ? store_merge_attached(s) : STORE_OK;
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT, s, err);
    store_close(&s);
    return rc;
  }
  err = cmd_audit__build(s, &o.w, now / HSTS_MS_PER_S, &r);
  for (r.nstores = 0; r.nstores <= store_attached(s); r.nstores++)
    r.stores[r.nstores] = store_attached_path(s, r.nstores);
  if (err != STORE_OK)
    rc = build_error(s, err);
  else
    rc = write_outputs(&r, &o);
  cmd_audit__report_cleanup(&r);
  store_close(&s);
  return rc;
}

/* The console's audit page (struct proxy_console_ops): the HTML report of
 * [since_ms, until_ms), on the proxy's thread pool. */
int cmd_audit_console_html(const char *db_path, int64_t since_ms,
                           int64_t until_ms, FILE *f, char *err, size_t errsz)
{
  struct store_audit_window w = { 1, since_ms, 1, until_ms };
  struct cmd_audit_report r;
  struct store *s = NULL;
  int rc = store_open(db_path, STORE_OPEN_READONLY, &s);

  if (rc != STORE_OK) {
    snprintf(err, errsz, "%s", store_errmsg(s)); /* names the file */
    store_close(&s);
    return -1;
  }
  rc = cmd_audit__build(s, &w, until_ms / HSTS_MS_PER_S, &r);
  if (rc != STORE_OK)
    snprintf(err, errsz, "%s",
             rc == STORE_ENOMEM ? "out of memory" : store_errmsg(s));
  else if (cmd_audit__html(&r, f) != 0) {
    snprintf(err, errsz, "cannot render the report");
    rc = STORE_ENOMEM;
  }
  cmd_audit__report_cleanup(&r);
  store_close(&s);
  return rc == STORE_OK ? 0 : -1;
}
