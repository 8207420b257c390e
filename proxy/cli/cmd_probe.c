/*
 * cmd_probe.c - `hstsproxy probe HOST[:PORT] [--map ...] [--ca-file PEM]
 * [--timeout S] [--json]`.
 *
 * Runs one TLS probe (proxy_probe.h) on a private libuv loop, records the
 * result and what it taught in the store (store_probe_record: learned,
 * deleted, or ignored with a reason) and prints it for people or as one
 * JSON object (docs/CLI.md). --map uses run's parser, so both commands
 * read the same syntax. Exit 0 when the probe completed, whatever it
 * found; 3 when it could not connect or verify, or the store failed; 2 on
 * a usage error (an IP literal is one: it never has an HSTS policy).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_out.h"
#include "cli_store.h"
#include "cli_time.h"
#include "hsts_idna.h"
#include "proxy.h"
#include "proxy_probe.h"
#include "proxy_tls.h"

#define WHAT "probe"
#define NO_IP_LITERAL                                                   \
  "%s: an IP literal never has an HSTS policy (RFC 6797 section 8.1): " \
  "nothing to probe"

enum { OPT_MAP = 256, OPT_CA_FILE, OPT_TIMEOUT, OPT_JSON };

static const char usage_text[] =
    "usage: hstsproxy probe HOST[:PORT] [--map HOST[:PORT]=ADDR[:PORT]]\n"
    "                       [--ca-file PEM] [--timeout S] [--json]\n"
    "\n"
    "Connects to HOST over TLS (port 443 unless given), verifies the\n"
    "certificate chain and name, sends HEAD / (GET when HEAD gets 405 or\n"
    "501; no redirect is followed) and reads the Strict-Transport-Security\n"
    "header. A valid header is learned into the store, max-age=0 deletes\n"
    "the learned policy, anything else is ignored with a reason. Every\n"
    "probe is recorded (table probe). Never for an IP literal.\n"
    "\n"
    "  --map HOST[:PORT]=ADDR[:PORT]  connect to ADDR instead of resolving\n"
    "                   HOST, as `run --map` (repeatable, first match wins)\n"
    "  --ca-file PEM    trusted CA certificates (default: the system's)\n"
    "  --timeout S      the whole probe, DNS to response head (default 10)\n"
    "  --json           one JSON object (see docs/CLI.md)\n"
    "\n"
    "Exit status: 0 the probe completed (whatever it found), 2 usage\n"
    "error, 3 could not connect or verify, or a database error.\n";

struct opts {
  struct proxy_config cfg; /* only the maps are used */
  const char *ca_file;
  unsigned timeout_s;
  int json;
  int help; /* parsing stopped: return the status at once */
  char host[PROXY_HOST_MAX + 1];
  unsigned port;
};

static const struct cli_cmd probe_cmd = { .what = WHAT,
                                          .help = WHAT,
                                          .usage = usage_text };

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
usage_error(const char *fmt, ...)
{
  char why[CLI_PATH_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  return cli_usage_error(&probe_cmd, "%s", why);
}

/* HOST[:PORT]: a DNS name, never an IP literal. */
static int parse_target(const char *arg, struct opts *o)
{
  const char *colon = strrchr(arg, ':'), *why = NULL;
  size_t hlen = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
  enum hsts_host_kind kind;
  int err;

  o->port = PROXY_PROBE_PORT;
  if (arg[0] == '[' || (colon != NULL && memchr(arg, ':', hlen) != NULL))
    return usage_error(NO_IP_LITERAL, arg);
  if (colon != NULL &&
      proxy_parse_uint(colon + 1, 1, PROXY_PORT_MAX, &o->port, &why) < 0)
    return usage_error("%s: PORT is not a number 1-65535 (%s)", arg, why);
  err = hsts_host_normalize_idna(arg, hlen, o->host, &kind, NULL);
  if (err != HSTS_OK)
    return usage_error("%s: invalid host name: %s", arg, hsts_strerror(err));
  if (kind != HSTS_HOST_NAME)
    return usage_error(NO_IP_LITERAL, arg);
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, struct opts *o)
{
  static const struct option longopts[] = {
    { "map", required_argument, NULL, OPT_MAP },
    { "ca-file", required_argument, NULL, OPT_CA_FILE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "json", no_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 }
  };
  struct cli_cmd cmd = probe_cmd;
  const char *why = NULL;
  int c;

  memset(o, 0, sizeof(*o));
  proxy_config_init(&o->cfg);
  o->timeout_s = PROXY_PROBE_TIMEOUT_S;
  cmd.longopts = longopts;
  for (;;) {
    c = cli_opt_next(&cmd, argc, argv);
    if (c == CLI_OPT_END)
      break;
    switch (c) {
    case CLI_OPT_STOP:
      o->help = 1;
      return cmd.status;
    case OPT_MAP:
      if (proxy_config_add_map(&o->cfg, optarg, &why) < 0)
        return usage_error("--map %s: %s", optarg, why);
      break;
    case OPT_TIMEOUT:
      if (proxy_parse_uint(optarg, 1, PROXY_TIMEOUT_MAX_S, &o->timeout_s,
                           &why) < 0)
        return usage_error("--timeout %s: %s (1-%u seconds)", optarg, why,
                           PROXY_TIMEOUT_MAX_S);
      break;
    case OPT_CA_FILE:
      o->ca_file = optarg;
      break;
    default:
      o->json = 1;
      break;
    }
  }
  if (cli_opt_operands(&cmd, argc, argv, "HOST") != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  return parse_target(argv[optind], o);
}

/* ---- running ---- */

struct run {
  struct store_probe r;
  int done;
};

static void on_done(const struct store_probe *r, void *arg)
{
  struct run *run = arg;

  run->r = *r;
  run->done = 1;
}

/* Runs the probe on a private loop. Returns 0, or -1 (message printed). */
static int run_probe(const struct opts *o, struct proxy_tls_ctx *tls,
                     struct store_probe *out)
{
  static const struct proxy_probe_cb cb = { on_done };
  struct proxy_probe_params pp;
  struct run run;
  uv_loop_t loop;
  int err;

  memset(&run, 0, sizeof(run));
  memset(&pp, 0, sizeof(pp));
  pp.host = o->host;
  pp.port = o->port;
  pp.timeout_ms = o->timeout_s * HSTS_MS_PER_S;
  pp.maps = o->cfg.maps;
  pp.nmaps = o->cfg.nmaps;
  pp.tls = tls;
  err = uv_loop_init(&loop);
  if (err == 0) {
    err = proxy_probe_start(&loop, &pp, &cb, &run, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0 && err == 0)
      err = UV_EBUSY;
  }
  if (err < 0 || !run.done) {
    cli_error(WHAT, "%s: cannot run the probe: %s", o->host,
              uv_strerror(err < 0 ? err : UV_EINVAL));
    return -1;
  }
  *out = run.r;
  return 0;
}

/* ---- output ---- */

static const char *severity_name(enum hsts_severity s)
{
  return s == HSTS_SEVERITY_ERROR ? "error" : "warning";
}

static void json_header(struct cli_json *j, const struct store_probe *r)
{
  const struct hsts_header *h = &r->parse;
  size_t i;

  cli_json_key(j, "header");
  if (r->sts_count == 0) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  cli_json_kbool(j, "valid", h->valid);
  if (h->has_max_age)
    cli_json_kuint(j, "max_age", h->max_age);
  else
    cli_json_knull(j, "max_age");
  cli_json_kbool(j, "include_subdomains", h->include_subdomains);
  cli_json_kbool(j, "preload", h->preload);
  cli_json_key(j, "problems");
  cli_json_array_begin(j);
  for (i = 0; i < h->nproblems; i++) {
    cli_json_object_begin(j);
    cli_json_kstring(j, "code", h->problems[i].code);
    cli_json_kstring(j, "severity", severity_name(h->problems[i].severity));
    cli_json_kstring(j, "message", h->problems[i].message);
    cli_json_object_end(j);
  }
  cli_json_array_end(j);
  cli_json_object_end(j);
}

static void json_policy(struct cli_json *j, const struct store_probe *r,
                        const struct store_policy *pol)
{
  cli_json_key(j, "policy");
  if (r->outcome != STORE_PROBE_LEARNED) {
    cli_json_null(j);
    return;
  }
  cli_json_object_begin(j);
  cli_json_kstring(j, "host", pol->host);
  cli_json_kstring(j, "source", hsts_source_name(pol->source));
  cli_json_kbool(j, "include_subdomains", pol->include_subdomains);
  cli_json_kuint(j, "max_age", pol->max_age);
  cli_json_ktime(j, "observed", pol->observed);
  cli_json_ktime(j, "expires", pol->expires);
  cli_json_object_end(j);
}

static void print_json(const struct store_probe *r,
                       const struct store_policy *pol)
{
  struct cli_json j;

  cli_json_init(&j, stdout);
  cli_json_object_begin(&j);
  cli_json_kstring(&j, "host", r->host);
  cli_json_kuint(&j, "port", r->port);
  cli_json_ktime(&j, "time", r->time);
  cli_json_kbool(&j, "ok", r->ok);
  cli_json_kstring(&j, "error", r->ok ? NULL : r->error);
  cli_json_kstring(&j, "address", r->address[0] != '\0' ? r->address : NULL);
  cli_json_kstring(&j, "tls_version",
                   r->tls_version[0] != '\0' ? r->tls_version : NULL);
  cli_json_kstring(&j, "method", r->status != 0 ? r->method : NULL);
  if (r->status != 0)
    cli_json_kuint(&j, "status", (uint64_t)r->status);
  else
    cli_json_knull(&j, "status");
  cli_json_kstring(&j, "sts_header", r->sts_count > 0 ? r->sts_header : NULL);
  cli_json_kuint(&j, "sts_count", r->sts_count);
  json_header(&j, r);
  cli_json_kstring(&j, "outcome", store_probe_outcome_name(r->outcome));
  cli_json_kstring(&j, "reason", store_probe_reason_name(r->reason));
  cli_json_kstring(&j, "why", r->reason_text);
  json_policy(&j, r, pol);
  cli_json_object_end(&j);
}

static void text_header(const struct cli_out *o, const struct store_probe *r)
{
  const struct hsts_header *h = &r->parse;
  char d[CLI_TIME_MAX];
  size_t i;

  printf("%-*s \"", CLI_OUT_KEY_WIDTH - 1, "header");
  cli_json_escape(stdout, r->sts_header, strlen(r->sts_header));
  printf("\"%s", r->sts_len > strlen(r->sts_header) ? " (cut)" : "");
  if (r->sts_count > 1)
    printf(" (first of %zu: only the first counts)", r->sts_count);
  putchar('\n');
  cli_out_row_color(o, h->valid ? CLI_COLOR_GOOD : CLI_COLOR_BAD, "valid", "%s",
                    h->valid ? "yes" : "no (browsers ignore it)");
  if (h->has_max_age) {
    cli_time_duration(h->max_age, d);
    cli_out_row(o, "max-age", "%u (%s)", (unsigned)h->max_age, d);
  }
  cli_out_row(o, "include subdomains", "%s",
              h->include_subdomains ? "yes" : "no");
  cli_out_row(o, "preload", "%s", h->preload ? "yes" : "no");
  cli_out_row(o, "problems", "%zu", h->nproblems);
  for (i = 0; i < h->nproblems; i++)
    printf("  %s%-7s%s  %s  %s\n",
           cli_out_color(o, h->problems[i].severity == HSTS_SEVERITY_ERROR
                                ? CLI_COLOR_BAD
                                : CLI_COLOR_WARN),
           severity_name(h->problems[i].severity),
           cli_out_color(o, CLI_COLOR_RESET), h->problems[i].code,
           h->problems[i].message);
}

static void text_outcome(const struct cli_out *o, const struct store_probe *r,
                         const struct store_policy *pol)
{
  char t[CLI_TIME_MAX], rel[CLI_TIME_MAX];

  if (r->outcome == STORE_PROBE_LEARNED) {
    cli_time_rfc3339(pol->expires, t);
    cli_time_relative(pol->expires, (int64_t)time(NULL), rel);
    cli_out_row_color(o, CLI_COLOR_GOOD, "outcome",
                      "learned: %s%s, expires %s (%s)", pol->host,
                      pol->include_subdomains ? " and its subdomains" : "", t,
                      rel);
  } else if (r->outcome == STORE_PROBE_DELETED) {
    cli_out_row_color(o, CLI_COLOR_WARN, "outcome", "deleted: %s",
                      r->reason_text);
  } else {
    cli_out_row(o, "outcome", "ignored (%s): %s",
                store_probe_reason_name(r->reason), r->reason_text);
  }
}

static void print_text(const struct store_probe *r,
                       const struct store_policy *pol)
{
  char u[HSTS_UNICODE_MAX];
  struct cli_out o;

  cli_out_init(&o, stdout);
  if (hsts_host_unicode(r->host, u, sizeof(u)))
    cli_out_row(&o, "host", "%s:%u (%s)", r->host, r->port, u);
  else
    cli_out_row(&o, "host", "%s:%u", r->host, r->port);
  cli_out_row(&o, "address", "%s", r->address);
  cli_out_row(&o, "tls", "%s (certificate and name verified)", r->tls_version);
  cli_out_row(&o, "status", "%d (%s /)", r->status, r->method);
  if (r->sts_count > 0)
    text_header(&o, r);
  else
    cli_out_row_color(&o, CLI_COLOR_BAD, "header",
                      "none (no Strict-Transport-Security)");
  text_outcome(&o, r, pol);
}

/* ---- the command ---- */

/* Probes, records and prints. Returns the exit status. */
static int probe_and_record(const struct opts *o, struct store *s,
                            struct proxy_tls_ctx *tls)
{
  struct store_probe r;
  struct store_policy pol;
  int err, rc;

  memset(&pol, 0, sizeof(pol));
  if (run_probe(o, tls, &r) < 0)
    return CLI_EXIT_FAIL;
  r.manual = 1; /* never makes the host "seen through the proxy" */
  err = store_probe_record(s, &r, &pol);
  if (err != STORE_OK) {
    rc = cli_store_error(WHAT, s, err);
    return rc == CLI_EXIT_USAGE ? CLI_EXIT_FAIL : rc;
  }
  if (o->json)
    print_json(&r, &pol);
  else if (r.ok)
    print_text(&r, &pol);
  rc = cli_out_finish(WHAT);
  if (!r.ok) {
    cli_error(WHAT, "%s", r.error);
    return CLI_EXIT_FAIL;
  }
  return rc;
}

int cmd_probe(int argc, char **argv, const struct cli_globals *g)
{
  struct opts o;
  struct proxy_tls_ctx *tls = NULL;
  struct store *s = NULL;
  char err[PROXY_TLS_ERROR_MAX];
  int rc = parse(argc, argv, &o);

  if (rc != CLI_EXIT_OK || o.help)
    return rc;
  if (proxy_tls_ctx_new(o.ca_file, &tls, err, sizeof(err)) < 0) {
    cli_error(WHAT, "%s", err);
    return CLI_EXIT_FAIL;
  }
  rc = cli_store_open(g, WHAT, 0, &s);
  if (rc == CLI_EXIT_OK)
    rc = probe_and_record(&o, s, tls);
  store_close(&s);
  proxy_tls_ctx_free(&tls);
  return rc;
}
