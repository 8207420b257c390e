/*
 * proxy_route.c - what to do with a parsed request head.
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
 *
 * route_upgrade() is the seam where the HSTS policy lookup goes: it sees
 * every plain-HTTP request about to be forwarded.
 */
#include <stdio.h>
#include <string.h>

#include "hsts_host.h"
#include "hsts_url.h"
#include "proxy_int.h"

#define HTTP_DEFAULT_PORT 80u

/* Fills conn->target from a host (brackets already removed) and port. */
static int set_target(struct proxy_conn *conn, const char *host, size_t len,
                      unsigned port, int always_port)
{
  struct proxy_target *t = &conn->target;
  enum hsts_host_kind kind;
  int rc = hsts_host_normalize(host, len, t->host, &kind);
  const char *l, *r;

  if (rc != HSTS_OK) {
    proxy__conn_error(conn, 400, 0, "invalid host %.*s: %s", (int)len, host,
                      hsts_strerror(rc));
    return -1;
  }
  t->is_ipv6 = kind == HSTS_HOST_IPV6;
  t->port = port;
  l = t->is_ipv6 ? "[" : "";
  r = t->is_ipv6 ? "]" : "";
  snprintf(t->key, sizeof(t->key), "%s%s%s:%u", l, t->host, r, port);
  if (always_port || port != HTTP_DEFAULT_PORT)
    snprintf(t->authority, sizeof(t->authority), "%s", t->key);
  else
    snprintf(t->authority, sizeof(t->authority), "%s%s%s", l, t->host, r);
  return 0;
}

/* Whether the target is the very address this connection came in on. */
static int is_self(const struct proxy_conn *conn)
{
  char local[PROXY_ADDR_TEXT];

  proxy_addr_format(&conn->local.sa, local, sizeof(local));
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

/* A request whose Via names us went round a loop: it reached the origin
 * side of this proxy again (through --map, DNS, or another proxy). Checked
 * before anything else, origin-form included, since that is how a request
 * forwarded to our own address arrives. */
static int is_loop(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;

  if (!proxy__via_has_us(req->fields, req->nfields))
    return 0;
  proxy__conn_error(conn, 508, 0,
                    "forwarding loop: the request for %.*s already passed "
                    "through hstsproxy (Via)",
                    (int)(req->target_len < PROXY_HOST_MAX ? req->target_len
                                                           : PROXY_HOST_MAX),
                    req->target);
  return 1;
}

/*
 * The HSTS seam. A later change looks conn->target.host up in the policy
 * index here; for an HSTS host it answers the internal 307 itself (no
 * DNS, no origin connection) and returns 1. Returns 0: forward as is.
 */
static int route_upgrade(struct proxy_conn *conn)
{
  (void)conn;
  return 0;
}

static void route_connect(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  struct hsts_url u;

  if (req->form != HTTP1_FORM_AUTHORITY ||
      hsts_authority_parse(req->target, req->target_len, &u) != HSTS_OK) {
    proxy__conn_error(conn, 400, 1, "CONNECT needs host:port, not %.*s",
                      (int)req->target_len, req->target);
    return;
  }
  if (set_target(conn, u.host, u.host_len, u.port, 1) < 0)
    return;
  if (!port_allowed(conn->worker->server->cfg, u.port)) {
    proxy__conn_error(conn, 403, 0,
                      "CONNECT to %s refused: port %u is not in "
                      "--connect-ports",
                      conn->target.key, u.port);
    return;
  }
  conn->is_tunnel = 1;
  conn->phase = PROXY_PHASE_CONNECT;
  proxy__conn_sync_read(conn);
  proxy__conn_timer(conn,
                    proxy__ms(conn->worker->server->cfg->timeout_connect_s));
  proxy__origin_connect(conn);
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

static void route_absolute(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;
  struct hsts_url u;

  if (hsts_url_parse(req->target, req->target_len, &u) != HSTS_OK) {
    proxy__conn_error(conn, 400, 0, "malformed request target");
    return;
  }
  if (check_scheme(conn, &u) < 0)
    return;
  if (u.userinfo != NULL) {
    proxy__conn_error(conn, 400, 0,
                      "user information in the request URL is "
                      "not forwarded");
    return;
  }
  if (set_target(conn, u.host, u.host_len,
                 u.port != 0 ? u.port : HTTP_DEFAULT_PORT, 0) < 0)
    return;
  conn->target.path = u.path;
  conn->target.path_len = u.path_len;
  if (is_self(conn)) {
    proxy__local_serve(conn);
    return;
  }
  conn->ws_upgrade = proxy__is_ws_upgrade(req);
  if (route_upgrade(conn))
    return;
  proxy__forward_start(conn);
}

void proxy__route(struct proxy_conn *conn)
{
  const struct http1_request *req = &conn->req;

  if (is_loop(conn))
    return;
  if (req->is_connect) {
    route_connect(conn);
    return;
  }
  switch (req->form) {
  case HTTP1_FORM_ORIGIN:
    conn->target.path = req->target;
    conn->target.path_len = req->target_len;
    proxy__local_serve(conn);
    return;
  case HTTP1_FORM_ABSOLUTE:
    route_absolute(conn);
    return;
  default:
    proxy__conn_error(conn, 400, 0,
                      "not a proxy request: send absolute URLs "
                      "(GET http://host/path) or CONNECT host:port");
    return;
  }
}
