/*
 * proxy_route.c - what runs for a parsed request head: the handler
 * table at the end of this file, read top to bottom, is a request's
 * path through the engine.
 *
 * Each handler answers PROXY_NEXT (not mine: go on), PROXY_DONE (the
 * request was answered, or handed to the phase that runs it to its end)
 * or PROXY_PENDING (a check went off the loop: its continuation resumes
 * the table at the next handler).
 *
 * RFC 9112 section 3.2 names the request-target forms; each has one route:
 *   origin-form "/path"          the proxy itself (status page, PAC file)
 *   absolute-form "http://h/p"   forwarded to h (or, when h:port is the
 *                                address the client connected to, the
 *                                proxy itself)
 *   absolute-form "https://..."  400: https goes through CONNECT
 *   authority-form "h:443"       CONNECT tunnel, to --connect-ports only
 *   asterisk-form "*"            400
 * A request whose Via already names hstsproxy, in any form, is a loop: 508.
 * Requests on an intercepting listener (--intercept) run a table of
 * their own: origin-form with Host, sent only to the connection's
 * original destination (proxy_intercept.c).
 * An absolute-form request whose Host names another host or port than
 * its target is refused with 400 (RFC 9112 section 3.2.2 makes the client
 * send the same authority twice; a proxy that picked one of the two would
 * let a request reach a host that filters on the other, as relayd
 * argues).
 *
 * The HSTS handler is where the policy applies: it sees every plain-HTTP
 * request about to be forwarded, and answers those to HSTS hosts with
 * the internal 307 (proxy_upgrade.c). Each plain-HTTP request and each
 * CONNECT is counted in the hop log's traffic (proxy_log.c); an upgraded
 * request is counted by its hop.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hsts_host.h"
#include "hsts_url.h"
#include "proxy_auth.h"
#include "proxy_conn.h"
#include "proxy_forward.h"
#include "proxy_log.h"
#include "proxy_phases.h"
#include "proxy_route.h"
#include "proxy_server.h"
#include "proxy_upgrade.h"

#define HTTP_DEFAULT_PORT 80u
#define DECIMAL_BASE      10u
#define PORT_DIGITS_MAX   5 /* 65535; an IPv6 literal is short, so a key fits */

/* Writes port (at most 65535) in decimal at p; returns its length. */
static size_t put_port(char *p, unsigned port)
{
  char digits[PORT_DIGITS_MAX];
  size_t n = 0, i;

  do {
    digits[n++] = (char)('0' + port % DECIMAL_BASE);
    port /= DECIMAL_BASE;
  } while (port > 0 && n < sizeof(digits));
  for (i = 0; i < n; i++)
    p[i] = digits[n - 1 - i];
  return n;
}

/* t->key "host:port" and t->authority ("host" or "host:port"), IPv6 in
 * brackets; built by hand: this runs for every request (no printf). */
static void set_key(struct proxy_target *t, int with_port)
{
  size_t hlen = strlen(t->host), n = 0, name_len;

  if (t->is_ipv6)
    t->key[n++] = '[';
  memcpy(t->key + n, t->host, hlen);
  n += hlen;
  if (t->is_ipv6)
    t->key[n++] = ']';
  name_len = n;
  t->key[n++] = ':';
  n += put_port(t->key + n, t->port);
  t->key[n] = '\0';
  n = with_port ? n : name_len;
  memcpy(t->authority, t->key, n);
  t->authority[n] = '\0';
}

/* Fills conn->target from a host (brackets already removed) and port. */
static int set_target(struct proxy_conn *conn, const char *host, size_t len,
                      unsigned port, int always_port)
{
  struct proxy_target *t = &conn->target;
  enum hsts_host_kind kind;
  int rc = hsts_host_normalize(host, len, t->host, &kind);

  if (rc != HSTS_OK) {
    proxy__conn_error(conn, 400, 0, "invalid host %.*s: %s", (int)len, host,
                      hsts_strerror(rc));
    return -1;
  }
  t->is_ipv6 = kind == HSTS_HOST_IPV6;
  t->is_ip = kind != HSTS_HOST_NAME;
  t->port = port;
  set_key(t, always_port || port != HTTP_DEFAULT_PORT);
  return 0;
}

/* Whether the target is the address the client reached us on. Only an
 * IP literal with our port can be: the cheap test first, since this runs
 * for every request. */
static int is_self(const struct proxy_conn *conn)
{
  const union proxy_sockaddr *l = &conn->local;
  unsigned port =
      ntohs(l->sa.sa_family == AF_INET6 ? l->in6.sin6_port : l->in.sin_port);
  char local[PROXY_ADDR_TEXT];

  if (!conn->target.is_ip || conn->target.port != port)
    return 0;
  proxy_addr_format(&l->sa, local, sizeof(local));
  return strcmp(local, conn->target.key) == 0;
}

static int port_allowed(const struct proxy_config *cfg, unsigned port)
{
  size_t i;

  for (i = 0; i < cfg->nconnect_ports; i++)
    if (cfg->connect_ports[i] == port)
      return 1;
  return 0;
}

/* Parses the port of a Host value: empty means the default. */
static int host_port(const char *p, size_t len, unsigned *port)
{
  unsigned v = 0;
  size_t i;

  if (len == 0) {
    *port = HTTP_DEFAULT_PORT;
    return 0;
  }
  for (i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * DECIMAL_BASE + (unsigned)(p[i] - '0');
    if (v > PROXY_PORT_MAX)
      return -1;
  }
  *port = v;
  return v > 0 ? 0 : -1;
}

/* Splits a Host value into its host (brackets removed; *v6 set for an
 * IPv6 literal) and port (80 when absent). Returns 0, or -1 when it is
 * not host[:port]. */
static int host_split(const char *v, size_t len, const char **host,
                      size_t *hlen, int *v6, unsigned *port)
{
  const char *end, *colon = NULL;
  size_t i, n;

  if (len == 0)
    return -1;
  *v6 = v[0] == '[';
  if (*v6) {
    end = memchr(v, ']', len);
    if (end == NULL)
      return -1;
    n = (size_t)(end - v) + 1;
    if (n < len && v[n] != ':')
      return -1;
    colon = n < len ? v + n : NULL;
    *host = v + 1;
    *hlen = n - 2;
  } else {
    for (i = 0; i < len; i++)
      if (v[i] == ':')
        colon = v + i;
    *host = v;
    *hlen = colon != NULL ? (size_t)(colon - v) : len;
  }
  return host_port(colon != NULL ? colon + 1 : v + len,
                   colon != NULL ? len - (size_t)(colon + 1 - v) : 0, port);
}

int proxy__host_matches(const char *v, size_t len, const struct proxy_target *t)
{
  char host[HSTS_HOST_MAX + 1];
  enum hsts_host_kind kind;
  const char *h;
  size_t hlen;
  unsigned port;
  int v6;

  if (host_split(v, len, &h, &hlen, &v6, &port) < 0 ||
      hsts_host_normalize(v6 ? h - 1 : h, v6 ? hlen + 2 : hlen, host, &kind) !=
          HSTS_OK ||
      v6 != (kind == HSTS_HOST_IPV6))
    return 0;
  return port == t->port && strcmp(host, t->host) == 0;
}

static int check_scheme(struct proxy_conn *conn, const struct hsts_url *u)
{
  if (http1_token_eq(u->scheme, u->scheme_len, "http"))
    return 0;
  if (http1_token_eq(u->scheme, u->scheme_len, "https"))
    proxy__conn_error(conn, 400, 0,
                      "https URLs are not fetched by the proxy: use a "
                      "CONNECT tunnel (configure hstsproxy as the https "
                      "proxy too)");
  else
    proxy__conn_error(conn, 400, 0,
                      "unsupported URL scheme %.*s: only http "
                      "is forwarded, https goes through CONNECT",
                      (int)u->scheme_len, u->scheme);
  return -1;
}

/* ---- the handlers ---- */

static void route_resume(struct proxy_conn *conn);

/* With --auth-file, credentials first (proxy_auth.c). */
static enum proxy_next step_auth(struct proxy_conn *conn)
{
  return proxy__auth_check(conn, route_resume);
}

/* A request whose Via names us went round a loop: it reached the origin
 * side of this proxy again (through --map, DNS, or another proxy). Checked
 * for every form, origin-form included, since that is how a request
 * forwarded to our own address arrives. */
static enum proxy_next step_loop(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;

  if (!proxy__via_has_us(req->fields, req->nfields))
    return PROXY_NEXT;
  proxy__conn_error(conn, 508, 0,
                    "forwarding loop: the request for %.*s already passed "
                    "through hstsproxy (Via)",
                    (int)(req->target_len < PROXY_HOST_MAX ? req->target_len
                                                           : PROXY_HOST_MAX),
                    req->target);
  return PROXY_DONE;
}

static enum proxy_next target_connect(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  struct hsts_url u;

  if (req->form != HTTP1_FORM_AUTHORITY ||
      hsts_authority_parse(req->target, req->target_len, &u) != HSTS_OK) {
    proxy__conn_error(conn, 400, 1, "CONNECT needs host:port, not %.*s",
                      (int)req->target_len, req->target);
    return PROXY_DONE;
  }
  if (set_target(conn, u.host, u.host_len, u.port, 1) < 0)
    return PROXY_DONE;
  return PROXY_NEXT;
}

static enum proxy_next target_absolute(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  struct hsts_url *u = &conn->target.url;

  if (hsts_url_parse(req->target, req->target_len, u) != HSTS_OK) {
    proxy__conn_error(conn, 400, 0, "malformed request target");
    return PROXY_DONE;
  }
  if (check_scheme(conn, u) < 0)
    return PROXY_DONE;
  if (u->userinfo != NULL) {
    proxy__conn_error(conn, 400, 0,
                      "user information in the request URL is "
                      "not forwarded");
    return PROXY_DONE;
  }
  if (set_target(conn, u->host, u->host_len,
                 u->port != 0 ? u->port : HTTP_DEFAULT_PORT, 0) < 0)
    return PROXY_DONE;
  if (req->host != NULL &&
      !proxy__host_matches(req->host->value, req->host->value_len,
                           &conn->target)) {
    proxy__conn_error(conn, 400, 0,
                      "the Host header (%.*s) does not name the request "
                      "target's host and port (%s)",
                      (int)(req->host->value_len < PROXY_HOST_MAX
                                ? req->host->value_len
                                : PROXY_HOST_MAX),
                      req->host->value, conn->target.key);
    return PROXY_DONE;
  }
  conn->target.path = u->path;
  conn->target.path_len = u->path_len;
  return PROXY_NEXT;
}

/* The destination, by the request-target's form. */
static enum proxy_next step_target(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;

  if (req->is_connect)
    return target_connect(conn);
  switch (req->form) {
  case HTTP1_FORM_ORIGIN:
    conn->target.path = req->target;
    conn->target.path_len = req->target_len;
    return PROXY_NEXT;
  case HTTP1_FORM_ABSOLUTE:
    return target_absolute(conn);
  default:
    proxy__conn_error(conn, 400, 0,
                      "not a proxy request: send absolute URLs "
                      "(GET http://host/path) or CONNECT host:port");
    return PROXY_DONE;
  }
}

/* Origin-form, or an absolute URL naming this very proxy: its pages. */
static enum proxy_next step_local(struct proxy_conn *conn)
{
  if (conn->req.is_connect ||
      (conn->req.form != HTTP1_FORM_ORIGIN && !is_self(conn)))
    return PROXY_NEXT;
  proxy__local_serve(conn);
  return PROXY_DONE;
}

/* CONNECT to an allowed port that is not our own address: a tunnel. */
static enum proxy_next step_connect(struct proxy_conn *conn)
{
  if (!conn->req.is_connect)
    return PROXY_NEXT;
  proxy__log_traffic(conn, 1); /* refused ports too: the audit shows them */
  if (!port_allowed(conn->worker->server->cfg, conn->target.port)) {
    proxy__conn_error(conn, 403, 0,
                      "CONNECT to %s refused: port %u is not in "
                      "--connect-ports",
                      conn->target.key, conn->target.port);
    return PROXY_DONE;
  }
  if (is_self(conn)) {
    proxy__conn_error(conn, 508, 0,
                      "CONNECT to %s refused: that is this proxy's own "
                      "address",
                      conn->target.key);
    return PROXY_DONE;
  }
  proxy__tunnel_connect(conn);
  return PROXY_DONE;
}

/* The HSTS seam: for an HSTS host (per the worker's policy snapshot) the
 * proxy answers the internal 307 itself, with no DNS and no origin. */
static enum proxy_next step_upgrade(struct proxy_conn *conn)
{
  conn->ws_upgrade = proxy__is_ws_upgrade(&conn->req);
  return proxy__upgrade(conn) ? PROXY_DONE : PROXY_NEXT;
}

/* Everything else is forwarded as it is. */
static enum proxy_next step_forward(struct proxy_conn *conn)
{
  proxy__log_traffic(conn, 0); /* an upgrade counts by its hop instead */
  atomic_fetch_add_explicit(&conn->worker->server->stats.forwards, 1,
                            memory_order_relaxed);
  proxy__forward_start(conn);
  return PROXY_DONE;
}

/* ---- intercepted requests (--intercept, proxy_intercept.c) ---- */

/* Answers 400 with why, naming the connection's original destination. */
static enum proxy_next intercept_refuse(struct proxy_conn *conn,
                                        const char *why)
{
  char dst[PROXY_ADDR_TEXT];

  proxy_addr_format(&conn->orig_dst.sa, dst, sizeof(dst));
  proxy__conn_error(conn, 400, 0, "intercepted request to %s: %s", dst, why);
  return PROXY_DONE;
}

/* The destination of an intercepted request: named by its Host (the
 * policy lookup, the 307's Location, the forwarded Host), connected to
 * at the original destination only (proxy_connect.c), pooled under that
 * address. A connection that was not redirected has none: 400. */
static enum proxy_next step_intercept(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  struct proxy_target *t = &conn->target;
  char dst[PROXY_ADDR_TEXT];
  const char *h;
  size_t hlen;
  unsigned port;
  int v6;

  if (!conn->orig_ok) {
    proxy__conn_error(conn, 400, 1,
                      "not a redirected connection: this is hstsproxy's "
                      "intercepting listener, which only serves clients the "
                      "network redirects to it (use a --listen address to "
                      "configure hstsproxy as a proxy)");
    return PROXY_DONE;
  }
  if (req->is_connect || req->form != HTTP1_FORM_ORIGIN)
    return intercept_refuse(conn, "not in origin-form (GET /path)");
  if (req->host == NULL)
    return intercept_refuse(conn, "no Host header");
  if (host_split(req->host->value, req->host->value_len, &h, &hlen, &v6,
                 &port) < 0)
    return intercept_refuse(conn, "malformed Host header");
  if (set_target(conn, v6 ? h - 1 : h, v6 ? hlen + 2 : hlen, port, 0) < 0)
    return PROXY_DONE;
  proxy_addr_format(&conn->orig_dst.sa, dst, sizeof(dst));
  snprintf(t->key, sizeof(t->key), "%s (intercepted)", dst); /* the pool's */
  t->path = req->target;
  t->path_len = req->target_len;
  t->url.scheme = "http";
  t->url.scheme_len = strlen("http");
  t->url.host = h;
  t->url.host_len = hlen;
  t->url.is_ipv6 = v6;
  t->url.port = port != HTTP_DEFAULT_PORT ? port : 0;
  t->url.path = req->target;
  t->url.path_len = req->target_len;
  return PROXY_NEXT;
}

/* A request's path, in order. */
static enum proxy_next (*const steps[])(struct proxy_conn *conn) = {
  step_auth,    /* --auth-file: 407, or wait for the check */
  step_loop,    /* Via names us: 508 */
  step_target,  /* the destination, by the target's form; 400 */
  step_local,   /* the status page and the PAC file */
  step_connect, /* CONNECT: 403, 508, or a tunnel */
  step_upgrade, /* an HSTS host: the internal 307 */
  step_forward, /* to the origin */
  NULL,
};

/* An intercepted request's path: the client does not know of the proxy,
 * so no proxy authentication, no pages of ours, no CONNECT. */
static enum proxy_next (*const intercept_steps[])(struct proxy_conn *conn) = {
  step_loop,      /* Via names us: 508 (our own connection came back) */
  step_intercept, /* Host, at the original destination; 400 */
  step_upgrade,   /* an HSTS host: the internal 307 */
  step_forward,   /* to the original destination */
  NULL,
};

/* Runs the handlers from conn->route_next until one takes the request. */
static enum proxy_next route_run(struct proxy_conn *conn)
{
  enum proxy_next (*const *table)(struct proxy_conn *) =
      conn->kind == PROXY_LISTEN_PROXY ? steps : intercept_steps;
  enum proxy_next r = PROXY_NEXT;

  while (r == PROXY_NEXT && table[conn->route_next] != NULL)
    r = table[conn->route_next++](conn);
  return r;
}

/* A handler's continuation: the table goes on after it. */
static void route_resume(struct proxy_conn *conn)
{
  (void)route_run(conn);
}

void proxy__route(struct proxy_conn *conn)
{
  conn->route_next = 0;
  (void)route_run(conn);
}
