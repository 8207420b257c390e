/*
 * cmd_log.c - `hstsproxy log`: the hop log, filtered, as text, chains,
 * JSON lines or HAR, optionally followed as the proxy writes it.
 *
 * The store is opened read-only (it must exist: the proxy creates it).
 * Rows come from store_log_read.h oldest first; --limit N keeps the
 * newest N. --follow then polls by id every CMD_LOG_POLL_MS (WAL: each
 * query sees the latest commit) until SIGINT or SIGTERM, which end it
 * with status 0. print_row() sends each row to its output form;
 * the forms are in cmd_log_text.c and cmd_log_har.c.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_store.h"
#include "cli_time.h"
#include "cmd_log.h"
#include "hsts_idna.h"

#define CMD_LOG_POLL_MS 200
#define LIMIT_MAX       1000000000ull
#define CLIENT_MAX      64
#define WHAT            "log"

static const char usage_text[] =
    "usage: hstsproxy log [--since WHEN] [--until WHEN] [--host HOST]\n"
    "                     [--kind hsts-upgrade|upstream-redirect]\n"
    "                     [--client ADDR] [--limit N]\n"
    "                     [--json | --har | --chains] [--follow]\n"
    "\n"
    "The log of internal upgrades (hsts-upgrade) and upstream redirect\n"
    "hops, oldest first.\n"
    "\n"
    "  --since WHEN   hops at or after WHEN: 30s, 10m, 2h, 7d ago, or an\n"
    "                 RFC 3339 time (2025-11-25T19:00:00Z) or date\n"
    "  --until WHEN   hops before WHEN (same forms)\n"
    "  --host HOST    hops to HOST and its subdomains\n"
    "  --kind KIND    hsts-upgrade or upstream-redirect\n"
    "  --client ADDR  hops of this client address\n"
    "  --limit N      only the newest N hops (still printed oldest first)\n"
    "  --json         one JSON object per hop and line\n"
    "  --har          one HAR 1.2 document (browser developer tools)\n"
    "  --chains       hops grouped by redirect chain\n"
    "  --follow       keep printing new hops until interrupted\n"
    "\n"
    "Exit status: 0 success, 2 usage error, 3 failure (no store, ...).\n";

struct log_opts {
  struct store_log_filter f;
  enum cmd_log_mode mode;
  int follow;
  char host[HSTS_HOST_MAX + 1];
  char client[CLIENT_MAX];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
}

static const struct cli_cmd log_cmd = { .what = WHAT,
                                        .help = WHAT,
                                        .usage = usage_text };

static int usage_error(const char *fmt, const char *arg)
{
  return cli_usage_error(&log_cmd, fmt, arg);
}

/* The WHEN of --since/--until (cli_time_parse_when) into *out. */
static int parse_when(const char *opt, const char *s, int64_t *out)
{
  if (cli_time_parse_when(s, cli_time_now_ms(), out) == 0)
    return 0;
  return usage_error(opt[2] == 's'
                         ? "--since %s: expected 10m, 2h, 7d or RFC 3339"
                         : "--until %s: expected 10m, 2h, 7d or RFC 3339",
                     s);
}

static int parse_host(struct log_opts *o, const char *s)
{
  enum hsts_host_kind kind;

  if (hsts_host_normalize_idna(s, strlen(s), o->host, &kind, NULL) != HSTS_OK)
    return usage_error("--host %s: not a valid host name or IP address", s);
  o->f.host = o->host;
  return 0;
}

/* The client address in the text form the proxy logs (inet_ntop). */
static int parse_client(struct log_opts *o, const char *s)
{
  unsigned char addr[sizeof(struct in6_addr)];
  int family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

  if (inet_pton(family, s, addr) != 1 ||
      inet_ntop(family, addr, o->client, sizeof(o->client)) == NULL)
    return usage_error("--client %s: not an IP address", s);
  o->f.client = o->client;
  return 0;
}

static int set_mode(struct log_opts *o, enum cmd_log_mode m)
{
  static const char *const names[] = { "", "--chains", "--json", "--har" };

  if (o->mode != CMD_LOG_TEXT && o->mode != m)
    return usage_error("%s cannot be combined with the output chosen before",
                       names[m]);
  o->mode = m;
  return 0;
}

static int parse_value(struct log_opts *o, int c, const char *arg)
{
  uint64_t n;

  switch (c) {
  case 's':
    o->f.has_since = 1;
    return parse_when("--since", arg, &o->f.since_ms);
  case 'u':
    o->f.has_until = 1;
    return parse_when("--until", arg, &o->f.until_ms);
  case 'H':
    return parse_host(o, arg);
  case 'k':
    if (strcmp(arg, "hsts-upgrade") != 0 &&
        strcmp(arg, "upstream-redirect") != 0)
      return usage_error("--kind %s: expected hsts-upgrade or "
                         "upstream-redirect",
                         arg);
    o->f.kind = arg;
    return 0;
  case 'c':
    return parse_client(o, arg);
  case 'n':
    if (cli_parse_u64(arg, LIMIT_MAX, &n) != 0 || n == 0)
      return usage_error("--limit %s: expected a number from 1", arg);
    o->f.limit = n;
    return 0;
  default:
    return usage_error("%s: unknown option", arg);
  }
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, struct log_opts *o)
{
  static const struct option longopts[] = {
    { "since", required_argument, NULL, 's' },
    { "until", required_argument, NULL, 'u' },
    { "host", required_argument, NULL, 'H' },
    { "kind", required_argument, NULL, 'k' },
    { "client", required_argument, NULL, 'c' },
    { "limit", required_argument, NULL, 'n' },
    { "json", no_argument, NULL, 'j' },
    { "har", no_argument, NULL, 'a' },
    { "chains", no_argument, NULL, 'C' },
    { "follow", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct cli_cmd cmd = log_cmd;
  int c, rc;

  memset(o, 0, sizeof(*o));
  cmd.longopts = longopts;
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    rc = 0;
    if (c == 'j' || c == 'a' || c == 'C')
      rc = set_mode(o, c == 'j'   ? CMD_LOG_JSON
                       : c == 'a' ? CMD_LOG_HAR
                                  : CMD_LOG_CHAINS);
    else if (c == 'f')
      o->follow = 1;
    else
      rc = parse_value(o, c, optarg);
    if (rc != 0)
      return rc;
  }
  if (cli_opt_operands(&cmd, argc, argv, NULL) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (cli_opt_window(&cmd, o->f.has_since, o->f.since_ms, o->f.has_until,
                     o->f.until_ms) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (o->follow && o->mode == CMD_LOG_HAR)
    return usage_error("%s: a HAR document cannot be followed", "--har");
  return -1;
}

/* store_log_foreach() callback: prints one hop in the chosen form (the
 * dispatch shared by every output form). Returns 0. */
static int print_row(const struct store_log_row *r, void *arg)
{
  struct cmd_log__out *o = arg;

  switch (o->mode) {
  case CMD_LOG_JSON:
    if (r->json != NULL)
      fprintf(o->o.f, "%s\n", r->json);
    break;
  case CMD_LOG_HAR:
    cmd_log__har_entry(o->o.f, r, o->rows == 0);
    break;
  case CMD_LOG_CHAINS:
    cmd_log__chain_row(o, r);
    break;
  default:
    cmd_log__text_row(o, r);
    break;
  }
  o->rows++;
  if (r->id > o->last_id)
    o->last_id = r->id;
  snprintf(o->last_chain, sizeof(o->last_chain), "%s",
           r->chain_id != NULL ? r->chain_id : "");
  return 0;
}

static unsigned query_flags(enum cmd_log_mode m, int chains_grouped)
{
  unsigned flags = 0;

  if (m == CMD_LOG_JSON)
    flags |= STORE_LOG_JSON;
  if (m == CMD_LOG_CHAINS && chains_grouped)
    flags |= STORE_LOG_CHAINS;
  return flags;
}

static void sleep_poll(void)
{
  struct timespec ts = { 0, CMD_LOG_POLL_MS * 1000000L };

  nanosleep(&ts, NULL); /* a signal cuts it short: fine */
}

/* Prints new hops until SIGINT/SIGTERM. */
static int follow(struct store *s, struct log_opts *lo,
                  struct cmd_log__out *out, int64_t seen)
{
  struct sigaction sa;
  int64_t top;
  int err;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  lo->f.limit = 0;
  while (!stop_requested) {
    if (fflush(stdout) != 0)
      return cli_out_finish(WHAT);
    sleep_poll();
    if (stop_requested)
      break;
    err = store_log_max_id(s, &top);
    lo->f.after_id = out->last_id > seen ? out->last_id : seen;
    if (err == STORE_OK)
      err = store_log_foreach(s, &lo->f, query_flags(lo->mode, 0), print_row,
                              out);
    if (err != STORE_OK)
      return cli_store_error(WHAT, s, err);
    seen = top > seen ? top : seen;
  }
  return cli_out_finish(WHAT);
}

int cmd_log(int argc, char **argv, const struct cli_globals *g)
{
  struct log_opts lo;
  struct cmd_log__out out;
  struct store *s = NULL;
  int64_t seen = 0;
  int rc, err;

  rc = parse_args(argc, argv, &lo);
  if (rc >= 0)
    return rc;
  if (lo.follow && g->ndb > 1)
    return usage_error("%s: several stores cannot be followed", "--follow");
  rc = cli_store_open_several(g, WHAT, &s);
  if (rc != CLI_EXIT_OK)
    return rc;
  memset(&out, 0, sizeof(out));
  cli_out_init(&out.o, stdout);
  out.mode = lo.mode;
  err = lo.follow ? store_log_max_id(s, &seen) : STORE_OK;
  if (lo.mode == CMD_LOG_HAR)
    cmd_log__har_begin(stdout);
  if (err == STORE_OK)
    err = store_log_foreach(s, &lo.f, query_flags(lo.mode, 1), print_row, &out);
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT, s, err);
  } else if (lo.follow) {
    rc = follow(s, &lo, &out, seen);
  } else {
    if (lo.mode == CMD_LOG_HAR)
      cmd_log__har_end(stdout);
    else if (out.rows == 0 && lo.mode != CMD_LOG_JSON)
      printf("no hops%s\n", lo.f.has_since || lo.f.has_until || lo.f.host ||
                                    lo.f.kind || lo.f.client
                                ? " match the filters"
                                : " logged yet");
    rc = cli_out_finish(WHAT);
  }
  store_close(&s);
  return rc;
}
