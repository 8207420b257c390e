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
 *
 * --config FILE: the same options from a file (cli_conf.h), applied
 * before the command line's through the same handler, apply(); an error
 * about a value that came from the file names its line. --check-config
 * stops after every check above, before the store is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_run_preload.h"
#include "cli_conf.h"
#include "cli_out.h"
#include "cli_time.h"
#include "proxy.h"
#include "proxy_tls.h"

#define WHAT            "run"
#define LOG_FILE_MODE   0666 /* before the umask, as the writer's fopen */
#define OPTION_NAME_MAX 32
#define WHERE_MAX       (CLI_PATH_MAX + 32) /* "run: FILE:LINE" */

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
  OPT_VERBOSE,
  OPT_INTERCEPT,
  OPT_INTERCEPT_TLS,
  OPT_OUTGOING_MARK,
  OPT_ACCESS_LOG,
  OPT_ACCESS_LOG_FORMAT,
  OPT_RETAIN,
  /* --config and --check-config ("the command line and --config"). */
  OPT_CONFIG,
  OPT_CHECK_CONFIG,
  OPT_PID_FILE, /* --pid-file (proxy_pidfile.c) */
  /* A parent proxy (proxy_parent.c). */
  OPT_UPSTREAM_PROXY,
  OPT_UPSTREAM_NO_PROXY,
  OPT_END_ /* one past the last */
};

/* The one option table of run: the command line and --config files. */
static const struct option run_opts[] = {
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
  { "intercept", required_argument, NULL, OPT_INTERCEPT },
  { "intercept-tls", required_argument, NULL, OPT_INTERCEPT_TLS },
  { "outgoing-mark", required_argument, NULL, OPT_OUTGOING_MARK },
  { "access-log", required_argument, NULL, OPT_ACCESS_LOG },
  { "access-log-format", required_argument, NULL, OPT_ACCESS_LOG_FORMAT },
  { "retain", required_argument, NULL, OPT_RETAIN },
  { "config", required_argument, NULL, OPT_CONFIG },
  { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "upstream-proxy", required_argument, NULL, OPT_UPSTREAM_PROXY },
  { "upstream-no-proxy", required_argument, NULL, OPT_UPSTREAM_NO_PROXY },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 }
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
      "connections; so does a change another process makes to the store\n"
      "(policy add, preload import, ...), within 2 s. SIGHUP and SIGUSR1\n"
      "reopen --access-log and --log-json by name (logrotate). Plain-HTTP\n"
      "requests to HSTS hosts are answered with an internal 307 to https,\n"
      "logged as hops (see hstsproxy log).\n\n"
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
      "                         required for a non-loopback --listen or\n"
      "                         --intercept*)\n"
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
      "  --access-log FILE      one line per request (- for stdout), written\n"
      "                         off the event loops; reopened on SIGUSR1 and\n"
      "                         SIGHUP (logrotate)\n"
      "  --access-log-format squid|combined|json\n"
      "                         Squid's native format with the HSTS action\n"
      "                         (TCP_HSTS_UPGRADE/307), nginx's combined, or\n"
      "                         one JSON object per line (default squid)\n"
      "  --retain DURATION      hops, probes and per-day counters older than\n"
      "                         this are deleted, a little at a time, by the\n"
      "                         log writer (90d, 12h, ...; off keeps all;\n"
      "                         default 90d)\n"
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
      "  --intercept ADDR:PORT  whole networks: plain HTTP the gateway's\n"
      "                         firewall redirects here (nftables\n"
      "                         redirect); HSTS hosts get the 307, the rest\n"
      "                         goes to the address the client dialled;\n"
      "                         repeatable\n"
      "  --intercept-tls ADDR:PORT\n"
      "                         redirected TLS, passed through untouched to\n"
      "                         the address the client dialled; its SNI\n"
      "                         names the host for the log and a probe\n"
      "  --outgoing-mark N      firewall mark (SO_MARK) of the proxy's own\n"
      "                         connections, decimal or 0x hex (default\n"
      "                         0x4853 with --intercept*, else none; needs\n"
      "                         CAP_NET_ADMIN or CAP_NET_RAW)\n"
      "  --verbose              one line per closed connection on stderr\n"
      "  --config FILE          read options from FILE first: one per\n"
      "                         line, \"name value\" (names are the long\n"
      "                         options without --; repeatable ones\n"
      "                         repeat; # starts a comment line); options\n"
      "                         on the command line override it\n"
      "  --check-config         check every option (and --config) as run\n"
      "                         would, files included, then exit: 0 OK,\n"
      "                         2 with the line at fault\n"
      "  --pid-file PATH        write the proxy's pid to PATH once it\n"
      "                         listens; removed at exit (hstsproxy\n"
      "                         reload reads it)\n"
      "  --upstream-proxy http://[USER:PASS@]HOST:PORT\n"
      "                         send forwarded requests (absolute-form,\n"
      "                         keep-alive) and CONNECT tunnels through\n"
      "                         this parent proxy, with Basic\n"
      "                         Proxy-Authorization when USER is given\n"
      "  --upstream-no-proxy LIST\n"
      "                         hosts that go direct, as curl's NO_PROXY:\n"
      "                         names (with their subdomains), addresses,\n"
      "                         CIDR networks, or *; comma-separated\n"
      "  --help                 this text\n\n"
      "Timeouts are in seconds, 1-%u.\n\n"
      "--listen also takes a host name (localhost:3128): it is resolved\n"
      "at start and every address it has is listened on.\n\n"
      "Exit status: 0 stopped by a signal (or --check-config found no\n"
      "fault); 2 usage error, including a bad --config line, a file\n"
      "named by an option that cannot be read (--config, --auth-file,\n"
      "--ca-file) or written (--log-json, --access-log: a missing\n"
      "directory, say; --pid-file), and a non-loopback --listen or\n"
      "--intercept* without --allow; 3 runtime failure at start-up (the\n"
      "store cannot be opened, an address is in use, an --outgoing-mark\n"
      "that cannot be set, ...).\n",
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

/* --access-log and --access-log-format. Returns 1, or -1 after the
 * usage error. */
static int apply_access_log(struct cli_cmd *cmd, struct proxy_config *cfg,
                            int opt, const char *arg)
{
  const char *why = NULL;

  if (opt == OPT_ACCESS_LOG_FORMAT) {
    if (proxy_config_set_access_log_format(cfg, arg, &why) < 0) {
      cli_usage_error(cmd, "--access-log-format %s: %s", arg, why);
      return -1;
    }
    return 1;
  }
  if (arg[0] == '\0') {
    cli_usage_error(cmd, "--access-log: empty file name (use - for stdout)");
    return -1;
  }
  cfg->access_log = arg;
  return 1;
}

/* --retain DURATION|off. Returns 1, or -1 after the usage error. */
static int apply_retain(struct cli_cmd *cmd, struct proxy_config *cfg,
                        const char *arg)
{
  uint64_t s = 0;

  if (strcmp(arg, "off") == 0) {
    cfg->retain_s = 0;
    return 1;
  }
  if (cli_time_parse_duration(arg, &s) != 0 || s == 0) {
    cli_usage_error(cmd,
                    "--retain %s: expected a duration such as 90d, "
                    "12h, 30m or 3600s, or off",
                    arg);
    return -1;
  }
  cfg->retain_s = s;
  return 1;
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
  case OPT_PID_FILE:
    if (arg[0] == '\0') {
      cli_usage_error(cmd, "--%s: empty file name%s",
                      opt == OPT_CA_FILE    ? "ca-file"
                      : opt == OPT_PID_FILE ? "pid-file"
                                            : "log-json",
                      opt == OPT_LOG_JSON ? " (use - for stdout)" : "");
      return -1;
    }
    if (opt == OPT_CA_FILE)
      cfg->ca_file = arg;
    else if (opt == OPT_PID_FILE)
      cfg->pid_file = arg; /* checked before the proxy starts */
    else
      cfg->log_json = arg;
    return 1;
  case OPT_PRELOAD_REFRESH:
  case OPT_PRELOAD_URL:
    return cli_run_preload_option(cfg, opt == OPT_PRELOAD_URL, arg) < 0 ? -1
                                                                        : 1;
  case OPT_ACCESS_LOG:
  case OPT_ACCESS_LOG_FORMAT:
    return apply_access_log(cmd, cfg, opt, arg);
  case OPT_RETAIN:
    return apply_retain(cmd, cfg, arg);
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
  case OPT_INTERCEPT:
  case OPT_INTERCEPT_TLS:
    rc = proxy_config_add_intercept(cfg, arg, opt == OPT_INTERCEPT_TLS, &why);
    break;
  case OPT_OUTGOING_MARK:
    rc = proxy_config_set_outgoing_mark(cfg, arg, &why);
    break;
  case OPT_UPSTREAM_PROXY:
    rc = proxy_config_set_parent(cfg, arg, &why);
    break;
  case OPT_UPSTREAM_NO_PROXY:
    rc = proxy_config_set_no_proxy(cfg, arg, &why);
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

/* ---- the command line and --config ---- */

/* What the command line asked for, and where each file option came from. */
struct run_args {
  const char *config; /* --config FILE, or NULL */
  int check;          /* --check-config */
  int stop;           /* --help answered: exit with the status */
  int *vals;          /* owned: the other options in order, their vals */
  char **args;        /* owned array (argv's strings): their values */
  size_t n;
  char *conf_text; /* owned: the config's text (values point into it) */
  struct proxy_config *conf_cfg; /* not owned: where the lines go */
  char where[OPT_END_ - OPT_LISTEN][WHERE_MAX]; /* "run: FILE:LINE" */
};

/* Options a config file may not set. */
static const int conf_refused[] = { OPT_CONFIG, OPT_CHECK_CONFIG, 'h', 0 };

/* The `what` of an error about the value of opt: the config line that
 * set it last, or just "run" for the command line. */
static const char *run_where(const struct run_args *ra, int opt)
{
  const char *w = ra->where[opt - OPT_LISTEN];

  return w[0] != '\0' ? w : WHAT;
}

/* A config line: the command line's handler, its place remembered. */
static int conf_line(struct cli_cmd *at, int val, const char *value,
                     unsigned line, void *arg)
{
  struct run_args *ra = arg;
  struct proxy_config *cfg = ra->conf_cfg;

  (void)line;
  snprintf(ra->where[val - OPT_LISTEN], WHERE_MAX, "%s", at->what);
  return apply(at, cfg, val, value);
}

/* A repeatable option given on the command line replaces the file's. */
static void forget_file_values(struct proxy_config *cfg, int val)
{
  if (val == OPT_LISTEN)
    cfg->nlisten = 0;
  else if (val == OPT_MAP)
    cfg->nmaps = 0;
  else if (val == OPT_ALLOW)
    cfg->nallow = 0;
  else if (val == OPT_INTERCEPT)
    cfg->nintercept = 0;
  else if (val == OPT_INTERCEPT_TLS)
    cfg->nintercept_tls = 0;
  else if (val == OPT_CONSOLE_ALLOW)
    cfg->nconsole_allow = 0;
}

/* Collects the command line (--config and --check-config noted). */
static int collect(struct cli_cmd *cmd, int argc, char **argv,
                   struct run_args *ra)
{
  int c;

  for (;;) {
    c = cli_opt_next(cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    if (c == CLI_OPT_STOP) {
      ra->stop = 1; /* --help answered, or a usage error */
      return cmd->status;
    }
    if (c == OPT_CONFIG) {
      ra->config = optarg;
    } else if (c == OPT_CHECK_CONFIG) {
      ra->check = 1;
    } else {
      ra->vals[ra->n] = c;
      ra->args[ra->n++] = optarg;
    }
  }
  return cli_opt_operands(cmd, argc, argv, NULL);
}

/*
 * The options of run: the config file's lines first, then the command
 * line's, which override them (a repeatable option on the command line
 * replaces all the file's lines of its name). Every value goes through
 * apply(). Returns CLI_EXIT_OK, or the exit status after the usage
 * error or --help.
 */
static int run_args_parse(struct cli_cmd *cmd, struct proxy_config *cfg,
                          int argc, char **argv, struct run_args *ra)
{
  unsigned char seen[OPT_END_ - OPT_LISTEN];
  size_t i;
  int rc;

  memset(ra, 0, sizeof(*ra));
  memset(seen, 0, sizeof(seen));
  ra->vals = calloc((size_t)argc + 1, sizeof(*ra->vals));
  ra->args = calloc((size_t)argc + 1, sizeof(*ra->args));
  if (ra->vals == NULL || ra->args == NULL) {
    cli_error(WHAT, "out of memory");
    return CLI_EXIT_FAIL;
  }
  rc = collect(cmd, argc, argv, ra);
  ra->conf_cfg = cfg;
  if (rc == CLI_EXIT_OK && ra->config != NULL)
    rc = cli_conf_read(cmd, ra->config, conf_refused, conf_line, ra,
                       &ra->conf_text);
  for (i = 0; rc == CLI_EXIT_OK && i < ra->n; i++) {
    int v = ra->vals[i];

    if (!seen[v - OPT_LISTEN]++)
      forget_file_values(cfg, v);
    ra->where[v - OPT_LISTEN][0] = '\0';
    if (apply(cmd, cfg, v, ra->args[i]) < 0)
      rc = CLI_EXIT_USAGE;
  }
  return rc;
}

static void run_args_free(struct run_args *ra)
{
  free(ra->vals);
  free(ra->args);
  free(ra->conf_text);
}

/* --ca-file loaded as the probes' trust store will be. Returns 0, or -1
 * after the error line. */
static int check_ca_file(const char *what, const char *path)
{
  struct proxy_tls_ctx *ctx = NULL;
  char why[PROXY_ERROR_TEXT];

  if (proxy_tls_ctx_new(path, &ctx, why, sizeof(why)) < 0) {
    cli_error(what, "--ca-file %s", why);
    return -1;
  }
  proxy_tls_ctx_free(&ctx);
  return 0;
}

/* --log-json (or --access-log: `option`) opened for appending (and
 * created) as the writer will open it; only a regular or missing file:
 * opening a FIFO here would block, or end its reader. `what` names where
 * the option came from. Returns 0, or -1 after the error line. */
static int check_log_file(const char *what, const char *option,
                          const char *path)
{
  struct stat st;
  int fd;

  if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
    return 0;
  fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, LOG_FILE_MODE);
  if (fd < 0) {
    cli_error(what, "%s %s: %s", option, path, strerror(errno));
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
static int check_before_start(struct proxy_config *cfg,
                              const struct run_args *ra)
{
  struct proxy_error err;

  memset(&err, 0, sizeof(err));
  if (proxy_config_check_open(cfg, &err) < 0) {
    cli_error(WHAT, "%s: %s", err.what, err.why);
    return -1;
  }
  if (cfg->auth_file != NULL &&
      proxy_auth_open(&cfg->auth, cfg->auth_file, &err) < 0) {
    cli_error(run_where(ra, OPT_AUTH_FILE), "%s: %s", err.what, err.why);
    return -1;
  }
  if (cfg->ca_file != NULL &&
      check_ca_file(run_where(ra, OPT_CA_FILE), cfg->ca_file) < 0)
    return -1;
  if (cfg->log_json != NULL && check_log_file(run_where(ra, OPT_LOG_JSON),
                                              "--log-json", cfg->log_json) < 0)
    return -1;
  if (cfg->access_log != NULL &&
      check_log_file(run_where(ra, OPT_ACCESS_LOG), "--access-log",
                     cfg->access_log) < 0)
    return -1;
  if (cfg->pid_file != NULL && proxy_pid_file_check(cfg->pid_file, &err) < 0) {
    cli_error(run_where(ra, OPT_PID_FILE), "%s: %s", err.what, err.why);
    return -1;
  }
  return 0;
}

/* The console's reports come from the same renderers as the CLI's. */
static const struct proxy_console_ops console_ops = {
  .policy_json = cmd_policy_console_json,
  .audit_html = cmd_audit_console_html,
};

int cmd_run(int argc, char **argv, const struct cli_globals *g)
{
  static struct proxy_config cfg; /* large; one run per process */
  static char db_path[CLI_PATH_MAX];
  struct cli_cmd cmd = {
    .what = WHAT, .help = WHAT, .usage_fn = usage, .longopts = run_opts
  };
  struct run_args ra;
  struct proxy_error err;
  int rc;

  proxy_config_init(&cfg);
  rc = run_args_parse(&cmd, &cfg, argc, argv, &ra);
  if (ra.stop) {
    run_args_free(&ra);
    return rc;
  }
  if (rc == CLI_EXIT_OK && check_before_start(&cfg, &ra) < 0)
    rc = CLI_EXIT_USAGE;
  if (rc == CLI_EXIT_OK && cli_db_path(g, WHAT, db_path, sizeof(db_path)) != 0)
    rc = CLI_EXIT_FAIL;
  if (rc == CLI_EXIT_OK && ra.check) {
    printf("%s: configuration OK\n", ra.config != NULL ? ra.config : WHAT);
    rc = cli_out_finish(WHAT);
  } else if (rc == CLI_EXIT_OK) {
    cfg.db_path = db_path;
    cfg.console_ops = &console_ops;
    if (proxy_run(&cfg, &err) < 0) {
      cli_error(WHAT, "%s: %s", err.what, err.why);
      rc = CLI_EXIT_FAIL;
    }
  }
  proxy_auth_close(&cfg.auth);
  run_args_free(&ra);
  return rc;
}
