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
#include "cli_out.h"
#include "cmd_audit.h"

#define WHAT             "audit"
#define WHY_MAX          512
#define AGO_MAX_SECONDS  (100ull * 366 * 24 * 3600) /* a century */
#define SECONDS_PER_MIN  60
#define SECONDS_PER_HOUR 3600
#define SECONDS_PER_DAY  86400
#define MS_PER_S         1000
#define NS_PER_MS        1000000
#define MS_DIGITS        3
#define FRACTION_MAX     9
#define TMP_SUFFIX       ".XXXXXX"
#define FILE_MODE        0666 /* before the umask, as open(2) would */

enum format { FORMAT_TEXT = 0, FORMAT_JSON, FORMAT_CSV, FORMAT_HTML };

static const char *const format_names[] = { "text", "json", "csv", "html",
                                            NULL };

static const char usage_text[] =
    "usage: hstsproxy audit [--since WHEN] [--until WHEN]\n"
    "                       [--format text|json|csv|html] [--json]\n"
    "                       [--output FILE]\n"
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
    "\n"
    "Exit status: 0 success, 2 usage error, 3 failure (no store, ...).\n";

struct audit_opts {
  struct store_audit_window w;
  enum format format;
  const char *output;
};

static int usage_error(const char *fmt, const char *arg)
{
  char why[WHY_MAX];

  snprintf(why, sizeof(why), fmt, arg);
  cli_error(WHAT, "%s (see hstsproxy audit --help)", why);
  return CLI_EXIT_USAGE;
}

/* "30s", "10m", "2h", "7d": seconds into *out. Returns 0 or -1. */
static int parse_ago(const char *s, uint64_t *out)
{
  static const char units[] = "smhd";
  static const uint64_t seconds[] = { 1, SECONDS_PER_MIN, SECONDS_PER_HOUR,
                                      SECONDS_PER_DAY };
  char digits[24];
  size_t n = strlen(s);
  const char *u;
  uint64_t v;

  if (n < 2 || n - 1 >= sizeof(digits) || s[n - 1] == '\0')
    return -1;
  u = strchr(units, s[n - 1]);
  if (u == NULL)
    return -1;
  memcpy(digits, s, n - 1);
  digits[n - 1] = '\0';
  if (cli_parse_u64(digits, AGO_MAX_SECONDS / seconds[u - units], &v) != 0)
    return -1;
  *out = v * seconds[u - units];
  return 0;
}

/* n decimal digits at s into *out; returns 0 or -1. */
static int digits_at(const char *s, int n, int *out)
{
  int i, v = 0;

  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* ".123" (optional) then "Z" or "+HH:MM"/"-HH:MM": ms and offset. */
static int parse_tail(const char *s, int *ms, long *east)
{
  int i, hh, mm;

  *ms = 0;
  if (*s == '.') {
    for (i = 1; s[i] >= '0' && s[i] <= '9'; i++)
      if (i <= MS_DIGITS)
        *ms = *ms * 10 + (s[i] - '0');
    if (i == 1 || i > FRACTION_MAX + 1)
      return -1;
    for (; i <= MS_DIGITS; i++)
      *ms *= 10;
    s += strspn(s + 1, "0123456789") + 1;
  }
  if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
    *east = 0;
    return 0;
  }
  if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
      digits_at(s + 1, 2, &hh) != 0 || digits_at(s + 4, 2, &mm) != 0 ||
      hh > 23 || mm > 59)
    return -1;
  *east = (long)(hh * SECONDS_PER_HOUR + mm * SECONDS_PER_MIN);
  if (s[0] == '-')
    *east = -*east;
  return 0;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM)", or "YYYY-MM-DD". */
static int parse_rfc3339(const char *s, int64_t *ms_out)
{
  struct tm tm, got;
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  long east = 0;
  time_t t;

  if (strlen(s) < 10 || digits_at(s, 4, &y) != 0 || s[4] != '-' ||
      digits_at(s + 5, 2, &mo) != 0 || s[7] != '-' ||
      digits_at(s + 8, 2, &d) != 0 || mo < 1 || mo > 12 || d < 1)
    return -1;
  s += 10;
  if (*s != '\0' && ((*s != 'T' && *s != 't') || digits_at(s + 1, 2, &h) != 0 ||
                     s[3] != ':' || digits_at(s + 4, 2, &mi) != 0 ||
                     s[6] != ':' || digits_at(s + 7, 2, &sec) != 0 || h > 23 ||
                     mi > 59 || sec > 59 || parse_tail(s + 9, &ms, &east) != 0))
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  t = timegm(&tm);
  if (gmtime_r(&t, &got) == NULL || got.tm_mday != d || got.tm_mon != mo - 1)
    return -1; /* 2025-02-30 */
  *ms_out = ((int64_t)t - east) * MS_PER_S + ms;
  return 0;
}

static int64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS;
}

static int parse_when(const char *opt, const char *s, int64_t now, int64_t *out)
{
  char fmt[WHY_MAX];
  uint64_t ago;

  if (parse_ago(s, &ago) == 0) {
    *out = now - (int64_t)ago * MS_PER_S;
    return 0;
  }
  if (parse_rfc3339(s, out) == 0)
    return 0;
  snprintf(fmt, sizeof(fmt), "%s %%s: expected 10m, 2h, 7d or RFC 3339", opt);
  return usage_error(fmt, s);
}

static int parse_format(struct audit_opts *o, const char *arg)
{
  int i;

  for (i = 0; format_names[i] != NULL; i++)
    if (strcmp(arg, format_names[i]) == 0) {
      o->format = (enum format)i;
      return 0;
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
    o->format = FORMAT_JSON;
    return 0;
  case 'o':
    if (arg[0] == '\0')
      return usage_error("--output %s: expected a file name", "\"\"");
    o->output = arg;
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
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  int c, rc;

  memset(o, 0, sizeof(*o));
  optind = 0;
  opterr = 0;
  for (;;) {
    c = getopt_long(argc, argv, "+", longopts, NULL);
    if (c == -1)
      break;
    if (c == 'h') {
      fputs(usage_text, stdout);
      return cli_out_finish(WHAT);
    }
    if (c == '?' || c == ':')
      return usage_error("%s: unknown option or missing value",
                         argv[optind - 1]);
    rc = parse_one(o, c, optarg, now);
    if (rc != 0)
      return rc;
  }
  if (optind < argc)
    return usage_error("%s: unexpected operand", argv[optind]);
  if (o->w.has_since && o->w.has_until && o->w.since_ms >= o->w.until_ms)
    return usage_error("%s: the window is empty (--since is not before "
                       "--until)",
                       "--since");
  return -1;
}

/* Opens the store read-only; it must exist. */
static int open_store(const struct cli_globals *g, struct store **s)
{
  char path[CLI_PATH_MAX];
  struct stat st;
  int err;

  *s = NULL;
  if (cli_db_path(g, path, sizeof(path)) != 0)
    return CLI_EXIT_FAIL;
  if (stat(path, &st) != 0) {
    cli_error(WHAT, "%s: %s", path,
              errno == ENOENT ? "no store yet (hstsproxy run creates it)"
                              : strerror(errno));
    return CLI_EXIT_FAIL;
  }
  err = store_open(path, STORE_OPEN_READONLY, s);
  if (err != STORE_OK) {
    cli_error(WHAT, "%s", store_errmsg(*s));
    store_close(s);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
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
  int64_t now = now_ms();
  int rc, err;

  rc = parse_args(argc, argv, &o, now);
  if (rc >= 0)
    return rc;
  rc = open_store(g, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  err = cmd_audit__build(s, &o.w, now / MS_PER_S, &r);
  if (err != STORE_OK)
    rc = build_error(s, err);
  else if (o.output != NULL)
    rc = write_file(&r, o.format, o.output);
  else
    rc = write_stdout(&r, o.format);
  cmd_audit__report_cleanup(&r);
  store_close(&s);
  return rc;
}
