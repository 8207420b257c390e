/*
 * cmd_run.c - `hstsproxy run`: the command line of the forwarding core.
 *
 * Parses the options into a struct proxy_config (proxy.h), every value
 * checked in full: a bad one is a usage error (exit 2) naming the option,
 * the value and why. So is a file named by an option that cannot be used,
 * checked before the proxy starts: --auth-file and --ca-file read and
 * parsed, --log-json opened for appending. Then runs the proxy on the
 * store named by --db (or its default path): a start-up failure of the
 * running system, such as a store that cannot be opened or an address in
 * use, is a runtime failure (exit 3); a signal ends it with 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_run_preload.h"
#include "proxy.h"
#include "proxy_tls.h"

#define WHAT            "run"
#define LOG_FILE_MODE   0666 /* before the umask, as the writer's fopen */
#define OPTION_NAME_MAX 32

enum {
  OPT_LISTEN = 256,
  OPT_WORKERS,
  OPT_MAP,
  OPT_CONNECT_PORTS,
  OPT_MAX_CONNS,
  OPT_T_HEADER,
  OPT_T_IDLE,
  OPT_T_CONNECT,
  OPT_T_RESPONSE,
  OPT_T_TUNNEL,
  OPT_CA_FILE,
  OPT_PROBE,
  OPT_LOG_JSON,
  OPT_ALLOW,
  OPT_AUTH_FILE,
  OPT_CONSOLE_ALLOW,
  OPT_PRELOAD_REFRESH,
  OPT_PRELOAD_URL,
  OPT_VERBOSE
};

static void usage(FILE *f)
{
  fprintf(
      f,
      "usage: hstsproxy run [OPTIONS]\n\n"
      "Runs the proxy until SIGINT or SIGTERM (in-flight requests finish,\n"
      "for at most 10 s; a second signal stops at once; the hop log is\n"
      "committed before exit). SIGHUP reloads the preload list and the\n"
      "learned and manual policies from the store without dropping\n"
      "connections. Plain-HTTP requests to HSTS hosts are answered with\n"
      "an internal 307 to https, logged as hops (see hstsproxy log).\n\n"
      "Options:\n"
      "  --listen ADDR:PORT     address to listen on, repeatable; IPv6 as\n"
      "                         [::1]:3128; port 0 picks a free port\n"
      "                         (default " PROXY_DEFAULT_LISTEN ")\n"
      "  --workers N            event-loop threads (default: CPUs)\n"
      "  --map HOST[:PORT]=ADDR[:PORT]\n"
      "                         connect to ADDR (an IP address) instead of\n"
      "                         resolving HOST, like curl --connect-to;\n"
      "                         repeatable, first match wins\n"
      "  --connect-ports LIST   ports CONNECT may reach, comma-separated\n"
      "                         (default 443)\n"
      "  --max-conns N          client connections at once (default %u);\n"
      "                         past it new connections wait, unanswered,\n"
      "                         until one closes\n"
      "  --allow CIDR           clients that may use the proxy, repeatable:\n"
      "                         10.0.0.0/8, 2001:db8::/32, or an address;\n"
      "                         others get 403 (default: loopback only;\n"
      "                         required for a non-loopback --listen)\n"
      "  --auth-file FILE       Basic proxy authentication from an\n"
      "                         htpasswd file (user:hash, hashes $5$, $6$,\n"
      "                         $apr1$, {SHA}); re-read on SIGHUP\n"
      "  --console-allow CIDR   clients that may use the console (/console,\n"
      "                         /hops, /hsts, /audit, /api/), repeatable;\n"
      "                         others get 403 (default: loopback only)\n"
      "  --timeout-header S     to receive a request head (default %u)\n"
      "  --timeout-idle S       idle keep-alive, client and origin (default "
      "%u)\n"
      "  --timeout-connect S    DNS and connect to an origin (default %u)\n"
      "  --timeout-response S   silence while forwarding (default %u)\n"
      "  --timeout-tunnel S     silence in a CONNECT or WebSocket tunnel\n"
      "                         (default %u)\n"
      "  --log-json FILE        also append every hop (internal upgrades,\n"
      "                         origin redirects) to FILE as one JSON\n"
      "                         object per line, the shape of `hstsproxy\n"
      "                         log --json`; - for stdout\n"
      "  --probe on|off         learn policies by probing hosts over TLS\n"
      "                         (HEAD /, certificate and name verified):\n"
      "                         after a CONNECT to HOST:443 and an origin's\n"
      "                         http://HOST -> https://HOST redirect; never\n"
      "                         delays a request (default on)\n"
      "  --ca-file PEM          trust store for the probes' and the\n"
      "                         preload refresh's TLS (default: the\n"
      "                         system's)\n"
      "  --preload-refresh DURATION|off\n"
      "                         download the preload list again every\n"
      "                         DURATION (24h, 90m, 7d; default 24h); an\n"
      "                         unchanged list changes nothing, a changed\n"
      "                         one reaches every worker at once; a list\n"
      "                         of fewer than half the active entries is\n"
      "                         refused; failures are retried\n"
      "  --preload-url URL      where (default: Chromium's list on\n"
      "                         chromium.googlesource.com)\n"
      "  --verbose              one line per closed connection on stderr\n"
      "  --help                 this text\n\n"
      "Timeouts are in seconds, 1-%u.\n\n"
      "Exit status: 0 stopped by a signal; 2 usage error, including a\n"
      "file named by an option that cannot be read (--auth-file,\n"
      "--ca-file) or opened (--log-json), and a non-loopback --listen\n"
      "without --allow; 3 runtime failure at start-up (the store cannot\n"
      "be opened, an address is in use, ...).\n",
      PROXY_DEFAULT_MAX_CONNS, PROXY_DEFAULT_TIMEOUT_HEADER_S,
      PROXY_DEFAULT_TIMEOUT_IDLE_S, PROXY_DEFAULT_TIMEOUT_CONNECT_S,
      PROXY_DEFAULT_TIMEOUT_RESPONSE_S, PROXY_DEFAULT_TIMEOUT_TUNNEL_S,
      PROXY_TIMEOUT_MAX_S);
}

/* Where a numeric option goes, and its bounds. */
static unsigned *number_slot(struct proxy_config *cfg, int opt, unsigned *max)
{
  *max = PROXY_TIMEOUT_MAX_S;
  switch (opt) {
  case OPT_WORKERS:
    *max = PROXY_MAX_WORKERS;
    return &cfg->workers;
  case OPT_MAX_CONNS:
    *max = PROXY_MAX_CONNS_LIMIT;
    return &cfg->max_conns;
  case OPT_T_HEADER:
    return &cfg->timeout_header_s;
  case OPT_T_IDLE:
    return &cfg->timeout_idle_s;
  case OPT_T_CONNECT:
    return &cfg->timeout_connect_s;
  case OPT_T_RESPONSE:
    return &cfg->timeout_response_s;
  case OPT_T_TUNNEL:
    return &cfg->timeout_tunnel_s;
  default:
    return NULL;
  }
}

/* The "--name" of an option's val, for messages. */
static const char *opt_name(const struct option *opts, int val, char *buf,
                            size_t size)
{
  for (; opts->name != NULL; opts++)
    if (opts->val == val)
      break;
  snprintf(buf, size, "--%s", opts->name != NULL ? opts->name : "?");
  return buf;
}

/* Options that only store their value. Returns 1 when opt was one, -1
 * after a usage error, 0 otherwise. */
static int apply_plain(struct cli_cmd *cmd, struct proxy_config *cfg, int opt,
                       const char *arg)
{
  switch (opt) {
  case OPT_VERBOSE:
    cfg->verbose = 1;
    return 1;
  case OPT_AUTH_FILE:
    cfg->auth_file = arg; /* read and checked before the proxy starts */
    return 1;
  case OPT_CA_FILE:
  case OPT_LOG_JSON:
    if (arg[0] == '\0') {
      cli_usage_error(cmd, "%s: empty file name%s",
                      opt == OPT_CA_FILE ? "--ca-file" : "--log-json",
                      opt == OPT_LOG_JSON ? " (use - for stdout)" : "");
      return -1;
    }
    if (opt == OPT_CA_FILE)
      cfg->ca_file = arg;
    else
      cfg->log_json = arg;
    return 1;
  case OPT_PRELOAD_REFRESH:
  case OPT_PRELOAD_URL:
    return cli_run_preload_option(cfg, opt == OPT_PRELOAD_URL, arg) < 0 ? -1
                                                                        : 1;
  case OPT_PROBE:
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
      cli_usage_error(cmd, "--probe %s: expected on or off", arg);
      return -1;
    }
    cfg->no_probe = strcmp(arg, "off") == 0;
    return 1;
  default:
    return 0;
  }
}

/* Applies one option; returns -1 after printing the usage error. */
static int apply(struct cli_cmd *cmd, struct proxy_config *cfg, int opt,
                 const char *arg)
{
  const char *why = NULL;
  char name[OPTION_NAME_MAX];
  unsigned max, *slot;
  int rc = apply_plain(cmd, cfg, opt, arg);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  opt_name(cmd->longopts, opt, name, sizeof(name));
  switch (opt) {
  case OPT_LISTEN:
    rc = proxy_config_add_listen(cfg, arg, &why);
    break;
  case OPT_MAP:
    rc = proxy_config_add_map(cfg, arg, &why);
    break;
  case OPT_CONNECT_PORTS:
    rc = proxy_config_set_connect_ports(cfg, arg, &why);
    break;
  case OPT_ALLOW:
    rc = proxy_config_add_allow(cfg, arg, &why);
    break;
  case OPT_CONSOLE_ALLOW:
    rc = proxy_config_add_console_allow(cfg, arg, &why);
    break;
  default:
    slot = number_slot(cfg, opt, &max);
    rc = proxy_parse_uint(arg, 1, max, slot, &why);
    if (rc < 0) {
      cli_usage_error(cmd, "%s %s: %s (expected 1-%u)", name, arg, why, max);
      return -1;
    }
  }
  if (rc < 0)
    cli_usage_error(cmd, "%s %s: %s", name, arg, why);
  return rc;
}

/* --ca-file loaded as the probes' trust store will be. Returns 0, or -1
 * after the error line. */
static int check_ca_file(const char *path)
{
  struct proxy_tls_ctx *ctx = NULL;
  char why[PROXY_ERROR_TEXT];

  if (proxy_tls_ctx_new(path, &ctx, why, sizeof(why)) < 0) {
    cli_error(WHAT, "--ca-file %s", why);
    return -1;
  }
  proxy_tls_ctx_free(&ctx);
  return 0;
}

/* --log-json opened for appending (and created) as the writer will open
 * it; only a regular or missing file: opening a FIFO here would block, or
 * end its reader. Returns 0, or -1 after the error line. */
static int check_log_json(const char *path)
{
  struct stat st;
  int fd;

  if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
    return 0;
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, LOG_FILE_MODE);
  if (fd < 0) {
    cli_error(WHAT, "--log-json %s: %s", path, strerror(errno));
    return -1;
  }
  close(fd);
  return 0;
}

/*
 * What the user gave, checked before anything starts, so that each fault
 * is a usage error (exit 2) like a bad value: a non-loopback --listen
 * without --allow, and the files named by options: --auth-file read and
 * parsed (kept in cfg->auth), --ca-file, --log-json. Returns 0, or -1
 * after the error line.
 */
static int check_before_start(struct proxy_config *cfg)
{
  struct proxy_error err;

  memset(&err, 0, sizeof(err));
  if (proxy_config_check_open(cfg, &err) < 0 ||
      (cfg->auth_file != NULL &&
       proxy_auth_open(&cfg->auth, cfg->auth_file, &err) < 0)) {
    cli_error(WHAT, "%s: %s", err.what, err.why);
    return -1;
  }
  if (cfg->ca_file != NULL && check_ca_file(cfg->ca_file) < 0)
    return -1;
  if (cfg->log_json != NULL && check_log_json(cfg->log_json) < 0)
    return -1;
  return 0;
}

/* The console's reports come from the same renderers as the CLI's. */
static const struct proxy_console_ops console_ops = {
  .policy_json = cmd_policy_console_json,
  .audit_html = cmd_audit_console_html,
};

int cmd_run(int argc, char **argv, const struct cli_globals *g)
{
  static const struct option opts[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "map", required_argument, NULL, OPT_MAP },
    { "connect-ports", required_argument, NULL, OPT_CONNECT_PORTS },
    { "max-conns", required_argument, NULL, OPT_MAX_CONNS },
    { "timeout-header", required_argument, NULL, OPT_T_HEADER },
    { "timeout-idle", required_argument, NULL, OPT_T_IDLE },
    { "timeout-connect", required_argument, NULL, OPT_T_CONNECT },
    { "timeout-response", required_argument, NULL, OPT_T_RESPONSE },
    { "timeout-tunnel", required_argument, NULL, OPT_T_TUNNEL },
    { "ca-file", required_argument, NULL, OPT_CA_FILE },
    { "probe", required_argument, NULL, OPT_PROBE },
    { "log-json", required_argument, NULL, OPT_LOG_JSON },
    { "allow", required_argument, NULL, OPT_ALLOW },
    { "auth-file", required_argument, NULL, OPT_AUTH_FILE },
    { "console-allow", required_argument, NULL, OPT_CONSOLE_ALLOW },
    { "preload-refresh", required_argument, NULL, OPT_PRELOAD_REFRESH },
    { "preload-url", required_argument, NULL, OPT_PRELOAD_URL },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  static struct proxy_config cfg; /* large; one run per process */
  static char db_path[CLI_PATH_MAX];
  struct cli_cmd cmd = {
    .what = WHAT, .help = WHAT, .usage_fn = usage, .longopts = opts
  };
  struct proxy_error err;
  int c, rc;

  proxy_config_init(&cfg);
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP)
      return cmd.status;
    if (apply(&cmd, &cfg, c, optarg) < 0)
      return CLI_EXIT_USAGE;
  }
  if (cli_opt_operands(&cmd, argc, argv, NULL) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (check_before_start(&cfg) < 0) {
    proxy_auth_close(&cfg.auth);
    return CLI_EXIT_USAGE;
  }
  if (cli_db_path(g, WHAT, db_path, sizeof(db_path)) != 0) {
    proxy_auth_close(&cfg.auth);
    return CLI_EXIT_FAIL;
  }
  cfg.db_path = db_path;
  cfg.console_ops = &console_ops;
  rc = proxy_run(&cfg, &err);
  proxy_auth_close(&cfg.auth);
  if (rc < 0) {
    cli_error(WHAT, "%s: %s", err.what, err.why);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
