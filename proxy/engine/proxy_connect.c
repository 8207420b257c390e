/*
 * proxy_connect.c - the connect phase: from conn->target to a connected
 * origin connection in conn->up.
 *
 * --map first (no lookup), else the worker's resolver; then each address
 * in turn until one connects. An intercepted connection (proxy_intercept.c)
 * has one address, where its client meant to go, and never resolves; with
 * --upstream-proxy (proxy_parent.c) the parent is connected to instead for
 * every other target it covers. Each socket carries the outgoing mark,
 * when there is one (proxy_mark.c). Every attempt is a fresh struct
 * proxy_upstream, because a libuv handle whose connect failed cannot
 * connect again. The whole sequence, DNS included, is bounded by the
 * phase's timer (--timeout-connect, then 504). The client is not read
 * meanwhile. Success runs the caller's continuation (conn->connected);
 * every address failing is answered 502 here.
 */
#include <string.h>

#include "proxy_conn.h"
#include "proxy_server.h"
#include "proxy_upstream.h"

static void connect_timeout(struct proxy_conn *conn)
{
  proxy__conn_error(conn, 504, 0, "timed out connecting to %s after %u s",
                    proxy__upstream_name(conn),
                    conn->worker->server->cfg->timeout_connect_s);
}

static const struct proxy_phase phase_connect = {
  .name = "connect",
  .timeout = connect_timeout,
};

/* The end of the phase: connected (status 0), or why not. */
static void ready(struct proxy_conn *conn, int status)
{
  if (status == 0) {
    conn->connected(conn);
    return;
  }
  if (proxy__parent_of(conn) != NULL) /* --upstream-proxy */
    proxy__conn_error(
        conn, 502, 0, "cannot %s %s%s%s: %s",
        conn->addrs.n == 0 ? "resolve" : "connect to",
        proxy__upstream_name(conn), conn->addrs.n == 0 ? "" : " at ",
        conn->addrs.n == 0 ? "" : conn->connect_addr, uv_strerror(status));
  else if (conn->addrs.n == 0)
    proxy__conn_error(conn, 502, 0, "cannot resolve %s: %s", conn->target.host,
                      uv_strerror(status));
  else
    proxy__conn_error(conn, 502, 0, "cannot connect to %s: %s",
                      conn->connect_addr, uv_strerror(status));
}

static void try_next(struct proxy_conn *conn);

static void on_connect(uv_connect_t *req, int status)
{
  struct proxy_upstream *up = req->data;
  struct proxy_conn *conn = up->conn;

  if (up->closing)
    return;
  if (conn == NULL) {
    proxy__upstream_close(up, "client gone");
    return;
  }
  if (status < 0) {
    conn->connect_err = status;
    proxy__upstream_close(up, uv_strerror(status));
    try_next(conn);
    return;
  }
  up->connected = 1;
  uv_tcp_nodelay(&up->tcp, 1);
  snprintf(up->peer, sizeof(up->peer), "%s", conn->connect_addr);
  ready(conn, 0);
}

static void try_next(struct proxy_conn *conn)
{
  while (conn->addr_next < conn->addrs.n) {
    union proxy_sockaddr a = conn->addrs.a[conn->addr_next++];
    struct proxy_upstream *up;
    int err;

    proxy__addr_set_port(&a, conn->connect_port);
    proxy_addr_format(&a.sa, conn->connect_addr, sizeof(conn->connect_addr));
    up = proxy__upstream_new(conn);
    if (up == NULL) {
      conn->connect_err = UV_ENOMEM;
      break;
    }
    err = proxy__tcp_mark(&up->tcp, a.sa.sa_family, conn->worker->server->mark);
    if (err == 0)
      err = uv_tcp_connect(&up->connect_req, &up->tcp, &a.sa, on_connect);
    if (err == 0) {
      up->conn = conn;
      conn->up = up;
      return;
    }
    conn->connect_err = err;
    proxy__upstream_close(up, uv_strerror(err));
  }
  ready(conn, conn->connect_err < 0 ? conn->connect_err : UV_EHOSTUNREACH);
}

static void on_resolved(void *arg, int status, const struct proxy_addrs *a)
{
  struct proxy_conn *conn = arg;

  conn->dnsq = NULL;
  if (status < 0) {
    conn->addrs.n = 0;
    ready(conn, status);
    return;
  }
  conn->addrs = *a;
  try_next(conn);
}

void proxy__origin_connect(struct proxy_conn *conn, proxy__conn_cb cb)
{
  const struct proxy_config *cfg = conn->worker->server->cfg;
  const struct proxy_parent *parent = proxy__parent_of(conn);
  const char *host = parent != NULL ? parent->host : conn->target.host;
  int rc;

  conn->connected = cb;
  proxy__conn_enter(conn, &phase_connect, proxy__ms(cfg->timeout_connect_s));
  memset(&conn->addrs, 0, sizeof(conn->addrs));
  conn->addr_next = 0;
  conn->connect_err = 0;
  if (conn->kind != PROXY_LISTEN_PROXY) { /* the original destination */
    conn->addrs.n = 1;
    conn->addrs.a[0] = conn->orig_dst;
    conn->connect_port = proxy__addr_port(&conn->orig_dst);
    try_next(conn);
    return;
  }
  if (parent != NULL) { /* --upstream-proxy: the parent, no --map */
    conn->connect_port = parent->port;
  } else if (proxy__map_route(cfg->maps, cfg->nmaps, conn->target.host,
                              conn->target.port, &conn->addrs,
                              &conn->connect_port)) {
    try_next(conn);
    return;
  }
  rc = proxy__dns_resolve(&conn->worker->dns, host, &conn->addrs, on_resolved,
                          conn, &conn->dnsq);
  if (rc == 1)
    return;
  if (rc < 0) {
    conn->addrs.n = 0;
    ready(conn, rc);
    return;
  }
  try_next(conn);
}
