/*
 * cmd_run.c - `hstsproxy run`: the command line of the forwarding core.
 *
 * Parses the options into a struct proxy_config (proxy.h), every value
 * checked in full: a bad one is a usage error (exit 2) naming the option,
 * the value and why. Then runs the proxy on the store named by --db (or
 * its default path): a startup failure such as a store that cannot be
 * opened, a --log-json file that cannot be written or an address in use
 * is a runtime failure (exit 3); a signal ends it with 0.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_run_preload.h"
#include "proxy.h"

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
  OPT_PRELOAD_REFRESH,
  OPT_PRELOAD_URL,
  OPT_VERBOSE,
  OPT_HELP
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
      "Timeouts are in seconds, 1-%u.\n",
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

/* --probe on|off and --ca-file PEM. Returns 0, or -1 after the error. */
static int apply_probe(struct proxy_config *cfg, int opt, const char *name,
                       const char *arg)
{
  if (opt == OPT_CA_FILE) {
    if (arg[0] == '\0') {
      cli_error(name, "empty file name");
      return -1;
    }
    cfg->ca_file = arg; /* read when the proxy starts */
    return 0;
  }
  if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
    cli_error(name, "%s: expected on or off", arg);
    return -1;
  }
  cfg->no_probe = strcmp(arg, "off") == 0;
  return 0;
}

/* Applies one option; returns -1 after printing the usage error. */
static int apply(struct proxy_config *cfg, int opt, const char *name,
                 const char *arg)
{
  const char *why = NULL;
  unsigned max, *slot;
  int rc;

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
  case OPT_CA_FILE:
  case OPT_PROBE:
    return apply_probe(cfg, opt, name, arg);
  case OPT_ALLOW:
    rc = proxy_config_add_allow(cfg, arg, &why);
    break;
  default:
    slot = number_slot(cfg, opt, &max);
    rc = proxy_parse_uint(arg, 1, max, slot, &why);
    if (rc < 0) {
      cli_error(name, "%s: %s (expected 1-%u)", arg, why, max);
      return -1;
    }
  }
  if (rc < 0)
    cli_error(name, "%s: %s", arg, why);
  return rc;
}

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
    { "preload-refresh", required_argument, NULL, OPT_PRELOAD_REFRESH },
    { "preload-url", required_argument, NULL, OPT_PRELOAD_URL },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 }
  };
  static struct proxy_config cfg; /* large; one run per process */
  static char db_path[CLI_PATH_MAX];
  struct proxy_error err;
  char name[OPTION_NAME_MAX];
  int c, idx, rc;

  proxy_config_init(&cfg);
  opterr = 0;
  for (;;) {
    idx = -1;
    c = getopt_long(argc, argv, "", opts, &idx);
    if (c == -1)
      break;
    if (c == OPT_HELP) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    if (c == OPT_VERBOSE) {
      cfg.verbose = 1;
      continue;
    }
    if (c == OPT_LOG_JSON) {
      if (optarg[0] == '\0') {
        cli_error("--log-json", "empty file name (use - for stdout)");
        return CLI_EXIT_USAGE;
      }
      cfg.log_json = optarg;
      continue;
    }
    if (c == OPT_AUTH_FILE) {
      cfg.auth_file = optarg;
      continue;
    }
    if (c == OPT_PRELOAD_REFRESH || c == OPT_PRELOAD_URL) {
      if (cli_run_preload_option(&cfg, c == OPT_PRELOAD_URL, optarg) < 0)
        return CLI_EXIT_USAGE;
      continue;
    }
    if (c == '?' || c == ':' || idx < 0) {
      cli_error(argv[optind - 1], "unknown option or missing value (see "
                                  "hstsproxy help run)");
      return CLI_EXIT_USAGE;
    }
    snprintf(name, sizeof(name), "--%s", opts[idx].name);
    if (apply(&cfg, c, name, optarg) < 0)
      return CLI_EXIT_USAGE;
  }
  if (optind < argc) {
    cli_error(argv[optind], "unexpected argument (see hstsproxy help run)");
    return CLI_EXIT_USAGE;
  }
  if (proxy_config_check_open(&cfg, &err) < 0 ||
      (cfg.auth_file != NULL &&
       proxy_auth_open(&cfg.auth, cfg.auth_file, &err) < 0)) {
    cli_error(err.what, "%s", err.why);
    return CLI_EXIT_USAGE;
  }
  if (cli_db_path(g, db_path, sizeof(db_path)) != 0) {
    proxy_auth_close(&cfg.auth);
    return CLI_EXIT_FAIL;
  }
  cfg.db_path = db_path;
  rc = proxy_run(&cfg, &err);
  proxy_auth_close(&cfg.auth);
  if (rc < 0) {
    cli_error(err.what, "%s", err.why);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
